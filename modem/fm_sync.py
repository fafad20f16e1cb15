"""Feed-forward symbol-timing and carrier-phase recovery for the `fm` subcarrier demodulator.

Both estimators are block feed-forward, fully vectorised, and run over a sliding window whose
estimate is applied to the sample at the window's centre (the signal is delayed by half a
window to line up), so no per-sample or per-symbol Python loop exists:

- Timing (Oerder & Meyr, IEEE Trans. Commun. 36(5), 1988): the squared magnitude of the matched
  filter output (divided by its 8-symbol mean, so level steps of +-10 dB leave no trace)
  carries a spectral line at the symbol rate whose phase is -2 pi tau / T. The complex line is
  averaged over ``window`` samples; strobes fall where the reference phase
  plus that angle crosses an integer, and the symbol is cubic-interpolated there. Any ratio of
  sample to symbol rate works (4.0 at 228 kHz, 4.21 at 240 kHz, ...) and a sample-clock error of
  +-200 ppm is only a slow rotation of the line, tracked by unwrapping its angle. Samples
  whose power is far from the recent mean (a dropout, a burst) are left out and the angle
  is held while too few remain, so a dropout of a few ms does not slip the clock.
- Carrier (Viterbi & Viterbi, IEEE Trans. IT 29(4), 1983): -(r^4) / |r|^2 strips the QPSK
  modulation; its windowed mean gives 4x the carrier phase. The angle is unwrapped, so a
  frequency offset of f Hz is followed as long as 4 * 2 pi f * window / 2 / Rs stays well below
  pi: with a 64-symbol window at 19 kBd that is |f| < ~37 Hz; +-200 ppm of 76 kHz is +-15 Hz.
  The remaining pi/2 ambiguity is removed by differential decoding.

Invariants: outputs depend only on the concatenated input (fixed internal state, no clocks);
every accumulator that grows without bound (unwrapped angles, phase references) is re-centred
by whole cycles, which changes no output.
"""

from __future__ import annotations

import numpy as np

from .dsp import DelayLine, RunningSum, cubic_interpolate, unwrap_from

_TWO_PI = 2 * np.pi
# Whole cycles after which an unwrapped angle is folded back (any large number works; it only
# keeps float64 precision over months of input).
_RECENTRE_CYCLES = 1024
# Lag (and short-sum length) of the carrier frequency estimator, in symbols (CarrierRecovery).
_FREQ_LAG_SYMBOLS = 64


