"""A direct decimating FIR, filter noise gains and an NCO for the FM I/Q front end (its filters
are designed by ``dsp.lowpass_taps``).

Invariants: ``decimate`` takes odd-length symmetric taps and computes only the kept outputs,
y[k] = sum_j h[j] ext[D k + L-1-j] for k < M, which is what ``oaconvolve(ext, h, 'valid')[::D][:M]``
gives, at about 1/D of its work.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

# Above this many taps the FFT (oaconvolve) beats L/2 strided multiply-adds per output.
_DIRECT_MAX_TAPS = 96


def decimate(ext: np.ndarray, taps: np.ndarray, factor: int, n_out: int) -> np.ndarray:
    """Filter ``ext`` (which carries len(taps) - 1 samples of history first) and keep every
    ``factor``-th output, ``n_out`` of them; dtype of ``ext`` is kept."""
    length = taps.size
    span = factor * (n_out - 1) + 1
    if length > _DIRECT_MAX_TAPS:
        full = signal.oaconvolve(ext[: span + length - 1], taps, mode="valid")
        return full[::factor].astype(ext.dtype, copy=False)
    centre = (length - 1) // 2
    y = taps[centre] * ext[centre:centre + span:factor]
    tmp = np.empty_like(y)
    for j in range(centre):  # symmetric taps: h[j] = h[L-1-j], one multiply per pair
        np.add(ext[j:j + span:factor], ext[length - 1 - j:length - 1 - j + span:factor], out=tmp)
        tmp *= taps[j]
        y += tmp
    return y


def noise_gains(taps: np.ndarray) -> tuple[float, float]:
    """White-noise power gains (kept, removed) of a filter: sum h^2, and sum (delta - h)^2 for
    the input minus the filter's output (delayed to match), i.e. what the filter takes away."""
    h = taps.astype(np.float64)
    rest = -h
    rest[(h.size - 1) // 2] += 1.0
    return float(np.sum(h**2)), float(np.sum(rest**2))


def phasor(w_rad: float, phase_rad: float, n: int) -> np.ndarray:
    """exp(j (phase + w k)), k < n, complex64: per 1024-sample block one exact exponential times
    a shared 1024-sample ramp, one complex multiply per sample instead of an exponential."""
    ramp = np.exp(1j * w_rad * np.arange(1024)).astype(np.complex64)
    rot = np.exp(1j * (phase_rad + w_rad * 1024 * np.arange(-(-n // 1024)))).astype(np.complex64)
    return (rot[:, None] * ramp[None, :]).ravel()[:n]
