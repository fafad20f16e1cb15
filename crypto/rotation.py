"""How the online keys change under a key set: master-key rolls on air, signing keys by the root.

Master keys roll without the root, inside the key set's master id range: a MASTER_ROLL bundle
carries the next master key wrapped under the current one, sealed under the current master key
and signed by the current signing key, so only a terminal that holds the current master key
learns the next one. When the range is used up the center needs a new key set.

Signing keys change only through the root: the center makes a key (``add_signing_key``),
proposes a key set listing it (``keyset_request``), the offline root signs one
(``keyset.make_keyset`` + ``sign_keyset``), and the center switches to it (``adopt_keyset``).
No bundle kind can announce a signing key, so a stolen online key cannot name its successor.

MASTER_ROLL body (45 bytes): version u8 (1) | new master key id u32 | the new master key
wrapped under the CURRENT master key with RFC 3394 (32 + 8 = 40 bytes).

Invariants: master key ids count up by one (never reused); applying a roll the terminal
already has returns its keys unchanged (rolls repeat on the carousel); a roll that would rebind
an id the terminal holds to other key bytes, or name an id outside the key set's range, is
refused with ``KeyRollError``.
"""

from __future__ import annotations

import dataclasses

from crypto import _primitives, _wire
from crypto.envelope import BundleHeader, BundleKind, OpenedBundle, seal_bundle
from crypto.errors import KeyRollError, KeySetMismatchError, KeyUnwrapError
from crypto.keys import MAX_CENTER_SIGNING_KEYS, MAX_MASTER_KEYS, CenterKeys, MasterKey, SigningKey, TerminalKeys
from crypto.keyset import KeySet, KeySetRequest, MasterIdRange, SigningKeyEntry, TokenKeyEntry

ROLL_VERSION = 1
MASTER_ROLL_BODY_BYTES = 1 + 4 + _primitives.WRAPPED_KEY_BYTES  # 45


def roll_master_key(keys: CenterKeys, keyset: KeySet, *, seq: int, created_at: int,
                    valid_until: int) -> tuple[CenterKeys, bytes]:
    """Make the next master key current; returns the new keys and the MASTER_ROLL bundle
    (epoch = the key set's, prev_digest zeros: a roll is not part of the list's hash chain)."""
    ids = keyset.master_ids
    where = f"key set v{keyset.version}'s master id range [{ids.lo}, {ids.hi}]"
    if keys.current_master_id not in ids:
        raise KeyRollError(f"current master key id {keys.current_master_id} is outside {where}: "
                           f"terminals would refuse the roll")
    new_id = max(m.key_id for m in keys.master_keys) + 1
    if new_id > ids.hi:
        raise KeyRollError(f"{where} is exhausted (current id {keys.current_master_id}): "
                           f"the root must sign a key set with a wider range")
    if len(keys.master_keys) >= MAX_MASTER_KEYS:
        raise KeyRollError(f"center holds {len(keys.master_keys)} master keys, the most a key file keeps; "
                           f"adopt a key set that retires old ids first")
    new = MasterKey.generate(new_id)
    body = _wire.u8(ROLL_VERSION) + _wire.u32(new.key_id) + _primitives.aes_key_wrap(keys.current_master.key, new.key)
    header = BundleHeader(kind=BundleKind.MASTER_ROLL, epoch=keyset.epoch, seq=seq, base_seq=0,
                          created_at=created_at, valid_until=valid_until,
                          master_key_id=keys.current_master_id, signing_key_id=keys.signing_key_id)
    sealed = seal_bundle(header, body, keys)
    return dataclasses.replace(keys, master_keys=keys.master_keys + (new,), current_master_id=new.key_id), sealed


def apply_master_roll(opened: OpenedBundle, keys: TerminalKeys) -> TerminalKeys:
    """Terminal keys after a verified MASTER_ROLL bundle (idempotent).

    ``opened`` must come from ``open_bundle`` with ``keys.trust``; the result is what the
    caller stores (the function does no I/O).
    """
    header = opened.header
    if header.kind is not BundleKind.MASTER_ROLL:
        raise KeyRollError(f"bundle seq {header.seq} is a {header.kind.name} bundle, not a master key roll")
    body = opened.body
    if len(body) != MASTER_ROLL_BODY_BYTES:
        raise KeyRollError(f"MASTER_ROLL body is {len(body)} bytes, expected {MASTER_ROLL_BODY_BYTES}")
    if body[0] != ROLL_VERSION:
        raise KeyRollError(f"MASTER_ROLL body version {body[0]} is not supported")
    key_id = int.from_bytes(body[1:5], "big")
    ids = keys.keyset.master_ids
    if key_id not in ids:
        raise KeyRollError(f"roll names master key id {key_id}, outside key set v{keys.keyset.version}'s "
                           f"master id range [{ids.lo}, {ids.hi}]")
    kek = keys.master_key(header.master_key_id)
    if kek is None:
        raise KeyRollError(f"terminal lacks master key id {header.master_key_id} to unwrap the roll")
    try:
        new = MasterKey(key_id, _primitives.aes_key_unwrap(kek.key, body[5:]))
    except KeyUnwrapError:
        raise KeyRollError(f"new master key id {key_id} does not unwrap under master key id {kek.key_id}") from None
    held = keys.master_key(key_id)
    if held is not None:
        if held.key != new.key:
            raise KeyRollError(f"roll rebinds master key id {key_id}, which the terminal holds, to another key")
        return keys
    if len(keys.master_keys) >= MAX_MASTER_KEYS:
        raise KeyRollError(f"terminal holds {len(keys.master_keys)} master keys, the most it keeps")
    masters = tuple(sorted(keys.master_keys + (new,), key=lambda m: m.key_id))
    return dataclasses.replace(keys, master_keys=masters)


