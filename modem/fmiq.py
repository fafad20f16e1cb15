"""FM broadcast I/Q front end: MPX <-> complete FM signal as complex baseband I/Q.

Conventions: the MPX is float32 with 1.0 = 75 kHz peak deviation; I/Q is complex64 with the
wanted carrier at 0 Hz (offset by the tuner's error when received).

Receive chain (``FmIqDemodulator``), one FFT block at a time, no per-sample loops:

    I/Q at fs ──► FFT (N points) ──► the M bins around the tracked carrier (the NCO is a whole-
        bin shift), times the channel filter ──► inverse FFT (M points): I/Q at fs M / N
        ──► quadrature discriminator angle(y[n] y*[n-1]) = the MPX at fs M / N

- Overlap-save fast convolution with decimation in the frequency domain (``modem/_fir.py``):
  at 1.2 MHz, N = 32 768, M = 10 240 (5 / 16), so the discriminator and the MPX run at
  375 kHz (``plan_decimation``). One complex FFT (~7.5-10 ns a sample: two thirds of the
  front end's time) does the work of the NCO, a ~175-tap channel filter and the decimator; the
  direct FIRs it replaces made one pass over the data per tap pair, plus an MPX filter. The
  front end is FFT-bound at ~50x real time on one core (the direct FIRs: ~46x, with the wider,
  noisier channel below).
- The FFT is scipy's pocketfft (complex64, ~8-10 ns a sample at 32 768 points here, memory-
  bound under load). Measured on this machine and left out: several blocks in one call (its
  SIMD path looks 2x faster on hot data, but the same on streamed I/Q); pyFFTW (4x faster per
  transform, but FFTW is GPL) and mkl_fft (3.5x, but ~900 MB installed and x86 only): a
  dependency decision, not a code one.
- Channel filter: flat to ±160 kHz, 60 dB down from ±185 kHz (FIELD-NOTES: ±100 kHz folds the
  programme onto the 76 kHz subcarrier; Carson: ±(75 + 90) kHz). Its sharp edge keeps the
  noise bandwidth, hence the click rate near threshold, low.
- No MPX low-pass: the MPX leaves at the discriminator's rate with the FM noise above 100 kHz
  in it; the subcarrier demodulator's own FFT keeps only its band, and a second filter here
  would cost more than it saves there.
- Carrier offset: the discriminator output of a zero-mean MPX has mean = residual offset, so the
  mean over each block updates the tracked offset (first-order loop, time constant
  ``offset_time_constant_s``); the bins are shifted by the whole number of bins nearest to it
  (24 Hz at 1.2 MHz: the fraction left only adds a DC to the MPX). The first block, and any
  block after one whose residual exceeded 10 kHz (a signal appearing after noise, a retune), is
  re-run from its spectrum until the residual is small, so a ±50 kHz tuner error costs no data.
  The mixing phase is carried across blocks, so a shift that changes between blocks leaves no
  phase step (no click) in the I/Q.
- Stats: level from the input power; CNR from the noise density in the FFT bins outside the
  channel (white noise assumed) against the power the channel keeps.
- Rates below 2 x 185 kHz keep no channel filter: the I/Q is only mixed (a time-domain NCO).
- Rates, the decimation plan, the configs and the stats are ``fmiq_config.py``.
- Invariant: the input is cut into blocks of fixed length (the FFT hop) and every piece of
  state (offset, mixing phase, overlap, last I/Q sample) advances only at block ends, so the
  output is bit-identical whatever the chunking of the input; output lags the input by at most
  one block (~41 ms at 1.2 MHz), which ``flush`` releases at the end of input.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

import scipy.fft

from modem._fir import band_response, phasor, plan_overlap_save, wrapped_slice
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


# FFT blocks of at least this many input samples (27 ms at 1.2 MHz): per-block Python costs
# (~0.1 ms) stay under 1 %, and scipy's FFT is at its fastest per sample (7-8 ns, complex64).
_MIN_FFT = 32_768
# Noise bins for the CNR: a run of up to _NOISE_BINS bins either side of the carrier, from
# 10 kHz beyond the stop edge towards 45 % of the rate (2 x 1024 bins: |X|^2 averaged to ~2 %).
_NOISE_MARGIN_HZ = 10_000.0
_NOISE_BINS = 1024
# The whole-bin shift follows the offset estimate once it is this many bins away (hysteresis:
# a shift that flips between two bins each block would put DC steps into the MPX).
_SHIFT_HYSTERESIS = 0.75
_EQUALISE_AT_HZ = 76_000.0  # the data subcarrier: the discriminator's droop is undone there
_LEVEL_EVERY = 4  # blocks between level and CNR measurements (every 109 ms at 1.2 MHz)
_CNR_CAP_DB = 99.0  # reported CNR is clipped to +-99 dB, a bound for display and JSON
# After a frame whose residual offset exceeds this, the next frame is re-acquired. Bass biases
# one frame's mean by at most ~0.1 x 0.4 x 75 kHz = 3 kHz, well under it.
_REACQUIRE_HZ = 10_000.0


def _clamp(value: float, limit: float) -> float:
    """``value`` within +-``limit`` (np.clip's result for a scalar, without its overhead)."""
    return float(min(max(value, -limit), limit))


class FmIqModulator:
    """MPX float32 at ``mpx_rate_hz`` -> unit-amplitude FM complex64 I/Q at ``iq_rate_hz``.

    Output length is ``len(mpx) * iq/mpx`` in total (up to rounding) and lags the input by the
    interpolator's group delay (11.5 MPX samples; none when the two rates are equal). Chunking
    changes only float rounding of the phase (~1e-5 rad), never the sample count. Below ~400 kHz the I/Q rate cannot hold the
    whole ±(75 + 90) kHz signal and the spectrum wraps (a lossy but allowed test case).
    """

    def __init__(self, config: FmIqModulatorConfig = FmIqModulatorConfig()) -> None:
        self.config = config
        ratio = Fraction(config.iq_rate_hz, config.mpx_rate_hz)
        # 24 taps per phase, -6 dB at the MPX Nyquist: the Kaiser transition is
        # (70 - 8) / (14.36 * 24) = 0.18 of the MPX rate, so at 228 kHz the MPX is flat to 93 kHz
        # and images of content up to 93 kHz (at 228 kHz - f >= 135 kHz) are >= 70 dB down.
        # Equal rates need no interpolator (a cutoff at the Nyquist of both is no filter at all;
        # designing one raised ValueError): the MPX goes straight to the phase, with no lag.
        self._interp = None if ratio == 1 else RationalResampler(
            ResamplerConfig(ratio.numerator, ratio.denominator, taps_per_phase=24,
                            cutoff_fraction=1.0)
        )
        # rad per I/Q sample for MPX = 1.0
        self._rad_per_unit = 2.0 * math.pi * config.deviation_hz / config.iq_rate_hz
        self.reset()

    def reset(self) -> None:
        if self._interp is not None:
            self._interp.reset()
        self._phase = 0.0

    def __repr__(self) -> str:
        return f"FmIqModulator({self.config!r})"

    def process(self, mpx: np.ndarray) -> np.ndarray:
        up = np.asarray(mpx, dtype=np.float32)
        if self._interp is not None:
            up = self._interp.process(up)
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
        ratio = plan_decimation(fs, config.channel_stopband_hz)
        self.mpx_rate_hz = float(fs * ratio)
        self._filtered = fs / 2 > config.channel_stopband_hz
        if self._filtered:
            taps = lowpass_taps(fs, config.channel_passband_hz, config.channel_stopband_hz,
                                config.filter_stopband_db)
            self._plan = plan_overlap_save(len(taps), ratio, _MIN_FFT)
            self._resp = band_response(taps, self._plan, 0.0, fs)
            self._noise_gain = float(np.sum(taps**2))  # white noise power kept by the filter
            self._group_delay = (len(taps) - 1) // 2  # odd symmetric taps: a whole delay
            self._startup = -(-len(taps) * self._plan.kept_bins // self._plan.fft_size)
            n = self._plan.fft_size
            lo = math.ceil((config.channel_stopband_hz + _NOISE_MARGIN_HZ) * n / fs)
            hi = math.floor(0.45 * n)
            count = min(_NOISE_BINS, hi - lo)
            # (first bin relative to the carrier's, count) on each side; none if no room.
            self._noise_runs = ((lo, count), (-lo - count + 1, count)) if count > 16 else ()
        else:  # no room for a channel filter: blocks only cut the input (no overlap)
            self._plan = plan_overlap_save(1, Fraction(1), _MIN_FFT // 4)
            self._noise_runs = ()
            self._group_delay = 0
            self._startup = 1
        self._bin_hz = fs / self._plan.fft_size
        frame_s = self._plan.hop / fs
        self._alpha = min(1.0, frame_s / config.offset_time_constant_s)
        # The discriminator gives rad/sample at the MPX rate; 1.0 MPX = deviation_hz. The
        # equaliser (``_equalise``) is set for unity gain at the 76 kHz data subcarrier.
        mpx_per_rad = self.mpx_rate_hz / (2.0 * math.pi * config.deviation_hz)
        w = 2.0 * math.pi * min(_EQUALISE_AT_HZ, 0.45 * self.mpx_rate_hz) / self.mpx_rate_hz
        droop = math.sin(w / 2) / (w / 2)
        side = (1.0 / droop - 1.0) / (4.0 * math.sin(w / 2) ** 2)
        self._eq_centre = np.float32((1.0 + 2.0 * side) * mpx_per_rad)
        self._eq_side = np.float32(side * mpx_per_rad)
        self.reset()

    def reset(self) -> None:
        plan = self._plan
        self._buf = np.zeros(plan.fft_size, dtype=np.complex64)
        self._spectrum = np.zeros(plan.fft_size, dtype=np.complex64)  # the block's FFT, in place
        self._fill = plan.overlap  # the first block sees `overlap` zeros of history
        self._offset_hz = 0.0
        self._phase_num = 0  # mixing phase at the next block's first output, in 1/N cycles
        self._nco_phase = 0.0  # the unfiltered path's NCO phase, rad
        self._bins = 0  # the whole-bin shift applied (filtered path)
        self._rad_tail = np.zeros(2, dtype=np.float32)
        self._last: np.complex64 | None = None  # the I/Q sample before the next block
        self._last_phase = 0.0  # its block's mixing phase (cycles, ``_shift``)
        self._frames = 0
        self._last_residual_hz = 0.0
        self._samples_in = 0
        self._power = math.nan
        self._cnr_db = math.nan

    def __repr__(self) -> str:
        return f"FmIqDemodulator({self.config!r}, mpx_rate_hz={self.mpx_rate_hz:g})"

    @property
    def stats(self) -> FmIqStats:
        level = 10 * math.log10(self._power) if self._power > 0 else -math.inf
        return FmIqStats(self._offset_hz, level, self._cnr_db, self._frames, self._samples_in)

    def process(self, iq: np.ndarray) -> np.ndarray:
        """Feed complex64 I/Q of any length; returns the MPX of every completed block."""
        x = np.asarray(iq, dtype=np.complex64).reshape(-1)
        self._samples_in += x.size
        plan = self._plan
        n, hop, fill = plan.fft_size, plan.hop, self._fill
        if fill + x.size < n:  # not a whole block yet: just keep it
            self._buf[fill:fill + x.size] = x
            self._fill += x.size
            return np.zeros(0, dtype=np.float32)
        # Block b holds samples b hop - fill .. of x (negative: the held samples): the blocks
        # that reach into the held samples are copied together, the rest are views of x.
        count = (fill + x.size - plan.overlap) // hop
        out = np.empty(count * plan.out_per_hop, dtype=np.float32)
        for b in range(count):
            s = b * hop - fill
            block = x[s:s + n] if s >= 0 else np.concatenate((self._buf[fill + s:fill], x[:s + n]))
            out[b * plan.out_per_hop:(b + 1) * plan.out_per_hop] = self._run_block(block)
        s = count * hop - fill  # where the next block starts
        rest = x[s:] if s >= 0 else np.concatenate((self._buf[fill + s:fill], x))
        self._buf[:rest.size] = rest
        self._fill = rest.size
        return out

    def flush(self) -> np.ndarray:
        """End of input: the MPX of the samples still held (under one block). The chain then
        goes on as if the input had continued with zeros; the stats are kept.

        The held samples are run as a block padded with zeros; only the MPX samples they make,
        ceil(held x M / N), are returned, so a recording that ends just after its last data
        frame still gives that frame's end.
        """
        plan = self._plan
        held = self._fill - plan.overlap
        if held <= 0:
            return np.zeros(0, dtype=np.float32)
        self._buf[self._fill:] = 0
        keep_stats = (self._power, self._cnr_db)
        mpx = self._run_block(self._buf.copy())
        self._power, self._cnr_db = keep_stats  # the zero padding is not a level change
        self._buf[:plan.overlap] = self._buf[plan.hop:].copy()
        self._fill = plan.overlap
        return mpx[:-(-held * plan.kept_bins // plan.fft_size)]

    def _run_block(self, block: np.ndarray) -> np.ndarray:
        """One FFT block (fft_size input samples, the overlap first) -> out_per_hop MPX samples."""
        plan, limit = self._plan, self.config.max_offset_hz
        if self._filtered:  # in place in a buffer that stays in cache (no fresh output array)
            np.copyto(self._spectrum, block)
            spectrum = scipy.fft.fft(self._spectrum, overwrite_x=True)
        else:
            spectrum = block
        if self._frames == 0 or abs(self._last_residual_hz) > _REACQUIRE_HZ:
            # Acquisition (first block, or a signal that appeared or jumped): re-run this block
            # until the residual offset is small, so the carrier is centred before its data.
            for _ in range(4):
                self._bins = round(self._offset_hz / self._bin_hz)
                y, phase = self._shift(spectrum, commit=False)
                residual = self._residual_hz(self._discriminate(y, phase, commit=False))
                self._offset_hz = _clamp(self._applied_hz + residual, limit)
                if abs(residual) < 500.0:
                    break
            self._bins = round(self._offset_hz / self._bin_hz)
        elif abs(self._offset_hz - self._bins * self._bin_hz) > _SHIFT_HYSTERESIS * self._bin_hz:
            self._bins = round(self._offset_hz / self._bin_hz)
        y, phase = self._shift(spectrum, commit=True)
        rad = self._discriminate(y, phase, commit=True)
        residual = self._residual_hz(rad)
        self._last_residual_hz = residual
        # The residual is measured against the shift applied (whole bins), not the estimate.
        error = self._applied_hz + residual - self._offset_hz
        self._offset_hz = _clamp(self._offset_hz + self._alpha * error, limit)
        if self._frames % _LEVEL_EVERY == 0:
            self._update_levels(block, spectrum, y)
        self._frames += 1
        return self._equalise(rad)

    @property
    def _applied_hz(self) -> float:
        """The shift the mixing applies now: whole bins, or the offset itself without a filter."""
        return self._bins * self._bin_hz if self._filtered else self._offset_hz

    def _shift(self, spectrum: np.ndarray, commit: bool) -> tuple[np.ndarray, float]:
        """(the block's valid I/Q mixed down by the applied shift, filtered and decimated, up to
        a constant phase; that phase in cycles: y e^{-j 2 pi phase} continues the last block)."""
        plan = self._plan
        n, m = plan.fft_size, plan.kept_bins
        if not self._filtered:
            w = -2.0 * math.pi * self._offset_hz / self.config.iq_rate_hz
            y = spectrum[plan.overlap:] * phasor(w, self._nco_phase, plan.hop)
            if commit:
                self._nco_phase = float((self._nco_phase + w * plan.hop) % (2.0 * math.pi))
            return y, 0.0
        k = self._bins
        half = m // 2
        kept = np.empty(m, dtype=np.complex64)
        for dst, src, size in ((0, k, m - half), (m - half, k - half, half)):
            src %= n
            if src + size <= n:
                np.multiply(spectrum[src:src + size], self._resp[dst:dst + size],
                            out=kept[dst:dst + size])
            else:  # the run wraps past bin N - 1: two pieces
                first = n - src
                np.multiply(spectrum[src:], self._resp[dst:dst + first], out=kept[dst:dst + first])
                np.multiply(spectrum[:size - first], self._resp[dst + first:dst + size],
                            out=kept[dst + first:dst + size])
        # Mixing phase: block b mixes its input sample s_b + i by phase c_b + 2 pi k i / N; its
        # first output shows the input about one group delay D before s_b + V, so c_b is set for
        # the phase there to continue the previous block's (which advanced by k_prev hop / N):
        # a shift that changes between blocks then leaves no phase step in the I/Q. Only the
        # discriminator's product across the block boundary needs it (``_discriminate``).
        phase = ((self._phase_num - k * (plan.overlap - self._group_delay)) % n) / n
        if commit:
            self._phase_num = (self._phase_num + k * plan.hop) % n
        return scipy.fft.ifft(kept, overwrite_x=True)[plan.skip:], phase

    def _equalise(self, rad: np.ndarray) -> np.ndarray:
        """rad per sample -> MPX units, with the first difference's droop undone at 76 kHz.

        angle(y[n] y*[n-1]) is the phase's first difference, whose gain at w rad/sample is
        sin(w/2) / (w/2) of a true derivative's: 0.934 at 76 kHz and 375 kHz (-0.6 dB). The
        3-tap (1 + 2a, -a, -a) lifts it by 1 + 4 a sin^2(w/2), a set for unity at 76 kHz; the
        product stays within 0.3 % of 1 from DC to 89 kHz (19 kHz: +0.1 %). Delay: one sample.
        """
        ext = np.concatenate((self._rad_tail, rad))
        self._rad_tail = ext[-2:]
        side = ext[:-2] + ext[2:]
        side *= -self._eq_side
        out = ext[1:-1] * self._eq_centre
        out += side
        return out

    def _discriminate(self, y: np.ndarray, phase: float, commit: bool) -> np.ndarray:
        """angle(y[i] y*[i-1]) in rad per MPX sample, float32, carrying the last sample; the
        product across the block boundary turns by the blocks' phase difference (``_shift``)."""
        prod = np.empty_like(y)
        if self._last is None:  # the very first sample: no step
            prod[0] = 1.0
        else:
            turn = np.exp(-2j * np.pi * (phase - self._last_phase))
            prod[0] = y[0] * np.conj(self._last) * turn
        np.conjugate(y[:-1], out=prod[1:])
        np.multiply(y[1:], prod[1:], out=prod[1:])
        if commit:
            self._last, self._last_phase = y[-1], phase
        return np.angle(prod)

    def _residual_hz(self, rad: np.ndarray) -> float:
        """Mean frequency of the block (Hz); the very first block leaves out the outputs whose
        filter window still reaches into the zeros before the input (their phase is noise)."""
        first = self._startup if self._frames == 0 else 0
        part = rad[first:]
        return float(np.add.reduce(part)) / max(part.size, 1) * self.mpx_rate_hz / (2 * math.pi)

    def _update_levels(self, block: np.ndarray, spectrum: np.ndarray, y: np.ndarray) -> None:
        """Input power and CNR, smoothed over offset_time_constant_s; measured on every
        _LEVEL_EVERY-th block (they are quality figures, not data: a fifth of the cost)."""
        a = min(1.0, _LEVEL_EVERY * self._alpha) if self._frames else 1.0
        n = self._plan.fft_size
        new = block[self._plan.overlap:]
        p_total = float(np.vdot(new, new).real) / max(new.size, 1)
        self._power = p_total if math.isnan(self._power) else (1 - a) * self._power + a * p_total
        if not self._noise_runs:
            return
        energy = 0.0
        for start, count in self._noise_runs:
            run = wrapped_slice(spectrum, self._bins + start, count)
            energy += float(np.vdot(run, run).real)
        sigma2 = energy / sum(count for _, count in self._noise_runs) / n
        carrier = float(np.vdot(y, y).real) / y.size - sigma2 * self._noise_gain
        noise_ref = sigma2 * CNR_REFERENCE_BANDWIDTH_HZ / self.config.iq_rate_hz
        if carrier <= 0:
            cnr = -_CNR_CAP_DB
        elif noise_ref <= 0:
            cnr = _CNR_CAP_DB
        else:
            cnr = float(np.clip(10 * math.log10(carrier / noise_ref), -_CNR_CAP_DB, _CNR_CAP_DB))
        self._cnr_db = cnr if math.isnan(self._cnr_db) else (1 - a) * self._cnr_db + a * cnr
