"""The terminal side of the receive pipeline: completed bundles -> the store, as events.

``BundleMerger.process(events, now)`` passes every event of ``ReceivePipeline`` through,
except ``bundle_received``, which it replaces by what the store made of the bundle:

- ``bundle_applied``   ``{"seq", "kind", "entries", ...quality and position}``
- ``bundle_unchanged`` the store already holds it (carousel repeats are normal): reported
  once per sequence number, never again;
- ``bundle_superseded`` a genuine bundle (its signature verified) older than the store's
  list, such as the full bundle that goes round again after its delta was applied: refused
  as a rollback, but normal on a carousel, so reported once per sequence number and not
  counted as a rejection;
- ``bundle_rejected``  ``{"why": "<ErrorType>: <message>", "claimed_seq": N | None}``: failed
  verification (forged, corrupt, unknown key) or refused (rollback, expired, bad body);
  reported once per distinct bundle (by SHA-256), however often the carousel repeats it.

A bundle refused only for want of something that may come later (a delta whose base is
not held yet, a bundle sealed or signed with a key that a roll still on air announces)
is kept, with ``"retry": true`` in its rejection, and tried again after every bundle that
does apply, so a terminal that tunes in after the full bundle went by takes its deltas as
soon as the full one comes round again.

Invariants: the store changes only through ``TerminalStore.apply_bundle``, which verifies
before it writes and refuses atomically; memory is bounded (``max_waiting`` bundles of at
most ``max_waiting_bytes`` in total, ``memory`` remembered sequence numbers and digests);
time comes in as ``now``.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

from crypto import BundleError, UnknownMasterKeyError, UnknownSigningKeyError
from crypto import read_unverified_header

from .errors import BundleRefusedError, DeltaBaseError, RollbackError
from .store import TerminalStore

__all__ = ["BundleMerger"]

# Refusals that a later bundle on the same carousel can cure.
_RETRYABLE = (DeltaBaseError, UnknownMasterKeyError, UnknownSigningKeyError)


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
        self._unchanged_seqs: OrderedDict[int, None] = OrderedDict()
        self._rejected: OrderedDict[str, None] = OrderedDict()
        self._superseded_seqs: OrderedDict[int, None] = OrderedDict()
        self.applied = 0
        self.rejected = 0
        self.unchanged = 0
        self.superseded = 0

    def __repr__(self) -> str:
        return f"BundleMerger({self._store!r}, waiting={len(self._waiting)})"

    def process(self, events: list[dict], now: int) -> list[dict]:
        out: list[dict] = []
        for event in events:
            kind = event.get("event")
            if kind == "bundle_received":
                rest = {k: v for k, v in event.items() if k not in ("event", "data")}
                out += self._merge(event["data"], rest, now)
            elif kind == "summary":
                out.append(self._summary(event))
            else:
                out.append(event)
        return out

    def _summary(self, event: dict) -> dict:
        head = {k: event[k] for k in ("event", "frames_ok", "frames_bad")}
        rest = {k: v for k, v in event.items() if k not in head}
        return {**head, "bundles_applied": self.applied, **rest,
                "bundles_rejected": self.rejected, "bundles_unchanged": self.unchanged,
                "bundles_superseded": self.superseded}

    def _merge(self, data: bytes, where: dict, now: int) -> list[dict]:
        digest = hashlib.sha256(data).hexdigest()
        try:
            result = self._store.apply_bundle(data, now)
        except RollbackError as exc:
            return self._superseded(exc, where)
        except (BundleError, BundleRefusedError) as exc:
            retry = isinstance(exc, _RETRYABLE)
            if retry:
                self._hold(digest, data)
            return self._reject(digest, data, exc, where, retry)
        self._waiting.pop(digest, None)
        if not result.applied:
            if result.seq in self._unchanged_seqs:
                return []
            self._remember(self._unchanged_seqs, result.seq)
            self.unchanged += 1
            return [{"event": "bundle_unchanged", "seq": result.seq, "kind": result.kind_name,
                     "entries": result.entries, **where}]
        self.applied += 1
        out = [{"event": "bundle_applied", "seq": result.seq, "kind": result.kind_name,
                "entries": result.entries, **where}]
        return out + self._retry_waiting(where, now)

    def _superseded(self, exc: RollbackError, where: dict) -> list[dict]:
        if exc.bundle_seq in self._superseded_seqs:
            return []
        self._remember(self._superseded_seqs, exc.bundle_seq)
        self.superseded += 1
        return [{"event": "bundle_superseded", "seq": exc.bundle_seq,
                 "list_seq": exc.store_seq, **where}]

    def _retry_waiting(self, where: dict, now: int) -> list[dict]:
        """Try the held bundles again until none applies; each applied one is an event."""
        out: list[dict] = []
        progress = True
        while progress and self._waiting:
            progress = False
            for digest, data in list(self._waiting.items()):
                try:
                    result = self._store.apply_bundle(data, now)
                except _RETRYABLE:
                    continue
                except (BundleError, BundleRefusedError) as exc:
                    del self._waiting[digest]
                    self._rejected.pop(digest, None)  # a new reason: report it
                    out += self._reject(digest, data, exc, where, False)
                    continue
                del self._waiting[digest]
                if result.applied:
                    self.applied += 1
                    progress = True
                    out.append({"event": "bundle_applied", "seq": result.seq,
                                "kind": result.kind_name, "entries": result.entries,
                                "held": True, **where})
        return out

    def _hold(self, digest: str, data: bytes) -> None:
        if digest in self._waiting or len(data) > self._max_waiting_bytes:
            return
        self._waiting[digest] = data
        while self._waiting and (
                len(self._waiting) > self._max_waiting
                or sum(map(len, self._waiting.values())) > self._max_waiting_bytes):
            self._waiting.popitem(last=False)

    def _reject(self, digest: str, data: bytes, exc: Exception, where: dict,
                retry: bool) -> list[dict]:
        if digest in self._rejected:
            return []
        self._remember(self._rejected, digest)
        self.rejected += 1
        try:
            claimed = read_unverified_header(data).seq
        except BundleError:
            claimed = None
        return [{"event": "bundle_rejected", "why": f"{type(exc).__name__}: {exc}",
                 "claimed_seq": claimed, "sha256": digest, "retry": retry, **where}]

    def _remember(self, table: OrderedDict, key: object) -> None:
        table[key] = None
        while len(table) > self._memory:
            table.popitem(last=False)
