"""Channel impairments of the audio and infrared links, for tests and benches (all seeded).

Audio (float samples, full scale +-1):
- ``BandLimit``: Butterworth high-pass at ``low_hz`` and low-pass at ``high_hz``, each of
  ``order`` (4 = 24 dB/octave per edge, a sound card's or radio's audio chain), streaming.
- ``ClockSkew``: the receiver's sample clock off by ``ppm`` plus a slow sinusoidal drift of
  ``drift_ppm`` over ``drift_period_s``: output sample m is the input at time
  tau(m) = m / (1 + ppm 1e-6) - drift_ppm 1e-6 P / (2 pi) (1 - cos(2 pi m / P)), P the drift
  period in samples (a receiver clock fast by e takes 1 + e samples per sent sample), by a
  windowed-sinc interpolator (32 taps, 512 phases, linear between phases: error < -80 dB below
  0.4 fs), streaming.
- ``soft_clip``: gain then tanh, the receiver input stage driven into saturation.
- ``add_noise``: white Gaussian noise at ``snr_db`` measured in a band (noise in the band =
  signal in the band / SNR; the noise is white over the whole of 0..fs/2).
- ``resample_44k1``: 48 kHz -> 44.1 kHz -> 48 kHz (polyphase, 160/147 and back).
- ``AudioChannelConfig`` / ``apply_audio_channel``: all of them in the physical order codec
  (modem/codec.py) -> resampler -> band limit -> noise -> level and soft clip -> clock.

Infrared (signed durations in microseconds, + mark, - space, alternating):
``IrChannelConfig`` / ``apply_ir_channel``: marks become [start, end) intervals in absolute
time; then the sender's clock (ppm), burst drops, shadows (every mark that starts inside a
window is lost), mark stretch (the detector's trailing-edge delay), edge jitter (uniform
+-jitter_us on every edge), spurious pulses (Poisson, of random width), merging of what
overlaps, a receiver that starts mid-stream, and back to durations rounded to 1 us.

Invariants: randomness comes from ``numpy.random.default_rng(seed)`` only; inputs are never
modified; the streaming stages' outputs do not depend on chunking.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import signal

_CLOCK_TAPS = 32
_CLOCK_PHASES = 512
_CHUNK = 16_384


@dataclass(frozen=True)
class BandLimitConfig:
    sample_rate_hz: float
    low_hz: float = 100.0
    high_hz: float = 12_000.0
    order: int = 4

    def __post_init__(self) -> None:
        if not 0 < self.low_hz < self.high_hz < self.sample_rate_hz / 2:
            raise ValueError(f"need 0 < low_hz < high_hz < sample_rate_hz / 2, got {self}")
        if not 1 <= self.order <= 12:
            raise ValueError(f"order must be in [1, 12], got {self.order}")


class BandLimit:
    """Streaming Butterworth high-pass + low-pass (sosfilt with carried state)."""

    def __init__(self, config: BandLimitConfig):
        self.config = config
        c = config
        hp = signal.butter(c.order, c.low_hz, "highpass", fs=c.sample_rate_hz, output="sos")
        lp = signal.butter(c.order, c.high_hz, "lowpass", fs=c.sample_rate_hz, output="sos")
        self._sos = np.concatenate((hp, lp))
        self.reset()

    def __repr__(self) -> str:
        return f"BandLimit({self.config!r})"

    def reset(self) -> None:
        self._zi = np.zeros((self._sos.shape[0], 2))

    def process(self, x: np.ndarray) -> np.ndarray:
        y, self._zi = signal.sosfilt(self._sos, np.asarray(x, dtype=np.float64), zi=self._zi)
        return y.astype(np.float32)


@dataclass(frozen=True)
class ClockSkewConfig:
    ppm: float = 0.0
    drift_ppm: float = 0.0
    drift_period_s: float = 60.0
    sample_rate_hz: float = 48_000.0

    def __post_init__(self) -> None:
        if abs(self.ppm) + abs(self.drift_ppm) > 20_000:
            raise ValueError(f"ppm + drift_ppm must stay within 20 000, got {self.ppm}, {self.drift_ppm}")
        if self.drift_period_s <= 0 or self.sample_rate_hz <= 0:
            raise ValueError("drift_period_s and sample_rate_hz must be > 0")


class ClockSkew:
    """Streaming fractional resampler following tau(m) (see the module docstring)."""

    def __init__(self, config: ClockSkewConfig):
        self.config = config
        half = _CLOCK_TAPS // 2
        # h(t) over t in (-half, half] at 1/_CLOCK_PHASES steps: sinc cut at 0.45 fs, Kaiser 8.
        t = np.arange(-half * _CLOCK_PHASES, half * _CLOCK_PHASES + 1) / _CLOCK_PHASES
        proto = 0.9 * np.sinc(0.9 * t) * np.kaiser(len(t), 8.0)
        # bank[p, j]: weight of x[i0 - half + 1 + j] at frac p / phases (i0 = floor(tau)).
        p = np.arange(_CLOCK_PHASES + 1)[:, None]
        j = np.arange(_CLOCK_TAPS)[None, :]
        # x[i0 - half + 1 + j] lies frac + half - 1 - j before tau; proto index of that time:
        idx = p + (2 * half - 1 - j) * _CLOCK_PHASES
        self._bank = proto[idx]
        self._period = config.drift_period_s * config.sample_rate_hz
        self.reset()

    def __repr__(self) -> str:
        return f"ClockSkew({self.config!r})"

    def reset(self) -> None:
        self._buf = np.zeros(_CLOCK_TAPS, dtype=np.float64)
        self._buf_start = -_CLOCK_TAPS  # zeros before the stream
        self._next = 0

    def tau(self, m: np.ndarray) -> np.ndarray:
        c = self.config
        m = np.asarray(m, dtype=np.float64)
        drift = c.drift_ppm * 1e-6 * self._period / (2 * np.pi) * (1 - np.cos(2 * np.pi * m / self._period))
        return m / (1 + c.ppm * 1e-6) - drift

    def process(self, x: np.ndarray) -> np.ndarray:
        half = _CLOCK_TAPS // 2
        self._buf = np.concatenate((self._buf, np.asarray(x, dtype=np.float64)))
        end = self._buf_start + len(self._buf)  # one past the newest input
        # Output m needs inputs up to floor(tau(m)) + half; tau grows ~1 per output.
        guess = self._next + int((end - half - 1 - self.tau(self._next)) * 1.03) + 2
        cand = np.arange(self._next, max(self._next, guess))
        n_out = int(np.searchsorted(np.floor(self.tau(cand)) + half, end, side="left"))
        out = np.empty(n_out)
        win = sliding_window_view(self._buf, _CLOCK_TAPS)
        for s in range(0, n_out, _CHUNK):
            m = cand[s : min(n_out, s + _CHUNK)]
            t = self.tau(m)
            i0 = np.floor(t).astype(np.int64)
            f = (t - i0) * _CLOCK_PHASES
            ph = np.minimum(f.astype(np.int64), _CLOCK_PHASES - 1)
            a = (f - ph)[:, None]
            w = win[i0 - half + 1 - self._buf_start]
            taps = self._bank[ph] * (1 - a) + self._bank[ph + 1] * a
            out[s : s + len(m)] = np.einsum("ij,ij->i", w, taps)
        self._next += n_out
        keep_from = int(np.floor(self.tau(self._next))) - half - 1
        drop = min(max(0, keep_from - self._buf_start), len(self._buf))
        self._buf = self._buf[drop:]
        self._buf_start += drop
        return out.astype(np.float32)


def soft_clip(x: np.ndarray, gain_db: float) -> np.ndarray:
    """tanh(g x), g = 10^(gain_db / 20): linear for small x, saturating at +-1."""
    return np.tanh(np.asarray(x, dtype=np.float64) * 10 ** (gain_db / 20)).astype(np.float32)


def level_dbfs(x: np.ndarray) -> float:
    """RMS level in dBFS re a full-scale sine (AES17)."""
    ms = float(np.mean(np.asarray(x, dtype=np.float64) ** 2))
    return 10 * np.log10(2 * ms) if ms > 0 else float("-inf")


def band_power(x: np.ndarray, sample_rate_hz: float, band_hz: tuple[float, float]) -> float:
    """Mean power of x within band_hz (from its spectrum)."""
    x = np.asarray(x, dtype=np.float64)
    spec = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(len(x), 1 / sample_rate_hz)
    inband = (f >= band_hz[0]) & (f <= band_hz[1])
    return float(2 * np.sum(spec[inband]) / len(x) ** 2)


def add_noise(x: np.ndarray, sample_rate_hz: float, snr_db: float, band_hz: tuple[float, float],
              seed: int, signal_power: float | None = None) -> np.ndarray:
    """x + white Gaussian noise whose power within band_hz is the signal's there / 10^(snr/10).

    White noise of variance s^2 puts s^2 (hi - lo) / (fs / 2) into the band, hence
    s^2 = P_band / 10^(snr / 10) * (fs / 2) / (hi - lo).
    """
    lo, hi = band_hz
    if not 0 <= lo < hi <= sample_rate_hz / 2:
        raise ValueError(f"band_hz must lie in [0, fs / 2], got {band_hz}")
    p = band_power(x, sample_rate_hz, band_hz) if signal_power is None else signal_power
    std = np.sqrt(p / 10 ** (snr_db / 10) * (sample_rate_hz / 2) / (hi - lo))
    noise = np.random.default_rng(seed).standard_normal(len(x)) * std
    return (np.asarray(x, dtype=np.float64) + noise).astype(np.float32)


def resample_44k1(x: np.ndarray) -> np.ndarray:
    """48 kHz -> 44.1 kHz -> 48 kHz (44 100 / 48 000 = 147 / 160), as a mixer or stream does."""
    down = signal.resample_poly(np.asarray(x, dtype=np.float64), 147, 160)
    return signal.resample_poly(down, 160, 147).astype(np.float32)


@dataclass(frozen=True)
class AudioChannelConfig:
    """Every field defaults to no effect. ``codec``: a modem.codec.CodecConfig or None."""

    codec: object | None = None
    resample_44k1: bool = False
    band_hz: tuple[float, float] | None = None
    band_order: int = 4
    snr_db: float | None = None
    snr_band_hz: tuple[float, float] = (100.0, 12_000.0)
    level_dbfs: float | None = None  # RMS level (AES17) before the soft clip
    soft_clip: bool = False
    ppm: float = 0.0
    drift_ppm: float = 0.0
    drift_period_s: float = 20.0
    seed: int = 0


def apply_audio_channel(x: np.ndarray, sample_rate_hz: float, config: AudioChannelConfig) -> np.ndarray:
    """float mono (n,) through the channel (order in the module docstring) -> float32."""
    c = config
    y = np.asarray(x, dtype=np.float32)
    if c.codec is not None:
        from .codec import round_trip

        y = round_trip(y, int(sample_rate_hz), c.codec)
    if c.resample_44k1:
        y = resample_44k1(y)
    if c.band_hz is not None:
        y = BandLimit(BandLimitConfig(sample_rate_hz, c.band_hz[0], c.band_hz[1], c.band_order)).process(y)
    if c.snr_db is not None:
        y = add_noise(y, sample_rate_hz, c.snr_db, c.snr_band_hz, c.seed)
    if c.level_dbfs is not None:
        gain = c.level_dbfs - level_dbfs(y)
        y = soft_clip(y, gain) if c.soft_clip else (y * 10 ** (gain / 20)).astype(np.float32)
    if c.ppm or c.drift_ppm:
        y = ClockSkew(ClockSkewConfig(c.ppm, c.drift_ppm, c.drift_period_s, sample_rate_hz)).process(y)
    return y


@dataclass(frozen=True)
class IrChannelConfig:
    """IR link effects; times in microseconds unless named _s. Every field defaults to none."""

    jitter_us: float = 0.0
    stretch_us: tuple[float, float] = (0.0, 0.0)
    drop_fraction: float = 0.0
    spurious_per_s: float = 0.0
    spurious_width_us: tuple[float, float] = (100.0, 400.0)
    shadows_s: tuple[tuple[float, float], ...] = ()
    start_s: float = 0.0
    ppm: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.jitter_us < 0 or not 0 <= self.drop_fraction < 1 or self.spurious_per_s < 0:
            raise ValueError(f"jitter_us, drop_fraction, spurious_per_s out of range: {self}")
        if self.stretch_us[0] > self.stretch_us[1] or self.spurious_width_us[0] > self.spurious_width_us[1]:
            raise ValueError("stretch_us and spurious_width_us are (low, high) ranges")


def marks_of(durations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Signed durations -> (starts, ends) of the marks in us (float64) from time 0."""
    d = np.asarray(durations, dtype=np.int64)
    edges = np.concatenate(([0], np.cumsum(np.abs(d))))
    is_mark = d > 0
    return edges[:-1][is_mark].astype(np.float64), edges[1:][is_mark].astype(np.float64)


