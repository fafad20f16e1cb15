"""Golomb-Rice code of a sorted set of ranks, fully vectorised with numpy.

A set of r distinct ranks 0 <= x_0 < x_1 < ... < x_{r-1} < U becomes gaps
g_0 = x_0, g_i = x_i - x_{i-1} - 1 (all >= 0, uint64: no overflow since the ranks are strictly
increasing). With parameter k each gap splits into a quotient q_i = g_i >> k, sent in unary, and
k low bits. The two parts go to two separate streams, so both are decodable without a per-ID
Python loop:

- unary stream: entry i is a 1 bit at position i + (q_0 + ... + q_i), quotients are the 0 bits
  before it; decoding is ``unpackbits`` + ``flatnonzero`` (by 1 MiB chunks, so memory follows
  r, not 8x the stream length). Its padding bits are 0 and its last
  byte holds the last 1 bit (one encoding only).
- low stream: the k low bits of every gap as fixed-width big-endian fields, split into a field
  of k - 32 bits and one of 32 bits when k > 56, so that a field plus its bit shift (<= 7)
  always fits a 64-bit word read by a gather of 8 bytes.

Cost: r * (k + 1) + sum(q_i) bits. For geometric gaps (a random set) the best k is near
log2(mean gap * ln 2) and the cost is within ~3 % of the geometric entropy, which is itself
log2 C(U, r) to first order; ``choose_k`` evaluates the exact cost of the few k around that.

Wire layout (after the entry count, which the caller writes): k as one byte, the unary stream
length as a varint, the unary bytes, then the low stream(s), whose lengths follow from r and k.
"""

from __future__ import annotations

import numpy as np

from ._codec_bytes import ByteReader, ByteWriter
from .errors import ListCodecError

# Gaps are 64-bit, so k never needs to exceed 63 (a gap < 2**64 then has a quotient <= 1).
MAX_K = 63
# A fixed-width field is at most 56 bits: 56 + 7 bits of in-byte shift = 63 fit the 64-bit word
# that one 8-byte gather reads. Wider k (57..63, only for gaps near 2**64) splits as k - 32, 32.
_MAX_FIELD_BITS = 56
_SPLIT_FIELD_BITS = 32
_PACK_CHUNK_FIELDS = 1 << 17
_UNARY_CHUNK_BYTES = 1 << 16  # 64 KiB of unary stream: at most 512 Ki entries (4 MiB) a chunk


def gaps_of(ranks: np.ndarray) -> np.ndarray:
    """Gaps (uint64, shape (r,)) of strictly increasing uint64 ranks, shape (r,)."""
    gaps = np.empty_like(ranks)
    if ranks.size:
        gaps[0] = ranks[0]
        np.subtract(ranks[1:], ranks[:-1], out=gaps[1:])
        gaps[1:] -= np.uint64(1)
    return gaps


def rice_cost_bits(gaps: np.ndarray, k: int) -> int:
    """Exact coded size in bits of ``gaps`` with parameter ``k`` (unary + low streams)."""
    quotient_sum = int(np.sum(gaps >> np.uint64(k), dtype=np.uint64)) if gaps.size else 0
    return gaps.size * (k + 1) + quotient_sum


def choose_k(gaps: np.ndarray, last_rank: int) -> int:
    """The k in 0..63 that minimises ``rice_cost_bits`` (searched around log2 of the mean gap)."""
    r = gaps.size
    if r == 0:
        return 0
    # sum of gaps = x_{r-1} - (r - 1): exact, no summation (and no uint64 overflow) needed.
    mean_gap = (last_rank - (r - 1)) / r
    centre = int(np.floor(np.log2(mean_gap + 1.0)))
    # For k >= centre - 2, sum(g >> k) <= sum(g) / 2**k <= 8 r (mean + 1): a safe uint64 sum.
    candidates = range(max(0, centre - 2), min(MAX_K, centre + 2) + 1)
    return min(candidates, key=lambda k: rice_cost_bits(gaps, k))


def _field_widths(k: int) -> list[int]:
    """Widths of the low-bit fields, most significant first, each <= 56 bits."""
    if k <= _MAX_FIELD_BITS:
        return [k] if k else []
    return [k - _SPLIT_FIELD_BITS, _SPLIT_FIELD_BITS]


