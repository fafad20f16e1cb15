"""Feed-forward symbol-timing and carrier-phase recovery for the `fm` subcarrier demodulator.

Both estimators are block feed-forward over sliding windows whose estimate is applied at the
window's centre (the signal is delayed by half a window to line up). What makes them cheap is
that their estimates change slowly: the per-sample and per-symbol work is a few numpy passes
that sum into groups (8 symbols or so), and everything else (window sums, angles, unwrapping,
dropout guards) runs on that coarse grid, a hundredth of the samples; the estimates are then
interpolated back to the symbols. No Python loop over samples, symbols or groups.

- Timing (Oerder & Meyr, IEEE Trans. Commun. 36(5), 1988): the squared magnitude p of the
  matched filter output carries a spectral line at the symbol rate whose phase is
  -2 pi tau / T. Per group g of G samples (about 8 symbols): S_g = sum (p - P_g / G) e^{-j 2 pi
  n / sps} / P_g, P_g = sum p; the group's own power removes its DC (so a partial reference
  cycle leaks nothing) and normalises it (a level step of +-10 dB leaves no trace). S summed
  over ``window`` symbols gives the line; its unwrapped angle theta at the window's centre
  c gives psi(c) = c / sps + theta / 2 pi, and the symbol strobes are where psi crosses an
  integer (psi is interpolated linearly between centres, G samples apart), where the symbol
  is cubic-interpolated. Any ratio of sample to symbol rate works (4.16 at 375 kHz with
  fm's FFT plan, ...) and a sample-clock error of +-200 ppm is only a slow rotation of the
  line. Dropout guard: a group counts only while its power is within 3 dB of the mean over
  four windows, and the angle is held while under half of the window counts, so a dropout of
  a few ms (or the noise burst a discriminator makes when the carrier drops) does not slip
  the clock.
- Carrier (Viterbi & Viterbi, IEEE Trans. IT 29(4), 1983): u = r^4 / |r|^2 strips the QPSK
  modulation (weight |r|^2: V&V's choice at low SNR), summed per group of 8 symbols. Frequency
  first: with S the sum of u over the last 64 symbols, the mean of S[k] conj(S[k - 64]) over
  ``frequency_window`` symbols has angle 4 x 64 dw (dw the carrier step per symbol;
  unambiguous for |f| < Rs / 512: 21 Hz at 11 kBd, 37 Hz at 19 kBd; 100 ppm of 76 kHz is
  7.6 Hz). The group sums are counter-rotated by the running sum theta of those steps and the
  V&V mean over ``window_symbols`` of what is left gives 4x the phase at the window centre:
  phi4 = theta + angle(sum), unwrapped, interpolated linearly to each symbol. Without the
  frequency step a 7.6 Hz offset turns the 4th-power line by 0.017 rad per symbol at 11 kBd:
  over a 192-symbol window the mean loses a fifth of its length and, at Es/N0 ~ 2 dB, slips
  a quarter turn every few thousand symbols. The remaining quarter-turn ambiguity is left in
  the stream (the frame layer resolves it on the sync word).

End of input: ``TimingRecovery.erase_from`` makes every symbol strobed past the input's last
sample an exact zero, which the demodulator's LLRs carry on as erasures (``modem/fm.py``).

Cost: per group, the power and the line are one (groups, G) @ (G, 3) float32 product (the
reference is the group's phase times a group-relative row); the carrier's 4th powers are
summed per group by a (groups, 16) @ (16, 2) product. Together with the FFTs this is ~5 ms per
second of 228 kHz MPX on one core.

Invariants: outputs depend only on the concatenated input (fixed internal grids, no clocks);
every accumulator that grows without bound (unwrapped angles, phase references) is re-centred
by whole cycles, which changes no output.
"""

from __future__ import annotations

import numpy as np

from .dsp import cubic_interpolate, unwrap_from

_TWO_PI = 2 * np.pi
# Whole cycles after which an unwrapped angle is folded back (any large number works; it only
# keeps float64 precision over months of input).
_RECENTRE_CYCLES = 1024
# Lag (and short-sum length) of the carrier frequency estimator, in symbols (CarrierRecovery).
_FREQ_LAG_SYMBOLS = 64
_CARRIER_GROUP_SYMBOLS = 8
_TINY = 1e-30


