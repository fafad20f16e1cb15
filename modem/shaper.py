"""PulseShaper: complex symbols at a symbol rate -> complex baseband at any sample rate.

u(t) = sum_k a_k p(t - k), t in symbol periods, p the windowed root-raised-cosine of
modem/dsp.py scaled to unit energy (so unit-power symbols give unit mean power).

Invariants:
- Output sample n sits at t = n * a / b - span (a / b = symbol rate / sample rate as a reduced
  fraction), so the first symbol's pulse starts at sample 0. Sample n is computed from the
  integer n and the symbols alone: the output never depends on how symbols were chunked.
- A sample is emitted as soon as every symbol it depends on is known; ``flush`` appends
  2 * span zero symbols so the last pulses decay fully, then resets.
- Constant memory: only the last 2 * span symbols are kept between calls.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .dsp import windowed_rrc

# When the symbol phase of a sample takes at most 4096 values (the denominator b: 12 at
# 228 kHz / 19 kBd, 250 at 250 kHz, 2400 at 2.4 MHz) the table holds every phase exactly;
# otherwise 512 phases with linear interpolation, whose error is below
# h^2 / 8 * max|p''| ~ (1/512)^2 / 8 * 18 ~ 1e-5 (-100 dB).
_EXACT_PHASES_MAX = 4096
_PULSE_PHASES = 512
# Output samples computed per vectorised step (bounds the (n, 2 * span) work arrays).
_CHUNK = 16_384


class PulseShaper:
    """Symbols (complex128) -> baseband samples (complex128) at ``sample_rate_hz``."""

    def __init__(self, symbol_rate_baud: float, sample_rate_hz: float, rolloff: float, span_symbols: int):
        self._params = (symbol_rate_baud, sample_rate_hz, rolloff, span_symbols)
        ratio = Fraction(symbol_rate_baud / sample_rate_hz).limit_denominator(10**6)
        self._a, self._b = ratio.numerator, ratio.denominator  # symbols per sample
        self._span = span_symbols
        self._exact = self._b <= _EXACT_PHASES_MAX
        steps = self._b if self._exact else _PULSE_PHASES
        # table[i, col] = p(i / steps + span - 1 - col): weight of the col-th oldest of the
        # 2 * span symbols around a sample at fractional symbol phase i / steps.
        phases = np.arange(steps + 1)[:, None] / steps
        cols = np.arange(2 * span_symbols)[None, :]
        table = windowed_rrc(phases + span_symbols - 1 - cols, rolloff, span_symbols)
        fine = windowed_rrc(np.arange(-span_symbols * 4096, span_symbols * 4096 + 1) / 4096, rolloff, span_symbols)
        energy = np.sum(fine * fine) / 4096  # integral of p^2 over symbol periods
        self._table = table / np.sqrt(energy)
        self.reset()

    def __repr__(self) -> str:
        return ("PulseShaper(symbol_rate_baud={!r}, sample_rate_hz={!r}, rolloff={!r}, span_symbols={!r})"
                .format(*self._params))

    def reset(self) -> None:
        self._symbols = np.zeros(2 * self._span, dtype=np.complex128)  # zeros before the start
        self._base = -2 * self._span  # absolute index of self._symbols[0]
        self._known = 0  # symbols received so far
        self.next_sample = 0  # absolute index of the next output sample

    def process(self, symbols: np.ndarray) -> np.ndarray:
        """symbols: complex128 (k,) -> complex128 (m,), m ~ k * sample rate / symbol rate."""
        self._symbols = np.concatenate((self._symbols, symbols))
        self._known += len(symbols)
        a, b = self._a, self._b
        # Sample n needs symbols up to floor(n a / b): it is ready once n a / b < known.
        end = -((-self._known * b) // a)
        out = [self._samples(n0, min(n0 + _CHUNK, end)) for n0 in range(self.next_sample, end, _CHUNK)]
        self.next_sample = max(self.next_sample, end)
        keep_from = (self.next_sample * a) // b - 2 * self._span + 1  # oldest symbol still needed
        drop = max(0, keep_from - self._base)
        self._symbols = self._symbols[drop:]
        self._base += drop
        return np.concatenate(out) if out else np.zeros(0, dtype=np.complex128)

    def flush(self) -> np.ndarray:
        """-> complex128 tail (the last pulses decaying to zero); then resets."""
        tail = self.process(np.zeros(2 * self._span, dtype=np.complex128))
        self.reset()
        return tail

    def _samples(self, n0: int, n1: int) -> np.ndarray:
        a, b = self._a, self._b
        q0, r0 = divmod(n0 * a, b)
        count = n1 - n0
        # Buffer index of the oldest symbol in sample n0's window of 2 * span symbols.
        first = q0 - 2 * self._span + 1 - self._base
        if a == 1:
            return self._polyphase(first, r0, count)
        local = r0 + np.arange(count, dtype=np.int64) * a
        if self._exact:
            weights = self._table[local % b]
        else:
            frac = (local % b) / b * _PULSE_PHASES
            i = np.minimum(frac.astype(np.int64), _PULSE_PHASES - 1)
            w = frac - i
            weights = self._table[i] + w[:, None] * (self._table[i + 1] - self._table[i])
        windows = sliding_window_view(self._symbols, 2 * self._span)
        return np.einsum("ij,ij->i", windows[first + local // b], weights)

    def _polyphase(self, first: int, r0: int, count: int) -> np.ndarray:
        """Integer samples per symbol b: the samples of phase r are one correlation each."""
        b, width = self._b, 2 * self._span
        u = np.empty(count, dtype=np.complex128)
        for r in range(b):
            i0 = (r - r0) % b  # first local sample with phase r
            m = len(range(i0, count, b))
            if m == 0:
                continue
            s0 = first + (r0 + i0) // b
            seg = self._symbols[s0 : s0 + m + width - 1]
            u.real[i0::b] = np.correlate(seg.real, self._table[r], mode="valid")
            u.imag[i0::b] = np.correlate(seg.imag, self._table[r], mode="valid")
        return u
