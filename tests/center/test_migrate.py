"""``center migrate``: a SQLite registry copied into PostgreSQL, verified, and the home switched."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from center_helpers import NOW, OPERATOR, PASSPHRASE
from pg_fixtures import make_home_on, pg_url  # noqa: F401  (fixture)

from center.errors import CenterStateError, MigrationError, NonEmptyDatabaseError
from center.registry import migrate
from center.registry.db import Registry
from center.registry.home import DB_URL_FILE, MIGRATED_FILE, REGISTRY_FILE, CenterHome
from center.registry.migrate import TableCopy, registry_digests
from crypto import BundleKind


def populated(path: Path) -> tuple[CenterHome, str]:
    """A SQLite home with something in every table: cards (extreme ids, expiry months), lists
    full and delta, a master roll, root and key sets, operators (one revoked)."""
    home = make_home_on(path, None)
    home.revoke(["0", str(2**63), "9999999999999999999"], now=NOW, by=OPERATOR)
    home.import_csv("4929000012341234,lost,2031-05\n4929000012341235,fraud,\n", now=NOW,
                    by=OPERATOR)
    home.build(now=NOW, by=OPERATOR)
    home.reinstate(["0"], now=NOW + 1, by=OPERATOR)
    home.build(BundleKind.DELTA, now=NOW + 2, by=OPERATOR)
    home.rotate_master(now=NOW + 3, by=OPERATOR)
    token = home.add_operator("bank", "issuer", ranges=["4929000000000000-4929009999999999"],
                              now=NOW, by=OPERATOR)
    home.add_operator("eve", "operator", now=NOW, by=OPERATOR)
    home.revoke_operator("eve", now=NOW + 4, by=OPERATOR, note="left")
    return home, token


def test_migrate_copies_every_table_verifies_and_switches_the_home(tmp_path: Path,
                                                                  pg_url: str) -> None:
    home, token = populated(tmp_path / "home")
    before = registry_digests(home.registry)
    entries, history = list(home.list_entries()), list(home.history())
    audit = list(home.audit_log())
    assert all(t.rows > 0 for t in before)
    with home:
        copied = home.migrate(pg_url, now=NOW + 10, by="ops")
        assert copied == before
        assert home.registry.dialect == "postgresql"
    assert (tmp_path / "home" / DB_URL_FILE).read_text() == f"{pg_url}\n"
    assert not (tmp_path / "home" / REGISTRY_FILE).exists()
    backup = Registry.open(tmp_path / "home" / MIGRATED_FILE)
    try:
        assert registry_digests(backup) == before  # the SQLite file is kept as it was
    finally:
        backup.close()
    with CenterHome.open(tmp_path / "home", PASSPHRASE) as moved:
        assert list(moved.list_entries()) == entries
        assert list(moved.history()) == history
        after = list(moved.audit_log())
        assert after[:-1] == audit
        assert (after[-1][2], after[-1][3]) == ("ops", "migrate")
        assert "verified" in after[-1][7]
        assert moved.authenticate(token).name == "bank"
        # the history goes on where it stopped: next seq, chained, ids above the copied ones
        built = moved.build(BundleKind.DELTA, now=NOW + 20, by=OPERATOR)
        assert (built.seq, built.prev.hex()) == (3, history[1]["sha256"])
        assert [r[0] for r in moved.audit_log()][-1] == after[-1][0] + 1
        moved.add_operator("carl", "auditor", now=NOW, by=OPERATOR)
        assert [o.name for o in moved.operators()] == ["bank", "eve", "carl"]


def test_migrate_refuses_a_non_empty_target_and_changes_nothing(tmp_path: Path,
                                                               pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE someone_elses (x int)")
    home, _ = populated(tmp_path / "home")
    before = registry_digests(home.registry)
    with home:
        with pytest.raises(NonEmptyDatabaseError, match="someone_elses"):
            home.migrate(pg_url, now=NOW, by="ops")
        assert home.registry.dialect == "sqlite"
        assert registry_digests(home.registry) == before
    assert not (tmp_path / "home" / DB_URL_FILE).exists()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        tables = conn.execute("SELECT table_name FROM information_schema.tables WHERE "
                              "table_schema = current_schema()").fetchall()
    assert tables == [("someone_elses",)]


def test_a_copy_that_does_not_read_back_equal_commits_nothing(tmp_path: Path, pg_url: str,
                                                              monkeypatch) -> None:
    real = migrate.table_digest

    def lossy(reg: Registry, table: str) -> TableCopy:
        got = real(reg, table)
        if reg.dialect == "postgresql" and table == "bundles":
            return TableCopy(table, got.rows, "0" * 64)  # a blob that came back different
        return got

    monkeypatch.setattr(migrate, "table_digest", lossy)
    home, _ = populated(tmp_path / "home")
    before = registry_digests(home.registry)
    with home:
        with pytest.raises(CenterStateError, match="copy of table bundles does not match"):
            home.migrate(pg_url, now=NOW, by="ops")
        assert home.registry.dialect == "sqlite"
        assert registry_digests(home.registry) == before
    assert not (tmp_path / "home" / DB_URL_FILE).exists()
    with _connect(pg_url) as target:
        assert target.table_names() == []


class _connect:
    def __init__(self, url: str) -> None:
        self.reg = Registry.connect(url)

    def __enter__(self) -> Registry:
        return self.reg

    def __exit__(self, *exc: object) -> None:
        self.reg.close()


def test_a_home_on_postgresql_does_not_migrate_again(tmp_path: Path, pg_url: str) -> None:
    with make_home_on(tmp_path / "home", pg_url) as home:
        with pytest.raises(MigrationError, match="already uses postgresql://"):
            home.migrate(pg_url, now=NOW, by="ops")


def test_a_leftover_backup_stops_the_migration(tmp_path: Path, pg_url: str) -> None:
    home, _ = populated(tmp_path / "home")
    (tmp_path / "home" / MIGRATED_FILE).write_bytes(b"older backup")
    with home:
        with pytest.raises(MigrationError, match="in the way"):
            home.migrate(pg_url, now=NOW, by="ops")
        assert home.registry.dialect == "sqlite"
    with _connect(pg_url) as target:
        assert target.table_names() == []


def test_a_large_registry_migrates(tmp_path: Path, pg_url: str) -> None:
    home = make_home_on(tmp_path / "home", None)
    rows = "".join(f"{4929000000000000 + 7 * i},stolen\n" for i in range(30_000))
    home.import_csv(rows, now=NOW, by=OPERATOR)
    home.build(now=NOW, by=OPERATOR)
    before = registry_digests(home.registry)
    with home:
        assert home.migrate(pg_url, now=NOW, by="ops") == before
        assert home.count() == 30_000


def test_cli_migrate(run, tmp_path: Path, pg_url: str) -> None:
    assert run("init")[0] == 0
    assert run("revoke", "4929000012341234")[0] == 0
    assert run("build", "--out", str(tmp_path / "b1.hcb"))[0] == 0
    code, out, err = run("migrate", "--to", pg_url)
    assert code == 0, err
    lines = [json.loads(x) for x in out.splitlines()]
    assert [x["table"] for x in lines[:-1]] == ["meta", "hot", "audit", "bundles", "trust",
                                                "operators"]
    assert all(x["verified"] and len(x["sha256"]) == 64 for x in lines[:-1])
    assert lines[-1]["migrated"] and lines[-1]["to"] == pg_url
    assert lines[-1]["from"] == str(tmp_path / "home" / REGISTRY_FILE)
    code, out, _ = run("list")
    assert code == 0 and json.loads(out)["card"] == "4929000012341234"
    assert run("build", "--delta", "--out", str(tmp_path / "b2.hcb"))[0] == 0
    code, _, err = run("migrate", "--to", pg_url)
    assert code == 2 and "already uses" in err


def test_cli_migrate_to_something_else_is_refused(run, tmp_path: Path) -> None:
    assert run("init")[0] == 0
    code, _, err = run("migrate", "--to", str(tmp_path / "copy.sqlite"))
    assert code == 2 and "want a PostgreSQL URL" in err
    assert (tmp_path / "home" / REGISTRY_FILE).exists()
