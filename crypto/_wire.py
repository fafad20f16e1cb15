"""Bounded reading and writing of the big-endian integers and tables every crypto format uses.

``Reader`` is a cursor over bytes that raises the caller's typed error (``BundleFormatError``,
``MetadataFormatError``, ``KeyFileError``) on every short read, every count that cannot fit
in what is left, every integer above its bound and any trailing byte, so a parser written
with it lets no ``IndexError``, ``struct.error`` or ``OverflowError`` out.

Bounds shared by every format:
- ``MAX_U32`` = 2**32 - 1 for key ids, versions and epochs (4-byte fields);
- ``MAX_TIME`` = 2**63 - 1 for times and sequence numbers (8-byte fields): the largest value
  an SQLite INTEGER (a signed 64-bit integer, sqlite.org/datatype3.html section 2) can hold,
  so whatever a parser accepts, the stores can keep.
"""

from __future__ import annotations

MAX_U32 = 2**32 - 1
MAX_TIME = 2**63 - 1


class Reader:
    """Cursor over ``data``; every read is bounds-checked and raises ``error(message)``."""

    def __init__(self, data: bytes, error: type[Exception], what: str) -> None:
        self._data = bytes(data)
        self._pos = 0
        self._error = error
        self._what = what

    def fail(self, message: str) -> Exception:
        """The typed error for ``message``, prefixed with what is being read (raise it)."""
        return self._error(f"{self._what}: {message}")

    @property
    def remaining(self) -> int:
        return len(self._data) - self._pos

    def take(self, n: int, field: str) -> bytes:
        if n > self.remaining:
            raise self.fail(f"truncated while reading {field} ({n} bytes needed, {self.remaining} left)")
        out = self._data[self._pos : self._pos + n]
        self._pos += n
        return out

    def uint(self, size: int, field: str, top: int | None = None) -> int:
        """A big-endian unsigned integer of ``size`` bytes, refused above ``top``."""
        value = int.from_bytes(self.take(size, field), "big")
        if top is not None and value > top:
            raise self.fail(f"{field} {value} is above its limit {top}")
        return value

    def u8(self, field: str) -> int:
        return self.uint(1, field)

    def u16(self, field: str) -> int:
        return self.uint(2, field)

    def u32(self, field: str) -> int:
        return self.uint(4, field)

    def time(self, field: str) -> int:
        """An 8-byte time or sequence number, at most ``MAX_TIME``."""
        return self.uint(8, field, MAX_TIME)

    def count(self, size: int, field: str, entry_bytes: int, top: int) -> int:
        """A table count of ``size`` bytes, at most ``top`` and small enough to fit what is left."""
        n = self.uint(size, f"{field} count", top)
        if n * entry_bytes > self.remaining:
            raise self.fail(f"claims {n} {field} but is too short to hold them")
        return n

    def finish(self) -> None:
        if self.remaining:
            raise self.fail(f"{self.remaining} unexpected trailing bytes")


def u8(value: int) -> bytes:
    return value.to_bytes(1, "big")


def u16(value: int) -> bytes:
    return value.to_bytes(2, "big")


def u32(value: int) -> bytes:
    return value.to_bytes(4, "big")


def u64(value: int) -> bytes:
    return value.to_bytes(8, "big")


def check_uint(name: str, value: int, top: int, bottom: int = 0) -> None:
    """``ValueError`` naming ``name`` unless ``value`` is an int (not a bool) in [bottom, top]."""
    if not isinstance(value, int) or isinstance(value, bool) or not bottom <= value <= top:
        raise ValueError(f"{name} must be an integer in [{bottom}, {top}], got {value!r}")
