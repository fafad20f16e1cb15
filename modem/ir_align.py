"""Profile `ir`: blocks that lost several bursts, decoded by weighing every alignment of their
distances to the block's symbol positions (forward-backward over the alignments).

A block of n symbols seen as m < n distances lost n - m bursts: each distance holds g >= 1
consecutive symbols (g > 1 where bursts were lost, g = 3 where two adjacent ones were), the
g's summing to n. Every alignment is equally likely a priori (each set of lost bursts is). A
distance of d_hat lattices holding positions q..q+g-1 is seen with probability

    E(q, g) = sum_S N_g(S) / 8^g * P(delta = S + C(q, g) - d_hat)

where N_g(S) counts the g-tuples of symbols summing to S and C(q, g) is the sum of the
positions' offsets c; given it, each of its symbols has the marginal
sum_S P(delta = S + C - d_hat) N_{g-1}(S - s) / 8^g (the same for each of the g positions).
Forward-backward over (distance, position) gives every (distance, first position, g) a
posterior weight, and each position's symbol posterior is the weighted sum of the marginals of
the distances that can hold it. With one burst lost this is ``ir_blocks.decode_lost``.

Invariant: pure functions of their arguments; no alignment is dropped (cost B x m x n x g_max).
"""

from __future__ import annotations

import numpy as np

from .ir_config import SYMBOL_VALUES

_FLOOR = 1e-300


def _tuple_counts(g_max: int) -> list[np.ndarray]:
    """counts[g][S]: how many g-tuples of symbols 0..7 sum to S (g = 0..g_max)."""
    counts = [np.array([1.0])]
    for _ in range(g_max):
        counts.append(np.convolve(counts[-1], np.ones(SYMBOL_VALUES)))
    return counts


def decode_aligned(delta: np.ndarray, d_hat: np.ndarray, c_pos: np.ndarray, g_max: int = 3) -> np.ndarray:
    """B blocks of m distances for n = len(c_pos) symbols: delta (B, m, 5) probabilities of
    delta = -2..2, d_hat (B, m) rounded distances, c_pos (n,) each position's offset c ->
    (B, n, 8) symbol posteriors (uniform where no alignment can explain a block)."""
    n_blocks, m = d_hat.shape
    n = len(c_pos)
    counts = _tuple_counts(g_max)
    s_max = (SYMBOL_VALUES - 1) * g_max
    sums = np.arange(s_max + 1)
    # kernel[g - 1, S, s] = N_{g-1}(S - s) / 8^g: the g-tuples summing to S whose one symbol is s.
    kernel = np.zeros((g_max, s_max + 1, SYMBOL_VALUES))
    for g in range(1, g_max + 1):
        prev = counts[g - 1]
        for s in range(SYMBOL_VALUES):
            rest = sums - s
            ok = (rest >= 0) & (rest < len(prev))
            kernel[g - 1, ok, s] = prev[rest[ok]] / SYMBOL_VALUES**g
    c_cum = np.concatenate(([0], np.cumsum(c_pos)))
    q = np.arange(n + 1)
    g = np.arange(1, g_max + 1)
    c_sum = c_cum[np.minimum(q[:, None] + g[None, :], n)] - c_cum[q][:, None]  # (n + 1, G)
    # P(delta = S + C(q, g) - d_hat): (B, m, n + 1, G, S)
    idx = sums[None, None, None, None, :] + c_sum[None, None, :, :, None] - d_hat[:, :, None, None, None] + 2
    ok = (idx >= 0) & (idx <= 4)
    flat = np.take_along_axis(delta, np.clip(idx, 0, 4).reshape(n_blocks, m, -1), axis=2)
    p_sum = np.where(ok, flat.reshape(idx.shape), 0.0)
    marg = np.einsum("bmqgS,gSs->bmqgs", p_sum, kernel)  # unnormalised marginals
    ev = marg.sum(axis=4)  # E(q, g): (B, m, n + 1, G)
    fits = q[:, None] + g[None, :] <= n
    ev = ev * fits[None, None, :, :]
    # Forward (alpha[i, q]: distances < i cover positions < q) and backward, each step scaled.
    alpha = np.zeros((n_blocks, m + 1, n + 1))
    beta = np.zeros((n_blocks, m + 1, n + 1))
    alpha[:, 0, 0] = 1.0
    beta[:, m, n] = 1.0
    for i in range(m):
        nxt = np.zeros((n_blocks, n + 1))
        for gi in range(g_max):
            step = gi + 1
            nxt[:, step:] += alpha[:, i, : n + 1 - step] * ev[:, i, : n + 1 - step, gi]
        alpha[:, i + 1] = nxt / np.maximum(nxt.sum(axis=1, keepdims=True), _FLOOR)
    for i in range(m - 1, -1, -1):
        prv = np.zeros((n_blocks, n + 1))
        for gi in range(g_max):
            step = gi + 1
            prv[:, : n + 1 - step] += ev[:, i, : n + 1 - step, gi] * beta[:, i + 1, step:]
        beta[:, i] = prv / np.maximum(prv.sum(axis=1, keepdims=True), _FLOOR)
    # w[b, i, q, g]: posterior that distance i holds positions q..q+g-1.
    w = np.zeros((n_blocks, m, n + 1, g_max))
    for gi in range(g_max):
        step = gi + 1
        w[:, :, : n + 1 - step, gi] = (alpha[:, :m, : n + 1 - step] * ev[:, :, : n + 1 - step, gi]
                                       * beta[:, 1:, step:])
    w /= np.maximum(w.sum(axis=(2, 3), keepdims=True), _FLOOR)
    norm = marg / np.maximum(ev[..., None], _FLOOR)
    post = np.zeros((n_blocks, n, SYMBOL_VALUES))
    for gi in range(g_max):
        for r in range(gi + 1):  # position q + r of a distance starting at q
            contrib = np.einsum("bmq,bmqs->bqs", w[:, :, :n, gi], norm[:, :, :n, gi])
            post[:, r:] += contrib[:, : n - r]
    tot = post.sum(axis=2, keepdims=True)
    return np.where(tot > 1e-30, post / np.maximum(tot, 1e-30), 1.0 / SYMBOL_VALUES)
