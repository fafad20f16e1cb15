"""Profile `ir`: regular-looking blocks that may hide a lost burst and a spurious one.

A block that lost a burst and gained a spurious one still shows 16 distances, and when every
distance is one a symbol can make, reading it as regular puts the symbols between the two
events one position off, with full confidence. Each regular block is therefore weighed against
that hypothesis. Exactly (``ir_blocks.lost_and_spurious``) costs 15 lost-burst decodings, so a
cheap bound picks the blocks worth it: the odds of the hypothesis against the regular reading
are about

    odds = P_LOST x RHO_SPURIOUS x max_i S_i x sum_j L_j

with S_i = P(distances i-1 and i read as one) / (P(distance i-1) P(distance i)) / (density of
burst i on the lattice), the gain from removing burst i, and L_j = P(distance j holds two
symbols) / P(it holds one). Blocks whose bound passes ``FLAG_ODDS`` are decoded exactly, and
their posteriors become the mixture of the two readings by their odds.

Priors from the channel the profile is built for (issue 9): P_LOST = 1 % of bursts, and a few
(4) spurious pulses a second, RHO_SPURIOUS = 4 / s x 225 us per lattice. With these the mixture
changes nothing on a clean block (odds ~1e-6) and turns a block whose only reading is the
shifted one into it.

Invariant: pure functions of their arguments.
"""

from __future__ import annotations

import numpy as np

from .ir_blocks import (decode_lost_and_spurious, decode_regular, distance_probs, lattice_density, lost_and_spurious,
                        regular_evidence, symbol_likelihoods)
from .ir_config import SYMBOL_VALUES

P_LOST = 0.01
RHO_SPURIOUS = 4 * 225e-6
FLAG_ODDS = 3e-3
_FLOOR = 1e-30
# A distance whose likelihood under every symbol is below this is impossible.
_IMPOSSIBLE = 1e-12
# _PAIRS[S]: how many pairs of symbols sum to S, over 8^2.
_PAIRS = np.convolve(np.ones(SYMBOL_VALUES), np.ones(SYMBOL_VALUES)) / SYMBOL_VALUES**2


def suspect_odds(lik: np.ndarray, delta: np.ndarray, d_hat: np.ndarray, p: np.ndarray, n: np.ndarray,
                 frac: np.ndarray, sigma: np.ndarray, base: np.ndarray, c_block: np.ndarray) -> np.ndarray:
    """The cheap bound of the odds, per block. B regular blocks of k distances: lik (B, k, 8),
    delta (B, k, 5) and d_hat (B, k) of their distances; p, n, frac, sigma of all bursts; base
    (B,) each block's first burst; c_block (k,) each position's offset c -> (B,) odds."""
    n_blocks, k, _ = lik.shape
    single = np.maximum(lik.sum(axis=2) / SYMBOL_VALUES, _FLOOR)  # (B, k)
    # Removing interior burst i (1..k-1) of each block: one distance from burst i-1 to i+1.
    before = base[:, None] + np.arange(k - 1)[None, :]
    inner = before + 1
    after = before + 2
    merged_delta = distance_probs(p[before.ravel()], p[after.ravel()]).reshape(n_blocks, k - 1, 5)
    merged = _any_symbol(merged_delta, c_block[None, :-1] - (n[after] - n[before]))
    density = lattice_density(frac[inner.ravel()], sigma[inner.ravel()]).reshape(n_blocks, k - 1)
    gain_spurious = (merged / SYMBOL_VALUES) / (single[:, :-1] * single[:, 1:] * np.maximum(density, _FLOOR))
    # Distance j holding positions j and j+1: sum over t of P(delta = t) P(pair sum = t - off).
    off = (c_block + np.append(c_block[1:], c_block[-1]))[None, :] - d_hat + 2  # (B, k)
    pair = np.arange(5)[None, None, :] - off[:, :, None]
    ok = (pair >= 0) & (pair < len(_PAIRS))
    joint = (delta * np.where(ok, _PAIRS[np.clip(pair, 0, len(_PAIRS) - 1)], 0.0)).sum(axis=2)
    gain_lost = joint / single
    return P_LOST * RHO_SPURIOUS * gain_spurious.max(axis=1) * gain_lost.sum(axis=1)


