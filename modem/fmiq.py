"""FM broadcast I/Q front end: MPX <-> complete FM signal as complex baseband I/Q.

Conventions: the MPX is float32 with 1.0 = 75 kHz peak deviation; I/Q is complex64 with the
wanted carrier at 0 Hz (offset by the tuner's error when received).

Receive chain (``FmIqDemodulator``), all blockwise, no per-sample loops:

    I/Q at fs ──► NCO (removes the tracked carrier offset) ──► channel filter ±160 kHz, ÷d1
        ──► quadrature discriminator angle(x[n] x*[n-1]) ──► MPX lowpass, ÷d2 ──► MPX at fs/(d1 d2)

- The channel filter is deliberately wide (passband ±160 kHz, FIELD-NOTES: ±100 kHz folds the
  programme onto the 76 kHz subcarrier; Carson: ±(75 + 90) kHz). It only exists to decimate.
- Carrier offset: the discriminator output of a zero-mean MPX has mean = residual offset, so the
  mean over each internal frame updates the NCO frequency (first-order loop, time constant
  ``offset_time_constant_s``); the first frame, and any frame after one whose residual exceeded
  10 kHz (a signal appearing after noise, a retune), is re-run until the residual is small, so a
  ±50 kHz tuner error costs no data.
- Stats: level from the input power; CNR from what the channel filter removes (the noise
  outside the channel, white noise assumed) against what it keeps.
- Rates, the decimation plan, the configs and the stats are ``fmiq_config.py``.
- Invariant: the input is cut into internal frames of fixed length (a multiple of d1 d2) and
  every piece of state (NCO phase and frequency, FIR tails, last I/Q sample) advances only at
  frame ends, so the output is bit-identical whatever the chunking of the input; output lags the
  input by at most one frame (~55 ms at 1.2 MHz), which ``flush`` releases at the end of input.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from modem._fir import decimate, noise_gains, phasor
from modem._resample import RationalResampler, ResamplerConfig
from modem.dsp import lowpass_taps
from modem.fmiq_config import (
    CNR_REFERENCE_BANDWIDTH_HZ,
    DEVIATION_HZ,
    MAX_IQ_RATE_HZ,
    MIN_IQ_RATE_HZ,
    FmIqDemodulatorConfig,
    FmIqModulatorConfig,
    FmIqStats,
    plan_decimation,
)

__all__ = [
    "CNR_REFERENCE_BANDWIDTH_HZ",
    "DEVIATION_HZ",
    "MAX_IQ_RATE_HZ",
    "MIN_IQ_RATE_HZ",
    "FmIqDemodulator",
    "FmIqDemodulatorConfig",
    "FmIqModulator",
    "FmIqModulatorConfig",
    "FmIqStats",
    "plan_decimation",
]


_FRAME_SAMPLES = 65_536  # ~55 ms at 1.2 MHz; rounded up to a multiple of d1 d2
_CNR_CAP_DB = 99.0  # reported CNR is clipped to +-99 dB, a bound for display and JSON
# After a frame whose residual offset exceeds this, the next frame is re-acquired. Bass biases
# one frame's mean by at most ~0.1 x 0.4 x 75 kHz = 3 kHz, well under it.
_REACQUIRE_HZ = 10_000.0


class FmIqModulator:
    """MPX float32 at ``mpx_rate_hz`` -> unit-amplitude FM complex64 I/Q at ``iq_rate_hz``.

    Output length is ``len(mpx) * iq/mpx`` in total (up to rounding) and lags the input by the
    interpolator's group delay (11.5 MPX samples). Chunking changes only float rounding of the
    phase (~1e-5 rad), never the sample count. Below ~400 kHz the I/Q rate cannot hold the
    whole ±(75 + 90) kHz signal and the spectrum wraps (a lossy but allowed test case).
    """

    def __init__(self, config: FmIqModulatorConfig = FmIqModulatorConfig()) -> None:
        self.config = config
        ratio = Fraction(config.iq_rate_hz, config.mpx_rate_hz)
        # 24 taps per phase, -6 dB at the MPX Nyquist: the Kaiser transition is
        # (70 - 8) / (14.36 * 24) = 0.18 of the MPX rate, so at 228 kHz the MPX is flat to 93 kHz
        # and images of content up to 93 kHz (at 228 kHz - f >= 135 kHz) are >= 70 dB down.
        self._interp = RationalResampler(
            ResamplerConfig(ratio.numerator, ratio.denominator, taps_per_phase=24,
                            cutoff_fraction=1.0)
        )
        # rad per I/Q sample for MPX = 1.0
        self._rad_per_unit = 2.0 * math.pi * config.deviation_hz / config.iq_rate_hz
        self.reset()

    def reset(self) -> None:
        self._interp.reset()
        self._phase = 0.0

    def __repr__(self) -> str:
        return f"FmIqModulator({self.config!r})"

    def process(self, mpx: np.ndarray) -> np.ndarray:
        up = self._interp.process(np.asarray(mpx, dtype=np.float32))
        if up.size == 0:
            return np.zeros(0, dtype=np.complex64)
        phase = self._phase + np.cumsum(up, dtype=np.float64) * self._rad_per_unit
        self._phase = float(phase[-1] % (2.0 * math.pi))
        wrapped = np.mod(phase, 2.0 * math.pi).astype(np.float32)  # float32 trig is 4x faster
        out = np.empty(up.size, dtype=np.complex64)
        out.real = np.cos(wrapped)
        out.imag = np.sin(wrapped)
        return out


class FmIqDemodulator:
    """Complex64 I/Q at ``iq_rate_hz`` -> float32 MPX at ``mpx_rate_hz`` (1.0 = 75 kHz)."""

    def __init__(self, config: FmIqDemodulatorConfig = FmIqDemodulatorConfig()) -> None:
        self.config = config
        fs = config.iq_rate_hz
        self._d1, self._d2 = plan_decimation(fs)
        self._disc_rate_hz = fs / self._d1
        self.mpx_rate_hz = self._disc_rate_hz / self._d2
        step = self._d1 * self._d2
        self._frame = -(-_FRAME_SAMPLES // step) * step
        frame_s = self._frame / fs
        self._alpha = min(1.0, frame_s / config.offset_time_constant_s)
        if self._d1 > 1:
            stop = min(config.channel_stopband_hz, self._disc_rate_hz - config.channel_passband_hz)
            self._chan = lowpass_taps(fs, config.channel_passband_hz, stop,
                                      config.filter_stopband_db).astype(np.float32)
            self._noise_gain, self._outside_gain = noise_gains(self._chan)
        else:
            self._chan = None
            self._noise_gain = self._outside_gain = 1.0
        if self._d2 > 1:
            passband = min(config.mpx_passband_hz, 0.42 * self.mpx_rate_hz)
            self._mpxf = lowpass_taps(self._disc_rate_hz, passband, self.mpx_rate_hz - passband,
                                      config.filter_stopband_db).astype(np.float32)
        else:
            self._mpxf = None
        # The discriminator gives rad/sample at the discriminator rate; 1.0 MPX = deviation_hz.
        self._mpx_per_rad = self._disc_rate_hz / (2.0 * math.pi * config.deviation_hz)
        self.reset()

    def reset(self) -> None:
        self._pending: list[np.ndarray] = []
        self._pending_n = 0
        self._state = {
            "offset_hz": 0.0,
            "nco_phase": 0.0,
            "chan_tail": np.zeros(0 if self._chan is None else len(self._chan) - 1, np.complex64),
            "last": np.complex64(1.0),
            "mpx_tail": np.zeros(0 if self._mpxf is None else len(self._mpxf) - 1, np.float32),
        }
        self._frames = 0
        self._last_residual_hz = 0.0
        self._samples_in = 0
        self._power = math.nan
        self._cnr_db = math.nan

    def __repr__(self) -> str:
        return f"FmIqDemodulator({self.config!r}, mpx_rate_hz={self.mpx_rate_hz})"

    @property
    def stats(self) -> FmIqStats:
        level = 10 * math.log10(self._power) if self._power > 0 else -math.inf
        return FmIqStats(self._state["offset_hz"], level, self._cnr_db, self._frames,
                         self._samples_in)

    def process(self, iq: np.ndarray) -> np.ndarray:
        """Feed complex64 I/Q of any length; returns the MPX of every completed frame."""
        iq = np.asarray(iq, dtype=np.complex64)
        self._samples_in += iq.size
        # Small blocks are only listed until a frame is complete (no quadratic re-copying).
        self._pending.append(iq.copy())
        self._pending_n += iq.size
        if self._pending_n < self._frame:
            return np.zeros(0, dtype=np.float32)
        buf = np.concatenate(self._pending)
        n_frames = buf.size // self._frame
        outs = [self._run_frame(buf[k * self._frame:(k + 1) * self._frame])
                for k in range(n_frames)]
        rest = buf[n_frames * self._frame:].copy()
        self._pending, self._pending_n = [rest], rest.size
        return np.concatenate(outs)

    def flush(self) -> np.ndarray:
        """End of input: the MPX of the samples still held (under one internal frame). The
        chain then goes on as if the input had continued with zeros; the stats are kept.

        The held samples are run as a frame padded with zeros; only the MPX samples they make,
        ceil(held / (d1 d2)), are returned, so a recording that ends just after its last data
        frame still gives that frame's end.
        """
        held = self._pending_n
        if held == 0:
            return np.zeros(0, dtype=np.float32)
        frame = np.zeros(self._frame, dtype=np.complex64)
        frame[:held] = np.concatenate(self._pending)
        keep_stats = (self._power, self._cnr_db)
        mpx = self._run_frame(frame)[: -(-held // (self._d1 * self._d2))]
        self._power, self._cnr_db = keep_stats  # the zero padding is not a level change
        self._pending, self._pending_n = [], 0
        return mpx

    def _run_frame(self, frame: np.ndarray) -> np.ndarray:
        if self._frames == 0 or abs(self._last_residual_hz) > _REACQUIRE_HZ:
            # Acquisition (first frame, or a signal that appeared or jumped): re-run this frame
            # until the residual offset is small, so the carrier is centred before its data.
            for _ in range(4):
                _, residual, _ = self._frame_math(frame, self._state, commit=False)
                offset = self._state["offset_hz"] + residual
                limit = self.config.max_offset_hz
                self._state["offset_hz"] = float(np.clip(offset, -limit, limit))
                if abs(residual) < 500.0:
                    break
        mpx, residual, new_state = self._frame_math(frame, self._state, commit=True)
        self._last_residual_hz = residual
        limit = self.config.max_offset_hz
        new_state["offset_hz"] = float(
            np.clip(self._state["offset_hz"] + self._alpha * residual, -limit, limit)
        )
        self._state = new_state
        self._frames += 1
        return mpx

    def _frame_math(
        self, frame: np.ndarray, st: dict, commit: bool
    ) -> tuple[np.ndarray, float, dict]:
        """One frame through the chain from state ``st``; returns (mpx, residual Hz, new state)."""
        fs = self.config.iq_rate_hz
        n = frame.size
        new = dict(st)
        w = -2.0 * math.pi * st["offset_hz"] / fs
        nco = phasor(w, st["nco_phase"], n)
        new["nco_phase"] = float((st["nco_phase"] + w * n) % (2.0 * math.pi))
        p_outside = math.nan
        if self._chan is not None:
            hist = self._chan.size - 1
            ext = np.empty(hist + n, dtype=np.complex64)
            ext[:hist] = st["chan_tail"]
            np.multiply(frame, nco, out=ext[hist:])
            new["chan_tail"] = ext[n:].copy()
            y = decimate(ext, self._chan, self._d1, n // self._d1)
            if commit:  # what the filter removed (at the kept instants): out-of-channel noise
                delay = hist // 2
                rest = ext[delay:delay + n:self._d1] - y
                p_outside = float(np.vdot(rest, rest).real) / rest.size
        else:
            y = frame * nco
        prev = np.empty_like(y)
        prev[0] = st["last"]
        prev[1:] = y[:-1]
        new["last"] = y[-1]
        rad = np.angle(y * np.conj(prev)).astype(np.float32)
        residual_hz = float(np.mean(rad, dtype=np.float64)) * self._disc_rate_hz / (2 * math.pi)
        rad *= np.float32(self._mpx_per_rad)
        mpx = rad
        if self._mpxf is not None:
            ext = np.concatenate([st["mpx_tail"], rad])
            new["mpx_tail"] = ext[rad.size:].copy()
            mpx = decimate(ext, self._mpxf, self._d2, rad.size // self._d2)
        if commit:
            p_total = float(np.vdot(frame, frame).real) / n
            self._update_levels(p_total, float(np.vdot(y, y).real) / y.size, p_outside)
        return mpx, residual_hz, new

    def _update_levels(self, p_total: float, p_filtered: float, p_outside: float) -> None:
        a = self._alpha if self._frames else 1.0
        self._power = p_total if math.isnan(self._power) else (1 - a) * self._power + a * p_total
        if self._chan is None:
            return
        sigma2 = p_outside / self._outside_gain  # white noise variance at the input rate
        carrier = p_filtered - sigma2 * self._noise_gain
        noise_ref = sigma2 * CNR_REFERENCE_BANDWIDTH_HZ / self.config.iq_rate_hz
        if carrier <= 0:
            cnr = -_CNR_CAP_DB
        elif noise_ref <= 0:
            cnr = _CNR_CAP_DB
        else:
            cnr = float(np.clip(10 * math.log10(carrier / noise_ref), -_CNR_CAP_DB, _CNR_CAP_DB))
        self._cnr_db = cnr if math.isnan(self._cnr_db) else (1 - a) * self._cnr_db + a * cnr