class TimingRecovery:
    """Matched-filter samples (complex, ``samples_per_symbol`` >= 3) -> symbol-spaced samples."""

    def __init__(self, samples_per_symbol: float, window_symbols: int):
        self._params = (samples_per_symbol, window_symbols)
        self._fr = 1.0 / samples_per_symbol  # reference phase step, symbols per sample
        width = int(round(window_symbols * samples_per_symbol))
        self._delay = width // 2
        self._sum = RunningSum(width)
        # Power normaliser over 8 symbols: a level step then leaves no residue of the mean
        # power in the line sum. Without it, after a -20 dB step the old samples' mean power,
        # summed over a partial cycle of the reference, outweighs the weak line and spins it.
        self._power = RunningSum(int(round(8 * samples_per_symbol)), dtype=np.float64)
        self._power_scale = 1.0 / self._power.width
        # Dropout guard: a sample counts towards the line only while its 8-symbol power is
        # within 3 dB of the mean power over four windows (a fade to nothing, or the burst of
        # noise a discriminator makes when the carrier drops, is not: four windows, 27 ms,
        # so that even a 5 ms burst is still far above the mean at its end); while under half
        # of the window counts, the line angle is held. Without it a dropout of 5 ms (95
        # symbols, most of the 128-symbol window) lets the angle wander a whole turn: a
        # symbol slip, which costs the frame however deep its interleaving (tests in
        # tests/modem/test_fm_loopback.py). A level step of +10 dB is held for ~12 ms (until
        # the mean reaches half the new power: 0.44 x 512 symbols), -10 dB for ~24 ms
        # (0.89 x 512); a 200 ppm clock drifts 0.09 symbol in 24 ms, caught up at release.
        self._window_power = RunningSum(4 * width, dtype=np.float64)
        self._good = RunningSum(width, dtype=np.float64)
        self._min_good = 0.5 * width
        self._ref = np.zeros(0, dtype=np.complex128)  # e^{-j 2 pi fr m}, built per block size
        self._ydelay = DelayLine(self._delay)
        self.reset()

    def __repr__(self) -> str:
        return f"TimingRecovery(samples_per_symbol={self._params[0]!r}, window_symbols={self._params[1]!r})"

    def reset(self) -> None:
        self._sum.reset()
        self._power.reset()
        self._window_power.reset()
        self._good.reset()
        self._ydelay.reset()
        self._vphase = 0.0  # reference phase of the next sample, cycles in [0, 1)
        self._psi_acc = 0.0  # same reference, unwrapped, minus whole cycles moved out
        self._theta = 0.0  # last unwrapped line angle (rad)
        self._ytail = np.zeros(3, dtype=np.complex128)
        self._psitail = np.zeros(3)
        self.drift = 0.0  # mean line-angle change per sample over the last block (rad)

    def process(self, y: np.ndarray) -> np.ndarray:
        """y: complex128 (n,) matched-filter output -> complex128 (k,) symbols, k ~ n / sps."""
        n = len(y)
        if len(self._ref) != n:
            self._ramp = np.arange(n) * self._fr
            self._ref = np.exp(-_TWO_PI * 1j * self._ramp)
        ramp = self._ramp
        mag2 = y.real**2 + y.imag**2
        # Tiny floor: silence gives v = 0 (a still line), not 0 / 0.
        p8 = self._power.process(mag2) * self._power_scale + 1e-20
        ratio = p8 / (self._window_power.process(mag2) / self._window_power.width + 1e-20)
        good = (ratio > 0.5) & (ratio < 2.0)
        # Capped: as a signal returns, the trailing 8-symbol mean lags its first samples,
        # which would otherwise outweigh the rest of the window (RRC QPSK stays under 4x).
        norm = np.where(good, np.minimum(mag2 / p8, 4.0), 0.0)
        v = norm * (np.exp(-_TWO_PI * 1j * self._vphase) * self._ref)
        self._vphase = (self._vphase + n * self._fr) % 1.0
        line = self._sum.process(v)
        held = self._good.process(good.astype(np.float64)) < self._min_good
        angle = np.angle(line)
        if held.any():  # hold the last angle through the dropout (forward fill)
            last = np.maximum.accumulate(np.where(held, -1, np.arange(n)))
            angle = np.where(last >= 0, angle[np.maximum(last, 0)], self._theta)
        theta = unwrap_from(self._theta, angle)
        self.drift = (theta[-1] - self._theta) / n
        self._theta = theta[-1]
        # Strobe phase of the delayed sample m = k - delay: reference at m plus the line angle
        # estimated over the window centred on m.
        psi = self._psi_acc - self._delay * self._fr + ramp + theta / _TWO_PI
        self._psi_acc += n * self._fr
        psi = np.maximum.accumulate(np.concatenate((self._psitail[-1:], psi)))[1:]
        y_d = self._ydelay.process(y)

        ext_y = np.concatenate((self._ytail, y_d))
        ext_psi = np.concatenate((self._psitail, psi))
        # Boundaries (i-1, i) for i in [2, n+1]: the next sample i+1 must exist for the cubic.
        lo, hi = ext_psi[1 : n + 1], ext_psi[2 : n + 2]
        counts = (np.floor(hi) - np.floor(lo)).astype(np.int64)
        start = np.repeat(np.arange(1, n + 1), counts)
        targets = np.repeat(np.floor(lo), counts) + _rank_within(counts)
        lo_r, hi_r = ext_psi[start], ext_psi[start + 1]
        mu = (targets - lo_r) / np.maximum(hi_r - lo_r, 1e-12)
        symbols = cubic_interpolate(ext_y, start, mu)

        self._ytail = ext_y[-3:].copy()
        shift = np.floor(ext_psi[-1])
        self._psitail = ext_psi[-3:] - shift
        self._psi_acc -= shift
        if abs(self._theta) > _TWO_PI * _RECENTRE_CYCLES:
            cycles = np.round(self._theta / _TWO_PI)
            self._theta -= cycles * _TWO_PI
            self._psi_acc += cycles
        return symbols


