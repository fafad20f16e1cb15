"""Who may do what: every route against every role, no token, a bad token and a revoked one.
A refusal is 401 or 403 and changes nothing (the registry, the keys and the operators are
compared whole before and after)."""

from __future__ import annotations

import pytest
from center.errors import OperatorError
from center_helpers import NOW, PASSPHRASE
from service_helpers import CARD, OTHER_CARD, ROLES, env, home_template  # noqa: F401  (fixtures)

from center.registry.home import CenterHome
from center.service.auth import PERMISSIONS, Action, Role, bearer_token

# (method, path, JSON body, action); the card routes use CARD (inside the issuer's range).
ROUTES = [
    ("PUT", f"/v1/cards/{CARD}", {"reason": "lost"}, Action.CHANGE),
    ("POST", f"/v1/cards/{CARD}/reinstate", {}, Action.CHANGE),
    ("GET", f"/v1/cards/{CARD}", None, Action.LOOKUP),
    ("POST", f"/v1/cards/{CARD}/token", {"valid_until": "2027-01-31"}, Action.TOKEN),
    ("GET", "/v1/cards", None, Action.READ),
    ("GET", "/v1/stats", None, Action.READ),
    ("GET", "/v1/history", None, Action.READ),
    ("GET", "/v1/air", None, Action.READ),
    ("GET", "/v1/audit", None, Action.READ),
    ("GET", "/v1/bundles?epoch=1&seq=0", None, Action.PULL),
    ("GET", "/v1/operators", None, Action.MANAGE),
    ("POST", "/v1/operators", {"name": "new", "role": "auditor"}, Action.MANAGE),
    ("DELETE", "/v1/operators/auditor", None, Action.MANAGE),
]
CHANGES = {Action.CHANGE, Action.TOKEN, Action.MANAGE}


def _send(client, method, path, body, headers=None):
    return client.request(method, path, json=body, headers=headers or {})


def _list_card(env):
    with CenterHome.open(env.home_path, PASSPHRASE) as home:
        home.revoke([CARD], "stolen", now=NOW, by="setup")


@pytest.mark.parametrize("method, path, body, action", ROUTES,
                         ids=[f"{m} {p}" for m, p, _, _ in ROUTES])
@pytest.mark.parametrize("headers, why", [
    ({}, "no bearer token"),
    ({"Authorization": "Bearer hc_not-a-token"}, "unknown or revoked"),
    ({"Authorization": "Basic YWRtaW46YWRtaW4="}, "no bearer token"),
    ({"Authorization": "Bearer "}, "no bearer token"),
], ids=["none", "unknown", "basic", "empty"])
def test_a_request_without_a_valid_token_is_401_and_changes_nothing(env, method, path, body,
                                                                    action, headers, why):
    _list_card(env)
    before = env.state()
    r = _send(env.client(), method, path, body, headers)
    assert r.status_code == 401, r.text
    assert why in r.json()["detail"] and r.headers["www-authenticate"].startswith("Bearer")
    assert env.state() == before


@pytest.mark.parametrize("method, path, body, action", ROUTES,
                         ids=[f"{m} {p}" for m, p, _, _ in ROUTES])
@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_exactly_its_routes(env, method, path, body, action, role):
    if method == "POST" and path.endswith("/reinstate"):
        _list_card(env)
    before = env.state()
    r = _send(env.client(role), method, path, body)
    if Role(role) in PERMISSIONS[action]:
        assert r.status_code in (200, 201), r.text
        if action not in CHANGES:
            assert env.state() == before
    else:
        assert r.status_code == 403, r.text
        assert f"role {role} may not {action.value}" in r.json()["detail"]
        assert env.state() == before


@pytest.mark.parametrize("method, path, body", [
    ("PUT", f"/v1/cards/{OTHER_CARD}", {"reason": "lost"}),
    ("POST", f"/v1/cards/{OTHER_CARD}/reinstate", {}),
    ("GET", f"/v1/cards/{OTHER_CARD}", None),
    ("POST", f"/v1/cards/{OTHER_CARD}/token", {"valid_until": "2027-01-31"}),
], ids=["report", "reinstate", "lookup", "token"])
def test_an_issuer_outside_its_ranges_is_403_and_changes_nothing(env, method, path, body):
    with CenterHome.open(env.home_path, PASSPHRASE) as home:
        home.revoke([OTHER_CARD], "stolen", now=NOW, by="setup")
    before = env.state()
    r = _send(env.client("issuer"), method, path, body)
    assert r.status_code == 403 and r.json()["error"] == "outside_ranges"
    assert OTHER_CARD in r.json()["detail"]
    assert env.state() == before


def test_an_issuer_inside_its_ranges_reports_and_reinstates(env):
    c = env.client("issuer")
    assert c.put(f"/v1/cards/{CARD}", json={"reason": "lost"}).status_code == 200
    assert c.post(f"/v1/cards/{CARD}/reinstate").status_code == 200


def test_a_revoked_operator_is_401_at_once(env):
    c = env.client("operator")
    assert c.put(f"/v1/cards/{CARD}", json={}).status_code == 200
    env.operators.revoke_operator("operator", now=NOW, by="admin")
    before = env.state()
    r = c.put("/v1/cards/4000000000000001", json={})
    assert r.status_code == 401 and "revoked" in r.json()["detail"]
    assert env.state() == before


def test_an_operator_of_a_role_the_service_does_not_know_cannot_be_made(env):
    """The registry refuses the role when the operator is added: no token of a role the
    service has no rules for ever exists."""
    before = env.state()
    with pytest.raises(OperatorError, match="superuser"):
        env.operators.add_operator("odd", "superuser", now=NOW, by="setup")
    assert env.state() == before


def test_a_refused_request_never_reads_its_body(env):
    """The door runs first: a 401 or 403 comes even for a body that is not JSON at all."""
    bad = b"{not json"
    headers = {"content-type": "application/json"}
    assert env.client().put(f"/v1/cards/{CARD}", content=bad, headers=headers).status_code == 401
    r = env.client("auditor").put(f"/v1/cards/{CARD}", content=bad, headers=headers)
    assert r.status_code == 403


@pytest.mark.parametrize("header, token", [
    ("Bearer abc", "abc"), ("bearer   abc  ", "abc"), ("Bearer a b", None), (None, None),
    ("Token abc", None), ("Bearer " + "x" * 513, None), ("Bearer t\u00e9", None),
    ("Bearer ab\x01c", None),
])
def test_bearer_header_parsing(header, token):
    assert bearer_token(header) == token
