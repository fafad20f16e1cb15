"""Resamplers behind the channel's ppm offset and the FM modulator: chunking and fidelity."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from modem._fir import decimate
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


def test_direct_decimator_equals_fft_convolution():
    from scipy import signal

    taps = lowpass_taps(1_200_000, 160_000, 300_000, 60.0).astype(np.float32)
    x = (SIGNAL[:4_000] + 1j * SIGNAL[2_000:]).astype(np.complex64)
    n_out = (x.size - taps.size + 1) // 3
    ref = signal.convolve(x, taps, mode="valid")[::3][:n_out]
    np.testing.assert_allclose(decimate(x, taps, 3, n_out), ref, atol=1e-5)
    long_taps = lowpass_taps(1_200_000, 160_000, 180_000, 60.0).astype(np.float32)  # > 96 taps: FFT path
    n_out = (x.size - long_taps.size + 1) // 2
    ref = signal.convolve(x, long_taps, mode="valid")[::2][:n_out]
    np.testing.assert_allclose(decimate(x, long_taps, 2, n_out), ref, atol=1e-5)
