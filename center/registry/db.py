"""The center registry: hot cards, an append-only audit log, the history of built bundles, the
trust the root gave, and the operators allowed to use the center's service.

One API over two databases (``center.registry.dialect``): a SQLite file in the home (WAL mode:
readers never block the writer; a crash leaves the last committed state), or PostgreSQL for a
center whose operators work from several machines. SQL is written once with ``?`` placeholders.
Invariants:

* Card IDs are u64 but both databases' integers are signed 64-bit, so a card is stored as
  ``id - 2**63`` (in two's complement that is ``id XOR 2**63`` read as int64). The map is
  monotonic, so ``ORDER BY card`` is unsigned ID order.
* ``audit`` is append-only: triggers raise on UPDATE and DELETE (and TRUNCATE). So are
  ``bundles`` and ``trust``: history is never rewritten. Every change to ``hot`` writes its
  audit rows in the same transaction.
* A list bundle is named by (epoch, seq): within an epoch list sequence numbers count up from 1
  with no gap, and every list names the digest of the one before it (``prev``: the hash chain).
  A master-key roll is named by the key id it announces.
* A list bundle (full or delta) keeps ``list_body``, the encoded full list as it stood at that
  seq, and ``touched``, the card ids it changed since the list before it, so a delta that takes
  any list from its base up to the current one can be built later.
* ``meta`` keeps ``hot_count``, the number of rows of ``hot``, moved by every change of ``hot``
  in the same transaction: a report never counts (reads) the whole list. ``audit`` is indexed by
  card and by time, so one card's history, or the rows since a time, are indexed reads too.
* ``trust`` keeps every root set and key set imported, as the root signed it: append-only.
* All writes go through ``transaction()``: one writer at a time over the whole registry
  (SQLite ``BEGIN IMMEDIATE``; PostgreSQL an exclusive lock on ``meta``), all or nothing. So the
  serial order of writers is the audit log's order, and a bundle build sees every change
  committed before it and none that commits after it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain, repeat
from pathlib import Path
from typing import Any

import numpy as np

from center.errors import CenterStateError, NonEmptyDatabaseError, NotListedError
from center.registry import schema as sch
from center.registry.dburl import redact
from center.registry.dialect import Dialect, Postgres, Sqlite, dialect_of
from center.registry.schema import HISTORY_COLUMNS, HOT_COUNT, SCHEMA_VERSION, UPGRADABLE_FROM
from framing import HotList, from_sql_key, from_sql_keys, to_sql_key, to_sql_keys

# Upserts of up to this many cards look up just those cards (in chunks of _LOOKUP_CHUNK, below
# SQLite's 32 766 bound variables); larger ones read the whole list once and compare in numpy.
_LOOKUP_MAX = 20_000
_LOOKUP_CHUNK = 500


def to_stored(ids: np.ndarray) -> list[int]:
    """uint64 card IDs (n,) -> Python ints for the database (``framing.to_sql_keys``)."""
    return to_sql_keys(ids).tolist()


@dataclass(frozen=True)
class UpsertCounts:
    """What an upsert did: cards newly listed, cards whose reason/expiry changed, no-ops."""

    added: int
    changed: int
    unchanged: int


class Registry:
    """One open registry database. ``open`` an existing one; a new one is ``connect(...,
    creating=True)`` then ``create_tables`` in a transaction; close with ``close()``.

    ``target`` is a ``Path`` (SQLite) or a ``postgresql://`` URL. ``execute``, ``query`` and
    ``transaction`` are the portable door for modules that keep their own rows here (SQL with
    ``?`` placeholders; ``column_types`` gives the dialect's ``pk``, ``big`` and ``blob`` types
    for their ``CREATE TABLE IF NOT EXISTS``)."""

    def __init__(self, conn: Any, target: Path | str, dialect: Dialect) -> None:
        self._conn = conn
        self._dialect = dialect
        self.target = target

    def __repr__(self) -> str:
        return f"Registry({self.dialect}, {self.where!r})"

    @property
    def dialect(self) -> str:
        """"sqlite" or "postgresql"."""
        return self._dialect.name

    @property
    def where(self) -> str:
        """The file path, or the URL with its password redacted: safe to print."""
        return redact(self.target) if isinstance(self.target, str) else str(self.target)

    @property
    def path(self) -> Path | None:
        """The SQLite file, or None for PostgreSQL."""
        return self.target if isinstance(self.target, Path) else None

    @property
    def integrity_errors(self) -> tuple[type[BaseException], ...]:
        """What the database raises when a statement breaks a rule (UNIQUE, CHECK, a trigger
        of the append-only tables): catch these around ``execute``."""
        return self._dialect.integrity_errors

    @property
    def column_types(self) -> dict[str, str]:
        return dict(sch.TYPES[self.dialect])

    @classmethod
    def connect(cls, target: Path | str, *, creating: bool = False) -> Registry:
        """A connection to ``target`` without any check of what it holds (``open``, ``init``
        and ``migrate`` build on it). A new SQLite file is made 0600 before SQLite opens it (its
        -wal and -shm files take its mode)."""
        dialect = dialect_of(target)
        if isinstance(dialect, Postgres):
            return cls(dialect.connect(str(target)), str(target), dialect)
        assert isinstance(dialect, Sqlite)
        path = Path(target)
        if creating:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        try:
            conn = dialect.connect(path, must_exist=not creating)
        except dialect.database_errors as exc:
            raise CenterStateError(f"registry {path} is unreadable: {exc}") from None
        return cls(conn, path, dialect)

    def create_tables(self, meta: dict[str, str]) -> None:
        """Make the tables in an empty target and write ``meta`` (call in a transaction)."""
        found = self._dialect.table_names(self._conn)
        if found:
            shown = ", ".join(found[:5]) + (", ..." if len(found) > 5 else "")
            raise NonEmptyDatabaseError(f"the database {self.where} is not empty (it holds "
                                        f"{len(found)} tables: {shown}); a new registry needs "
                                        "an empty database or schema")
        for statement in sch.schema(self.dialect):
            self._conn.execute(statement)
        rows = [("schema_version", str(SCHEMA_VERSION)), *{HOT_COUNT: "0", **meta}.items()]
        self.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", rows)

    def drop_tables(self) -> None:
        """Undo ``create_tables`` (only for an ``init`` that failed after making them)."""
        if self.dialect == "postgresql":
            with self.transaction(lock=False):
                for table in sch.TABLES:
                    self._conn.execute(f"DROP TABLE IF EXISTS {table}")
                for function in ("hotcast_append_only", "hotcast_revoke_only"):
                    self._conn.execute(f"DROP FUNCTION IF EXISTS {function}()")

    @classmethod
    def open(cls, target: Path | str) -> Registry:
        """Open an existing registry (never creates one); a version-2 registry is upgraded."""
        reg = cls.connect(target)
        try:
            reg._check_version()
        except BaseException:
            reg.close()
            raise
        return reg

    def _check_version(self) -> None:
        try:
            row = self.query_one("SELECT value FROM meta WHERE key='schema_version'")
            version = None if row is None else row[0]
        except self._dialect.database_errors as exc:
            version = f"unreadable ({str(exc).strip().splitlines()[0]})"
        if version in [str(v) for v in UPGRADABLE_FROM]:
            with self.transaction():
                # Read again under the lock: another process may have upgraded meanwhile.
                for step in range(int(self.meta("schema_version")), SCHEMA_VERSION):
                    for statement in sch.upgrade_from(step, self.dialect):
                        self._conn.execute(statement)
                self.execute("UPDATE meta SET value=? WHERE key='schema_version'",
                             (str(SCHEMA_VERSION),))
            version = str(SCHEMA_VERSION)
        if version != str(SCHEMA_VERSION):
            raise CenterStateError(f"registry {self.where} has schema {version}, want "
                                   f"{SCHEMA_VERSION}")

    def close(self) -> None:
        self._conn.close()

    def meta(self, key: str) -> str:
        row = self.query_one("SELECT value FROM meta WHERE key=?", (key,))
        if row is None:
            raise CenterStateError(f"registry {self.where} lacks meta {key!r}")
        return row[0]

    # -- the portable door ---------------------------------------------------------------

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement (``?`` placeholders); the number of rows it changed."""
        return self._x(sql, params).rowcount

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._dialect.executemany(self._conn, self._dialect.sql(sql), (tuple(r) for r in rows))

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        """Every row of one query (``?`` placeholders), as tuples."""
        return self._x(sql, params).fetchall()

    def query_one(self, sql: str, params: Sequence[Any] = ()) -> tuple | None:
        return self._x(sql, params).fetchone()

    def _x(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._conn.execute(self._dialect.sql(sql), tuple(params))

    def iter_rows(self, sql: str, params: Sequence[Any] = (), chunk: int = 5000) -> Iterator[tuple]:
        """Rows of one query, fetched ``chunk`` at a time (a million cards never sit in one
        list); exhaust or close the iterator."""
        return self._dialect.iter_rows(self._conn, self._dialect.sql(sql), tuple(params), chunk)

    def insert_rows(self, table: str, columns: Sequence[str], rows: Iterable[tuple]) -> None:
        """Bulk insert (PostgreSQL: COPY, a round trip per 5000 rows or so, not one per row)."""
        self._dialect.insert_rows(self._conn, table, columns, rows)

    def restart_identity(self, table: str) -> None:
        """After explicit ids were inserted into ``table``: new rows get higher ones."""
        self._dialect.restart_identity(self._conn, table)

    def table_names(self) -> list[str]:
        return self._dialect.table_names(self._conn)

    @contextmanager
    def transaction(self, *, lock: bool = True) -> Iterator[None]:
        """One write transaction: commit on success, roll back on error. ``lock``: take the
        registry's writer lock (always, except while the tables are being made)."""
        try:
            for statement in (self._dialect.begin_write if lock else
                              self._dialect.begin_write_unlocked):
                self._conn.execute(statement)
        except self._dialect.database_errors as exc:
            self._rollback()
            if self._dialect.is_lock_timeout(exc):
                raise CenterStateError(f"the registry {self.where} stayed locked by another "
                                       "writer past the wait limit; nothing changed") from None
            raise
        yield from self._finish()

    @contextmanager
    def reading(self) -> Iterator[None]:
        """One consistent snapshot for several reads (no writes inside)."""
        for statement in self._dialect.begin_read:
            self._conn.execute(statement)
        yield from self._finish()

    def _finish(self) -> Iterator[None]:
        committed = False
        try:
            yield
            self._conn.execute("COMMIT")
            committed = True
        finally:
            if not committed:
                self._rollback()

    def _rollback(self) -> None:
        try:
            self._conn.execute("ROLLBACK")
        except self._dialect.database_errors:
            pass  # no transaction open, or the connection is gone: so is the transaction

    # -- hot cards -----------------------------------------------------------------------

    def hot_list(self) -> HotList:
        """The whole hot list, sorted by ID (the table's key order)."""
        rows = self._x("SELECT card, reason, expiry FROM hot ORDER BY card").fetchall()
        # fromiter over the flattened rows: half the CPU of np.array(rows) on a million rows
        table = np.fromiter(chain.from_iterable(rows), dtype=np.int64,
                            count=3 * len(rows)).reshape(-1, 3)
        return HotList.decoded(from_sql_keys(table[:, 0]).copy(), table[:, 1].astype(np.uint8),
                               table[:, 2].astype(np.uint16))

    def iter_entries(self, after: int | None = None) -> Iterator[tuple[int, int, int, str, int]]:
        """(card ID, reason, listed_at, listed_by, expiry) in ID order, from the first card
        above ``after`` when given (an indexed seek: a page costs its own rows)."""
        where, params = ("", ()) if after is None else (" WHERE card > ?", (to_sql_key(after),))
        cur = self.iter_rows(
            f"SELECT card, reason, listed_at, listed_by, expiry FROM hot{where} ORDER BY card",
            params)
        for card, reason, listed_at, listed_by, expiry in cur:
            yield from_sql_key(card), reason, listed_at, listed_by, expiry

    def entry(self, card_id: int) -> tuple[int, int, int, str, int] | None:
        """(card ID, reason, listed_at, listed_by, expiry) of one listed card, or None."""
        row = self._x("SELECT card, reason, listed_at, listed_by, expiry FROM hot WHERE card=?",
                      (to_sql_key(card_id),)).fetchone()
        return None if row is None else (card_id, *row[1:])

    def reason_counts(self) -> dict[int, int]:
        """Listed cards by reason code (one grouped pass in the database)."""
        return {int(r): int(n) for r, n in
                self._x("SELECT reason, count(*) FROM hot GROUP BY reason").fetchall()}

    def count(self) -> int:
        """Cards on the list (kept in meta by every change: one indexed read, not a count)."""
        return int(self.meta(HOT_COUNT))

    def _count_by(self, change: int) -> None:
        """Move the kept count of listed cards by ``change`` (inside the change's transaction)."""
        if change:
            self._x("UPDATE meta SET value = CAST(CAST(value AS BIGINT) + ? AS TEXT) "
                    "WHERE key = ?", (change, HOT_COUNT))

    def reason_of(self, card_id: int) -> int | None:
        """The reason code of a listed card, or None when the card is not listed."""
        row = self._x(
            "SELECT reason FROM hot WHERE card=?", (to_sql_key(card_id),)
        ).fetchone()
        return None if row is None else row[0]

    def upsert(self, ids: np.ndarray, reasons: np.ndarray, expiry: np.ndarray | None,
               now: int, by: str, action: str, note: str) -> UpsertCounts:
        """List cards (ids unique, (n,) uint64); ``expiry`` None keeps a listed card's expiry.

        New cards are inserted, cards whose reason or expiry differ are updated (keeping their
        first listing time and operator), equal ones are left alone; each change is audited
        under ``action`` (new) or ``action + '-change'``. Call inside ``transaction()``.
        """
        listed, old_reason, old_expiry = self._lookup(ids)
        if expiry is None:
            expiry = np.where(listed, old_expiry, 0).astype(np.uint16)
        same = listed & (old_reason == reasons) & (old_expiry == expiry)
        add, change = ~listed, listed & ~same
        self.insert_rows(
            "hot", ("card", "reason", "listed_at", "listed_by", "expiry"),
            zip(to_stored(ids[add]), reasons[add].tolist(), repeat(now), repeat(by),
                expiry[add].tolist()),
        )
        self.executemany(
            "UPDATE hot SET reason=?, expiry=? WHERE card=?",
            zip(reasons[change].tolist(), expiry[change].tolist(), to_stored(ids[change])),
        )
        for mask, name in ((add, action), (change, action + "-change")):
            self.insert_rows(
                "audit", ("at", "by", "action", "card", "reason", "expiry", "note"),
                zip(repeat(now), repeat(by), repeat(name), to_stored(ids[mask]),
                    reasons[mask].tolist(), expiry[mask].tolist(), repeat(note)),
            )
        self._count_by(int(add.sum()))
        return UpsertCounts(int(add.sum()), int(change.sum()), int(same.sum()))

    def _lookup(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For sorted unique ``ids`` (n,) uint64: listed (n,) bool, and the reason (uint8) and
        expiry (uint16) of the listed ones (0 elsewhere)."""
        if len(ids) > _LOOKUP_MAX:
            current = self.hot_list()
        else:
            stored = to_stored(ids)
            rows: list[tuple] = []
            for start in range(0, len(stored), _LOOKUP_CHUNK):
                chunk = stored[start:start + _LOOKUP_CHUNK]
                rows += self.query("SELECT card, reason, expiry FROM hot WHERE card IN "
                                   f"({', '.join('?' * len(chunk))})", chunk)
            table = np.array(sorted(rows), dtype=np.int64).reshape(-1, 3)
            current = HotList.decoded(from_sql_keys(table[:, 0]).copy(),
                                      table[:, 1].astype(np.uint8), table[:, 2].astype(np.uint16))
        n = len(current.ids)
        if not n:
            return (np.zeros(len(ids), dtype=bool), np.zeros(len(ids), dtype=np.uint8),
                    np.zeros(len(ids), dtype=np.uint16))
        pos = np.minimum(np.searchsorted(current.ids, ids), n - 1)
        listed = current.ids[pos] == ids
        return (listed, np.where(listed, current.reasons[pos], 0).astype(np.uint8),
                np.where(listed, current.expiry[pos], 0).astype(np.uint16))

    def remove(self, ids: np.ndarray, now: int, by: str, note: str) -> None:
        """Delete listed cards (all must be listed, else ``NotListedError`` naming the first)."""
        stored = to_stored(ids)
        listed, _, _ = self._lookup(ids)
        if not listed.all():
            raise NotListedError(f"card {int(ids[~listed][0])} is not on the hot list")
        self.executemany("DELETE FROM hot WHERE card=?", ((c,) for c in stored))
        self.insert_rows("audit", ("at", "by", "action", "card", "note"),
                         ((now, by, "reinstate", c, note) for c in stored))
        self._count_by(-len(stored))

    # -- audit ---------------------------------------------------------------------------

    def audit(self, now: int, by: str, action: str, note: str = "") -> None:
        """Append one audit row that names no card (init, build, provision, rotations...)."""
        self._x(
            "INSERT INTO audit (at, by, action, note) VALUES (?, ?, ?, ?)", (now, by, action, note)
        )

    def iter_audit(self, card: int | None = None, since: int | None = None,
                   action: str | None = None) -> Iterator[tuple]:
        """(id, at, by, action, card ID or None, reason, expiry, note) in log order, only the
        rows about ``card``, at or after ``since``, of ``action`` where given."""
        clause, params = _audit_filter(card, since, action, None)
        cur = self._x(
            f"SELECT id, at, by, action, card, reason, expiry, note FROM audit{clause} ORDER BY id",
            params)
        for row in cur:
            yield _audit_row(row)

    def changes_by_day(self, since: int, day_s: int) -> list[tuple[int, str, int]]:
        """(day number ``at // day_s``, action, rows) of the audit rows about cards at or after
        ``since`` (grouped in the database, through the log's time index)."""
        return [(int(d), a, int(n)) for d, a, n in self._x(
            "SELECT at / ?, action, count(*) FROM audit WHERE at >= ? AND card IS NOT NULL "
            "GROUP BY 1, 2", (day_s, since)).fetchall()]  # by position: one expression

    def newest_audit(self, limit: int, card: int | None = None, since: int | None = None,
                     action: str | None = None, before: int | None = None) -> list[tuple]:
        """Up to ``limit`` rows as ``iter_audit`` gives them, newest first, below row id
        ``before`` when given: read backwards from the end of the log (by card: its index),
        so a page costs its own rows, not the log before it."""
        clause, params = _audit_filter(card, since, action, before)
        rows = self._x(f"SELECT id, at, by, action, card, reason, expiry, note FROM audit"
                       f"{clause} ORDER BY id DESC LIMIT ?", (*params, limit)).fetchall()
        return [_audit_row(r) for r in rows]

    # -- bundles -------------------------------------------------------------------------

    def record_bundle(self, row: dict) -> None:
        """Insert one history row; keys are the ``bundles`` columns (call in a transaction)."""
        cols = ", ".join(row)
        marks = ", ".join("?" * len(row))
        self._x(f"INSERT INTO bundles ({cols}) VALUES ({marks})", tuple(row.values()))

    def iter_history(self) -> Iterator[dict]:
        cur = self._x(f"SELECT {HISTORY_COLUMNS} FROM bundles ORDER BY id")
        for row in cur:
            yield dict(zip(_HISTORY_NAMES, row))

    def bundle(self, kind: str, epoch: int, seq: int) -> dict | None:
        """History row of one bundle plus ``sealed``, ``list_body`` and ``touched``, or None."""
        cur = self._x(
            f"SELECT {HISTORY_COLUMNS}, sealed, list_body, touched FROM bundles "
            "WHERE kind=? AND epoch=? AND seq=?", (kind, epoch, seq))
        row = cur.fetchone()
        return None if row is None else dict(zip(_FULL_NAMES, row))

    def list_bundle(self, epoch: int, seq: int) -> dict | None:
        """The list bundle (full or delta) at (epoch, seq), with its blobs, or None."""
        cur = self._x(
            f"SELECT {HISTORY_COLUMNS}, sealed, list_body, touched FROM bundles "
            "WHERE kind IN ('full', 'delta') AND epoch=? AND seq=?", (epoch, seq))
        row = cur.fetchone()
        return None if row is None else dict(zip(_FULL_NAMES, row))

    def latest_list(self, epoch: int | None = None, kind: str | None = None) -> dict | None:
        """The newest list bundle (of ``epoch`` and ``kind`` when given), history row only."""
        where, params = ["kind IN ('full', 'delta')"], []
        if epoch is not None:
            where.append("epoch = ?")
            params.append(epoch)
        if kind is not None:
            where.append("kind = ?")
            params.append(kind)
        cur = self._x(
            f"SELECT {HISTORY_COLUMNS} FROM bundles WHERE {' AND '.join(where)} "
            "ORDER BY epoch DESC, seq DESC LIMIT 1", params)
        row = cur.fetchone()
        return None if row is None else dict(zip(_HISTORY_NAMES, row))

    def touched_after(self, epoch: int, base: int, upto: int) -> list[bytes]:
        """The ``touched`` blobs of the list bundles in (base, upto] of ``epoch``."""
        cur = self._x(
            "SELECT touched FROM bundles WHERE kind IN ('full', 'delta') AND epoch=? AND seq>? "
            "AND seq<=? ORDER BY seq", (epoch, base, upto))
        return [r[0] for r in cur if r[0] is not None]

    def rolls(self, lowest_key_id: int) -> list[dict]:
        """Master-key roll rows announcing key ids from ``lowest_key_id`` up, oldest first."""
        cur = self._x(
            f"SELECT {HISTORY_COLUMNS}, sealed, list_body, touched FROM bundles "
            "WHERE kind='master_roll' AND announces_key>=? ORDER BY announces_key",
            (lowest_key_id,))
        return [dict(zip(_FULL_NAMES, r)) for r in cur]

    def last_change_id(self) -> int:
        """A number that grows with every bundle or trust record (one indexed read): a live
        broadcast polls it to learn that something was built or imported."""
        row = self._x(
            "SELECT (SELECT coalesce(max(id), 0) FROM bundles), "
            "(SELECT coalesce(max(id), 0) FROM trust)").fetchone()
        return int(row[0]) * 2**32 + int(row[1])

    # -- trust (root sets and key sets) ----------------------------------------------------

    def record_trust(self, kind: str, version: int, data: bytes, now: int, by: str) -> None:
        self._x("INSERT INTO trust (kind, version, data, imported_at, imported_by) "
                           "VALUES (?, ?, ?, ?, ?)", (kind, version, data, now, by))

    def trust(self, kind: str) -> list[tuple[int, bytes]]:
        """(version, signed bytes) of every root set or key set imported, oldest first."""
        cur = self._x("SELECT version, data FROM trust WHERE kind=? ORDER BY version",
                                 (kind,))
        return [(int(v), bytes(d)) for v, d in cur]


def _audit_filter(card: int | None, since: int | None, action: str | None,
                  before: int | None) -> tuple[str, list]:
    """The WHERE clause (or "") and its parameters for the audit readers."""
    where, params = [], []
    for column, test, value in (("card", "=", None if card is None else to_sql_key(card)),
                                ("at", ">=", since), ("action", "=", action),
                                ("id", "<", before)):
        if value is not None:
            where.append(f"{column} {test} ?")
            params.append(value)
    return (f" WHERE {' AND '.join(where)}" if where else ""), params


def _audit_row(row: tuple) -> tuple:
    card_id = None if row[4] is None else from_sql_key(row[4])
    return (*row[:4], card_id, *row[5:])


_HISTORY_NAMES = [c.strip() for c in HISTORY_COLUMNS.split(",")]
_FULL_NAMES = _HISTORY_NAMES + ["sealed", "list_body", "touched"]

