"""Synchronisation for the audio OFDM profiles: the training symbol, the search that finds a
training grid in a stream, and the delay estimate that tracks it.

- Training: fixed QPSK on every used carrier (seeded by the config), same power as data. Its
  analytic body (the FFT part, no prefix) z[n] = (2 / N) sum_k X_k e^{j 2 pi k n / N} is the
  search template.
- Search (``TrainingSearch``): the band-passed input y is correlated with z; the metric
  rho(t) = 2 |sum_n y[t + n] conj z[n]|^2 / (sum_n y[t + n]^2 sum_n |z[n]|^2) is 1 for a clean
  training starting at t whatever its phase (a real y = Re(g z) gives |c| = |g| E_z / 2 and
  E_y = |g|^2 E_z / 2) and ~ 1 / (2 B T) ~ 0.01 for data or noise (B the band, T = N / fs).
  A start is taken where min(rho(t), max rho over t + period +- tolerance) is largest and above
  the threshold: a training must be followed by the next one, so a lone spike never locks.
- Delay (``delay_estimate``): a training seen at an assumed start differs from the channel
  estimate by a phase slope, G_k conj(H_k) ~ |H_k|^2 e^{-j 2 pi k e / N} for a start error of
  e samples. The maximum over e of |sum_k G_k conj(H_k) e^{j 2 pi k e / N}| (the maximum-
  likelihood slope; an 8x zero-padded FFT then a parabola) gives e to a small fraction of a
  sample even at 0 dB per carrier, where the adjacent-carrier phase difference fails.

Invariant: every function here is a pure function of its array arguments.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import signal
from scipy.ndimage import maximum_filter1d

from .audio_config import AudioConfig

# Delay search: 8 points per sample, then a parabola through the peak and its neighbours.
_DELAY_OVERSAMPLE = 8
# Bandpass for the search: 50 dB, transition one carrier spacing each side of the band.
_SEARCH_ATTEN_DB = 50.0


def training_symbols(config: AudioConfig) -> np.ndarray:
    """complex128 (carriers,) unit-power QPSK of the training symbol."""
    rng = np.random.default_rng(config.training_seed)
    bits = rng.integers(0, 2, (config.carriers.size, 2))
    return ((1 - 2 * bits[:, 0]) + 1j * (1 - 2 * bits[:, 1])) / np.sqrt(2.0)


def training_template(config: AudioConfig) -> np.ndarray:
    """complex128 (fft_size,) analytic training body (unit-less; only its shape matters)."""
    spectrum = np.zeros(config.fft_size, dtype=np.complex128)
    spectrum[config.carriers] = 2 * training_symbols(config)
    return np.fft.ifft(spectrum)


def search_bandpass(config: AudioConfig) -> np.ndarray:
    """Odd-length linear-phase FIR passing the used carriers (float64 taps)."""
    fs, df = config.sample_rate_hz, config.carrier_spacing_hz
    lo = max(config.carriers[0] * df - df, df / 2)
    hi = min(config.carriers[-1] * df + df, fs / 2 - df / 2)
    n = int(np.ceil((_SEARCH_ATTEN_DB - 7.95) / (2.285 * 2 * np.pi * df / fs))) | 1
    return signal.firwin(n, [lo, hi], pass_zero=False, fs=fs,
                         window=("kaiser", signal.kaiser_beta(_SEARCH_ATTEN_DB)))


class TrainingSearch:
    """Finds the start of a training symbol followed by another one period later."""

    def __init__(self, config: AudioConfig):
        self.config = config
        self._template = training_template(config)
        self._kernel = np.conj(self._template[::-1])
        self._energy = float(np.sum(np.abs(self._template) ** 2))
        self.taps = search_bandpass(config)
        self.period = config.period_samples
        # A sender clock off by up to 1000 ppm moves the next training this far.
        self.tolerance = int(np.ceil(self.period * 1e-3)) + 2

    def __repr__(self) -> str:
        return f"TrainingSearch({self.config!r})"

    @property
    def span(self) -> int:
        """Input samples ``find`` needs beyond the window: the verification period plus a body."""
        return self.period + self.tolerance + self.config.fft_size

    def find(self, y: np.ndarray, window: int) -> tuple[float, float, float] | None:
        """y: float (window + span,) band-passed samples, y[0] = the first candidate start.

        -> (start, next_start, metric) in samples from y[0] (fractional, parabola-refined) for
        the best start in [0, window), or None when nothing passes the threshold.
        """
        n = self.config.fft_size
        if len(y) < window + self.span:
            raise ValueError(f"find needs {window + self.span} samples, got {len(y)}")
        y = y[: window + self.span]
        c = signal.fftconvolve(y, self._kernel, mode="valid")  # c[t] = sum_n y[t+n] conj z[n]
        e = np.cumsum(np.concatenate(([0.0], y * y)))
        ey = e[n:] - e[:-n]
        rho = 2 * (c.real**2 + c.imag**2) / (np.maximum(ey, 1e-20) * self._energy)
        # Silence scaled up is still silence: below -150 dBFS over a body the metric is 0.
        rho[ey < n * 1e-15] = 0.0
        ahead = maximum_filter1d(rho, 2 * self.tolerance + 1, mode="constant")
        score = np.minimum(rho[:window], ahead[self.period : self.period + window])
        t0 = int(np.argmax(score))
        if score[t0] < self.config.detect_threshold:
            return None
        lo = t0 + self.period - self.tolerance
        t1 = lo + int(np.argmax(rho[lo : lo + 2 * self.tolerance + 1]))
        return _parabola(rho, t0), _parabola(rho, t1), float(score[t0])


def _parabola(v: np.ndarray, i: int) -> float:
    """Position of the peak of v near index i (parabola through i - 1, i, i + 1)."""
    if i <= 0 or i >= len(v) - 1:
        return float(i)
    a, b, c = v[i - 1], v[i], v[i + 1]
    den = a - 2 * b + c
    return float(i) if den >= 0 else i + float(np.clip(0.5 * (a - c) / den, -0.5, 0.5))


def delay_estimate(g: np.ndarray, h: np.ndarray, carriers: np.ndarray, fft_size: int,
                   max_delay: float) -> tuple[float, float]:
    """(e, q): start error e (samples, |e| <= max_delay) of a training whose channel estimate
    ``g`` (taken at the assumed start) differs from the reference ``h`` by a phase slope, and
    the match q = |sum_k G_k conj(H_k) e^{j 2 pi k e / N}| / sqrt(sum |G|^2 sum |H|^2) in [0, 1].
    """
    reach = int(max_delay * _DELAY_OVERSAMPLE)
    # f[i] = |sum_k Z_k e^{j 2 pi k (i / os) / N}| for i in -reach-1 .. reach+1: the 8x zero-
    # padded inverse FFT's values near 0 only (a product with a cached steering matrix).
    # einsum, not @: a BLAS call this small costs more in its thread start-up than in arithmetic.
    f = np.abs(np.einsum("k,kd->d", g * np.conj(h), _steering(np.asarray(carriers, np.int64).tobytes(), fft_size, reach)))
    i = int(np.argmax(f[1:-1])) + 1
    a, b, c = f[i - 1], f[i], f[i + 1]
    den = a - 2 * b + c
    frac = float(np.clip(0.5 * (a - c) / den, -0.5, 0.5)) if den < 0 else 0.0
    pos = i - 1 - reach + frac
    norm = np.sqrt(float(np.sum(np.abs(g) ** 2)) * float(np.sum(np.abs(h) ** 2)))
    q = float(b / norm) if norm > 0 else 0.0
    return pos / _DELAY_OVERSAMPLE, min(q, 1.0)


@lru_cache(maxsize=16)
def _steering(carriers: bytes, fft_size: int, reach: int) -> np.ndarray:
    """complex128 (carriers, 2 reach + 3): e^{j 2 pi k d / N} at d = i / os, |i| <= reach + 1."""
    k = np.frombuffer(carriers, dtype=np.int64).astype(np.float64)
    d = np.arange(-reach - 1, reach + 2) / _DELAY_OVERSAMPLE
    return np.exp(2j * np.pi * np.outer(k, d) / fft_size)
