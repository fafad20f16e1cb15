"""Key rotation for listen-only terminals: key rolls travel as ordinary sealed bundles.

MASTER_ROLL body (45 bytes): version u8 (1) | new master key id u32 | new master key wrapped
under the CURRENT master key with RFC 3394 (40 bytes). The bundle itself is sealed under the
current master key and signed by the current signing key, so only a terminal that already
holds the current master key learns the next one.

SIGNER_ROLL body (37 bytes): version u8 (1) | new signing key id u32 | new Ed25519 public key
(32 bytes), in a bundle signed by the CURRENT signing key: trust passes from key to key.

Invariants: new key ids are the highest id in use + 1 (ids never reused); applying a roll the
terminal already has returns its keys unchanged (rolls repeat on the carousel); a roll that
would rebind an id the terminal holds to other key bytes is refused with ``KeyRollError``.
Old keys are kept: bundles and card tokens made before a roll still open and check.
"""

from __future__ import annotations

import struct
from dataclasses import replace

from crypto import _primitives
from crypto.envelope import BundleHeader, BundleKind, OpenedBundle, seal_bundle
from crypto.errors import KeyRollError, KeyUnwrapError
from crypto.keys import MAX_KEY_ID, CenterKeys, MasterKey, TerminalKeys

ROLL_VERSION = 1
_ROLL_HEAD = struct.Struct(">BI")  # version, new key id
MASTER_ROLL_BODY_BYTES = _ROLL_HEAD.size + _primitives.WRAPPED_KEY_BYTES  # 5 + 40 = 45
SIGNER_ROLL_BODY_BYTES = _ROLL_HEAD.size + _primitives.ED25519_PUBLIC_BYTES  # 5 + 32 = 37


def _next_id(ids: list[int], what: str) -> int:
    next_id = max(ids) + 1
    if next_id > MAX_KEY_ID:
        raise KeyRollError(f"{what} key id space is exhausted (highest id {max(ids)})")
    return next_id


def _roll_header(kind: BundleKind, keys: CenterKeys, seq: int, created_at: int, valid_until: int) -> BundleHeader:
    return BundleHeader(kind=kind, seq=seq, base_seq=0, created_at=created_at, valid_until=valid_until,
                        master_key_id=keys.current_master_id, signing_key_id=keys.signing_key_id)


def roll_master_key(keys: CenterKeys, header_seq: int, created_at: int, valid_until: int) -> tuple[CenterKeys, bytes]:
    """Make the next master key current; returns the new keys and the MASTER_ROLL bundle."""
    new = MasterKey.generate(_next_id([m.key_id for m in keys.master_keys], "master"))
    body = _ROLL_HEAD.pack(ROLL_VERSION, new.key_id) + _primitives.aes_key_wrap(keys.current_master.key, new.key)
    header = _roll_header(BundleKind.MASTER_ROLL, keys, header_seq, created_at, valid_until)
    sealed = seal_bundle(header, body, keys)
    return replace(keys, master_keys=keys.master_keys + (new,), current_master_id=new.key_id), sealed


def roll_signing_key(keys: CenterKeys, header_seq: int, created_at: int, valid_until: int) -> tuple[CenterKeys, bytes]:
    """Make a new signing key current; returns the new keys and the SIGNER_ROLL bundle."""
    new_id = _next_id([i for i, _ in keys.signing_public_keys], "signing")
    seed = _primitives.random_bytes(_primitives.ED25519_SEED_BYTES)
    public = _primitives.ed25519_public_key(seed)
    body = _ROLL_HEAD.pack(ROLL_VERSION, new_id) + public
    header = _roll_header(BundleKind.SIGNER_ROLL, keys, header_seq, created_at, valid_until)
    sealed = seal_bundle(header, body, keys)
    new_keys = replace(keys, signing_key_id=new_id, signing_seed=seed,
                       signing_public_keys=keys.signing_public_keys + ((new_id, public),))
    return new_keys, sealed


def _parse_roll(body: bytes, expected_bytes: int, kind: BundleKind) -> tuple[int, bytes]:
    if len(body) != expected_bytes:
        raise KeyRollError(f"{kind.name} body is {len(body)} bytes, expected {expected_bytes}")
    version, key_id = _ROLL_HEAD.unpack_from(body)
    if version != ROLL_VERSION:
        raise KeyRollError(f"{kind.name} body version {version} is not supported")
    return key_id, body[_ROLL_HEAD.size :]


def _apply_master_roll(opened: OpenedBundle, keys: TerminalKeys) -> TerminalKeys:
    key_id, wrapped = _parse_roll(opened.body, MASTER_ROLL_BODY_BYTES, BundleKind.MASTER_ROLL)
    kek = keys.master_key(opened.header.master_key_id)
    if kek is None:
        raise KeyRollError(f"terminal lacks master key id {opened.header.master_key_id} to unwrap the roll")
    try:
        new = MasterKey(key_id, _primitives.aes_key_unwrap(kek.key, wrapped))
    except (KeyUnwrapError, ValueError):
        raise KeyRollError(f"new master key id {key_id} does not unwrap under master key id {kek.key_id}") from None
    held = keys.master_key(key_id)
    if held is not None:
        if held.key != new.key:
            raise KeyRollError(f"roll rebinds master key id {key_id}, which the terminal holds, to another key")
        return keys
    masters = tuple(sorted(keys.master_keys + (new,), key=lambda m: m.key_id))
    return replace(keys, master_keys=masters)


def _apply_signer_roll(opened: OpenedBundle, keys: TerminalKeys) -> TerminalKeys:
    key_id, public = _parse_roll(opened.body, SIGNER_ROLL_BODY_BYTES, BundleKind.SIGNER_ROLL)
    held = keys.public_key(key_id)
    if held is not None:
        if held != public:
            raise KeyRollError(f"roll rebinds signing key id {key_id}, which the terminal holds, to another key")
        return keys
    if not _primitives.is_valid_public_key(public):
        raise KeyRollError(f"announced signing key id {key_id} is not a valid Ed25519 public key")
    publics = tuple(sorted(keys.signing_public_keys + ((key_id, public),)))
    return replace(keys, signing_public_keys=publics)


def apply_key_roll(opened: OpenedBundle, keys: TerminalKeys) -> TerminalKeys:
    """Terminal keys after applying a verified MASTER_ROLL or SIGNER_ROLL bundle (idempotent).

    ``opened`` must come from ``open_bundle`` with these ``keys``; the result is what the
    caller stores (the function does no I/O).
    """
    kind = opened.header.kind
    if kind is BundleKind.MASTER_ROLL:
        return _apply_master_roll(opened, keys)
    if kind is BundleKind.SIGNER_ROLL:
        return _apply_signer_roll(opened, keys)
    raise KeyRollError(f"bundle seq {opened.header.seq} is a {kind.name} bundle, not a key roll")
