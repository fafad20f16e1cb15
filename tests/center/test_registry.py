"""Registry storage: the signed-ID mapping, append-only tables, upserts (center.registry.db)."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest
from center_helpers import NOW, OPERATOR
from hypothesis import given
from hypothesis import strategies as st

from center.errors import NotListedError
from center.registry.home import REGISTRY_FILE
from center.registry.db import to_stored
from crypto import BundleKind
from framing import Reason, from_sql_keys, month_code


@given(st.lists(st.integers(0, 2**64 - 1), max_size=50))
def test_stored_ids_fit_sqlite_and_keep_order(values) -> None:
    ids = np.array(sorted(values), dtype=np.uint64)
    stored = to_stored(ids)
    assert all(-(2**63) <= s < 2**63 for s in stored)
    assert stored == sorted(stored)
    assert [s + 2**63 for s in stored] == ids.tolist()
    assert from_sql_keys(np.array(stored, dtype=np.int64)).tolist() == ids.tolist()


def test_registry_uses_wal(home) -> None:
    conn = sqlite3.connect(home.path / REGISTRY_FILE)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.parametrize("statement", [
    "UPDATE audit SET by='mallory'",
    "DELETE FROM audit",
    "UPDATE bundles SET sha256='00'",
    "DELETE FROM bundles",
])
def test_audit_and_history_are_append_only(home, statement: str) -> None:
    home.revoke(["5"], now=NOW, by=OPERATOR)
    home.build(now=NOW, by=OPERATOR)
    conn = sqlite3.connect(home.path / REGISTRY_FILE)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute(statement)


def test_extreme_ids_are_stored_and_listed_exactly(home) -> None:
    home.revoke(["0", "9999999999999999999", "4929123412341234"], now=NOW, by=OPERATOR)
    assert [e.card_id for e in home.list_entries()] == [0, 4929123412341234, 10**19 - 1]


def test_revoke_again_changes_reason_but_keeps_first_listing(home) -> None:
    counts = home.revoke(["7"], "lost", now=NOW, by="alice")
    assert (counts.added, counts.changed, counts.unchanged) == (1, 0, 0)
    counts = home.revoke(["7", "8"], "fraud", now=NOW + 60, by="bob")
    assert (counts.added, counts.changed, counts.unchanged) == (1, 1, 0)
    counts = home.revoke(["7"], "fraud", now=NOW + 120, by="bob")
    assert (counts.added, counts.changed, counts.unchanged) == (0, 0, 1)
    seven = next(e for e in home.list_entries() if e.card_id == 7)
    assert (seven.reason, seven.listed_at, seven.listed_by) == (Reason.FRAUD, NOW, "alice")
    actions = [row[3] for row in home.audit_log()]
    assert actions == ["init", "import-key-set", "revoke", "revoke", "revoke-change"]


def test_import_updates_expiry_and_revoke_keeps_it(home) -> None:
    home.import_csv("7,lost,2030-02\n", now=NOW, by=OPERATOR)
    home.revoke(["7"], "stolen", now=NOW, by=OPERATOR)
    (seven,) = home.list_entries()
    assert (seven.reason, seven.expiry_code) == (Reason.STOLEN, month_code(2030, 2))


def test_revoke_with_an_expiry_sets_it_in_one_audited_change(home) -> None:
    counts = home.revoke(["7", "8"], "lost", now=NOW, by="alice", note="desk", expires="2030-02")
    assert (counts.added, counts.changed, counts.unchanged) == (2, 0, 0)
    assert [e.expiry_code for e in home.list_entries()] == [month_code(2030, 2)] * 2
    counts = home.revoke(["7"], "lost", now=NOW, by="bob", expires="2030-02")
    assert (counts.added, counts.changed, counts.unchanged) == (0, 0, 1)
    home.revoke(["7"], "lost", now=NOW + 1, by="bob", expires="2031-12")
    rows = [r[1:] for r in home.audit_log()][2:]  # after init and the first key set
    lost = int(Reason.LOST)
    assert rows == [(NOW, "alice", "revoke", 7, lost, month_code(2030, 2), "desk"),
                    (NOW, "alice", "revoke", 8, lost, month_code(2030, 2), "desk"),
                    (NOW + 1, "bob", "revoke-change", 7, lost, month_code(2031, 12), "")]


@pytest.mark.parametrize("expires, why", [("2026-08", "in the past"), ("2030-13", "month 01-12"),
                                          ("30-02", "want YYYY-MM"), ("", "empty")])
def test_revoke_with_a_bad_expiry_changes_nothing(home, expires: str, why: str) -> None:
    from center.errors import ExpiryError

    home.revoke(["7"], now=NOW, by=OPERATOR)
    before = (list(home.list_entries()), list(home.audit_log()))
    with pytest.raises(ExpiryError, match=why):  # NOW is 2026-09
        home.revoke(["7", "9"], now=NOW, by=OPERATOR, expires=expires)
    assert (list(home.list_entries()), list(home.audit_log())) == before


def test_token_renewal_is_audited_with_its_note(home) -> None:
    home.issue_token("7", NOW + 86_400, now=NOW, by="alice", note="http 10.0.0.7: renewed")
    (row,) = home.audit_log(action="token")
    assert row[1:4] == (NOW, "alice", "token")
    assert row[7] == f"card 7 valid until {NOW + 86_400}; http 10.0.0.7: renewed"


def test_reinstate_of_unlisted_card_changes_nothing(home) -> None:
    home.revoke(["1", "2"], now=NOW, by=OPERATOR)
    with pytest.raises(NotListedError, match="card 3 is not on the hot list"):
        home.reinstate(["1", "3"], now=NOW, by=OPERATOR)
    assert [e.card_id for e in home.list_entries()] == [1, 2]
    assert home.reinstate(["1"], now=NOW, by=OPERATOR) == 1
    assert [e.card_id for e in home.list_entries()] == [2]


def test_every_change_is_audited_with_who_when_what_why(home) -> None:
    home.revoke(["11"], "lost", now=NOW + 1, by="alice", note="phoned in")
    home.reinstate(["11"], now=NOW + 2, by="bob", note="found it")
    rows = list(home.audit_log())[2:]  # after init and the first key set
    assert [r[1:] for r in rows] == [
        (NOW + 1, "alice", "revoke", 11, int(Reason.LOST), 0, "phoned in"),
        (NOW + 2, "bob", "reinstate", 11, None, None, "found it"),
    ]


def test_audit_log_only_ever_grows_by_appending(home) -> None:
    """Each operation leaves every earlier audit row exactly as it was; a refused one adds none."""
    from center.errors import CenterInputError

    steps = [
        lambda: home.revoke(["5", "6"], "lost", now=NOW, by="alice"),
        lambda: home.import_csv("7,fraud,2030-01\n5,stolen\n", now=NOW + 1, by="bob"),
        lambda: home.build(now=NOW + 2, by="carol"),
        lambda: home.reinstate(["6"], now=NOW + 3, by="alice"),
        lambda: home.provision(now=NOW + 4, by="dave"),
        lambda: home.rotate_master(now=NOW + 5, by="erin"),
        lambda: home.build(BundleKind.DELTA, 1, now=NOW + 6, by="carol"),
    ]
    refused = [
        lambda: home.revoke(["8", "12345678901234567890"], now=NOW, by="mallory"),
        lambda: home.import_csv("9,stolen\n9,lost\n", now=NOW, by="mallory"),
        lambda: home.reinstate(["404"], now=NOW, by="mallory"),
        lambda: home.build(BundleKind.DELTA, 99, now=NOW, by="mallory"),
    ]
    log = list(home.audit_log())
    for step in steps:
        step()
        after = list(home.audit_log())
        assert len(after) > len(log) and after[:len(log)] == log
        log = after
    for attempt in refused:
        with pytest.raises(CenterInputError):
            attempt()
        assert list(home.audit_log()) == log
    assert "mallory" not in {row[2] for row in log}


def test_one_entry_and_pages_seek_by_card(home) -> None:
    home.revoke(["5", "9", "12"], "lost", now=NOW, by="alice")
    assert home.entry(9) == next(e for e in home.list_entries() if e.card_id == 9)
    assert home.entry(10) is None
    assert [e.card_id for e in home.list_entries(after=5)] == [9, 12]
    assert [e.card_id for e in home.list_entries(after=12)] == []


def test_newest_audit_reads_backwards_in_pages(home) -> None:
    for card in ("5", "9", "12"):
        home.revoke([card], now=NOW, by="alice")
    home.reinstate(["9"], now=NOW + 5, by="bob")
    every = list(home.audit_log())
    assert home.newest_audit(2) == every[::-1][:2]
    assert home.newest_audit(10, before=every[-2][0]) == every[::-1][2:]
    assert home.newest_audit(10, card=9) == [r for r in every[::-1] if r[4] == 9]
    assert home.newest_audit(10, since=NOW + 5) == [every[-1]]
    assert home.newest_audit(10, action="revoke", before=every[-3][0]) == \
        [r for r in every[::-1] if r[3] == "revoke" and r[0] < every[-3][0]]
