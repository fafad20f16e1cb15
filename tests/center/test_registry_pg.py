"""The registry on both backends (SQLite in the home, PostgreSQL): one API, the same behaviour.

PostgreSQL cases skip, naming why, when no server is reachable (see pg_fixtures).
"""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import numpy as np
import pytest
from center_helpers import NOW, OPERATOR, PASSPHRASE
from hypothesis import given
from hypothesis import strategies as st
from pg_fixtures import (  # noqa: F401  (fixtures)
    any_home,
    backend,
    db,
    integrity_errors,
    make_home_on,
    pg_url,
    schema_url,
)

from center.errors import (
    CardIdError,
    CenterStateError,
    HomeError,
    NonEmptyDatabaseError,
    NotListedError,
    UsageError,
)
from center.registry import db as dbmod
from center.registry import dialect as dialectmod
from center.registry import home as homemod
from center.registry.dburl import check_url, redact, same_database
from center.registry.dialect import _to_format_style
from center.registry.home import DB_URL_FILE, REGISTRY_FILE, CenterHome
from center.registry.migrate import registry_digests
from crypto import BundleKind
from framing import Reason, decode_list, month_code


def state(home: CenterHome) -> list:
    """Every table's row count and content digest: equal means nothing changed."""
    return registry_digests(home.registry)


# -- the dialect layer, no server needed ------------------------------------------------------


@pytest.mark.parametrize("sql, want", [
    ("SELECT ?", "SELECT %s"),
    ("SELECT * FROM t WHERE a=? AND b=?", "SELECT * FROM t WHERE a=%s AND b=%s"),
    ("SELECT '?', ?", "SELECT '?', %s"),
    ("SELECT 'it''s ?', ?", "SELECT 'it''s ?', %s"),
    ("SELECT \"we?ird\" FROM t WHERE x LIKE '5%'", "SELECT \"we?ird\" FROM t WHERE x LIKE '5%%'"),
    ("SELECT 10 % ?", "SELECT 10 %% %s"),
])
def test_placeholders_become_format_style_outside_quotes(sql: str, want: str) -> None:
    assert _to_format_style(sql) == want


@given(st.text(alphabet="ab ?%,", max_size=40))
def test_every_unquoted_mark_becomes_one_placeholder(sql: str) -> None:
    out = _to_format_style(sql)
    assert out.count("%s") == sql.count("?")
    assert out.replace("%s", "").replace("%%", "") == sql.replace("?", "").replace("%", "")


@pytest.mark.parametrize("url, shown", [
    ("postgresql://ann:s3cret@db.example:5432/reg", "postgresql://ann:***@db.example:5432/reg"),
    ("postgresql://ann@/reg?host=/run/pg&password=s3cret",
     "postgresql://ann@/reg?host=/run/pg&password=***"),
    ("postgres://db/reg", "postgres://db/reg"),
])
def test_urls_are_shown_without_their_password(url: str, shown: str) -> None:
    assert redact(url) == shown
    assert same_database(url, shown)


@pytest.mark.parametrize("bad, why", [
    ("mysql://db/reg", "want a PostgreSQL URL"),
    ("/var/lib/registry.sqlite", "want a PostgreSQL URL"),
    ("postgresql://db", "names no database"),
    ("postgresql://db:notaport/reg", "bad database URL"),
    ("postgresql://db/reg\n", "control characters"),
])
def test_bad_database_urls_are_refused_by_name(bad: str, why: str) -> None:
    with pytest.raises(UsageError, match=why):
        check_url(bad)


def test_other_databases_are_not_the_same() -> None:
    assert not same_database("postgresql://db/reg", "postgresql://db/other")
    assert not same_database("postgresql://ann@db/reg", "postgresql://bob@db/reg")
    assert same_database("postgres://ann:x@db/reg", "postgresql://ann:y@db/reg")


def test_unreachable_database_is_named_without_its_password(tmp_path: Path) -> None:
    pytest.importorskip("psycopg")
    with make_home_on(tmp_path / "home", None) as home:
        pass
    url = f"postgresql://ann:s3cret@/reg?host={tmp_path}/nowhere&port=1"
    (home.path / DB_URL_FILE).write_text(url + "\n")
    with pytest.raises(CenterStateError, match="cannot reach the registry database") as err:
        CenterHome.open(home.path)
    assert "s3cret" not in str(err.value) and "ann:***@" in str(err.value)


def test_corrupted_url_file_is_named(tmp_path: Path) -> None:
    with make_home_on(tmp_path / "home", None) as home:
        pass
    (home.path / DB_URL_FILE).write_text("not a url\n")
    with pytest.raises(CenterStateError, match=f"{DB_URL_FILE} is corrupted"):
        CenterHome.open(home.path)


