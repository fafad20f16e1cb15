"""Shared DSP helpers for the modem profiles: pulse shapes, filter design, phase unwrapping
and interpolation (the FFT filtering itself is ``_fir.py``).

Invariants: pure functions of their arguments; no I/O, no clock, numpy/scipy only.
"""

from __future__ import annotations

import numpy as np
from scipy import special

# scipy.signal is not imported here: it loads scipy.stats, about a second of start-up for every
# receiver. Its firwin (Kaiser window, low-pass, scaled) and kaiser_beta are a few lines, written
# out below with the same operations in the same order, so the taps are bit-identical
# (tests/modem/test_fm_dsp.py compares them with scipy.signal's).


def kaiser_beta(atten_db: float) -> float:
    """Kaiser's window parameter for a stop band ``atten_db`` down (scipy.signal.kaiser_beta)."""
    if atten_db > 50:
        return 0.1102 * (atten_db - 8.7)
    if atten_db > 21:
        return 0.5842 * (atten_db - 21) ** 0.4 + 0.07886 * (atten_db - 21)
    return 0.0


def kaiser_lowpass(numtaps: int, cutoff: float, beta: float) -> np.ndarray:
    """Windowed-sinc low-pass, float64 (numtaps,), cutoff as a fraction of Nyquist, unit DC gain:
    ``scipy.signal.firwin(numtaps, cutoff, window=("kaiser", beta))``, bit for bit."""
    if not 0 < cutoff < 1:
        raise ValueError(f"cutoff must be in (0, 1) of Nyquist, got {cutoff}")
    right = np.float64(cutoff)
    m = np.arange(0, numtaps, dtype=np.float64) - 0.5 * (numtaps - 1)
    h = right * np.sinc(right * m)
    if numtaps > 1:
        n = np.arange(0, numtaps, dtype=np.float64)
        alpha = (numtaps - 1) / 2.0
        h *= (special.i0(beta * np.sqrt(1 - ((n - alpha) / alpha) ** 2.0))
              / special.i0(np.asarray(beta, dtype=np.float64)))
    h /= np.sum(h)
    return h


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
    cutoff = np.float64((pass_hz + stop_hz) / 2) / float(0.5 * sample_rate_hz)
    taps = kaiser_lowpass(n, cutoff, kaiser_beta(atten_db))
    return taps / taps.sum()


def unwrap_from(prev: float, angles: np.ndarray) -> np.ndarray:
    """Unwrap ``angles`` (rad) continuing from ``prev``, the last unwrapped value before them."""
    a = np.asarray(angles, dtype=np.float64)
    d = np.empty(a.size)
    if a.size:
        d[0] = a[0] - prev
        np.subtract(a[1:], a[:-1], out=d[1:])
    d -= (2 * np.pi) * np.round(d * (1 / (2 * np.pi)))
    out = np.cumsum(d, out=d)
    out += prev
    return out


def cubic_interpolate(buf: np.ndarray, index: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """4-point Lagrange interpolation of ``buf`` at positions ``index + mu`` (0 <= mu < 1).

    Needs buf[index - 1] .. buf[index + 2]; index: int array, mu: float array of equal shape.
    Four 1-D gathers and in-place products (a (n, 4) gather and temporaries cost twice as much).
    """
    mu = np.asarray(mu)
    k = mu.dtype.type
    xm1, x0 = np.take(buf, index - 1), np.take(buf, index)
    x1, x2 = np.take(buf, index + 1), np.take(buf, index + 2)
    m1, p1 = mu - k(1), mu + k(1)
    m2 = m1 - k(1)
    t, u = mu * m1, p1 * m2  # factors the four Lagrange weights share
    xm1 *= t * m2 * k(-1 / 6)
    x0 *= u * m1 * k(0.5)
    x1 *= u * mu * k(-0.5)
    x2 *= t * p1 * k(1 / 6)
    xm1 += x0
    x1 += x2
    xm1 += x1
    return xm1
