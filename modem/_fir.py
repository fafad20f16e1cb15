"""Fast-convolution filtering for the receivers: overlap-save FFT blocks that mix a band down,
filter it and decimate it in one step (the FM I/Q channel filter and the subcarrier's matched
filter), and a cheap NCO.

Overlap-save with decimation in the frequency domain (a fast-convolution filter bank): an
N-point FFT of input samples s .. s+N-1 is multiplied by the filter's response on M bins around
the band's centre bin k0 and brought back with an M-point inverse FFT. Output i of that block
is the mixed-down, filtered signal at input time s + i N / M (band-limited resampling: the M
bins hold the whole band, so N / M need not be an integer); outputs i < V M / N are wrapped by
the circular convolution and dropped, V >= taps - 1 being the overlap of consecutive blocks.
Consecutive blocks advance by the hop H = N - V input samples and yield H M / N outputs, an
integer by construction (H is a multiple of q for M / N = p / q reduced).

Why: numpy's direct FIR loops cost one pass over the data per tap; scipy's ``upfirdn`` and
``resample_poly`` ran at ~12 Msamples/s (FIELD-NOTES). One FFT costs ~4 ns per real input
sample and ~7.5 ns per complex one here (scipy.fft, float32, N ~ 16 k..64 k), whatever the
filter's length, and the mixing, the decimation, the CNR measurement and the matched filter
come with it for the price of a few thousand multiplies per block.

Invariants: ``OverlapSavePlan`` values are checked at construction (``ValueError`` naming the
field); ``plan_overlap_save`` is a pure function of its arguments; a block's output depends
only on its N input samples and the phase of its start, so blockwise processing is exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

__all__ = ["OverlapSavePlan", "plan_overlap_save", "smooth_numbers", "phasor", "band_response",
           "wrapped_slice"]


def smooth_numbers(lo: int, hi: int) -> list[int]:
    """Integers in [lo, hi] with no prime factor above 5 (fast FFT sizes), ascending."""
    out = []
    p2 = 1
    while p2 <= hi:
        p3 = p2
        while p3 <= hi:
            p5 = p3
            while p5 <= hi:
                if p5 >= lo:
                    out.append(p5)
                p5 *= 5
            p3 *= 3
        p2 *= 2
    return sorted(out)


@dataclass(frozen=True)
class OverlapSavePlan:
    """N-point FFT blocks overlapping by V input samples, M bins kept (output per FFT).

    hop = N - V input samples per block; out_per_hop = hop x M / N output samples per block.
    """

    fft_size: int
    kept_bins: int
    overlap: int

    def __post_init__(self) -> None:
        if self.fft_size < 16:
            raise ValueError(f"fft_size must be >= 16, got {self.fft_size}")
        if not 1 <= self.kept_bins <= self.fft_size:
            raise ValueError(f"kept_bins must be in 1..fft_size, got {self.kept_bins}")
        if not 0 <= self.overlap < self.fft_size:
            raise ValueError(f"overlap must be in 0..fft_size-1, got {self.overlap}")
        if (self.hop * self.kept_bins) % self.fft_size or (self.overlap * self.kept_bins) % self.fft_size:
            raise ValueError(f"overlap {self.overlap}: hop and overlap must give whole outputs "
                             f"at M / N = {self.kept_bins} / {self.fft_size}")

    @property
    def hop(self) -> int:
        return self.fft_size - self.overlap

    @property
    def out_per_hop(self) -> int:
        return self.hop * self.kept_bins // self.fft_size

    @property
    def skip(self) -> int:
        """Outputs of each inverse FFT that the circular convolution wrapped (dropped)."""
        return self.overlap * self.kept_bins // self.fft_size

    @property
    def ratio(self) -> Fraction:
        """Output rate / input rate."""
        return Fraction(self.kept_bins, self.fft_size)


def plan_overlap_save(taps: int, ratio: Fraction, min_fft: int,
                      max_overlap_fraction: float = 0.25) -> OverlapSavePlan:
    """The smallest plan with fft_size >= min_fft, fft_size = q 2^k (q: ratio's denominator),
    kept_bins = fft_size x ratio, overlap the least multiple of q >= taps - 1 (so every block
    yields whole outputs) and at most ``max_overlap_fraction`` of the FFT."""
    if not 0 < ratio <= 1:
        raise ValueError(f"ratio must be in (0, 1], got {ratio}")
    p, q = ratio.numerator, ratio.denominator
    overlap = -(-max(taps - 1, 0) // q) * q
    n = q
    while n < min_fft or overlap > max_overlap_fraction * n:
        n *= 2
    return OverlapSavePlan(n, n * p // q, overlap)


def band_response(taps: np.ndarray, plan: OverlapSavePlan, offset_hz: float,
                  rate_hz: float) -> np.ndarray:
    """Response of the real low-pass FIR ``taps`` moved up by ``offset_hz`` (a fraction of a bin:
    what the whole-bin shift of the band leaves), on the M kept bins in inverse-FFT order (bin j
    of the M-point inverse FFT holds input bin k0 + j, j in [-M/2, M/2) wrapped), scaled by M / N
    so that the inverse FFT gives the filter's output at the input's scale: the N-point FFT of
    taps[k] exp(j 2 pi offset k / rate), the taps starting at the block's first sample.
    complex64 (M,)."""
    n, m = plan.fft_size, plan.kept_bins
    k = np.arange(len(taps))
    full = np.fft.fft(taps * np.exp(2j * np.pi * offset_hz * k / rate_hz), n)
    j = np.fft.fftfreq(m, 1.0 / m).astype(np.int64)  # 0, 1, .., M/2 - 1, -M/2, .., -1
    return (full[j % n] * (m / n)).astype(np.complex64)


def phasor(w_rad: float, phase_rad: float, n: int) -> np.ndarray:
    """exp(j (phase + w k)), k < n, complex64: per 1024-sample block one exact exponential times
    a shared 1024-sample ramp, one complex multiply per sample instead of an exponential."""
    ramp = np.exp(1j * w_rad * np.arange(1024)).astype(np.complex64)
    rot = np.exp(1j * (phase_rad + w_rad * 1024 * np.arange(-(-n // 1024)))).astype(np.complex64)
    return (rot[:, None] * ramp[None, :]).ravel()[:n]


def wrapped_slice(x: np.ndarray, start: int, length: int) -> np.ndarray:
    """x[start : start + length] read circularly (start taken mod len(x)); a copy."""
    n = x.size
    start %= n
    if start + length <= n:
        return x[start:start + length].copy()
    return np.concatenate((x[start:], x[:start + length - n]))
