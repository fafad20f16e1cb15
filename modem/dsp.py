"""Shared DSP helpers for the modem profiles: pulse shapes, filter design and small streaming
stages with carried state.

Invariants:
- Every streaming helper here is fed fixed- or variable-size blocks and keeps exactly the
  history it needs; its output for a sample depends only on that sample and the ones before
  it, so concatenating the outputs of any chunking gives the output of one big block.
- Arrays are float64 / complex128 inside; callers convert at their edges.
- No I/O, no clock, numpy/scipy only.
"""

from __future__ import annotations

import numpy as np
from scipy import signal


def rrc_pulse(t_symbols: np.ndarray, rolloff: float) -> np.ndarray:
    """Root-raised-cosine impulse response at times ``t_symbols`` (in symbol periods).

    Unnormalised closed form (peak 1 + rolloff * (4/pi - 1) at t = 0), float64, same shape as
    ``t_symbols``. The removable singularities at t = 0 and |t| = 1 / (4 rolloff) take their
    limits.
    """
    t = np.asarray(t_symbols, dtype=np.float64)
    a = rolloff
    out = np.empty_like(t)
    zero = np.abs(t) < 1e-12
    sing = np.abs(np.abs(t) - 1.0 / (4.0 * a)) < 1e-9 if a > 0 else np.zeros_like(zero)
    reg = ~(zero | sing)
    tr = t[reg]
    num = np.sin(np.pi * tr * (1 - a)) + 4 * a * tr * np.cos(np.pi * tr * (1 + a))
    den = np.pi * tr * (1 - (4 * a * tr) ** 2)
    out[reg] = num / den
    out[zero] = 1 - a + 4 * a / np.pi
    if a > 0:
        out[sing] = (a / np.sqrt(2)) * (
            (1 + 2 / np.pi) * np.sin(np.pi / (4 * a)) + (1 - 2 / np.pi) * np.cos(np.pi / (4 * a))
        )
    return out


def windowed_rrc(t_symbols: np.ndarray, rolloff: float, span_symbols: int) -> np.ndarray:
    """RRC pulse truncated to |t| <= span_symbols and tapered by a Kaiser window (beta 4).

    The taper lowers the truncation sidelobes that would otherwise break the 40 dB spectrum mask
    1.2 kHz outside the occupied band; beta 4 keeps the added intersymbol interference below
    -40 dB (measured in tests/modem/test_fm_dsp.py).
    """
    t = np.asarray(t_symbols, dtype=np.float64)
    x = np.clip(t / span_symbols, -1.0, 1.0)
    window = np.i0(4.0 * np.sqrt(1.0 - x * x)) / np.i0(4.0)
    return np.where(np.abs(t) <= span_symbols, rrc_pulse(t, rolloff) * window, 0.0)


def lowpass_taps(sample_rate_hz: float, pass_hz: float, stop_hz: float, atten_db: float) -> np.ndarray:
    """Kaiser-window low-pass FIR, unit DC gain, float64, odd length (integer group delay,
    symmetric about the centre tap), -6 dB at (pass + stop) / 2.

    Length from Kaiser's formula N = (A - 7.95) / (2.285 * 2 pi * transition / fs) + 1 (what
    ``scipy.signal.kaiserord`` computes). ValueError unless 0 < pass < stop <= rate / 2.
    """
    if not 0 < pass_hz < stop_hz <= sample_rate_hz / 2:
        raise ValueError(f"need 0 < pass_hz < stop_hz <= sample_rate_hz / 2, got {pass_hz}, "
                         f"{stop_hz}, {sample_rate_hz}")
    transition = (stop_hz - pass_hz) / sample_rate_hz
    n = int(np.ceil((atten_db - 7.95) / (2.285 * 2 * np.pi * transition))) + 1
    n |= 1
    taps = signal.firwin(
        n, (pass_hz + stop_hz) / 2, window=("kaiser", signal.kaiser_beta(atten_db)), fs=sample_rate_hz
    )
    return taps / taps.sum()


