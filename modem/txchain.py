"""A profile's transmit chain: bits -> the profile's modulator -> (programme) -> (FM I/Q), or
-> (the infrared carrier).

``TxChain(profile, options)`` is the one composition of a transmitter, shared by the fixed
render and the live carousel of ``center`` (so both put exactly the same samples on air for the
same bits), by benches and by tests. What it adds around the profile's own modulator depends
only on the profile's baseband kind (``modem.profiles.Baseband``):

- MPX profiles: optionally a simulated programme (pilot, stereo, RDS), and optionally the FM
  modulator that turns the MPX into a complete FM broadcast signal as I/Q at ``iq_rate_hz``;
- audio profiles: the modulator's output as it is;
- pulse profiles: signed microsecond durations (for ``.ir`` files and ir-ctl) when no rate is
  asked for, else the 38 kHz carrier they gate, at 96 or 192 kHz (a sound card driving an
  emitter).

Programme (``with_programme``): ``modem.mpxsim.simulate_mpx`` in chunks of about one second,
each seeded from (programme_seed, chunk index) and generated ``fade`` samples longer; the
overlap is cross-faded (sin^2 / cos^2, weights sum to 1) into the next chunk. Chunk lengths are
whole pilot periods (L * 19 000 / rate is an integer), so pilot, 38 kHz and 57 kHz carriers
continue phase-exact across chunk seams and only the noise-like programme fades. Deviation
budget, peaks added coherently (the worst case): pilot 9 % + RDS 3 % + data peak (1.5 x
injection: an RRC QPSK subcarrier peaks at 1.49 x its sine-equivalent level, measured over
20 s; DATA_PEAK_FACTOR keeps a margin) + programme = 100 %, so programme peak =
0.88 - 1.6 x injection (0.72 at 10 %): ``programme_peak_for(injection)``.

Invariants: sample n of the baseband depends only on the bits so far and n (the modulators and
the programme are chunk-invariant), so the output is identical however the bits are cut (I/Q
differs only by float rounding). No I/O, no clock; memory is one programme chunk.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from modem.fmiq import FmIqModulator, FmIqModulatorConfig
from modem.mpxsim import PILOT_HZ, MpxSimConfig, simulate_mpx
from modem.profiles import Baseband, InputKind, ModemProfile

__all__ = ["DATA_PEAK_FACTOR", "Programme", "TxChain", "TxOptions", "mpx_rate_for_iq",
           "programme_peak_for"]

DATA_PEAK_FACTOR = 1.6  # subcarrier peak / injection (measured 1.49, see the docstring)
PILOT_LEVEL, RDS_LEVEL = 0.09, 0.03  # mpxsim defaults (ITU-R BS.450, IEC 62106)
_PROGRAMME_CHUNK_S = 1.0
_PROGRAMME_FADE_S = 0.02  # 20 ms: a cross-fade far slower than any audio period above 50 Hz
_IQ_FLUSH_MPX = 32  # zero MPX samples that push the I/Q interpolator's 11.5-sample delay out


def programme_peak_for(injection: float) -> float:
    """Programme peak that fills the deviation budget left by pilot, RDS and data."""
    return max(0.0, 1.0 - PILOT_LEVEL - RDS_LEVEL - DATA_PEAK_FACTOR * injection)


def mpx_rate_for_iq(profile: ModemProfile, iq_rate_hz: int) -> int:
    """MPX rate to render an I/Q rate from: iq / d with the largest integer d dividing it that
    leaves at least the profile's internal rate, so the interpolation ratio is the integer d
    (1.2 MHz -> 240 kHz, 2.048 MHz -> 256 kHz, 2.4 MHz -> 240 kHz; a rate with no such divisor
    renders at itself)."""
    for d in range(max(1, iq_rate_hz // profile.internal_rate_hz), 0, -1):
        if iq_rate_hz % d == 0:
            return iq_rate_hz // d
    return iq_rate_hz


@dataclass(frozen=True)
class TxOptions:
    """How to transmit. ``baseband_rate_hz`` None: the profile's default (or, with an I/Q
    output, ``mpx_rate_for_iq``); ``iq_rate_hz`` set: a complete FM signal at that rate (MPX
    profiles only); ``level`` None: the profile's default level."""

    baseband_rate_hz: int | None = None
    iq_rate_hz: int | None = None
    level: float | None = None
    with_programme: bool = False
    programme_seed: int = 0

    def __post_init__(self) -> None:
        for name in ("baseband_rate_hz", "iq_rate_hz"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or value <= 0):
                raise ValueError(f"{name} must be a positive whole number of Hz, got {value!r}")


