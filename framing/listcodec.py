"""Compact wire form of a hot list (FULL bundle body) and of a delta (DELTA bundle body).

Layout (varints are minimal LEB128, see ``_codec_bytes``):

    magic  b"HCL"  | version 1 (1 byte) | kind (1 byte: 1 = list, 2 = delta)
    universe       varint n_ranges; varint lo_0; varint hi_0 - lo_0; then per further range
                   varint lo_i - hi_{i-1} - 2 (ranges never touch); varint hi_i - lo_i
    entries        varint r; Rice-coded ranks of the IDs (``rice``); reason column and expiry
                   column (``entropy``, each against its own empirical counts)
    [delta only]   varint r_removed; Rice-coded ranks of the removed IDs

A list is one ``entries`` section (its changed-or-new entries for a delta). IDs are coded as
their ranks in the universe, so the ID set costs about log2 C(U, r) bits (``bound_bits``).

Invariants: decoding never allocates in proportion to a count before checking the count against
the bytes left (every entry costs at least one bit of the Rice unary stream, so r <= 8 * bytes
left); any truncation, garbage, non-canonical field or trailing byte raises ``ListCodecError``
naming what was wrong; ``decode_list(encode_list(h, u))`` returns ``(u, h)`` exactly.
"""

from __future__ import annotations


import numpy as np

from ._codec_bytes import U64_MAX, ByteReader, ByteWriter
from .entropy import decode_column, encode_column
from .errors import ListCapacityError, ListCodecError
from .hotlist import HotList, ListDelta, Reason
from .rice import decode_ranks, encode_ranks
from .universe import Universe

__all__ = ["bound_bits", "decode_delta", "decode_list", "encode_delta", "encode_list"]

MAGIC = b"HCL"
VERSION = 1
_KIND_LIST = 1
_KIND_DELTA = 2
_REASON_ALPHABET = len(Reason)
_EXPIRY_ALPHABET = 1 << 16  # uint16 month codes
# Hard limits, checked at encode (ValueError) and decode (ListCodecError). 2**26 = 67 M entries
# is 5.7x the 11.7 M revocations of Mozilla's clubcards and decodes to ~0.75 GB (11 bytes an
# entry); 4096 issuer ranges is far more than a card scheme declares.
MAX_ENTRIES = 1 << 26
MAX_UNIVERSE_RANGES = 4096
# Smallest encoding of one universe range: two 1-byte varints.
_MIN_RANGE_BYTES = 2
_BOUND_CHUNK = 1 << 20  # terms per chunk when summing log2 C(U, r)


def bound_bits(universe_size: int, r: int) -> float:
    """log2 C(U, r): the information-theoretic size in bits of an r-subset of U IDs.

    Summed as sum_{i<r} log2((U - i) / (r - i)) in chunks, exact to float64 rounding even for
    U = 2**64, where lgamma differences would cancel catastrophically.
    """
    if not 0 <= r <= universe_size:
        raise ValueError(f"r={r} must be in 0..universe_size={universe_size}")
    r = min(r, universe_size - r)  # C(U, r) = C(U, U - r)
    total = 0.0
    for start in range(0, r, _BOUND_CHUNK):
        i = np.arange(start, min(r, start + _BOUND_CHUNK), dtype=np.float64)
        total += float(np.sum(np.log2((float(universe_size) - i) / (r - i))))
    return total


def _check_ids(ids: np.ndarray, universe: Universe, what: str) -> np.ndarray:
    inside = universe.contains(ids)
    if not bool(np.all(inside)):
        bad = int(ids[~inside][0])
        raise ValueError(f"{what}: card ID {bad} is outside the universe {universe}")
    return universe.rank(ids)


def _write_header(writer: ByteWriter, kind: int, universe: Universe) -> None:
    if len(universe.ranges) > MAX_UNIVERSE_RANGES:
        raise ValueError(
            f"universe has {len(universe.ranges)} ranges, at most {MAX_UNIVERSE_RANGES}"
        )
    writer.raw(MAGIC + bytes([VERSION, kind]))
    writer.varint(len(universe.ranges))
    previous_hi = None
    for lo, hi in universe.ranges:
        writer.varint(lo if previous_hi is None else lo - previous_hi - 2)
        writer.varint(hi - lo)
        previous_hi = hi


