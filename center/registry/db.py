"""The center registry: hot cards, an append-only audit log and the history of built bundles.

Storage is one SQLite database in WAL mode (readers never block the writer; a crash leaves the
last committed state). Invariants:

* Card IDs are u64 but SQLite INTEGER is signed 64-bit, so a card is stored as ``id - 2**63``
  (in two's complement that is ``id XOR 2**63`` read as int64). The map is monotonic, so
  ``ORDER BY card`` is unsigned ID order and the rowid b-tree keeps the list sorted for free.
* ``audit`` is append-only: triggers RAISE on UPDATE and DELETE. So is ``bundles``: history is
  never rewritten. Every change to ``hot`` writes its audit rows in the same transaction.
* A list bundle is named by (epoch, seq): within an epoch list sequence numbers count up from 1
  with no gap, and every list names the digest of the one before it (``prev``: the hash chain).
  A master-key roll is named by the key id it announces.
* A list bundle (full or delta) keeps ``list_body``, the encoded full list as it stood at that
  seq, and ``touched``, the card ids it changed since the list before it, so a delta that takes
  any list from its base up to the current one can be built later.
* ``trust`` keeps every root set and key set imported, as the root signed it: append-only.
* All writes go through ``transaction()`` (``BEGIN IMMEDIATE``): one writer at a time, all or
  nothing.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import repeat
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import numpy as np

from center.errors import CenterStateError, NotListedError
from framing import HotList, from_sql_key, from_sql_keys, to_sql_key, to_sql_keys
from center.registry.schema import HISTORY_COLUMNS, SCHEMA, SCHEMA_VERSION


def to_stored(ids: np.ndarray) -> list[int]:
    """uint64 card IDs (n,) -> Python ints for SQLite (``framing.to_sql_keys``)."""
    return to_sql_keys(ids).tolist()


@dataclass(frozen=True)
class UpsertCounts:
    """What an upsert did: cards newly listed, cards whose reason/expiry changed, no-ops."""

    added: int
    changed: int
    unchanged: int


class Registry:
    """One open registry database. Use ``create`` or ``open``; close with ``close()``."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path

    def __repr__(self) -> str:
        return f"Registry(path={str(self.path)!r})"

    @classmethod
    def create(cls, path: Path, meta: dict[str, str]) -> Registry:
        """Create a new database at ``path`` (must not exist) with ``meta`` key/values; the
        file is made 0600 before SQLite opens it (its -wal and -shm files take its mode)."""
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        conn = _connect(path)
        with conn:
            conn.executescript(SCHEMA)
            rows = [("schema_version", str(SCHEMA_VERSION)), *meta.items()]
            conn.executemany("INSERT INTO meta VALUES (?, ?)", rows)
        return cls(conn, path)

    @classmethod
    def open(cls, path: Path) -> Registry:
        """Open an existing database (never creates one)."""
        try:
            conn = _connect(path, must_exist=True)
        except sqlite3.DatabaseError as exc:
            raise CenterStateError(f"registry {path} is unreadable: {exc}") from None
        try:
            version = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        except sqlite3.DatabaseError as exc:
            version = f"unreadable ({exc})"
        if version is None or version[0] != str(SCHEMA_VERSION):
            conn.close()
            raise CenterStateError(f"registry {path} has schema {version}, want {SCHEMA_VERSION}")
        return cls(conn, path)

    def close(self) -> None:
        self._conn.close()

    def meta(self, key: str) -> str:
        row = self._conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        if row is None:
            raise CenterStateError(f"registry {self.path} lacks meta {key!r}")
        return row[0]

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction (BEGIN IMMEDIATE): commit on success, roll back on error."""
        self._conn.execute("BEGIN IMMEDIATE")
        committed = False
        try:
            yield
            self._conn.execute("COMMIT")
            committed = True
        finally:
            if not committed:
                self._conn.execute("ROLLBACK")

    # -- hot cards -----------------------------------------------------------------------

    def hot_list(self) -> HotList:
        """The whole hot list, sorted by ID (the table's key order)."""
        rows = self._conn.execute("SELECT card, reason, expiry FROM hot ORDER BY card").fetchall()
        table = np.array(rows, dtype=np.int64).reshape(-1, 3)
        return HotList.decoded(from_sql_keys(table[:, 0]).copy(), table[:, 1].astype(np.uint8),
                               table[:, 2].astype(np.uint16))

    def iter_entries(self) -> Iterator[tuple[int, int, int, str, int]]:
        """(card ID, reason, listed_at, listed_by, expiry) in ID order."""
        cur = self._conn.execute(
            "SELECT card, reason, listed_at, listed_by, expiry FROM hot ORDER BY card"
        )
        for card, reason, listed_at, listed_by, expiry in cur:
            yield from_sql_key(card), reason, listed_at, listed_by, expiry

    def count(self) -> int:
        return self._conn.execute("SELECT count(*) FROM hot").fetchone()[0]

    def reason_of(self, card_id: int) -> int | None:
        """The reason code of a listed card, or None when the card is not listed."""
        row = self._conn.execute(
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
        current = self.hot_list()
        n = len(current.ids)
        if n:
            pos = np.minimum(np.searchsorted(current.ids, ids), n - 1)
            listed = current.ids[pos] == ids
            old_reason, old_expiry = current.reasons[pos], current.expiry[pos]
        else:
            listed = np.zeros(len(ids), dtype=bool)
            old_reason = np.zeros(len(ids), dtype=np.uint8)
            old_expiry = np.zeros(len(ids), dtype=np.uint16)
        if expiry is None:
            expiry = np.where(listed, old_expiry, 0).astype(np.uint16)
        same = listed & (old_reason == reasons) & (old_expiry == expiry)
        add, change = ~listed, listed & ~same
        self._conn.executemany(
            "INSERT INTO hot (card, reason, listed_at, listed_by, expiry) VALUES (?, ?, ?, ?, ?)",
            zip(to_stored(ids[add]), reasons[add].tolist(), repeat(now), repeat(by),
                expiry[add].tolist()),
        )
        self._conn.executemany(
            "UPDATE hot SET reason=?, expiry=? WHERE card=?",
            zip(reasons[change].tolist(), expiry[change].tolist(), to_stored(ids[change])),
        )
        for mask, name in ((add, action), (change, action + "-change")):
            self._conn.executemany(
                "INSERT INTO audit (at, by, action, card, reason, expiry, note) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                zip(repeat(now), repeat(by), repeat(name), to_stored(ids[mask]),
                    reasons[mask].tolist(), expiry[mask].tolist(), repeat(note)),
            )
        return UpsertCounts(int(add.sum()), int(change.sum()), int(same.sum()))

    def remove(self, ids: np.ndarray, now: int, by: str, note: str) -> None:
        """Delete listed cards (all must be listed, else ``NotListedError`` naming the first)."""
        stored = to_stored(ids)
        for card, value in zip(stored, ids.tolist()):
            if self._conn.execute("SELECT 1 FROM hot WHERE card=?", (card,)).fetchone() is None:
                raise NotListedError(f"card {value} is not on the hot list")
        self._conn.executemany("DELETE FROM hot WHERE card=?", ((c,) for c in stored))
        self._conn.executemany(
            "INSERT INTO audit (at, by, action, card, note) VALUES (?, ?, 'reinstate', ?, ?)",
            ((now, by, c, note) for c in stored),
        )

    # -- audit ---------------------------------------------------------------------------

    def audit(self, now: int, by: str, action: str, note: str = "") -> None:
        """Append one audit row that names no card (init, build, provision, rotations...)."""
        self._conn.execute(
            "INSERT INTO audit (at, by, action, note) VALUES (?, ?, ?, ?)", (now, by, action, note)
        )

    def iter_audit(self, card: int | None = None, since: int | None = None,
                   action: str | None = None) -> Iterator[tuple]:
        """(id, at, by, action, card ID or None, reason, expiry, note) in log order, only the
        rows about ``card``, at or after ``since``, of ``action`` where given."""
        where, params = [], []
        if card is not None:
            where.append("card = ?")
            params.append(to_sql_key(card))
        if since is not None:
            where.append("at >= ?")
            params.append(since)
        if action is not None:
            where.append("action = ?")
            params.append(action)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        cur = self._conn.execute(
            f"SELECT id, at, by, action, card, reason, expiry, note FROM audit{clause} ORDER BY id",
            params)
        for row in cur:
            card_id = None if row[4] is None else from_sql_key(row[4])
            yield (*row[:4], card_id, *row[5:])

    # -- bundles -------------------------------------------------------------------------

    def record_bundle(self, row: dict) -> None:
        """Insert one history row; keys are the ``bundles`` columns (call in a transaction)."""
        cols = ", ".join(row)
        marks = ", ".join("?" * len(row))
        self._conn.execute(f"INSERT INTO bundles ({cols}) VALUES ({marks})", tuple(row.values()))

    def iter_history(self) -> Iterator[dict]:
        cur = self._conn.execute(f"SELECT {HISTORY_COLUMNS} FROM bundles ORDER BY id")
        for row in cur:
            yield dict(zip(_HISTORY_NAMES, row))

    def bundle(self, kind: str, epoch: int, seq: int) -> dict | None:
        """History row of one bundle plus ``sealed``, ``list_body`` and ``touched``, or None."""
        cur = self._conn.execute(
            f"SELECT {HISTORY_COLUMNS}, sealed, list_body, touched FROM bundles "
            "WHERE kind=? AND epoch=? AND seq=?", (kind, epoch, seq))
        row = cur.fetchone()
        return None if row is None else dict(zip(_FULL_NAMES, row))

    def list_bundle(self, epoch: int, seq: int) -> dict | None:
        """The list bundle (full or delta) at (epoch, seq), with its blobs, or None."""
        cur = self._conn.execute(
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
        cur = self._conn.execute(
            f"SELECT {HISTORY_COLUMNS} FROM bundles WHERE {' AND '.join(where)} "
            "ORDER BY epoch DESC, seq DESC LIMIT 1", params)
        row = cur.fetchone()
        return None if row is None else dict(zip(_HISTORY_NAMES, row))

    def touched_after(self, epoch: int, base: int, upto: int) -> list[bytes]:
        """The ``touched`` blobs of the list bundles in (base, upto] of ``epoch``."""
        cur = self._conn.execute(
            "SELECT touched FROM bundles WHERE kind IN ('full', 'delta') AND epoch=? AND seq>? "
            "AND seq<=? ORDER BY seq", (epoch, base, upto))
        return [r[0] for r in cur if r[0] is not None]

    def rolls(self, lowest_key_id: int) -> list[dict]:
        """Master-key roll rows announcing key ids from ``lowest_key_id`` up, oldest first."""
        cur = self._conn.execute(
            f"SELECT {HISTORY_COLUMNS}, sealed, list_body, touched FROM bundles "
            "WHERE kind='master_roll' AND announces_key>=? ORDER BY announces_key",
            (lowest_key_id,))
        return [dict(zip(_FULL_NAMES, r)) for r in cur]

    def last_change_id(self) -> int:
        """A number that grows with every bundle or trust record (one indexed read): a live
        broadcast polls it to learn that something was built or imported."""
        row = self._conn.execute(
            "SELECT (SELECT coalesce(max(id), 0) FROM bundles), "
            "(SELECT coalesce(max(id), 0) FROM trust)").fetchone()
        return int(row[0]) * 2**32 + int(row[1])

    # -- trust (root sets and key sets) ----------------------------------------------------

    def record_trust(self, kind: str, version: int, data: bytes, now: int, by: str) -> None:
        self._conn.execute("INSERT INTO trust (kind, version, data, imported_at, imported_by) "
                           "VALUES (?, ?, ?, ?, ?)", (kind, version, data, now, by))

    def trust(self, kind: str) -> list[tuple[int, bytes]]:
        """(version, signed bytes) of every root set or key set imported, oldest first."""
        cur = self._conn.execute("SELECT version, data FROM trust WHERE kind=? ORDER BY version",
                                 (kind,))
        return [(int(v), bytes(d)) for v, d in cur]


_HISTORY_NAMES = [c.strip() for c in HISTORY_COLUMNS.split(",")]
_FULL_NAMES = _HISTORY_NAMES + ["sealed", "list_body", "touched"]


def _connect(path: Path, must_exist: bool = False) -> sqlite3.Connection:
    # isolation_level=None: we issue BEGIN/COMMIT ourselves (transaction()).
    # mode=rw makes a missing file an error instead of a new empty database.
    target = f"file:{quote(str(Path(path).resolve()))}?mode={'rw' if must_exist else 'rwc'}"
    conn = sqlite3.connect(target, uri=True, isolation_level=None, timeout=30.0)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
    except sqlite3.DatabaseError:
        conn.close()
        raise
    conn.execute("PRAGMA synchronous=FULL")  # a built bundle is on disk before it is announced
    return conn
