"""Bad input to the service: each answered with a clear status and a message naming what was
wrong, nothing changed, and the service goes on answering."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from service_helpers import CARD, env, home_template  # noqa: F401  (fixtures)

from center.service import ServiceLimits

JSON = {"content-type": "application/json"}


@pytest.mark.parametrize("body, code, why", [
    (b"{bad json", 400, "malformed JSON body"),
    (b'{"reason": "lost",}', 400, "malformed JSON body"),
    (b"\xff\xfe{}", 400, "malformed JSON body"),
    (b"[1, 2]", 400, "must be a JSON object, not list"),
    (b'"stolen"', 400, "must be a JSON object, not str"),
    (b'{"reason": "eaten"}', 400, "reason: Input should be 'stolen', 'lost', 'fraud' or "
                                  "'other' (got 'eaten')"),
    (b'{"reason": 3}', 400, "reason"),
    (b'{"reason": "lost", "colour": "red"}', 400, "colour: Extra inputs are not permitted"),
    (b'{"note": "' + b"x" * 600 + b'"}', 400, "note"),
    (b'{"note": "a\\u0000b"}', 400, "control characters"),
    (b'{"expires": "June"}', 400, "want YYYY-MM"),
], ids=["syntax", "trailing-comma", "not-utf8", "array", "string", "unknown-reason",
        "reason-number", "extra-field", "long-note", "control-chars", "bad-expiry"])
def test_bad_report_bodies_are_refused_and_change_nothing(env, body, code, why):
    before = env.state()
    c = env.client("operator")
    r = c.put(f"/v1/cards/{CARD}", content=body, headers=JSON)
    assert r.status_code == code, r.text
    assert why in r.json()["detail"]
    assert env.state() == before
    assert c.get("/healthz").status_code == 200


@pytest.mark.parametrize("card, why", [
    ("49291234123412341234", "1 to 19 decimal digits"),  # 20 digits
    ("4929-1234", "1 to 19 decimal digits"),
    ("abc", "1 to 19 decimal digits"),
    ("+1", "1 to 19 decimal digits"),
    ("\u0661\u0662", "1 to 19 decimal digits"),  # Arabic-Indic digits
    ("99999999999999999999", "1 to 19 decimal digits"),
], ids=["20-digits", "dash", "letters", "sign", "arabic-digits", "over-u64"])
@pytest.mark.parametrize("method, suffix", [("PUT", ""), ("POST", "/reinstate"), ("GET", ""),
                                            ("POST", "/token")])
def test_card_ids_that_are_not_numbers_are_refused(env, card, why, method, suffix):
    before = env.state()
    body = {"valid_until": "2027-01-01"} if suffix == "/token" else None
    r = env.client("operator").request(method, f"/v1/cards/{card}{suffix}", json=body)
    assert r.status_code == 400, r.text
    assert why in r.json()["detail"] and repr(card) in r.json()["detail"]
    assert env.state() == before


def test_a_card_outside_the_universe_is_refused(tmp_path):
    from center_helpers import make_home
    from service_helpers import make_env

    from framing import Universe

    env = make_env(tmp_path)
    make_home(tmp_path / "small", Universe.parse("1000-1999")).close()
    env.home_path = tmp_path / "small"
    r = env.client("operator").put("/v1/cards/2000", json={})
    assert r.status_code == 400 and "outside the universe" in r.json()["detail"]


def test_another_content_type_is_415(env):
    before = env.state()
    r = env.client("operator").put(f"/v1/cards/{CARD}", content=b"reason=lost",
                                   headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 415 and "application/json" in r.json()["detail"]
    assert env.state() == before


def test_an_oversized_body_is_413_by_its_length(env):
    before = env.state()
    body = b'{"note": "' + b"x" * (ServiceLimits().max_body_bytes + 10) + b'"}'
    r = env.client("operator").put(f"/v1/cards/{CARD}", content=body, headers=JSON)
    assert r.status_code == 413 and "larger than" in r.json()["detail"]
    assert r.headers["connection"] == "close"
    assert env.state() == before


def test_an_oversized_chunked_body_is_413_as_it_arrives(env):
    before = env.state()

    def chunks():
        for _ in range(64):
            yield b"x" * 1024
    r = env.client("operator").put(f"/v1/cards/{CARD}", content=chunks(), headers=JSON)
    assert r.status_code == 413
    assert env.state() == before


def test_a_bad_content_length_is_400(env):
    r = env.client("operator").put(f"/v1/cards/{CARD}", content=b"{}",
                                   headers={**JSON, "content-length": "two"})
    assert r.status_code == 400 and "Content-Length" in r.json()["detail"]


@pytest.mark.parametrize("query, why", [
    ("limit=0", "limit"), ("limit=100000", "limit"), ("limit=ten", "limit"),
    ("after=12ab", "after"), ("after=" + "1" * 20, "after"), ("reason=eaten", "reason"),
    ("prefix=4x", "prefix"),
])
def test_bad_list_queries_are_400(env, query, why):
    r = env.client("auditor").get(f"/v1/cards?{query}")
    assert r.status_code == 400 and why in r.json()["detail"]


@pytest.mark.parametrize("query", ["epoch=-1", "seq=x", "seq=99999999999999999999",
                                   "keyset=0", "master=abc"])
def test_bad_pull_queries_are_400(env, query):
    r = env.client("terminal").get(f"/v1/bundles?{query}")
    assert r.status_code == 400 and r.json()["error"] == "bad_input"


@pytest.fixture(scope="module")
def shared_env(tmp_path_factory, home_template):
    from service_helpers import make_env

    return make_env(tmp_path_factory.mktemp("prop"), template=home_template)


@settings(max_examples=60)
@given(card=st.text(alphabet="0123456789a -+_\u0661", min_size=1, max_size=22))
def test_any_card_text_is_either_a_card_or_a_clear_400(shared_env, card):
    """Property: the look-up of any text is 200 (a card ID of 1-19 ASCII digits) or 400
    naming it; never a server error."""
    r = shared_env.client("auditor").get(f"/v1/cards/{quote(card, safe='')}")
    if card.isascii() and card.isdigit() and len(card) <= 19:
        assert r.status_code == 200 and r.json()["card"] == str(int(card))
    else:
        assert r.status_code == 400, r.text
        assert repr(card) in r.json()["detail"]