def durations_of(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Sorted, non-overlapping marks -> int32 signed durations (mark, space, ..., mark), edges
    rounded to 1 us in absolute time (no accumulated rounding)."""
    s = np.round(np.asarray(starts)).astype(np.int64)
    e = np.maximum(np.round(np.asarray(ends)).astype(np.int64), s + 1)
    if len(s) == 0:
        return np.zeros(0, dtype=np.int32)
    out = np.empty(2 * len(s) - 1, dtype=np.int64)
    out[0::2] = e - s
    out[1::2] = -(s[1:] - e[:-1])
    return out.astype(np.int32)


def apply_ir_channel(durations: np.ndarray, config: IrChannelConfig) -> np.ndarray:
    """int32 signed durations through the IR channel -> int32 signed durations."""
    c = config
    rng = np.random.default_rng(c.seed)
    s, e = marks_of(durations)
    total = float(np.sum(np.abs(np.asarray(durations, dtype=np.int64))))
    scale = 1 / (1 + c.ppm * 1e-6)  # a sender clock fast by ppm makes every time shorter
    s, e = s * scale, e * scale
    keep = rng.random(len(s)) >= c.drop_fraction
    for start, length in c.shadows_s:
        keep &= ~((s >= start * 1e6) & (s < (start + length) * 1e6))
    s, e = s[keep], e[keep]
    e = e + rng.uniform(c.stretch_us[0], c.stretch_us[1], len(e))
    s = s + rng.uniform(-c.jitter_us, c.jitter_us, len(s))
    e = e + rng.uniform(-c.jitter_us, c.jitter_us, len(e))
    if c.spurious_per_s > 0:
        n = rng.poisson(c.spurious_per_s * total * scale / 1e6)
        t = np.sort(rng.uniform(0, total * scale, n))
        s = np.concatenate((s, t))
        e = np.concatenate((e, t + rng.uniform(*c.spurious_width_us, n)))
    order = np.argsort(s, kind="stable")
    s, e = s[order], e[order]
    if len(s):  # merge what overlaps: a run of marks ends at the latest end seen in it
        run_end = np.maximum.accumulate(e)
        first = np.flatnonzero(np.concatenate(([True], s[1:] > run_end[:-1] + 0.5)))
        last = np.concatenate((first[1:] - 1, [len(s) - 1]))
        s, e = s[first], run_end[last]
    if c.start_s > 0:
        t0 = c.start_s * 1e6
        keep = e > t0
        s, e = np.maximum(s[keep], t0), e[keep]
        s, e = s - t0, e - t0
    return durations_of(s, e)
