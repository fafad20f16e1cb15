"""The hot list as values: entries (card ID, reason, expiry month), deltas, diff and patch.

Invariants:
- ``HotList.ids`` is uint64, strictly increasing (sorted, unique); ``reasons`` is uint8 with
  values in ``Reason``; ``expiry`` is uint16 month codes (0 = no expiry); all three are 1-D, of
  one length, read-only copies made at construction. Misuse raises ``ValueError``/``TypeError``.
- ``ListDelta.added`` holds new or changed entries, ``removed`` the IDs to drop (uint64, sorted,
  unique); the two never share an ID.
- ``patch(old, diff(old, new))`` equals ``new``. ``patch`` has set semantics: removing an ID
  that is not listed is a no-op (the receiver checks the delta's base sequence number).
- Everything is vectorised: no per-entry Python loop.

Expiry months: code = (year - 2000) * 12 + (month - 1) + 1, so January 2000 is 1 and the
largest code 65535 (uint16) is March 7461; 0 means "no expiry".
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from .universe import Universe

__all__ = [
    "HotList",
    "ListDelta",
    "Reason",
    "Universe",
    "diff",
    "month_code",
    "month_of",
    "patch",
]

_EPOCH_YEAR = 2000  # month code 1 is January 2000; uint16 codes then reach the year 7461
_MAX_MONTH_CODE = 0xFFFF  # uint16


class Reason(IntEnum):
    """Why a card is listed; CLI/JSON spell it ``Reason(x).name.lower()``."""

    STOLEN = 0
    LOST = 1
    FRAUD = 2
    OTHER = 3


def month_code(year: int, month: int) -> int:
    """Expiry code of ``year``-``month`` (1..65535); ``ValueError`` outside 2000-01 .. 7461-03."""
    if not 1 <= month <= 12:
        raise ValueError(f"month {month} is not 1..12")
    code = (year - _EPOCH_YEAR) * 12 + (month - 1) + 1
    if not 1 <= code <= _MAX_MONTH_CODE:
        raise ValueError(f"expiry {year}-{month:02d} is outside 2000-01 .. 7461-03")
    return code


def month_of(code: int) -> tuple[int, int]:
    """(year, month) of an expiry code 1..65535; ``ValueError`` for 0 (no expiry) and others."""
    if not 1 <= code <= _MAX_MONTH_CODE:
        raise ValueError(f"expiry code {code} is not 1..65535 (0 means no expiry)")
    years, month_index = divmod(code - 1, 12)
    return _EPOCH_YEAR + years, month_index + 1


def _as_array(name: str, values, dtype: type) -> np.ndarray:
    """Read-only 1-D copy of ``values`` as ``dtype``, refusing values that do not fit."""
    # Python sequences go through dtype=object: np.asarray([1, 2**64-1]) would give float64.
    arr = values if isinstance(values, np.ndarray) else np.array(values, dtype=object)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array, got shape {arr.shape}")
    info = np.iinfo(dtype)
    if arr.size == 0:
        arr = np.zeros(0, dtype=dtype)
    elif arr.dtype.kind == "O":
        if any(not isinstance(v, (int, np.integer)) or not 0 <= v <= info.max for v in arr):
            raise ValueError(f"{name}: values must be integers in 0..{info.max}")
        arr = np.array([int(v) for v in arr], dtype=dtype)
    elif arr.dtype.kind in "iu":
        if int(arr.min()) < 0 or int(arr.max()) > info.max:
            raise ValueError(f"{name}: values must be in 0..{info.max}")
    else:
        raise TypeError(f"{name}: expected integers, got dtype {arr.dtype}")
    out = arr.astype(dtype, copy=True)
    out.flags.writeable = False
    return out


def _as_id_set(name: str, values) -> np.ndarray:
    ids = _as_array(name, values, np.uint64)
    if ids.size > 1 and not bool(np.all(ids[1:] > ids[:-1])):
        raise ValueError(f"{name}: IDs must be sorted and unique")
    return ids


@dataclass(frozen=True, eq=False)
class HotList:
    """Listed cards: ``ids`` uint64 (r,), ``reasons`` uint8 (r,), ``expiry`` uint16 (r,)."""

    ids: np.ndarray
    reasons: np.ndarray
    expiry: np.ndarray

    def __post_init__(self) -> None:
        ids = _as_id_set("ids", self.ids)
        reasons = _as_array("reasons", self.reasons, np.uint8)
        expiry = _as_array("expiry", self.expiry, np.uint16)
        if not ids.size == reasons.size == expiry.size:
            raise ValueError(
                f"ids, reasons, expiry: lengths differ ({ids.size}, {reasons.size}, {expiry.size})"
            )
        if reasons.size and int(reasons.max()) > max(Reason):
            raise ValueError(f"reasons: {int(reasons.max())} is not a Reason")
        object.__setattr__(self, "ids", ids)
        object.__setattr__(self, "reasons", reasons)
        object.__setattr__(self, "expiry", expiry)

    @classmethod
    def decoded(cls, ids: np.ndarray, reasons: np.ndarray, expiry: np.ndarray) -> HotList:
        """A list from arrays a decoder made and owns (``ids`` uint64 already strictly
        increasing, ``reasons`` uint8 within ``Reason``, ``expiry`` uint16): they are kept as
        they are, made read-only, never copied (a 10 M list is 110 MB; a copy would double it).
        Dtypes and lengths are still checked."""
        for name, arr, dtype in (("ids", ids, np.uint64), ("reasons", reasons, np.uint8),
                                 ("expiry", expiry, np.uint16)):
            if not isinstance(arr, np.ndarray) or arr.dtype != dtype or arr.ndim != 1:
                raise TypeError(f"{name}: expected a 1-D {np.dtype(dtype).name} array")
        if not ids.size == reasons.size == expiry.size:
            raise ValueError(f"ids, reasons, expiry: lengths differ ({ids.size}, {reasons.size}, "
                             f"{expiry.size})")
        if reasons.size and int(reasons.max()) > max(Reason):
            raise ValueError(f"reasons: {int(reasons.max())} is not a Reason")
        hot = object.__new__(cls)
        for name, arr in (("ids", ids), ("reasons", reasons), ("expiry", expiry)):
            arr.flags.writeable = False
            object.__setattr__(hot, name, arr)
        return hot

    @classmethod
    def empty(cls) -> HotList:
        """A list with no entries."""
        return cls(np.zeros(0, np.uint64), np.zeros(0, np.uint8), np.zeros(0, np.uint16))

    def __len__(self) -> int:
        return int(self.ids.size)

    def __repr__(self) -> str:
        return f"HotList(entries={len(self)})"

    def equals(self, other: HotList) -> bool:
        """True when both lists hold the same entries."""
        return (
            np.array_equal(self.ids, other.ids)
            and np.array_equal(self.reasons, other.reasons)
            and np.array_equal(self.expiry, other.expiry)
        )

    def select(self, mask: np.ndarray) -> HotList:
        """The entries where the bool ``mask`` (shape (r,)) is true."""
        return HotList(self.ids[mask], self.reasons[mask], self.expiry[mask])


@dataclass(frozen=True, eq=False)
class ListDelta:
    """Changes against a base list: ``added`` new or changed entries, ``removed`` IDs."""

    added: HotList
    removed: np.ndarray

    def __post_init__(self) -> None:
        if not isinstance(self.added, HotList):
            raise TypeError(f"added: expected HotList, got {type(self.added).__name__}")
        removed = _as_id_set("removed", self.removed)
        if np.intersect1d(self.added.ids, removed, assume_unique=True).size:
            raise ValueError("added, removed: an ID is both added and removed")
        object.__setattr__(self, "removed", removed)

    def __repr__(self) -> str:
        return f"ListDelta(added={len(self.added)}, removed={self.removed.size})"

    def equals(self, other: ListDelta) -> bool:
        """True when both deltas hold the same changes."""
        return self.added.equals(other.added) and np.array_equal(self.removed, other.removed)


def diff(old: HotList, new: HotList) -> ListDelta:
    """The delta that turns ``old`` into ``new`` (changed entries count as added)."""
    removed = old.ids[~np.isin(old.ids, new.ids, assume_unique=True)]
    same = np.zeros(len(new), dtype=bool)
    if len(old):
        # Position of each new ID in old, to compare reason and expiry where it is present.
        pos = np.minimum(np.searchsorted(old.ids, new.ids), len(old) - 1)
        same = (
            (old.ids[pos] == new.ids)
            & (old.reasons[pos] == new.reasons)
            & (old.expiry[pos] == new.expiry)
        )
    return ListDelta(added=new.select(~same), removed=removed)


def patch(old: HotList, delta: ListDelta) -> HotList:
    """Apply ``delta`` to ``old``: drop removed and re-listed IDs, then merge in ``added``."""
    drop = np.union1d(delta.removed, delta.added.ids)
    kept = old.select(~np.isin(old.ids, drop, assume_unique=True))
    ids = np.concatenate([kept.ids, delta.added.ids])
    order = np.argsort(ids, kind="stable")
    return HotList(
        ids[order],
        np.concatenate([kept.reasons, delta.added.reasons])[order],
        np.concatenate([kept.expiry, delta.added.expiry])[order],
    )
