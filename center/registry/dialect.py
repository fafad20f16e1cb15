"""The two databases a registry can live in, behind one small interface.

``center.registry.db`` writes its SQL once, with ``?`` placeholders; a dialect connects, turns
that SQL into its own, opens transactions its way and names its errors:

* SQLite (the default: one file in the home). WAL mode, ``synchronous=FULL``; a write
  transaction is ``BEGIN IMMEDIATE``: one writer at a time, readers never blocked.
* PostgreSQL (``postgresql://...``, psycopg 3), for a center whose operators work from several
  machines. Placeholders become ``%s`` (a literal ``%`` is doubled). A write transaction is READ
  COMMITTED and starts by taking ``LOCK TABLE meta IN EXCLUSIVE MODE``: writers queue on it as
  SQLite's do on ``BEGIN IMMEDIATE`` (EXCLUSIVE conflicts with itself and with every write, not
  with plain reads), so a bundle build sees every change committed before it and none commits
  half-way through it, and every statement after the lock reads what the previous writer
  committed (READ COMMITTED takes a fresh snapshot per statement). The lock is per registry (a
  table in its schema), so several registries can share one database under separate schemas.
  ``lock_timeout`` bounds the wait: a writer stuck for a minute is an error, not a hang.

The module imports psycopg only when a PostgreSQL registry is opened: a center on SQLite never
loads it.
"""

from __future__ import annotations

import functools
import os
from abc import ABC, abstractmethod
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from center.errors import CenterStateError
from center.registry.dburl import is_postgres_url, redact

# Most seconds a writer waits for the registry's writer lock before it gives up with an error.
LOCK_WAIT_S = 60
# libpq's connect timeout: a server that does not answer in 10 s is reported, not waited on.
CONNECT_TIMEOUT_S = 10


class Dialect(ABC):
    """How one database does what the registry needs. Subclasses: ``Sqlite``, ``Postgres``."""

    name: str
    integrity_errors: tuple[type[BaseException], ...]
    database_errors: tuple[type[BaseException], ...]
    begin_write: tuple[str, ...]
    begin_write_unlocked: tuple[str, ...]
    begin_read: tuple[str, ...]

    def sql(self, text: str) -> str:
        return text

    def is_lock_timeout(self, exc: BaseException) -> bool:
        """Whether ``exc`` says the writer lock stayed taken for ``LOCK_WAIT_S``."""
        return False

    @abstractmethod
    def executemany(self, conn: Any, sql: str, rows: Iterable[tuple]) -> None: ...

    @abstractmethod
    def table_names(self, conn: Any) -> list[str]:
        """Names of the tables in the registry's namespace (its schema, or the file)."""

    def iter_rows(self, conn: Any, sql: str, params: tuple, chunk: int) -> Iterator[tuple]:
        """Rows of a query, fetched ``chunk`` at a time (never the whole result in memory)."""
        cur = conn.execute(sql, params)
        try:
            while rows := cur.fetchmany(chunk):
                yield from rows
        finally:
            cur.close()

    def insert_rows(self, conn: Any, table: str, columns: Sequence[str],
                    rows: Iterable[tuple]) -> None:
        marks = ", ".join("?" * len(columns))
        self.executemany(conn, self.sql(f"INSERT INTO {table} ({', '.join(columns)}) "
                                        f"VALUES ({marks})"), rows)

    def restart_identity(self, conn: Any, table: str) -> None:
        """After rows were inserted with explicit ids: the next id is above every one of them.
        (SQLite's AUTOINCREMENT keeps the largest id ever inserted by itself.)"""


class Sqlite(Dialect):
    name = "sqlite"
    integrity_errors = (sqlite3.IntegrityError,)
    database_errors = (sqlite3.DatabaseError,)
    begin_write = ("BEGIN IMMEDIATE",)
    begin_write_unlocked = ("BEGIN IMMEDIATE",)
    begin_read = ("BEGIN",)  # deferred: in WAL mode the snapshot is taken at the first read

    def connect(self, path: Path, must_exist: bool) -> sqlite3.Connection:
        # isolation_level=None: transactions are issued by the registry (BEGIN/COMMIT).
        # mode=rw makes a missing file an error instead of a new empty database.
        target = f"file:{quote(str(Path(path).resolve()))}?mode={'rw' if must_exist else 'rwc'}"
        conn = sqlite3.connect(target, uri=True, isolation_level=None, timeout=LOCK_WAIT_S)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
        except sqlite3.DatabaseError:
            conn.close()
            raise
        conn.execute("PRAGMA synchronous=FULL")  # a built bundle is on disk before it is announced
        return conn

    def executemany(self, conn: sqlite3.Connection, sql: str, rows: Iterable[tuple]) -> None:
        conn.executemany(sql, rows)

    def is_lock_timeout(self, exc: BaseException) -> bool:
        return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)

    def table_names(self, conn: sqlite3.Connection) -> list[str]:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type='table' AND "
                            "name NOT LIKE 'sqlite_%' ORDER BY name").fetchall()
        return [r[0] for r in rows]


