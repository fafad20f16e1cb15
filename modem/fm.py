"""Profiles `fm` and `fm-robust`: a data subcarrier at 76 kHz in the FM multiplex (MPX), bits <->
MPX samples, soft decisions (LLRs) out.

Waveform: coherent Gray-mapped QPSK, root-raised-cosine pulses (rolloff 0.35, Kaiser-tapered,
+-12 symbols), on a 76 000 Hz subcarrier: bit pair (b0, b1) -> ((1 - 2 b0) + j (1 - 2 b1)) / sqrt 2.
- Rates: `fm` 19 000 baud = 38 000 bit/s raw; `fm-robust` 11 000 baud = 22 000 bit/s raw
  (presets in ``fm_config.py``). DARC: 16 000 bit/s L-MSK.
- Band: 19 000 x (1 + 0.35) = 25 650 Hz wide, 63 175 .. 88 825 Hz, inside the 62-90 kHz slot
  above RDS (57 kHz +- 2.4 kHz) and L-R (23-53 kHz), as DARC's; fm-robust 14 850 Hz,
  68.6 .. 83.4 kHz. RRC gives the band edge we need for the 40 dB mask.
- Coherent, not differential: the soft decoder works at Es/N0 ~ 2-5 dB, where differential
  detection (or differential decoding of coherent decisions, which doubles the errors that
  reach a hard decoder and spreads each soft error over two symbols) costs 1-2.5 dB. The
  carrier's 4-fold phase ambiguity is left in the LLR stream and resolved by the frame layer
  on the sync word (``framing.framesync``: complex correlation, rotation by quarter turns).
  A cycle slip of the carrier loop inside a frame costs that frame; the carousel's erasure
  code repairs lost frames.
- Clock: no pilot is used. The subcarrier may reach an exciter's SCA input beside someone
  else's pilot, so timing (Oerder-Meyr) and carrier (Viterbi-Viterbi) are recovered from the
  subcarrier itself, feed-forward over sliding windows (see modem/fm_sync.py).
- Level: injection is the amplitude of a sine of the same power (10 % = 7.5 kHz, DARC's figure);
  the RRC signal peaks about 1.5x above it (0.15 at 10 %). MPX convention: float32, 1.0 = 75 kHz deviation.

Soft decisions: per internal block the de-rotated symbols d that hold a signal (not the zeros
of a dropout or of the flush's padding) give per-rail moments
M2 = E[y^2], M4 = E[y^4] over I and Q; for y = +-A + n (n Gaussian, variance s^2),
M2 = A^2 + s^2 and M4 = A^4 + 6 A^2 s^2 + 3 s^4, so A^2 = sqrt((3 M2^2 - M4) / 2) and
s^2 = M2 - A^2 (the M2M4 estimator, Pauluzzi & Beaulieu, IEEE Trans. Commun. 48(10), 2000).
A block that is not one level plus noise (the signal ends or fades inside it: M4 > 3 M2^2
and the formula has no root) takes A = E|y| instead, so its LLRs keep their signs.
Each rail's LLR is 2 A y / s^2 (log P(0) / P(1), positive = 0), with y first clipped to
+-3 A: an FM click near threshold throws a few symbols far out, and a clipped LLR lets the
decoder overrule them. The scale matters: the frame decoder is sum-product, which loses ~0.5
dB on LLRs at 0.6x their true scale (measured: ``framing/ldpc.py``); M2M4 over a block of
~3000 symbols is within a few % (the Es/N0 it reports matched the one measured against the
known symbols within 0.1 dB through the whole FM chain at CNR 13-30 dB).

Receiver chain per internal block (``SubcarrierDemodulator``): one real FFT of N MPX samples
(N = 2^k, ~0.15 s), the bins of the subcarrier's band times the RRC matched filter's response
(Kaiser-tapered RRC, +-8 symbols), an inverse FFT of M points: the band mixed down, matched-
filtered and decimated to 4-4.6 samples a symbol in one step (overlap-save fast convolution,
``modem/_fir.py``; at 375 kHz N = 65 536, M = 13 824). Then timing recovery, carrier recovery
(``fm_sync.py``, both feed-forward on coarse grids) and LLRs. Any MPX rate from just above 2 x
the band's top upward is accepted; the output rate need not be a multiple of the symbol rate
(timing interpolates). This costs ~6 ms per second of 375 kHz MPX on one core (~165x real
time; ~4.2 ms, ~235x at 228 kHz, of which the two FFTs are ~40 %), where the polyphase mixer,
direct matched filter and per-sample recovery it replaces took ~21 ms at 300 kHz (~46x),
measured side by side.

The configuration, its presets and the stats are ``fm_config.py``.

Invariants: the demodulator cuts its input into fixed internal blocks and carries all state, so
its output depends only on the concatenated input, never on the chunking; memory is
constant. The modulator's sample n is computed from integer n alone, so it is chunk-invariant
too. No I/O, no clock.
"""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction

