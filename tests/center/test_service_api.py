"""The JSON API of the center service, route by route, against a real center home."""

from __future__ import annotations

import json

import pytest
from center_helpers import NOW, PASSPHRASE
from service_helpers import CARD, OTHER_CARD, env, home_template  # noqa: F401  (fixtures)

from center.registry.home import CenterHome
from crypto import BundleKind, check_token


def _home(env) -> CenterHome:
    return CenterHome.open(env.home_path, PASSPHRASE)


def test_report_lists_the_card_and_audits_who_where_and_why(env):
    c = env.client("operator")
    r = c.put(f"/v1/cards/{CARD}", json={"reason": "lost", "note": "customer called"})
    assert r.status_code == 200
    assert r.json() == {"card": CARD, "reason": "lost", "expires": None, "added": 1,
                        "changed": 0, "unchanged": 0, "entries": 1}
    with _home(env) as home:
        (entry,) = list(home.list_entries())
        rows = [row for row in home.audit_log(card=int(CARD))]
    assert (entry.card_id, entry.reason.name, entry.listed_by) == (int(CARD), "LOST", "operator")
    (row,) = rows
    assert row[1:4] == (NOW, "operator", "revoke")
    assert row[7] == "http testclient: customer called"


def test_report_twice_is_idempotent(env):
    c = env.client("operator")
    c.put(f"/v1/cards/{CARD}", json={"reason": "stolen"})
    before = env.state()
    again = c.put(f"/v1/cards/{CARD}", json={"reason": "stolen"})
    assert again.status_code == 200
    assert (again.json()["added"], again.json()["unchanged"]) == (0, 1)
    assert env.state() == before


def test_report_with_a_new_reason_changes_the_entry(env):
    c = env.client("operator")
    c.put(f"/v1/cards/{CARD}", json={"reason": "lost"})
    r = c.put(f"/v1/cards/{CARD}", json={"reason": "fraud"})
    assert (r.json()["changed"], r.json()["reason"]) == (1, "fraud")


def test_report_with_an_expiry_month(env):
    c = env.client("operator")
    r = c.put(f"/v1/cards/{CARD}", json={"reason": "stolen", "expires": "2028-06"})
    assert r.status_code == 200 and r.json()["expires"] == "2028-06"
    looked = c.get(f"/v1/cards/{CARD}").json()
    assert looked["entry"]["expires"] == "2028-06"
    # one audited change, a revoke like any other report (no CSV import behind it)
    assert [(a["action"], a["note"]) for a in looked["audit"]] == [("revoke", "http testclient")]
    again = c.put(f"/v1/cards/{CARD}", json={"reason": "stolen", "expires": "2028-06"}).json()
    assert (again["added"], again["changed"], again["unchanged"]) == (0, 0, 1)
    moved = c.put(f"/v1/cards/{CARD}", json={"reason": "stolen", "expires": "2029-01"}).json()
    assert moved["changed"] == 1
    kept = c.put(f"/v1/cards/{CARD}", json={"reason": "lost"}).json()  # no expiry: kept
    assert kept["changed"] == 1
    looked = c.get(f"/v1/cards/{CARD}").json()
    assert (looked["entry"]["expires"], looked["entry"]["reason"]) == ("2029-01", "lost")
    assert [a["action"] for a in c.get(f"/v1/audit?card={CARD}").json()["rows"]] == [
        "revoke-change", "revoke-change", "revoke"]  # newest first


@pytest.mark.parametrize("expires, why", [("2026-08", "in the past"),
                                          ("2028-13", "month 01-12"), ("28-06", "YYYY-MM")])
def test_report_with_a_bad_expiry_changes_nothing(env, expires, why):
    before = env.state()
    r = env.client("operator").put(f"/v1/cards/{CARD}", json={"expires": expires})
    assert r.status_code == 400 and why in r.json()["detail"]
    assert env.state() == before


