"""Unit and property tests of the shared DSP helpers used by profile `fm` (modem/dsp.py)."""

from __future__ import annotations

import numpy as np
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