import numpy as np

import scipy.fft

from ._fir import OverlapSavePlan, band_response, smooth_numbers
from .dsp import windowed_rrc
from .fm_config import DemodStats, FmSubcarrierConfig
from .fm_sync import CarrierRecovery, TimingRecovery
from .shaper import PulseShaper

__all__ = ["DemodStats", "FmSubcarrierConfig", "SubcarrierDemodulator", "SubcarrierModulator"]

# Gray QPSK: bit b0 on I, b1 on Q, 0 -> +1; unit energy. Index b0 * 2 + b1.
DIBIT_TO_SYMBOL = np.array([1 + 1j, 1 - 1j, -1 + 1j, -1 - 1j]) / np.sqrt(2)
# y is clipped to this many times the rail amplitude A before its LLR (clicks, see above).
_LLR_CLIP_AMPLITUDES = 3.0
# Es/N0 is taken as at most 40 dB when the noise estimate vanishes (a clean signal).
_MAX_SNR = 1e4


# The receive filter needs less span than the transmit mask: +-8 symbols keeps its truncation
# sidelobes low enough against RDS and L-R after the decimator (tested beside a programme).
_RX_SPAN_SYMBOLS = 8
# Input magnitude limit: 100x full deviation. Far beyond any real MPX, small enough that the
# squares and fourth powers in the recovery loops stay finite in float32. A block whose band
# holds a bin above _BAND_LIMIT x N (only a sample far beyond the limit makes one: a bin is
# at most the sum of N samples) is clipped to it first.
_INPUT_LIMIT = 100.0
_BAND_LIMIT = 10.0
# The carrier table holds every phase when the carrier takes at most this many distinct
# phases per sample (3 at 228 kHz: 76 / 228 = 1 / 3); otherwise the phase is computed.
_CARRIER_TABLE_MAX = 4096


class SubcarrierModulator:
    """Bits (uint8 0/1, any count) -> MPX samples (float32) holding the subcarrier alone.

    Sample n is s[n] = injection * Re{u[n] e^{j 2 pi carrier n / rate}}, u the pulse-shaped
    symbols (modem/shaper.py: sample n at n / rate - span symbols, chunk-invariant). ``flush``
    emits the pulse tails of the last symbols and resets; an odd last bit is dropped.
    """

    def __init__(self, config: FmSubcarrierConfig = FmSubcarrierConfig()):
        if not isinstance(config, FmSubcarrierConfig):
            raise TypeError(f"config must be FmSubcarrierConfig, got {type(config).__name__}")
        self.config = config
        c = config
        self._shaper = PulseShaper(c.symbol_rate_baud, c.sample_rate_hz, c.rolloff, c.pulse_span_symbols)
        carrier = Fraction(c.carrier_hz / c.sample_rate_hz).limit_denominator(10**7)
        self._car_num, self._car_den = carrier.numerator, carrier.denominator
        den = self._car_den
        self._car_table = np.exp(2j * np.pi * np.arange(den) / den) if den <= _CARRIER_TABLE_MAX else None
        self.reset()

    def __repr__(self) -> str:
        return f"SubcarrierModulator({self.config!r})"

    @property
    def bits_per_second(self) -> float:
        return self.config.bits_per_second

    def reset(self) -> None:
        self._shaper.reset()
        self._pending = np.zeros(0, dtype=np.uint8)  # an odd bit waiting for its pair

    def process(self, bits: np.ndarray) -> np.ndarray:
        """bits: uint8 (n,) of 0/1 -> float32 (m,) MPX samples."""
        b = np.asarray(bits)
        if b.ndim != 1 or not (np.issubdtype(b.dtype, np.integer) or b.dtype == np.bool_):
            raise TypeError(f"bits must be a 1-D integer array of 0/1, got {b.dtype} shape {b.shape}")
        if b.size and (b.min() < 0 or b.max() > 1):
            raise ValueError("bits must hold only 0 and 1")
        b = np.concatenate((self._pending, b.astype(np.uint8)))
        pairs = len(b) // 2
        self._pending = b[2 * pairs :]
        symbols = DIBIT_TO_SYMBOL[b[0 : 2 * pairs : 2] * 2 + b[1 : 2 * pairs : 2]]
        n0 = self._shaper.next_sample
        return self._upconvert(n0, self._shaper.process(symbols))

    def flush(self) -> np.ndarray:
        """-> float32 tail samples (the last pulses decaying to zero); then resets."""
        tail = self._upconvert(self._shaper.next_sample, self._shaper.flush())
        self.reset()
        return tail

    def _upconvert(self, n0: int, u: np.ndarray) -> np.ndarray:
        """Baseband samples n0 .. n0 + len(u) - 1 -> float32 real subcarrier."""
        num, den = self._car_num, self._car_den
        cycles = ((n0 % den) * num + np.arange(len(u), dtype=np.int64) * num) % den
        if self._car_table is not None:
            carrier = self._car_table[cycles]
        else:
            carrier = np.exp(2j * np.pi * (cycles / den))
        return (self.config.injection * (u.real * carrier.real - u.imag * carrier.imag)).astype(np.float32)