def test_reinstate_takes_the_card_off(env):
    c = env.client("operator")
    c.put(f"/v1/cards/{CARD}", json={})
    r = c.post(f"/v1/cards/{CARD}/reinstate", json={"note": "found it"})
    assert r.status_code == 200 and r.json() == {"card": CARD, "reinstated": True, "entries": 0}
    audit = c.get(f"/v1/audit?card={CARD}&action=reinstate").json()["rows"]
    assert audit[0]["note"] == "http testclient: found it" and audit[0]["by"] == "operator"


def test_reinstate_of_a_card_not_listed_is_404_and_changes_nothing(env):
    before = env.state()
    r = env.client("operator").post(f"/v1/cards/{CARD}/reinstate")
    assert r.status_code == 404 and r.json()["error"] == "not_listed"
    assert CARD in r.json()["detail"]
    assert env.state() == before


def test_look_up(env):
    c = env.client("auditor")
    assert c.get(f"/v1/cards/{CARD}").json() == {"card": CARD, "listed": False, "entry": None,
                                                 "audit": []}
    env.client("operator").put(f"/v1/cards/{CARD}", json={"reason": "fraud"})
    found = c.get(f"/v1/cards/{CARD}").json()
    assert found["listed"] and found["entry"]["reason"] == "fraud"
    assert [a["action"] for a in found["audit"]] == ["revoke"]


def test_list_pages_through_every_entry_in_card_order(env):
    op = env.client("operator")
    cards = [str(4000000000000000 + 7 * i) for i in range(7)]
    for i, card in enumerate(cards):
        op.put(f"/v1/cards/{card}", json={"reason": "lost" if i % 2 else "stolen"})
    seen, after = [], None
    while True:
        page = op.get("/v1/cards", params={"limit": 3, **({"after": after} if after else {})})
        body = page.json()
        seen += [e["card"] for e in body["entries"]]
        after = body["next_after"]
        if after is None:
            break
    assert seen == cards
    lost = op.get("/v1/cards", params={"reason": "lost"}).json()["entries"]
    assert [e["card"] for e in lost] == cards[1::2]
    prefixed = op.get("/v1/cards", params={"prefix": "400000000000001"}).json()["entries"]
    assert [e["card"] for e in prefixed] == [c for c in cards if c.startswith("400000000000001")]
    assert op.get("/v1/cards", params={"by": "nobody"}).json()["entries"] == []


def test_statistics_count_reasons_growth_and_days(env):
    op = env.client("operator")
    for card, reason in (("4000000000000001", "lost"), ("4000000000000002", "lost"),
                         ("4000000000000003", "fraud")):
        op.put(f"/v1/cards/{card}", json={"reason": reason})
    with _home(env) as home:
        home.build(BundleKind.FULL, now=NOW, by="t")
    op.post("/v1/cards/4000000000000003/reinstate")
    with _home(env) as home:
        home.build(BundleKind.DELTA, now=NOW + 60, by="t")
    stats = env.client("auditor").get("/v1/stats", params={"days": 3}).json()
    assert stats["entries"] == 2
    assert stats["by_reason"] == {"stolen": 0, "lost": 2, "fraud": 0, "other": 0}
    assert [(g["seq"], g["kind"], g["entries"]) for g in stats["growth"]] == \
        [(1, "full", 3), (2, "delta", 2)]
    assert len(stats["daily"]) == 3 and stats["daily"][-1] == \
        {"day": "2026-09-21", "listed": 3, "reinstated": 1}


def test_history_lists_bundles_newest_first(env):
    with _home(env) as home:
        home.build(BundleKind.FULL, now=NOW, by="t")
        home.build(BundleKind.DELTA, now=NOW + 1, by="t")
    rows = env.client("auditor").get("/v1/history").json()["bundles"]
    assert [(r["seq"], r["kind"]) for r in rows] == [(2, "delta"), (1, "full")]
    fulls = env.client("auditor").get("/v1/history", params={"kind": "full"}).json()["bundles"]
    assert [r["seq"] for r in fulls] == [1]
    assert "sealed" not in rows[0]


