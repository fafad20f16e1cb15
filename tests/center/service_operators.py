"""A test double of the registry's operator store (``center.service.auth.OperatorStore``),
on its own SQLite file, for the service tests until the registry keeps operators itself.

It keeps the rules the service relies on: tokens are returned once and stored only as
SHA-256 hashes; a revoked operator's token authenticates no more; names are unique; every
change is logged with who and when. Thread-safe (the service asks from worker threads).
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS operators (
    name TEXT PRIMARY KEY, role TEXT NOT NULL, ranges TEXT, token_sha256 TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL, created_by TEXT NOT NULL, revoked_at INTEGER, note TEXT);
CREATE TABLE IF NOT EXISTS operator_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER, by TEXT, action TEXT, name TEXT, note TEXT);
"""


@dataclass(frozen=True)
class Operator:
    name: str
    role: str
    ranges: tuple[tuple[int, int], ...] | None
    created_at: int
    revoked_at: int | None
    created_by: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _ranges_text(ranges) -> str | None:
    return None if ranges is None else ",".join(f"{lo}-{hi}" for lo, hi in ranges)


def _ranges_of(text: str | None) -> tuple[tuple[int, int], ...] | None:
    if text is None:
        return None
    return tuple((int(lo), int(hi)) for lo, hi in (p.split("-") for p in text.split(",")))


class SqliteOperators:
    def __init__(self, path: Path) -> None:
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.executescript(SCHEMA)
        self._lock = threading.Lock()
        self.authentications = 0

    def add_operator(self, name: str, role: str, *, ranges=None, now: int, by: str,
                     note: str = "") -> str:
        token = "hc_" + secrets.token_urlsafe(32)
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.execute(
                    "INSERT INTO operators VALUES (?, ?, ?, ?, ?, ?, NULL, ?)",
                    (name, role, _ranges_text(ranges), _hash(token), now, by, note))
                self._conn.execute("INSERT INTO operator_log (at, by, action, name, note) "
                                   "VALUES (?, ?, 'add', ?, ?)", (now, by, name, note))
                self._conn.execute("COMMIT")
            except sqlite3.IntegrityError:
                self._conn.execute("ROLLBACK")
                raise ValueError(f"operator {name!r} exists already") from None
        return token

    def operators(self) -> list[Operator]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT name, role, ranges, created_at, revoked_at, created_by FROM operators "
                "ORDER BY name").fetchall()
        return [Operator(n, r, _ranges_of(g), c, v, b) for n, r, g, c, v, b in rows]

    def revoke_operator(self, name: str, *, now: int, by: str) -> None:
        with self._lock:
            cur = self._conn.execute("UPDATE operators SET revoked_at=? WHERE name=? AND "
                                     "revoked_at IS NULL", (now, name))
            if cur.rowcount:
                self._conn.execute("INSERT INTO operator_log (at, by, action, name, note) "
                                   "VALUES (?, ?, 'revoke', ?, '')", (now, by, name))

    def authenticate(self, token: str) -> Operator | None:
        with self._lock:
            self.authentications += 1
            row = self._conn.execute(
                "SELECT name, role, ranges, created_at, revoked_at, created_by FROM operators "
                "WHERE token_sha256=? AND revoked_at IS NULL", (_hash(token),)).fetchone()
        if row is None:
            return None
        n, r, g, c, v, b = row
        return Operator(n, r, _ranges_of(g), c, v, b)

    def log(self) -> list[tuple]:
        with self._lock:
            return self._conn.execute("SELECT at, by, action, name, note FROM operator_log "
                                      "ORDER BY id").fetchall()

    def dump(self) -> tuple:
        with self._lock:
            return tuple(self._conn.iterdump())
