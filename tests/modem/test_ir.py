"""Profile `ir`: code constraints, clean identity, chunk invariance, each impairment at its stated
level (seeded), carousel files with gaps, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modem.impairments import IrChannelConfig, apply_ir_channel, marks_of
from modem.ir import IR, IrConfig, IrDemodulator, IrModulator
from modem.irtext import MAX_FILE_US, MAX_FILE_VALUES, ir_carousel_files, parse_ir_text

CYCLE_US = 1e6 / 38_000


def bits_for(seconds, seed=1):
    return np.random.default_rng(seed).integers(0, 2, int(IR.bits_per_second * seconds)).astype(np.uint8)


def modulate(bits):
    mod = IrModulator(IR)
    return np.concatenate((mod.process(bits), mod.flush()))


def demodulate(d):
    dem = IrDemodulator(IR)
    return np.concatenate((dem.process(d), dem.flush())), dem.stats


def aligned_ber(llr, bits, probe=480):
    """BER after finding where the output starts in the sent bits (whole blocks)."""
    hard = llr < 0
    per = IR.bits_per_block
    for k in range(0, len(bits) // per):
        if np.mean(hard[:probe] != bits[k * per : k * per + probe].astype(bool)) < 0.1:
            n = min(len(hard), len(bits) - k * per)
            return float(np.mean(hard[:n] != bits[k * per : k * per + n].astype(bool))), k
    raise AssertionError("output not found in the sent bits")


def test_rates_and_tsop_limits():
    assert IR.bits_per_second >= 2_000
    assert IR.bursts_per_second <= 800
    d = modulate(bits_for(5))
    marks, spaces = d[d > 0], -d[d < 0]
    assert marks.min() >= 10 * CYCLE_US and spaces.min() >= 14 * CYCLE_US
    seconds = np.sum(np.abs(d)) / 1e6
    assert len(marks) / seconds <= 800
    assert d[0] > 0 and d[-1] > 0 and np.all(np.sign(d[1:]) != np.sign(d[:-1]))


def test_all_zero_data_is_whitened():
    d = IrModulator(IR).process(np.zeros(48 * 200, dtype=np.uint8))
    assert np.sum(d > 0) / (np.sum(np.abs(d)) / 1e6) <= 800


@pytest.mark.parametrize("field,value", [("mark_us", 200), ("lattice_us", 150), ("sync_mark_us", 500),
                                         ("symbols_per_block", 1), ("gap_us", 3_000)])
def test_bad_config_names_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        IrConfig(**{field: value})


@settings(max_examples=20)
@given(n_bits=st.integers(1, 3_000), seed=st.integers(0, 2**16))
def test_clean_identity(n_bits, seed):
    bits = np.random.default_rng(seed).integers(0, 2, n_bits).astype(np.uint8)
    llr, stats = demodulate(modulate(bits))
    assert len(llr) == -(-n_bits // 48) * 48
    assert np.array_equal(llr[:n_bits] < 0, bits.astype(bool))


def test_demodulator_chunk_invariant():
    d = apply_ir_channel(modulate(bits_for(8)), IrChannelConfig(jitter_us=100, stretch_us=(20, 60),
                                                                drop_fraction=0.01, spurious_per_s=4,
                                                                shadows_s=((3.0, 0.5),), seed=2))
    whole, _ = demodulate(d)
    dem = IrDemodulator(IR)
    cuts = np.sort(np.random.default_rng(3).integers(0, len(d), 300))
    parts = [dem.process(c) for c in np.split(d, cuts)] + [dem.flush()]
    assert np.array_equal(np.concatenate(parts), whole)
    dem = IrDemodulator(IR)
    parts = [dem.process(d[i : i + 1]) for i in range(len(d))] + [dem.flush()]
    assert np.array_equal(np.concatenate(parts), whole)


CHANNELS = {
    "jitter_100us_stretch_20_60": (IrChannelConfig(jitter_us=100, stretch_us=(20, 60), seed=4), 1e-3),
    "drop_1pc": (IrChannelConfig(drop_fraction=0.01, seed=5), 0.03),
    "spurious_4_per_s": (IrChannelConfig(spurious_per_s=4, seed=6), 0.01),
    "clock_200ppm": (IrChannelConfig(ppm=200), 0.0),
    "mid_stream": (IrChannelConfig(start_s=2.3456), 0.0),
}


@pytest.mark.parametrize("name", CHANNELS)
def test_ir_survives(name):
    channel, max_ber = CHANNELS[name]
    bits = bits_for(20)
    llr, stats = demodulate(apply_ir_channel(modulate(bits), channel))
    error, start_block = aligned_ber(llr, bits)
    assert error <= max_ber
    assert len(llr) == len(bits) // 48 * 48 + 48 - start_block * 48  # no block lost or added


def test_shadow_costs_only_the_blocks_it_covers():
    bits = bits_for(20)
    llr, stats = demodulate(apply_ir_channel(modulate(bits), IrChannelConfig(shadows_s=((5.0, 0.5),))))
    hard = llr < 0
    blocks = 0.5e6 / IR.mean_block_us
    # Before the shadow: exact; after it: exact again once re-aligned (off by at most a block).
    assert np.array_equal(hard[:4_000], bits[:4_000].astype(bool))
    tail = bits[-4_000:].astype(bool)
    assert any(np.array_equal(hard[len(hard) - 4_000 - 48 * s - 48: len(hard) - 48 * s - 48][:4_000], tail)
               or np.array_equal(hard[-4_000 - 48 :][: 4_000], tail) for s in (-1, 0, 1)) or \
        any(np.array_equal(hard[i : i + 4_000], tail) for i in range(len(hard) - 4_000 - 200, len(hard) - 3_999))
    assert abs(stats.blocks_erased - blocks) <= 2


def test_carousel_files_play_with_gaps():
    bits = bits_for(3)
    files = ir_carousel_files(modulate(bits))
    dem = IrDemodulator(IR)
    out = []
    for text in files:
        d, _ = parse_ir_text(text)
        assert d[0] > 0 and d[-1] > 0 and len(d) <= MAX_FILE_VALUES and np.sum(np.abs(d)) <= MAX_FILE_US
        out.append(dem.process(np.append(d, -125_000)))  # ir-ctl's pause between files
    llr = np.concatenate(out + [dem.flush()])
    assert len(files) > 1
    assert np.array_equal(llr[: len(bits)] < 0, bits.astype(bool))


def test_irregular_input_is_counted_not_raised():
    d = modulate(bits_for(1))
    bad = np.concatenate((d[:10], [0, 0], d[10:20], d[19:20], d[20:]))  # zeros and a repeated value
    llr, stats = demodulate(bad)
    assert stats.irregular_values >= 3
    with pytest.raises(TypeError):
        IrDemodulator().process(np.array([1.5, -2.5]))


def test_foreign_pulses_give_no_confident_bits():
    rng = np.random.default_rng(7)
    # NEC-like remote codes and random pulse trains: not this code.
    nec = np.tile([9000, -4500] + [560, -560, 560, -1690] * 16 + [560, -40_000], 20)
    random = (rng.integers(150, 3_000, 4_000) * np.tile([1, -1], 2_000)).astype(np.int64)
    for d in (nec, random):
        llr, stats = demodulate(d)
        assert len(llr) == 0 or np.mean(np.abs(llr)) < 2.0, np.mean(np.abs(llr))


def test_stats():
    llr, stats = demodulate(apply_ir_channel(modulate(bits_for(5)), IrChannelConfig(stretch_us=(30, 50), ppm=-100)))
    assert stats.level == pytest.approx(40, abs=5)
    assert stats.clock_offset_ppm == pytest.approx(-100, abs=20)
    assert stats.bits == len(llr) and stats.blocks * 48 == len(llr)
    assert marks_of(np.array([5, -3, 7]))[0].tolist() == [0.0, 8.0]


def test_a_block_that_lost_a_burst_and_gained_one_is_decoded_under_both():
    """16 distances, one of them longer than any symbol makes (a lost burst) and a spurious
    pulse elsewhere in the block: decoded as such (every interior burst weighed as the spurious
    one), not as 16 regular distances: no confident bit is wrong, most are confident."""
    bits = bits_for(0.5, seed=4)
    d = modulate(bits).astype(np.int64)
    syncs = np.flatnonzero(d == IR.sync_mark_us)
    block = 3
    start, stop = int(syncs[block]), int(syncs[block + 1])  # value indices of the block's marks
    marks = np.arange(start + 2, stop - 2, 2)  # interior marks
    lattice = IR.lattice_us
    # A burst whose loss merges two distances into one of more than 10 lattices (s1 + s2 >= 5).
    lost = next(m for m in marks if (abs(d[m - 1]) + d[m] + abs(d[m + 1]) + d[m - 2]) / lattice > 10.6)
    spurious_space = next(m for m in marks if abs(m - lost) > 4) + 1  # a space away from it
    s = abs(d[spurious_space])
    out = list(d[: lost - 1]) + [-(abs(d[lost - 1]) + d[lost] + abs(d[lost + 1]))] + list(d[lost + 2 :])
    i = spurious_space - (2 if spurious_space > lost else 0)
    out = out[:i] + [-(s // 2 - 100), 200, -(s - s // 2 - 100)] + out[i + 1 :]
    dem = IrDemodulator(IR)
    llr = np.concatenate((dem.process(np.array(out, dtype=np.int32)), dem.flush()))
    per = IR.bits_per_block
    got, sent_block = llr[block * per : (block + 1) * per], bits[block * per : (block + 1) * per].astype(bool)
    confident = np.abs(got) > 2
    assert np.array_equal((got < 0)[confident], sent_block[confident]) and np.mean(confident) > 0.5
    assert dem.stats.blocks_repaired >= 1
    others = np.concatenate((llr[: block * per], llr[(block + 1) * per : len(bits)]))
    sent = np.concatenate((bits[: block * per], bits[(block + 1) * per :]))[: len(others)]
    assert np.array_equal(others < 0, sent.astype(bool))


def test_a_lost_sync_and_a_spurious_burst_are_not_read_as_two_regular_blocks():
    """Block 3's sync burst lost and a spurious pulse in block 2: 32 distances with no sync
    burst between them, decoded as such: no confident bit of the two blocks is wrong."""
    bits = bits_for(0.5, seed=5)
    d = modulate(bits).astype(np.int64)
    syncs = np.flatnonzero(d == IR.sync_mark_us)
    lost = int(syncs[3])
    out = list(d[: lost - 1]) + [-(abs(d[lost - 1]) + d[lost] + abs(d[lost + 1]))] + list(d[lost + 2 :])
    i = int(syncs[2]) + 9  # a space inside block 2
    s = abs(out[i])
    out = out[:i] + [-(s // 2 - 100), 200, -(s - s // 2 - 100)] + out[i + 1 :]
    dem = IrDemodulator(IR)
    llr = np.concatenate((dem.process(np.array(out, dtype=np.int32)), dem.flush()))
    per = IR.bits_per_block
    got, sent = llr[2 * per : 4 * per], bits[2 * per : 4 * per].astype(bool)
    confident = np.abs(got) > 2
    assert np.array_equal((got < 0)[confident], sent[confident]) and np.mean(confident) > 0.3
    rest = np.concatenate((llr[: 2 * per], llr[4 * per : len(bits)]))
    assert np.array_equal(rest < 0, np.concatenate((bits[: 2 * per], bits[4 * per :]))[: len(rest)].astype(bool))