def _read_header(reader: ByteReader, kind: int) -> Universe:
    magic = reader.take(len(MAGIC), "magic")
    if magic != MAGIC:
        raise ListCodecError(f"bad magic {magic!r}, expected {MAGIC!r}")
    version = reader.byte("version")
    if version != VERSION:
        raise ListCodecError(f"unsupported list codec version {version}, expected {VERSION}")
    got_kind = reader.byte("kind")
    if got_kind != kind:
        raise ListCodecError(f"encoded kind {got_kind} where kind {kind} was expected")
    n_ranges = reader.varint("universe range count")
    if not 0 < n_ranges <= MAX_UNIVERSE_RANGES or n_ranges * _MIN_RANGE_BYTES > reader.remaining:
        raise ListCodecError(
            f"universe range count {n_ranges} is zero, above {MAX_UNIVERSE_RANGES} or exceeds "
            f"the {reader.remaining} bytes left"
        )
    ranges = []
    previous_hi = None
    for _ in range(n_ranges):
        step = reader.varint("universe range start")
        lo = step if previous_hi is None else previous_hi + 2 + step
        hi = lo + reader.varint("universe range length")
        if hi > U64_MAX:
            raise ListCodecError(f"universe range {lo}-{hi} runs past 2**64-1")
        ranges.append((lo, hi))
        previous_hi = hi
    return Universe(tuple(ranges))


def _write_count(writer: ByteWriter, r: int, what: str) -> None:
    if r > MAX_ENTRIES:
        raise ValueError(f"{what}: {r} entries, at most {MAX_ENTRIES}")
    writer.varint(r)


def _write_entries(writer: ByteWriter, hot: HotList, universe: Universe, what: str) -> None:
    ranks = _check_ids(hot.ids, universe, what)
    _write_count(writer, len(hot), what)
    encode_ranks(ranks, writer)
    encode_column(hot.reasons, writer)
    encode_column(hot.expiry, writer)


def _read_count(reader: ByteReader, universe: Universe, what: str, max_entries: int) -> int:
    # Every entry costs at least one unary bit, so a count above 8 * bytes left is a lie. The
    # count is checked against the caller's capacity before anything is allocated for it.
    r = reader.varint(f"{what} count")
    if r > 8 * reader.remaining or r > universe.size or r > MAX_ENTRIES:
        raise ListCodecError(
            f"{what} count {r} exceeds what {reader.remaining} bytes, the universe or the limit "
            f"of {MAX_ENTRIES} entries allow"
        )
    if r > max_entries:
        raise ListCapacityError(f"{what}: {r} entries, above the capacity of {max_entries}")
    return r


def _read_ids(reader: ByteReader, universe: Universe, r: int, what: str) -> np.ndarray:
    ranks = decode_ranks(reader, r, universe.size, what)
    return universe.unrank(ranks, in_place=True)


def _read_entries(reader: ByteReader, universe: Universe, what: str, max_entries: int) -> HotList:
    r = _read_count(reader, universe, what, max_entries)
    ids = _read_ids(reader, universe, r, what)
    reasons = decode_column(reader, r, _REASON_ALPHABET, np.uint8, f"{what} reasons")
    expiry = decode_column(reader, r, _EXPIRY_ALPHABET, np.uint16, f"{what} expiry")
    return HotList.decoded(ids, reasons, expiry)


def encode_list(hot: HotList, universe: Universe) -> bytes:
    """Body of a FULL bundle: ``universe`` and every entry of ``hot``.

    ``ValueError`` if an ID lies outside ``universe``.
    """
    writer = ByteWriter()
    _write_header(writer, _KIND_LIST, universe)
    _write_entries(writer, hot, universe, "list entries")
    return writer.getvalue()


def decode_list(data: bytes, max_entries: int = MAX_ENTRIES) -> tuple[Universe, HotList]:
    """Inverse of ``encode_list``; ``ListCodecError`` on any malformed input,
    ``ListCapacityError`` (before decoding them) for more than ``max_entries`` entries."""
    reader = ByteReader(data)
    universe = _read_header(reader, _KIND_LIST)
    hot = _read_entries(reader, universe, "list entries", max_entries)
    reader.finish("the list")
    return universe, hot


def encode_delta(delta: ListDelta, universe: Universe) -> bytes:
    """Body of a DELTA bundle: ``universe``, added entries, removed IDs.

    ``ValueError`` if an ID lies outside ``universe``.
    """
    writer = ByteWriter()
    _write_header(writer, _KIND_DELTA, universe)
    _write_entries(writer, delta.added, universe, "added entries")
    ranks = _check_ids(delta.removed, universe, "removed IDs")
    _write_count(writer, ranks.size, "removed IDs")
    encode_ranks(ranks, writer)
    return writer.getvalue()


def decode_delta(data: bytes, max_entries: int = MAX_ENTRIES) -> tuple[Universe, ListDelta]:
    """Inverse of ``encode_delta``; ``ListCodecError`` on any malformed input,
    ``ListCapacityError`` (before decoding them) for more than ``max_entries`` added or
    removed entries."""
    reader = ByteReader(data)
    universe = _read_header(reader, _KIND_DELTA)
    added = _read_entries(reader, universe, "added entries", max_entries)
    r = _read_count(reader, universe, "removed IDs", max_entries)
    removed = _read_ids(reader, universe, r, "removed IDs")
    reader.finish("the delta")
    try:
        delta = ListDelta(added=added, removed=removed)
    except ValueError as exc:
        raise ListCodecError(f"delta is inconsistent: {exc}") from exc
    return universe, delta