class MixDecimator:
    """Real samples -> complex baseband: mix down by ``carrier_hz``, low-pass, keep 1 in ``factor``.

    Mixing and filtering fold into one polyphase filter with complex taps: over a window of
    inputs starting at sample s, sum_i h[L-1-i] e^{-jw(s+i)} x[s+i] = e^{-jws} sum_i c[i] x[s+i]
    with c[i] = h[L-1-i] e^{-jwi}, so the real input is never turned complex at the full rate. Input blocks must be multiples of ``factor`` long. Output m of the stream is the
    filter output at input sample m * factor (group delay (len(h) - 1) / 2 input samples).
    """

    def __init__(self, taps: np.ndarray, factor: int, carrier_cycles_per_sample: float):
        self._params = (len(taps), factor, carrier_cycles_per_sample)
        self.factor = factor
        self._w = 2 * np.pi * carrier_cycles_per_sample
        phases = -(len(taps) // -factor)  # ceil(len / factor) taps per polyphase branch
        padded = np.zeros(phases * factor)
        padded[: len(taps)] = taps
        # c[i] weighs the i-th oldest sample of a window of phases * factor inputs; the zero
        # padding sits at the oldest end. Real and imaginary parts side by side: (P, D, 2).
        c = padded[::-1] * np.exp(-1j * self._w * np.arange(phases * factor))
        # Row p of g is branch p's real part, row P + p its imaginary part: one matmul serves all.
        branches = c.reshape(phases, factor)
        self._g = np.ascontiguousarray(np.concatenate((branches.real, branches.imag)))
        self._phases = phases
        self._step = (carrier_cycles_per_sample * factor) % 1.0
        self._nco = np.zeros(0, dtype=np.complex128)  # e^{-j 2 pi step m}, built per block size
        self.reset()

    def __repr__(self) -> str:
        return ("MixDecimator(taps=<{} taps>, factor={!r}, carrier_cycles_per_sample={!r})"
                .format(*self._params))

    def reset(self) -> None:
        self._hist = np.zeros((self._phases - 1) * self.factor)
        self._nco_cycles = 0.0  # carrier phase at the next output, in cycles, kept in [0, 1)

    def process(self, x: np.ndarray) -> np.ndarray:
        """x: float64 (n * factor,) -> complex128 (n,)."""
        buf = np.concatenate((self._hist, x))
        self._hist = buf[len(buf) - len(self._hist) :].copy() if len(self._hist) else self._hist
        rows = buf.reshape(-1, self.factor)  # rows[i] = buf[i*D : (i+1)*D]
        n = len(x) // self.factor
        outs = self._g @ rows.T  # (2P, rows): every branch against every row
        re = outs[0, 0:n].copy()
        im = outs[self._phases, 0:n].copy()
        for p in range(1, self._phases):
            re += outs[p, p : p + n]
            im += outs[self._phases + p, p : p + n]
        # The NCO term is taken at each window's oldest sample, the origin of c's index; windows
        # start factor samples apart, so the phase steps by carrier * factor cycles per output.
        if len(self._nco) != n:
            self._nco = np.exp(-2j * np.pi * self._step * np.arange(n))
        start = np.exp(-2j * np.pi * self._nco_cycles)
        self._nco_cycles = (self._nco_cycles + self._step * n) % 1.0
        return (re + 1j * im) * (start * self._nco)


class BlockFir:
    """Streaming FIR over complex blocks with carried history (``len(taps) - 1`` samples)."""

    def __init__(self, taps: np.ndarray):
        self._taps = np.asarray(taps, dtype=np.float64)
        self.reset()

    def __repr__(self) -> str:
        return f"BlockFir(taps=<{len(self._taps)} taps>)"

    def reset(self) -> None:
        self._hist = np.zeros(len(self._taps) - 1, dtype=np.complex128)

    def process(self, x: np.ndarray) -> np.ndarray:
        """x: complex128 (n,) -> complex128 (n,), y[n] = sum_k taps[k] x[n - k]."""
        if len(x) == 0:  # np.convolve 'valid' would swap its arguments
            return np.zeros(0, dtype=np.complex128)
        buf = np.concatenate((self._hist, x))
        self._hist = buf[len(x) :].copy()
        re = np.convolve(buf.real, self._taps, mode="valid")
        im = np.convolve(buf.imag, self._taps, mode="valid")
        return re + 1j * im


class RunningSum:
    """Trailing moving sum over ``width`` items: out[n] = sum of in[n - width + 1 .. n]."""

    def __init__(self, width: int, dtype=np.complex128):
        self.width = width
        self._dtype = dtype
        self.reset()

    def __repr__(self) -> str:
        return f"RunningSum(width={self.width!r}, dtype={np.dtype(self._dtype).name})"

    def reset(self) -> None:
        self._tail = np.zeros(self.width - 1, dtype=self._dtype)

    def process(self, x: np.ndarray) -> np.ndarray:
        buf = np.concatenate((self._tail, x))
        self._tail = buf[len(x) :].copy()
        c = np.concatenate(([0.0], np.cumsum(buf)))
        return c[self.width :] - c[: len(x)]


class DelayLine:
    """out[n] = in[n - delay]; the first ``delay`` outputs of a fresh line are zeros."""

    def __init__(self, delay: int, dtype=np.complex128):
        self.delay = delay
        self._dtype = dtype
        self.reset()

    def __repr__(self) -> str:
        return f"DelayLine(delay={self.delay!r}, dtype={np.dtype(self._dtype).name})"

    def reset(self) -> None:
        self._hist = np.zeros(self.delay, dtype=self._dtype)

    def process(self, x: np.ndarray) -> np.ndarray:
        buf = np.concatenate((self._hist, x))
        self._hist = buf[len(x) :].copy()
        return buf[: len(x)]


def unwrap_from(prev: float, angles: np.ndarray) -> np.ndarray:
    """Unwrap ``angles`` (rad) continuing from ``prev``, the last unwrapped value before them."""
    d = np.diff(angles, prepend=prev)
    d -= 2 * np.pi * np.round(d / (2 * np.pi))
    return prev + np.cumsum(d)


def cubic_interpolate(buf: np.ndarray, index: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """4-point Lagrange interpolation of ``buf`` at positions ``index + mu`` (0 <= mu < 1).

    Needs buf[index - 1] .. buf[index + 2]; index: int array, mu: float array of equal shape.
    """
    xm1, x0, x1, x2 = buf[index - 1], buf[index], buf[index + 1], buf[index + 2]
    c_m1 = -mu * (mu - 1) * (mu - 2) / 6
    c_0 = (mu + 1) * (mu - 1) * (mu - 2) / 2
    c_1 = -(mu + 1) * mu * (mu - 2) / 2
    c_2 = (mu + 1) * mu * (mu - 1) / 6
    return c_m1 * xm1 + c_0 * x0 + c_1 * x1 + c_2 * x2
