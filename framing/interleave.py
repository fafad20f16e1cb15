"""Byte interleaver across Reed-Solomon codewords of possibly different lengths.

A frame carries several codewords (a short header codeword and a few body codewords). On
air their bytes go column by column: byte 0 of every codeword, then byte 1 of every codeword
that is that long, and so on. A burst of B consecutive bytes on air therefore touches each
codeword in at most ceil(B / c) bytes, where c is the number of codewords still present in
that column (all of them while the shortest codeword lasts).

Example (the "fm" preset): codewords of 72, 255, 255, 255, 255 bytes. A 3 ms burst at
38 kbit/s is about 114 bits = 15 bytes (16 when it straddles a byte boundary), so each body
codeword sees at most 4 bad bytes, far below its t = 32.

Invariants: ``deinterleave(interleave(x)) == x`` for every input of the right length; the
permutation depends only on the codeword lengths; no state, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class ByteInterleaver:
    """Column-wise interleaver for codewords of the given lengths (bytes each)."""

    codeword_lengths_bytes: tuple[int, ...]
    _order: np.ndarray = field(init=False, repr=False, compare=False)
    _inverse: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        lengths = tuple(int(n) for n in self.codeword_lengths_bytes)
        if not lengths or min(lengths) < 1:
            raise ValueError("codeword_lengths_bytes must be a non-empty tuple of positive lengths")
        object.__setattr__(self, "codeword_lengths_bytes", lengths)
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        # (column, codeword) pairs in air order; index into the concatenated codewords.
        cols = np.concatenate([np.arange(n) for n in lengths])
        cw = np.concatenate([np.full(n, i) for i, n in enumerate(lengths)])
        air = np.lexsort((cw, cols))  # sort by column, then codeword
        order = (starts[cw] + cols)[air]
        inverse = np.empty_like(order)
        inverse[order] = np.arange(order.size)
        object.__setattr__(self, "_order", order)
        object.__setattr__(self, "_inverse", inverse)

    @property
    def total_bytes(self) -> int:
        return int(self._order.size)

    def interleave(self, data: np.ndarray) -> np.ndarray:
        """Concatenated codewords (uint8, shape (total,) or (n, total)) -> air order."""
        return self._checked(data)[..., self._order]

    def deinterleave(self, data: np.ndarray) -> np.ndarray:
        """Air order (uint8, shape (total,) or (n, total)) -> concatenated codewords."""
        return self._checked(data)[..., self._inverse]

    def split(self, data: np.ndarray) -> list[np.ndarray]:
        """Concatenated codewords, shape (total,) -> one array per codeword (views)."""
        bounds = np.cumsum(self.codeword_lengths_bytes)[:-1]
        return np.split(self._checked(data), bounds, axis=-1)

    def _checked(self, data: np.ndarray) -> np.ndarray:
        arr = np.asarray(data)
        if arr.shape[-1] != self.total_bytes:
            raise ValueError(f"interleaver wants {self.total_bytes} bytes, got {arr.shape[-1]}")
        return arr
