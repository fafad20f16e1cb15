"""Byte interleaver: inverse, permutation, and how a burst spreads over codewords."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from framing.interleave import ByteInterleaver
from framing.profiles import frame_config


@given(st.lists(st.integers(1, 300), min_size=1, max_size=6), st.integers(0, 2**32 - 1))
def test_deinterleave_inverts_interleave(lengths, seed):
    il = ByteInterleaver(tuple(lengths))
    data = np.random.default_rng(seed).integers(0, 256, sum(lengths), dtype=np.uint8)
    air = il.interleave(data)
    assert sorted(air.tolist()) == sorted(data.tolist())
    assert np.array_equal(il.deinterleave(air), data)
    assert np.array_equal(il.interleave(il.deinterleave(data)), data)


def test_batch_rows():
    il = ByteInterleaver((3, 5))
    rows = np.arange(16, dtype=np.uint8).reshape(2, 8)
    assert np.array_equal(il.deinterleave(il.interleave(rows)), rows)


def test_column_order():
    il = ByteInterleaver((2, 3))
    # codeword 0 = [0, 1], codeword 1 = [2, 3, 4]; air: col 0 (0, 2), col 1 (1, 3), col 2 (4)
    assert il.interleave(np.arange(5, dtype=np.uint8)).tolist() == [0, 2, 1, 3, 4]


def test_burst_spreads_over_codewords_fm():
    cfg = frame_config("fm")
    lengths = (cfg.header_codeword_bytes,) + (cfg.rs_codeword_bytes,) * cfg.codewords_per_frame
    il = ByteInterleaver(lengths)
    owner = il.interleave(np.repeat(np.arange(len(lengths)), lengths).astype(np.uint8))
    burst = 16  # 3 ms at 38 kbit/s = 114 bits, straddling byte boundaries: 16 bytes
    for start in range(owner.size - burst + 1):
        counts = np.bincount(owner[start:start + burst], minlength=len(lengths))
        assert counts.max() <= 4


def test_rejects_bad_lengths():
    with pytest.raises(ValueError):
        ByteInterleaver(())
    with pytest.raises(ValueError):
        ByteInterleaver((3, 0))
    with pytest.raises(ValueError):
        ByteInterleaver((3,)).interleave(np.zeros(4, dtype=np.uint8))
