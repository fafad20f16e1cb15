"""Frames of the older format v2, recognised so that a v2 capture is refused with a message
(``FrameStats.old_version_reason``), never decoded as noise.

v2 sent differentially encoded QPSK with a 64-bit sync word (``SYNC_BITS_V2``). On the v3
receiver's soft symbols z_k the step z_k conj(z_{k-1}) rounded to quarter turns gives v2's
Gray dibit (a zero step, next to a zero symbol, counts as no turn, as angle(0) = 0); a run of
32 dibits within ``_V2_MAX_ERRORS`` of the word (or of its complement: a half-turned stream)
is a v2 sync word (false rate 5e-10 a position, as v2's own sync). One hit counts per v2
frame.

Invariants: the count depends only on the concatenated input, never on its chunking; memory is
31 dibits and one symbol.
"""

from __future__ import annotations

import numpy as np

from framing.frameformat import FRAME_BITS_V2, SYNC_BITS_V2

__all__ = ["V2Detector"]

_V2_MAX_ERRORS = 8  # of 64 sync bits, as hotcast v2's own FrameSync allowed
_STEP_TO_V2_BITS = np.array([[0, 0], [0, 1], [1, 1], [1, 0]], dtype=np.int8)  # v2 Gray steps


class V2Detector:
    """Counts v2 sync words on the differentially decoded symbol stream (chunk-invariant).

    v2 frames start on symbols, so the word is looked for at symbol boundaries only. Each step
    z_k conj(z_{k-1}) = a + jb is a quarter turn read from the signs of a + b and b - a (the
    step turned back by 45 degrees), its v2 Gray dibit two bits of an integer; 32 dibits in a
    row make a uint64 (five doublings of the window) whose Hamming distance to the word (XOR,
    popcount) counts the wrong bits; the word or its complement (a half-turned stream) within
    _V2_MAX_ERRORS is a hit. ~2 ns a bit: the float correlation with np.angle it replaces cost
    ~20 ns a bit, two thirds of the frame layer's own time, on every bit of every stream.
    """

    def __init__(self) -> None:
        bits = SYNC_BITS_V2.astype(np.uint64)
        self._symbols = bits.size // 2
        self._word = np.uint64(int("".join(str(int(b)) for b in bits), 2))
        dibit = (_STEP_TO_V2_BITS[:, 0] * 2 + _STEP_TO_V2_BITS[:, 1]).astype(np.uint64)
        # (sign of a + b, sign of b - a) -> step: (+, -) 0, (+, +) 1, (-, +) 2, (-, -) 3.
        self._dibit = dibit[[1, 0, 2, 3]]
        self._odd = np.zeros(0, dtype=np.float32)  # an I value waiting for its Q
        self._last = 0j  # previous symbol
        self._tail = np.zeros(0, dtype=np.uint64)  # dibits of the last 31 steps
        self._quiet = 0  # symbols still to skip after a hit (one hit per v2 frame)
        self.hits = 0

    def process(self, llr: np.ndarray) -> int:
        x = np.concatenate((self._odd, llr)) if self._odd.size else llr
        pairs = x.size // 2
        self._odd = x[2 * pairs:].copy()
        if pairs == 0:
            return 0
        rails = x[:2 * pairs].astype(np.float32, copy=False).reshape(-1, 2)
        zr, zi = rails[:, 0], rails[:, 1]
        pr = np.empty_like(zr)
        pi = np.empty_like(zi)
        pr[0], pi[0] = self._last.real, self._last.imag
        pr[1:], pi[1:] = zr[:-1], zi[:-1]
        self._last = complex(float(zr[-1]), float(zi[-1]))
        a = zr * pr + zi * pi  # z conj(prev) = a + jb
        b = zi * pr - zr * pi
        # Turned back by 45 degrees, (a + b) + j (b - a): its quadrant is the step's.
        quad = np.signbit(a + b).view(np.uint8) << 1
        quad |= np.signbit(b - a).view(np.uint8)
        quad[(a == 0) & (b == 0)] = 1  # no step (a zero symbol: an erasure, the start): step 0
        seq = np.concatenate((self._tail, self._dibit[quad]))
        found = 0
        if seq.size >= self._symbols:
            w, span = seq, 1
            while span < self._symbols:  # w[k]: dibits k .. k + 2 span - 1, the first on top
                w = (w[:-span] << np.uint64(2 * span)) | w[span:]
                span *= 2
            wrong = np.bitwise_count(w ^ self._word)
            strong = (wrong <= _V2_MAX_ERRORS) | (wrong >= 2 * self._symbols - _V2_MAX_ERRORS)
            quiet = self._quiet
            for i in np.flatnonzero(strong):
                if i >= quiet:
                    found += 1
                    quiet = int(i) + FRAME_BITS_V2 // 4
            self._quiet = max(0, quiet - w.size)
        self._tail = seq[max(seq.size - (self._symbols - 1), 0):].copy()
        self.hits += found
        return found
