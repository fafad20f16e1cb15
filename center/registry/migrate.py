"""Copy a registry into an empty PostgreSQL database and prove the copy equal.

Every table (``schema.TABLES``: meta, hot cards, the audit log, the bundle history, trust,
operators) is copied row for row, ids included, in one PostgreSQL transaction; then each table
is read back inside that transaction and compared with the source by row count and a content
digest. Only when every table matches is the transaction committed (with one ``migrate`` audit
row after the copied ones), so a failed or interrupted migration leaves the target as empty as
it found it. Writers to the source are held off for the whole copy (its writer lock).

The content digest of a table is SHA-256 over its rows in key order, each value tagged with its
type (``N`` null, ``I`` a signed 64-bit integer, ``S`` UTF-8 text, ``B`` bytes) and
length-prefixed, so no two different tables share a digest by re-splitting values. ``meta`` is
ordered in Python (text ordering differs between databases); every other key is an integer.

Keys stay in files in the home: nothing here reads or moves them.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from center.errors import CenterStateError
from center.registry.db import Registry
from center.registry.schema import IDENTITY_TABLES, TABLES

_COPY_CHUNK_ROWS = 5000


@dataclass(frozen=True)
class TableCopy:
    """One table as copied and verified: its row count and content digest (hex)."""

    table: str
    rows: int
    sha256: str


def table_digest(reg: Registry, table: str) -> TableCopy:
    """Row count and content digest of ``table`` as ``reg`` holds it."""
    h = hashlib.sha256()
    rows = 0
    for row in _rows(reg, table):
        _feed(h, row)
        rows += 1
    return TableCopy(table, rows, h.hexdigest())


def registry_digests(reg: Registry) -> list[TableCopy]:
    """Every table's count and digest, in ``TABLES`` order (one snapshot)."""
    with reg.reading():
        return [table_digest(reg, t) for t in TABLES]


def copy_registry(source: Registry, target_url: str, *, now: int, by: str) -> list[TableCopy]:
    """Copy ``source`` into the empty database at ``target_url``, verify, commit; the verified
    counts and digests. ``NonEmptyDatabaseError`` when the target is not empty; ``CenterStateError``
    when the copy does not read back equal (nothing is committed then)."""
    target = Registry.connect(target_url)
    try:
        with source.transaction():  # no writer changes the source while it is copied
            with target.transaction(lock=False):
                meta = {k: v for k, v in source.query("SELECT key, value FROM meta")
                        if k != "schema_version"}
                target.create_tables(meta)
                for table in TABLES:
                    if table != "meta":
                        _copy(source, target, table)
                for table in IDENTITY_TABLES:
                    target.restart_identity(table)
                copied = [table_digest(source, t) for t in TABLES]
                for want in copied:
                    got = table_digest(target, want.table)
                    if got != want:
                        raise CenterStateError(
                            f"the copy of table {want.table} does not match: {want.rows} rows "
                            f"sha256 {want.sha256} in the source, {got.rows} rows sha256 "
                            f"{got.sha256} in {target.where}; nothing was committed")
                summary = ", ".join(f"{c.table} {c.rows}" for c in copied)
                target.audit(now, by, "migrate", f"from {source.where}: {summary}; verified "
                             "by row counts and content digests")
    finally:
        target.close()
    return copied


def _copy(source: Registry, target: Registry, table: str) -> None:
    columns, _ = TABLES[table]
    target.insert_rows(table, columns, source.iter_rows(
        f"SELECT {', '.join(columns)} FROM {table} ORDER BY {TABLES[table][1]}",
        chunk=_COPY_CHUNK_ROWS))


def _rows(reg: Registry, table: str) -> Iterator[tuple]:
    columns, key = TABLES[table]
    select = f"SELECT {', '.join(columns)} FROM {table}"
    if table == "meta":
        yield from sorted(reg.query(select))
        return
    yield from reg.iter_rows(f"{select} ORDER BY {key}", chunk=_COPY_CHUNK_ROWS)


def _feed(h, row: Iterable) -> None:
    parts = []
    for value in row:
        if value is None:
            parts.append(b"N")
        elif isinstance(value, bool) or not isinstance(value, (int, str, bytes, memoryview)):
            raise CenterStateError(f"unexpected value of type {type(value).__name__} in a "
                                   "registry row")
        elif isinstance(value, int):
            parts.append(b"I" + struct.pack(">q", value))
        elif isinstance(value, str):
            data = value.encode("utf-8")
            parts.append(b"S" + struct.pack(">Q", len(data)) + data)
        else:
            data = bytes(value)
            parts.append(b"B" + struct.pack(">Q", len(data)) + data)
    h.update(struct.pack(">Q", len(parts)) + b"".join(parts))
