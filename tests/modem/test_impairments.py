"""Channel impairments: each does what it says, seeded, chunk-invariant where it streams."""

from __future__ import annotations

import numpy as np
import pytest

from modem.impairments import (BandLimit, BandLimitConfig, ClockSkew, ClockSkewConfig, IrChannelConfig, add_noise,
                               apply_ir_channel, band_power, durations_of, level_dbfs, marks_of, resample_44k1,
                               soft_clip)

FS = 48_000.0


def tone(f, seconds=1.0, amp=0.5):
    return (amp * np.sin(2 * np.pi * f * np.arange(int(FS * seconds)) / FS)).astype(np.float32)


def test_band_limit_response_and_chunking():
    bl = BandLimit(BandLimitConfig(FS, 100.0, 12_000.0, 4))
    gain = {f: np.std(bl.process(tone(f))[24_000:]) / np.std(tone(f)) for f in (30.0, 1_000.0, 11_000.0, 20_000.0)}
    bl.reset()
    assert gain[1_000.0] == pytest.approx(1.0, abs=0.01)
    assert gain[30.0] < 0.01 and gain[20_000.0] < 0.02 and 0.6 < gain[11_000.0] < 0.95
    x = np.random.default_rng(1).standard_normal(10_000).astype(np.float32)
    whole = BandLimit(BandLimitConfig(FS)).process(x)
    b = BandLimit(BandLimitConfig(FS))
    assert np.array_equal(np.concatenate([b.process(c) for c in np.array_split(x, 9)]), whole)
    with pytest.raises(ValueError):
        BandLimitConfig(FS, 3_000.0, 300.0)


@pytest.mark.parametrize("ppm,drift", [(300.0, 0.0), (-300.0, 50.0)])
def test_clock_skew_follows_tau(ppm, drift):
    x = tone(1_000.0, 2.0)
    cs = ClockSkew(ClockSkewConfig(ppm, drift, 1.0, FS))
    y = cs.process(x)
    assert len(y) == pytest.approx(len(x) * (1 + ppm * 1e-6), abs=20)
    m = np.arange(100, len(y) - 100)
    ref = 0.5 * np.sin(2 * np.pi * 1_000.0 * cs.tau(m) / FS)
    assert 10 * np.log10(np.mean((y[m] - ref) ** 2) / np.mean(ref**2)) < -70
    cs.reset()
    parts = np.concatenate([cs.process(c) for c in np.array_split(x, 31)])
    assert np.array_equal(parts, y)


def test_noise_snr_in_band_and_seeded():
    x = tone(1_000.0)
    y = add_noise(x, FS, 3.0, (300.0, 3_000.0), seed=1)
    snr = band_power(x, FS, (300.0, 3_000.0)) / band_power(y - x, FS, (300.0, 3_000.0))
    assert 10 * np.log10(snr) == pytest.approx(3.0, abs=0.3)
    assert np.array_equal(y, add_noise(x, FS, 3.0, (300.0, 3_000.0), seed=1))


def test_level_and_soft_clip():
    x = tone(1_000.0, amp=1.0)
    assert level_dbfs(x) == pytest.approx(0.0, abs=0.01)  # AES17: a full-scale sine is 0 dBFS
    y = soft_clip(x, 6.0)
    assert np.max(np.abs(y)) < 1.0 and np.max(np.abs(y)) > 0.95
    assert np.allclose(soft_clip(x * 0.001, 0.0), x * 0.001, rtol=1e-4, atol=1e-9)


def test_resample_44k1_keeps_the_band():
    x = tone(10_000.0)
    y = resample_44k1(x)
    assert len(y) == len(x)
    assert np.std(y[2_000:-2_000]) / np.std(x) == pytest.approx(1.0, abs=0.01)


def marks(n=2_000, seed=0):
    rng = np.random.default_rng(seed)
    d = np.empty(2 * n - 1, dtype=np.int64)
    d[0::2] = 290
    d[1::2] = -rng.integers(400, 2_000, n - 1)
    return d


def test_ir_jitter_and_stretch_bounds():
    d = marks()
    s0, e0 = marks_of(d)
    s1, e1 = marks_of(apply_ir_channel(d, IrChannelConfig(jitter_us=100, stretch_us=(20, 60), seed=1)))
    assert len(s1) == len(s0)
    # Durations start at the first mark, so times are relative to it: two edges' jitter.
    assert np.max(np.abs((s1 - s1[0]) - (s0 - s0[0]))) <= 201
    assert 20 - 201 <= np.min((e1 - s1) - (e0 - s0)) and np.max((e1 - s1) - (e0 - s0)) <= 60 + 201
    w = (e1 - s1) - (e0 - s0)
    assert np.mean(w) == pytest.approx(40, abs=5)


def test_ir_drops_spurious_shadow_start():
    d = marks(20_000)
    total_s = np.sum(np.abs(d)) / 1e6
    s0, _ = marks_of(d)
    s, _ = marks_of(apply_ir_channel(d, IrChannelConfig(drop_fraction=0.01, seed=2)))
    assert len(s0) - len(s) == pytest.approx(200, abs=45)
    s, e = marks_of(apply_ir_channel(d, IrChannelConfig(spurious_per_s=5, seed=3)))
    assert len(s) - len(s0) == pytest.approx(5 * total_s, abs=4 * np.sqrt(5 * total_s) + 0.4 * 5 * total_s)
    s, _ = marks_of(apply_ir_channel(d, IrChannelConfig(shadows_s=((1.0, 0.5),))))
    gaps = np.diff(s)
    assert gaps.max() >= 0.5e6
    cut = apply_ir_channel(d, IrChannelConfig(start_s=1.2345))
    assert cut[0] > 0 and np.sum(np.abs(cut)) == pytest.approx(np.sum(np.abs(d)) - 1.2345e6, abs=2_500)
    assert np.array_equal(apply_ir_channel(d, IrChannelConfig(drop_fraction=0.01, seed=2)),
                          apply_ir_channel(d, IrChannelConfig(drop_fraction=0.01, seed=2)))


def test_durations_of_merges_nothing_and_alternates():
    out = durations_of(np.array([0.0, 1000.4, 3000.0]), np.array([300.2, 1300.0, 3290.0]))
    assert out.tolist() == [300, -700, 300, -1700, 290]
