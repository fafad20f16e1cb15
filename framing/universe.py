"""The universe of card IDs a center declares at init: a union of inclusive ID ranges.

Invariants:
- ``Universe.ranges`` is canonical: sorted, every range 0 <= lo <= hi <= 2**64-1, and ranges
  neither overlap nor touch (hi_i + 1 < lo_{i+1}); construction merges overlapping or adjacent
  input ranges, so equal sets are equal ``Universe`` values with one wire form.
- ``rank`` maps the IDs of the universe one to one onto 0 .. size-1 in ID order, ``unrank`` is
  its inverse; both are vectorised (one ``searchsorted`` per call) on uint64 arrays.
- ``size`` is a Python int (the full 64-bit space has 2**64 IDs, one more than uint64 holds);
  every rank is < size <= 2**64, so ranks always fit uint64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._codec_bytes import U64_MAX

# Ranks turned into IDs at a time by ``unrank``: 2**18 x 8 bytes of index = 2 MiB of temporaries.
_UNRANK_CHUNK = 1 << 18


@dataclass(frozen=True)
class Universe:
    """Inclusive (lo, hi) ID ranges; see the module invariants."""

    ranges: tuple[tuple[int, int], ...]

    def __post_init__(self) -> None:
        if not self.ranges:
            raise ValueError("ranges: a universe needs at least one range")
        checked = []
        for item in self.ranges:
            lo, hi = (int(v) for v in item)
            if not 0 <= lo <= hi <= U64_MAX:
                raise ValueError(f"ranges: ({lo}, {hi}) is not 0 <= lo <= hi <= 2**64-1")
            checked.append((lo, hi))
        checked.sort()
        merged = [checked[0]]
        for lo, hi in checked[1:]:
            last_lo, last_hi = merged[-1]
            if lo <= last_hi + 1:
                merged[-1] = (last_lo, max(last_hi, hi))
            else:
                merged.append((lo, hi))
        object.__setattr__(self, "ranges", tuple(merged))
        starts = [0]
        for lo, hi in merged[:-1]:
            starts.append(starts[-1] + hi - lo + 1)
        # Each start is < size <= 2**64, so it fits uint64.
        object.__setattr__(self, "_los", np.array([lo for lo, _ in merged], dtype=np.uint64))
        object.__setattr__(self, "_his", np.array([hi for _, hi in merged], dtype=np.uint64))
        object.__setattr__(self, "_starts", np.array(starts, dtype=np.uint64))

    @classmethod
    def full(cls) -> Universe:
        """The whole 64-bit ID space, 0 .. 2**64-1 (the default at center init)."""
        return cls(((0, U64_MAX),))

    @classmethod
    def parse(cls, text: str) -> Universe:
        """Parse ``"LO-HI[,LO-HI...]"`` (decimal, inclusive); ``ValueError`` names a bad part."""
        parts = [part.strip() for part in text.split(",")]
        ranges = []
        for part in parts:
            lo_text, sep, hi_text = part.partition("-")
            if not sep or not lo_text.strip().isdigit() or not hi_text.strip().isdigit():
                raise ValueError(f"universe range {part!r} is not LO-HI with decimal LO and HI")
            lo, hi = int(lo_text), int(hi_text)
            if not lo <= hi <= U64_MAX:
                raise ValueError(f"universe range {part!r} needs LO <= HI <= 2**64-1")
            ranges.append((lo, hi))
        return cls(tuple(ranges))

    def __str__(self) -> str:
        return ",".join(f"{lo}-{hi}" for lo, hi in self.ranges)

    @property
    def size(self) -> int:
        """Number of IDs in the universe (up to 2**64)."""
        return sum(hi - lo + 1 for lo, hi in self.ranges)

    def _is_full(self) -> bool:
        return self.ranges == ((0, U64_MAX),)

    def _range_index(self, ids: np.ndarray) -> np.ndarray:
        return np.searchsorted(self._los, ids, side="right").astype(np.int64) - 1

    def contains(self, ids: np.ndarray) -> np.ndarray:
        """Bool array, shape of ``ids``: which uint64 IDs lie in the universe."""
        ids = np.asarray(ids, dtype=np.uint64)
        idx = self._range_index(ids)
        inside = idx >= 0
        return inside & (ids <= self._his[np.maximum(idx, 0)])

    def rank(self, ids: np.ndarray) -> np.ndarray:
        """uint64 ranks (0 .. size-1) of uint64 ``ids``; ``ValueError`` if any is outside."""
        ids = np.asarray(ids, dtype=np.uint64)
        if self._is_full():
            return ids.copy()
        idx = self._range_index(ids)
        safe = np.maximum(idx, 0)
        if not bool(np.all((idx >= 0) & (ids <= self._his[safe]))):
            bad = ids[~self.contains(ids)][0]
            raise ValueError(f"card ID {int(bad)} is outside the universe {self}")
        return self._starts[safe] + (ids - self._los[safe])

    def unrank(self, ranks: np.ndarray, *, in_place: bool = False) -> np.ndarray:
        """uint64 IDs of uint64 ``ranks``; ``ValueError`` if any rank is >= size.

        ``in_place`` overwrites ``ranks`` with the IDs (a decoder's own array: no second copy
        of a list of millions), working through it in chunks of ``_UNRANK_CHUNK``.
        """
        ranks = np.asarray(ranks, dtype=np.uint64)
        if ranks.size and int(ranks.max()) >= self.size:
            raise ValueError(f"rank {int(ranks.max())} is outside the universe of size {self.size}")
        out = ranks if in_place else ranks.copy()
        if self._is_full():
            return out
        for start in range(0, out.size, _UNRANK_CHUNK):
            part = out[start:start + _UNRANK_CHUNK]
            idx = np.searchsorted(self._starts, part, side="right").astype(np.int64) - 1
            part -= self._starts[idx]
            part += self._los[idx]
        return out
