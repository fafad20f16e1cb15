"""IR durations <-> sampled waveforms: the 38 kHz carrier rendered for an emitter driven by a
sound card, and a detector's output (a WAV of a TSOP module's pin) turned back into durations.

- ``IrCarrierRenderer``: signed durations (us) -> float32 samples at 96 or 192 kHz, a sine of
  ``carrier_hz`` at ``amplitude`` during marks (phase from the absolute sample index, so bursts
  are coherent and the output does not depend on chunking), silence during spaces. At 96 kHz a
  38 kHz square wave cannot be represented (2.5 samples per cycle): the sine is what the
  converter can make; an LED driver conducting on the positive half-waves gives the bursts.
  Edges fall on the nearest sample of their absolute time (+-2.6 us at 192 kHz).
- ``IrEdgeDetector``: samples of a detector output, active low (idle high: TSOP) or active high,
  detected from the first ``decide_s`` of signal: the idle level is the one held most of the
  time (bursts fill ~20 %). Thresholds sit at 40 % and 60 % between the two levels
  (hysteresis); each edge is placed where the signal crosses the midpoint, interpolated
  between samples, and rounded to 1 us in absolute time, so durations carry no accumulated
  rounding. Output: int32 signed durations starting with the first mark.
  The same stage takes the carrier itself (what ``IrCarrierRenderer`` writes, or a photodiode
  recorded at 96/192 kHz): a detector output sits at one of its two levels, so its median is
  one extreme, while a carrier idles between its peaks, so its median lies near the middle
  (within ``CARRIER_MEDIAN_FRACTION`` of the swing). Then the envelope, the largest
  |x - median| over the last ``CARRIER_ENVELOPE_PERIODS`` carrier periods, is what is
  thresholded: a sliding maximum rises with the first peak of a burst and falls a window after
  its last one, so falling edges are moved back by that window less a quarter period (where
  the last peak falls on average); edges come out within 30 us at 96 kHz (three samples),
  12 us at 192 kHz.

Invariant: both stages' outputs depend only on the concatenated input.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .ir_config import IR

# Carrier or detector output (see the module docstring): the median of a detector output is
# one of its levels, 50 % of the swing from the middle; a carrier's is its idle level, ~0 %.
CARRIER_MEDIAN_FRACTION = 0.25
# Envelope window: two carrier periods (5.05 samples at 96 kHz: at 2.5 samples a cycle, at
# least one sample of any two periods lies within 20 degrees of a peak, |sin| >= 0.94).
CARRIER_ENVELOPE_PERIODS = 2.0


@dataclass(frozen=True)
class IrRenderConfig:
    sample_rate_hz: int = 192_000
    carrier_hz: float = IR.carrier_hz
    amplitude: float = 0.9

    def __post_init__(self) -> None:
        if self.sample_rate_hz not in (96_000, 192_000):
            raise ValueError(f"sample_rate_hz must be 96000 or 192000, got {self.sample_rate_hz}")
        if not 0 < self.carrier_hz < self.sample_rate_hz / 2:
            raise ValueError(f"carrier_hz must be below Nyquist, got {self.carrier_hz}")
        if not 0 < self.amplitude <= 1:
            raise ValueError(f"amplitude must be in (0, 1], got {self.amplitude}")


class IrCarrierRenderer:
    """int signed durations (us) -> float32 carrier samples."""

    def __init__(self, config: IrRenderConfig = IrRenderConfig()):
        self.config = config
        self.reset()

    def __repr__(self) -> str:
        return f"IrCarrierRenderer({self.config!r})"

    def reset(self) -> None:
        self._t_us = 0  # absolute time of the next duration's start
        self._n = 0  # next output sample

    def process(self, durations: np.ndarray) -> np.ndarray:
        d = np.asarray(durations, dtype=np.int64)
        if d.size == 0:
            return np.zeros(0, dtype=np.float32)
        fs = self.config.sample_rate_hz
        t = self._t_us + np.concatenate(([0], np.cumsum(np.abs(d))))
        edges = (t * fs + 500_000) // 1_000_000  # nearest sample of each absolute time
        n0, n1 = self._n, int(edges[-1])
        on = np.zeros(n1 - n0 + 1, dtype=np.int64)
        marks = d > 0
        np.add.at(on, edges[:-1][marks] - n0, 1)
        np.add.at(on, edges[1:][marks] - n0, -1)
        gate = np.cumsum(on[:-1]) > 0
        n = np.arange(n0, n1)
        phase = (n * self.config.carrier_hz / fs) % 1.0
        out = np.where(gate, self.config.amplitude * np.sin(2 * np.pi * phase), 0.0)
        self._t_us, self._n = int(t[-1]), n1
        return out.astype(np.float32)


@dataclass(frozen=True)
class IrDetectorConfig:
    sample_rate_hz: float = 48_000.0
    polarity: str = "auto"  # "auto", "active_low" (TSOP), "active_high"
    decide_s: float = 0.05
    min_swing: float = 0.05  # of full scale: less is silence

    def __post_init__(self) -> None:
        if not 8_000 <= self.sample_rate_hz <= 1_000_000:
            raise ValueError(f"sample_rate_hz must be in 8 kHz..1 MHz, got {self.sample_rate_hz}")
        if self.polarity not in ("auto", "active_low", "active_high"):
            raise ValueError(f"polarity must be auto, active_low or active_high, got {self.polarity!r}")
        if not 0.005 <= self.decide_s <= 10 or not 0 < self.min_swing < 2:
            raise ValueError("decide_s must be in [0.005, 10] s and min_swing in (0, 2)")


class IrEdgeDetector:
    """float samples of a detector output -> int32 signed durations (us)."""

    def __init__(self, config: IrDetectorConfig = IrDetectorConfig()):
        self.config = config
        self._window = int(round(config.decide_s * config.sample_rate_hz))
        self.reset()

    def __repr__(self) -> str:
        return f"IrEdgeDetector({self.config!r})"

    def reset(self) -> None:
        self._pending = np.zeros(0, dtype=np.float64)
        self._pending_start = 0  # absolute index of _pending[0]
        self._levels: tuple[float, float] | None = None  # (idle, active)
        self.carrier: bool | None = None  # the input is the carrier itself (envelope first)
        self._carrier_idle = 0.0
        self._env_tail = np.zeros(0, dtype=np.float64)  # last window - 1 rectified samples
        self._state = 0  # 1 = active (mark), 0 = idle
        self._prev = None  # last sample seen (for interpolation across chunks)
        self._last_edge_us: int | None = None
        self.active_low: bool | None = None

    def process(self, samples: np.ndarray) -> np.ndarray:
        x = np.nan_to_num(np.asarray(samples, dtype=np.float64))
        if self._levels is None:
            self._pending = np.concatenate((self._pending, x))
            if len(self._pending) < self._window:
                return np.zeros(0, dtype=np.int32)
            if not self._decide(self._pending[: self._window]):
                # Silence so far: keep only what the next decision could need.
                drop = len(self._pending) - self._window + 1
                self._pending = self._pending[drop:]
                self._pending_start += drop
                return np.zeros(0, dtype=np.int32)
            x, start = self._pending, self._pending_start
            self._pending = np.zeros(0)
        else:
            start = self._pending_start
        self._pending_start = start + len(x)
        if self.carrier:
            x = self._envelope(x)
        return self._edges(x, start)

    @property
    def _env_window(self) -> int:
        return max(2, int(np.ceil(CARRIER_ENVELOPE_PERIODS * self.config.sample_rate_hz / IR.carrier_hz)))

    def _envelope(self, x: np.ndarray) -> np.ndarray:
        """Sliding maximum of |x - idle| over the envelope window (causal, chunk-invariant)."""
        w = self._env_window
        a = np.concatenate((self._env_tail, np.abs(x - self._carrier_idle)))
        padded = np.concatenate((np.zeros(max(0, w - 1 - len(self._env_tail))), a))
        self._env_tail = a[-(w - 1):] if len(a) >= w - 1 else a
        if len(x) == 0:
            return x
        return np.lib.stride_tricks.sliding_window_view(padded, w)[-len(x):].max(axis=1)

    def flush(self) -> np.ndarray:
        """A mark still open at the end is closed there; then resets."""
        out = np.zeros(0, dtype=np.int32)
        if self._levels is not None and self._state == 1 and self._last_edge_us is not None:
            end_us = int(round(self._pending_start * 1e6 / self.config.sample_rate_hz))
            if end_us > self._last_edge_us:
                out = np.array([end_us - self._last_edge_us], dtype=np.int32)
        self.reset()
        return out

    def _decide(self, x: np.ndarray) -> bool:
        lo, hi = float(np.percentile(x, 1)), float(np.percentile(x, 99))
        if hi - lo < self.config.min_swing:
            return False
        mid = (lo + hi) / 2
        median = float(np.median(x))
        self.carrier = abs(median - mid) < CARRIER_MEDIAN_FRACTION * (hi - lo)
        if self.carrier:  # idle at the median; active at the envelope's top
            self._carrier_idle = median
            env = self._envelope(x)
            self._env_tail = np.zeros(0)
            self.active_low = False
            self._levels = (0.0, float(np.percentile(env, 99)))
            return True
        if self.config.polarity == "auto":
            self.active_low = bool(np.mean(x > mid) > 0.5)  # idle high most of the time
        else:
            self.active_low = self.config.polarity == "active_low"
        self._levels = (hi, lo) if self.active_low else (lo, hi)
        return True

    def _edges(self, x: np.ndarray, start: int) -> np.ndarray:
        idle, active = self._levels
        # Work in "activity" units: 0 idle, 1 active.
        a = (x - idle) / (active - idle)
        prev = self._prev
        self._prev = float(a[-1]) if len(a) else prev
        # Hysteresis: a sample above 0.6 sets active, below 0.4 sets idle, between keeps.
        setv = np.where(a > 0.6, 1, np.where(a < 0.4, 0, -1))
        idx = np.where(setv >= 0, np.arange(len(a)), -1)
        last = np.maximum.accumulate(idx)
        state = np.where(last >= 0, setv[np.maximum(last, 0)], self._state)
        before = np.concatenate(([self._state], state[:-1]))
        flips = np.flatnonzero(state != before)
        if len(state):
            self._state = int(state[-1])
        if len(flips) == 0:
            return np.zeros(0, dtype=np.int32)
        # Midpoint crossing between the sample before each flip and the flip sample.
        a_prev = np.concatenate(([prev if prev is not None else a[0]], a[:-1]))[flips]
        a_now = a[flips]
        den = np.where(a_now != a_prev, a_now - a_prev, 1.0)
        frac = np.clip((0.5 - a_prev) / den, 0.0, 1.0)
        rising = state[flips] == 1  # edge into a mark
        # An envelope crosses half the peak on the first sample of a burst above it, but falls
        # only a window (w - 1 samples) after the last one, which comes on average a quarter
        # carrier period before the burst ends: move falling edges back by the difference.
        late = 0.0
        if self.carrier:
            fs = self.config.sample_rate_hz
            late = np.where(rising, 0.0, self._env_window - 1 - fs / (4 * IR.carrier_hz))
        t_us = np.round((start + flips - 1 + frac - late) * 1e6 / self.config.sample_rate_hz).astype(np.int64)
        times = t_us.tolist()
        out = []
        last = self._last_edge_us
        for t, r in zip(times, rising.tolist()):
            if last is None:
                if r:  # start at the first mark
                    last = t
                continue
            if t > last:
                out.append(-(t - last) if r else (t - last))
                last = t
        self._last_edge_us = last
        return np.array(out, dtype=np.int32)


def detector_output(durations: np.ndarray, sample_rate_hz: int, *, active_low: bool = True,
                    swing: float = 0.8, tail_s: float = 0.01) -> np.ndarray:
    """Signed durations (us, + mark) -> float32 samples of a detector module's output pin as a
    DC-coupled recorder sampling at ``sample_rate_hz`` sees it (for tests and reference
    captures): idle at +swing / 2, marks at -swing / 2 (``active_low``, a TSOP's open-collector
    pin with its pull-up) or the other way round. Each sample is the mean of the pin over its
    interval, so an edge inside a sample gives an intermediate value and edge times survive any
    rate to a fraction of a sample (as an ADC's anti-alias filter leaves them). ``tail_s`` of idle
    follows the last value."""
    d = np.asarray(durations, dtype=np.int64)
    if not 8_000 <= sample_rate_hz <= 1_000_000:
        raise ValueError(f"sample_rate_hz must be in 8 kHz..1 MHz, got {sample_rate_hz}")
    if not 0 < swing <= 2 or tail_s < 0:
        raise ValueError(f"swing must be in (0, 2] and tail_s >= 0, got {swing}, {tail_s}")
    edges = np.concatenate(([0], np.cumsum(np.abs(d)))).astype(np.float64)
    marked = np.concatenate(([0], np.cumsum(np.where(d > 0, d, 0)))).astype(np.float64)
    n = int(np.ceil(edges[-1] * sample_rate_hz / 1e6 + tail_s * sample_rate_hz))
    t = np.arange(n + 1) * (1e6 / sample_rate_hz)  # sample interval bounds, us
    active = np.diff(np.interp(t, edges, marked)) * (sample_rate_hz / 1e6)  # 0..1 per sample
    level = 0.5 - active if active_low else active - 0.5
    return (swing * level).astype(np.float32)
