"""Plain values the terminal store hands out: its list state, one lookup, one apply.

Invariant: these are snapshots; holding one never holds a lock on the store.
"""

from __future__ import annotations

from dataclasses import dataclass

from crypto import BundleKind
from framing import Reason, Universe


@dataclass(frozen=True)
class ListState:
    """What list the store holds. ``seq == 0`` means no list has been applied yet."""

    seq: int
    kind: BundleKind | None
    base_seq: int
    created_at: int
    applied_at: int
    valid_until: int
    entries: int
    universe: Universe | None
    key_roll_seq: int

    def is_stale(self, now: int) -> bool:
        """No list yet, or the list's valid-until time has passed (unix seconds)."""
        return self.seq == 0 or now > self.valid_until


@dataclass(frozen=True)
class HotLookup:
    """One list lookup: the entry's reason (None: not listed) and the list it came from."""

    reason: Reason | None
    list_seq: int
    valid_until: int

    def is_stale(self, now: int) -> bool:
        return self.list_seq == 0 or now > self.valid_until


@dataclass(frozen=True)
class ApplyResult:
    """Outcome of one applied bundle. ``applied`` is False for a no-op (same seq, or a key
    roll the terminal already has); ``entries`` is the list size after the call."""

    seq: int
    kind: BundleKind
    applied: bool
    entries: int

    @property
    def kind_name(self) -> str:
        """``full``, ``delta``, ``master_roll`` or ``signer_roll`` (CLI / JSON form)."""
        return self.kind.name.lower()
