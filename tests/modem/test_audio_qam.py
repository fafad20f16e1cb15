"""Constellations of the audio profiles: exact LLRs against a direct log-sum over the levels,
the map/LLR round trip, the delay estimate against the zero-padded FFT it replaces."""

from __future__ import annotations

import numpy as np
import pytest

from modem.audio_config import AUDIO, AUDIO_ROBUST
from modem.audio_qam import LLR_LIMIT, llrs, map_bits
from modem.audio_sync import delay_estimate


def reference_llrs(y, a, n, bits_per_carrier):
    """log sum over the points with bit 0 minus with bit 1 of exp(-|y - A s|^2 / N)."""
    points = map_bits(np.array([[(v >> (bits_per_carrier - 1 - j)) & 1 for j in range(bits_per_carrier)]
                                for v in range(2**bits_per_carrier)]).ravel(), bits_per_carrier)
    labels = np.array([[(v >> (bits_per_carrier - 1 - j)) & 1 for j in range(bits_per_carrier)]
                       for v in range(2**bits_per_carrier)])
    metric = -np.abs(y[..., None] - a * points) ** 2 / n[..., None]
    out = []
    for j in range(bits_per_carrier):
        zero = np.logaddexp.reduce(np.where(labels[:, j] == 0, metric, -np.inf), axis=-1)
        one = np.logaddexp.reduce(np.where(labels[:, j] == 1, metric, -np.inf), axis=-1)
        out.append(zero - one)
    return np.clip(np.stack(out, axis=-1).reshape(*y.shape[:-1], -1), -LLR_LIMIT, LLR_LIMIT)


@pytest.mark.parametrize("bits_per_carrier", [2, 4])
@pytest.mark.parametrize("snr_db", [-3.0, 6.0, 15.0, 30.0])
def test_llrs_are_the_exact_log_sums(bits_per_carrier, snr_db):
    rng = np.random.default_rng(int(snr_db) + 10 * bits_per_carrier)
    sent = map_bits(rng.integers(0, 2, 20 * 30 * bits_per_carrier), bits_per_carrier).reshape(20, 30)
    n = np.full((1, 30), 10 ** (-snr_db / 10)) * rng.uniform(0.5, 2.0, 30)
    y = 0.9 * sent + np.sqrt(n / 2) * (rng.standard_normal((20, 30)) + 1j * rng.standard_normal((20, 30)))
    got = llrs(y, 0.9, n, bits_per_carrier)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, reference_llrs(y, 0.9, np.broadcast_to(n, y.shape), bits_per_carrier),
                               rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("cfg", [AUDIO, AUDIO_ROBUST], ids=["audio", "robust"])
def test_delay_estimate_matches_the_zero_padded_fft(cfg):
    rng = np.random.default_rng(3)
    k, n = cfg.carriers, cfg.fft_size
    h = rng.standard_normal(k.size) + 1j * rng.standard_normal(k.size)
    for true in (-7.3, -0.4, 0.0, 2.61, 7.9):
        g = h * np.exp(-2j * np.pi * k * true / n) + 0.1 * (rng.standard_normal(k.size) + 1j * rng.standard_normal(k.size))
        e, q = delay_estimate(g, h, k, n, 8.0)
        z = np.zeros(8 * n, dtype=complex)
        z[k] = g * np.conj(h)
        f = np.abs(np.fft.ifft(z)) * 8 * n
        i = int(np.round(e * 8)) % (8 * n)
        assert abs(e - true) < 0.5 and f[i] == pytest.approx(max(f[(j % (8 * n))] for j in range(-64, 65)), rel=1e-9)
        assert 0.9 < q <= 1.0