class TxChain:
    """Bits (uint8 0/1) -> the profile's signal: float32 baseband, or complex64 FM I/Q."""

    def __init__(self, profile: ModemProfile, options: TxOptions = TxOptions()) -> None:
        self.profile, self.options = profile, options
        mpx = profile.baseband is Baseband.MPX
        if options.iq_rate_hz is not None and not profile.takes_iq:
            raise ValueError(f"profile {profile.name} is not carried on an FM signal: no iq_rate_hz")
        if options.with_programme and not mpx:
            raise ValueError(f"profile {profile.name} has no FM multiplex to add a programme to")
        if options.iq_rate_hz is not None:
            profile.check_rate(InputKind.IQ, options.iq_rate_hz)
        rate = options.baseband_rate_hz
        self.pulses = profile.baseband is Baseband.PULSES and rate is None
        if rate is None and not self.pulses:
            rate = (profile.default_baseband_rate_hz if options.iq_rate_hz is None
                    else mpx_rate_for_iq(profile, options.iq_rate_hz))
        if self.pulses:
            self.baseband_rate_hz = None  # signed microsecond durations, no sample rate
        elif options.iq_rate_hz is not None:
            self.baseband_rate_hz = int(profile.check_rate(InputKind.BASEBAND, rate))
        else:
            self.baseband_rate_hz = profile.check_tx_rate(rate)
        self.level = profile.default_level if options.level is None else profile.check_level(options.level)
        self.iq_rate_hz = options.iq_rate_hz
        self._iq_config = (None if options.iq_rate_hz is None
                           else FmIqModulatorConfig(self.baseband_rate_hz, options.iq_rate_hz))
        self._programme_peak = programme_peak_for(self.level) if options.with_programme else None
        self.reset()

    def __repr__(self) -> str:
        return (f"TxChain({self.profile.name!r}, {self.options!r}, "
                f"baseband_rate_hz={self.baseband_rate_hz})")

    @property
    def output_rate_hz(self) -> int | None:
        """Samples per second out; None for pulse durations."""
        return self.baseband_rate_hz if self.iq_rate_hz is None else self.iq_rate_hz

    @property
    def is_iq(self) -> bool:
        return self.iq_rate_hz is not None

    @property
    def bits_per_second(self) -> float:
        return self.profile.bits_per_second

    def reset(self) -> None:
        pulse_profile = self.profile.baseband is Baseband.PULSES
        self._modulator = self.profile.modulator(
            None if pulse_profile else self.baseband_rate_hz, self.level)
        self._renderer = (self.profile.make_pulse_renderer(self.baseband_rate_hz, self.level)
                          if pulse_profile and not self.pulses else None)
        self._iq = None if self._iq_config is None else FmIqModulator(self._iq_config)
        self._programme = (None if self._programme_peak is None else Programme(
            self.baseband_rate_hz, self._programme_peak, self.options.programme_seed))

    def process(self, bits: np.ndarray) -> np.ndarray:
        """bits (n,) uint8 -> samples (m,): float32 baseband or complex64 I/Q."""
        return self._finish(self._modulator.process(bits))

    def flush(self) -> np.ndarray:
        """The pulse tails of the last symbols (and the I/Q interpolator's delay); then the
        modulator starts afresh."""
        tail = self._modulator.flush()
        if self._iq is not None:
            tail = np.concatenate((tail, np.zeros(_IQ_FLUSH_MPX, np.float32)))
        return self._finish(tail)

    def _finish(self, x: np.ndarray) -> np.ndarray:
        if self._renderer is not None:
            return self._renderer.process(x)
        if self._programme is not None:
            x = x + self._programme.take(x.size)
        return x if self._iq is None else self._iq.process(x)


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
