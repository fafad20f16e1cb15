"""Key rolls for listen-only terminals: applied, missed, repeated and forged."""

import dataclasses

import pytest

from crypto import (
    BundleKind,
    KeyRollError,
    SignatureError,
    UnknownMasterKeyError,
    UnknownSigningKeyError,
    apply_key_roll,
    check_token,
    issue_token,
    open_bundle,
    provision,
    roll_master_key,
    roll_signing_key,
    seal_bundle,
)
from crypto import _primitives
from crypto.envelope import OpenedBundle

NOW = 1_790_000_000


def _roll_master(center):
    return roll_master_key(center, header_seq=10, created_at=NOW, valid_until=NOW + 3600)


def _roll_signer(center):
    return roll_signing_key(center, header_seq=11, created_at=NOW, valid_until=NOW + 3600)


def test_master_roll_makes_next_key_current(center):
    new_keys, _ = _roll_master(center)
    assert new_keys.current_master_id == 2
    assert [m.key_id for m in new_keys.master_keys] == [1, 2]
    assert new_keys.master_keys[0] == center.master_keys[0]


def test_master_roll_bundle_is_sealed_under_old_key(center, terminal):
    _, roll = _roll_master(center)
    opened = open_bundle(roll, terminal)
    assert opened.header.kind is BundleKind.MASTER_ROLL
    assert opened.header.master_key_id == 1
    new_master = _primitives.aes_key_unwrap(center.current_master.key, opened.body[5:])
    assert len(new_master) == 32


def test_terminal_that_applied_master_roll_opens_new_bundles(center, terminal, make_header):
    new_keys, roll = _roll_master(center)
    updated = apply_key_roll(open_bundle(roll, terminal), terminal)
    assert updated.key_ids()["master_key_ids"] == [1, 2]
    bundle = seal_bundle(make_header(new_keys, seq=12), b"list", new_keys)
    assert open_bundle(bundle, updated).body == b"list"
    old_bundle = seal_bundle(make_header(center, seq=9), b"old", center)
    assert open_bundle(old_bundle, updated).body == b"old"  # old keys kept


def test_terminal_that_missed_master_roll_names_the_key(center, terminal, make_header):
    new_keys, _ = _roll_master(center)
    bundle = seal_bundle(make_header(new_keys, seq=12), b"list", new_keys)
    with pytest.raises(UnknownMasterKeyError, match="master key id 2"):
        open_bundle(bundle, terminal)


def test_signer_roll_is_signed_by_old_key_and_announces_new(center, terminal):
    new_keys, roll = _roll_signer(center)
    opened = open_bundle(roll, terminal)
    assert opened.header.kind is BundleKind.SIGNER_ROLL
    assert opened.header.signing_key_id == 1
    assert new_keys.signing_key_id == 2
    assert dict(new_keys.signing_public_keys)[2] == opened.body[5:]


def test_terminal_that_applied_signer_roll_verifies_new_signatures(center, terminal, make_header):
    new_keys, roll = _roll_signer(center)
    updated = apply_key_roll(open_bundle(roll, terminal), terminal)
    assert updated.key_ids()["signing_key_ids"] == [1, 2]
    bundle = seal_bundle(make_header(new_keys, seq=12), b"list", new_keys)
    assert open_bundle(bundle, updated).body == b"list"
    token = issue_token(4929123412341234, NOW + 60, new_keys)
    assert check_token(token, 4929123412341234, NOW, updated).signing_key_id == 2


def test_terminal_that_missed_signer_roll_names_the_key(center, terminal, make_header):
    new_keys, _ = _roll_signer(center)
    bundle = seal_bundle(make_header(new_keys, seq=12), b"list", new_keys)
    with pytest.raises(UnknownSigningKeyError, match="signing key id 2"):
        open_bundle(bundle, terminal)


