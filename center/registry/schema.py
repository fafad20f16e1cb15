"""SQL schema of the center registry (see center.registry.db for the invariants it serves).

Card IDs are stored as ``id - 2**63`` because SQLite INTEGER is signed 64-bit; the audit log
and the bundle history are append-only, enforced by triggers that RAISE on UPDATE and DELETE.
"""

SCHEMA_VERSION = 1

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
    seq            INTEGER PRIMARY KEY CHECK (seq > 0),
    kind           TEXT    NOT NULL CHECK (kind IN ('full', 'delta', 'master_roll', 'signer_roll')),
    base           INTEGER NOT NULL,
    bytes          INTEGER NOT NULL,
    sha256         TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    valid_until    INTEGER NOT NULL,
    entries        INTEGER,                    -- list size after this bundle (list bundles)
    master_key_id  INTEGER NOT NULL,
    signing_key_id INTEGER NOT NULL,
    announces_key  INTEGER,                    -- the new key id a roll bundle announces
    sealed         BLOB    NOT NULL,
    list_body      BLOB                        -- encoded full list at this seq (list bundles)
);
CREATE TRIGGER bundles_no_update BEFORE UPDATE ON bundles
    BEGIN SELECT RAISE(ABORT, 'bundle history is append-only'); END;
CREATE TRIGGER bundles_no_delete BEFORE DELETE ON bundles
    BEGIN SELECT RAISE(ABORT, 'bundle history is append-only'); END;
"""

HISTORY_COLUMNS = (
    "seq, kind, base, bytes, sha256, created_at, valid_until, entries, "
    "master_key_id, signing_key_id, announces_key"
)
