"""A profile's receive chain: input samples -> (FM I/Q front end) -> (one resampler) -> the
profile's demodulator -> bits for the frame layer.

``RxChain(profile, kind, rate_hz)`` is the twin of ``modem.txchain.TxChain`` and the one
composition of a receiver, used by the terminal's streaming pipeline, the monitor, benches and
tests. By input kind (``modem.profiles.InputKind``):

- ``IQ`` (MPX profiles): ``FmIqDemodulator`` (channel filter, discriminator, carrier-offset
  tracking) turns the FM signal into the MPX at the rate its decimation plan gives (200-300 kHz,
  see ``fmiq_config.plan_decimation``); that decimation is the chain's one change of rate, and
  the demodulator runs at the MPX rate it yields.
- ``BASEBAND``: samples at any rate the profile accepts are resampled once, here at the edge,
  to the profile's ``internal_rate_hz`` (as redsea works at one internal MPX rate), so the
  demodulator always runs at one rate whatever the sound card or file: a rational polyphase
  resampler when the ratio is simple, else an integer decimation then an arbitrary-ratio one.
  A profile whose demodulator front end is itself that one change of rate
  (``demodulates_any_rate``: it mixes its band down and decimates) is fed the input as it is.
- ``PULSES``: durations go to the demodulator as they are; a pulse profile fed ``BASEBAND``
  (a WAV of a detector module's output) goes through the profile's edge detector first.

What comes out is whatever the profile's demodulator hands the frame layer (soft bits).
``quality`` is a snapshot of what the chain measures (``RxQuality``); ``stage_seconds`` the
process CPU seconds spent so far in its two parts (``"fm_demod"``: the FM I/Q front end, I/Q
input only; ``"subcarrier_demod"``: any resampler or edge detector, then the demodulator), read
once around each call, so it costs two clock reads a block.

Invariants: every stage is chunk-invariant, so the output depends only on the concatenated
input; memory is the stages' own bounded state; no I/O, no clock.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from modem._resample import (
    ArbitraryResampler,
    ArbitraryResamplerConfig,
    RationalResampler,
    ResamplerConfig,
)
from modem.fmiq import FmIqDemodulator, FmIqDemodulatorConfig
from modem.profiles import InputKind, ModemProfile

__all__ = ["RxChain", "RxQuality"]

# A rational resampler is used when up (the interpolation factor) stays at most this (e.g.
# 192 kHz -> 228 kHz is 19/16).
_MAX_RATIONAL_UP = 512
# Kaiser design (ResamplerConfig): a transition of (A - 7.95) / (14.36 L) of the lower rate for
# L taps per phase at A dB, so L = (A - 7.95) / (14.36 x transition / rate).
_STOPBAND_DB = 70.0
_MIN_TAPS, _MAX_TAPS = 32, 160


@dataclass(frozen=True)
class RxQuality:
    """What the chain measures now. ``snr_db``: Es/N0 at the decisions; ``level``: the
    profile's own level measure (injection for MPX profiles, dBFS for audio); ``clock_offset_ppm``:
    symbol-rate error as seen in our samples; ``freq_offset_hz`` and ``cnr_db``: the FM I/Q front
    end's tuner offset and carrier-to-noise ratio (None without I/Q input)."""

    snr_db: float
    level: float
    clock_offset_ppm: float
    freq_offset_hz: float | None = None
    cnr_db: float | None = None


def _filter(top_hz: float, rate_a: float, rate_b: float) -> tuple[int, float]:
    """(taps per phase, cutoff fraction) of a resampling filter between two rates that keeps
    everything up to ``top_hz`` (the profile's band edge) and stops at the lower Nyquist rate:
    the cut-off sits midway between them, the transition is the gap."""
    low = min(rate_a, rate_b)
    gap = max(low / 2 - top_hz, 0.01 * low)
    taps = math.ceil((_STOPBAND_DB - 7.95) / (14.36 * gap / low))
    cutoff = min(1.0, (top_hz + gap / 2) / (low / 2))
    return min(max(taps, _MIN_TAPS), _MAX_TAPS), cutoff


class _ToInternalRate:
    """Baseband at ``rate_hz`` -> baseband at ``internal_hz`` (real float32), streaming, keeping
    the band up to ``top_hz``."""

    def __init__(self, rate_hz: float, internal_hz: int, top_hz: float) -> None:
        self.rate_hz, self.internal_hz = rate_hz, internal_hz
        self._stages: list = []
        ratio = Fraction(internal_hz) / Fraction(rate_hz).limit_denominator(10**6)
        if ratio == 1:
            return
        if ratio.numerator <= _MAX_RATIONAL_UP and ratio.denominator <= 64 * _MAX_RATIONAL_UP:
            taps, cutoff = _filter(top_hz, rate_hz, internal_hz)
            self._stages.append(RationalResampler(ResamplerConfig(
                ratio.numerator, ratio.denominator, taps_per_phase=taps, cutoff_fraction=cutoff)))
            return
        d = max(1, math.floor(rate_hz / internal_hz))
        if d >= 2:  # rate / d lies in [internal, 2 internal): the rest is a ratio in (0.5, 1]
            taps, cutoff = _filter(top_hz, rate_hz, rate_hz / d)
            self._stages.append(RationalResampler(ResamplerConfig(
                1, d, taps_per_phase=taps, cutoff_fraction=cutoff)))
        taps, cutoff = _filter(top_hz, rate_hz / d, internal_hz)
        self._stages.append(ArbitraryResampler(ArbitraryResamplerConfig(
            internal_hz * d / rate_hz, taps_per_phase=taps, cutoff_fraction=cutoff)))

    def __repr__(self) -> str:
        return f"_ToInternalRate({self.rate_hz:g} -> {self.internal_hz})"

    def reset(self) -> None:
        for stage in self._stages:
            stage.reset()

    def process(self, x: np.ndarray) -> np.ndarray:
        for stage in self._stages:
            x = stage.process(x)
        return x

    @property
    def delay_samples(self) -> int:
        """Input samples that stay inside the resamplers (pushed out by ``flush``)."""
        if not self._stages:
            return 0
        return 2 * _MAX_TAPS * max(1, math.ceil(self.rate_hz / self.internal_hz))


