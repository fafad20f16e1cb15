"""Byte cursor and varints shared by the hot-list codec (``listcodec``, ``rice``, ``entropy``).

Invariants:
- ``ByteReader`` never reads past its input and never allocates more than it has been shown:
  every ``take``/``varint`` checks the remaining length first and raises ``ListCodecError``
  naming the field (``what``) and the byte offset when the input is too short.
- Varints are unsigned LEB128 (7 value bits per byte, low group first), at most 10 bytes for a
  64-bit value (ceil(64 / 7) = 10), and minimal: a multi-byte varint whose last byte is 0x00 is
  refused, so every value has exactly one encoding.
"""

from __future__ import annotations

from .errors import ListCodecError

U64_MAX = (1 << 64) - 1
# ceil(64 / 7) = 10 groups of 7 bits hold any 64-bit value.
_MAX_VARINT_BYTES = 10


class ByteWriter:
    """Appends varints and raw bytes to a growing buffer; ``getvalue()`` returns ``bytes``."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def __repr__(self) -> str:
        return f"ByteWriter(length_bytes={len(self._buf)})"

    def varint(self, value: int) -> None:
        """Append ``value`` (0 <= value < 2**64) as a minimal LEB128 varint."""
        if not 0 <= value <= U64_MAX:
            raise ValueError(f"varint value {value} outside 0..2**64-1")
        while value >= 0x80:
            self._buf.append((value & 0x7F) | 0x80)
            value >>= 7
        self._buf.append(value)

    def raw(self, data: bytes) -> None:
        self._buf += data

    def getvalue(self) -> bytes:
        return bytes(self._buf)


class ByteReader:
    """Reads fields from ``data`` front to back with hard length checks."""

    def __init__(self, data: bytes) -> None:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"expected bytes, got {type(data).__name__}")
        self._data = bytes(data)
        self._pos = 0

    def __repr__(self) -> str:
        return f"ByteReader(length_bytes={len(self._data)}, pos={self._pos})"

    @property
    def remaining(self) -> int:
        """Bytes not yet read."""
        return len(self._data) - self._pos

    def take(self, n: int, what: str) -> bytes:
        """Return the next ``n`` bytes, or raise ``ListCodecError`` if fewer are left."""
        if n < 0 or n > self.remaining:
            raise ListCodecError(
                f"truncated {what}: needs {n} bytes at offset {self._pos}, "
                f"only {self.remaining} left"
            )
        out = self._data[self._pos : self._pos + n]
        self._pos += n
        return out

    def byte(self, what: str) -> int:
        return self.take(1, what)[0]

    def varint(self, what: str, limit: int = U64_MAX) -> int:
        """Read one minimal LEB128 varint, refusing values above ``limit``."""
        start = self._pos
        value = 0
        for i in range(_MAX_VARINT_BYTES):
            if self._pos >= len(self._data):
                raise ListCodecError(f"truncated {what}: varint at offset {start} runs off the end")
            b = self._data[self._pos]
            self._pos += 1
            value |= (b & 0x7F) << (7 * i)
            if not b & 0x80:
                if b == 0 and i > 0:
                    raise ListCodecError(f"non-minimal varint for {what} at offset {start}")
                if value > limit:
                    raise ListCodecError(
                        f"{what} = {value} at offset {start} exceeds limit {limit}"
                    )
                return value
        raise ListCodecError(f"varint for {what} at offset {start} is longer than 10 bytes")

    def finish(self, what: str) -> None:
        """Refuse trailing bytes after the last field of ``what``."""
        if self.remaining:
            raise ListCodecError(
                f"{self.remaining} trailing bytes after {what} at offset {self._pos}"
            )
