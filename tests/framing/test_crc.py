"""CRC-32C: standard check value, equality with a bitwise reference, batch rows."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from framing.crc import CHECK_VALUE, crc32c, crc32c_numpy, crc32c_rows


def reference_crc32c(data: bytes) -> int:
    reg = 0xFFFFFFFF
    for byte in data:
        reg ^= byte
        for _ in range(8):
            reg = (reg >> 1) ^ 0x82F63B78 if reg & 1 else reg >> 1
    return reg ^ 0xFFFFFFFF


def test_check_value():
    assert CHECK_VALUE == 0xE3069283
    assert crc32c(b"123456789") == CHECK_VALUE
    assert crc32c_numpy(b"123456789") == CHECK_VALUE


def test_empty_input_is_zero():
    assert crc32c(b"") == 0
    assert crc32c_numpy(b"") == 0


def test_chunk_boundaries_match_reference():
    rng = np.random.default_rng(3)
    for n in (1, 1023, 1024, 1025, 2048, 2049, 5000):
        data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        assert crc32c_numpy(data) == reference_crc32c(data), n
        assert crc32c(np.frombuffer(data, dtype=np.uint8)) == reference_crc32c(data), n


@given(st.binary(max_size=2100))
def test_matches_reference(data):
    assert crc32c_numpy(data) == reference_crc32c(data)
    assert crc32c(data) == reference_crc32c(data)


@given(st.integers(0, 1024), st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_rows_match_single(length, nrows, seed):
    rows = np.random.default_rng(seed).integers(0, 256, (nrows, length), dtype=np.uint8)
    got = crc32c_rows(rows)
    assert got.dtype == np.uint32
    assert [int(v) for v in got] == [crc32c_numpy(r.tobytes()) for r in rows]


def test_single_bit_flip_changes_crc():
    data = bytearray(np.random.default_rng(5).integers(0, 256, 764, dtype=np.uint8).tobytes())
    base = crc32c(bytes(data))
    for bit in range(0, 764 * 8, 97):
        data[bit // 8] ^= 1 << (bit % 8)
        assert crc32c(bytes(data)) != base
        data[bit // 8] ^= 1 << (bit % 8)