class RxChain:
    """Input samples (complex64 I/Q, float32 baseband, or int durations) -> soft bits."""

    def __init__(self, profile: ModemProfile, kind: InputKind, rate_hz: float) -> None:
        self.profile, self.kind = profile, kind
        self.input_rate_hz = profile.check_rate(kind, rate_hz)
        self._iq: FmIqDemodulator | None = None
        self._resample: _ToInternalRate | None = None
        self._detector = None  # pulse profiles fed a detector waveform
        if kind is InputKind.IQ:
            self._iq = FmIqDemodulator(FmIqDemodulatorConfig(iq_rate_hz=round(rate_hz)))
            self.demod_rate_hz = int(self._iq.mpx_rate_hz)
        elif kind is InputKind.BASEBAND and profile.make_edge_detector is not None:
            self._detector = profile.make_edge_detector(int(round(rate_hz)))
            self.demod_rate_hz = profile.internal_rate_hz
        elif kind is InputKind.BASEBAND and profile.demodulates_any_rate:
            self.demod_rate_hz = int(round(rate_hz))
        elif kind is InputKind.BASEBAND:
            self._resample = _ToInternalRate(rate_hz, profile.internal_rate_hz, profile.band_hz[1])
            self.demod_rate_hz = profile.internal_rate_hz
        else:
            self.demod_rate_hz = profile.internal_rate_hz
        self._demod = profile.make_demodulator(profile.config, self.demod_rate_hz)
        self._fm_s = 0.0  # process CPU seconds in the FM I/Q front end
        self._demod_s = 0.0  # ... in the resampler / edge detector and the demodulator

    def __repr__(self) -> str:
        return (f"RxChain({self.profile.name!r}, {self.kind.value}, {self.input_rate_hz:g} Hz, "
                f"demodulating at {self.demod_rate_hz} Hz)")

    @property
    def is_iq(self) -> bool:
        return self.kind is InputKind.IQ

    @property
    def demodulator(self):
        """The profile's own demodulator stage (for plots and diagnostics)."""
        return self._demod

    def reset(self) -> None:
        for stage in (self._iq, self._resample, self._detector, self._demod):
            if stage is not None:
                stage.reset()
        self._fm_s = self._demod_s = 0.0

    @property
    def stage_seconds(self) -> dict[str, float]:
        """Process CPU seconds so far: ``fm_demod`` (I/Q input only), ``subcarrier_demod``."""
        out = {"fm_demod": self._fm_s} if self._iq is not None else {}
        out["subcarrier_demod"] = self._demod_s
        return out

    def process(self, x: np.ndarray) -> np.ndarray:
        """A block of input (any size) -> the soft bits it completed."""
        t0 = time.process_time()
        if self._iq is not None:
            x = self._iq.process(x)
            t1 = time.process_time()
            self._fm_s += t1 - t0
            t0 = t1
        elif self._resample is not None:
            x = self._resample.process(x)
        elif self._detector is not None:
            x = self._detector.process(x)
        out = self._demod.process(x)
        self._demod_s += time.process_time() - t0
        return out

    def flush(self) -> np.ndarray:
        """End of input: push what the stages hold through the demodulator, then its tail."""
        parts = []
        t0 = time.process_time()
        if self._iq is not None:
            x = self._iq.flush()
            t1 = time.process_time()
            self._fm_s += t1 - t0
            t0 = t1
            parts.append(self._demod.process(x))
        elif self._detector is not None:
            parts.append(self._demod.process(self._detector.flush()))
        elif self._resample is not None and self._resample.delay_samples:
            parts.append(self._demod.process(self._resample.process(
                np.zeros(self._resample.delay_samples, np.float32))))
        parts.append(self._demod.flush())
        self._demod_s += time.process_time() - t0
        return np.concatenate(parts)

    @property
    def quality(self) -> RxQuality:
        d = self._demod.stats
        iq = self._iq.stats if self._iq is not None else None
        return RxQuality(
            snr_db=float(d.snr_db), level=float(d.level),
            clock_offset_ppm=float(d.clock_offset_ppm),
            freq_offset_hz=None if iq is None else float(iq.freq_offset_hz),
            cnr_db=None if iq is None else float(iq.cnr_db))