def _any_symbol(delta: np.ndarray, c_minus_d: np.ndarray) -> np.ndarray:
    """sum over s = 0..7 of P(delta = s + c - d_hat): delta (..., 5), c_minus_d (...)."""
    csum = np.concatenate((np.zeros(delta.shape[:-1] + (1,)), np.cumsum(delta, axis=-1)), axis=-1)
    lo = np.clip(c_minus_d + 2, 0, 5)
    hi = np.clip(c_minus_d + 2 + SYMBOL_VALUES, 0, 5)
    return np.take_along_axis(csum, hi[..., None], -1)[..., 0] - np.take_along_axis(csum, lo[..., None], -1)[..., 0]


def mix_lost_and_spurious(post: np.ndarray, lik: np.ndarray, p: np.ndarray, n: np.ndarray, frac: np.ndarray,
                          sigma: np.ndarray, first: int, c_block: np.ndarray) -> np.ndarray:
    """One regular block's posteriors (k, 8) and likelihoods (k, 8), its bursts from ``first``
    -> the posteriors mixed with the lost-and-spurious reading by their exact odds."""
    k = len(c_block)
    sl = slice(first, first + k + 1)
    other, log_ev = lost_and_spurious(p[sl], n[sl], frac[sl], sigma[sl], c_block)
    log_odds = np.log(k * P_LOST * RHO_SPURIOUS) + log_ev - float(regular_evidence(lik[None])[0])
    w = 1.0 / (1.0 + np.exp(-np.clip(log_odds, -700, 700)))
    return (1 - w) * post + w * other


def decode_regular_blocks(rows, c_block, delta, d_hat, n, frac, sigma, p) -> tuple[np.ndarray, int]:
    """Regular blocks: distance indices ``rows`` (16 per block, syncs inside 16 j read as
    ordinary), c_block (16,) each position's offset c, and every distance's (delta, d_hat)
    and burst's (n, frac, sigma, p) -> (posteriors (len(rows), 8), how many blocks were
    decoded as a lost burst plus a spurious one)."""
    k = len(c_block)
    offsets = np.tile(c_block, len(rows) // k)
    lik = symbol_likelihoods(delta[rows], d_hat[rows], offsets)
    post = decode_regular(lik)
    # A block of 16 distances one of which no symbol can make (shorter than c - 2 or
    # longer than c + 9 lattices) lost a burst and gained a spurious one: its distances
    # after the first anomaly belong to other positions. Decoded under both at once.
    impossible = np.flatnonzero((lik.sum(axis=1) < _IMPOSSIBLE).reshape(-1, k).any(axis=1))
    for b in impossible:
        sl = slice(int(rows[b * k]), int(rows[b * k]) + k + 1)
        post[b * k : (b + 1) * k] = decode_lost_and_spurious(p[sl], n[sl], frac[sl], sigma[sl], offsets[:k])
    # A block that reads as regular may have lost a burst and gained a spurious one
    # (``ir_suspect.py``): those the cheap bound flags are weighed exactly.
    n_blocks = len(rows) // k
    lik_b = lik.reshape(n_blocks, k, -1)
    odds = suspect_odds(lik_b, delta[rows].reshape(n_blocks, k, -1), d_hat[rows].reshape(n_blocks, k), p, n,
                        frac, sigma, rows[::k], offsets[:k])
    odds[impossible] = 0.0
    for b in np.flatnonzero(odds > FLAG_ODDS):
        post[b * k : (b + 1) * k] = mix_lost_and_spurious(post[b * k : (b + 1) * k], lik_b[b], p, n, frac, sigma,
                                                          int(rows[b * k]), offsets[:k])
    return post, len(impossible)