def _plan(rate_hz: float, symbol_rate: float, taps: int) -> tuple[OverlapSavePlan, int]:
    """The subcarrier's FFT plan and timing group. N = 2^k real samples, >= 16 384, >= 0.15 s
    (Python's cost per block, ~0.4 ms, stays under 1 %) and >= 8 x the matched filter; M a
    5-smooth size giving 4 to 4.6 samples per symbol; the overlap a multiple of q (M / N = p / q)
    >= taps - 1, such that the block's output count has a divisor G of 5-12 samples per symbol
    (the timing groups, ``fm_sync.py``). Of those, the cheapest per input sample: an FFT costs
    ~4 ns a sample of N, what follows ~10 ns a sample of M, over the hop N - V."""
    n = max(16_384, 1 << math.ceil(math.log2(0.15 * rate_hz)))
    while taps - 1 > n // 8:
        n *= 2
    best = None
    for m in smooth_numbers(math.ceil(4 * symbol_rate * n / rate_hz),
                            min(n // 2, math.floor(4.6 * symbol_rate * n / rate_hz))):
        q = Fraction(m, n).denominator
        sps = rate_hz * m / n / symbol_rate
        overlap = -(-(taps - 1) // q) * q
        while overlap <= n // 4:
            plan = OverlapSavePlan(n, m, overlap)
            groups = [g for g in range(math.ceil(5 * sps), math.floor(12 * sps) + 1)
                      if plan.out_per_hop % g == 0]
            if groups:
                cost = (4.0 * n + 10.0 * m) / plan.hop
                if best is None or cost < best[0]:
                    best = (cost, plan, min(groups, key=lambda g: abs(g - 8 * sps)))
                break
            overlap += q
    if best is None:
        raise ValueError(f"no FFT plan for {rate_hz} Hz at {symbol_rate} baud")
    return best[1], best[2]


class SubcarrierDemodulator:
    """MPX samples (float32/float64, any block size) -> LLRs (float32, 2 per symbol).

    The LLR stream starts on a symbol (bits 2i, 2i+1 are the I and Q of symbol i) and may be
    rotated by quarter turns as a whole (the frame layer resolves it on the sync word).

    ``last_symbols``: complex64 decision points of the last internal block (de-rotated, before
    the LLR scaling), normalised by the estimated rail amplitude so that the constellation sits
    at (+-1 +-1j) / sqrt 2 (unit energy); for constellation plots.
    """

    def __init__(self, config: FmSubcarrierConfig = FmSubcarrierConfig()):
        if not isinstance(config, FmSubcarrierConfig):
            raise TypeError(f"config must be FmSubcarrierConfig, got {type(config).__name__}")
        self.config = config
        c = config
        fs, rs = c.sample_rate_hz, c.symbol_rate_baud
        sps_in = fs / rs
        span = min(c.pulse_span_symbols, _RX_SPAN_SYMBOLS)
        half = int(np.ceil(span * sps_in))
        t = np.arange(-half, half + 1) / sps_in
        rx = windowed_rrc(t, c.rolloff, span)
        tx = windowed_rrc(t, c.rolloff, c.pulse_span_symbols)
        fine = windowed_rrc(np.arange(-c.pulse_span_symbols * 4096, c.pulse_span_symbols * 4096 + 1)
                            / 4096, c.rolloff, c.pulse_span_symbols)
        tx /= np.sqrt(np.sum(fine * fine) / 4096)  # the transmitter's unit-energy pulse
        # A symbol a of a subcarrier at injection I comes out as (I / 2) a: mixing halves a real
        # carrier, and the matched filter has unit gain on the transmitted pulse at its peak.
        taps = rx / np.sum(rx * tx)
        self._plan, group = _plan(fs, rs, taps.size)
        plan = self._plan
        n, m = plan.fft_size, plan.kept_bins
        self._sps = fs * m / n / rs
        k0 = round(c.carrier_hz * n / fs)
        delta = c.carrier_hz - k0 * fs / n  # what the whole-bin shift leaves, Hz
        resp = band_response(taps, plan, delta, fs)
        j = np.fft.fftfreq(m, 1.0 / m).astype(np.int64)
        resp = np.where(np.abs(resp) > 1e-6 * np.abs(resp).max(), resp, 0).astype(np.complex64)
        # Bin j of the inverse FFT holds input bin k0 + j (j < 0 wrapped to the top): two runs of
        # input bins, k0 .. k0 + up - 1 to the bottom and k0 - down .. k0 - 1 to the top (bins
        # past the spectrum's ends stay zero).
        up, down = min(m // 2, n // 2 + 1 - k0), min(m - m // 2, k0)
        self._band = slice(k0 - down, k0 + up)  # the input bins used, in one run
        self._runs = ((slice(0, up), slice(down, down + up)), (slice(m - down, m), slice(0, down)))
        self._resp = np.concatenate((resp[m - down:], resp[:up]))  # in input-bin order
        # Output i of a block sits at input time s_b + i N / M: what the whole-bin mixing left
        # (delta) is taken off by a ramp, and the carrier's phase at s_b by one factor a block.
        i = np.arange(plan.skip, m)
        self._ramp = np.exp(-2j * np.pi * delta * i * n / m / fs).astype(np.complex64)
        self._carrier_step = (c.carrier_hz * plan.hop / fs) % 1.0  # cycles per block
        self._carrier_start = (-c.carrier_hz * plan.overlap / fs) % 1.0  # at s_0 = -overlap
        self._timing = TimingRecovery(self._sps, c.timing_window_symbols, plan.out_per_hop, group)
        self._carrier = CarrierRecovery(c.carrier_window_symbols, c.frequency_window_symbols)
        # Input samples still inside the chain when the input stops, plus a block to spare.
        tail_symbols = (c.timing_window_symbols // 2 + c.carrier_window_symbols // 2
                        + 2 * span + 3 * group / self._sps + 16)
        self._flush_in = plan.fft_size + int(tail_symbols * sps_in)
        # Output sample J of the front end is centred on input sample J N / M - delay.
        self._delay = (taps.size - 1) / 2
        self.reset()

    def __repr__(self) -> str:
        return f"SubcarrierDemodulator({self.config!r})"

    def reset(self) -> None:
        self._reset_chain()
        self._stats = DemodStats()
        self.last_symbols = np.zeros(0, dtype=np.complex64)

    def _reset_chain(self) -> None:
        self._timing.reset()
        self._carrier.reset()
        self._buf = np.zeros(self._plan.fft_size, dtype=np.float32)
        self._fill = self._plan.overlap  # the first block sees `overlap` zeros of history
        self._samples_in = 0  # input samples since the chain started
        self._phase = self._carrier_start

    @property
    def stats(self) -> DemodStats:
        return self._stats

    @property
    def bits_per_second(self) -> float:
        return self.config.bits_per_second

    @property
    def samples_per_symbol(self) -> float:
        """Samples a symbol after the FFT front end (the timing recovery's input rate / baud)."""
        return self._sps

    def process(self, mpx: np.ndarray) -> np.ndarray:
        """mpx: real float32/float64 (n,) -> float32 (m,) LLRs, m even, any n."""
        x = np.asarray(mpx)
        if x.ndim != 1 or not np.issubdtype(x.dtype, np.floating):
            raise TypeError(f"mpx must be a 1-D float32/float64 array, got {x.dtype} shape {x.shape}")
        plan = self._plan
        self._samples_in += x.size
        if self._fill + x.size < plan.fft_size:  # not a whole block yet: just keep it
            self._buf[self._fill:self._fill + x.size] = x
            self._fill += x.size
            return np.zeros(0, dtype=np.float32)
        ext = np.concatenate((self._buf[:self._fill], x.astype(np.float32, copy=False)))
        count = (ext.size - plan.overlap) // plan.hop
        out = [self._process_block(ext[b * plan.hop:b * plan.hop + plan.fft_size])
               for b in range(count)]
        rest = ext[count * plan.hop:]
        self._buf[:rest.size] = rest
        self._fill = rest.size
        return np.concatenate(out)

    def flush(self) -> np.ndarray:
        """Push the samples still inside the chain out with zeros, then restart; -> float32 LLRs.

        Symbols centred past the end of the input come out as LLR 0 (erasures, not decisions
        on silence): a frame cut off by the end of a capture is decoded from what arrived, or,
        when too much is missing, given up without iterating (``framing/ldpc.py``). The stats
        keep their counts (tail included) and the quality seen before the padding.
        """
        quality = self._stats
        plan = self._plan
        self._timing.erase_from((self._samples_in + self._delay) * plan.kept_bins / plan.fft_size)
        bits = self.process(np.zeros(self._flush_in, dtype=np.float32))
        self._stats = dataclasses.replace(quality, symbols=self._stats.symbols, bits=self._stats.bits)
        self._reset_chain()
        return bits

    def _process_block(self, block: np.ndarray) -> np.ndarray:
        plan = self._plan
        band = scipy.fft.rfft(block)[self._band]
        # NaN / inf / absurd values (a corrupt file read as floats) are caught in the band
        # (they reach every bin; a NaN makes max and min NaN, which fails both comparisons)
        # and the block is cleaned and redone, so no carried state is ever poisoned: decoding
        # resumes once good samples return.
        rails = band.view(np.float32)
        limit = _BAND_LIMIT * plan.fft_size / math.sqrt(2)  # on I and Q: |bin| < the limit
        if not (rails.max(initial=0.0) < limit and rails.min(initial=0.0) > -limit):
            block = np.clip(np.nan_to_num(block, nan=0.0, posinf=0.0, neginf=0.0),
                            -_INPUT_LIMIT, _INPUT_LIMIT)
            band = scipy.fft.rfft(block)[self._band]
        band *= self._resp
        band *= np.complex64(np.exp(-2j * np.pi * self._phase))
        self._phase = (self._phase + self._carrier_step) % 1.0
        kept = np.zeros(plan.kept_bins, dtype=np.complex64)
        for dst, src in self._runs:
            kept[dst] = band[src]
        y = scipy.fft.ifft(kept, overwrite_x=True)[plan.skip:]
        y *= self._ramp
        d = self._carrier.process(self._timing.process(y))
        if len(d) == 0:
            return np.zeros(0, dtype=np.float32)
        rails = d.view(np.float32)  # I, Q, I, Q, ...: bit 2i on I, 2i+1 on Q
        r2 = rails * rails  # float32; the moments below are summed in float64
        # Moments over the symbols that hold a signal: silence (the zeros a flush pads with, a
        # dropout) would make the block a mixture, and a sum-product decoder is hurt by LLRs
        # scaled for the wrong SNR (0.6x the true scale costs it ~0.5 dB, 0.5x everything).
        pairs = r2.reshape(-1, 2)
        energy = pairs[:, 0] + pairs[:, 1]
        live = energy > np.float32(1e-3 * energy.mean(dtype=np.float64))
        if not live.all() and np.count_nonzero(live) >= 32:
            r2 = pairs[live].reshape(-1)
        m2 = float(np.mean(r2, dtype=np.float64))
        m4 = float(np.mean(r2 * r2, dtype=np.float64))
        a2 = float(np.sqrt(max(3 * m2 * m2 - m4, 0.0) / 2))
        if a2 < 0.1 * m2:  # not one level plus noise (signal then silence, a fade): use E|y|
            a2 = float(np.mean(np.abs(rails), dtype=np.float64)) ** 2
        s2 = max(m2 - a2, a2 / _MAX_SNR, 1e-30)
        amp = math.sqrt(a2)
        clip = np.float32(_LLR_CLIP_AMPLITUDES * amp)
        llr = np.clip(rails, -clip, clip)  # float32 LLRs, as documented (a float64 scalar
        llr *= np.float32(2 * amp / s2)  # made them float64 before: twice the bytes downstream)
        self.last_symbols = d * np.float32(1 / (math.sqrt(2) * amp) if amp > 0 else 0.0)
        self._update_stats(a2, s2, len(d), len(llr))
        return llr

    def _update_stats(self, a2: float, s2: float, symbols: int, nbits: int) -> None:
        c = self.config
        snr_db = 10 * np.log10(a2 / s2) if a2 > 0 else float("nan")
        prev = self._stats
        self._stats = DemodStats(
            snr_db=float(snr_db),
            # Symbols come out at half the injection (mixing halves a real carrier) per rail / sqrt 2.
            level=float(2 * np.sqrt(2) * np.sqrt(a2)),
            carrier_offset_hz=float(self._carrier.drift * c.symbol_rate_baud / (2 * np.pi)),
            clock_offset_ppm=float(self._timing.drift / (2 * np.pi) * self._sps * 1e6),
            symbols=prev.symbols + symbols,
            bits=prev.bits + nbits,
        )
