"""Deciding what a bundle does to a terminal store, without touching the store (sans I/O).

``plan_bundle`` runs every check of the signed-update rules and returns the change to
make; ``TerminalStore.apply_bundle`` then makes it in one transaction. Order of checks:

1. ``crypto.open_bundle``: parse with limits, verify the signature, unwrap, decrypt
   (forged / malformed / unknown-key bundles stop here, nothing else is read);
2. key-roll bundles: expiry, then ``crypto.apply_key_roll`` (idempotent: a roll the
   terminal already has is a no-op). Their sequence numbers are not compared with the
   list's: the centre's rolls and lists are ordered by content, not by one counter;
3. list bundles: older seq -> RollbackError; same seq -> no-op; expired -> ExpiredBundleError;
   delta on another base -> DeltaBaseError; then the body is decoded (ListCodecError ->
   BundleBodyError) and a delta's universe must be the store's.
"""

from __future__ import annotations

from dataclasses import dataclass

from crypto import (
    BundleHeader,
    BundleKind,
    KeyRollError,
    OpenedBundle,
    TerminalKeys,
    apply_key_roll,
    open_bundle,
)
from framing import HotList, ListCodecError, ListDelta, Universe, decode_delta, decode_list

from receiver.errors import BundleBodyError, DeltaBaseError, ExpiredBundleError, RollbackError
from receiver.store.state import ListState


@dataclass(frozen=True)
class NoChange:
    header: BundleHeader


@dataclass(frozen=True)
class KeyChange:
    header: BundleHeader
    keys: TerminalKeys


@dataclass(frozen=True, eq=False)
class FullChange:
    header: BundleHeader
    universe: Universe
    hot: HotList


@dataclass(frozen=True, eq=False)
class DeltaChange:
    header: BundleHeader
    universe: Universe
    delta: ListDelta


Change = NoChange | KeyChange | FullChange | DeltaChange


def plan_bundle(data: bytes, now: int, state: ListState, keys: TerminalKeys) -> Change:
    """Verify ``data`` and decide its effect on a store in ``state`` holding ``keys``.

    Raises crypto.BundleError or receiver.errors.BundleRefusedError; never returns a
    change that a check has not approved.
    """
    opened = open_bundle(data, keys)
    header = opened.header
    if header.kind in (BundleKind.MASTER_ROLL, BundleKind.SIGNER_ROLL):
        return _plan_key_roll(opened, now, keys)
    if header.seq < state.seq:
        raise RollbackError(header.seq, state.seq)
    if header.seq == state.seq:
        return NoChange(header)
    _check_fresh(header, now)
    if header.kind == BundleKind.FULL:
        try:
            universe, hot = decode_list(opened.body)
        except ListCodecError as exc:
            raise BundleBodyError(f"full bundle seq {header.seq}: {exc}") from exc
        return FullChange(header, universe, hot)
    if header.kind != BundleKind.DELTA:
        raise BundleBodyError(f"bundle seq {header.seq} has unknown kind {header.kind!r}")
    if state.seq == 0 or header.base_seq != state.seq:
        raise DeltaBaseError(header.seq, header.base_seq, state.seq)
    try:
        universe, delta = decode_delta(opened.body)
    except ListCodecError as exc:
        raise BundleBodyError(f"delta bundle seq {header.seq}: {exc}") from exc
    if universe != state.universe:
        raise BundleBodyError(
            f"delta seq {header.seq} is for universe {universe}, the store holds {state.universe}"
        )
    return DeltaChange(header, universe, delta)


def _plan_key_roll(opened: OpenedBundle, now: int, keys: TerminalKeys) -> Change:
    _check_fresh(opened.header, now)
    try:
        rolled = apply_key_roll(opened, keys)
    except KeyRollError as exc:
        raise BundleBodyError(f"key roll seq {opened.header.seq}: {exc}") from exc
    if rolled.to_bytes() == keys.to_bytes():
        return NoChange(opened.header)
    return KeyChange(opened.header, rolled)


def _check_fresh(header: BundleHeader, now: int) -> None:
    if now > header.valid_until:
        raise ExpiredBundleError(header.seq, header.valid_until, now)
