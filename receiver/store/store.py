"""The terminal store: the hot list, its state, the terminal keys and the sales history,
in one SQLite database (WAL) under the terminal home.

Invariants:
- Every change is one SQLite transaction, begun only after every check has passed
  (``receiver.store.apply`` does the checks, sans I/O). A process killed at any instant leaves
  the store at the old state or the new one, never between: a transaction's pages are
  appended to the WAL and count only once its last frame, marked as a commit and
  checksummed over the chain, is there; recovery ignores frames after the last commit.
- ``state.seq`` only grows; ``state.entries`` always equals the number of rows of ``hot``.
- Card IDs are unsigned 64-bit, SQLite keys signed: IDs are stored as
  ``framing.to_sql_key(id)`` (order preserving; see ``framing.cardid``).
- Database, WAL and shared-memory files are created 0600 (SQLite gives its side files the
  mode of the database file), the home folder 0700.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import numpy as np

from crypto import BundleKind, TerminalKeys
from framing import HotList, ListDelta, Reason, Universe

from receiver.store.apply import Change, FullChange, KeyChange, NoChange, plan_bundle
from receiver.errors import StoreError
from framing import from_sql_key, from_sql_keys, to_sql_key, to_sql_keys
from receiver.store.schema import APPLICATION_ID, SCHEMA, SCHEMA_VERSION, connect
from receiver.store.state import ApplyResult, HotLookup, ListState

STORE_FILE_NAME = "terminal.sqlite"


class TerminalStore:
    """Handle on one terminal store. Not shared between threads; open one per process."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path

    # -- opening ----------------------------------------------------------------------
    @classmethod
    def create(cls, home: str | os.PathLike, keys: TerminalKeys) -> TerminalStore:
        """Make a new store holding ``keys`` in ``home`` (created 0700). StoreError if one
        exists or the home cannot be written.

        Atomic: the store is built under a temporary name and linked into place only when
        complete, so a crash during init leaves no half-made store behind.
        """
        home = Path(home)
        path = home / STORE_FILE_NAME
        tmp = home / f".{STORE_FILE_NAME}.{os.getpid()}.tmp"
        try:
            home.mkdir(mode=0o700, parents=True, exist_ok=True)
            if path.exists():
                raise FileExistsError
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
            os.chmod(tmp, 0o600)  # whatever the umask
            conn = connect(tmp)
            conn.executescript(
                f"PRAGMA application_id={APPLICATION_ID}; PRAGMA user_version={SCHEMA_VERSION};"
                f"BEGIN IMMEDIATE; {SCHEMA} COMMIT;"
            )
            conn.execute("INSERT INTO keys VALUES (1, ?)", (keys.to_bytes(),))
            conn.close()  # last connection: SQLite checkpoints and removes the -wal file
            os.link(tmp, path)  # fails if a store appeared meanwhile
        except FileExistsError:
            raise StoreError(f"a terminal store already exists at {path}") from None
        except OSError as exc:
            raise StoreError(f"cannot create a terminal store in {home}: {exc}") from None
        finally:
            for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
                leftover.unlink(missing_ok=True)
        return cls.open(home)

    @classmethod
    def open(cls, home: str | os.PathLike) -> TerminalStore:
        """Open the store in ``home``. StoreError if there is none or it is not ours."""
        path = Path(home) / STORE_FILE_NAME
        if not path.is_file():
            raise StoreError(f"no terminal store at {path} (run `hotcast terminal init`)")
        # Identify the file before any PRAGMA that could write to it (journal_mode=WAL would).
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            (app_id,) = conn.execute("PRAGMA application_id").fetchone()
            (version,) = conn.execute("PRAGMA user_version").fetchone()
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise StoreError(f"{path} is not a hotcast terminal store ({exc})") from None
        conn.close()
        if app_id != APPLICATION_ID or version != SCHEMA_VERSION:
            raise StoreError(f"{path} is not a hotcast terminal store "
                             f"(application_id {app_id:#x}, schema {version})")
        return cls(connect(path), path)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> TerminalStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"TerminalStore(path={str(self.path)!r})"

    # -- reading ----------------------------------------------------------------------
    def state(self) -> ListState:
        row = self._conn.execute(
            "SELECT seq, kind, base_seq, created_at, applied_at, valid_until, entries,"
            " universe, key_roll_seq FROM state"
        ).fetchone()
        seq, kind, base, created, applied, valid, entries, universe, key_seq = row
        return ListState(
            seq=seq, kind=BundleKind(kind) if seq else None, base_seq=base,
            created_at=created, applied_at=applied, valid_until=valid, entries=entries,
            universe=Universe.parse(universe) if universe else None, key_roll_seq=key_seq,
        )

    def keys(self) -> TerminalKeys:
        (blob,) = self._conn.execute("SELECT blob FROM keys").fetchone()
        return TerminalKeys.from_bytes(blob)

    def lookup(self, card_id: int) -> HotLookup:
        """The hot path: one prepared statement (cached by sqlite3), one B-tree probe.

        List entry and list state are read in one statement, so from one snapshot even
        while another process applies a bundle.
        """
        if not 0 <= card_id < 1 << 64:
            raise ValueError(f"card_id {card_id} is not an unsigned 64-bit integer")
        reason, seq, valid_until = self._conn.execute(
            "SELECT (SELECT reason FROM hot WHERE id = ?), seq, valid_until FROM state",
            (to_sql_key(card_id),),
        ).fetchone()
        return HotLookup(None if reason is None else Reason(reason), seq, valid_until)

    def hot_list(self) -> HotList:
        """The whole list as a HotList (for tests, dumps and diffs; O(entries) memory)."""
        rows = self._conn.execute("SELECT id, reason, expiry FROM hot ORDER BY id").fetchall()
        arr = np.array(rows, dtype=np.int64).reshape(-1, 3)
        return HotList(
            ids=from_sql_keys(arr[:, 0]), reasons=arr[:, 1].astype(np.uint8),
            expiry=arr[:, 2].astype(np.uint16),
        )

    def status(self, now: int) -> dict:
        """What ``terminal status`` shows: the list held, its freshness, the key ids, sales."""
        state = self.state()
        sales, sales_total_minor = self.sales_summary()
        return {
            "list_seq": state.seq,
            "kind": state.kind.name.lower() if state.kind else None,
            "entries": state.entries,
            "created_at": state.created_at or None,
            "applied_at": state.applied_at or None,
            "valid_until": state.valid_until or None,
            "stale": state.is_stale(now),
            "universe": str(state.universe) if state.universe else None,
            "key_roll_seq": state.key_roll_seq,
            **self.keys().key_ids(),
            "sales": sales,
            "sales_total_minor": sales_total_minor,
        }

    def sales(self) -> list[dict]:
        """Sales history, oldest first: dicts with at, card, amount_minor, list_seq, stale."""
        rows = self._conn.execute(
            "SELECT at, card, amount_minor, list_seq, stale FROM sales ORDER BY n"
        ).fetchall()
        return [
            {"at": at, "card": from_sql_key(card), "amount_minor": amount,
             "list_seq": seq, "stale": bool(stale)}
            for at, card, amount, seq, stale in rows
        ]

    def sales_total_minor(self) -> int:
        return self.sales_summary()[1]

    def sales_summary(self) -> tuple[int, int]:
        """(number of sales, total in minor units), without loading the history."""
        count, total = self._conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(amount_minor), 0) FROM sales").fetchone()
        return count, total

    # -- writing (each call one transaction) -------------------------------------------
    def transaction(self) -> _Transaction:
        """``with store.transaction() as cur:`` BEGIN IMMEDIATE ... COMMIT, ROLLBACK on error."""
        return _Transaction(self._conn)

    def record_sale(self, at: int, card_id: int, amount_minor: int, list_seq: int,
                    stale: bool) -> None:
        """Append one sale (amount in minor currency units) to the sales history."""
        if amount_minor <= 0:
            raise ValueError(f"amount_minor must be positive, got {amount_minor}")
        self._conn.execute("PRAGMA synchronous=FULL")
        try:
            with self.transaction() as cur:
                cur.execute(
                    "INSERT INTO sales (at, card, amount_minor, list_seq, stale)"
                    " VALUES (?,?,?,?,?)",
                    (at, to_sql_key(card_id), amount_minor, list_seq, int(stale)),
                )
        finally:
            self._conn.execute("PRAGMA synchronous=NORMAL")

    def apply_bundle(self, data: bytes, now: int) -> ApplyResult:
        """Verify ``data`` against this store and merge it in one transaction.

        Returns an ``ApplyResult``; raises ``crypto.BundleError`` (forged, malformed,
        unknown key) or a ``receiver.errors.BundleRefusedError`` with the store unchanged.

        Verification runs outside the write lock (it takes ~0.5 s for a 1 M list and must
        not hold up sales); the transaction then re-reads state and keys and, if another
        process changed them meanwhile, plans again against the new state. So a check is
        never made against one state and committed over another (no rollback by race).
        """
        while True:
            state, keys = self.state(), self.keys()
            change = plan_bundle(data, now, state, keys)
            header = change.header
            if isinstance(change, NoChange):
                return ApplyResult(header.seq, header.kind, False, state.entries)
            with self.transaction() as cur:
                if self.state() != state or self.keys().to_bytes() != keys.to_bytes():
                    continue  # nothing written: COMMIT of an empty transaction, then re-plan
                entries = _write_change(cur, change, now)
            return ApplyResult(header.seq, header.kind, True, entries)


    def apply_bundles(self, bundles: list[bytes], now: int) -> list[ApplyResult]:
        """Verify and merge several bundles in order, all or nothing, in ONE transaction.

        Each bundle is checked against the state the ones before it left (a delta after its
        full bundle). If any is refused, its error is raised with ``.bundle_index`` set to
        its position and nothing at all is written. Verification runs under the write lock
        here (the command line's ``terminal apply``; the receiver uses ``apply_bundle``).
        """
        results: list[ApplyResult] = []
        with self.transaction() as cur:
            for index, data in enumerate(bundles):
                state, keys = self.state(), self.keys()  # this transaction's view
                try:
                    change = plan_bundle(data, now, state, keys)
                except Exception as exc:
                    exc.bundle_index = index
                    raise
                header = change.header
                if isinstance(change, NoChange):
                    results.append(ApplyResult(header.seq, header.kind, False, state.entries))
                    continue
                entries = _write_change(cur, change, now)
                results.append(ApplyResult(header.seq, header.kind, True, entries))
        return results


