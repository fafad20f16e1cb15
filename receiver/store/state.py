"""Plain values the terminal store hands out: its list state, one lookup, one apply.

Invariant: these are snapshots; holding one never holds a lock on the store.
"""

from __future__ import annotations

from dataclasses import dataclass

from framing import Reason, Universe

# Default capacity of a terminal (entries): 20 M, twice Mozilla's 11.7 M revoked certificates,
# 220 MB of list in memory while a full list is decoded and ~340 MB of store on disk.
DEFAULT_CAPACITY = 20_000_000
# A terminal that has heard heartbeats and then hears none for this long says it is stale (the
# channel went quiet, or an attacker replays an old carousel). One hour: 60 heartbeats at the
# default interval of 60 s.
DEFAULT_HEARTBEAT_MAX_AGE_S = 3600
# Hearing only bundles older than the store's, for this long, means the terminal no longer
# follows the center (a replayed channel): ten minutes of a 60 s heartbeat or a few cycles.
NOT_FOLLOWING_AFTER_S = 600


@dataclass(frozen=True)
class ListState:
    """What list the store holds (``seq == 0``: none yet) and what it knows of the center."""

    epoch: int
    seq: int
    digest: bytes  # crypto.bundle_digest of the list bundle last applied
    kind: int  # BundleKind value of that bundle, 0 before the first
    base_seq: int
    created_at: int
    applied_at: int
    valid_until: int
    entries: int
    universe: Universe | None
    capacity: int
    keyset_epoch: int  # the epoch of the key set held
    heartbeat_epoch: int
    heartbeat_seq: int
    heartbeat_digest: bytes
    heartbeat_created_at: int  # 0: no heartbeat ever heard
    heartbeat_max_age_s: int
    current_heard_at: int  # last time a bundle as new as the store's (or newer) was heard
    older_heard_at: int  # last time only an older one was

    def stale_why(self, now: int) -> str | None:
        """Why the list cannot be trusted to be current at ``now``, or None when it can."""
        if self.seq == 0:
            return "no list yet"
        if now > self.valid_until:
            return f"the list expired at {self.valid_until}"
        if self.keyset_epoch > self.epoch:
            return (f"the key set started epoch {self.keyset_epoch}; the list held is of epoch "
                    f"{self.epoch}: waiting for a full list of the new epoch")
        if (self.heartbeat_epoch, self.heartbeat_seq) > (self.epoch, self.seq):
            return (f"the center's heartbeat says list seq {self.heartbeat_seq} (epoch "
                    f"{self.heartbeat_epoch}) is current; this one is seq {self.seq}")
        if self.heartbeat_created_at and now - self.heartbeat_created_at > self.heartbeat_max_age_s:
            return (f"no heartbeat for {now - self.heartbeat_created_at} s (the channel went "
                    "quiet, or what is heard is a replay)")
        return None

    def is_stale(self, now: int) -> bool:
        return self.stale_why(now) is not None

    def following(self, now: int) -> bool:
        """False when, for ``NOT_FOLLOWING_AFTER_S``, only bundles older than the store's were
        heard: this terminal no longer follows the center."""
        return not (self.older_heard_at > self.current_heard_at + NOT_FOLLOWING_AFTER_S)


@dataclass(frozen=True)
class HotLookup:
    """One list lookup: the entry's reason (None: not listed), the list it came from, and
    whether that list is stale (and why)."""

    reason: Reason | None
    list_seq: int
    stale_why: str | None

    @property
    def stale(self) -> bool:
        return self.stale_why is not None


@dataclass(frozen=True)
class ApplyResult:
    """Outcome of one bundle. ``applied`` is False for a no-op (a list, key set or roll the
    terminal already has); ``entries`` is the list size after the call; ``kind`` is a
    ``crypto.BundleKind`` or ``crypto.MetadataType``."""

    seq: int
    kind: object
    applied: bool
    entries: int
