"""Profile `ir`: per-burst estimates of a run of bursts (``estimate_bursts``): the lattice
index each burst sits at, how far from it, the noise rms around it and the probabilities of
its offset by -1, 0, +1 lattices, plus the run's summary (clock offset, stretch, SNR).

- each burst's position is the mean of its leading edge and its trailing edge minus the
  nominal width and the local mean stretch (+-``phase_window_marks`` bursts): two
  independent looks, so +-100 us of jitter per edge becomes a triangular +-100 us with half
  the variance;
- the lattice phase is the circular mean of the positions over the same window (it follows
  a clock offset), unwrapped along the run; positions become lattice indices and offset
  probabilities (noise rms from the same window);
- a burst much wider or narrower than its neighbours took in a spurious pulse (or lost part of
  itself): its position gets the uncertainty of not knowing which edge moved.

Invariant: a burst's estimates depend only on the bursts within ``REACH`` windows of it and
are bit-identical whichever batch computes them (window sums in fixed point).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .ir_blocks import offset_probs
from .ir_config import IrConfig

# Noise rms of a burst position, in lattices: floor 0.05 (11 us: no LLR is certain beyond what
# 1 us timestamps and codes allow), cap 0.35 (beyond it decisions are noise anyway).
_SIGMA_RANGE = (0.05, 0.35)
# Per-burst stretch values are clipped to this range (us) before averaging: a spurious pulse
# merged into a burst, or a burst cut by another, must not pull the mean.
_STRETCH_CLIP = (-100.0, 200.0)
# Estimates nest three windows (stretch -> position -> phase -> noise), so a burst's values
# depend on bursts up to 3 windows away: that much history and look-ahead is kept.
REACH = 3
# A burst whose width differs from nominal plus the local stretch by more than this (us) merged
# with something: +-100 us of jitter on each edge stays below it in all but rare cases.
_ODD_WIDTH_US = 150.0
_ODD_SIGMA_MAX = 0.6


@dataclass(frozen=True)
class BurstEstimates:
    """Per burst: lattice index n, distance to it frac (lattices), noise rms sigma, offset
    probabilities p (k, 3); and, when the batch is long enough to tell (else None), the run's
    clock offset (ppm), mean stretch (us) and SNR (dB) as ``IrStats`` reports them."""

    n: np.ndarray
    frac: np.ndarray
    sigma: np.ndarray
    p: np.ndarray
    clock_offset_ppm: float | None = None
    stretch_us: float | None = None
    snr_db: float | None = None


def estimate_bursts(lead: np.ndarray, width: np.ndarray, config: IrConfig) -> BurstEstimates:
    """Leading edges and widths (us) of consecutive bursts of one run -> their estimates."""
    c = config
    lead = lead.astype(np.float64)
    width = width.astype(np.float64)
    nominal = np.where(width > c.sync_threshold_us, c.sync_mark_us, c.mark_us)
    w = c.phase_window_marks
    mean_stretch = _window_mean(np.clip(width - nominal, *_STRETCH_CLIP), w)
    pos = lead + 0.5 * (width - nominal - mean_stretch)
    lattice = float(c.lattice_us)
    rot = np.exp(2j * np.pi * pos / lattice)
    phase = np.unwrap(np.angle(_window_mean(rot, w)) * lattice / (2 * np.pi), period=lattice)
    r = (pos - phase) / lattice
    idx = np.round(r)
    frac = r - idx
    sigma = np.clip(np.sqrt(_window_mean(frac * frac, w)), *_SIGMA_RANGE)
    # A burst much wider or narrower than its neighbours took in a spurious pulse (or lost
    # part of itself): one of its edges is off by the excess, and which one is unknown, so
    # its position is that uncertain (it then weighs less in both of its distances).
    excess = np.abs(width - nominal - mean_stretch)
    odd = excess > _ODD_WIDTH_US
    sigma[odd] = np.maximum(sigma[odd], np.minimum(excess[odd] / (2 * lattice), _ODD_SIGMA_MAX))
    out = BurstEstimates(idx.astype(np.int64), frac, sigma, offset_probs(frac, sigma))
    if len(pos) > 4 * w:  # stats from bursts whose windows are whole (edges lag a ramp)
        # A sender clock fast by e shortens every distance: the phase falls by e per us.
        slope = np.polyfit(pos[w:-w] - pos[w], phase[w:-w], 1)[0]
        out = BurstEstimates(out.n, frac, sigma, out.p, clock_offset_ppm=float(-slope * 1e6),
                             stretch_us=float(np.mean(mean_stretch)),
                             snr_db=float(20 * np.log10(0.5 / np.mean(sigma))))
    return out


# Window sums are taken in fixed point (2^-24 steps): integer sums are exact, so a burst's
# estimate is bit-identical whichever batch it is computed in (float running sums are not:
# their rounding depends on where the sum starts).
_FIXED = float(2**24)


def _window_mean(x: np.ndarray, half: int) -> np.ndarray:
    """Mean of x over [i - half, i + half] clipped to the array, for every i (|x| < 1e6)."""
    if np.iscomplexobj(x):
        return _window_mean(x.real, half) + 1j * _window_mean(x.imag, half)
    n = len(x)
    q = np.round(np.asarray(x, dtype=np.float64) * _FIXED).astype(np.int64)
    csum = np.concatenate(([0], np.cumsum(q)))
    i = np.arange(n)
    lo = np.maximum(i - half, 0)
    hi = np.minimum(i + half + 1, n)
    return (csum[hi] - csum[lo]) / _FIXED / (hi - lo)
