"""Key rotation under the key set: master rolls on air, signing keys through the root."""

import dataclasses

import pytest
from crypto_simulator import DAY, NOW, Simulator

from crypto import (
    BundleKind,
    KeyRollError,
    KeySetMismatchError,
    MasterIdRange,
    MasterKey,
    OpenedBundle,
    UnknownMasterKeyError,
    adopt_keyset,
    add_signing_key,
    apply_master_roll,
    keyset_request,
    open_bundle,
    roll_master_key,
    verify_keyset,
)
from crypto import _primitives


def _roll(sim, seq=10):
    keys, roll = roll_master_key(sim.center, sim.keyset, seq=seq, created_at=NOW, valid_until=NOW + DAY)
    return keys, roll


# ---- master rolls -----------------------------------------------------------------------------


def test_master_roll_makes_next_key_current(world):
    keys, _ = _roll(world)
    assert keys.current_master_id == 2
    assert [m.key_id for m in keys.master_keys] == [1, 2]
    assert keys.master_keys[0] == world.center.master_keys[0]


def test_master_roll_bundle_is_sealed_under_old_key_in_the_key_sets_epoch(world, trust):
    _, roll = _roll(world)
    opened = open_bundle(roll, trust, NOW)
    assert opened.header.kind is BundleKind.MASTER_ROLL
    assert (opened.header.master_key_id, opened.header.epoch) == (1, world.keyset.epoch)
    assert len(_primitives.aes_key_unwrap(world.center.current_master.key, opened.body[5:])) == 32


def test_terminal_that_applied_master_roll_opens_new_and_old_bundles(world, terminal):
    keys, roll = _roll(world)
    updated = apply_master_roll(open_bundle(roll, terminal.trust, NOW), terminal)
    assert [m.key_id for m in updated.master_keys] == [1, 2]
    assert open_bundle(world.bundle(b"list", keys=keys), updated.trust, NOW).body == b"list"
    assert open_bundle(world.bundle(b"old"), updated.trust, NOW).body == b"old"


def test_terminal_that_missed_master_roll_names_the_key(world, trust):
    keys, _ = _roll(world)
    with pytest.raises(UnknownMasterKeyError, match="master key id 2"):
        open_bundle(world.bundle(keys=keys), trust, NOW)


def test_chained_master_rolls_in_order():
    sim = Simulator()
    terminal = sim.terminal()
    for step in range(3):
        sim.center, roll = _roll(sim, seq=20 + step)
        terminal = apply_master_roll(open_bundle(roll, terminal.trust, NOW), terminal)
    assert [m.key_id for m in terminal.master_keys] == [1, 2, 3, 4]
    assert open_bundle(sim.bundle(b"x"), terminal.trust, NOW).body == b"x"
    assert sim.terminal() == terminal


def test_missed_middle_roll_cannot_be_skipped():
    sim = Simulator()
    terminal = sim.terminal()
    sim.center, _ = _roll(sim)
    _, second = _roll(sim, seq=11)  # sealed under key 2
    with pytest.raises(UnknownMasterKeyError, match="master key id 2"):
        open_bundle(second, terminal.trust, NOW)


def test_repeated_roll_is_idempotent(world, terminal):
    _, roll = _roll(world)
    once = apply_master_roll(open_bundle(roll, terminal.trust, NOW), terminal)
    assert apply_master_roll(open_bundle(roll, once.trust, NOW), once) == once


def test_roll_rebinding_a_held_key_id_is_refused(world, terminal):
    """Two different rolls for id 2 (e.g. from a center restored from a backup)."""
    _, roll_a = _roll(world)
    _, roll_b = _roll(world)
    held = apply_master_roll(open_bundle(roll_a, terminal.trust, NOW), terminal)
    with pytest.raises(KeyRollError, match="rebinds master key id 2"):
        apply_master_roll(open_bundle(roll_b, held.trust, NOW), held)


def test_roll_naming_an_id_outside_the_range_is_refused(world, terminal):
    _, roll = _roll(world)
    opened = open_bundle(roll, terminal.trust, NOW)
    narrow = terminal.with_keyset(dataclasses.replace(
        terminal.keyset, master_ids=MasterIdRange(1, 1, NOW - DAY, NOW + DAY)))
    with pytest.raises(KeyRollError, match=r"master key id 2, outside key set v1's master id range \[1, 1\]"):
        apply_master_roll(opened, narrow)


def test_non_roll_bundle_is_not_a_key_roll(world, trust, terminal):
    opened = open_bundle(world.bundle(), trust, NOW)
    with pytest.raises(KeyRollError, match="FULL bundle, not a master key roll"):
        apply_master_roll(opened, terminal)


