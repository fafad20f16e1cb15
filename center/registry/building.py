"""Building what goes on air from the registry: full lists, deltas any terminal can apply,
master-key rolls, heartbeats and announcements; and the carousel set.

Lists (the hash chain):
* A list bundle is named by (epoch, seq): the epoch is the current key set's; within it list
  sequence numbers count 1, 2, 3 ... with no gap, and each list's header names the digest of the
  list before it (``prev_digest``; zeros for the first list of an epoch, which must be full).
  A terminal that sees two lists for one (epoch, seq), or a chain that does not meet its own,
  knows the center's history forked.
* A delta is *cumulative*: built from base B up to the new list T, it holds the final entry of
  every card touched by any list in (B, T] and removes the touched cards T no longer lists. A
  terminal holding any list S of the epoch with B <= S < T applies it and lands exactly on T,
  whatever was revoked and reinstated in between: no base an operator picks strands anyone.
  Its cost over the plain diff(B, T) is only the cards that changed and changed back (measured
  on a realistic history in tests/center/test_building.py: within 10 %). Each list bundle keeps
  the ids it touched (``touched``) and the encoded list (``list_body``) for that.
* Headers come from the sealed bytes themselves (``read_unverified_header`` of what we just
  sealed), so the history cannot disagree with what went on air.
* Entries past their expiry month (expiry code below the code of ``now``'s UTC month) are left
  out of what is built: a card past its printed expiry cannot pay anyway.

Keys: a master-key roll is named by the key id it announces; it stays on air while that id is in
the key set's range (a terminal provisioned with an older master key needs every roll since).
Heartbeats and announcements are made fresh for the air and never recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import IntEnum

import numpy as np

from center.errors import CenterInputError, UnknownSeqError
from center.registry.db import Registry
from center.registry.inputs import month_code_at
from crypto import (
    NO_DIGEST,
    BundleHeader,
    BundleKind,
    CenterKeys,
    KeySet,
    MetadataType,
    bundle_digest,
    read_unverified_header,
    roll_master_key,
    seal_bundle,
)
from framing import (
    AnnouncedBundle,
    HotList,
    ListDelta,
    Universe,
    decode_list,
    diff,
    encode_announcement,
    encode_delta,
    encode_list,
)
from framing import bundle_digest as frame_digest

DEFAULT_VALID_S = 24 * 3600  # 86 400 s: a list is fresh for one day unless told otherwise
# Rolls stay on air while their key id is in the key set's range, and a terminal accepts a
# genuine roll at any age (replaying one changes nothing); the validity is informational.
DEFAULT_ROLL_VALID_S = 366 * 86_400
HEARTBEAT_VALID_S = 3600  # a heartbeat older than an hour says nothing about "now"
ANNOUNCE_VALID_S = 24 * 3600
LIST_KINDS = (BundleKind.FULL, BundleKind.DELTA)
_LIST_NAMES = ("full", "delta")


class HistoryError(CenterInputError):
    """Building would fork the center's published history (a registry restored from a backup
    that predates what was published), or a list is asked for that the history cannot give."""


@dataclass(frozen=True, eq=False)
class BuiltBundle:
    """A sealed bundle and its history facts. ``sealed`` is the wire bytes."""

    kind: BundleKind
    epoch: int
    seq: int
    base: int
    prev: bytes  # the header's prev_digest
    created_at: int
    valid_until: int
    digest: bytes  # crypto.bundle_digest(sealed): what the next list names
    sealed: bytes
    entries: int | None = None  # list size after this bundle (list bundles)
    added: int | None = None  # delta only, when just built
    removed: int | None = None
    announces_key: int | None = None  # master roll: the new key id

    def __repr__(self) -> str:
        return (f"BuiltBundle({self.kind.name}, epoch={self.epoch}, seq={self.seq}, "
                f"base={self.base}, bytes={len(self.sealed)}, entries={self.entries})")

    @property
    def sha256(self) -> str:
        return self.digest.hex()

    def summary(self) -> dict:
        """The JSON line ``center build`` prints."""
        out = {"kind": self.kind.name.lower(), "epoch": self.epoch, "seq": self.seq,
               "base": self.base, "bytes": len(self.sealed), "entries": self.entries}
        if self.added is not None:
            out.update(added=self.added, removed=self.removed)
        if self.announces_key is not None:
            out["announces_key"] = self.announces_key
        out.update(sha256=self.sha256, prev=self.prev.hex(), created_at=self.created_at,
                   valid_until=self.valid_until)
        return out


@dataclass(frozen=True, eq=False)
class TrustRecord:
    """A root set or key set as the root signed it, on air like a bundle (stream = its
    metadata type; ``seq`` = its version)."""

    kind: IntEnum  # crypto.MetadataType
    version: int
    sealed: bytes
    created_at: int
    valid_until: int

    @property
    def seq(self) -> int:
        return self.version

    def summary(self) -> dict:
        return {"kind": self.kind.name.lower(), "version": self.version,
                "bytes": len(self.sealed), "created_at": self.created_at,
                "valid_until": self.valid_until}


def check_valid_for(valid_for_s: int) -> None:
    if not isinstance(valid_for_s, int) or valid_for_s <= 0:
        raise ValueError(f"valid_for_s must be a positive number of seconds, got {valid_for_s!r}")


def full_of(n: int, value: int) -> np.ndarray:
    return np.full(n, value, dtype=np.uint8)


def current_list(reg: Registry, now: int) -> HotList:
    """The registry's list at ``now``, leaving out entries past their expiry month."""
    hot = reg.hot_list()
    live = (hot.expiry == 0) | (hot.expiry >= month_code_at(now))
    return hot if bool(live.all()) else hot.select(live)


