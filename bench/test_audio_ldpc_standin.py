"""A stand-in LDPC frame layer for measuring the modems' frame error rate, and its self-test.

The real soft-decision frame layer is written elsewhere; to measure FER now, frames of the
modem's LLR stream are decoded with a random regular (3, dc) LDPC code of n = 1944 bits
(rate 1 - 3 / dc: 1/2, 2/3, 3/4), min-sum belief propagation from the ``ldpc`` package.

Coset decoding: the bits sent are random, not codewords. For a frame of sent bits c and hard
decisions r, the decoder is given the syndrome H (r xor c) and per-bit error probabilities
1 / (1 + e^|llr|) and must find e = r xor c. This is decoding in the coset c + C, which for
a symmetric decoder performs exactly as decoding a codeword of C, and lets any bit stream
(including the modem's fill and training) be measured without an encoder.

``frame_error_rate`` also reports the pessimistic bound: frames with no raw hard error.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pytest

N_CODE = 1944
MAX_ITER = 50


@lru_cache(maxsize=8)
def parity_matrix(rate: float, n: int = N_CODE, seed: int = 1) -> np.ndarray:
    """uint8 (m, n) random regular (3, dc) parity-check matrix, dc = 3 / (1 - rate)."""
    dc = int(round(3 / (1 - rate)))
    n -= n % dc  # whole rows: 1944 for dc 6, 9, 12; 1940 for dc 5 (rate 0.4)
    m = n * 3 // dc
    rng = np.random.default_rng(seed)
    sockets = rng.permutation(np.repeat(np.arange(m), dc))  # n * 3 row slots
    h = np.zeros((m, n), dtype=np.uint8)
    np.add.at(h, (sockets, np.repeat(np.arange(n), 3)), 1)
    return h % 2


@dataclass(frozen=True)
class FrameResult:
    frames: int
    failed: int  # after LDPC decoding
    raw_clean: int  # frames with no hard error at all (pessimistic bound, no code)

    @property
    def fer(self) -> float:
        return self.failed / self.frames if self.frames else float("nan")

    @property
    def fer_uncoded(self) -> float:
        return 1 - self.raw_clean / self.frames if self.frames else float("nan")


def frame_error_rate(llr: np.ndarray, sent: np.ndarray, rate: float) -> FrameResult:
    """LLRs aligned with the sent bits (same length) -> frame counts over whole 1944-bit frames."""
    ldpc = pytest.importorskip("ldpc", reason="the ldpc package (pip install ldpc) decodes the stand-in code")
    h = parity_matrix(rate)
    size = h.shape[1]
    dec = ldpc.BpDecoder(h, error_rate=0.05, max_iter=MAX_ITER, bp_method="minimum_sum",
                         input_vector_type="syndrome")
    frames = len(llr) // size
    failed = clean = 0
    for f in range(frames):
        sl = slice(f * size, (f + 1) * size)
        l = np.nan_to_num(np.asarray(llr[sl], dtype=np.float64))
        hard = (l < 0).astype(np.uint8)
        err = hard ^ sent[sl].astype(np.uint8)
        if not err.any():
            clean += 1
            continue
        p = np.clip(1 / (1 + np.exp(np.minimum(np.abs(l), 40))), 1e-12, 0.5 - 1e-9)
        dec.update_channel_probs(p)
        est = dec.decode((h.astype(np.int64) @ err % 2).astype(np.uint8))
        if not np.array_equal(est, err):
            failed += 1
    return FrameResult(frames, failed, clean)


def llrs_for_bpsk(bits: np.ndarray, ebn0_db: float, rate: float, seed: int) -> np.ndarray:
    """Exact BPSK LLRs at Eb/N0 per information bit: llr = 2 y / s^2, y = +-1 + n."""
    rng = np.random.default_rng(seed)
    s2 = 1 / (2 * rate * 10 ** (ebn0_db / 10))
    y = (1 - 2.0 * bits) + rng.standard_normal(len(bits)) * np.sqrt(s2)
    return 2 * y / s2


@pytest.mark.parametrize("rate,ebn0_db", [(0.4, 2.5), (0.5, 2.5), (2 / 3, 3.5), (0.75, 4.0)])
def test_standin_decodes_above_threshold(rate, ebn0_db):
    bits = np.random.default_rng(0).integers(0, 2, N_CODE * 30).astype(np.uint8)
    r = frame_error_rate(llrs_for_bpsk(bits, ebn0_db, rate, 1), bits, rate)
    assert r.fer_uncoded > 0.9  # the code has work to do
    assert r.fer <= 1 / 30, r


def test_standin_fails_far_below_threshold():
    bits = np.random.default_rng(0).integers(0, 2, N_CODE * 10).astype(np.uint8)
    r = frame_error_rate(llrs_for_bpsk(bits, -1.0, 0.75, 1), bits, 0.75)
    assert r.fer == 1.0
