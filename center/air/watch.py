"""Watching the registry from ``center serve``: edits not yet in a list, and a busy writer.

``RegistryWatch(home_path)`` keeps its own read-only connection to the registry (WAL: readers
never block a writer nor wait for one) and answers, in a couple of indexed reads:

- ``edits_pending()``: a card was revoked, reinstated or imported after the newest list was
  built. Every change to the hot list writes an audit row naming its card, and every build
  writes a ``build`` audit row in the same transaction as the list; audit ids grow in commit
  order (writers are serialised by ``BEGIN IMMEDIATE``), so an edit is in the newest list
  exactly when its row's id is below that build's row. A revocation that commits while a
  build runs gets a later id and makes the next delta: none is ever lost.
- ``writer_busy()``: another process holds the home's writer lock or a SQLite write
  transaction, probed without waiting, so the scheduler reports it and retries instead of
  blocking for SQLite's 30 s busy timeout.

On SQLite it keeps its own read-only connection to the registry file; on PostgreSQL (a home
that records ``registry.url``) it asks the same two questions through the registry's portable
``query_one`` on a home opened without keys, and the busy probe is the home's writer lock only
(PostgreSQL writers queue on a table lock, reported by the build itself when it times out).
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from pathlib import Path
from urllib.parse import quote

from center.registry.home import LOCK_FILE, REGISTRY_FILE, CenterHome, registry_target

_LAST_EDIT = "SELECT id FROM audit WHERE card IS NOT NULL ORDER BY id DESC LIMIT 1"
_LAST_BUILD = "SELECT id FROM audit WHERE action = 'build' ORDER BY id DESC LIMIT 1"


class RegistryWatch:
    """Cheap questions about a center home's registry, from any one thread."""

    def __init__(self, home_path: Path) -> None:
        self.home_path = Path(home_path)
        self._home: CenterHome | None = None
        self._ro = self._rw = None
        if isinstance(registry_target(self.home_path), str):  # PostgreSQL
            self._home = CenterHome.open(self.home_path)
            return
        db = quote(str((self.home_path / REGISTRY_FILE).resolve()))
        self._ro = sqlite3.connect(f"file:{db}?mode=ro", uri=True, isolation_level=None,
                                   timeout=1.0)
        self._rw = sqlite3.connect(f"file:{db}?mode=rw", uri=True, isolation_level=None,
                                   timeout=0.0)

    def __repr__(self) -> str:
        return f"RegistryWatch({str(self.home_path)!r})"

    def close(self) -> None:
        if self._home is not None:
            self._home.close()
            return
        self._ro.close()
        self._rw.close()

    def _one(self, sql: str) -> int:
        if self._home is not None:
            row = self._home.registry.query_one(sql)
        else:
            row = self._ro.execute(sql).fetchone()
        return 0 if row is None else int(row[0])

    def last_edit(self) -> int:
        """Audit id of the newest change to the hot list (0: none)."""
        return self._one(_LAST_EDIT)

    def edits_pending(self) -> bool:
        return self.last_edit() > self._one(_LAST_BUILD)

    def writer_busy(self) -> str | None:
        """Why a write would wait now (another writer), or None."""
        fd = os.open(self.home_path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return "another process holds the home's writer lock"
        finally:
            os.close(fd)  # releases the probe's lock at once
        if self._home is not None:
            return None
        try:
            self._rw.execute("BEGIN IMMEDIATE")
            self._rw.execute("ROLLBACK")
        except sqlite3.OperationalError as exc:
            return f"the registry database is locked by another writer ({exc})"
        return None