def _ids_blob(ids: np.ndarray) -> bytes:
    return np.asarray(ids, dtype="<u8").tobytes()


def _ids_of(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype="<u8").astype(np.uint64)


def _from_row(row: dict) -> BuiltBundle:
    return BuiltBundle(
        kind=BundleKind[row["kind"].upper()], epoch=row["epoch"], seq=row["seq"],
        base=row["base"], prev=bytes.fromhex(row["prev"]), created_at=row["created_at"],
        valid_until=row["valid_until"], digest=bytes.fromhex(row["sha256"]),
        sealed=bytes(row["sealed"]), entries=row["entries"], announces_key=row["announces_key"])


def load_list(reg: Registry, epoch: int, seq: int) -> BuiltBundle:
    row = reg.list_bundle(epoch, seq)
    if row is None:
        raise UnknownSeqError(f"no list bundle with seq {seq} was built in epoch {epoch}")
    return _from_row(row)


def latest_list(reg: Registry, epoch: int | None = None) -> BuiltBundle | None:
    row = reg.latest_list(epoch)
    return None if row is None else load_list(reg, row["epoch"], row["seq"])


def build_list(reg: Registry, keys: CenterKeys, keyset: KeySet, universe: Universe,
               kind: BundleKind, base_seq: int | None, now: int,
               valid_for_s: int) -> BuiltBundle:
    """Seal and record the next list of the key set's epoch: full, or a cumulative delta from
    ``base_seq`` (None: the epoch's latest full list). Call inside a transaction."""
    check_valid_for(valid_for_s)
    if kind not in LIST_KINDS:
        raise ValueError(f"kind must be BundleKind.FULL or DELTA, got {kind!r}")
    epoch = keyset.epoch
    last = reg.latest_list(epoch)
    hot = current_list(reg, now)
    list_body = encode_list(hot, universe)
    if last is None:
        if kind is BundleKind.DELTA:
            raise HistoryError(f"epoch {epoch} has no list yet: its first list must be a full "
                               "one (hotcast center build --full)")
        seq, prev, touched = 1, NO_DIGEST, hot.ids
    else:
        seq, prev = last["seq"] + 1, bytes.fromhex(last["sha256"])
        _, before = decode_list(reg.list_bundle(epoch, last["seq"])["list_body"])
        change = diff(before, hot)
        touched = np.union1d(change.added.ids, change.removed)
    added = removed = None
    if kind is BundleKind.FULL:
        body, base = list_body, 0
    else:
        base = _delta_base(reg, epoch, base_seq)
        delta = cumulative_delta(reg, epoch, base, last["seq"], touched, hot)
        body = encode_delta(delta, universe)
        added, removed = len(delta.added), int(delta.removed.size)
    header = BundleHeader(kind=kind, epoch=epoch, seq=seq, base_seq=base, created_at=now,
                          valid_until=now + valid_for_s, master_key_id=keys.current_master_id,
                          signing_key_id=keys.signing_key_id, prev_digest=prev)
    sealed = seal_bundle(header, body, keys)
    built = _record(reg, sealed, entries=len(hot), list_body=list_body,
                    touched=_ids_blob(touched))
    return replace(built, added=added, removed=removed)


def _delta_base(reg: Registry, epoch: int, base_seq: int | None) -> int:
    if base_seq is None:
        full = reg.latest_list(epoch, "full")
        assert full is not None  # the epoch's first list is full
        return full["seq"]
    row = reg.list_bundle(epoch, base_seq)
    if row is None:
        raise UnknownSeqError(f"cannot build a delta from seq {base_seq}: epoch {epoch} has no "
                              "list with that seq")
    return int(base_seq)


def cumulative_delta(reg: Registry, epoch: int, base: int, last: int, touched_now: np.ndarray,
                     hot: HotList) -> ListDelta:
    """The delta that takes every list of ``epoch`` in [base, last] (and the one being built,
    whose own changes are ``touched_now``) to ``hot``: every card touched after ``base``, with
    its entry in ``hot`` or removed."""
    touched = touched_now
    for blob in reg.touched_after(epoch, base, last):
        touched = np.union1d(touched, _ids_of(blob))
    listed = np.isin(hot.ids, touched, assume_unique=True)
    gone = touched[~np.isin(touched, hot.ids, assume_unique=True)]
    return ListDelta(added=hot.select(listed), removed=gone)


