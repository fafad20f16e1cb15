"""Attacks on the key hierarchy, each named after what it stops (as python-tuf names its tests).

Every test mutates the simulated world as an attacker or the root would, then asserts what a
terminal's crypto does with what is on air.
"""

import dataclasses
import struct

import pytest
from crypto_simulator import DAY, NOW, Simulator

from crypto import (
    BundleFormatError,
    BundleKind,
    KeyRollError,
    RetiredKeyError,
    SignatureError,
    TokenKeyEntry,
    UnknownSigningKeyError,
    add_signing_key,
    apply_master_roll,
    open_bundle,
    read_unverified_header,
    roll_master_key,
    verify_keyset,
)
from crypto import _primitives
from crypto.envelope import DOMAIN


def _rotate_signing_key(sim: Simulator, *, keep_for_tokens: bool = False) -> tuple:
    """The root replaces signing key 1 by key 2; returns (old center keys, new terminal keys)."""
    old_center, old_terminal = sim.center, sim.terminal()
    sim.center = add_signing_key(sim.center, sim.keyset)
    old_entry = sim.keyset.signing_key(1)
    tokens = (TokenKeyEntry(1, old_entry.public_key, NOW + 30 * DAY),) if keep_for_tokens else ()
    listed = tuple(k for k in sim.request().signing_keys if k.key_id == 2)
    data = sim.publish_keyset(sim.request(signing_keys=listed, token_keys=tokens))
    new_terminal = old_terminal.with_keyset(verify_keyset(data, sim.root, old_terminal.keyset, NOW))
    return old_center, new_terminal


