"""Soft decoding of one IR block: burst positions on the lattice -> symbol probabilities ->
bit LLRs, including blocks that lost one burst or gained a spurious one.

Per burst i the receiver has its lattice index n_i (rounded) and the probabilities p_i(o) that
the true index is n_i + o, o in {-1, 0, +1} (Gaussian in the distance to the lattice point).
The distance between bursts i and i+1 is d = n_{i+1} - n_i + delta with
P(delta) = sum_{o2 - o1 = delta} p_i(o1) p_{i+1}(o2), delta in -2..2, and carries the symbol
s = d - c (c = 5 after the sync burst, 3 otherwise); mass outside 0..7 is impossible.

A block should hold 16 distances. With 15, one burst was lost: for each distance j, the
hypothesis "j holds two symbols" is weighed by the probability of its length as a sum of two
symbols against that of a single one, and every symbol's distribution is the mixture over the
hypotheses (a burst lost where the merged length is impossible for one symbol is found for
certain; elsewhere the block's LLRs get weaker, not wrong). With 17, one burst is spurious:
each interior burst's removal is weighed likewise, times how far off the lattice it is. With
16 of which one no symbol can make, both happened: every interior burst's removal is weighed
by the evidence of the lost-burst decoding of what remains.

Invariant: pure functions of their arguments; probabilities are floored at 1e-30 before logs.
"""

from __future__ import annotations

import numpy as np

from .ir_config import BITS_PER_SYMBOL, SYMBOL_VALUES

GRAY = np.array([s ^ (s >> 1) for s in range(SYMBOL_VALUES)], dtype=np.int64)
# LABEL_BITS[s, b]: bit b (most significant first) of symbol s's Gray label.
LABEL_BITS = ((GRAY[:, None] >> np.arange(BITS_PER_SYMBOL - 1, -1, -1)[None, :]) & 1).astype(np.uint8)
# SYMBOL_OF_LABEL[g]: the symbol whose label is g (the modulator's map).
SYMBOL_OF_LABEL = np.argsort(GRAY)
LLR_LIMIT = 30.0
_ZERO_BITS = (1 - LABEL_BITS).astype(np.float64)
_ONE_BITS = LABEL_BITS.astype(np.float64)
_FLOOR = 1e-30
_OFFSETS = np.array([-1.0, 0.0, 1.0])


def offset_probs(frac: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """(n,) distances to the nearest lattice point (lattices, |frac| <= 0.5) and noise rms ->
    (n, 3) probabilities of offsets -1, 0, +1."""
    z = -((frac[:, None] - _OFFSETS[None, :]) ** 2) / (2 * sigma[:, None] ** 2)
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)