def test_on_air_shows_the_schedulers_status(env):
    env.status = {"updated_at": NOW, "pid": 4242, "started_at": NOW - 60, "plan": "plan.toml",
                  "channels": [
        {"name": "fm1", "profile": "fm", "state": "on_air",
         "on_air": [{"kind": "full", "epoch": 1, "seq": 4}], "behind_s": 0,
         "last_error": None, "cycle_s": 12.5, "worst_wait_s": 3.0}], "warnings": []}
    air = env.client("auditor").get("/v1/air").json()
    assert air["channels"][0]["on_air"] == [{"kind": "full", "epoch": 1, "seq": 4}]
    assert air["running"] is True and air["pid"] == 4242


def test_on_air_reads_the_status_file_and_says_when_it_is_old(env):
    (env.home_path / "serve").mkdir()
    status = {"updated_at": NOW - 5, "pid": 1, "started_at": NOW - 100, "plan": "plan.toml",
              "channels": [], "warnings": ["w"]}
    (env.home_path / "serve" / "status.json").write_text(json.dumps(status))
    c = env.client("auditor", status=None)
    assert c.get("/v1/air").json()["running"] is True
    env.clock.now = NOW + 600
    air = c.get("/v1/air").json()
    assert air["running"] is False and air["age_s"] == 605 and air["warnings"] == ["w"]


def test_without_a_status_nothing_is_said_to_be_on_air(env):
    air = env.client("auditor", status=None).get("/v1/air").json()
    assert air["running"] is False and "no status" in air["warnings"][0]


def test_schedule(env):
    env.schedule_rows = [{"channel": "fm1", "at": NOW + 60, "what": "full list", "kind": "full",
                          "seq": 5}]
    r = env.client("auditor").get("/v1/schedule", params={"hours": 1})
    assert r.json() == {"hours": 1.0, "rows": env.schedule_rows}


def test_schedule_without_a_scheduler_is_503(env):
    r = env.client("auditor").get("/v1/schedule")
    assert r.status_code == 503 and r.json()["error"] == "no_scheduler"


