"""Operators and machine tokens (center.registry.operators), on both backends; issuer ranges."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from center_helpers import NOW, OPERATOR
from hypothesis import given
from hypothesis import strategies as st
from pg_fixtures import any_home, backend, db, integrity_errors, pg_url  # noqa: F401

from center.errors import NotListedError, OperatorError, OutsideRangesError
from center.registry.home import CenterHome
from center.registry.migrate import registry_digests
from center.registry.operators import (
    TOKEN_PREFIX,
    Operator,
    Role,
    check_in_ranges,
    new_token,
    parse_range,
    token_hash,
)

import numpy as np

ISSUER_RANGES = [(4929000000000000, 4929009999999999), (5100000000000000, 5100000000000999)]


def state(home: CenterHome) -> list:
    return registry_digests(home.registry)


def test_a_token_is_returned_once_and_authenticates(any_home: CenterHome) -> None:
    token = any_home.add_operator("till-7", "terminal", now=NOW, by="admin", note="shop 7")
    assert token.startswith(TOKEN_PREFIX) and len(token) == len(TOKEN_PREFIX) + 43
    who = any_home.authenticate(token)
    assert who == Operator("till-7", Role.TERMINAL, [], NOW, None, "admin", None)
    assert all(token not in repr(o) for o in any_home.operators())


def test_tokens_are_random_and_distinct(any_home: CenterHome) -> None:
    tokens = {any_home.add_operator(f"m{i}", "terminal", now=NOW, by="admin") for i in range(20)}
    assert len(tokens) == 20
    assert len({new_token() for _ in range(1000)}) == 1000


def test_a_stolen_registry_holds_no_token(any_home: CenterHome) -> None:
    token = any_home.add_operator("ann", "admin", now=NOW, by=OPERATOR)
    rows = any_home.registry.query("SELECT * FROM operators")
    flat = " ".join(str(v) for row in rows for v in row)
    assert token not in flat and token[len(TOKEN_PREFIX):] not in flat
    assert token_hash(token) in flat  # only its hash: useless for logging in
    assert token_hash(token) == hashlib.sha256(b"hotcast operator token v1\x00"
                                               + token.encode()).hexdigest()


@pytest.mark.parametrize("forged", [
    "", "hct1_", "Bearer x", None, 12345, b"bytes",
    TOKEN_PREFIX + "A" * 43,  # the right shape, not issued
    TOKEN_PREFIX + "\u00e9" * 43,
    "x" * 10_000,
])
def test_a_forged_token_is_refused(any_home: CenterHome, forged) -> None:
    any_home.add_operator("ann", "admin", now=NOW, by=OPERATOR)
    assert any_home.authenticate(forged) is None


def test_a_token_one_character_off_is_refused(any_home: CenterHome) -> None:
    token = any_home.add_operator("ann", "admin", now=NOW, by=OPERATOR)
    last = "A" if token[-1] != "A" else "B"
    assert any_home.authenticate(token[:-1] + last) is None
    assert any_home.authenticate(token.upper()) is None


def test_a_revoked_token_is_refused(any_home: CenterHome) -> None:
    token = any_home.add_operator("bob", "operator", now=NOW, by="admin")
    revoked = any_home.revoke_operator("bob", now=NOW + 60, by="admin", note="left the company")
    assert (revoked.revoked_at, revoked.revoked_by) == (NOW + 60, "admin")
    assert any_home.authenticate(token) is None
    (listed,) = any_home.operators()
    assert listed.revoked_at == NOW + 60


def test_a_name_is_reused_only_after_revoking_and_gets_a_new_token(any_home: CenterHome) -> None:
    first = any_home.add_operator("bob", "operator", now=NOW, by="admin")
    before = state(any_home)
    with pytest.raises(OperatorError, match="operator 'bob' exists"):
        any_home.add_operator("bob", "admin", now=NOW, by="admin")
    assert state(any_home) == before
    any_home.revoke_operator("bob", now=NOW + 1, by="admin")
    second = any_home.add_operator("bob", "auditor", now=NOW + 2, by="admin")
    assert any_home.authenticate(first) is None
    assert any_home.authenticate(second).role is Role.AUDITOR
    assert [(o.name, o.role, o.revoked_at) for o in any_home.operators()] == [
        ("bob", Role.OPERATOR, NOW + 1), ("bob", Role.AUDITOR, None)]


def test_revoking_an_unknown_or_revoked_operator_changes_nothing(any_home: CenterHome) -> None:
    any_home.add_operator("bob", "operator", now=NOW, by="admin")
    any_home.revoke_operator("bob", now=NOW, by="admin")
    before = state(any_home)
    for name in ("bob", "nobody"):
        with pytest.raises(OperatorError, match=f"no operator '{name}' to revoke"):
            any_home.revoke_operator(name, now=NOW, by="admin")
    assert state(any_home) == before


@pytest.mark.parametrize("name, role, ranges, why", [
    ("", "admin", None, "bad operator name"),
    ("has space", "admin", None, "bad operator name"),
    ("-dash-first", "admin", None, "bad operator name"),
    ("x" * 65, "admin", None, "bad operator name"),
    ("ann", "root", None, "unknown role 'root'"),
    ("bank", "issuer", None, "an issuer needs its card ranges"),
    ("ann", "operator", ["1-2"], "card ranges are for issuers"),
    ("bank", "issuer", ["9-1"], "LO is above HI"),
    ("bank", "issuer", ["1-12345678901234567890"], "bad card range"),
    ("bank", "issuer", ["1..2"], "bad card range"),
    ("bank", "issuer", [(-1, 5)], "bad card range"),
])
def test_bad_operators_are_refused_by_name_and_change_nothing(any_home: CenterHome, name, role,
                                                              ranges, why) -> None:
    before = state(any_home)
    with pytest.raises(OperatorError, match=why):
        any_home.add_operator(name, role, ranges=ranges, now=NOW, by="admin")
    assert state(any_home) == before


def test_every_change_is_audited_with_who_when_and_why(any_home: CenterHome) -> None:
    any_home.add_operator("bank", "issuer", ranges=["1-100"], now=NOW, by="alice",
                          note="from 10.0.0.5: contract 17")
    any_home.revoke_operator("bank", now=NOW + 5, by="carol", note="contract ended")
    rows = [r for r in any_home.audit_log() if r[3].startswith("operator-")]
    assert [(r[1], r[2], r[3], r[7]) for r in rows] == [
        (NOW, "alice", "operator-add", "bank: role issuer, ranges 1-100; from 10.0.0.5: "
                                       "contract 17"),
        (NOW + 5, "carol", "operator-revoke", "bank: role issuer; contract ended"),
    ]


@pytest.mark.parametrize("statement", [
    "UPDATE operators SET role='admin'",
    "UPDATE operators SET role='admin', revoked_at=1, revoked_by='x' WHERE name='ann'",
    "UPDATE operators SET ranges='1-2', revoked_at=1, revoked_by='x' WHERE name='ann'",
    "UPDATE operators SET revoked_at=1 WHERE name='ann'",
    "UPDATE operators SET token_hash='00'",
    "UPDATE operators SET revoked_at=NULL, revoked_by=NULL",
    "DELETE FROM operators",
])
def test_the_operators_table_allows_only_revoking(any_home: CenterHome, statement: str) -> None:
    any_home.add_operator("ann", "operator", now=NOW, by="admin")
    any_home.add_operator("eve", "auditor", now=NOW, by="admin")
    any_home.revoke_operator("eve", now=NOW, by="admin")
    before = state(any_home)
    with pytest.raises(integrity_errors(any_home), match="only revoked once"):
        any_home.registry.execute(statement)
    assert state(any_home) == before


# -- issuers act on their own ranges only ---------------------------------------------------


def test_an_issuer_is_stored_with_its_ranges(any_home: CenterHome) -> None:
    token = any_home.add_operator("bank", "issuer", ranges=[ISSUER_RANGES[1], "4929000000000000-"
                                  "4929009999999999"], now=NOW, by="admin")
    bank = any_home.authenticate(token)
    assert bank.ranges == ISSUER_RANGES
    assert bank.covers(4929000012341234) and not bank.covers(4929010000000000)


def test_an_issuer_cannot_revoke_outside_its_ranges(any_home: CenterHome) -> None:
    any_home.revoke(["4111111111111111"], now=NOW, by="ops")
    before = state(any_home)
    with pytest.raises(OutsideRangesError, match="card 4111111111111112 is outside"):
        any_home.revoke(["4929000012341234", "4111111111111112"], now=NOW, by="bank",
                        allowed_ranges=ISSUER_RANGES)
    with pytest.raises(OutsideRangesError, match="card 4111111111111111 is outside"):
        any_home.reinstate(["4111111111111111"], now=NOW, by="bank",
                           allowed_ranges=ISSUER_RANGES)
    with pytest.raises(OutsideRangesError, match="card 4111111111111113 is outside"):
        any_home.import_csv("4929000012341234,lost\n4111111111111113,stolen\n", now=NOW,
                            by="bank", allowed_ranges=ISSUER_RANGES)
    assert state(any_home) == before


def test_an_issuer_acts_inside_its_ranges(any_home: CenterHome) -> None:
    edges = ["4929000000000000", "4929009999999999", "5100000000000999"]
    counts = any_home.revoke(edges, "lost", now=NOW, by="bank", allowed_ranges=ISSUER_RANGES)
    assert counts.added == 3
    assert any_home.reinstate(edges[:1], now=NOW, by="bank", allowed_ranges=ISSUER_RANGES) == 1
    with pytest.raises(NotListedError):  # inside the ranges, but not listed: still refused
        any_home.reinstate(["4929000000000001"], now=NOW, by="bank",
                           allowed_ranges=ISSUER_RANGES)


def test_no_ranges_allows_nothing() -> None:
    with pytest.raises(OutsideRangesError, match="allowed \\(none\\)"):
        check_in_ranges(np.array([5], dtype=np.uint64), [])


@given(st.lists(st.tuples(st.integers(0, 10**19 - 1), st.integers(0, 10**6)), max_size=4),
       st.lists(st.integers(0, 10**19 - 1), min_size=1, max_size=8))
def test_range_check_agrees_with_covers(spans, cards) -> None:
    ranges = [(lo, min(lo + width, 10**19 - 1)) for lo, width in spans]
    op = Operator("bank", Role.ISSUER, ranges, NOW, None, "admin")
    ids = np.array(cards, dtype=np.uint64)
    inside = all(op.covers(c) for c in cards)
    if inside:
        check_in_ranges(ids, ranges)
    else:
        with pytest.raises(OutsideRangesError):
            check_in_ranges(ids, ranges)


@given(st.integers(0, 10**19 - 1), st.integers(0, 10**19 - 1))
def test_range_text_round_trips(a: int, b: int) -> None:
    lo, hi = min(a, b), max(a, b)
    assert parse_range(f"{lo}-{hi}") == (lo, hi)


# -- the command line -----------------------------------------------------------------------


def test_cli_operators_add_list_revoke(run, tmp_path: Path) -> None:
    assert run("init")[0] == 0
    code, out, err = run("operators", "add", "--role", "issuer", "--range",
                         "4929000000000000-4929009999999999", "--note", "contract 17", "bank")
    assert code == 0, err
    (line,) = out.splitlines()
    added = json.loads(line)
    assert added["name"] == "bank" and added["role"] == "issuer"
    assert added["ranges"] == ["4929000000000000-4929009999999999"]
    token = added["token"]
    assert run("operators", "add", "--role", "admin", "ann")[0] == 0
    code, out, _ = run("operators", "list")
    listed = [json.loads(x) for x in out.splitlines()]
    assert [o["name"] for o in listed] == ["bank", "ann"]
    assert token not in out and all("token" not in o for o in listed)
    code, out, _ = run("operators", "revoke", "--note", "ended", "bank")
    assert code == 0 and json.loads(out)["revoked_by"] == "tester"
    code, out, _ = run("operators", "list", "--active")
    assert [json.loads(x)["name"] for x in out.splitlines()] == ["ann"]
    with CenterHome.open(tmp_path / "home") as home:
        assert home.authenticate(token) is None


@pytest.mark.parametrize("argv, why", [
    (["--role", "root", "x"], "invalid choice: 'root'"),
    (["--role", "operator", "--range", "1-2", "x"], "card ranges are for issuers"),
    (["--role", "issuer", "x"], "an issuer needs its card ranges"),
    (["--role", "issuer", "--range", "1-99999999999999999999", "x"], "bad card range"),
    (["--role", "admin", "bad name"], "bad operator name"),
])
def test_cli_bad_operators_are_refused(run, argv: list[str], why: str) -> None:
    assert run("init")[0] == 0
    code, out, err = run("operators", "add", *argv)
    assert code == 2 and why in err and out == ""
    assert run("operators", "list")[1] == ""


def test_cli_revoke_unknown_operator_exits_2(run) -> None:
    assert run("init")[0] == 0
    code, _, err = run("operators", "revoke", "nobody")
    assert code == 2 and "no operator 'nobody' to revoke" in err