# -- one behaviour on both backends -------------------------------------------------------------


def test_the_home_is_on_the_backend_asked_for(any_home: CenterHome, backend: str) -> None:
    assert any_home.registry.dialect == backend


def test_extreme_ids_are_stored_and_listed_exactly(any_home: CenterHome) -> None:
    cards = ["0", str(2**63 - 1), str(2**63), "9999999999999999999", "4929123412341234"]
    any_home.revoke(cards, now=NOW, by=OPERATOR)
    want = sorted(int(c) for c in cards)
    assert [e.card_id for e in any_home.list_entries()] == want
    assert any_home.registry.hot_list().ids.tolist() == want


@pytest.mark.parametrize("lookup_max", [1_000_000, 2], ids=["by-card", "whole-list"])
def test_revoke_again_changes_reason_but_keeps_first_listing(any_home: CenterHome, monkeypatch,
                                                             lookup_max: int) -> None:
    monkeypatch.setattr(dbmod, "_LOOKUP_MAX", lookup_max)
    counts = any_home.revoke(["7"], "lost", now=NOW, by="alice")
    assert (counts.added, counts.changed, counts.unchanged) == (1, 0, 0)
    counts = any_home.revoke(["7", "8", "9"], "fraud", now=NOW + 60, by="bob")
    assert (counts.added, counts.changed, counts.unchanged) == (2, 1, 0)
    counts = any_home.revoke(["7", "8", "9"], "fraud", now=NOW + 120, by="bob")
    assert (counts.added, counts.changed, counts.unchanged) == (0, 0, 3)
    seven = next(e for e in any_home.list_entries() if e.card_id == 7)
    assert (seven.reason, seven.listed_at, seven.listed_by) == (Reason.FRAUD, NOW, "alice")
    actions = [row[3] for row in any_home.audit_log()]
    assert actions == ["init", "import-key-set", "revoke", "revoke", "revoke", "revoke-change"]


def test_import_updates_expiry_and_revoke_keeps_it(any_home: CenterHome) -> None:
    any_home.import_csv("7,lost,2030-02\n8,fraud,\n", now=NOW, by=OPERATOR)
    any_home.revoke(["7"], "stolen", now=NOW, by=OPERATOR)
    seven, eight = any_home.list_entries()
    assert (seven.reason, seven.expiry_code) == (Reason.STOLEN, month_code(2030, 2))
    assert (eight.reason, eight.expiry_code) == (Reason.FRAUD, 0)


def test_reinstate_of_unlisted_card_changes_nothing(any_home: CenterHome) -> None:
    any_home.revoke(["1", "2"], now=NOW, by=OPERATOR)
    before = state(any_home)
    with pytest.raises(NotListedError, match="card 3 is not on the hot list"):
        any_home.reinstate(["1", "3"], now=NOW, by=OPERATOR)
    assert state(any_home) == before
    assert any_home.reinstate(["1"], now=NOW, by=OPERATOR) == 1
    assert [e.card_id for e in any_home.list_entries()] == [2]


def test_a_bad_card_id_changes_nothing(any_home: CenterHome) -> None:
    any_home.revoke(["1"], now=NOW, by=OPERATOR)
    before = state(any_home)
    with pytest.raises(CardIdError, match="12345678901234567890"):
        any_home.revoke(["2", "12345678901234567890"], now=NOW, by=OPERATOR)
    assert state(any_home) == before


@pytest.mark.parametrize("statement", [
    "UPDATE audit SET by='mallory'",
    "DELETE FROM audit",
    "UPDATE bundles SET sha256='00'",
    "DELETE FROM bundles",
    "UPDATE trust SET imported_by='mallory'",
    "DELETE FROM trust",
])
def test_audit_and_history_are_append_only(any_home: CenterHome, statement: str) -> None:
    any_home.revoke(["5"], now=NOW, by=OPERATOR)
    any_home.build(now=NOW, by=OPERATOR)
    before = state(any_home)
    with pytest.raises(integrity_errors(any_home), match="append-only"):
        any_home.registry.execute(statement)
    assert state(any_home) == before


@pytest.mark.parametrize("table", ["audit", "bundles", "trust", "operators"])
def test_truncate_cannot_empty_the_history_on_postgresql(tmp_path: Path, pg_url: str,
                                                         table: str) -> None:
    with make_home_on(tmp_path / "home", pg_url) as home:
        home.build(now=NOW, by=OPERATOR)
        home.add_operator("ann", "admin", now=NOW, by=OPERATOR)
        before = state(home)
        with pytest.raises(integrity_errors(home)):
            home.registry.execute(f"TRUNCATE {table}")
        assert state(home) == before