def test_audit_pages_newest_first_with_filters(env):
    op = env.client("operator")
    for i in range(5):
        op.put(f"/v1/cards/{4000000000000000 + i}", json={"note": f"n{i}"})
    env.clock.now = NOW + 10
    op.post("/v1/cards/4000000000000004/reinstate")
    page1 = op.get("/v1/audit", params={"limit": 4}).json()
    assert [r["action"] for r in page1["rows"]] == ["reinstate", "revoke", "revoke", "revoke"]
    page2 = op.get("/v1/audit", params={"limit": 4, "before": page1["next_before"]}).json()
    ids = [r["id"] for r in page1["rows"] + page2["rows"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)
    rows, before = page1["rows"] + page2["rows"], page2["next_before"]
    while before is not None:  # init, key set, the operators made for the test, 2 revokes
        page = op.get("/v1/audit", params={"limit": 4, "before": before}).json()
        rows, before = rows + page["rows"], page["next_before"]
    assert [r["action"] for r in rows][-1] == "init" and len(rows) == len({r["id"] for r in rows})
    since = op.get("/v1/audit", params={"since": str(NOW + 5)}).json()["rows"]
    assert [r["action"] for r in since] == ["reinstate"]
    iso = op.get("/v1/audit", params={"since": "2026-09-21T14:13:25Z"}).json()["rows"]
    assert iso == since
    bad = op.get("/v1/audit", params={"since": "yesterday"})
    assert bad.status_code == 400 and "yesterday" in bad.json()["detail"]


def test_token_for_a_card_not_listed_verifies(env):
    r = env.client("operator").post(f"/v1/cards/{CARD}/token",
                                    json={"valid_until": "2027-03-31", "note": "card renewed"})
    assert r.status_code == 200
    body = r.json()
    assert body["valid_until_utc"] == "2027-03-31T23:59:59Z"
    with _home(env) as home:
        keyset = home.keyset(NOW)
        rows = list(home.audit_log(action="token"))
    token = check_token(bytes.fromhex(body["token"]), int(CARD), NOW, keyset)
    assert token.card_id == int(CARD)
    assert rows[-1][2] == "operator"
    # who, when, from where, why: like every other change
    assert rows[-1][1] == NOW
    assert rows[-1][7] == f"card {CARD} valid until {body['valid_until']}; http testclient: " \
        "card renewed"


def test_token_for_a_listed_card_is_refused_and_changes_nothing(env):
    env.client("operator").put(f"/v1/cards/{CARD}", json={})
    before = env.state()
    r = env.client("operator").post(f"/v1/cards/{CARD}/token",
                                    json={"valid_until": "2027-03-31"})
    assert r.status_code == 409 and r.json()["error"] == "card_listed"
    assert env.state() == before


@pytest.mark.parametrize("valid_until, why", [("2026-01-01", "in the past"),
                                              ("31.12.2027", "YYYY-MM-DD")])
def test_token_with_a_bad_date_is_refused(env, valid_until, why):
    before = env.state()
    r = env.client("operator").post(f"/v1/cards/{CARD}/token", json={"valid_until": valid_until})
    assert r.status_code == 400 and why in r.json()["detail"]
    assert env.state() == before


def test_admin_manages_operators(env):
    admin = env.client("admin")
    made = admin.post("/v1/operators", json={"name": "bank-a", "role": "issuer",
                                             "ranges": ["4100000000000000-4199999999999999"]})
    assert made.status_code == 201
    token = made.json()["token"]
    listed = {o["name"]: o for o in admin.get("/v1/operators").json()["operators"]}
    assert listed["bank-a"]["ranges"] == ["4100000000000000-4199999999999999"]
    assert "token" not in listed["bank-a"]
    bank = env.client()
    bank.headers["Authorization"] = f"Bearer {token}"
    assert bank.put("/v1/cards/4100000000000001", json={}).status_code == 200
    assert bank.put(f"/v1/cards/{CARD}", json={}).status_code == 403
    assert admin.delete("/v1/operators/bank-a").json()["revoked"] is True
    assert bank.put("/v1/cards/4100000000000002", json={}).status_code == 401
    with CenterHome.open(env.home_path, PASSPHRASE) as home:
        actions = [row[3] for row in home.audit_log() if row[3].startswith("operator-")]
    assert actions[-2:] == ["operator-add", "operator-revoke"]


@pytest.mark.parametrize("body, code, why", [
    ({"name": "x y", "role": "operator"}, 400, "bad operator name"),
    ({"name": "bank", "role": "issuer"}, 400, "needs its card ranges"),
    ({"name": "op2", "role": "operator", "ranges": ["1-2"]}, 400, "only an issuer"),
    ({"name": "bank", "role": "issuer", "ranges": ["9-1"]}, 400, "ranges"),
    ({"name": "operator", "role": "operator"}, 409, "exists already"),
    ({"name": "x", "role": "king"}, 400, "role"),
])
def test_bad_operators_are_refused(env, body, code, why):
    before = env.state()
    r = env.client("admin").post("/v1/operators", json=body)
    assert r.status_code == code and why in r.json()["detail"]
    assert env.state() == before


def test_revoking_an_unknown_operator_is_404(env):
    assert env.client("admin").delete("/v1/operators/nobody").status_code == 404


def test_whoami(env):
    me = env.client("issuer").get("/v1/whoami").json()
    assert me == {"name": "issuer", "role": "issuer", "client": "testclient",
                  "ranges": ["4000000000000000-4999999999999999"]}


def test_health_needs_no_token(env):
    assert env.client().get("/healthz").json() == {"ok": True}


def test_unknown_paths_and_methods_answer_as_problems(env):
    c = env.client("admin")
    assert c.get("/v1/nothing").json()["error"] == "not_found"
    r = c.patch(f"/v1/cards/{OTHER_CARD}")
    assert r.status_code == 405 and r.json()["error"] == "method_not_allowed"


def test_every_request_is_logged_with_its_operator(env):
    env.client("auditor").get("/v1/stats")
    line = [e for e in env.logged if e["event"] == "http"][-1]
    assert (line["path"], line["status"], line["by"], line["client"]) == \
        ("/v1/stats", 200, "auditor", "testclient")
