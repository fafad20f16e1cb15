"""The terminal store's SQL layout and connection settings.

Tables: ``hot`` (the list: key, reason, expiry month code; WITHOUT ROWID so the card key
is the B-tree key and a lookup is one probe), ``state`` (one row: the list held, the newest
heartbeat, the terminal's capacity and policy), ``keys`` (one row: the terminal key file
bytes: root set, key set, master keys), ``pending_keysets`` (verified key sets that take
effect later), ``chain`` (the (epoch, seq, digest) of lists applied: fork detection),
``sales`` (append-only).
Invariant: ``state`` and ``keys`` always hold exactly one row.
"""

import sqlite3
from pathlib import Path

# PRAGMA application_id: ASCII "HCTS" (hotcast terminal store), to recognise our files.
APPLICATION_ID = 0x48435453
# 2: epochs, the hash chain, heartbeats, key sets, capacity (hotcast 0.2, issue 6). A version-1
# store is refused by name: its keys belong to the old trust model (provision it again).
SCHEMA_VERSION = 2

SCHEMA = """
CREATE TABLE hot (id INTEGER PRIMARY KEY, reason INTEGER NOT NULL, expiry INTEGER NOT NULL)
    WITHOUT ROWID;
CREATE TABLE state (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    epoch INTEGER NOT NULL, seq INTEGER NOT NULL, digest BLOB NOT NULL, kind INTEGER NOT NULL,
    base_seq INTEGER NOT NULL, created_at INTEGER NOT NULL, applied_at INTEGER NOT NULL,
    valid_until INTEGER NOT NULL, entries INTEGER NOT NULL, universe TEXT NOT NULL,
    capacity INTEGER NOT NULL, keyset_epoch INTEGER NOT NULL,
    hb_epoch INTEGER NOT NULL, hb_seq INTEGER NOT NULL, hb_digest BLOB NOT NULL,
    hb_created_at INTEGER NOT NULL, hb_max_age_s INTEGER NOT NULL,
    current_heard_at INTEGER NOT NULL, older_heard_at INTEGER NOT NULL);
CREATE TABLE keys (one INTEGER PRIMARY KEY CHECK (one = 1), blob BLOB NOT NULL);
CREATE TABLE pending_keysets (version INTEGER PRIMARY KEY, valid_from INTEGER NOT NULL,
    data BLOB NOT NULL);
CREATE TABLE chain (epoch INTEGER NOT NULL, seq INTEGER NOT NULL, digest BLOB NOT NULL,
    PRIMARY KEY (epoch, seq)) WITHOUT ROWID;
CREATE TABLE sales (
    n INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, card INTEGER NOT NULL,
    amount_minor INTEGER NOT NULL, list_seq INTEGER NOT NULL, stale INTEGER NOT NULL);
INSERT INTO state VALUES (1, 0, 0, X'', 0, 0, 0, 0, 0, 0, '', 0, 0, 0, 0, X'', 0, 0, 0, 0);
"""

# Why synchronous=NORMAL is durable enough in WAL mode: a commit appends its frames to the
# WAL and the commit frame carries a checksum over the chain; with NORMAL the WAL is fsynced
# at checkpoints, not at each commit. A crash of the *process* loses nothing (the frames are
# in the OS page cache). A power loss may lose the last commits but never tears one: on
# recovery SQLite replays only frames up to the last valid commit frame, so the store is at
# some earlier list, which is still a signed list, and the next carousel cycle re-applies
# what was lost. FULL would cost one fsync per apply for no change in atomicity. Sales are
# money and cannot be re-broadcast, so ``record_sale`` alone commits with FULL (one fsync
# per sale, at the pace of a human at a till).
_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=10000",
    "PRAGMA temp_store=MEMORY",
    # 64 MiB page cache (negative = KiB): the 1 M-entry apply touches ~25 MiB of B-tree.
    "PRAGMA cache_size=-65536",
    # Read the database file through a 1 GiB memory map (address space, not RAM; a 10 M
    # store is ~170 MiB = 17 B/entry): a lookup then costs no pread() copies. Measured on
    # the 10 M store: p99 8.6 us with the map, 11.5-30 us without. WAL pages are still read
    # with pread, so commits stay atomic as before.
    "PRAGMA mmap_size=1073741824",
)


def connect(path: Path) -> sqlite3.Connection:
    """A connection with our PRAGMAs; isolation_level=None: no implicit transactions,
    the store issues BEGIN IMMEDIATE / COMMIT itself."""
    conn = sqlite3.connect(path, isolation_level=None, cached_statements=64)
    for pragma in _PRAGMAS:
        conn.execute(pragma)
    return conn