def test_lists_chain_and_deltas_take_any_base_to_the_newest(any_home: CenterHome) -> None:
    any_home.revoke(["1", "2", "3"], now=NOW, by=OPERATOR)
    full = any_home.build(now=NOW, by=OPERATOR)
    any_home.revoke(["4"], now=NOW, by=OPERATOR)
    any_home.reinstate(["2"], now=NOW, by=OPERATOR)
    second = any_home.build(BundleKind.DELTA, now=NOW, by=OPERATOR)
    any_home.revoke(["5"], "lost", now=NOW, by=OPERATOR)
    third = any_home.build(BundleKind.DELTA, full.seq, now=NOW, by=OPERATOR)
    assert (full.seq, second.seq, third.seq) == (1, 2, 3)
    assert second.prev == full.digest and third.prev == second.digest
    assert (third.added, third.removed) == (2, 1)  # 4 and 5 listed, 2 gone since seq 1
    history = list(any_home.history())
    assert [(h["kind"], h["seq"], h["base"]) for h in history] == [
        ("full", 1, 0), ("delta", 2, 1), ("delta", 3, 1)]
    _, listed = decode_list(any_home.registry.list_bundle(1, 3)["list_body"])
    assert listed.ids.tolist() == [1, 3, 4, 5]
    assert any_home.bundle(2).sealed == second.sealed
    assert [b.seq for b in any_home.carousel(NOW)][-2:] == [1, 3]


def test_audit_filters(any_home: CenterHome) -> None:
    any_home.revoke(["7"], now=NOW, by=OPERATOR)
    any_home.revoke(["8"], now=NOW + 10, by=OPERATOR)
    any_home.reinstate(["7"], now=NOW + 20, by=OPERATOR)
    assert [r[3] for r in any_home.audit_log(card=7)] == ["revoke", "reinstate"]
    assert [r[4] for r in any_home.audit_log(since=NOW + 10)] == [8, 7]
    assert len(list(any_home.audit_log(action="revoke"))) == 2


def test_portable_execute_query_and_transaction(any_home: CenterHome) -> None:
    reg = any_home.registry
    types = reg.column_types
    reg.execute(f"CREATE TABLE IF NOT EXISTS svc_notes (id {types['pk']}, at {types['big']} "
                f"NOT NULL, body {types['blob']}, text TEXT NOT NULL)")
    with reg.transaction():
        reg.execute("INSERT INTO svc_notes (at, body, text) VALUES (?, ?, ?)",
                    (2**62, b"\x00\xff", "50% off? no"))
    with pytest.raises(RuntimeError):
        with reg.transaction():
            reg.execute("INSERT INTO svc_notes (at, text) VALUES (?, ?)", (1, "rolled back"))
            raise RuntimeError("stop")
    assert reg.query("SELECT at, body, text FROM svc_notes WHERE text LIKE '50%' AND at > ?",
                     (0,)) == [(2**62, b"\x00\xff", "50% off? no")]
    assert reg.query_one("SELECT '?', ?", (3,)) == ("?", 3)
    assert reg.execute("DELETE FROM svc_notes WHERE at = ?", (2**62,)) == 1


def test_a_read_snapshot_holds_while_another_process_writes(any_home: CenterHome) -> None:
    any_home.revoke(["1"], now=NOW, by=OPERATOR)
    with CenterHome.open(any_home.path, PASSPHRASE) as other:
        with any_home.registry.reading():
            before = any_home.count()
            other.revoke(["2"], now=NOW, by=OPERATOR)
            assert any_home.count() == before == 1
        assert any_home.count() == 2


def test_a_writer_held_up_past_the_wait_limit_changes_nothing(any_home: CenterHome,
                                                              monkeypatch) -> None:
    monkeypatch.setattr(dialectmod, "LOCK_WAIT_S", 1)
    with CenterHome.open(any_home.path, PASSPHRASE) as other:
        with any_home.registry.transaction():  # a writer that does not let go
            with pytest.raises(CenterStateError, match="stayed locked by another writer"):
                other.revoke(["5"], now=NOW, by=OPERATOR)
        assert other.count() == 0
        other.revoke(["5"], now=NOW, by=OPERATOR)  # the lock is free again
        assert any_home.count() == 1


