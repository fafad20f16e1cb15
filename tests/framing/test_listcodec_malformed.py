"""Malformed input: every truncation, garbage, bit flip or lie raises ListCodecError only."""

import tracemalloc

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from framing import (
    HotList,
    ListCodecError,
    ListDelta,
    Universe,
    decode_delta,
    decode_list,
    encode_delta,
    encode_list,
)
from framing._codec_bytes import ByteWriter
from framing.listcodec import MAX_UNIVERSE_RANGES

U64_MAX = 2**64 - 1
HEADER = b"HCL\x01"


def rich_list(r=300, seed=3):
    rng = np.random.default_rng(seed)
    ids = np.unique(rng.integers(0, U64_MAX, size=r, dtype=np.uint64, endpoint=True))
    n = ids.size
    reasons = rng.integers(0, 4, size=n).astype(np.uint8)
    expiry = np.where(rng.random(n) < 0.5, 0, rng.integers(300, 330, size=n)).astype(np.uint16)
    return HotList(ids, reasons, expiry)


LIST_BYTES = encode_list(rich_list(), Universe.full())
DELTA_BYTES = encode_delta(
    ListDelta(added=rich_list(50, 4), removed=np.array([5, 7, U64_MAX], np.uint64)),
    Universe.full(),
)
SMALL_UNIVERSE_LIST = encode_list(
    HotList([1000, 1005, 1999], [0, 1, 0], [0, 0, 7]), Universe.parse("1000-1999,5000-5999")
)


def decode_any(data):
    """Decode as list and as delta; each must succeed or raise ListCodecError only."""
    for decode in (decode_list, decode_delta):
        try:
            decode(data)
        except ListCodecError:
            pass


@pytest.mark.parametrize("encoded", [LIST_BYTES, DELTA_BYTES, SMALL_UNIVERSE_LIST])
def test_every_truncation_is_refused(encoded):
    decode = decode_delta if encoded is DELTA_BYTES else decode_list
    for cut in range(len(encoded)):
        with pytest.raises(ListCodecError):
            decode(encoded[:cut])


@pytest.mark.parametrize("encoded", [LIST_BYTES, DELTA_BYTES, SMALL_UNIVERSE_LIST])
def test_trailing_bytes_are_refused(encoded):
    decode = decode_delta if encoded is DELTA_BYTES else decode_list
    with pytest.raises(ListCodecError, match="trailing"):
        decode(encoded + b"\x00")


def test_bad_magic_version_and_kind_are_named():
    with pytest.raises(ListCodecError, match="magic"):
        decode_list(b"XYZ" + LIST_BYTES[3:])
    with pytest.raises(ListCodecError, match="version"):
        decode_list(HEADER[:3] + b"\x02" + LIST_BYTES[4:])
    with pytest.raises(ListCodecError, match="kind"):
        decode_list(DELTA_BYTES)
    with pytest.raises(ListCodecError, match="kind"):
        decode_delta(LIST_BYTES)


def claim(count):
    """A list header over the full universe that claims ``count`` entries and carries 3 bytes."""
    w = ByteWriter()
    w.raw(HEADER + b"\x01")
    w.varint(1)
    w.varint(0)
    w.varint(U64_MAX)
    w.varint(count)
    w.raw(b"\x05\x01\x80")
    return w.getvalue()


@pytest.mark.parametrize("count", [2**40, 2**26 - 1, 1000])  # above and below MAX_ENTRIES
def test_claim_of_more_entries_than_carried_is_refused_before_allocating(count):
    tracemalloc.start()
    try:
        with pytest.raises(ListCodecError, match=f"count {count} exceeds"):
            decode_list(claim(count))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


def test_claim_of_many_universe_ranges_is_refused():
    w = ByteWriter()
    w.raw(HEADER + b"\x01")
    w.varint(2**40)
    with pytest.raises(ListCodecError, match="range count"):
        decode_list(w.getvalue() + b"\x00" * 8)


def test_unary_stream_longer_than_the_input_is_refused():
    w = ByteWriter()
    w.raw(HEADER + b"\x01")
    for v in (1, 0, U64_MAX, 3):  # one range, 3 entries
        w.varint(v)
    w.raw(b"\x3c")  # k = 60
    w.varint(10**6)  # unary stream length far beyond the input
    with pytest.raises(ListCodecError, match="unary stream length"):
        decode_list(w.getvalue() + b"\xff" * 40)


def test_universe_with_too_many_ranges_is_refused_at_encode():
    u = Universe(tuple((3 * i, 3 * i) for i in range(MAX_UNIVERSE_RANGES + 1)))
    with pytest.raises(ValueError, match="ranges"):
        encode_list(HotList.empty(), u)


def test_unary_stream_with_more_ones_than_entries_is_refused():
    w = ByteWriter()
    w.raw(HEADER + b"\x01")
    for v in (1, 0, 1000, 2):  # universe 0-1000, 2 entries
        w.varint(v)
    w.raw(b"\x00")  # k = 0: no low bits
    w.varint(1)
    w.raw(b"\xe0")  # three 1 bits
    with pytest.raises(ListCodecError, match="unary stream holds more entries"):
        decode_list(w.getvalue() + b"\x01\x00\x02\x01\x00\x02")


def test_non_minimal_varint_is_refused():
    tampered = HEADER + b"\x01" + b"\x81\x00" + LIST_BYTES[6:]
    with pytest.raises(ListCodecError, match="non-minimal"):
        decode_list(tampered)


def test_universe_range_past_2_to_the_64_is_refused():
    w = ByteWriter()
    w.raw(HEADER + b"\x01")
    for v in (2, 0, 10, U64_MAX - 5, 10):  # second range starts at 17 + 2**64-5 - 5
        w.varint(v)
    w.varint(0)
    with pytest.raises(ListCodecError, match="2\\*\\*64-1"):
        decode_list(w.getvalue())


@given(st.binary(max_size=200))
def test_random_garbage_raises_only_list_codec_error(data):
    decode_any(data)


@given(st.binary(max_size=120))
def test_garbage_after_a_valid_header_raises_only_list_codec_error(tail):
    decode_any(LIST_BYTES[:6] + tail)
    decode_any(DELTA_BYTES[:6] + tail)


@given(st.integers(0, 8 * len(LIST_BYTES) - 1), st.integers(0, 8 * len(LIST_BYTES) - 1))
def test_bit_flips_raise_only_list_codec_error(bit_a, bit_b):
    for encoded in (LIST_BYTES, SMALL_UNIVERSE_LIST):
        tampered = bytearray(encoded)
        for bit in (bit_a % (8 * len(encoded)), bit_b % (8 * len(encoded))):
            tampered[bit // 8] ^= 0x80 >> (bit % 8)
        try:
            universe, hot = decode_list(bytes(tampered))
        except ListCodecError:
            continue
        # Whatever decodes is a valid list inside its universe.
        assert bool(np.all(universe.contains(hot.ids)))


def test_decode_refuses_non_bytes():
    with pytest.raises(TypeError):
        decode_list("HCL")