def test_chained_rolls_in_order(center, terminal, make_header):
    keys, term = center, terminal
    for step in range(3):
        keys, roll = roll_master_key(keys, 20 + 2 * step, NOW, NOW + 60)
        term = apply_key_roll(open_bundle(roll, term), term)
        keys, roll = roll_signing_key(keys, 21 + 2 * step, NOW, NOW + 60)
        term = apply_key_roll(open_bundle(roll, term), term)
    assert term.key_ids() == {"master_key_ids": [1, 2, 3, 4], "signing_key_ids": [1, 2, 3, 4]}
    assert open_bundle(seal_bundle(make_header(keys, seq=99), b"x", keys), term).body == b"x"
    assert provision(keys) == term


def test_missed_middle_roll_cannot_be_skipped(center, terminal):
    keys, _ = _roll_master(center)
    keys, second = roll_master_key(keys, 30, NOW, NOW + 60)  # sealed under key 2
    with pytest.raises(UnknownMasterKeyError, match="master key id 2"):
        open_bundle(second, terminal)


def test_repeated_roll_is_idempotent(center, terminal):
    for roll_fn in (_roll_master, _roll_signer):
        _, roll = roll_fn(center)
        once = apply_key_roll(open_bundle(roll, terminal), terminal)
        assert apply_key_roll(open_bundle(roll, once), once) == once


def test_roll_rebinding_a_held_key_id_is_refused(center, terminal):
    """Two different rolls for id 2 (e.g. a replayed roll from a restored center backup)."""
    _, roll_a = _roll_master(center)
    _, roll_b = _roll_master(center)
    held = apply_key_roll(open_bundle(roll_a, terminal), terminal)
    with pytest.raises(KeyRollError, match="rebinds master key id 2"):
        apply_key_roll(open_bundle(roll_b, held), held)
    _, signer_a = _roll_signer(center)
    _, signer_b = _roll_signer(center)
    held = apply_key_roll(open_bundle(signer_a, terminal), terminal)
    with pytest.raises(KeyRollError, match="rebinds signing key id 2"):
        apply_key_roll(open_bundle(signer_b, held), held)


def test_forged_signer_roll_is_refused(center, terminal, other_center):
    """An attacker announcing their own signing key under the center's id is stopped."""
    _, roll = _roll_signer(other_center)  # same signing key id 1, other key
    with pytest.raises(SignatureError):
        open_bundle(roll, terminal)


def test_non_roll_bundle_is_not_a_key_roll(center, terminal, make_header):
    opened = open_bundle(seal_bundle(make_header(center), b"list", center), terminal)
    with pytest.raises(KeyRollError, match="FULL bundle, not a key roll"):
        apply_key_roll(opened, terminal)


@pytest.mark.parametrize("kind", [BundleKind.MASTER_ROLL, BundleKind.SIGNER_ROLL])
def test_malformed_roll_body_is_refused(center, terminal, make_header, kind):
    opened = open_bundle(seal_bundle(make_header(center, kind=kind), b"\x01\x00", center), terminal)
    with pytest.raises(KeyRollError, match="body is 2 bytes"):
        apply_key_roll(opened, terminal)
    _, roll = (_roll_master if kind is BundleKind.MASTER_ROLL else _roll_signer)(center)
    good = open_bundle(roll, terminal)
    bad_version = OpenedBundle(good.header, b"\x09" + good.body[1:])
    with pytest.raises(KeyRollError, match="version 9"):
        apply_key_roll(bad_version, terminal)


def test_master_roll_with_bad_wrapped_key_is_refused(center, terminal):
    _, roll = _roll_master(center)
    good = open_bundle(roll, terminal)
    bad = OpenedBundle(good.header, good.body[:-1] + bytes([good.body[-1] ^ 1]))
    with pytest.raises(KeyRollError, match="does not unwrap under master key id 1"):
        apply_key_roll(bad, terminal)


def test_key_id_space_exhaustion_is_refused(center):
    from crypto import MasterKey

    top = dataclasses.replace(center, master_keys=center.master_keys + (MasterKey(2**32 - 1, bytes(32)),))
    with pytest.raises(KeyRollError, match="exhausted"):
        _roll_master(top)