def roll_master(reg: Registry, keys: CenterKeys, keyset: KeySet, now: int,
                valid_for_s: int) -> tuple[CenterKeys, BuiltBundle]:
    """Roll the master key inside the key set's range; the new keys and the recorded roll."""
    check_valid_for(valid_for_s)
    new_id = max(m.key_id for m in keys.master_keys) + 1
    new_keys, sealed = roll_master_key(keys, keyset, seq=new_id, created_at=now,
                                       valid_until=now + valid_for_s)
    return new_keys, _record(reg, sealed, announces_key=new_keys.current_master_id)


def heartbeat(reg: Registry, keys: CenterKeys, keyset: KeySet, now: int,
              valid_for_s: int = HEARTBEAT_VALID_S) -> BuiltBundle | None:
    """A fresh signed HEARTBEAT stating the current list head (TUF's timestamp role), or None
    before the epoch's first list."""
    head = reg.latest_list(keyset.epoch)
    if head is None:
        return None
    header = BundleHeader(kind=BundleKind.HEARTBEAT, epoch=keyset.epoch, seq=head["seq"],
                          base_seq=0, created_at=now, valid_until=now + valid_for_s,
                          master_key_id=0, signing_key_id=keys.signing_key_id,
                          prev_digest=bytes.fromhex(head["sha256"]))
    sealed = seal_bundle(header, b"", keys)
    return BuiltBundle(BundleKind.HEARTBEAT, keyset.epoch, head["seq"], 0, header.prev_digest,
                       now, now + valid_for_s, bundle_digest(sealed), sealed)


def announcement(items: list, keys: CenterKeys, keyset: KeySet, seq: int, now: int,
                 valid_for_s: int = ANNOUNCE_VALID_S) -> BuiltBundle:
    """A signed ANNOUNCE naming ``items`` (what else is on air) as their frames name them."""
    entries = [AnnouncedBundle(int(b.kind), b.seq, frame_digest(b.sealed), len(b.sealed))
               for b in items]
    header = BundleHeader(kind=BundleKind.ANNOUNCE, epoch=keyset.epoch, seq=seq, base_seq=0,
                          created_at=now, valid_until=now + valid_for_s, master_key_id=0,
                          signing_key_id=keys.signing_key_id)
    sealed = seal_bundle(header, encode_announcement(entries), keys)
    return BuiltBundle(BundleKind.ANNOUNCE, keyset.epoch, seq, 0, NO_DIGEST, now,
                       now + valid_for_s, bundle_digest(sealed), sealed)


def _record(reg: Registry, sealed: bytes, *, entries: int | None = None,
            list_body: bytes | None = None, touched: bytes | None = None,
            announces_key: int | None = None) -> BuiltBundle:
    header = read_unverified_header(sealed)
    digest = bundle_digest(sealed)
    reg.record_bundle({
        "kind": header.kind.name.lower(), "epoch": header.epoch, "seq": header.seq,
        "base": header.base_seq, "bytes": len(sealed), "sha256": digest.hex(),
        "prev": header.prev_digest.hex(), "created_at": header.created_at,
        "valid_until": header.valid_until, "entries": entries,
        "master_key_id": header.master_key_id, "signing_key_id": header.signing_key_id,
        "announces_key": announces_key, "sealed": sealed, "list_body": list_body,
        "touched": touched,
    })
    return BuiltBundle(header.kind, header.epoch, header.seq, header.base_seq,
                       header.prev_digest, header.created_at, header.valid_until, digest, sealed,
                       entries=entries, announces_key=announces_key)


def trust_records(reg: Registry, keyset: KeySet) -> list[TrustRecord]:
    """The root rotations after version 1 (terminals are provisioned with a root set and walk
    the chain from it) and the current key set, as the root signed them."""
    out = [TrustRecord(MetadataType.ROOT_SET, version, data, 0, 2**63 - 1)
           for version, data in reg.trust("root_set") if version > 1]
    for version, data in reg.trust("key_set"):
        if version == keyset.version:
            out.append(TrustRecord(MetadataType.KEY_SET, version, data, keyset.valid_from,
                                   keyset.expires))
    return out


def carousel(reg: Registry, keyset: KeySet | None, now: int | None = None) -> list:
    """What goes on air, in the order a terminal needs it: root rotations, the key set, the
    master-key rolls within its range, the epoch's latest full list and the newest delta after
    it (a cumulative delta takes every later list to the newest, so older deltas add nothing).

    With ``now``, a list past its validity is still returned (the caller warns); empty before a
    key set is imported.
    """
    if keyset is None:
        return []
    items: list = trust_records(reg, keyset)
    items += [_from_row(r) for r in reg.rolls(keyset.master_ids.lo)]
    full = reg.latest_list(keyset.epoch, "full")
    if full is not None:
        items.append(load_list(reg, keyset.epoch, full["seq"]))
        newest = reg.latest_list(keyset.epoch)
        if newest["seq"] > full["seq"]:
            items.append(load_list(reg, keyset.epoch, newest["seq"]))
    return items