def test_the_home_records_its_database(tmp_path: Path, db: str | None, backend: str) -> None:
    with make_home_on(tmp_path / "home", db) as home:
        home.revoke(["42"], now=NOW, by=OPERATOR)
    url_file = tmp_path / "home" / DB_URL_FILE
    if backend == "sqlite":
        assert not url_file.exists() and (tmp_path / "home" / REGISTRY_FILE).is_file()
    else:
        assert url_file.read_text() == f"{db}\n"
        assert stat.S_IMODE(url_file.stat().st_mode) == 0o600
        assert not (tmp_path / "home" / REGISTRY_FILE).exists()
    with CenterHome.open(tmp_path / "home") as again:
        assert again.registry.dialect == backend
        assert [e.card_id for e in again.list_entries()] == [42]


def test_a_database_other_than_the_homes_is_refused(tmp_path: Path, pg_url: str) -> None:
    with make_home_on(tmp_path / "lite", None):
        pass
    with pytest.raises(HomeError, match="uses its own SQLite file"):
        CenterHome.open(tmp_path / "lite", db=pg_url)
    with make_home_on(tmp_path / "pg", pg_url):
        pass
    with CenterHome.open(tmp_path / "pg", db=pg_url.replace("postgres@", "postgres:pw@")):
        pass  # the same database, a password aside
    other = schema_url(pg_url.split("&options=")[0].split("?options=")[0], "elsewhere")
    with pytest.raises(HomeError, match="not postgresql://"):
        CenterHome.open(tmp_path / "pg", db=other)


def test_init_on_a_database_in_use_is_refused_and_makes_nothing(tmp_path: Path,
                                                                pg_url: str) -> None:
    with make_home_on(tmp_path / "first", pg_url) as first:
        first.revoke(["1"], now=NOW, by=OPERATOR)
        before = state(first)
        with pytest.raises(NonEmptyDatabaseError, match="not empty"):
            make_home_on(tmp_path / "second", pg_url)
        assert state(first) == before
    assert sorted(p.name for p in (tmp_path / "second").iterdir()) == ["lock"]


def test_a_failed_init_leaves_the_database_empty(tmp_path: Path, pg_url: str,
                                                 monkeypatch) -> None:
    real = homemod.write_secret_file

    def full_disk(path: Path, data: bytes) -> None:
        if path.name == homemod.REQUEST_FILE:
            raise OSError(28, "No space left on device", str(path))
        real(path, data)

    monkeypatch.setattr(homemod, "write_secret_file", full_disk)
    with pytest.raises(OSError):
        make_home_on(tmp_path / "home", pg_url)
    monkeypatch.undo()
    with make_home_on(tmp_path / "again", pg_url) as home:  # empty again: init succeeds
        assert home.count() == 0


def test_a_home_whose_keys_missed_a_roll_on_the_shared_registry_signs_nothing(
        tmp_path: Path, pg_url: str) -> None:
    with make_home_on(tmp_path / "a", pg_url) as a:
        a.build(now=NOW, by=OPERATOR)
    shutil.copytree(tmp_path / "a", tmp_path / "b")  # a second machine on the same registry
    with CenterHome.open(tmp_path / "a", PASSPHRASE) as a:
        a.rotate_master(now=NOW + 1, by=OPERATOR)
    with CenterHome.open(tmp_path / "b", PASSPHRASE) as b:
        before = state(b)
        for act in (lambda: b.build(now=NOW + 2, by=OPERATOR),
                    lambda: b.rotate_master(now=NOW + 2, by=OPERATOR),
                    lambda: b.provision(now=NOW + 2, by=OPERATOR)):
            with pytest.raises(HomeError, match="another home on this registry rotated"):
                act()
        assert state(b) == before
    shutil.copy(tmp_path / "a" / "center.keys", tmp_path / "b" / "center.keys")
    with CenterHome.open(tmp_path / "b", PASSPHRASE) as b:
        assert b.build(now=NOW + 3, by=OPERATOR).seq == 2


def _downgrade_to_v2(home: CenterHome) -> None:
    reg = home.registry
    reg.execute("DROP TABLE operators")
    if reg.dialect == "postgresql":
        reg.execute("DROP FUNCTION hotcast_revoke_only()")
    reg.execute("UPDATE meta SET value='2' WHERE key='schema_version'")


def _downgrade_to_v3(home: CenterHome) -> None:
    reg = home.registry
    reg.execute("DROP INDEX audit_card")
    reg.execute("DROP INDEX audit_at")
    reg.execute("DELETE FROM meta WHERE key='hot_count'")
    reg.execute("UPDATE meta SET value='3' WHERE key='schema_version'")


