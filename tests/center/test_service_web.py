"""The operator page through the ASGI app (the browser test is tests/web): login and its
CSRF token, the session cookie, forms that need the session's CSRF token and refuse other
sites, roles, escaping, and a page that loads nothing from elsewhere."""

from __future__ import annotations

import re

import pytest
from center_helpers import NOW
from service_helpers import CARD, OTHER_CARD, env, home_template  # noqa: F401  (fixtures)

from center.service.sessions import SESSION_COOKIE


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def login(client, token: str):
    page = client.get("/ui/login")
    return client.post("/ui/login", data={"token": token, "csrf": _csrf(page.text)},
                       follow_redirects=False)


@pytest.fixture
def operator(env):
    client = env.client()
    assert login(client, env.tokens["operator"]).status_code == 303
    return client


def _form_csrf(client) -> str:
    return _csrf(client.get("/ui/").text)


def test_the_page_needs_a_login(env):
    r = env.client().get("/ui/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/ui/login"


def test_login_sets_a_strict_http_only_session_cookie(env):
    client = env.client()
    r = login(client, env.tokens["auditor"])
    assert r.status_code == 303 and r.headers["location"] == "/ui/"
    cookie = [h for h in r.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE)][0]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/ui" in cookie
    assert env.tokens["auditor"] not in cookie
    page = client.get("/ui/")
    assert page.status_code == 200 and "auditor" in page.text


def test_a_wrong_token_is_401_on_the_login_page(env):
    r = login(env.client(), "hc_wrong")
    assert r.status_code == 401 and "unknown or revoked" in r.text


def test_login_without_its_csrf_token_is_refused(env):
    client = env.client()
    client.get("/ui/login")
    r = client.post("/ui/login", data={"token": env.tokens["admin"], "csrf": "forged"},
                    follow_redirects=False)
    assert r.status_code == 403 and SESSION_COOKIE not in r.headers.get("set-cookie", "")


def test_a_terminal_token_has_no_page(env):
    r = login(env.client(), env.tokens["terminal"])
    assert r.status_code == 403 and "no operator page" in r.text


def test_the_overview_shows_air_schedule_stats_forms_and_audit(env, operator):
    env.status = {"updated_at": NOW, "running": True, "warnings": [], "channels": [
        {"name": "fm-north", "profile": "fm", "state": "on_air", "behind_s": 0,
         "on_air": [{"kind": "full", "epoch": 1, "seq": 7}], "last_error": None,
         "cycle_s": 9.5, "worst_wait_s": 1.0}]}
    env.schedule_rows = [{"channel": "fm-north", "at": NOW + 600, "what": "delta",
                          "kind": "delta", "seq": 8}]
    page = env.client()
    login(page, env.tokens["operator"])
    html = page.get("/ui/").text
    for text in ("fm-north", "full 1/7", "2026-09-21T14:23:20Z", "entries by reason",
                 'id="report-form"', 'id="reinstate-form"', 'id="audit-table"', "<svg"):
        assert text in html, text


