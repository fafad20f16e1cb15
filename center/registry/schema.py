"""SQL schema of the center registry (see center.registry.db for the invariants it serves).

Card IDs are stored as ``id - 2**63`` because SQLite INTEGER is signed 64-bit; the audit log
and the bundle history are append-only, enforced by triggers that RAISE on UPDATE and DELETE.
"""

# 2: bundles keyed by (kind, epoch, seq) with the hash chain and the ids each list touched; the
# trust table of root sets and key sets (hotcast 0.2, issue 6). A version-1 registry is refused
# by name: its bundles belong to the old trust model.
SCHEMA_VERSION = 2

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE hot (
    card      INTEGER PRIMARY KEY,            -- card ID - 2**63 (SQLite INTEGER is signed)
    reason    INTEGER NOT NULL CHECK (reason BETWEEN 0 AND 255),
    listed_at INTEGER NOT NULL,               -- unix seconds, UTC
    listed_by TEXT    NOT NULL,
    expiry    INTEGER NOT NULL DEFAULT 0 CHECK (expiry BETWEEN 0 AND 65535)  -- month code, 0 none
);
CREATE TABLE audit (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at     INTEGER NOT NULL,
    by     TEXT    NOT NULL,
    action TEXT    NOT NULL,
    card   INTEGER,                            -- card ID - 2**63, or NULL
    reason INTEGER,
    expiry INTEGER,
    note   TEXT    NOT NULL DEFAULT ''
);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TABLE bundles (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    kind           TEXT    NOT NULL CHECK (kind IN ('full', 'delta', 'master_roll')),
    epoch          INTEGER NOT NULL CHECK (epoch > 0),
    seq            INTEGER NOT NULL CHECK (seq > 0),  -- list seq in its epoch; a roll: its key id
    base           INTEGER NOT NULL,
    bytes          INTEGER NOT NULL,
    sha256         TEXT    NOT NULL,           -- crypto.bundle_digest of the sealed bytes (hex)
    prev           TEXT    NOT NULL,           -- the header's prev_digest (hex): the hash chain
    created_at     INTEGER NOT NULL,
    valid_until    INTEGER NOT NULL,
    entries        INTEGER,                    -- list size after this bundle (list bundles)
    master_key_id  INTEGER NOT NULL,
    signing_key_id INTEGER NOT NULL,
    announces_key  INTEGER,                    -- the new master key id a roll announces
    sealed         BLOB    NOT NULL,
    list_body      BLOB,                       -- encoded full list at this seq (list bundles)
    touched        BLOB,                       -- ids this list changed since the previous one
    UNIQUE (kind, epoch, seq)
);
CREATE TABLE trust (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT    NOT NULL CHECK (kind IN ('root_set', 'key_set')),
    version     INTEGER NOT NULL CHECK (version > 0),
    data        BLOB    NOT NULL,              -- the signed metadata, as the root made it
    imported_at INTEGER NOT NULL,
    imported_by TEXT    NOT NULL,
    UNIQUE (kind, version)
);
CREATE TRIGGER trust_no_update BEFORE UPDATE ON trust
    BEGIN SELECT RAISE(ABORT, 'trust history is append-only'); END;
CREATE TRIGGER trust_no_delete BEFORE DELETE ON trust
    BEGIN SELECT RAISE(ABORT, 'trust history is append-only'); END;
CREATE TRIGGER bundles_no_update BEFORE UPDATE ON bundles
    BEGIN SELECT RAISE(ABORT, 'bundle history is append-only'); END;
CREATE TRIGGER bundles_no_delete BEFORE DELETE ON bundles
    BEGIN SELECT RAISE(ABORT, 'bundle history is append-only'); END;
"""

HISTORY_COLUMNS = (
    "kind, epoch, seq, base, bytes, sha256, prev, created_at, valid_until, entries, "
    "master_key_id, signing_key_id, announces_key"
)
