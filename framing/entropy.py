"""Static entropy code for a small-alphabet column (reason codes, expiry months).

The column is coded against its own empirical distribution, sent in the header, with the
``constriction`` ANS coder (``constriction.stream.stack.AnsCoder`` and a
``constriction.stream.model.Categorical`` built with ``perfect=False``, the same on both sides).
No adaptation: the cost is the empirical entropy of the column plus the ANS tail (<= 64 bits)
and the small quantisation loss of 24-bit probabilities, plus the table.

Wire layout: varint n_distinct; per distinct value, ascending: varint (value - previous - 1,
previous = -1 before the first), varint count (>= 1); then, only when n_distinct >= 2, varint
n_words and n_words little-endian uint32 ANS words. A constant column (all ``stolen``, or no
expiry anywhere) is thus one value and one count: 3 to 5 bytes and no coded data at all.

Invariants: the decoder allocates nothing until the table and the word count are checked
against the bytes left; the decoded symbols must reproduce the header's counts exactly and use
up the ANS stream, which rejects almost every corruption of the coded words.
"""

from __future__ import annotations

import constriction
import numpy as np

from ._codec_bytes import ByteReader, ByteWriter
from .errors import ListCodecError

# Smallest encoding of one table row: a 1-byte value varint and a 1-byte count varint.
_MIN_ROW_BYTES = 2
_WORD_BYTES = 4  # constriction's AnsCoder emits 32-bit words


def _model(counts: np.ndarray):
    return constriction.stream.model.Categorical(
        counts.astype(np.float64) / float(counts.sum()), perfect=False
    )


def encode_column(values: np.ndarray, writer: ByteWriter) -> None:
    """Write the table and ANS words of a 1-D unsigned integer column (uint8 or uint16)."""
    # Small alphabets (4 reasons, 2**16 month codes): a bincount beats sorting by far.
    all_counts = np.bincount(values, minlength=1) if values.size else np.zeros(0, np.int64)
    distinct = np.flatnonzero(all_counts)
    counts = all_counts[distinct]
    writer.varint(distinct.size)
    previous = -1
    for value, count in zip(distinct.tolist(), counts.tolist()):
        writer.varint(value - previous - 1)
        writer.varint(count)
        previous = value
    if distinct.size < 2:
        return
    symbol_of = np.zeros(all_counts.size, dtype=np.int32)
    symbol_of[distinct] = np.arange(distinct.size, dtype=np.int32)
    coder = constriction.stream.stack.AnsCoder()
    coder.encode_reverse(symbol_of[values], _model(counts))
    words = coder.get_compressed().astype("<u4")
    writer.varint(words.size)
    writer.raw(words.tobytes())


def decode_column(
    reader: ByteReader, r: int, alphabet_size: int, dtype: type, what: str
) -> np.ndarray:
    """Read a column of ``r`` values below ``alphabet_size``; array of ``dtype``, shape (r,).

    ``r`` must already be checked against the input (the caller decodes the IDs first).
    """
    n_distinct = reader.varint(f"{what} table size")
    if n_distinct > min(alphabet_size, r) or (r and n_distinct == 0):
        raise ListCodecError(f"{what} table size {n_distinct} is impossible for {r} entries")
    if n_distinct * _MIN_ROW_BYTES > reader.remaining:
        raise ListCodecError(
            f"truncated {what}: table of {n_distinct} rows needs at least "
            f"{n_distinct * _MIN_ROW_BYTES} bytes, only {reader.remaining} left"
        )
    table: list[int] = []
    counts: list[int] = []
    previous = -1
    for _ in range(n_distinct):
        value = previous + 1 + reader.varint(f"{what} table value", limit=alphabet_size)
        count = reader.varint(f"{what} table count", limit=r)
        if value >= alphabet_size or count == 0:
            raise ListCodecError(f"{what} table row value={value} count={count} is invalid")
        table.append(value)
        counts.append(count)
        previous = value
    if sum(counts) != r:
        raise ListCodecError(f"{what} table counts sum to {sum(counts)}, expected {r}")
    if n_distinct < 2:
        return np.full(r, table[0] if table else 0, dtype=dtype)
    n_words = reader.varint(f"{what} word count", limit=reader.remaining // _WORD_BYTES)
    words = np.frombuffer(reader.take(n_words * _WORD_BYTES, f"{what} words"), dtype="<u4")
    count_array = np.array(counts, dtype=np.int64)
    try:
        coder = constriction.stream.stack.AnsCoder(words.astype(np.uint32))
        symbols = coder.decode(_model(count_array), r)
        exhausted = coder.is_empty()
    except (ValueError, RuntimeError, OverflowError) as exc:
        raise ListCodecError(f"{what} ANS stream is corrupt: {exc}") from exc
    if not exhausted:
        raise ListCodecError(f"{what} ANS stream has data left after {r} symbols")
    if not np.array_equal(np.bincount(symbols, minlength=n_distinct), count_array):
        raise ListCodecError(f"{what} decoded symbols do not match the table counts")
    return np.array(table, dtype=dtype)[symbols]
