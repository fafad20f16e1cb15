"""The code alone: a profile's LDPC code over ideal BPSK and white noise, decoded by the project's
own decoder (``framing.ldpc``), so the link's curve can be set beside its code's.

Codeword i carries random information bits, mapped 0 -> +1, 1 -> -1; y = x + sigma z with
sigma^2 = 1 / (2 R Eb/N0) (Eb per information bit, R = k / n), channel LLR = 2 y / sigma^2.
Seeded; every codeword of a point is decoded in batches as FrameSync decodes a frame's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from framing.ldpc import LdpcDecoder, LdpcEncoder, ldpc_code


@dataclass(frozen=True)
class CodePoint:
    ebn0_db: float  # per information bit
    codewords: int
    failed: int  # decoded word differs from the sent one

    @property
    def cwer(self) -> float:
        return self.failed / self.codewords


def simulate_code(name: str, ebn0_db: float, codewords: int, max_iterations: int = 30,
                  seed: int = 0, batch: int = 32) -> CodePoint:
    """Codeword error rate of LDPC code ``name`` at ``ebn0_db`` per information bit."""
    if codewords < 1:
        raise ValueError(f"codewords must be >= 1, got {codewords}")
    code = ldpc_code(name)
    enc, dec = LdpcEncoder(code), LdpcDecoder(code, max_iterations)
    rng = np.random.default_rng(seed)
    sigma = np.sqrt(1.0 / (2.0 * code.rate * 10 ** (ebn0_db / 10)))
    failed = 0
    for start in range(0, codewords, batch):
        m = min(batch, codewords - start)
        words = enc.encode(rng.integers(0, 2, (m, code.k), dtype=np.uint8))
        y = 1.0 - 2.0 * words + sigma * rng.standard_normal(words.shape)
        result = dec.decode((2.0 * y / sigma**2).astype(np.float32))
        failed += int(np.count_nonzero(np.any(result.bits != words, axis=1)))
    return CodePoint(float(ebn0_db), codewords, failed)