def _running_sum(tail: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Trailing sums over len(tail) + 1 items: (sums for x, the new tail)."""
    buf = np.concatenate((tail, x))
    c = np.cumsum(buf)
    width = tail.size + 1
    out = np.empty(max(c.size - width + 1, 0), dtype=c.dtype)
    if out.size:
        out[0] = c[width - 1]
        np.subtract(c[width:], c[:-width], out=out[1:])
    return out, buf[buf.size - tail.size:].copy()


def _hold(values: np.ndarray, held: np.ndarray, last: float) -> np.ndarray:
    """``values`` with every held item replaced by the last item not held (or ``last``)."""
    if not held.any():
        return values
    idx = np.maximum.accumulate(np.where(held, -1, np.arange(values.size)))
    return np.where(idx >= 0, values[np.maximum(idx, 0)], last)


class TimingRecovery:
    """Matched-filter samples (complex64, blocks of exactly ``block_samples``, ``samples_per_
    symbol`` >= 3) -> symbols (complex64), about block_samples / samples_per_symbol per block."""

    def __init__(self, samples_per_symbol: float, window_symbols: int, block_samples: int,
                 group_samples: int):
        if block_samples % group_samples:
            raise ValueError(f"block_samples {block_samples} is not a multiple of "
                             f"group_samples {group_samples}")
        self._params = (samples_per_symbol, window_symbols, block_samples, group_samples)
        self._sps = samples_per_symbol
        self._fr = 1.0 / samples_per_symbol  # reference phase step, symbols per sample
        n, g = block_samples, group_samples
        self._n, self._g, self._ng = n, g, n // g
        self._wg = max(2, round(window_symbols * samples_per_symbol / g))  # groups per window
        # The reference e^{-j 2 pi fr (r G + c)} at sample c of group r is the group's phase
        # times the group-relative part: one (ng, G) @ (G, 3) product gives every group's
        # power and line (columns: 1, cos, -sin of 2 pi fr c).
        within = -_TWO_PI * self._fr * np.arange(g)
        self._basis = np.stack((np.ones(g), np.cos(within), np.sin(within)), axis=1).astype(np.float32)
        self._group_phase = np.exp(-_TWO_PI * 1j * self._fr * g * np.arange(self._ng))
        self._basis_sum = complex(np.exp(1j * within).sum())
        # Centre (in samples from the block's first) of the window that ends with group j.
        self._centres = (np.arange(self._ng) - self._wg + 1) * g + (self._wg * g - 1) / 2
        # Strobes reach back to the last centre of the previous block, half a window behind.
        self._history = (self._wg * g) // 2 + g + 4
        self.reset()

    def __repr__(self) -> str:
        return ("TimingRecovery(samples_per_symbol={!r}, window_symbols={!r}, block_samples={!r}, "
                "group_samples={!r})".format(*self._params))

    def reset(self) -> None:
        self._ref_phase = 0.0  # reference phase at the block's first sample, cycles in [0, 1)
        self._cycles = 0.0  # psi of the block's first sample, less whole symbols handed out
        self._line_tail = np.zeros(self._wg - 1, dtype=np.complex128)
        self._good_tail = np.zeros(self._wg - 1)
        self._power_tail = np.zeros(4 * self._wg - 1)
        self._cand_tail = np.zeros(4 * self._wg - 1)
        self._count_tail = np.zeros(4 * self._wg - 1)
        self._theta = 0.0  # last unwrapped line angle (rad)
        self._angle = 0.0  # last line angle not held (rad, wrapped)
        self._last_c: float | None = None  # previous block's last centre, in this block's samples
        self._last_psi = 0.0
        self._next = 0  # integer psi of the next strobe
        self._y = np.zeros(self._history, dtype=np.complex64)
        self._blocks = 0  # blocks seen: block b's sample i is input sample b x block_samples + i
        self._erase_from: float | None = None
        self.drift = 0.0  # mean line-angle change per sample over the last block (rad)

    def erase_from(self, position: float) -> None:
        """Symbols strobed at input sample ``position`` (counted from the first) or later come
        out as exact zeros: the input ended there and what follows is padding (until reset)."""
        self._erase_from = float(position)

    def process(self, y: np.ndarray) -> np.ndarray:
        """y: complex64 (block_samples,) -> complex64 symbols."""
        ng, g, wg = self._ng, self._g, self._wg
        p = (y * y.conj()).real.reshape(ng, g)  # |y|^2 per sample
        sums = (p @ self._basis).astype(np.float64)
        power = sums[:, 0]
        lines = (sums[:, 1] + 1j * sums[:, 2] - power / g * self._basis_sum) * (
            self._group_phase * np.exp(-_TWO_PI * 1j * self._ref_phase))
        self._ref_phase = (self._ref_phase + self._n * self._fr) % 1.0
        # Dropout guard, in two steps so that a burst does not lift its own reference: groups
        # within 3 dB of the mean over four windows are candidates; the reference is then the
        # mean power of the candidates in those four windows (the plain mean when there are
        # none: after a level step the new level becomes a candidate as the mean follows).
        total, self._power_tail = _running_sum(self._power_tail, power)
        first = (power > 0.5 * total / (4 * wg)) & (power < 2.0 * total / (4 * wg))
        kept, self._cand_tail = _running_sum(self._cand_tail, np.where(first, power, 0.0))
        many, self._count_tail = _running_sum(self._count_tail, first.astype(np.float64))
        ref = np.where(many > 0, kept / np.maximum(many, 1.0), total / (4 * wg))
        ratio = power / (ref + _TINY)
        good = (ratio > 0.5) & (ratio < 2.0)
        lines = np.where(good, lines / (power + _TINY), 0.0)
        window, self._line_tail = _running_sum(self._line_tail, lines)
        count, self._good_tail = _running_sum(self._good_tail, good.astype(np.float64))
        angle = _hold(np.angle(window), count < 0.5 * wg, self._angle)
        self._angle = float(angle[-1])
        theta = unwrap_from(self._theta, angle)
        self.drift = (theta[-1] - self._theta) / self._n
        self._theta = float(theta[-1])
        psi = self._cycles + self._fr * self._centres + theta / _TWO_PI
        if self._last_c is None:  # first block: start at the first whole symbol
            self._next = int(np.ceil(psi[0]))
            c_pts, psi_pts = self._centres, psi
        else:
            c_pts = np.concatenate(([self._last_c], self._centres))
            psi_pts = np.concatenate(([self._last_psi], psi))
        psi_pts = np.maximum.accumulate(psi_pts)
        ks = np.arange(self._next, int(np.floor(psi_pts[-1])) + 1)
        at = np.interp(ks, psi_pts, c_pts) + self._history  # psi is increasing: invert it
        buf = np.concatenate((self._y, y))
        whole = np.floor(at).astype(np.int64)
        symbols = cubic_interpolate(buf, whole, (at - whole).astype(np.float32))
        if self._erase_from is not None:
            symbols[at - self._history + self._blocks * self._n >= self._erase_from] = 0
        self._blocks += 1
        self._y = buf[buf.size - self._history:]
        # Move the origin to the next block's first sample; whole cycles leave psi.
        self._next = int(ks[-1]) + 1 if ks.size else self._next
        self._last_c = float(c_pts[-1] - self._n)
        self._last_psi = float(psi_pts[-1])
        self._cycles += self._n * self._fr
        shift = np.floor(self._cycles)
        if abs(self._theta) > _TWO_PI * _RECENTRE_CYCLES:
            turns = np.round(self._theta / _TWO_PI)
            self._theta -= turns * _TWO_PI
            shift -= turns  # psi keeps its value: theta / 2 pi fell by `turns`
        self._cycles -= shift
        self._last_psi -= shift
        self._next -= int(shift)
        return symbols.astype(np.complex64, copy=False)


class CarrierRecovery:
    """Symbols (complex64, any count) -> de-rotated symbols near e^{j(pi/4 + k pi/2)}, delayed
    by about half a window (symbols wait for the window centred on them)."""

    def __init__(self, window_symbols: int, frequency_window_symbols: int = 1024):
        gs = _CARRIER_GROUP_SYMBOLS
        self._params = (window_symbols, frequency_window_symbols)
        self._wg = max(1, round(window_symbols / gs)) | 1  # odd: a group sits at the centre
        self._lag = _FREQ_LAG_SYMBOLS // gs
        self._fwg = max(1, frequency_window_symbols // gs)
        self._pair_sum = np.zeros((2 * gs, 2), dtype=np.float32)  # sums the I and the Q of a group
        self._pair_sum[0::2, 0] = self._pair_sum[1::2, 1] = 1.0
        self.reset()

    def __repr__(self) -> str:
        return ("CarrierRecovery(window_symbols={!r}, frequency_window_symbols={!r})"
                .format(*self._params))

    def reset(self) -> None:
        self._pending = np.zeros(0, dtype=np.complex64)  # symbols short of a whole group
        self._short_tail = np.zeros(self._lag - 1, dtype=np.complex128)
        self._lag_tail = np.zeros(self._lag, dtype=np.complex128)  # short sums, lag groups back
        self._freq_tail = np.zeros(self._fwg - 1, dtype=np.complex128)
        self._line_tail = np.zeros(self._wg - 1, dtype=np.complex128)
        half = (self._wg - 1) // 2
        self._theta_tail = np.zeros(half)  # theta of the groups not yet at a window centre
        self._theta = 0.0  # running sum of the 4th-power phase steps (rad), per group
        self._psi = 0.0  # last unwrapped angle of the counter-rotated line (rad)
        self._out = np.zeros(0, dtype=np.complex64)  # grouped symbols not yet de-rotated
        self._out_start = 0  # symbol index of _out[0], counted from the first input symbol
        self._last_point: tuple[float, float] | None = None  # (symbol index, phi4) of a centre
        self._groups = 0  # groups seen
        self.drift = 0.0  # mean carrier-phase change per symbol over the last call (rad)

    def process(self, r: np.ndarray) -> np.ndarray:
        gs, wg = _CARRIER_GROUP_SYMBOLS, self._wg
        pend = np.concatenate((self._pending, r)) if self._pending.size else r
        ng = pend.size // gs
        self._pending = pend[ng * gs:].copy()
        if ng == 0:
            return np.zeros(0, dtype=np.complex64)
        use = pend[:ng * gs]
        mag2 = (use * use.conj()).real  # |r|^2 = |r^2|
        np.maximum(mag2, np.float32(1e-30), out=mag2)
        r2 = use * use
        r2 *= r2
        r2 /= mag2  # r^4 / |r|^2, summed per group of gs below (float32 sums of 8 terms)
        sums = r2.view(np.float32).reshape(ng, 2 * gs) @ self._pair_sum
        u = -(sums[:, 0] + 1j * sums[:, 1].astype(np.float64))
        short, self._short_tail = _running_sum(self._short_tail, u)
        lagged = np.concatenate((self._lag_tail, short))
        self._lag_tail = lagged[lagged.size - self._lag:].copy()
        products = short * np.conj(lagged[:short.size])
        freq, self._freq_tail = _running_sum(self._freq_tail, products)
        step = np.angle(freq) / self._lag  # 4x the phase step per group
        theta = self._theta + np.cumsum(step)
        self._theta = float(theta[-1])
        line, self._line_tail = _running_sum(self._line_tail, u * np.exp(-1j * theta))
        psi = unwrap_from(self._psi, np.angle(line))
        self._psi = float(psi[-1])
        # The window ending at group j is centred on group j - half: phi4 there.
        half = (wg - 1) // 2
        thetas = np.concatenate((self._theta_tail, theta))
        self._theta_tail = thetas[thetas.size - half:].copy() if half else self._theta_tail
        phi4 = thetas[:ng] + psi
        centres = (self._groups + np.arange(ng) - half) * gs + (gs - 1) / 2
        self._groups += ng
        self.drift = float(np.add.reduce(step)) / (step.size * 4 * gs)
        self._out = np.concatenate((self._out, use))
        if self._last_point is not None:
            centres = np.concatenate(([self._last_point[0]], centres))
            phi4 = np.concatenate(([self._last_point[1]], phi4))
        ready = int(np.floor(centres[-1])) + 1 - self._out_start  # symbols up to the last centre
        ready = max(0, min(ready, self._out.size))
        idx = self._out_start + np.arange(ready)
        phase = (np.interp(idx, centres, phi4) * 0.25).astype(np.float32)
        rot = np.empty(ready, dtype=np.complex64)
        rot.real, rot.imag = np.cos(phase), -np.sin(phase)
        out = self._out[:ready] * rot
        self._out = self._out[ready:]
        self._out_start += ready
        self._last_point = (float(centres[-1]), float(phi4[-1]))
        self._recentre()
        return out

    def _recentre(self) -> None:
        """Fold theta and psi by whole multiples of 4 x 2 pi (phi4 / 4 moves by whole turns):
        every carried value moves together, so no output changes."""
        span = 4 * _TWO_PI
        for name in ("_theta", "_psi"):
            value = getattr(self, name)
            if abs(value) > span * _RECENTRE_CYCLES:
                turns = np.round(value / span) * span
                setattr(self, name, value - turns)
                if name == "_theta":
                    self._theta_tail = self._theta_tail - turns
                point, phi = self._last_point
                self._last_point = (point, phi - turns)
