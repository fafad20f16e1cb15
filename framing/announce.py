"""The carousel announcement: which bundles are on air, so a receiver keeps reassembly room for
them and drops blocks of any other bundle early.

The center seals the announcement as a small signed ANNOUNCE bundle (``crypto``; framing only
defines the body). A receiver that verified one tells its ``Reassembler`` (``announce``): blocks
whose (stream, seq, digest, length) match an announced bundle are always admitted, and strangers
(an attacker's frames with valid CRCs and made-up digests, or a neighbour's carousel) compete
only among themselves for a small pool, so they can never evict a genuine bundle in progress.

Body layout (big-endian)::

    magic b"HCA" | version u8 (1) | count u8 (1..MAX_ANNOUNCED)   (5 bytes)
    count x (stream u8 | seq u64 | digest 8 B (BLAKE2b-64, as in frame headers) | bytes u32)

    21 bytes an entry: an announcement of 16 bundles is 5 + 336 = 341 bytes.

Invariant: ``decode_announcement`` accepts exactly what ``encode_announcement`` writes (sorted,
no two entries with one (stream, seq, digest)), else ``AnnouncementError`` naming the problem.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from framing.errors import AnnouncementError
from framing.frameformat import DIGEST_BYTES

__all__ = ["MAX_ANNOUNCED", "AnnouncedBundle", "decode_announcement", "encode_announcement"]

MAGIC = b"HCA"
VERSION = 1
MAX_ANNOUNCED = 64  # far above a carousel's few bundles (root sets, key set, rolls, lists)
_HEAD = struct.Struct(">3sBB")
_ENTRY = struct.Struct(f">BQ{DIGEST_BYTES}sI")  # 1 + 8 + 8 + 4 = 21 bytes


@dataclass(frozen=True, order=True)
class AnnouncedBundle:
    """One bundle on air as its frames name it."""

    stream: int
    seq: int
    digest: bytes
    bundle_bytes: int

    def __post_init__(self) -> None:
        if not 0 <= self.stream <= 255:
            raise ValueError(f"stream must be 0..255, got {self.stream}")
        if not 0 <= self.seq < 2**64:
            raise ValueError(f"seq must be a u64, got {self.seq}")
        if not isinstance(self.digest, bytes) or len(self.digest) != DIGEST_BYTES:
            raise ValueError(f"digest must be {DIGEST_BYTES} bytes")
        if not 1 <= self.bundle_bytes < 2**32:
            raise ValueError(f"bundle_bytes must be 1..2**32-1, got {self.bundle_bytes}")

    @property
    def key(self) -> tuple[int, int, bytes]:
        """(stream, seq, digest): what a frame header names."""
        return (self.stream, self.seq, self.digest)


def encode_announcement(entries: list[AnnouncedBundle]) -> bytes:
    """The body of an ANNOUNCE bundle listing ``entries`` (1..MAX_ANNOUNCED, distinct)."""
    unique = sorted(set(entries))
    if not 1 <= len(unique) <= MAX_ANNOUNCED or len(unique) != len(entries):
        raise ValueError(f"an announcement lists 1 to {MAX_ANNOUNCED} distinct bundles, "
                         f"got {len(entries)}")
    return _HEAD.pack(MAGIC, VERSION, len(unique)) + b"".join(
        _ENTRY.pack(e.stream, e.seq, e.digest, e.bundle_bytes) for e in unique)


def decode_announcement(body: bytes) -> tuple[AnnouncedBundle, ...]:
    """Inverse of ``encode_announcement``; ``AnnouncementError`` on anything else."""
    body = bytes(body)
    if len(body) < _HEAD.size:
        raise AnnouncementError(f"announcement is {len(body)} bytes, shorter than its header")
    magic, version, count = _HEAD.unpack_from(body)
    if magic != MAGIC:
        raise AnnouncementError("not a carousel announcement (bad magic)")
    if version != VERSION:
        raise AnnouncementError(f"announcement version {version} is not supported (expected "
                                f"{VERSION})")
    if not 1 <= count <= MAX_ANNOUNCED:
        raise AnnouncementError(f"announcement lists {count} bundles, want 1..{MAX_ANNOUNCED}")
    if len(body) != _HEAD.size + count * _ENTRY.size:
        raise AnnouncementError(f"announcement of {count} bundles must be "
                                f"{_HEAD.size + count * _ENTRY.size} bytes, got {len(body)}")
    try:
        entries = tuple(AnnouncedBundle(*_ENTRY.unpack_from(body, _HEAD.size + i * _ENTRY.size))
                        for i in range(count))
    except ValueError as exc:
        raise AnnouncementError(f"announcement entry is impossible: {exc}") from None
    if list(entries) != sorted(set(entries)):
        raise AnnouncementError("announcement entries are not sorted and distinct")
    return entries