def _rank_within(counts: np.ndarray) -> np.ndarray:
    """For counts [2, 0, 1] -> [1, 2, 1]: 1-based rank of each repeated item within its run."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0)
    ends = np.cumsum(counts)
    run_start = np.repeat(ends - counts, counts)
    return (np.arange(total) - run_start + 1).astype(np.float64)


class CarrierRecovery:
    """Symbols (complex) -> de-rotated symbols near e^{j(pi/4 + k pi/2)}, delayed by window/2.

    Frequency first, then phase: u = -r^4 / |r|^2 strips the QPSK modulation; with S the sum of
    u over the last 64 symbols, the mean of S[k] conj(S[k - 64]) over the last
    ``frequency_window`` symbols has angle 4 x 64 dw (dw the carrier step per symbol;
    unambiguous for |f| < Rs / 512: 21 Hz at 11 kBd, 37 Hz at 19 kBd; 100 ppm of 76 kHz is
    7.6 Hz). Lag-one products u[k] conj(u[k-1]) would do without the 64-symbol sums but at
    Es/N0 ~ 2 dB their mean over 1024 symbols still wanders by ~0.06 rad per symbol. u is
    counter-rotated by the running sum theta of the steps, and the Viterbi-Viterbi mean over ``window_symbols`` of what is left
    gives the phase at the window centre: phi4 = theta + angle(sum). Without the frequency
    step a 7.6 Hz offset (100 ppm of 76 kHz) turns the 4th-power line by 4 x 2 pi 7.6 / 11 000
    = 0.017 rad per symbol: over a 192-symbol window the mean loses a fifth of its length and,
    at Es/N0 ~ 2 dB, slips a quarter turn every few thousand symbols (measured: fm-robust lost
    every frame at CNR 13 dB with +100 ppm, none with it).
    """

    def __init__(self, window_symbols: int, frequency_window_symbols: int = 1024):
        self._window_symbols = window_symbols
        self._frequency_window_symbols = frequency_window_symbols
        self._sum = RunningSum(window_symbols)
        self._lag_sum = RunningSum(_FREQ_LAG_SYMBOLS)
        self._lag_delay = DelayLine(_FREQ_LAG_SYMBOLS)
        self._fsum = RunningSum(frequency_window_symbols)
        self._delay = DelayLine(window_symbols // 2)
        self._theta_delay = DelayLine(window_symbols // 2, dtype=np.float64)
        self.reset()

    def __repr__(self) -> str:
        return (f"CarrierRecovery(window_symbols={self._window_symbols!r}, "
                f"frequency_window_symbols={self._frequency_window_symbols!r})")

    def reset(self) -> None:
        self._sum.reset()
        self._fsum.reset()
        self._lag_sum.reset()
        self._lag_delay.reset()
        self._delay.reset()
        self._theta_delay.reset()
        self._theta = 0.0  # running sum of the 4th-power frequency steps (rad)
        self._psi = 0.0  # last unwrapped angle of the counter-rotated line (rad)
        self.drift = 0.0  # mean carrier-phase change per symbol over the last block (rad)

    def process(self, r: np.ndarray) -> np.ndarray:
        k = len(r)
        if k == 0:
            return r
        mag2 = np.maximum(r.real**2 + r.imag**2, 1e-30)
        u = -(r**4) / mag2
        short = self._lag_sum.process(u)
        step4 = np.angle(self._fsum.process(short * np.conj(self._lag_delay.process(short))))
        step4 /= _FREQ_LAG_SYMBOLS
        theta = self._theta + np.cumsum(step4)
        # Folding theta by whole multiples of 4 x 2 pi changes no output: phi4 / 4 moves by
        # whole turns, even for the values still in the delay line from before the fold.
        self._theta = float(theta[-1]) % (4 * _TWO_PI * _RECENTRE_CYCLES)
        line = self._sum.process(u * np.exp(-1j * theta))
        psi = unwrap_from(self._psi, np.angle(line))
        self._psi = float(psi[-1])
        phi4 = self._theta_delay.process(theta) + psi
        self.drift = float(np.mean(step4)) / 4
        if abs(self._psi) > 4 * _TWO_PI * _RECENTRE_CYCLES:
            self._psi -= np.round(self._psi / (4 * _TWO_PI)) * 4 * _TWO_PI
        return self._delay.process(r) * np.exp(-0.25j * phi4)
