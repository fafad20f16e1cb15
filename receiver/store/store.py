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
import time
from pathlib import Path

import numpy as np

from crypto import KeySet, TerminalKeys, read_unverified_keyset
from framing import HotList, ListDelta, Reason, Universe
from framing import from_sql_key, from_sql_keys, to_sql_key, to_sql_keys
from receiver.errors import StoreError
from receiver.store.schema import APPLICATION_ID, SCHEMA, SCHEMA_VERSION, connect
from receiver.store.state import (
    DEFAULT_CAPACITY,
    DEFAULT_HEARTBEAT_MAX_AGE_S,
    ApplyResult,
    HotLookup,
    ListState,
)
from receiver.store.trust import (
    Change,
    DeltaChange,
    FullChange,
    HeartbeatChange,
    KeysChange,
    NoChange,
    PendingKeySet,
    plan,
    vet_announcement,
)

ROLE_FILE = "hotcast-role"
# Lists remembered in ``chain`` for fork detection (a few days of deltas at one a minute).
CHAIN_MEMORY = 8192
STORE_FILE_NAME = "terminal.sqlite"


class TerminalStore:
    """Handle on one terminal store. Not shared between threads; open one per process."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        # Process CPU seconds spent verifying, decrypting and planning bundles (``plan``) and
        # vetting announcements; the rest of an apply is the store's own work.
        self.seconds_verifying = 0.0
        self._parsed_keys: tuple[bytes, TerminalKeys] | None = None  # (blob, its parse)

    # -- opening ----------------------------------------------------------------------
    @classmethod
    def create(cls, home: str | os.PathLike, keys: TerminalKeys, *,
               capacity: int = DEFAULT_CAPACITY,
               heartbeat_max_age_s: int = DEFAULT_HEARTBEAT_MAX_AGE_S) -> TerminalStore:
        """Make a new store holding ``keys`` in ``home`` (created 0700): a terminal that keeps
        lists of up to ``capacity`` entries and is stale ``heartbeat_max_age_s`` after the last
        heartbeat it heard. StoreError if one exists or the home cannot be written.

        Atomic: the store is built under a temporary name and linked into place only when
        complete, so a crash during init leaves no half-made store behind.
        """
        if not 1 <= capacity <= 1 << 26:
            raise ValueError(f"capacity must be 1 to {1 << 26} entries, got {capacity}")
        if heartbeat_max_age_s < 1:
            raise ValueError(f"heartbeat_max_age_s must be >= 1, got {heartbeat_max_age_s}")
        home = Path(home)
        path = home / STORE_FILE_NAME
        tmp = home / f".{STORE_FILE_NAME}.{os.getpid()}.tmp"
        try:
            home.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(home, 0o700)
            if path.exists():
                raise FileExistsError
            fd = os.open(home / ROLE_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as role:
                role.write("terminal\n")
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
            os.chmod(tmp, 0o600)  # whatever the umask
            conn = connect(tmp)
            conn.executescript(
                f"PRAGMA application_id={APPLICATION_ID}; PRAGMA user_version={SCHEMA_VERSION};"
                f"BEGIN IMMEDIATE; {SCHEMA} COMMIT;"
            )
            conn.execute("INSERT INTO keys VALUES (1, ?)", (keys.to_file(),))
            conn.execute("UPDATE state SET capacity=?, keyset_epoch=?, hb_max_age_s=?",
                         (capacity, keys.keyset.epoch, heartbeat_max_age_s))
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
    _STATE = ("epoch, seq, digest, kind, base_seq, created_at, applied_at, valid_until, entries,"
              " universe, capacity, keyset_epoch, hb_epoch, hb_seq, hb_digest, hb_created_at,"
              " hb_max_age_s, current_heard_at, older_heard_at")

    def state(self) -> ListState:
        return _state(self._conn.execute(f"SELECT {self._STATE} FROM state").fetchone())

    def keys(self) -> TerminalKeys:
        """The terminal's keys as stored now. The parse (which checks every root and signing
        key's point, ~2 ms) is kept while the stored bytes stay the same."""
        (blob,) = self._conn.execute("SELECT blob FROM keys").fetchone()
        blob = bytes(blob)
        if self._parsed_keys is None or self._parsed_keys[0] != blob:
            self._parsed_keys = (blob, TerminalKeys.from_file(blob))
        return self._parsed_keys[1]

    def lookup(self, card_id: int, now: int) -> HotLookup:
        """The hot path: one prepared statement (cached by sqlite3), one B-tree probe.

        List entry and list state are read in one statement, so from one snapshot even
        while another process applies a bundle.
        """
        if not 0 <= card_id < 1 << 64:
            raise ValueError(f"card_id {card_id} is not an unsigned 64-bit integer")
        row = self._conn.execute(
            f"SELECT (SELECT reason FROM hot WHERE id = ?), {self._STATE} FROM state",
            (to_sql_key(card_id),),
        ).fetchone()
        state = _state(row[1:])
        return HotLookup(None if row[0] is None else Reason(row[0]), state.seq,
                         state.stale_why(now))

    def hot_list(self) -> HotList:
        """The whole list as a HotList (for tests, dumps and diffs; O(entries) memory)."""
        rows = self._conn.execute("SELECT id, reason, expiry FROM hot ORDER BY id").fetchall()
        arr = np.array(rows, dtype=np.int64).reshape(-1, 3)
        return HotList(
            ids=from_sql_keys(arr[:, 0]), reasons=arr[:, 1].astype(np.uint8),
            expiry=arr[:, 2].astype(np.uint16),
        )

    def chain_digest(self, epoch: int, seq: int) -> bytes | None:
        """The digest of the list (epoch, seq) this store applied, if it remembers it."""
        row = self._conn.execute("SELECT digest FROM chain WHERE epoch=? AND seq=?",
                                 (epoch, seq)).fetchone()
        return None if row is None else bytes(row[0])

    def pending_keysets(self) -> list[KeySet]:
        return [read_unverified_keyset(d) for (d,) in self._conn.execute(
            "SELECT data FROM pending_keysets ORDER BY version")]

    def status(self, now: int) -> dict:
        """What ``terminal status`` shows: the list held, its freshness, trust, sales."""
        state = self.state()
        keys = self.keys()
        sales, sales_total_minor = self.sales_summary()
        return {
            "list_seq": state.seq,
            "epoch": state.epoch,
            "kind": _kind_name(state.kind),
            "entries": state.entries,
            "capacity": state.capacity,
            "created_at": state.created_at or None,
            "applied_at": state.applied_at or None,
            "valid_until": state.valid_until or None,
            "stale": state.is_stale(now),
            "stale_why": state.stale_why(now),
            "following": state.following(now),
            "heartbeat": None if not state.heartbeat_created_at else {
                "epoch": state.heartbeat_epoch, "seq": state.heartbeat_seq,
                "created_at": state.heartbeat_created_at},
            "universe": str(state.universe) if state.universe else None,
            "root_set": keys.root_set.version,
            "key_set": keys.keyset.version,
            "key_set_expires": keys.keyset.expires,
            "signing_key_ids": [e.key_id for e in keys.keyset.signing_keys],
            "master_key_ids": [m.key_id for m in keys.master_keys],
            "pending_key_sets": [k.version for k in self.pending_keysets()],
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
        """Verify ``data`` (a bundle, key set or root set) against this store and make its
        change in one transaction.

        Returns an ``ApplyResult``; raises ``crypto.CryptoError`` (forged, malformed, unknown
        or retired key) or a ``receiver.errors.BundleRefusedError`` with the store unchanged.

        Verification runs outside the write lock (it takes ~0.5 s for a 1 M list and must
        not hold up sales); the transaction then re-reads state and keys and, if another
        process changed them meanwhile, plans again against the new state. So a check is
        never made against one state and committed over another (no rollback by race).
        """
        self.promote_keysets(now)
        while True:
            state, keys = self.state(), self.keys()
            t0 = time.process_time()
            try:
                change = plan(data, now, state, keys, self.chain_digest)
            finally:
                self.seconds_verifying += time.process_time() - t0
            if isinstance(change, NoChange):
                return ApplyResult(change.seq, change.kind, False, state.entries)
            with self.transaction() as cur:
                if self.state() != state or self.keys() != keys:
                    continue  # nothing written: COMMIT of an empty transaction, then re-plan
                entries = _write_change(cur, change, now)
            return ApplyResult(change.seq, change.kind, True, entries)

    def promote_keysets(self, now: int) -> list[int]:
        """Make every pending key set whose time has come the current one (oldest first); the
        versions promoted. A pending set that no longer verifies (the held set moved past it)
        is dropped."""
        due = self._conn.execute("SELECT version, data FROM pending_keysets WHERE valid_from <= ?"
                                 " ORDER BY version", (now,)).fetchall()
        promoted = []
        for version, data in due:
            with self.transaction() as cur:
                cur.execute("DELETE FROM pending_keysets WHERE version = ?", (version,))
                try:
                    change = plan(bytes(data), now, self.state(), self.keys(), self.chain_digest)
                except Exception:  # a stale pending set: nothing to promote, it is gone
                    continue
                if isinstance(change, KeysChange):
                    _write_change(cur, change, now)
                    promoted.append(version)
        return promoted

    def vet_announcement(self, data: bytes, now: int):
        """The bundles a genuine ANNOUNCE names (``trust.vet_announcement``), else None."""
        keys = self.keys()
        t0 = time.process_time()
        try:
            return vet_announcement(data, now, keys)
        finally:
            self.seconds_verifying += time.process_time() - t0

    def note_heard(self, current: bool, now: int) -> None:
        """Record that a genuine bundle as new as the store's (``current``) or only an older
        one was heard at ``now`` (``ListState.following``)."""
        column = "current_heard_at" if current else "older_heard_at"
        with self.transaction() as cur:
            cur.execute(f"UPDATE state SET {column} = MAX({column}, ?)", (now,))


def _kind_name(kind: int) -> str | None:
    from crypto import BundleKind

    return BundleKind(kind).name.lower() if kind else None


def _state(row: tuple) -> ListState:
    (epoch, seq, digest, kind, base, created, applied, valid, entries, universe, capacity,
     keyset_epoch, hb_epoch, hb_seq, hb_digest, hb_created, hb_max_age, current, older) = row
    return ListState(
        epoch=epoch, seq=seq, digest=bytes(digest), kind=kind, base_seq=base,
        created_at=created, applied_at=applied, valid_until=valid, entries=entries,
        universe=Universe.parse(universe) if universe else None, capacity=capacity,
        keyset_epoch=keyset_epoch, heartbeat_epoch=hb_epoch, heartbeat_seq=hb_seq,
        heartbeat_digest=bytes(hb_digest), heartbeat_created_at=hb_created,
        heartbeat_max_age_s=hb_max_age, current_heard_at=current, older_heard_at=older)


def _write_change(cur: sqlite3.Cursor, change: Change, now: int) -> int:
    """Make ``change`` inside the caller's transaction; returns the list's entry count."""
    if isinstance(change, KeysChange):
        cur.execute("UPDATE keys SET blob = ?", (change.keys.to_file(),))
        cur.execute("UPDATE state SET keyset_epoch = ?", (change.keys.keyset.epoch,))
        return cur.execute("SELECT entries FROM state").fetchone()[0]
    if isinstance(change, PendingKeySet):
        cur.execute("INSERT OR REPLACE INTO pending_keysets VALUES (?, ?, ?)",
                    (change.keyset.version, change.keyset.valid_from, change.data))
        return cur.execute("SELECT entries FROM state").fetchone()[0]
    if isinstance(change, HeartbeatChange):
        h = change.header
        cur.execute("UPDATE state SET hb_epoch=?, hb_seq=?, hb_digest=?, hb_created_at=?",
                    (h.epoch, h.seq, h.prev_digest, h.created_at))
        return cur.execute("SELECT entries FROM state").fetchone()[0]
    header = change.header
    if isinstance(change, FullChange):
        entries = _replace_list(cur, change.hot)
    else:
        entries = _patch_list(cur, change.delta)
    cur.execute(
        "UPDATE state SET epoch=?, seq=?, digest=?, kind=?, base_seq=?, created_at=?,"
        " applied_at=?, valid_until=?, entries=?, universe=?",
        (header.epoch, header.seq, change.digest, int(header.kind), header.base_seq,
         header.created_at, now, header.valid_until, entries, str(change.universe)),
    )
    cur.execute("INSERT OR REPLACE INTO chain VALUES (?, ?, ?)",
                (header.epoch, header.seq, change.digest))
    cur.execute("DELETE FROM chain WHERE (epoch, seq) NOT IN (SELECT epoch, seq FROM chain "
                "ORDER BY epoch DESC, seq DESC LIMIT ?)", (CHAIN_MEMORY,))
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