def pack_fixed(values: np.ndarray, width: int) -> bytes:
    """Pack uint64 ``values`` (each < 2**width, width <= 56) as big-endian bit fields."""
    if values.size == 0 or width == 0:
        return b""
    parts = []
    # Chunks of a multiple of 8 fields end on a byte boundary (8 * width bits), so they pack
    # independently; 2**17 fields keep the (chunk, 64) bit matrix at 8 MiB.
    for start in range(0, values.size, _PACK_CHUNK_FIELDS):
        chunk = values[start : start + _PACK_CHUNK_FIELDS]
        big_endian = chunk.astype(">u8").view(np.uint8).reshape(chunk.size, 8)
        bits = np.unpackbits(big_endian, axis=1)[:, 64 - width :]
        parts.append(np.packbits(bits.ravel()).tobytes())
    return b"".join(parts)


def unpack_fixed(data: bytes, n: int, width: int, first: int = 0) -> np.ndarray:
    """Inverse of ``pack_fixed``: ``n`` uint64 fields of ``width`` bits from ``data``, starting
    at field ``first``."""
    if n == 0 or width == 0:
        return np.zeros(n, dtype=np.uint64)
    lo = first * width // 8
    hi = min(len(data), ((first + n) * width + 7) // 8)
    buf = np.zeros(hi - lo + 8, dtype=np.uint8)
    buf[: hi - lo] = np.frombuffer(data, dtype=np.uint8, count=hi - lo, offset=lo)
    offsets = np.arange(first, first + n, dtype=np.uint64) * np.uint64(width) - np.uint64(8 * lo)
    first_byte = (offsets >> np.uint64(3)).astype(np.intp)
    shift = offsets & np.uint64(7)
    # Gather the 8 bytes from each field's first byte as one big-endian 64-bit word.
    windows = np.lib.stride_tricks.sliding_window_view(buf, 8)
    words = windows[first_byte].view(">u8").ravel().astype(np.uint64)
    mask = np.uint64((1 << width) - 1)
    return (words >> (np.uint64(64 - width) - shift)) & mask


def encode_ranks(ranks: np.ndarray, writer: ByteWriter) -> None:
    """Write k, the unary stream and the low streams of strictly increasing uint64 ``ranks``."""
    r = ranks.size
    if r == 0:
        return
    gaps = gaps_of(ranks)
    k = choose_k(gaps, int(ranks[-1]))
    quotients = gaps >> np.uint64(k)
    # Position of entry i's 1 bit: i + q_0 + ... + q_i (bounded by the cost check in choose_k).
    ones = np.cumsum(quotients, dtype=np.uint64) + np.arange(r, dtype=np.uint64)
    unary_bits = int(ones[-1]) + 1
    bits = np.zeros(unary_bits, dtype=np.uint8)
    bits[ones.astype(np.int64)] = 1
    unary = np.packbits(bits).tobytes()
    writer.raw(bytes([k]))
    writer.varint(len(unary))
    writer.raw(unary)
    low = gaps & np.uint64((1 << k) - 1)  # k <= 63, so the mask fits
    remaining_bits = k
    for width in _field_widths(k):
        remaining_bits -= width
        field = (low >> np.uint64(remaining_bits)) & np.uint64((1 << width) - 1)
        writer.raw(pack_fixed(field, width))


def decode_ranks(reader: ByteReader, r: int, universe_size: int, what: str) -> np.ndarray:
    """Read what ``encode_ranks`` wrote for ``r`` ranks; uint64 array of shape (r,).

    ``r`` must already be checked against the input length by the caller. Refuses (with
    ``ListCodecError`` naming ``what``) any stream whose ranks overflow 64 bits or reach
    ``universe_size``, whose unary stream holds other than r entries or ends in a zero byte,
    or whose padding bits are not zero.

    Memory: the output (8 bytes an entry) and one chunk of working arrays: the unary stream is
    walked ``_UNARY_CHUNK_BYTES`` at a time and each chunk's entries become ranks at once, so a
    list of 10 M entries needs ~80 MB plus a few chunks (never 8x its size in temporaries).
    """
    if r == 0:
        return np.zeros(0, dtype=np.uint64)
    k = reader.byte(f"{what} Rice parameter")
    if k > MAX_K:
        raise ListCodecError(f"{what} Rice parameter k={k} exceeds {MAX_K}")
    # Each entry needs one unary 1 bit, so the unary stream holds at least ceil(r / 8) bytes.
    unary_len = reader.varint(f"{what} unary stream length", limit=reader.remaining)
    if unary_len * 8 < r:
        raise ListCodecError(f"{what} unary stream of {unary_len} bytes cannot hold {r} entries")
    widths = _field_widths(k)
    low_lens = [(r * width + 7) // 8 for width in widths]
    if unary_len + sum(low_lens) > reader.remaining:
        raise ListCodecError(
            f"truncated {what}: {r} entries with k={k} need {unary_len + sum(low_lens)} bytes, "
            f"only {reader.remaining} left"
        )
    unary = np.frombuffer(reader.take(unary_len, f"{what} unary stream"), dtype=np.uint8)
    lows = []
    for width, length in zip(widths, low_lens):
        data = reader.take(length, f"{what} low bits")
        if data[-1] & ((1 << (length * 8 - r * width)) - 1):
            raise ListCodecError(f"{what} low-bit stream has nonzero padding bits")
        lows.append((data, width))
    if not unary[-1]:
        raise ListCodecError(f"{what} unary stream has trailing zero bytes")
    ranks = np.empty(r, dtype=np.uint64)
    done = 0  # entries decoded so far
    prev_cum_q = 0  # q_0 + ... + q_{done-1}
    prev_rank = -1  # rank of entry done - 1
    for start in range(0, unary.size, _UNARY_CHUNK_BYTES):
        ones = np.flatnonzero(np.unpackbits(unary[start:start + _UNARY_CHUNK_BYTES]))
        if not ones.size:
            continue
        if done + ones.size > r:
            raise ListCodecError(f"{what} unary stream holds more entries, header says {r}")
        # Entry i's 1 bit sits at i + q_0 + ... + q_i: the cumulative quotient of each entry.
        cum_q = (ones.astype(np.uint64) + np.uint64(8 * start)) - np.arange(
            done, done + ones.size, dtype=np.uint64)
        gaps = np.diff(cum_q, prepend=np.uint64(prev_cum_q))
        prev_cum_q = int(cum_q[-1])
        del cum_q, ones
        if k and int(gaps.max()) >= 1 << (64 - k):
            raise ListCodecError(f"{what} gap quotient overflows 64 bits")
        gaps <<= np.uint64(k)
        remaining_bits = k
        for data, width in lows:
            remaining_bits -= width
            gaps |= unpack_fixed(data, gaps.size, width, first=done) << np.uint64(remaining_bits)
        ranks[done:done + gaps.size] = _ranks_from_gaps(gaps, prev_rank, universe_size, what)
        prev_rank = int(ranks[done + gaps.size - 1])
        done += gaps.size
    if done != r:
        raise ListCodecError(f"{what} unary stream holds {done} entries, header says {r}")
    return ranks


def _ranks_from_gaps(gaps: np.ndarray, prev_rank: int, universe_size: int,
                     what: str) -> np.ndarray:
    """Ranks x_i = prev + 1 + g_i + ... of one chunk (the first entry's x_0 = g_0 when no entry
    came before: ``prev_rank`` -1), refusing any uint64 wrap-around; ``gaps`` is consumed."""
    gaps[1:] += np.uint64(1)  # g = 2**64-1 wraps to a step of 0, caught below as non-increase
    first = int(gaps[0]) + prev_rank + 1
    if first >= 1 << 64:
        raise ListCodecError(f"{what} gaps overflow the 64-bit rank space")
    gaps[0] = first
    ranks = np.cumsum(gaps, dtype=np.uint64, out=gaps)
    if ranks.size > 1 and not bool(np.all(ranks[1:] > ranks[:-1])):
        raise ListCodecError(f"{what} gaps overflow the 64-bit rank space")
    if int(ranks[-1]) >= universe_size:
        raise ListCodecError(
            f"{what} rank {int(ranks[-1])} is outside the universe of size {universe_size}"
        )
    return ranks