def add_signing_key(keys: CenterKeys, keyset: KeySet | None) -> CenterKeys:
    """``keys`` plus a fresh signing key (not yet current: no terminal trusts it before a key
    set lists it). Its id is above every id the center holds and ``keyset`` names."""
    if len(keys.signing_keys) >= MAX_CENTER_SIGNING_KEYS:
        raise ValueError(f"center already holds {len(keys.signing_keys)} signing keys, the most it keeps")
    used = [k.key_id for k in keys.signing_keys] + (list(keyset.public_keys()) if keyset is not None else [])
    new_id = max(used) + 1
    if new_id > _wire.MAX_U32:
        raise ValueError(f"signing key id space is exhausted (highest id {max(used)})")
    return dataclasses.replace(keys, signing_keys=keys.signing_keys + (SigningKey.generate(new_id),))


def keyset_request(keys: CenterKeys, *, valid_from: int, expires: int, master_ids: MasterIdRange,
                   signing_key_ids: tuple[int, ...] | None = None,
                   token_keys: tuple[TokenKeyEntry, ...] = (),
                   since: dict[int, int] | None = None) -> KeySetRequest:
    """The center's proposal for the next key set: its signing keys ``signing_key_ids`` (all it
    holds by default), each valid over [valid_from, expires] except a key that ``since`` maps
    to an earlier start (a key the current set already lists keeps its start, so the lists it
    signed before the renewal, still on air, stay valid under the new set); ``token_keys`` are
    old signing keys whose tokens are still out, each kept until its last token expires."""
    chosen = keys.signing_keys if signing_key_ids is None else tuple(
        k for k in keys.signing_keys if k.key_id in set(signing_key_ids))
    if signing_key_ids is not None and len(chosen) != len(set(signing_key_ids)):
        missing = sorted(set(signing_key_ids) - {k.key_id for k in chosen})
        raise ValueError(f"signing_key_ids: the center holds no signing key id {missing}")
    starts = since or {}
    entries = tuple(SigningKeyEntry(k.key_id, k.public_key, min(valid_from, starts.get(k.key_id, valid_from)),
                                    expires) for k in chosen)
    return KeySetRequest(valid_from, expires, entries, master_ids, token_keys)


def adopt_keyset(keys: CenterKeys, keyset: KeySet, now: int) -> CenterKeys:
    """The center's keys under a root-signed ``keyset``: the current signing key becomes the
    highest-id held key the set lists (same id, same public key) as valid at ``now``; seeds of keys the set has dropped
    are deleted (keys above every id the set names are kept: they await a later set), and so
    are master keys below the set's range. ``KeySetMismatchError`` if the set lists no held
    signing key valid at ``now`` or the current master id is outside its range."""
    held = {k.key_id: k.public_key for k in keys.signing_keys}
    usable = [e.key_id for e in keyset.signing_keys if held.get(e.key_id) == e.public_key and e.valid_at(now)]
    if not usable:
        raise KeySetMismatchError(f"key set v{keyset.version} lists no signing key this center holds "
                                  f"valid at {now} (listed {[e.key_id for e in keyset.signing_keys]}, held {sorted(held)})")
    ids = keyset.master_ids
    if keys.current_master_id not in ids:
        raise KeySetMismatchError(f"current master key id {keys.current_master_id} is outside key set "
                                  f"v{keyset.version}'s master id range [{ids.lo}, {ids.hi}]")
    named = set(keyset.public_keys())
    listed = {e.key_id for e in keyset.signing_keys}
    kept = tuple(k for k in keys.signing_keys if k.key_id in listed or k.key_id > max(named))
    masters = tuple(m for m in keys.master_keys if m.key_id >= ids.lo)
    return CenterKeys(kept, max(usable), masters, keys.current_master_id)
