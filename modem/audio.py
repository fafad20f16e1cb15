"""Profiles `audio` and `audio-robust`: bits <-> audio samples by OFDM with periodic training.

Waveform (numbers in ``audio_config.py``): OFDM symbols of ``fft_size`` samples plus a cyclic
prefix; symbol 0 of every period of ``period_symbols`` is a known training symbol, the others
carry QPSK or 16-QAM on the carriers of the band. A transmission starts with a training symbol
and ``flush`` ends it with one (the last period filled with fixed pseudo-random bits), so every
data symbol on air sits between two trainings.

Why OFDM and not a single carrier with an equaliser: the band-limit filters and codecs act per
frequency, and OFDM equalises with one complex gain per carrier, estimated from the training
and updated block by block (vectorised FFTs), where a single carrier at the same rate needs an
adaptive equaliser updated per symbol (a Python loop at 10 kBd, too slow for 100x real time).
The cost is the prefix (11 %), the training (6 %, 12 %) and a Gaussian-like peak factor, paid
for by the level convention (RMS -12 dBFS leaves 5.6 sigma to full scale).

Receiver: a state machine over a sample buffer.
- SEARCH: correlate one period of band-passed input with the training (``TrainingSearch``);
  lock on a start that has another training one period later.
- LOCKED, per period: take the next training at the predicted start tau + r, measure its start
  error e against the channel estimate (``delay_estimate``), correct tau (gain ``timing_gain``)
  and the samples-per-period r (gain ``rate_gain``: a second-order loop that follows a constant
  clock error with no residual, and a slow drift). The data symbols sit at positions linearly
  interpolated between the two trainings (the clock error handled exactly, the fractional part
  as a phase slope), are equalised by the smoothed channel estimate and turned into exact
  LLRs with this period's signal amplitude (the two trainings' gains against the channel
  estimate) and noise (what the cells hold beyond it), spread over the carriers by their
  smoothed decision errors; a missed training or a dropout falls back on the moments of the
  equalised symbols, so a shadow or silence gives LLRs near 0, not garbage.
- A training not found is a miss: the grid coasts on r, and the period just passed is searched
  for a new grid (a new transmission); after ``coast_s`` of misses the state returns to SEARCH.

Invariants: every step runs only once all the samples it reads are buffered and reads a fixed
span of them, so the LLRs depend only on the concatenated input, never on its chunking.
Memory is bounded by a few periods. NaN / inf become 0 and are counted; no sample value raises.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import fft as sfft
from scipy import signal

from .audio_config import AUDIO, AUDIO_ROBUST, AudioConfig, AudioStats
from .audio_qam import llrs, map_bits, moment_snr
from .audio_sync import TrainingSearch, delay_estimate, training_symbols

__all__ = ["AUDIO", "AUDIO_ROBUST", "AudioConfig", "AudioDemodulator", "AudioModulator", "AudioStats"]

# Input magnitude limit: 4x full scale. Nothing real goes beyond it; it keeps squares finite.
_INPUT_LIMIT = 4.0
# A training matches the channel estimate with q >= 0.4 (q ~ sqrt(s / (1 + s)) at per-carrier
# SNR s: 0.58 at -3 dB); the best of +-8 samples of noise reaches ~0.25 with 50+ carriers.
_QUALITY_MIN = 0.4
_MAX_DELAY = 8.0
# The loop's samples-per-period may leave nominal by at most 2000 ppm.
_RATE_LIMIT = 2e-3
# SNR (linear) above which decision-directed noise estimates are used: 12 dB for 16-QAM (symbol
# errors ~1e-2, a few % low), 6 dB for QPSK.
# Trainings after acquisition measured directly before the loop takes over.
_STARTUP_TRAININGS = 8
_DD_SNR = {2: 10 ** 0.6, 4: 10 ** 1.2}


class AudioModulator:
    """Bits (uint8 0/1) -> float32 mono samples at ``config.sample_rate_hz``, full scale +-1."""

    def __init__(self, config: AudioConfig = AUDIO):
        if not isinstance(config, AudioConfig):
            raise TypeError(f"config must be AudioConfig, got {type(config).__name__}")
        self.config = config
        c = config
        self._k = c.carriers
        self._train = training_symbols(c)
        rms = 10 ** (c.level_dbfs / 20) / np.sqrt(2)  # AES17: full-scale sine = 0 dBFS
        # Unit-power carriers give time samples of mean square 2 * carriers / N^2 (irfft's 1/N).
        self._gain = rms * c.fft_size / np.sqrt(2 * self._k.size)
        self._fill = np.random.default_rng(c.training_seed ^ 0x5EED).integers(
            0, 2, c.bits_per_period, dtype=np.uint8)
        self.reset()

    def __repr__(self) -> str:
        return f"AudioModulator({self.config!r})"

    @property
    def bits_per_second(self) -> float:
        return self.config.bits_per_second

    def reset(self) -> None:
        self._pending = np.zeros(0, dtype=np.uint8)
        self._slot = 0  # position in the period of the next symbol (0 = training)
        self._started = False

    def process(self, bits: np.ndarray) -> np.ndarray:
        """bits: uint8 (n,) of 0/1 -> float32 (m,), m a multiple of the symbol length."""
        b = _check_bits(bits)
        b = np.concatenate((self._pending, b))
        bps = self.config.bits_per_symbol
        n = len(b) // bps
        self._pending = b[n * bps :]
        return self._symbols(b[: n * bps], n, final_training=False)

    def flush(self) -> np.ndarray:
        """-> float32: the rest of the period (fixed fill bits) and a closing training; resets."""
        c = self.config
        if not self._started and len(self._pending) == 0:
            return np.zeros(0, dtype=np.float32)
        bps, p = c.bits_per_symbol, c.period_symbols
        # Data symbols still to send: the pending bits, then fill up to the period's last slot.
        first = self._slot if self._slot != 0 else 1  # period slot of the next data symbol
        n0 = -(-len(self._pending) // bps)
        n = n0 + (-(first - 1 + n0)) % (p - 1)
        need = n * bps - len(self._pending)
        fill = np.resize(self._fill, need)
        out = self._symbols(np.concatenate((self._pending, fill)), n, final_training=True)
        self.reset()
        return out

    def _symbols(self, bits: np.ndarray, n_data: int, final_training: bool) -> np.ndarray:
        c = self.config
        p = c.period_symbols
        # Slots from self._slot on; every slot at a multiple of p is a training.
        slots = self._slot + np.arange(n_data + n_data // (p - 1) + 2)
        is_data = slots % p != 0
        last = int(np.searchsorted(np.cumsum(is_data), n_data)) + 1 if n_data else 0
        slots, is_data = slots[:last], is_data[:last]
        if final_training:
            slots = np.append(slots, 0)
            is_data = np.append(is_data, False)
        if len(slots) == 0:
            return np.zeros(0, dtype=np.float32)
        spectrum = np.zeros((len(slots), c.fft_size // 2 + 1), dtype=np.complex128)
        rows = spectrum[:, self._k]
        rows[~is_data] = self._train
        if n_data:
            rows[is_data] = map_bits(bits, c.bits_per_carrier).reshape(n_data, -1)
        spectrum[:, self._k] = rows
        body = sfft.irfft(spectrum, c.fft_size, axis=1)
        symbols = np.concatenate((body[:, -c.cyclic_prefix_samples :], body), axis=1)
        self._slot = 0 if final_training else int(slots[-1] + 1) % p
        self._started = True
        out = np.clip(symbols.ravel() * self._gain, -1.0, 1.0)
        return out.astype(np.float32)


def _check_bits(bits: np.ndarray) -> np.ndarray:
    b = np.asarray(bits)
    if b.ndim != 1 or not (np.issubdtype(b.dtype, np.integer) or b.dtype == np.bool_):
        raise TypeError(f"bits must be a 1-D integer array of 0/1, got {b.dtype} shape {b.shape}")
    if b.size and (b.min() < 0 or b.max() > 1):
        raise ValueError("bits must hold only 0 and 1")
    return b.astype(np.uint8)


class AudioDemodulator:
    """float32/float64 mono samples (any block size) -> float32 LLRs (log P(0) / P(1))."""

    def __init__(self, config: AudioConfig = AUDIO):
        if not isinstance(config, AudioConfig):
            raise TypeError(f"config must be AudioConfig, got {type(config).__name__}")
        self.config = config
        c = config
        self._k = c.carriers
        self._train = training_symbols(c)
        self._search = TrainingSearch(c)
        self._half_bp = len(self._search.taps) // 2
        self._r_nom = float(c.period_samples)
        self._n = c.fft_size
        self._ramp = 2j * np.pi * self._k / c.fft_size
        self._max_misses = max(1, int(np.ceil(c.coast_s * c.sample_rate_hz / c.period_samples)))
        # Samples read ahead of the grid: the next two trainings (a miss searches the period
        # just passed, verified one period later), their bodies, the clock tolerance, the filter.
        self._ahead = int(2 * self._r_nom) + 2 * self._search.tolerance + self._n + 2 * self._half_bp + 8
        self.reset()

    def __repr__(self) -> str:
        return f"AudioDemodulator({self.config!r})"

    @property
    def bits_per_second(self) -> float:
        return self.config.bits_per_second

    @property
    def stats(self) -> AudioStats:
        return self._stats

    def reset(self) -> None:
        self._stats = AudioStats()
        self._reset_chain()

    def _reset_chain(self) -> None:
        self._buf = np.zeros(0, dtype=np.float32)
        self._buf_start = 0  # absolute index of self._buf[0]
        self._chunks: list[np.ndarray] = []
        self._received = 0  # samples received in total
        self._end: int | None = None  # set by flush: no real samples from here on
        self._locked = False
        self._cursor = 0  # SEARCH: next candidate start
        self._tau = 0.0  # LOCKED: start of the last training body
        self._rate = self._r_nom
        self._h = np.zeros(self._k.size, dtype=np.complex128)
        self._shape = np.ones(self._k.size)  # relative noise per carrier, mean 1
        self._trainings = 0
        self._misses = 0

    def process(self, samples: np.ndarray) -> np.ndarray:
        """samples: real float (n,) -> float32 (m,) LLRs, m a multiple of bits per symbol."""
        x = np.asarray(samples)
        if x.ndim != 1 or not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
            raise TypeError(f"samples must be a 1-D real array, got {x.dtype} shape {x.shape}")
        x = x.astype(np.float32)
        bad = ~np.isfinite(x)
        nbad = int(np.count_nonzero(bad))
        if nbad:
            x[bad] = 0.0
        nclip = int(np.count_nonzero(np.abs(x) >= 0.999))
        np.clip(x, -_INPUT_LIMIT, _INPUT_LIMIT, out=x)
        if nbad or nclip:
            s = self._stats
            self._stats = dataclasses.replace(s, bad_samples=s.bad_samples + nbad,
                                              clipped_samples=s.clipped_samples + nclip)
        if len(x):
            self._chunks.append(x)
            self._received += len(x)
        return self._run()

    def flush(self) -> np.ndarray:
        """Demodulate what the buffered input still allows (zeros stand in for the look-ahead,
        no step reads past the real end), then restart; -> float32 LLRs. Stats keep counts."""
        self._end = self._received
        self._chunks.append(np.zeros(self._ahead + int(self._r_nom), dtype=np.float32))
        self._received += self._ahead + int(self._r_nom)
        out = self._run()
        self._stats = dataclasses.replace(self._stats, locked=False)
        self._reset_chain()
        return out

    # -- buffer --------------------------------------------------------------------------

    def _have(self, end: int) -> bool:
        if self._received < end:
            return False
        if self._chunks:
            self._buf = np.concatenate([self._buf, *self._chunks])
            self._chunks = []
        return True

    def _segment(self, start: int, stop: int) -> np.ndarray:
        """Samples [start, stop) by absolute index; zeros before the first sample."""
        lo = start - self._buf_start
        if lo >= 0:
            return self._buf[lo : stop - self._buf_start]
        return np.concatenate((np.zeros(-lo, dtype=np.float32), self._buf[: stop - self._buf_start]))

    def _trim(self, keep_from: int) -> None:
        drop = keep_from - self._buf_start
        if drop > len(self._buf) // 2 and drop > 0:
            self._buf = self._buf[drop:].copy()
            self._buf_start += drop

    # -- state machine -------------------------------------------------------------------

    def _run(self) -> np.ndarray:
        out = []
        while True:
            if self._locked:
                base = int(np.floor(self._tau))
                if not self._have(base + self._ahead):
                    break
                if self._end is not None and round(self._tau + self._rate) + self._n > self._end:
                    break
                out.append(self._step_locked())
            else:
                s = self._cursor
                window = int(self._r_nom)
                if not self._have(s + window + self._search.span + 2 * self._half_bp):
                    break
                if self._end is not None and s + self._n > self._end:
                    break
                self._step_search(s, window)
            keep = int(np.floor(self._tau)) if self._locked else self._cursor
            self._trim(keep - self._half_bp - self._n - 1)
        return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)

    def _bandpassed(self, start: int, length: int) -> np.ndarray:
        """Band-passed samples [start, start + length), zero-phase aligned with the input."""
        h = self._half_bp
        seg = self._segment(start - h, start + length + h).astype(np.float64)
        return signal.oaconvolve(seg, self._search.taps, mode="valid")

    def _find(self, s: int, window: int) -> tuple[float, float, float] | None:
        y = self._bandpassed(s, window + self._search.span)
        hit = self._search.find(y, window)
        if hit is None:
            return None
        t0, t1, score = hit
        return s + t0, s + t1, score

    def _step_search(self, s: int, window: int) -> None:
        hit = self._find(s, window)
        self._level(s, s + window)
        if hit is None:
            self._cursor = s + window
            return
        self._acquire(*hit)

    def _acquire(self, t0: float, t1: float, score: float) -> None:
        self._locked = True
        self._tau = t0
        # The period between the two search peaks is too rough for the rate (a codec's first
        # frames can move a peak by tens of samples): start at nominal, the loop learns it.
        self._rate = self._r_nom
        self._h = self._channel(t0)
        self._shape = np.ones(self._k.size)
        self._t_first = t0
        self._shifted = 0.0  # re-centring moves since acquisition (not clock drift)
        self._trainings = 1
        self._misses = 0
        self._gain_prev = 1.0  # the acquisition's training is the channel estimate itself
        s = self._stats
        self._stats = dataclasses.replace(s, locked=True, acquisitions=s.acquisitions + 1)

    def _fft(self, starts: np.ndarray) -> np.ndarray:
        """FFT bins of the used carriers for bodies starting at integer ``starts``."""
        idx = (starts - self._buf_start)[:, None] + np.arange(self._n)[None, :]
        return sfft.rfft(self._buf[idx].astype(np.float64), axis=1)[:, self._k]

    def _channel(self, tau: float) -> np.ndarray:
        """Training at start tau (fractional) -> channel estimate referenced to tau."""
        w = int(np.round(tau))
        y = self._fft(np.array([w]))[0]
        return y / self._train * np.exp(self._ramp * (tau - w))

    def _step_locked(self) -> np.ndarray:
        c = self.config
        tau, rate = self._tau, self._rate
        pred = tau + rate
        g = self._channel(pred)
        # Right after acquisition the search's start may be off by tens of samples (a codec's
        # first frames): look as far as half the prefix until three trainings agree.
        reach = _MAX_DELAY if self._trainings >= 3 else c.cyclic_prefix_samples / 2
        e, q = delay_estimate(g, self._h, self._k, self._n, reach)
        good = q >= _QUALITY_MIN
        # The training's gain against the channel estimate (before this training enters it, so
        # its noise does not bias the ratio): ~1 while the signal is there, ~0 in a shadow.
        at = g * np.exp(self._ramp * (e if good else 0.0))
        gain = float(np.sum(at.real * self._h.real + at.imag * self._h.imag)
                     / max(float(np.sum(np.abs(self._h) ** 2)), 1e-30))
        if good:
            n = self._trainings
            lim = self._r_nom * _RATE_LIMIT
            if n <= _STARTUP_TRAININGS:
                # Start-up: take each training where it is measured and the rate as the mean
                # period since acquisition (least squares on a line through the first start),
                # so a 300 ppm error is learnt in one period instead of the loop's dozens.
                new = pred + e
                rate = (new - self._t_first - self._shifted) / n
            else:
                new = pred + c.timing_gain * e
                rate = rate + c.rate_gain * e
            self._rate = float(np.clip(rate, self._r_nom - lim, self._r_nom + lim))
            self._trainings += 1
            lam = max(1.0 / self._trainings, c.channel_smoothing)
            self._h = (1 - lam) * self._h + lam * g * np.exp(self._ramp * (new - pred))
            self._misses = 0
        else:
            new = pred
            self._misses += 1
        llr = self._data(tau, new, self._gain_prev, gain if good else 0.0)
        self._gain_prev = gain if good else 0.0
        if good:  # after the data, which sit between the trainings as they were measured
            shift = self._recentre(self._trainings - 1)
            new += shift
            self._shifted += shift
        self._tau = new
        self._level(int(tau), int(new))
        s = self._stats
        self._stats = dataclasses.replace(
            s, clock_offset_ppm=float((self._r_nom / self._rate - 1) * 1e6),
            trainings_missed=s.trainings_missed + (0 if good else 1))
        if not good:
            self._after_miss(tau)
        return llr

    def _recentre(self, n: int) -> float:
        """Move the grid so the channel's main arrival sits a quarter prefix after the window
        start (room for the impulse response's rise before, its tail after); the tracking loop
        only follows relative drift, so this sets the absolute position. -> shift (samples)."""
        quarter = self.config.cyclic_prefix_samples / 4
        d, _ = delay_estimate(self._h, np.ones(self._k.size), self._k, self._n, 2 * quarter)
        shift = float(np.clip(d - quarter, -quarter, quarter)) * (1.0 if n <= 3 else 0.25)
        self._h = self._h * np.exp(self._ramp * shift)
        return shift

    def _data(self, tau: float, new: float, gain_before: float, gain_after: float) -> np.ndarray:
        c = self.config
        p = c.period_symbols
        pos = tau + np.arange(1, p) * ((new - tau) / p)
        w = np.round(pos).astype(np.int64)
        y = self._fft(w) * np.exp(self._ramp[None, :] * (pos - w)[:, None])
        h = np.where(np.abs(self._h) > 1e-9, self._h, 1e-9)
        eq = y / h
        # Signal: the gain of the trainings on both sides against the channel estimate (47 or
        # more carriers each: precise at any SNR the link works at). Noise: what the cells hold
        # beyond it (blind to nothing: clipping or a codec's distortion counts). The moments
        # (M2M4) of the cells themselves stand in when a training was missed or the data hold
        # far less than the trainings (a dropout inside the period): they give S ~ 0, LLRs
        # near 0, on noise. Per period they fluctuate too much at 0 dB per carrier (S fell to
        # 0 for whole periods: every fifth period erased through the Opus path at 3 dB SNR),
        # which is why the trainings lead. Spread over the carriers by the shape of their
        # decision errors (smoothed over periods; at low SNR decisions understate the noise,
        # but evenly). A floor of -40 dB keeps a clean channel's LLRs finite.
        amp = 0.5 * (gain_before + gain_after)
        m2 = float(np.mean(eq.real**2 + eq.imag**2))
        if gain_before > 0 and gain_after > 0 and m2 >= 0.5 * amp * amp:
            n_pow = m2 - amp * amp
        else:
            s_pow, n_pow = moment_snr(eq, c.bits_per_carrier)
            amp = np.sqrt(s_pow)
        if amp > 0:
            # Above the threshold decisions are reliable and beat the moments, whose 16-QAM
            # kurtosis term fluctuates by ~2 % of the signal over one period (= the noise at 17 dB).
            ref = self._nearest(eq / amp)
            amp_dd = float(np.sum(eq.real * ref.real + eq.imag * ref.imag) / np.sum(np.abs(ref) ** 2))
            err = eq - amp_dd * ref
            dd = np.mean(err.real**2 + err.imag**2, axis=0)
            n_dd = float(np.mean(dd))
            if amp_dd > 0 and amp_dd**2 > _DD_SNR[c.bits_per_carrier] * n_dd:
                amp, n_pow = amp_dd, n_dd
            if n_dd > 0:
                mu = c.noise_smoothing
                self._shape = (1 - mu) * self._shape + mu * dd / n_dd
        n_pow = max(n_pow, 1e-4 * amp * amp, 1e-12)
        noise = n_pow * self._shape / np.mean(self._shape)
        out = llrs(eq, amp, noise[None, :], c.bits_per_carrier).ravel()
        st = self._stats
        snr = 10 * np.log10(amp * amp / n_pow) if amp > 0 else float("-inf")
        self._stats = dataclasses.replace(st, snr_db=float(snr), symbols=st.symbols + p - 1,
                                          bits=st.bits + len(out))
        return out

    def _nearest(self, z: np.ndarray) -> np.ndarray:
        """Nearest constellation point of unit-power-scaled symbols z."""
        if self.config.bits_per_carrier == 2:
            return (np.sign(z.real) + 1j * np.sign(z.imag)) / np.sqrt(2.0)
        d = np.sqrt(10.0)
        rail = lambda v: (np.clip(np.floor(v * d / 2) * 2 + 1, -3, 3)) / d  # noqa: E731
        return rail(z.real) + 1j * rail(z.imag)

    def _after_miss(self, tau: float) -> None:
        """A training was missed: a new transmission may have started in the period just passed
        (relock there); after ``coast_s`` of misses, search afresh."""
        hit = self._find(int(np.floor(tau)) + self._search.tolerance + 1, int(self._r_nom) - 2 * self._search.tolerance)
        if hit is not None:
            phase = (hit[0] - tau) % self._rate
            if min(phase, self._rate - phase) > self._search.tolerance:
                self._acquire(*hit)
                return
        if self._misses >= self._max_misses:
            self._locked = False
            self._cursor = int(np.floor(self._tau))
            self._stats = dataclasses.replace(self._stats, locked=False)

    def _level(self, start: int, stop: int) -> None:
        seg = self._segment(start, stop)
        ms = float(np.mean(seg.astype(np.float64) ** 2)) if len(seg) else 0.0
        level = 10 * np.log10(2 * ms) if ms > 0 else float("-inf")  # AES17 dBFS
        self._stats = dataclasses.replace(self._stats, level=float(level))