def test_malformed_roll_bodies_are_refused(world, trust, terminal):
    opened = open_bundle(world.bundle(b"\x01\x00", kind=BundleKind.MASTER_ROLL), trust, NOW)
    with pytest.raises(KeyRollError, match="body is 2 bytes"):
        apply_master_roll(opened, terminal)
    good = open_bundle(_roll(world)[1], trust, NOW)
    for body, message in ((b"\x09" + good.body[1:], "version 9"),
                          (good.body[:-1] + bytes([good.body[-1] ^ 1]), "does not unwrap under master key id 1")):
        with pytest.raises(KeyRollError, match=message):
            apply_master_roll(OpenedBundle(good.header, body, good.digest), terminal)


def test_roll_refused_when_current_master_is_outside_the_range(world):
    keyset = dataclasses.replace(world.keyset, master_ids=MasterIdRange(5, 9, NOW - DAY, NOW + DAY))
    with pytest.raises(KeyRollError, match=r"current master key id 1 is outside .* range \[5, 9\]"):
        roll_master_key(world.center, keyset, seq=1, created_at=NOW, valid_until=NOW + DAY)


def test_roll_refused_when_the_range_is_exhausted_names_the_range(world):
    top = dataclasses.replace(world.center, master_keys=world.center.master_keys + (MasterKey(100, bytes(32)),))
    with pytest.raises(KeyRollError, match=r"key set v1's master id range \[1, 100\] is exhausted"):
        roll_master_key(top, world.keyset, seq=1, created_at=NOW, valid_until=NOW + DAY)


# ---- signing keys through the root ------------------------------------------------------------


def test_add_signing_key_picks_an_unused_id_and_keeps_the_current_one(world):
    keys = add_signing_key(world.center, world.keyset)
    assert [k.key_id for k in keys.signing_keys] == [1, 2] and keys.signing_key_id == 1
    assert add_signing_key(keys, world.keyset).signing_keys[-1].key_id == 3


def test_keyset_request_lists_the_chosen_keys_over_the_whole_validity(world):
    keys = add_signing_key(world.center, world.keyset)
    ids = MasterIdRange(1, 50, NOW, NOW + DAY)
    request = keyset_request(keys, valid_from=NOW, expires=NOW + DAY, master_ids=ids, signing_key_ids=(2,))
    assert [(e.key_id, e.valid_from, e.valid_until) for e in request.signing_keys] == [(2, NOW, NOW + DAY)]
    assert request.signing_keys[0].public_key == keys.signing_keys[1].public_key
    with pytest.raises(ValueError, match=r"no signing key id \[7\]"):
        keyset_request(keys, valid_from=NOW, expires=NOW + DAY, master_ids=ids, signing_key_ids=(7,))


def test_adopting_a_key_set_switches_the_signing_key_and_deletes_dropped_seeds():
    sim = Simulator()
    sim.center = add_signing_key(sim.center, sim.keyset)
    sim.center = add_signing_key(sim.center, sim.keyset)  # id 3: stays pending
    listed = tuple(k for k in sim.request().signing_keys if k.key_id == 2)
    keyset, _ = sim.sign_next_keyset(sim.request(signing_keys=listed))
    adopted = adopt_keyset(sim.center, keyset, NOW)
    assert adopted.signing_key_id == 2
    assert [k.key_id for k in adopted.signing_keys] == [2, 3]


def test_adopting_a_key_set_that_lists_no_held_key_valid_now_is_refused(world, other_world):
    for keyset in (dataclasses.replace(world.keyset, signing_keys=()), other_world.keyset):
        with pytest.raises(KeySetMismatchError, match="lists no signing key this center holds"):
            adopt_keyset(world.center, keyset, NOW)
    with pytest.raises(KeySetMismatchError, match="valid at"):
        adopt_keyset(world.center, world.keyset, world.keyset.expires + 1)


def test_adopting_a_key_set_whose_range_excludes_the_current_master_is_refused(world):
    keyset = dataclasses.replace(world.keyset, master_ids=MasterIdRange(2, 9, NOW - DAY, NOW + DAY))
    with pytest.raises(KeySetMismatchError, match=r"current master key id 1 is outside key set v1's"):
        adopt_keyset(world.center, keyset, NOW)


def test_adopting_a_key_set_drops_retired_master_keys():
    sim = Simulator()
    sim.center, _ = _roll(sim)
    sim.master_range = (2, 100)
    sim.publish_keyset()
    assert [m.key_id for m in sim.center.master_keys] == [2]


def test_a_terminal_follows_a_signing_key_change_through_the_key_set():
    sim = Simulator()
    terminal = sim.terminal()
    sim.center = add_signing_key(sim.center, sim.keyset)
    data = sim.publish_keyset()
    terminal = terminal.with_keyset(verify_keyset(data, sim.root, terminal.keyset, NOW))
    assert sim.center.signing_key_id == 2
    assert open_bundle(sim.bundle(), terminal.trust, NOW).header.signing_key_id == 2
