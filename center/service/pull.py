"""Bundles for a POS that pulls over the network (``GET /v1/bundles``).

The terminal says what it holds: the list (epoch, seq) and, optionally, its root set version,
key set version and newest master key id. The answer is, in the order a terminal applies them:

1. the trust it lacks: root rotations and the key set in force (all of them when it does not
   say which it holds: a terminal takes one it has as "unchanged"), and the master-key rolls
   of the key set's range above its newest master key;
2. what takes its list to the current one, the shortest of:
   - the newest delta, when its base is at or below the terminal's list (a cumulative delta
     takes every list from its base to the newest: ``center.registry.building``);
   - the latest full list (and the newest delta after it, when that one builds on it);
   - a delta built now from the terminal's own list, when that is estimated to be under half
     of the full list and none was built for a pull in the last ``pull_build_every_s``. Its
     base is never above the latest full list, so a terminal listening on air that holds the
     full list can take it as well: building one for a pull strands nobody;
3. the latest heartbeat (signed, fresh; made at most every ``heartbeat_every_s``).

The container is ``framing.container``'s: a msgpack array of bin items, each one bundle, key
set or root set exactly as it goes on air. It is not trusted by the terminal: it verifies every
item as it verifies what it hears.

The ETag names the state an answer leaves the terminal in: the newest list (epoch, seq,
digest), the heartbeat, the key set, root set and master key. A terminal that applied all of
one answer and asks again (with the list it now holds) before anything changed, the next
heartbeat included, gets 304 Not Modified. An answer that does not reach the newest list (a
delta whose base is above the latest full one) is named by its own items instead, so it never
passes for "up to date".

Invariant: nothing is built here but the optional delta of step 2, through ``CenterHome.build``.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from center.errors import CenterInputError
from center.registry.home import CenterHome
from crypto import BundleKind, MetadataType
from framing.container import CONTENT_TYPE, encode_bundles

__all__ = ["CONTENT_TYPE", "PullAnswer", "PullAsk", "PullServer"]
LIST_KINDS = (BundleKind.FULL, BundleKind.DELTA)
# A delta carries, per card, the same coded entry as the full list plus removed IDs: count
# twice the full list's bytes per entry for each card changed, and a fixed envelope overhead.
DELTA_BYTES_PER_CHANGE_FACTOR = 2.0
ENVELOPE_BYTES = 400


@dataclass(frozen=True)
class PullAsk:
    """What the terminal holds. ``None``: not said."""

    epoch: int
    seq: int
    root: int | None = None
    keyset: int | None = None
    master: int | None = None


@dataclass(frozen=True)
class PullAnswer:
    items: tuple  # BuiltBundle / TrustRecord, in apply order
    etag: str  # quoted, as the header carries it
    built: bool  # a delta was built for this pull

    def body(self) -> bytes:
        return encode_bundles([i.sealed for i in self.items])

    def summary(self) -> list[dict]:
        return [{"kind": i.kind.name.lower(), "seq": i.seq, "bytes": len(i.sealed)}
                for i in self.items]


class PullServer:
    """Answers pulls; keeps the heartbeat it made last (shared by every worker thread)."""

    def __init__(self, heartbeat_every_s: int, build_every_s: float,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self.heartbeat_every_s = heartbeat_every_s
        self.build_every_s = build_every_s
        self._lock = threading.Lock()
        self._beat = None  # (head key, BuiltBundle)
        self._built_at: float | None = None

    def __repr__(self) -> str:
        return (f"PullServer(heartbeat_every_s={self.heartbeat_every_s}, "
                f"build_every_s={self.build_every_s})")

    def answer(self, home: CenterHome, ask: PullAsk, now: int, by: str) -> PullAnswer | None:
        """The answer, or None before a key set is in force (nothing can be verified yet)."""
        keyset = home.keyset(now)
        if keyset is None:
            return None
        carousel = home.carousel(now)
        trust = [b for b in carousel if _wanted_trust(b, ask)]
        lists, built = self._lists(home, carousel, keyset.epoch, ask, now, by)
        if built:
            carousel = home.carousel(now)
        beat = self._heartbeat(home, carousel, now)
        items = tuple(trust + lists + beat)
        return PullAnswer(items, _etag(carousel, items, ask, lists, beat), built)

    def _lists(self, home: CenterHome, carousel: list, epoch: int, ask: PullAsk, now: int,
               by: str) -> tuple[list, bool]:
        lists = [b for b in carousel if b.kind in LIST_KINDS]
        if not lists:
            return [], False
        full, newest = lists[0], lists[-1]
        same_epoch = ask.epoch == epoch and ask.seq > 0
        if ask.epoch > epoch or (same_epoch and ask.seq >= newest.seq):
            return [], False  # up to date (or ahead of this center: nothing it could take)
        if same_epoch and newest.kind is BundleKind.DELTA and newest.base <= ask.seq:
            return [newest], False
        plain = [full] + ([newest] if newest is not full and newest.base <= full.seq else [])
        if not same_epoch:
            return plain, False
        base = min(ask.seq, full.seq)
        if not self._worth_building(home, base, full, sum(len(b.sealed) for b in plain)):
            return plain, False
        try:
            built = home.build(BundleKind.DELTA, base, now=now, by=by)
        except CenterInputError:
            return plain, False  # a history the center refuses to build on: what is built
        return [built], True

    def _worth_building(self, home: CenterHome, base: int, full, plain_bytes: int) -> bool:
        with self._lock:
            if self._built_at is not None and \
                    self._monotonic() - self._built_at < self.build_every_s:
                return False
        per_change = DELTA_BYTES_PER_CHANGE_FACTOR * len(full.sealed) / max(full.entries or 0, 1)
        budget = plain_bytes / 2 - ENVELOPE_BYTES
        # Card changes since list ``base`` was built: audit rows about cards after its build
        # row (``CenterHome.build`` audits "epoch E seq S ..."; rows of the same second before
        # it are in the list already). An upper bound on the cards the delta touches.
        since = home.bundle(base, full.epoch).created_at
        mark = f"epoch {full.epoch} seq {base} "
        changes = 0
        for row in home.audit_log(since=since):
            if row[3] == "build" and row[7].startswith(mark):
                changes = 0
            elif row[4] is not None:
                changes += 1
            if changes * per_change > budget + per_change * 4096:
                return False  # far past the budget: stop reading
        if changes * per_change > budget:
            return False
        with self._lock:
            self._built_at = self._monotonic()
        return True

    def _heartbeat(self, home: CenterHome, carousel: list, now: int) -> list:
        lists = [b for b in carousel if b.kind in LIST_KINDS]
        if not lists:
            return []
        head = (lists[-1].epoch, lists[-1].seq, lists[-1].sha256)
        with self._lock:
            if self._beat is not None and self._beat[0] == head and \
                    0 <= now - self._beat[1].created_at < self.heartbeat_every_s:
                return [self._beat[1]]
        made = [b for b in home.air_extras(carousel, now, announce=False)
                if b.kind is BundleKind.HEARTBEAT]
        if not made:
            return []
        with self._lock:
            self._beat = (head, made[0])
        return made


def _wanted_trust(item, ask: PullAsk) -> bool:
    """Is ``item`` (of the carousel) trust that the terminal may lack?"""
    if item.kind is MetadataType.ROOT_SET:
        return ask.root is None or item.version > ask.root
    if item.kind is MetadataType.KEY_SET:
        return ask.keyset is None or item.version > ask.keyset
    if item.kind is BundleKind.MASTER_ROLL:
        return ask.master is None or item.announces_key > ask.master
    return False


def _etag(carousel: list, items: tuple, ask: PullAsk, lists: list, beat: list) -> str:
    """The state the answer leaves the terminal in (see the module docstring), quoted."""
    on_air = [b for b in carousel if b.kind in LIST_KINDS]
    head = on_air[-1] if on_air else None
    reaches = head is None or ((lists[-1].epoch, lists[-1].seq) >= (head.epoch, head.seq)
                               if lists else (ask.epoch, ask.seq) >= (head.epoch, head.seq))
    digest = hashlib.sha256()
    if reaches:
        state = [(int(b.kind), b.seq, hashlib.sha256(b.sealed).hexdigest())
                 for b in carousel if b.kind not in LIST_KINDS]
        state.append(None if head is None else (head.epoch, head.seq, head.sha256))
        state.append([hashlib.sha256(b.sealed).hexdigest() for b in beat])
        digest.update(repr(state).encode())
    else:
        digest.update(b"items")
        for item in items:
            digest.update(hashlib.sha256(item.sealed).digest())
    return f'"{digest.hexdigest()[:32]}"'