class Postgres(Dialect):
    name = "postgresql"
    # One round trip (a simple query of two statements): the lock is held for less time.
    begin_write = ("BEGIN ISOLATION LEVEL READ COMMITTED; LOCK TABLE meta IN EXCLUSIVE MODE",)
    begin_write_unlocked = ("BEGIN ISOLATION LEVEL READ COMMITTED",)
    # One snapshot for a whole read (what is on air is read from several tables).
    begin_read = ("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",)
    _cursors = 0

    def __init__(self) -> None:
        import psycopg  # only a PostgreSQL registry needs it

        self._psycopg = psycopg
        self.integrity_errors = (psycopg.IntegrityError,)
        self.database_errors = (psycopg.Error,)

    def connect(self, url: str) -> Any:
        try:
            conn = self._psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
        except self._psycopg.Error as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise CenterStateError(f"cannot reach the registry database {redact(url)}: "
                                   f"{reason}") from None
        conn.execute(f"SET lock_timeout = '{LOCK_WAIT_S}s'")
        return conn

    def sql(self, text: str) -> str:
        return _to_format_style(text)

    def is_lock_timeout(self, exc: BaseException) -> bool:
        return isinstance(exc, self._psycopg.errors.LockNotAvailable)

    def executemany(self, conn: Any, sql: str, rows: Iterable[tuple]) -> None:
        rows = list(rows)
        if rows:
            with conn.cursor() as cur:
                cur.executemany(sql, rows)

    def iter_rows(self, conn: Any, sql: str, params: tuple, chunk: int) -> Iterator[tuple]:
        # A server-side cursor; WITH HOLD so that it also works outside a transaction.
        Postgres._cursors += 1
        with conn.cursor(name=f"hotcast_rows_{Postgres._cursors}", withhold=True) as cur:
            cur.execute(sql, params)
            while rows := cur.fetchmany(chunk):
                yield from rows

    def insert_rows(self, conn: Any, table: str, columns: Sequence[str],
                    rows: Iterable[tuple]) -> None:
        # COPY: an order of magnitude faster than INSERTs for a million cards. Nothing to
        # insert costs no round trip.
        rows = iter(rows)
        first = next(rows, None)
        if first is None:
            return
        with conn.cursor() as cur:
            with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                copy.write_row(first)
                for row in rows:
                    copy.write_row(row)

    def restart_identity(self, conn: Any, table: str) -> None:
        conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                     f"coalesce(max(id), 0) + 1, false) FROM {table}")

    def table_names(self, conn: Any) -> list[str]:
        schema = conn.execute("SELECT current_schema()").fetchone()[0]
        if schema is None:
            raise CenterStateError("the registry database's search_path names no schema that "
                                   "exists: create it first (CREATE SCHEMA ...)")
        rows = conn.execute("SELECT table_name FROM information_schema.tables WHERE "
                            "table_schema = %s ORDER BY table_name", (schema,)).fetchall()
        return [r[0] for r in rows]


def dialect_of(target: str | os.PathLike) -> Dialect:
    """``Postgres()`` for a ``postgresql://`` URL, else ``Sqlite()`` (a file path)."""
    return Postgres() if isinstance(target, str) and is_postgres_url(target) else Sqlite()


@functools.lru_cache(maxsize=512)
def _to_format_style(text: str) -> str:
    """``?`` placeholders -> ``%s`` and ``%`` -> ``%%``, outside quoted strings and names."""
    out: list[str] = []
    quote_char = ""
    for ch in text:
        if quote_char:
            out.append("%%" if ch == "%" else ch)
            if ch == quote_char:
                quote_char = ""  # a doubled quote closes and reopens: same result
        elif ch in "'\"":
            quote_char = ch
            out.append(ch)
        elif ch == "?":
            out.append("%s")
        elif ch == "%":
            out.append("%%")
        else:
            out.append(ch)
    return "".join(out)