def test_report_and_reinstate_through_the_forms(env, operator):
    csrf = _form_csrf(operator)
    r = operator.post("/ui/report", data={"csrf": csrf, "card": CARD, "reason": "fraud",
                                          "expires": "", "note": "desk"},
                      follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/ui/card?card={CARD}"
    card_page = operator.get(r.headers["location"]).text
    assert "listed (fraud)" in card_page and "On the hot list: fraud" in card_page
    assert CARD in operator.get("/ui/cards").text
    audit = operator.get("/ui/audit").text
    assert "http testclient: desk" in audit
    r = operator.post("/ui/reinstate", data={"csrf": csrf, "card": CARD, "note": "found"})
    assert "Not on the hot list" in r.text and "reinstated" in r.text


def test_a_form_without_the_sessions_csrf_token_changes_nothing(env, operator):
    before = env.state()
    r = operator.post("/ui/report", data={"csrf": "guess", "card": CARD})
    assert r.status_code == 403 and "reload the page" in r.text
    assert env.state() == before


def test_a_form_from_another_site_changes_nothing(env, operator):
    before = env.state()
    r = operator.post("/ui/report", data={"csrf": _form_csrf(operator), "card": CARD},
                      headers={"Origin": "https://evil.example"})
    assert r.status_code == 403 and "evil.example" in r.text
    assert env.state() == before


def test_an_auditor_who_reports_gets_403_and_nothing_changes(env):
    client = env.client()
    login(client, env.tokens["auditor"])
    before = env.state()
    r = client.post("/ui/report", data={"csrf": _form_csrf(client), "card": CARD})
    assert r.status_code == 403 and "role auditor may not change" in r.text
    assert env.state() == before


def test_an_issuer_sees_only_its_forms_and_its_cards(env):
    client = env.client()
    login(client, env.tokens["issuer"])
    html = client.get("/ui/").text
    assert 'id="report-form"' in html and 'id="audit-table"' not in html
    assert client.get("/ui/audit").status_code == 403
    before = env.state()
    r = client.post("/ui/report", data={"csrf": _csrf(html), "card": OTHER_CARD})
    assert r.status_code == 403 and "outside the card ranges" in r.text
    assert env.state() == before


def test_bad_form_input_is_a_page_naming_it(env, operator):
    csrf = _form_csrf(operator)
    before = env.state()
    for data, why in (({"card": "12345678901234567890"}, "1 to 19 decimal digits"),
                      ({"card": CARD, "reason": "eaten"}, "unknown reason"),
                      ({"card": CARD, "expires": "2020-01"}, "in the past")):
        r = operator.post("/ui/report", data={"csrf": csrf, **data})
        assert r.status_code == 400 and why in r.text
    r = operator.post("/ui/reinstate", data={"csrf": csrf, "card": CARD})
    assert r.status_code == 404 and "not on the hot list" in r.text
    assert env.state() == before


def test_what_operators_type_is_escaped(env, operator):
    csrf = _form_csrf(operator)
    operator.post("/ui/report", data={"csrf": csrf, "card": CARD,
                                      "note": "<script>alert(1)</script>"})
    html = operator.get("/ui/audit").text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_logout_ends_the_session(env, operator):
    csrf = _form_csrf(operator)
    r = operator.post("/ui/logout", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert operator.get("/ui/", follow_redirects=False).status_code == 303


def test_a_revoked_operator_is_logged_out_at_once(env, operator):
    env.operators.revoke_operator("operator", now=NOW, by="admin")
    r = operator.get("/ui/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/ui/login"


def test_the_page_loads_nothing_from_elsewhere(env, operator):
    r = operator.get("/ui/")
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    for url in re.findall(r'(?:src|href)="([^"]+)"', r.text):
        assert url.startswith("/") or url == "data:,", url  # data:, is the empty favicon
    for asset in ("/ui/static/app.css", "/ui/static/app.js"):
        assert operator.get(asset).status_code == 200
    assert "http" not in operator.get("/ui/static/app.css").text


def test_the_list_page_searches_and_pages(env, operator):
    csrf = _form_csrf(operator)
    for i in range(3):
        operator.post("/ui/report", data={"csrf": csrf, "card": str(4000000000000000 + i),
                                          "reason": "lost" if i else "stolen"})
    html = operator.get("/ui/cards", params={"reason": "lost"}).text
    assert "4000000000000001" in html and "4000000000000000<" not in html
    assert operator.get("/ui/cards", params={"prefix": "4x"}).status_code == 400


def test_a_sparse_status_and_schedule_still_render(env, operator):
    """The scheduler's status and schedule rows are shown with whatever fields they have."""
    env.status = {"updated_at": NOW, "channels": [{"name": "ir-door"}]}
    env.schedule_rows = [{"channel": "ir-door", "at": float(NOW + 60)}, {"what": "heartbeat"}]
    page = env.client()
    login(page, env.tokens["operator"])
    html = page.get("/ui/").text
    assert "ir-door" in html and "2026-09-21T14:14:20Z" in html and "heartbeat" in html
    assert "None" not in html


def test_the_air_fragment(env, operator):
    env.status = None
    assert "scheduler is not running" in operator.get("/ui/air").text
