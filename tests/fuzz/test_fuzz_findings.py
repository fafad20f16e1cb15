"""What fuzzing found, one test per finding, named after the attack (issue 6).

Each finding's raw reproducer is also kept in ``corpus/<target>/`` and replayed by
test_fuzz.py; the fixes landed in the files named in each test, so these are plain
regression tests now.
"""

from __future__ import annotations

import json
import random
import tracemalloc

import numpy as np
import pytest

from center.registry.home import DEFAULT_UNIVERSE
from framing import (
    Block, FrameHeader, FramingError, HotList, ListCapacityError, ListDelta, Reassembler,
    decode_delta, decode_list, encode_delta, encode_list,
)
from modem.errors import SampleFormatError, SampleRateError
from modem.formats import parse_sigmf_meta
from modem.rates import parse_hz
from receiver.store.state import DEFAULT_CAPACITY

MEMORY_BOUND = 64 << 20


def _forged(indices: list[int], bundle_bytes: int = 996, block_bytes: int = 761) -> list[Block]:
    rng = random.Random(0)
    k = -(-bundle_bytes // block_bytes)
    return [Block(FrameHeader(1, 7, b"\x66" * 8, i, k, 2 * k + 16, bundle_bytes, block_bytes),
                  rng.randbytes(block_bytes)) for i in indices]


def test_injected_blocks_with_a_length_not_a_multiple_of_8_do_not_panic_the_reassembler():
    """Three forged repair blocks (761 bytes, K=2) ended a listening receiver: the raptorq
    decoder panicked with a PanicException, which no ``except Exception`` catches. Fixed in
    framing/reassembly.py: such blocks are refused before the decoder sees them."""
    reasm = Reassembler()
    assert reasm.process(_forged([2, 3, 4])) == []
    assert reasm.stats.blocks_refused == 3 and reasm.stats.library_errors == 0
    assert reasm.pending() == []


def _peak_bytes(decode, data: bytes, **kwargs) -> int:
    tracemalloc.start()
    try:
        try:
            decode(data, **kwargs)
        except FramingError:
            pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _dense(n: int) -> HotList:
    return HotList(np.arange(n, dtype=np.uint64), np.zeros(n, np.uint8), np.zeros(n, np.uint16))


@pytest.fixture(scope="module")
def dense_bodies() -> dict[str, bytes]:
    """A list and a delta of 2 M consecutive IDs: one bit an entry, 244 KiB each."""
    return {"list": encode_list(_dense(2_000_000), DEFAULT_UNIVERSE),
            "delta": encode_delta(ListDelta(_dense(2_000_000), np.zeros(0, np.uint64)), DEFAULT_UNIVERSE)}


@pytest.mark.parametrize("kind, decode", [("list", decode_list), ("delta", decode_delta)])
def test_a_body_of_250_kib_claiming_2m_entries_does_not_take_94_mib(dense_bodies, kind, decode):
    """One bit an entry: the body of an 8 MiB bundle decoded into 3.1 GiB (issue 6). Fixed in
    framing/listcodec.py: decoding streams into one output array (16 bytes an entry)."""
    body = dense_bodies[kind]
    assert len(body) < 256 << 10
    assert _peak_bytes(decode, body, max_entries=DEFAULT_CAPACITY) <= MEMORY_BOUND


@pytest.mark.parametrize("kind, decode", [("list", decode_list), ("delta", decode_delta)])
def test_a_body_above_the_terminal_capacity_is_refused_before_it_is_decoded(dense_bodies, kind, decode):
    """The terminal's declared capacity is checked against the claimed count first: nothing
    in proportion to the claim is allocated."""
    with pytest.raises(ListCapacityError, match="2000000 entries, above the capacity of 1000000"):
        decode(dense_bodies[kind], max_entries=1_000_000)
    assert _peak_bytes(decode, dense_bodies[kind], max_entries=1_000_000) <= 1 << 20


def _sigmf(**glob) -> str:
    return json.dumps({"global": {"core:datatype": "cu8", "core:sample_rate": 1e6, **glob}})


def test_a_deeply_nested_sigmf_meta_is_a_format_error_not_a_recursion_error():
    """Fixed in modem/_sigmf.py: the nesting depth is checked before the JSON parser runs."""
    with pytest.raises(SampleFormatError, match="levels deep"):
        parse_sigmf_meta(_sigmf(x="P").replace('"P"', "[" * 100_000 + "]" * 100_000))


@pytest.mark.parametrize("field", ["sample_rate", "frequency"])
def test_a_sigmf_rate_of_ten_to_the_400_is_a_format_error_not_an_overflow(field):
    """Fixed in modem/_sigmf.py: numbers are compared before float() sees them."""
    huge = "1" + "0" * 400
    doc = _sigmf(**{"core:sample_rate": "R"}) if field == "sample_rate" else json.dumps(
        {"global": {"core:datatype": "cu8", "core:sample_rate": 1e6}, "captures": [{"core:frequency": "R"}]})
    with pytest.raises(SampleFormatError, match=f"core:{field} is an integer of 401 digits"):
        parse_sigmf_meta(doc.replace('"R"', huge))


def test_a_sigmf_datatype_that_is_an_object_is_a_format_error_not_a_type_error():
    """Fixed in modem/_sigmf.py: an unhashable datatype was looked up in a dict."""
    with pytest.raises(SampleFormatError, match="not supported"):
        parse_sigmf_meta(_sigmf(**{"core:datatype": {}}))


def test_a_rate_of_1e400_is_a_sample_rate_error_not_an_overflow():
    """``--rate 1e400`` went through float() to inf and int(inf) raised OverflowError; the
    shared parser refuses it by name (the CLI switches to it: see the report to the lead)."""
    with pytest.raises(SampleRateError, match="'1e400' is above"):
        parse_hz("1e400")
