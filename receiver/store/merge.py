"""The terminal side of the receive pipeline: completed bundles -> the store, as events.

``BundleMerger.process(events, now)`` passes every event of ``ReceivePipeline`` through,
except ``BundleReceived``, which it replaces by what the store made of the bundle:

- ``BundleApplied``: merged (``held`` when it had waited for something heard later);
- ``BundleUnchanged``: the store already holds it (carousel repeats are normal): reported
  once per kind and number (a key set v1 and a list seq 1 are different things), never again;
  a verified carousel announcement (kept by no store) gives no event at all;
- ``BundleSuperseded``: a genuine bundle (its signature verified) older than the store's
  list, such as the full bundle that goes round again after its delta was applied: refused
  as a rollback, but normal on a carousel, so reported once per sequence number and not
  counted as a rejection;
- ``BundleHeld``: a genuine bundle refused only for want of something that may come later (a
  delta whose base is not held yet, a bundle under a key that a roll still on air announces);
  it is kept and tried again after every bundle that does apply, so a terminal that tunes in
  after the full bundle went by takes its deltas as soon as the full one comes round again;
- ``BundleRejected``: failed verification (forged, corrupt, unknown key) or refused for good
  (rollback, expired, bad body); reported once per distinct bundle (by SHA-256), however
  often the carousel repeats it.

Invariants: the store changes only through ``TerminalStore.apply_bundle``, which verifies
before it writes and refuses atomically; memory is bounded (``max_waiting`` bundles of at
most ``max_waiting_bytes`` in total, ``memory`` remembered sequence numbers and digests);
time comes in as ``now``.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import OrderedDict

from crypto import (
    BundleError,
    BundleKind,
    CryptoError,
    RootGapError,
    RootVersionError,
    UnknownMasterKeyError,
    UnknownSigningKeyError,
    read_unverified_header,
)
from receiver.events import (
    ForkDetected,
    NotFollowing,
    BundleApplied,
    BundleHeld,
    BundleReceived,
    BundleRejected,
    BundleSuperseded,
    BundleUnchanged,
    Event,
    Position,
    Summary,
)

from receiver.errors import (
    BundleRefusedError,
    DeltaBaseError,
    EpochAheadError,
    ForkError,
    RollbackError,
)
from receiver.store.store import TerminalStore

__all__ = ["BundleMerger"]

# Refusals that a later item of the same carousel can cure: the full list a delta needs, the
# key set or master roll that names a key, the root rotation a key set or later root needs.
_RETRYABLE = (DeltaBaseError, EpochAheadError, UnknownMasterKeyError, UnknownSigningKeyError,
              RootGapError, RootVersionError)
_REFUSED = (CryptoError, BundleRefusedError)


class BundleMerger:
    """Pipeline events in, store applied, terminal events out. One per store and stream."""

    def __init__(self, store: TerminalStore, *, max_waiting: int = 8,
                 max_waiting_bytes: int = 16 * 2**20, memory: int = 256) -> None:
        if max_waiting < 0 or max_waiting_bytes < 0 or memory < 1:
            raise ValueError("max_waiting and max_waiting_bytes must be >= 0, memory >= 1")
        self._store = store
        self._max_waiting = max_waiting
        self._max_waiting_bytes = max_waiting_bytes
        self._memory = memory
        self._waiting: OrderedDict[str, bytes] = OrderedDict()  # sha256 -> bundle
        self._unchanged: OrderedDict[tuple[object, int], None] = OrderedDict()  # (kind, seq)
        self._rejected: OrderedDict[str, None] = OrderedDict()
        self._superseded_seqs: OrderedDict[int, None] = OrderedDict()
        self._held_reported: OrderedDict[str, None] = OrderedDict()
        self._quality: dict = {}  # of the bundle being merged
        self._not_following_reported = False
        self.held = 0
        self.applied = 0
        self.rejected = 0
        self.unchanged = 0
        self.superseded = 0

    def __repr__(self) -> str:
        return f"BundleMerger({self._store!r}, waiting={len(self._waiting)})"

    def process(self, events: list[Event], now: int) -> list[Event]:
        out: list[Event] = []
        for event in events:
            if isinstance(event, BundleReceived):
                self._quality = {"snr_db": event.snr_db, "freq_offset_hz": event.freq_offset_hz,
                                 "ber": event.ber}
                out += self._merge(event.data, event.at, now)
            elif isinstance(event, Summary):
                out.append(dataclasses.replace(
                    event, bundles_applied=self.applied, bundles_rejected=self.rejected,
                    bundles_unchanged=self.unchanged, bundles_superseded=self.superseded,
                    bundles_held=self.held))
            else:
                out.append(event)
        return out

    def _merge(self, data: bytes, at: Position, now: int) -> list[Event]:
        digest = hashlib.sha256(data).hexdigest()
        try:
            result = self._store.apply_bundle(data, now)
        except RollbackError as exc:
            return self._superseded(exc, at, now)
        except _RETRYABLE as exc:
            return self._hold(digest, data, exc, at)
        except ForkError as exc:
            return self._fork(digest, data, exc, at)
        except _REFUSED as exc:
            return self._reject(digest, data, exc, at)
        self._waiting.pop(digest, None)
        if result.kind in _LIST_KINDS or result.kind is BundleKind.HEARTBEAT:
            self._store.note_heard(True, now)
        if not result.applied:
            if result.kind is BundleKind.ANNOUNCE:
                # Verified carousel metadata, never kept by the store (the reassembler uses it;
                # ``heard_on_air`` reports it): not a bundle "unchanged".
                return []
            if (result.kind, result.seq) in self._unchanged:
                return []
            self._remember(self._unchanged, (result.kind, result.seq))
            self.unchanged += 1
            return [BundleUnchanged(at=at, seq=result.seq, kind=result.kind,
                                    entries=result.entries)]
        self.applied += 1
        out: list[Event] = [BundleApplied(at=at, seq=result.seq, kind=result.kind,
                                          entries=result.entries, **self._quality)]
        return out + self._retry_waiting(at, now)

    def _superseded(self, exc: RollbackError, at: Position, now: int) -> list[Event]:
        self._store.note_heard(False, now)
        out = self._check_following(at, now)
        if exc.bundle_seq in self._superseded_seqs:
            return out
        self._remember(self._superseded_seqs, exc.bundle_seq)
        self.superseded += 1
        return [BundleSuperseded(at=at, seq=exc.bundle_seq, list_seq=exc.store_seq)] + out

    def _check_following(self, at: Position, now: int) -> list[Event]:
        """One ``NotFollowing`` when the store says it stopped following the center."""
        state = self._store.state()
        if state.following(now):
            self._not_following_reported = False
            return []
        if self._not_following_reported:
            return []
        self._not_following_reported = True
        return [NotFollowing(at=at, list_seq=state.seq, heard_newest_seq=None,
                             seconds=float(state.older_heard_at - state.current_heard_at),
                             why="only bundles older than the list held were heard: a replayed "
                                 "or frozen channel, or a center whose history went back")]

    def _fork(self, digest: str, data: bytes, exc: ForkError, at: Position) -> list[Event]:
        if digest in self._rejected:
            return []
        self._remember(self._rejected, digest)
        self.rejected += 1
        return [ForkDetected(at=at, epoch=exc.epoch, seq=exc.seq, why=str(exc))]

    def _retry_waiting(self, at: Position, now: int) -> list[Event]:
        """Try the held bundles again until none applies; each applied one is an event."""
        out: list[Event] = []
        progress = True
        while progress and self._waiting:
            progress = False
            for digest, data in list(self._waiting.items()):
                try:
                    result = self._store.apply_bundle(data, now)
                except _RETRYABLE:
                    continue
                except RollbackError:
                    del self._waiting[digest]  # overtaken by what did apply: nothing to say
                    continue
                except ForkError as exc:  # its chain does not meet the list that came
                    del self._waiting[digest]
                    out += self._fork(digest, data, exc, at)
                    continue
                except _REFUSED as exc:
                    del self._waiting[digest]
                    self._rejected.pop(digest, None)  # a new reason: report it
                    out += self._reject(digest, data, exc, at)
                    continue
                del self._waiting[digest]
                if result.applied:
                    self.applied += 1
                    progress = True
                    out.append(BundleApplied(at=at, seq=result.seq, kind=result.kind,
                                             entries=result.entries, held=True,
                                             **self._quality))
        return out

    def _hold(self, digest: str, data: bytes, exc: Exception, at: Position) -> list[Event]:
        """Keep a bundle that something later may cure; one ``BundleHeld`` per bundle."""
        if digest in self._waiting or len(data) > self._max_waiting_bytes:
            return []
        self._waiting[digest] = data
        while self._waiting and (
                len(self._waiting) > self._max_waiting
                or sum(map(len, self._waiting.values())) > self._max_waiting_bytes):
            self._waiting.popitem(last=False)
        if digest in self._held_reported:
            return []
        self._remember(self._held_reported, digest)
        self.held += 1
        header = _claimed(data)
        return [BundleHeld(at=at, seq=None if header is None else header.seq,
                           kind=None if header is None else header.kind,
                           why=f"{type(exc).__name__}: {exc}")]

    def _reject(self, digest: str, data: bytes, exc: Exception, at: Position) -> list[Event]:
        if digest in self._rejected:
            return []
        self._remember(self._rejected, digest)
        self.rejected += 1
        header = _claimed(data)
        return [BundleRejected(at=at, why=f"{type(exc).__name__}: {exc}",
                               claimed_seq=None if header is None else header.seq,
                               sha256=digest)]

    def _remember(self, table: OrderedDict, key: object) -> None:
        table[key] = None
        while len(table) > self._memory:
            table.popitem(last=False)


_LIST_KINDS = (BundleKind.FULL, BundleKind.DELTA)


def _claimed(data: bytes):
    """The bundle's header as it claims to be (unverified; for reports only), or None."""
    try:
        return read_unverified_header(data)
    except BundleError:
        return None
