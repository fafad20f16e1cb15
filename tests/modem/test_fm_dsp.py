"""Unit and property tests of the shared DSP helpers used by profile `fm` (modem/dsp.py)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from modem.dsp import cubic_interpolate, lowpass_taps, rrc_pulse, unwrap_from, windowed_rrc
from modem.fm_sync import _running_sum

chunk_lists = st.lists(st.integers(min_value=0, max_value=70), min_size=1, max_size=30)


def _signal(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.standard_normal(n) + 1j * rng.standard_normal(n)


@given(chunk_lists)
def test_running_sums_do_not_depend_on_chunking(sizes):
    x = _signal(300, 1)
    whole, _ = _running_sum(np.zeros(12, complex), x)
    assert np.allclose(whole, np.convolve(x, np.ones(13))[:300])
    cuts = np.cumsum(sizes)
    tail, parts = np.zeros(12, complex), []
    for chunk in np.split(x, cuts[cuts < len(x)]):
        out, tail = _running_sum(tail, chunk)
        parts.append(out)
    assert np.allclose(np.concatenate(parts), whole, rtol=0, atol=1e-9)


def test_lowpass_has_unit_gain_and_its_stopband():
    taps = lowpass_taps(228_000, 13_000, 63_000, 80.0)
    w = np.exp(-2j * np.pi * np.outer([0, 10_000, 63_000, 100_000], np.arange(len(taps))) / 228_000)
    gain_db = 20 * np.log10(np.abs(w @ taps))
    assert abs(gain_db[0]) < 1e-9 and abs(gain_db[1]) < 0.1 and max(gain_db[2:]) < -75


def test_raised_cosine_from_two_rrc_has_little_intersymbol_interference():
    sps = 16
    t = np.arange(-12 * sps, 12 * sps + 1) / sps
    p = windowed_rrc(t, 0.35, 12)
    rc = np.convolve(p, p)
    peak = len(rc) // 2
    isi = rc[peak % sps :: sps]
    isi = np.delete(isi, peak // sps)
    assert 20 * np.log10(np.max(np.abs(isi)) / rc[peak]) < -40


def test_rrc_closed_form_limits_are_continuous():
    a = 0.35
    for t0 in (0.0, 1 / (4 * a), -1 / (4 * a)):
        near = rrc_pulse(np.array([t0 - 1e-6, t0, t0 + 1e-6]), a)
        assert np.allclose(near, near[1], atol=1e-4)


def test_cubic_interpolation_is_exact_on_cubics():
    n = np.arange(20.0)
    poly = 0.1 * n**3 - n**2 + 3 * n - 2
    idx = np.array([1, 5, 10, 17])
    mu = np.array([0.0, 0.25, 0.5, 0.99])
    x = idx + mu
    assert np.allclose(cubic_interpolate(poly, idx, mu), 0.1 * x**3 - x**2 + 3 * x - 2)


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_unwrap_from_continues_numpy_unwrap(seed):
    rng = np.random.default_rng(seed)
    angles = np.angle(np.exp(1j * np.cumsum(rng.uniform(-3, 3, 50))))
    ref = np.unwrap(angles)
    assert np.allclose(unwrap_from(ref[9], angles[10:]), ref[10:])


@pytest.mark.parametrize("atten_db", [10.0, 21.0, 35.0, 50.0, 60.0, 70.0, 90.0])
def test_kaiser_beta_is_scipys(atten_db):
    from scipy import signal

    from modem.dsp import kaiser_beta

    assert kaiser_beta(atten_db) == signal.kaiser_beta(atten_db)


@pytest.mark.parametrize("numtaps, cutoff, atten_db", [
    (1, 0.5, 60.0), (2, 0.3, 70.0), (63, 0.25, 70.0), (64, 0.01, 70.0), (175, 0.29, 60.0),
    (2048, 1 / 100, 70.0), (4097, 0.7 / 512, 70.0), (31, 0.999, 30.0),
])
def test_kaiser_lowpass_is_scipys_firwin_bit_for_bit(numtaps, cutoff, atten_db):
    """The receive chain's filters are designed without scipy.signal (start-up time); the taps
    must be the very same numbers."""
    from scipy import signal

    from modem.dsp import kaiser_beta, kaiser_lowpass

    beta = kaiser_beta(atten_db)
    ours = kaiser_lowpass(numtaps, cutoff, beta)
    theirs = signal.firwin(numtaps, cutoff, window=("kaiser", beta))
    assert ours.dtype == theirs.dtype and np.array_equal(ours, theirs)


def test_lowpass_taps_match_scipys_design():
    from scipy import signal

    from modem.dsp import lowpass_taps

    fs, lo, hi, atten = 1_200_000, 160_000.0, 185_000.0, 60.0
    ours = lowpass_taps(fs, lo, hi, atten)
    theirs = signal.firwin(ours.size, (lo + hi) / 2, window=("kaiser", signal.kaiser_beta(atten)),
                           fs=fs)
    assert np.array_equal(ours, theirs / theirs.sum())


def test_kaiser_lowpass_refuses_a_cutoff_outside_the_band():
    from modem.dsp import kaiser_lowpass

    with pytest.raises(ValueError, match="cutoff"):
        kaiser_lowpass(31, 1.0, 5.0)