def test_bundle_forged_with_a_retired_signing_key_opens_nothing():
    """A thief holds signing key 1; once the root's key set drops it, its bundles are refused
    at once, whatever their created_at, and however the thief sets the header."""
    sim = Simulator()
    stolen, terminal = _rotate_signing_key(sim)
    for created_at in (NOW - DAY // 2, NOW):
        forged = sim.bundle(keys=stolen, created_at=created_at)
        with pytest.raises(UnknownSigningKeyError, match="signing key id 1 is not in key set v2"):
            open_bundle(forged, terminal.trust, NOW)
    assert open_bundle(sim.bundle(), terminal.trust, NOW).header.signing_key_id == 2


def test_key_kept_only_for_tokens_cannot_sign_bundles():
    sim = Simulator()
    stolen, terminal = _rotate_signing_key(sim, keep_for_tokens=True)
    assert terminal.keyset.token_key(1) is not None
    with pytest.raises(UnknownSigningKeyError, match="signing key id 1"):
        open_bundle(sim.bundle(keys=stolen), terminal.trust, NOW)


def test_signer_change_without_the_root_is_refused():
    """The old signer-roll kind (4) is gone from the format, and a signing key the center made
    on its own (or a thief made) opens nothing until the root's key set lists it."""
    sim = Simulator()
    terminal = sim.terminal()
    assert 4 not in {k.value for k in BundleKind}
    bundle = sim.bundle()
    with pytest.raises(BundleFormatError, match="unknown kind 4"):
        open_bundle(bundle[:4] + b"\x04" + bundle[5:], terminal.trust, NOW)
    unlisted = add_signing_key(sim.center, sim.keyset)
    unlisted = dataclasses.replace(unlisted, signing_key_id=2)
    with pytest.raises(UnknownSigningKeyError, match="signing key id 2 is not in key set v1"):
        open_bundle(sim.bundle(keys=unlisted), terminal.trust, NOW)


def test_stolen_key_cannot_take_over_a_listed_id():
    """A thief signs with their own key under the listed id 1: the set binds id 1 to one key."""
    sim = Simulator()
    thief = Simulator().center  # another key, same id 1
    with pytest.raises(SignatureError, match="signing key id 1"):
        open_bundle(sim.bundle(keys=thief), sim.terminal().trust, NOW)


def test_backdated_bundle_cannot_use_a_key_before_its_validity():
    sim = Simulator()
    with pytest.raises(RetiredKeyError, match="created_at"):
        open_bundle(sim.bundle(created_at=NOW - 30 * DAY), sim.terminal().trust, NOW)


def test_retired_master_key_opens_nothing():
    """The root raises the master id range's lo: lists sealed under the old id are refused
    even when signed by the current key, and the terminal drops the old master key."""
    sim = Simulator()
    terminal = sim.terminal()
    sim.center, roll = roll_master_key(sim.center, sim.keyset, seq=8, created_at=NOW, valid_until=NOW + DAY)
    terminal = apply_master_roll(open_bundle(roll, terminal.trust, NOW), terminal)
    old_list = sim.bundle(keys=dataclasses.replace(sim.center, current_master_id=1))
    sim.master_range = (2, 100)
    data = sim.publish_keyset()
    terminal = terminal.with_keyset(verify_keyset(data, sim.root, terminal.keyset, NOW))
    assert [m.key_id for m in terminal.master_keys] == [2]
    with pytest.raises(RetiredKeyError, match=r"master key id 1 is outside key set v2's master id range \[2, 100\]"):
        open_bundle(old_list, terminal.trust, NOW)
    assert open_bundle(sim.bundle(), terminal.trust, NOW).header.master_key_id == 2


def test_master_roll_beyond_the_range_is_refused():
    sim = Simulator(master_range=(1, 2))
    terminal = sim.terminal()
    sim.center, roll = roll_master_key(sim.center, sim.keyset, seq=8, created_at=NOW, valid_until=NOW + DAY)
    terminal = apply_master_roll(open_bundle(roll, terminal.trust, NOW), terminal)
    with pytest.raises(KeyRollError, match=r"range \[1, 2\] is exhausted"):
        roll_master_key(sim.center, sim.keyset, seq=9, created_at=NOW, valid_until=NOW + DAY)


@pytest.mark.parametrize("seq", [2**64 - 1, 2**63])
def test_fast_forward_seq_in_a_header_is_a_format_error(seq):
    """A header at seq 2**64-1 or 2**63 (a thief's fast-forward) never reaches a store."""
    sim = Simulator()
    data = bytearray(sim.bundle())
    struct.pack_into(">Q", data, 9, seq)
    signed = bytes(data[:-64])
    data = signed + _primitives.ed25519_sign(sim.center.signing_key.seed, DOMAIN + signed)
    for parse in (read_unverified_header, lambda d: open_bundle(d, sim.terminal().trust, NOW)):
        with pytest.raises(BundleFormatError, match="seq must be an integer"):
            parse(data)


def test_new_epoch_and_new_key_recover_from_a_fast_forward():
    """A thief with signing key 1 pushed terminals to seq 2**63-1 in epoch 1. The root signs a
    key set with a new epoch and a new signing key: the thief's bundles open nothing, and the
    center's seq 1 of epoch 2 orders after (1, 2**63-1) by (epoch, seq)."""
    sim = Simulator()
    thief = sim.center
    pushed = open_bundle(sim.bundle(keys=thief, seq=2**63 - 1), sim.terminal().trust, NOW)
    terminal = sim.terminal()
    sim.center = add_signing_key(sim.center, sim.keyset)
    request = sim.request()
    request = dataclasses.replace(request, signing_keys=request.signing_keys[1:])
    data = sim.publish_keyset(request, new_epoch=True)
    terminal = terminal.with_keyset(verify_keyset(data, sim.root, terminal.keyset, NOW))
    with pytest.raises(UnknownSigningKeyError):
        open_bundle(sim.bundle(keys=thief, seq=2**63 - 1), terminal.trust, NOW)
    recovered = open_bundle(sim.bundle(seq=1), terminal.trust, NOW)
    assert (recovered.header.epoch, recovered.header.seq) > (pushed.header.epoch, pushed.header.seq)
    assert recovered.header.epoch == terminal.keyset.epoch == 2
