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

Invariant: pure functions of their arguments; no alignment is dropped (cost B x m x (n - m + 1)
x g_max x 5 x 8).
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


def _kernel(g_max: int) -> np.ndarray:
    """kernel[g - 1, S, s] = N_{g-1}(S - s) / 8^g: the g-tuples summing to S whose one symbol is s."""
    counts = _tuple_counts(g_max)
    sums = np.arange((SYMBOL_VALUES - 1) * g_max + 1)
    kernel = np.zeros((g_max, len(sums), SYMBOL_VALUES))
    for g in range(1, g_max + 1):
        prev = counts[g - 1]
        for s in range(SYMBOL_VALUES):
            rest = sums - s
            ok = (rest >= 0) & (rest < len(prev))
            kernel[g - 1, ok, s] = prev[rest[ok]] / SYMBOL_VALUES**g
    return kernel


def decode_aligned(delta: np.ndarray, d_hat: np.ndarray, c_pos: np.ndarray, g_max: int = 3) -> np.ndarray:
    """B blocks of m distances for n = len(c_pos) symbols: delta (B, m, 5) probabilities of
    delta = -2..2, d_hat (B, m) rounded distances, c_pos (n,) each position's offset c ->
    (B, n, 8) symbol posteriors (uniform where no alignment can explain a block).

    Distance i can only start at position q = i + u, u in 0..n - m (the ones before it hold at
    least one symbol each, and so do the ones after it): states are (i, u)."""
    n_blocks, m = d_hat.shape
    n = len(c_pos)
    slack = n - m
    width = slack + 1
    kernel = _kernel(g_max)
    s_max = kernel.shape[1] - 1
    c_cum = np.concatenate(([0], np.cumsum(c_pos)))
    q = np.arange(m)[:, None] + np.arange(width)[None, :]  # (m, U)
    end = q[:, :, None] + np.arange(1, g_max + 1)[None, None, :]  # (m, U, G)
    fits = end <= n
    c_sum = c_cum[np.minimum(end, n)] - c_cum[q][:, :, None]
    # delta = t - 2 makes the g symbols sum to S = t - 2 - C(q, g) + d_hat.
    sums = (np.arange(5)[None, None, None, None, :] - 2 - c_sum[None, :, :, :, None]
            + d_hat[:, :, None, None, None])  # (B, m, U, G, 5)
    ok = (sums >= 0) & (sums <= s_max)
    g_idx = np.arange(g_max)[None, None, None, :, None]
    k_at = np.where(ok[..., None], kernel[g_idx, np.clip(sums, 0, s_max)], 0.0)  # (B, m, U, G, 5, 8)
    marg = np.einsum("bmugts,bmt->bmugs", k_at, delta)  # unnormalised marginals
    ev = marg.sum(axis=4) * fits[None]  # E(q, g): (B, m, U, G)
    # Forward (alpha[i, u]: distances < i cover positions < i + u) and backward, each step
    # scaled; distance i holding g positions moves u to u + g - 1.
    alpha = np.zeros((n_blocks, m + 1, width))
    beta = np.zeros((n_blocks, m + 1, width))
    alpha[:, 0, 0] = 1.0
    beta[:, m, slack] = 1.0
    steps = range(min(g_max, width))
    for i in range(m):
        nxt = np.zeros((n_blocks, width))
        for gi in steps:
            nxt[:, gi:] += alpha[:, i, : width - gi] * ev[:, i, : width - gi, gi]
        alpha[:, i + 1] = nxt / np.maximum(nxt.sum(axis=1, keepdims=True), _FLOOR)
    for i in range(m - 1, -1, -1):
        prv = np.zeros((n_blocks, width))
        for gi in steps:
            prv[:, : width - gi] += ev[:, i, : width - gi, gi] * beta[:, i + 1, gi:]
        beta[:, i] = prv / np.maximum(prv.sum(axis=1, keepdims=True), _FLOOR)
    # w[b, i, u, g]: posterior that distance i holds positions i + u .. i + u + g - 1.
    w = np.zeros((n_blocks, m, width, g_max))
    for gi in steps:
        w[:, :, : width - gi, gi] = alpha[:, :m, : width - gi] * ev[:, :, : width - gi, gi] * beta[:, 1:, gi:]
    w /= np.maximum(w.sum(axis=(2, 3), keepdims=True), _FLOOR)
    norm = marg / np.maximum(ev[..., None], _FLOOR)
    post = np.zeros((n_blocks, n + g_max + width, SYMBOL_VALUES))
    for u in range(width):
        for gi in steps:
            part = w[:, :, u, gi, None] * norm[:, :, u, gi]  # (B, m, 8)
            for r in range(gi + 1):
                post[:, u + r : u + r + m] += part
    post = post[:, :n]
    tot = post.sum(axis=2, keepdims=True)
    return np.where(tot > 1e-30, post / np.maximum(tot, 1e-30), 1.0 / SYMBOL_VALUES)
