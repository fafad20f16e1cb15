"""Theoretical reference curves for the link bench: uncoded modulations, the binary-input
channel's capacity, the finite-blocklength normal approximation and Shannon's limit.

All Eb/N0 and Es/N0 are in dB unless a name says ``_lin``; ``Q(x) = erfc(x / sqrt 2) / 2``.

- Uncoded, coherent, Gray-mapped, per bit on AWGN: BPSK and QPSK both give
  ``Q(sqrt(2 Eb/N0))`` (QPSK is two BPSKs in quadrature); square 16-QAM gives
  ``3/4 Q(sqrt(4/5 Eb/N0))`` to first order (the nearest-neighbour count, Proakis 5th ed.
  eq. 4.3-30 with M = 16): 1e-5 at 9.6 dB (BPSK) and ~13.4 dB (16-QAM).
- Shannon's limit for a spectral efficiency of eta bits per complex dimension (bit/s/Hz): from
  eta = log2(1 + eta Eb/N0), the least Eb/N0 is ``(2^eta - 1) / eta`` (0 dB at eta = 1,
  ln 2 = -1.59 dB as eta -> 0).
- Binary-input AWGN (BPSK, or each of QPSK's rails): with y = 1 + sigma z, Es/N0 = 1 / (2
  sigma^2), the information density of the uniform input is
  i(y) = 1 - log2(1 + exp(-2 y / sigma^2)); capacity C = E[i] and dispersion V = Var[i]
  (Polyanskiy, Poor, Verdu, IEEE Trans. IT 2010, sec. IV), by Gauss-Hermite quadrature. The
  least Eb/N0 for code rate R is Es/N0 / R where C(Es/N0) = R: 0.187 dB at R = 1/2.
- Normal approximation of the best code of n bits and k information bits at block error
  probability eps: k ~ n C - sqrt(n V) Qinv(eps) + log2(n) / 2, hence
  eps ~ Q((n C - k + log2(n) / 2) / sqrt(n V)) (PPV eq. 296 with the log term of BI-AWGN).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize, special

# Gauss-Hermite nodes for E[f(z)], z ~ N(0, 1): sum w_i f(sqrt(2) x_i) / sqrt(pi). 80 nodes make
# the capacity exact to ~1e-9 down to Es/N0 = -15 dB (tests check it against the closed limits).
_GH_X, _GH_W = np.polynomial.hermite.hermgauss(80)


def _lin(db: float | np.ndarray) -> np.ndarray:
    return 10.0 ** (np.asarray(db, dtype=np.float64) / 10.0)


def db(x: float | np.ndarray) -> np.ndarray:
    """10 log10 x."""
    return 10.0 * np.log10(np.asarray(x, dtype=np.float64))


def q_function(x: float | np.ndarray) -> np.ndarray:
    """Gaussian tail probability Q(x) = P(z > x)."""
    return 0.5 * special.erfc(np.asarray(x, dtype=np.float64) / math.sqrt(2.0))


def ber_bpsk(ebn0_db: float | np.ndarray) -> np.ndarray:
    """Uncoded coherent BPSK (and Gray QPSK) bit error rate at ``ebn0_db`` per bit."""
    return q_function(np.sqrt(2.0 * _lin(ebn0_db)))


ber_qpsk = ber_bpsk  # Gray QPSK: two independent BPSK rails, the same per-bit curve


def ber_16qam(ebn0_db: float | np.ndarray) -> np.ndarray:
    """Uncoded square Gray 16-QAM bit error rate (nearest-neighbour approximation)."""
    return 0.75 * q_function(np.sqrt(0.8 * _lin(ebn0_db)))


def ber_uncoded(bits_per_symbol: int, ebn0_db: float | np.ndarray) -> np.ndarray:
    """Uncoded BER of the modulation with ``bits_per_symbol`` (1 BPSK, 2 QPSK, 4 16-QAM)."""
    if bits_per_symbol in (1, 2):
        return ber_bpsk(ebn0_db)
    if bits_per_symbol == 4:
        return ber_16qam(ebn0_db)
    raise ValueError(f"bits_per_symbol must be 1, 2 or 4, got {bits_per_symbol}")


def shannon_ebn0_min_db(eta: float) -> float:
    """Least Eb/N0 (dB) for reliable transmission at ``eta`` bit per complex dimension (bit/s/Hz)
    on the unconstrained AWGN channel; -1.59 dB (ln 2) in the limit eta -> 0."""
    if not eta > 0 or not math.isfinite(eta):
        raise ValueError(f"spectral efficiency eta must be a finite number > 0, got {eta}")
    if eta < 1e-9:
        return float(db(math.log(2.0)))
    return float(db(math.expm1(eta * math.log(2.0)) / eta))


def _density(esn0_db: float) -> tuple[np.ndarray, np.ndarray]:
    """(values of i(y) at the quadrature nodes, weights) for BPSK at ``esn0_db``."""
    sigma = math.sqrt(1.0 / (2.0 * float(_lin(esn0_db))))
    y = 1.0 + sigma * math.sqrt(2.0) * _GH_X
    info = 1.0 - np.logaddexp(0.0, -2.0 * y / sigma**2) / math.log(2.0)
    return info, _GH_W / math.sqrt(math.pi)


def biawgn_capacity(esn0_db: float) -> float:
    """Capacity (bit per channel use) of binary-input AWGN at ``esn0_db`` per binary symbol."""
    info, w = _density(esn0_db)
    return float(np.sum(w * info))


def biawgn_dispersion(esn0_db: float) -> float:
    """Channel dispersion V (bit^2 per channel use) of binary-input AWGN at ``esn0_db``."""
    info, w = _density(esn0_db)
    mean = np.sum(w * info)
    return float(np.sum(w * (info - mean) ** 2))


def biawgn_ebn0_limit_db(rate: float) -> float:
    """Least Eb/N0 (dB per information bit) at which a binary code of ``rate`` can be reliable
    over BPSK/AWGN (capacity = rate): 0.187 dB at 1/2, tends to -1.59 dB as rate -> 0."""
    if not 0 < rate < 1:
        raise ValueError(f"code rate must be in (0, 1), got {rate}")
    esn0 = optimize.brentq(lambda s: biawgn_capacity(s) - rate, -40.0, 30.0, xtol=1e-9)
    return float(esn0 - db(rate))


def normal_approx_block_error(n: int, k: int, ebn0_db: float | np.ndarray) -> np.ndarray:
    """Block error probability of the best (n, k) binary code over BPSK/AWGN by the normal
    approximation, at ``ebn0_db`` per information bit (Es/N0 = Eb/N0 x k / n)."""
    if not 0 < k < n:
        raise ValueError(f"need 0 < k < n, got n={n}, k={k}")
    out = []
    for e in np.atleast_1d(np.asarray(ebn0_db, dtype=np.float64)):
        esn0 = float(e + db(k / n))
        c, v = biawgn_capacity(esn0), biawgn_dispersion(esn0)
        arg = (n * c - k + 0.5 * math.log2(n)) / math.sqrt(max(n * v, 1e-300))
        out.append(float(q_function(arg)))
    result = np.array(out)
    return result if np.ndim(ebn0_db) else result[0]


def frame_error(codeword_error: float | np.ndarray, codewords: int) -> np.ndarray:
    """A frame of ``codewords`` independent codewords fails when any of them does."""
    p = np.clip(np.asarray(codeword_error, dtype=np.float64), 0.0, 1.0)
    with np.errstate(divide="ignore"):
        return -np.expm1(codewords * np.log1p(-p))


def crossing_db(points_db, rates, trials, target: float) -> float | None:
    """Where a falling error-rate curve crosses ``target`` (an estimate), from the last point
    above ``target`` (i) and the next one (j):

    - j measured at or below ``target``: log-linear interpolation between i and j;
    - j error-free but with too few trials to show ``target`` (half an error in them lies above
      it): extrapolation from i along the waterfall's slope between the two last points with
      errors (i - 1, i) when it falls, else along i -> j with j's zero taken as half an error;
      never before i, and at most two steps beyond it.

    None when no point lies above ``target`` (the sweep starts too high) or none after the last
    one above it (it ends too low)."""
    x = np.asarray(points_db, dtype=np.float64)
    y = np.asarray(rates, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    if not x.size == y.size == n.size:
        raise ValueError("points_db, rates and trials must have one entry per point")
    order = np.argsort(x)
    x, y, n = x[order], y[order], n[order]
    above = np.flatnonzero(y > target)
    if not above.size or above[-1] == x.size - 1:
        return None
    i = int(above[-1])
    j = i + 1
    goal = math.log10(target)
    yj = y[j] if y[j] > 0 else 0.5 / max(n[j], 1)
    lo, hi = math.log10(y[i]), math.log10(yj)
    if yj > target and i >= 1 and 0 < y[i] < y[i - 1] < 1:
        per_db = (math.log10(y[i - 1]) - lo) / (x[i] - x[i - 1])  # decades per dB, > 0
        return float(min(x[i] + (lo - goal) / per_db, x[i] + 2 * (x[j] - x[i])))
    if lo <= hi:  # no fall between them: the crossing is at the next point at the latest
        return float(x[j])
    t = min((lo - goal) / (lo - hi), 2.0)
    return float(x[i] + t * (x[j] - x[i]))
