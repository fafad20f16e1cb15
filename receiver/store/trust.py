"""Every rule about what a terminal may accept, in one sans-I/O function: ``plan``.

``plan(data, now, state, keys, chain)`` verifies ``data`` against what the store holds and
returns the change to make (``TerminalStore.apply_bundle`` then makes it in one transaction),
or raises. Load order (python-tuf's "trusted metadata set", TUF specification section 5):

1. Signed metadata (magic ``HCM``):
   - a root set: it must chain from the root set held (a threshold of the old root and of the
     new one, version + 1: ``crypto.verify_root_chain``); a later version that skips one is
     kept for later (``RootGapError``, retryable: the missing one is on air too);
   - a key set: signed by the held root's threshold, newer than the held set, epoch not going
     back, no key id rebound (``crypto.verify_keyset``). One valid later (``valid_from`` ahead:
     the center puts the next set on air a lead time before it takes effect) is kept aside
     (``PendingKeySet``) and takes over at its time. One signed under a newer root set than the
     one held waits for that root set (``RootVersionError``, retryable).
2. Bundles (magic ``HCB``), through ``crypto.open_bundle`` against the current key set: a key
   left out of the set opens nothing; a key the terminal does not know yet (a key set or master
   roll still to come) is retryable; then, by kind:
   - MASTER_ROLL: the next master key (``crypto.apply_master_roll``; idempotent; a genuine
     roll of any age is harmless to replay, so its validity time is not checked);
   - HEARTBEAT (TUF's timestamp role): the newest one verified is kept; an expired one is
     refused (a replayed channel); one naming the list the store holds with another digest is
     a fork;
   - FULL / DELTA: lists of the key set's epoch only (older: refused; newer: retryable until
     its key set comes); within the epoch by sequence number: older -> ``RollbackError``
     (a carousel repeat, or a replay), the same seq with the same digest -> no change, with
     another digest -> fork; the next seq must name the held list's digest (the hash chain),
     or it is a fork; expired -> refused; a delta applies to any held list from its base up
     (a cumulative delta, see ``center.registry.building``), a base above the held list is
     retryable; the first list of a new epoch must be full. Bodies are decoded with the
     store's capacity, checked before anything is allocated.
3. ANNOUNCE: verified, no change to the store (the pipeline uses announcements itself).

Nothing here writes or reads a clock: ``now`` comes in; the result is a plain value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from crypto import (
    BundleHeader,
    CryptoError,
    BundleKind,
    KeyRollError,
    KeySet,
    KeySetNotYetValidError,
    MetadataType,
    OpenedBundle,
    ReplayError,
    RootSet,
    TerminalKeys,
    apply_master_roll,
    open_bundle,
    read_unverified_keyset,
    read_unverified_root_set,
    verify_keyset,
    verify_root_chain,
)
from framing import (
    AnnouncedBundle,
    AnnouncementError,
    HotList,
    ListCapacityError,
    ListCodecError,
    ListDelta,
    Universe,
    decode_announcement,
    decode_delta,
    decode_list,
)
from receiver.errors import (
    BundleBodyError,
    CapacityError,
    DeltaBaseError,
    EpochAheadError,
    EpochError,
    ExpiredBundleError,
    ForkError,
    RollbackError,
)
from receiver.store.state import ListState

__all__ = ["Change", "DeltaChange", "FullChange", "HeartbeatChange", "KeysChange", "NoChange",
           "PendingKeySet", "plan", "vet_announcement"]

_METADATA_MAGIC = b"HCM"


@dataclass(frozen=True)
class NoChange:
    """Genuine, and the store already has it (a carousel repeat)."""

    kind: object  # BundleKind or MetadataType
    seq: int  # a list's seq, a roll's key id, a key or root set's version


@dataclass(frozen=True)
class KeysChange:
    """New terminal keys: after a root rotation, a key set, or a master roll."""

    kind: object
    seq: int
    keys: TerminalKeys


@dataclass(frozen=True)
class PendingKeySet:
    """A verified key set that takes effect later (at ``keyset.valid_from``)."""

    keyset: KeySet
    data: bytes

    @property
    def kind(self) -> MetadataType:
        return MetadataType.KEY_SET

    @property
    def seq(self) -> int:
        return self.keyset.version


@dataclass(frozen=True)
class HeartbeatChange:
    """A verified heartbeat newer than the one held: what the center says is current."""

    header: BundleHeader

    @property
    def kind(self) -> BundleKind:
        return BundleKind.HEARTBEAT

    @property
    def seq(self) -> int:
        return self.header.seq


@dataclass(frozen=True, eq=False)
class FullChange:
    header: BundleHeader
    digest: bytes
    universe: Universe
    hot: HotList

    @property
    def kind(self) -> BundleKind:
        return BundleKind.FULL

    @property
    def seq(self) -> int:
        return self.header.seq


@dataclass(frozen=True, eq=False)
class DeltaChange:
    header: BundleHeader
    digest: bytes
    universe: Universe
    delta: ListDelta

    @property
    def kind(self) -> BundleKind:
        return BundleKind.DELTA

    @property
    def seq(self) -> int:
        return self.header.seq


Change = NoChange | KeysChange | PendingKeySet | HeartbeatChange | FullChange | DeltaChange
ChainLookup = Callable[[int, int], bytes | None]  # (epoch, seq) -> digest of a list applied


def plan(data: bytes, now: int, state: ListState, keys: TerminalKeys,
         chain: ChainLookup) -> Change:
    """Verify ``data`` and decide its effect on a store in ``state`` holding ``keys``.

    Raises ``crypto.CryptoError`` (forged, malformed, unknown or retired key, root or key set
    that does not verify) or ``receiver.errors.BundleRefusedError``; never returns a change that
    a check has not approved.
    """
    data = bytes(data)
    if data[:3] == _METADATA_MAGIC:
        return _plan_metadata(data, now, keys)
    opened = open_bundle(data, keys.trust, now)
    kind = opened.header.kind
    if kind is BundleKind.MASTER_ROLL:
        return _plan_roll(opened, keys)
    if kind is BundleKind.HEARTBEAT:
        return _plan_heartbeat(opened.header, now, state, keys.keyset)
    if kind is BundleKind.ANNOUNCE:
        return NoChange(kind, opened.header.seq)
    return _plan_list(opened, now, state, keys.keyset, chain)


def _plan_metadata(data: bytes, now: int, keys: TerminalKeys) -> Change:
    kind = MetadataType(data[4]) if len(data) > 4 and data[4] in (5, 6) else None
    if kind is MetadataType.ROOT_SET:
        newer = read_unverified_root_set(data)
        if newer.version <= keys.root_set.version:
            return NoChange(kind, newer.version)
        root: RootSet = verify_root_chain(keys.root_set, [data])
        return KeysChange(kind, root.version, _with_root(keys, root))
    if kind is not MetadataType.KEY_SET:
        # Neither: let the key set parser name what is wrong with it.
        read_unverified_keyset(data)
    held = keys.keyset
    try:
        keyset = verify_keyset(data, keys.root_set, held, now)
    except ReplayError:
        candidate = read_unverified_keyset(data)
        if candidate.version == held.version and candidate.encode() == held.encode():
            return NoChange(MetadataType.KEY_SET, held.version)
        raise
    except KeySetNotYetValidError:
        later = read_unverified_keyset(data)
        keyset = verify_keyset(data, keys.root_set, held, later.valid_from)
        return PendingKeySet(keyset, data)
    return KeysChange(MetadataType.KEY_SET, keyset.version, keys.with_keyset(keyset))


def _with_root(keys: TerminalKeys, root: RootSet) -> TerminalKeys:
    return TerminalKeys(root_set=root, keyset=keys.keyset, master_keys=keys.master_keys)


def _plan_roll(opened: OpenedBundle, keys: TerminalKeys) -> Change:
    try:
        rolled = apply_master_roll(opened, keys)
    except KeyRollError as exc:
        raise BundleBodyError(f"master key roll seq {opened.header.seq}: {exc}") from exc
    if rolled == keys:
        return NoChange(BundleKind.MASTER_ROLL, opened.header.seq)
    return KeysChange(BundleKind.MASTER_ROLL, opened.header.seq, rolled)


def _plan_heartbeat(header: BundleHeader, now: int, state: ListState,
                    keyset: KeySet) -> Change:
    _check_fresh(header, now)
    _check_epoch(header, keyset)
    if (header.epoch, header.seq) == (state.epoch, state.seq) and state.seq and (
            header.prev_digest != state.digest):
        raise ForkError(header.epoch, header.seq, "the heartbeat names another list than the "
                        f"one held (sha256 {state.digest.hex()[:16]}...)")
    if header.created_at <= state.heartbeat_created_at:
        return NoChange(BundleKind.HEARTBEAT, header.seq)
    return HeartbeatChange(header)


def _check_epoch(header: BundleHeader, keyset: KeySet) -> None:
    what = header.kind.name.lower()
    if header.epoch < keyset.epoch:
        raise EpochError(f"{what} seq {header.seq} is of epoch {header.epoch}; key set "
                         f"v{keyset.version} started epoch {keyset.epoch}")
    if header.epoch > keyset.epoch:
        raise EpochAheadError(f"{what} seq {header.seq} is of epoch {header.epoch}, ahead of "
                              f"key set v{keyset.version}'s epoch {keyset.epoch}: waiting for "
                              "the key set that starts it")


def _plan_list(opened: OpenedBundle, now: int, state: ListState, keyset: KeySet,
               chain: ChainLookup) -> Change:
    header = opened.header
    _check_epoch(header, keyset)
    same_epoch = state.seq != 0 and state.epoch == header.epoch
    if same_epoch:
        if header.seq < state.seq:
            held = chain(header.epoch, header.seq)
            if held is not None and held != opened.digest:
                raise ForkError(header.epoch, header.seq, "this terminal applied another list "
                                "with that sequence number")
            raise RollbackError(header.seq, state.seq)
        if header.seq == state.seq:
            if opened.digest != state.digest:
                raise ForkError(header.epoch, header.seq, "another list than the one held "
                                f"(sha256 {state.digest.hex()[:16]}...)")
            return NoChange(header.kind, header.seq)
        if header.seq == state.seq + 1 and header.prev_digest != state.digest:
            raise ForkError(header.epoch, header.seq, "its hash chain does not meet the list "
                            f"held (seq {state.seq})")
    _check_fresh(header, now)
    if header.kind is BundleKind.FULL:
        try:
            universe, hot = decode_list(opened.body, max_entries=state.capacity)
        except ListCapacityError as exc:
            raise CapacityError(f"full list seq {header.seq}: {exc}") from exc
        except ListCodecError as exc:
            raise BundleBodyError(f"full bundle seq {header.seq}: {exc}") from exc
        return FullChange(header, opened.digest, universe, hot)
    if not same_epoch:
        need = "a list" if state.seq == 0 else f"a full list of epoch {header.epoch}"
        raise DeltaBaseError(header.seq, header.base_seq, state.seq, f"{need} first")
    if not header.base_seq <= state.seq:
        raise DeltaBaseError(header.seq, header.base_seq, state.seq)
    try:
        universe, delta = decode_delta(opened.body, max_entries=state.capacity)
    except ListCapacityError as exc:
        raise CapacityError(f"delta seq {header.seq}: {exc}") from exc
    except ListCodecError as exc:
        raise BundleBodyError(f"delta bundle seq {header.seq}: {exc}") from exc
    if universe != state.universe:
        raise BundleBodyError(
            f"delta seq {header.seq} is for universe {universe}, the store holds {state.universe}"
        )
    if state.entries + len(delta.added) > state.capacity:
        raise CapacityError(f"delta seq {header.seq} could take the list above the capacity of "
                            f"{state.capacity} entries")
    return DeltaChange(header, opened.digest, universe, delta)


def _check_fresh(header: BundleHeader, now: int) -> None:
    if now > header.valid_until:
        raise ExpiredBundleError(header.seq, header.valid_until, now)


def vet_announcement(data: bytes, now: int, keys: TerminalKeys) -> tuple[AnnouncedBundle, ...] | None:
    """The bundles a genuine, current ANNOUNCE names, or None for anything else (not an
    announcement, forged, expired, malformed): the reassembler then simply gets no hint."""
    try:
        opened = open_bundle(bytes(data), keys.trust, now)
    except CryptoError:
        return None
    if opened.header.kind is not BundleKind.ANNOUNCE or now > opened.header.valid_until:
        return None
    try:
        return decode_announcement(opened.body)
    except AnnouncementError:
        return None
