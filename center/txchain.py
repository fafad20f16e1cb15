"""The center's transmit chain after framing: bits -> subcarrier MPX (+ programme) -> FM I/Q.

``SignalChain`` is shared by the fixed render (``center.render.CarouselRenderer``) and the live
carousel (``center.live.LiveCarousel``), so both put exactly the same samples on air for the
same bits.

Programme (``programme_peak`` not None): ``modem.mpxsim.simulate_mpx`` in chunks of about one
second, each seeded from (programme_seed, chunk index) and generated ``fade`` samples longer;
the overlap is cross-faded (sin^2 / cos^2, weights sum to 1) into the next chunk. Chunk lengths
are whole pilot periods (L * 19 000 / rate is an integer), so pilot, 38 kHz and 57 kHz
carriers continue phase-exact across chunk seams and only the noise-like programme fades.
Deviation budget, peaks added coherently (the worst case): pilot 9 % + RDS 3 % + data peak
(1.5 x injection: the RRC QPSK subcarrier peaks at 1.49 x its sine-equivalent level, measured
over 20 s; DATA_PEAK_FACTOR keeps a margin) + programme = 100 %, so programme peak =
0.88 - 1.6 x injection (0.72 at 10 %): ``programme_peak_for(injection)``.

Invariants: sample n of the MPX depends only on the bits so far and n (the modulator and the
programme are chunk-invariant), so the MPX is identical however the bits are cut; the I/Q
differs only by float rounding. No I/O, no clock; memory is one programme chunk.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from modem import FmSubcarrierConfig, SubcarrierModulator
from modem.fmiq import FmIqModulator, FmIqModulatorConfig
from modem.mpxsim import PILOT_HZ, MpxSimConfig, simulate_mpx

DATA_PEAK_FACTOR = 1.6  # subcarrier peak / injection (measured 1.49, see the docstring)
PILOT_LEVEL, RDS_LEVEL = 0.09, 0.03  # mpxsim defaults (ITU-R BS.450, IEC 62106)
_PROGRAMME_CHUNK_S = 1.0
_PROGRAMME_FADE_S = 0.02  # 20 ms: a cross-fade far slower than any audio period above 50 Hz
_IQ_FLUSH_MPX = 32  # zero MPX samples that push the I/Q interpolator's 11.5-sample delay out


def programme_peak_for(injection: float) -> float:
    """Programme peak that fills the deviation budget left by pilot, RDS and data."""
    return max(0.0, 1.0 - PILOT_LEVEL - RDS_LEVEL - DATA_PEAK_FACTOR * injection)


class SignalChain:
    """Bits (uint8 0/1) -> float32 MPX at the modem rate, or complex64 FM I/Q at ``iq_rate_hz``."""

    def __init__(self, modem_config: FmSubcarrierConfig, iq_rate_hz: int | None = None,
                 programme_peak: float | None = None, programme_seed: int = 0) -> None:
        self.modem_config = modem_config
        self.mpx_rate_hz = int(modem_config.sample_rate_hz)
        self.iq_rate_hz = iq_rate_hz
        self.programme_peak = programme_peak
        self.programme_seed = programme_seed
        self._iq_config = (None if iq_rate_hz is None
                           else FmIqModulatorConfig(self.mpx_rate_hz, iq_rate_hz))
        self.reset()

    def __repr__(self) -> str:
        return (f"SignalChain({self.modem_config!r}, iq_rate_hz={self.iq_rate_hz}, "
                f"programme_peak={self.programme_peak}, programme_seed={self.programme_seed})")

    @property
    def output_rate_hz(self) -> int:
        return self.mpx_rate_hz if self.iq_rate_hz is None else self.iq_rate_hz

    def reset(self) -> None:
        self._modulator = SubcarrierModulator(self.modem_config)
        self._iq = None if self._iq_config is None else FmIqModulator(self._iq_config)
        self._programme = (None if self.programme_peak is None else Programme(
            self.mpx_rate_hz, self.programme_peak, self.programme_seed))

    def process(self, bits: np.ndarray) -> np.ndarray:
        """bits (n,) uint8 -> samples (m,) float32 MPX or complex64 I/Q."""
        return self._finish(self._modulator.process(bits))

    def flush(self) -> np.ndarray:
        """The pulse tails of the last symbols (and the I/Q interpolator's delay); then the
        modulator starts afresh."""
        tail = self._modulator.flush()
        if self._iq is not None:
            tail = np.concatenate((tail, np.zeros(_IQ_FLUSH_MPX, np.float32)))
        return self._finish(tail)

    def _finish(self, mpx: np.ndarray) -> np.ndarray:
        if self._programme is not None:
            mpx = mpx + self._programme.take(mpx.size)
        return mpx if self._iq is None else self._iq.process(mpx)


class Programme:
    """Seeded programme MPX (pilot, stereo, RDS) of unbounded length, taken in any sizes."""

    def __init__(self, rate_hz: int, programme_peak: float, seed: int) -> None:
        period = rate_hz // math.gcd(rate_hz, int(PILOT_HZ))  # samples per whole pilot cycles
        self._chunk = max(1, round(_PROGRAMME_CHUNK_S * rate_hz / period)) * period
        self._fade = min(self._chunk, round(_PROGRAMME_FADE_S * rate_hz))
        self._cfg = MpxSimConfig(sample_rate_hz=float(rate_hz), pilot_level=PILOT_LEVEL,
                                 rds_level=RDS_LEVEL, programme_peak=max(0.0, programme_peak))
        self._seed = seed
        self._index = 0
        self._buf = np.zeros(0, np.float32)
        self._tail: np.ndarray | None = None

    def __repr__(self) -> str:
        return f"Programme({self._cfg!r}, seed={self._seed})"

    def take(self, n: int) -> np.ndarray:
        parts, have = [], 0
        while have < n:
            if not self._buf.size:
                self._buf = self._next_chunk()
            part, self._buf = self._buf[:n - have], self._buf[n - have:]
            parts.append(part)
            have += part.size
        return np.concatenate(parts) if parts else np.zeros(0, np.float32)

    def _next_chunk(self) -> np.ndarray:
        cfg = dataclasses.replace(self._cfg, seed=self._seed * 1_000_003 + self._index)
        x = simulate_mpx(self._chunk + self._fade, cfg)
        self._index += 1
        body, tail = x[:self._chunk].copy(), x[self._chunk:]
        if self._tail is not None and self._fade:
            w = np.sin(0.5 * np.pi * (np.arange(self._fade) + 0.5) / self._fade) ** 2
            body[:self._fade] = w * body[:self._fade] + (1.0 - w) * self._tail
        self._tail = tail
        return body