@pytest.mark.parametrize("version", [2, 3])
def test_an_older_registry_is_upgraded_when_opened(tmp_path: Path, db: str | None,
                                                    version: int) -> None:
    with make_home_on(tmp_path / "home", db) as home:
        home.revoke(["9", "10", "11"], now=NOW, by=OPERATOR)
        _downgrade_to_v3(home)
        if version == 2:
            _downgrade_to_v2(home)
    with CenterHome.open(tmp_path / "home") as home:
        assert home.registry.meta("schema_version") == "4"
        assert [e.card_id for e in home.list_entries()] == [9, 10, 11]
        assert home.count() == 3  # counted once, at the upgrade
        home.reinstate(["10"], now=NOW, by=OPERATOR)
        assert home.count() == 2
        token = home.add_operator("ann", "admin", now=NOW, by=OPERATOR)
        assert home.authenticate(token).name == "ann"


def test_an_unknown_schema_version_is_refused(tmp_path: Path, db: str | None) -> None:
    with make_home_on(tmp_path / "home", db) as home:
        home.registry.execute("UPDATE meta SET value='9' WHERE key='schema_version'")
    with pytest.raises(CenterStateError, match="has schema 9, want 4"):
        CenterHome.open(tmp_path / "home")


# -- the command line ---------------------------------------------------------------------------


def test_cli_init_on_postgresql_then_no_command_needs_db(run, tmp_path: Path,
                                                         pg_url: str) -> None:
    code, out, err = run("init", "--db", pg_url)
    assert code == 0, err
    assert json.loads(out)["database"] == redact(pg_url)
    assert run("revoke", "4929000012341234")[0] == 0
    code, out, _ = run("list")
    assert json.loads(out)["card"] == "4929000012341234"
    assert run("list", "--db", pg_url)[0] == 0
    code, _, err = run("list", "--db", schema_url(pg_url.split("?")[0], "x"))
    assert code == 2 and "not postgresql://" in err


def test_cli_init_on_a_database_in_use_makes_nothing(run, tmp_path: Path, pg_url: str) -> None:
    assert run("init", "--db", pg_url)[0] == 0
    code, _, err = run("init", "--home", str(tmp_path / "other"), "--db", pg_url)
    assert code == 2 and "is not empty" in err
    assert not (tmp_path / "other").exists() and not (tmp_path / "other-root").exists()


def test_cli_a_bad_database_url_is_refused(run, tmp_path: Path) -> None:
    code, _, err = run("init", "--db", "mysql://db/reg")
    assert code == 2 and "want a PostgreSQL URL" in err
    assert not (tmp_path / "home").exists()


def test_lookup_in_chunks_matches_the_whole_list(any_home: CenterHome, monkeypatch) -> None:
    monkeypatch.setattr(dbmod, "_LOOKUP_CHUNK", 3)
    ids = np.array([5, 1, 9, 2**63, 7, 3, 11], dtype=np.uint64)
    any_home.revoke([str(i) for i in ids[::2].tolist()], now=NOW, by=OPERATOR)
    listed, reasons, _ = any_home.registry._lookup(ids)
    assert listed.tolist() == [True, False, True, False, True, False, True]
    assert reasons[listed].tolist() == [int(Reason.STOLEN)] * 4
    assert reasons[~listed].tolist() == [0] * 3


def test_indexed_readers_agree_with_the_full_walks(any_home: CenterHome) -> None:
    """The readers the service's pages use (one entry, a page after a card, the newest audit
    rows, grouped statistics) give what walking the list and the log gives, on each backend."""
    home = any_home
    home.revoke(["5", "9", "12"], "lost", now=NOW, by="alice")
    home.revoke(["20"], "fraud", now=NOW + 86_400, by="bob")
    home.reinstate(["9"], now=NOW + 86_400, by="bob")
    home.revoke(["5"], "stolen", now=NOW + 86_400, by="bob")
    entries = list(home.list_entries())
    assert home.entry(12) == next(e for e in entries if e.card_id == 12) and home.entry(9) is None
    assert list(home.list_entries(after=5)) == [e for e in entries if e.card_id > 5]
    log = list(home.audit_log())
    assert home.newest_audit(3) == log[::-1][:3]
    assert home.newest_audit(9, card=5, before=log[-1][0]) == \
        [r for r in log[::-1] if r[4] == 5 and r[0] < log[-1][0]]
    assert home.reason_counts() == {Reason.STOLEN: 1, Reason.LOST: 1, Reason.FRAUD: 1,
                                    Reason.OTHER: 0}
    day = NOW // 86_400
    assert sorted(home.changes_by_day(NOW)) == [
        (day, "revoke", 3), (day + 1, "reinstate", 1), (day + 1, "revoke", 1),
        (day + 1, "revoke-change", 1)]
    assert home.count() == len(entries) == 3
