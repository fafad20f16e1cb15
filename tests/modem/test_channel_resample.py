"""Resamplers behind the channel's ppm offset and the FM modulator: chunking and fidelity."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from modem._fir import band_response, plan_overlap_save
from modem._resample import (
    ArbitraryResampler,
    ArbitraryResamplerConfig,
    RationalResampler,
    ResamplerConfig,
)
from modem.dsp import lowpass_taps

SIGNAL = np.random.default_rng(0).standard_normal(6_000).astype(np.float32)


def _split(x, cuts):
    return np.split(x, sorted({c % (x.size + 1) for c in cuts}))


@given(cuts=st.lists(st.integers(0, 10_000), max_size=15), up=st.integers(1, 7),
       down=st.integers(1, 7))
def test_rational_output_independent_of_chunking(cuts, up, down):
    whole = RationalResampler(ResamplerConfig(up, down, taps_per_phase=8)).process(SIGNAL)
    rs = RationalResampler(ResamplerConfig(up, down, taps_per_phase=8))
    parts = np.concatenate([rs.process(c) for c in _split(SIGNAL, cuts)])
    np.testing.assert_array_equal(parts, whole)


@given(cuts=st.lists(st.integers(0, 10_000), max_size=15),
       ppm=st.floats(-5_000, 5_000, allow_nan=False))
def test_arbitrary_output_independent_of_chunking(cuts, ppm):
    ratio = 1 + ppm * 1e-6
    whole = ArbitraryResampler(ArbitraryResamplerConfig(ratio, taps_per_phase=8)).process(SIGNAL)
    rs = ArbitraryResampler(ArbitraryResamplerConfig(ratio, taps_per_phase=8))
    parts = np.concatenate([rs.process(c) for c in _split(SIGNAL, cuts)])
    np.testing.assert_array_equal(parts, whole)
    assert abs(whole.size - SIGNAL.size * ratio) <= 1


@pytest.mark.parametrize("f0", [1_000.0, 57_000.0, 89_000.0])
def test_mpx_upsampling_is_clean(f0):
    """228 kHz -> 1.2 MHz (100/19) as the FM modulator does it: unit gain, images >= 65 dB down."""
    fs = 228_000
    x = np.sin(2 * np.pi * f0 * np.arange(fs // 2) / fs).astype(np.float32)
    y = RationalResampler(ResamplerConfig(100, 19, 24, cutoff_fraction=1.0)).process(x)
    seg = y[5_000:5_000 + 2**17]
    spec = np.abs(np.fft.rfft(seg * np.blackman(seg.size)))
    f = np.fft.rfftfreq(seg.size, 1 / 1_200_000)
    peak = np.argmax(spec)
    assert f[peak] == pytest.approx(f0, abs=20)
    assert np.std(seg) * np.sqrt(2) == pytest.approx(1.0, abs=0.01)
    assert 20 * np.log10(spec[np.abs(f - f0) > 2_000].max() / spec[peak]) < -65


def test_overlap_save_block_equals_mix_filter_decimate():
    """One FFT block of the front ends: bins k0 + j times the response, inverse FFT, valid part
    = the input mixed down by k0 bins, filtered (with the fractional-bin offset on the taps)
    and decimated, the phase taken at the block's first sample."""
    from fractions import Fraction

    from scipy import signal

    fs, offset = 1_200_000.0, 7.3  # the taps sit 7.3 Hz above the whole-bin shift
    taps = lowpass_taps(fs, 40_000, 60_000, 90.0)  # the bins dropped hold the stopband only
    plan = plan_overlap_save(taps.size, Fraction(1, 4), 1024)
    n, m = plan.fft_size, plan.kept_bins
    x = (SIGNAL[:n] + 1j * SIGNAL[-n:]).astype(np.complex64)
    k0 = 37
    resp = band_response(taps, plan, offset, fs)
    spec = np.fft.fft(x)
    kept = spec[(k0 + np.fft.fftfreq(m, 1 / m).astype(int)) % n] * resp
    got = np.fft.ifft(kept)[plan.skip:]
    t = np.arange(n)
    mixed = x * np.exp(-2j * np.pi * k0 * t / n)
    shifted = taps * np.exp(2j * np.pi * offset * np.arange(taps.size) / fs)
    ref = signal.convolve(mixed, shifted)[:n][plan.overlap::4]
    assert got.size == plan.out_per_hop == ref.size
    np.testing.assert_allclose(got, ref, atol=1e-5)  # float32 response: ~1e-6 relative


@pytest.mark.parametrize("ratio", ["5/16", "3/16", "19/100"])
def test_overlap_save_plans_give_whole_outputs(ratio):
    from fractions import Fraction

    plan = plan_overlap_save(177, Fraction(ratio), 16_384)
    assert plan.overlap >= 176 and plan.overlap <= plan.fft_size // 4
    assert plan.out_per_hop * plan.fft_size == plan.hop * plan.kept_bins
    assert plan.skip * plan.fft_size == plan.overlap * plan.kept_bins
