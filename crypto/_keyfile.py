"""Binary layout of key files (private: reached through ``CenterKeys``/``TerminalKeys``).

Layout, all integers big-endian::

    magic  b"HCKF"        4 bytes
    version u8            currently 1
    role    u8            1 = center (holds secrets that sign), 2 = terminal
    payload               role-specific, see keys.py
    check   8 bytes       first 8 bytes of SHA-256 over everything before it

The check catches corruption (a flipped bit in a key would otherwise surface much later as
an unexplained signature failure); it is not a security measure: key files are protected by
file permissions (``KEY_FILE_MODE``), not by this format.

Invariant: a reader consumes exactly the bytes present; short, long, corrupted, wrong-version
and wrong-role input all raise ``KeyFileError`` with a message that says which.
"""

from __future__ import annotations

import hashlib
import struct

from crypto.errors import KeyFileError

MAGIC = b"HCKF"
VERSION = 1
ROLE_CENTER = 1
ROLE_TERMINAL = 2
ROLE_NAMES = {ROLE_CENTER: "center", ROLE_TERMINAL: "terminal"}
# SHA-256 truncated to 64 bits: catches a damaged or truncated file (a typo-level check, not
# authentication: key files are protected by where they are kept).
CHECK_BYTES = 8
_PREFIX = struct.Struct(">4sBB")


def seal_file(role: int, payload: bytes) -> bytes:
    """Prefix magic, version and role to ``payload`` and append the check."""
    body = _PREFIX.pack(MAGIC, VERSION, role) + payload
    return body + hashlib.sha256(body).digest()[:CHECK_BYTES]


def open_file(data: bytes, role: int) -> bytes:
    """Return the payload of a key file of ``role``; ``KeyFileError`` on anything else."""
    data = bytes(data)
    if len(data) < _PREFIX.size + CHECK_BYTES:
        raise KeyFileError(f"key file is {len(data)} bytes, too short to be a hotcast key file")
    magic, version, found_role = _PREFIX.unpack_from(data)
    if magic != MAGIC:
        raise KeyFileError("not a hotcast key file (bad magic)")
    if version != VERSION:
        raise KeyFileError(f"key file version {version} is not supported (expected {VERSION})")
    if found_role != role:
        found = ROLE_NAMES.get(found_role, f"unknown role {found_role}")
        raise KeyFileError(f"this is a {found} key file, expected {ROLE_NAMES[role]} keys")
    body, check = data[:-CHECK_BYTES], data[-CHECK_BYTES:]
    if hashlib.sha256(body).digest()[:CHECK_BYTES] != check:
        raise KeyFileError("key file is corrupted (checksum mismatch)")
    return body[_PREFIX.size :]


class Reader:
    """Cursor over a payload; every read is bounds-checked and raises ``KeyFileError``."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def take(self, n: int, what: str) -> bytes:
        if self._pos + n > len(self._data):
            raise KeyFileError(f"key file truncated while reading {what}")
        out = self._data[self._pos : self._pos + n]
        self._pos += n
        return out

    def u16(self, what: str) -> int:
        return int.from_bytes(self.take(2, what), "big")

    def u32(self, what: str) -> int:
        return int.from_bytes(self.take(4, what), "big")

    def id_table(self, entry_bytes: int, what: str) -> tuple[tuple[int, bytes], ...]:
        """A u16 count then ``count`` × (u32 id, ``entry_bytes`` bytes)."""
        count = self.u16(f"{what} count")
        if count * (4 + entry_bytes) > len(self._data) - self._pos:
            raise KeyFileError(f"key file claims {count} {what} but is too short to hold them")
        return tuple((self.u32(what), self.take(entry_bytes, what)) for _ in range(count))

    def finish(self) -> None:
        if self._pos != len(self._data):
            raise KeyFileError(f"key file has {len(self._data) - self._pos} unexpected trailing bytes")


def pack_id_table(entries: tuple[tuple[int, bytes], ...]) -> bytes:
    """Inverse of :meth:`Reader.id_table`."""
    return struct.pack(">H", len(entries)) + b"".join(struct.pack(">I", i) + v for i, v in entries)