def _write_change(cur: sqlite3.Cursor, change: Change, now: int) -> int:
    """Make ``change`` inside the caller's transaction; returns the list's entry count."""
    header = change.header
    if isinstance(change, KeyChange):
        cur.execute("UPDATE keys SET blob = ?", (change.keys.to_bytes(),))
        cur.execute("UPDATE state SET key_roll_seq = MAX(key_roll_seq, ?)", (header.seq,))
        return cur.execute("SELECT entries FROM state").fetchone()[0]
    if isinstance(change, FullChange):
        entries = _replace_list(cur, change.hot)
    else:
        entries = _patch_list(cur, change.delta)
    cur.execute(
        "UPDATE state SET seq=?, kind=?, base_seq=?, created_at=?, applied_at=?,"
        " valid_until=?, entries=?, universe=?",
        (header.seq, int(header.kind), header.base_seq, header.created_at, now,
         header.valid_until, entries, str(change.universe)),
    )
    return entries

def _rows(hot: HotList):
    """(key, reason, expiry) tuples for executemany, from the numpy columns."""
    return zip(to_sql_keys(hot.ids).tolist(), hot.reasons.tolist(), hot.expiry.tolist())


def _replace_list(cur: sqlite3.Cursor, hot: HotList) -> int:
    """Replace every row of ``hot``; returns the new entry count."""
    # No WHERE clause: SQLite's truncate optimisation clears the B-tree without a row walk.
    cur.execute("DELETE FROM hot")
    cur.executemany("INSERT INTO hot (id, reason, expiry) VALUES (?, ?, ?)", _rows(hot))
    return len(hot)


def _patch_list(cur: sqlite3.Cursor, delta: ListDelta) -> int:
    """Apply a delta row by row; returns the new entry count, counted exactly.

    entries' = entries - (removed rows that existed) - (changed rows) + len(added):
    changed entries are deleted then re-inserted, so rowcounts stay exact.
    """
    (entries,) = cur.execute("SELECT entries FROM state").fetchone()
    cur.executemany("DELETE FROM hot WHERE id = ?", ((k,) for k in to_sql_keys(delta.removed).tolist()))
    entries -= max(cur.rowcount, 0)
    cur.executemany(
        "DELETE FROM hot WHERE id = ?", ((k,) for k in to_sql_keys(delta.added.ids).tolist())
    )
    entries -= max(cur.rowcount, 0)
    cur.executemany("INSERT INTO hot (id, reason, expiry) VALUES (?, ?, ?)", _rows(delta.added))
    return entries + len(delta.added)


class _Transaction:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __enter__(self) -> sqlite3.Cursor:
        self._conn.execute("BEGIN IMMEDIATE")
        return self._conn.cursor()

    def __exit__(self, exc_type, exc, tb) -> None:
        self._conn.execute("ROLLBACK" if exc_type else "COMMIT")