def lattice_density(frac: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Density (per lattice) of a real burst at ``frac`` from its lattice point."""
    z = (frac[:, None] - _OFFSETS[None, :]) / sigma[:, None]
    return np.sum(np.exp(-0.5 * z * z), axis=1) / (np.sqrt(2 * np.pi) * sigma)


def distance_probs(p_from: np.ndarray, p_to: np.ndarray) -> np.ndarray:
    """(k, 3), (k, 3) offset probabilities -> (k, 5) probabilities of delta = -2..2."""
    out = np.zeros((len(p_from), 5))
    for o1 in range(3):
        for o2 in range(3):
            out[:, o2 - o1 + 2] += p_from[:, o1] * p_to[:, o2]
    return out


def symbol_likelihoods(delta: np.ndarray, d_hat: np.ndarray, c: np.ndarray) -> np.ndarray:
    """(k, 5) delta probabilities, rounded distances and offsets c -> (k, 8) P(observation | s)
    up to a common factor: P(delta = s + c - d_hat)."""
    idx = np.arange(SYMBOL_VALUES)[None, :] + c[:, None] - d_hat[:, None] + 2
    ok = (idx >= 0) & (idx <= 4)
    return np.where(ok, np.take_along_axis(delta, np.clip(idx, 0, 4), axis=1), 0.0)


def _normalise(q: np.ndarray) -> np.ndarray:
    tot = q.sum(axis=-1, keepdims=True)
    return np.where(tot > _FLOOR, q / np.maximum(tot, _FLOOR), 1.0 / SYMBOL_VALUES)


def decode_regular(lik: np.ndarray) -> np.ndarray:
    """(16, 8) likelihoods -> (16, 8) symbol posteriors (uniform prior)."""
    return _normalise(lik)


def decode_lost(delta: np.ndarray, d_hat: np.ndarray, c_full: np.ndarray) -> np.ndarray:
    """Blocks of len(c_full) symbols seen as len(c_full) - 1 distances (one burst lost) ->
    (len(c_full), 8) posteriors. c_full: the offset c of every symbol position."""
    return decode_lost_batch(delta[None], d_hat[None], c_full)[0][0]


def decode_lost_batch(delta: np.ndarray, d_hat: np.ndarray, c_full: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """B blocks at once: delta (B, k, 5), d_hat (B, k), c_full (k + 1,) -> posteriors
    (B, k + 1, 8) and the log evidence (B,) of each observation (up to a factor common to all
    observations of k distances).

    Hypothesis j: distance j holds positions j and j+1; distances before it sit at their own
    positions, those after it one position later (their offsets c taken from there). The
    mixture over j is summed position by position: position q is its own distance q under
    every j > q, distance q - 1 under every j < q - 1, and a part of the joint at j = q, q - 1.
    """
    n_blocks, k = d_hat.shape
    flat_delta = delta.reshape(n_blocks * k, 5)
    flat_d = d_hat.reshape(-1)
    lik_same = symbol_likelihoods(flat_delta, flat_d, np.tile(c_full[:-1], n_blocks)).reshape(n_blocks, k, -1)
    lik_next = symbol_likelihoods(flat_delta, flat_d, np.tile(c_full[1:], n_blocks)).reshape(n_blocks, k, -1)
    l_same = np.log(np.maximum(lik_same.sum(axis=2) / SYMBOL_VALUES, _FLOOR))
    l_next = np.log(np.maximum(lik_next.sum(axis=2) / SYMBOL_VALUES, _FLOOR))
    # joint[b, j, s_a, s_b] = P(delta = s_a + s_b + c_a + c_b - d_hat) for delta in -2..2.
    s_sum = (np.arange(SYMBOL_VALUES)[:, None] + np.arange(SYMBOL_VALUES)[None, :]).ravel()
    idx = s_sum[None, None, :] + (c_full[:-1] + c_full[1:])[None, :, None] - d_hat[:, :, None] + 2
    ok = (idx >= 0) & (idx <= 4)
    joint = np.where(ok, np.take_along_axis(delta, np.clip(idx, 0, 4), axis=2), 0.0)
    joint = joint.reshape(n_blocks, k, SYMBOL_VALUES, SYMBOL_VALUES)
    zero = np.zeros((n_blocks, 1))
    before = np.concatenate((zero, np.cumsum(l_same, axis=1)[:, :-1]), axis=1)  # sum of l_same[i < j]
    after = np.concatenate((np.cumsum(l_next[:, ::-1], axis=1)[:, ::-1][:, 1:], zero), axis=1)  # l_next[i > j]
    logw = np.log(np.maximum(joint.sum(axis=(2, 3)) / SYMBOL_VALUES**2, _FLOOR)) + before + after
    top = logw.max(axis=1, keepdims=True)
    w = np.exp(logw - top)
    total = w.sum(axis=1, keepdims=True)
    w = w / total
    same, nxt = _normalise(lik_same), _normalise(lik_next)
    first, second = _normalise(joint.sum(axis=3)), _normalise(joint.sum(axis=2))
    w_gt = np.cumsum(w[:, ::-1], axis=1)[:, ::-1]  # w_gt[:, q] = sum of w[j >= q]
    post = np.zeros((n_blocks, k + 1, SYMBOL_VALUES))
    post[:, :k] += (w_gt - w)[:, :, None] * same + w[:, :, None] * first
    post[:, 1:] += w[:, :, None] * second
    w_lt = np.cumsum(w, axis=1)  # w_lt[:, q] = sum of w[j <= q]
    post[:, 2:] += w_lt[:, :-1, None] * nxt[:, 1:]
    return post, (top + np.log(total / k))[:, 0]


def decode_spurious(p: np.ndarray, n: np.ndarray, frac: np.ndarray, sigma: np.ndarray,
                    c_first: int, c_rest: int, n_symbols: int) -> np.ndarray:
    """n_symbols + 2 bursts (one spurious, never the first or last) -> (n_symbols, 8) posteriors.

    p: (m, 3) offset probabilities, n: (m,) lattice indices, frac / sigma: (m,) of the bursts.
    """
    m = len(n)
    c = np.full(m - 1, c_rest)
    c[0] = c_first
    delta = distance_probs(p[:-1], p[1:])
    lik = symbol_likelihoods(delta, n[1:] - n[:-1], c)
    single = np.log(np.maximum(lik.sum(axis=1) / SYMBOL_VALUES, _FLOOR))
    base = _normalise(lik)
    # Removing burst j merges distances j-1 and j into one from burst j-1 to j+1.
    js = np.arange(1, m - 1)
    merged_delta = distance_probs(p[js - 1], p[js + 1])
    merged = symbol_likelihoods(merged_delta, n[js + 1] - n[js - 1], c[js - 1])
    off_lattice = -np.log(np.maximum(lattice_density(frac[js], sigma[js]), _FLOOR))
    logw = (np.log(np.maximum(merged.sum(axis=1) / SYMBOL_VALUES, _FLOOR))
            - single[js - 1] - single[js] + off_lattice)
    q = np.arange(n_symbols)[None, :]
    src = np.where(q < js[:, None] - 1, q, q + 1)
    post = base[np.clip(src, 0, len(base) - 1)]
    post[np.arange(len(js)), js - 1] = _normalise(merged)
    w = np.exp(logw - logw.max())
    return np.einsum("h,hks->ks", w / w.sum(), post)


def decode_lost_and_spurious(p: np.ndarray, n: np.ndarray, frac: np.ndarray, sigma: np.ndarray,
                             c_full: np.ndarray) -> np.ndarray:
    """len(c_full) + 1 bursts of which one interior one is spurious and one of the block's own
    was lost (the count looks regular, a distance or a sync burst does not) -> (len(c_full), 8)
    posteriors. c_full: the offset c of every symbol position. See ``lost_and_spurious``."""
    return lost_and_spurious(p, n, frac, sigma, c_full)[0]


def lost_and_spurious(p: np.ndarray, n: np.ndarray, frac: np.ndarray, sigma: np.ndarray,
                      c_full: np.ndarray) -> tuple[np.ndarray, float]:
    """``decode_lost_and_spurious`` and the log evidence of the bursts under it: per lattice a
    spurious burst may fall on, and with the lost burst's position uniform over the block
    (comparable with ``regular_evidence``; the priors of a loss and a spurious pulse apart).

    Hypothesis i: burst i is spurious; without it the n_symbols - 1 distances left are a block
    that lost a burst (``decode_lost``, whose evidence weighs i), times how far off the
    lattice burst i is (a spurious pulse falls anywhere, a real burst near a lattice point).
    """
    m = len(n)
    i = np.arange(1, m - 1)
    keep = np.arange(m - 1)[None, :] + (np.arange(m - 1)[None, :] >= i[:, None])  # (m - 2, m - 1)
    pk, nk = p[keep], n[keep]
    delta = distance_probs(pk[:, :-1].reshape(-1, 3), pk[:, 1:].reshape(-1, 3)).reshape(len(i), m - 2, 5)
    posts, logev = decode_lost_batch(delta, np.diff(nk, axis=1), c_full)
    lw = logev - np.log(np.maximum(lattice_density(frac[i], sigma[i]), _FLOOR))
    top = lw.max()
    w = np.exp(lw - top)
    return np.einsum("h,hks->ks", w / w.sum(), posts), float(top + np.log(w.sum()))


def regular_evidence(lik: np.ndarray) -> np.ndarray:
    """(B, k, 8) likelihoods of B regular blocks -> (B,) log evidence, on the scale of
    ``lost_and_spurious``."""
    return np.log(np.maximum(lik.sum(axis=2) / SYMBOL_VALUES, _FLOOR)).sum(axis=1)


def symbol_llrs(post: np.ndarray) -> np.ndarray:
    """(k, 8) symbol posteriors -> float32 (k * 3,) bit LLRs, log P(0) / P(1), label bits
    most significant first."""
    # einsum, not @ or tensordot, here and above: BLAS calls this small cost more in thread
    # start-up than in arithmetic (measured 3x slower on a busy 2-core machine).
    zero = np.einsum("ks,sb->kb", post, _ZERO_BITS)  # (k, 3): P(bit = 0)
    one = np.einsum("ks,sb->kb", post, _ONE_BITS)
    llr = np.log(np.maximum(zero, _FLOOR)) - np.log(np.maximum(one, _FLOOR))
    return np.clip(llr, -LLR_LIMIT, LLR_LIMIT).astype(np.float32).ravel()
