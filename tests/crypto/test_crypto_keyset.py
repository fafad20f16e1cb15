"""Key sets: what the root signs, what a terminal accepts in place of its current set."""

import dataclasses

import pytest
from crypto_simulator import DAY, NOW, Simulator

from crypto import (
    EpochRollbackError,
    KeyRebindError,
    KeySet,
    KeySetExpiredError,
    KeySetNotYetValidError,
    KeySetRequest,
    MasterIdRange,
    MetadataFormatError,
    ReplayError,
    RootKeys,
    RootVersionError,
    SigningKeyEntry,
    ThresholdError,
    TokenKeyEntry,
    add_signatures,
    add_signing_key,
    read_unverified_keyset,
    sign_keyset,
    verify_keyset,
)


def test_first_key_set_is_version_1_epoch_1(world):
    ks = world.keyset
    assert (ks.version, ks.root_version, ks.epoch) == (1, 1, 1)
    assert [k.key_id for k in ks.signing_keys] == [world.center.signing_key_id]
    assert verify_keyset(world.keyset_bytes, world.root, None, NOW) == ks


def test_key_set_encoding_round_trip_and_size(world):
    body = world.keyset.encode()
    assert len(body) == 54 + 52 * 1 + 44 * 0
    assert KeySet.decode(body) == world.keyset
    assert read_unverified_keyset(world.keyset_bytes) == world.keyset


def test_next_key_set_replaces_the_current_one():
    sim = Simulator()
    first = sim.keyset
    sim.center = add_signing_key(sim.center, sim.keyset)
    second = sim.publish_keyset()
    accepted = verify_keyset(second, sim.root, first, NOW)
    assert accepted.version == 2 and [k.key_id for k in accepted.signing_keys] == [1, 2]


def test_a_terminal_that_missed_key_sets_applies_the_newest():
    sim = Simulator()
    first = sim.keyset
    for _ in range(3):
        sim.publish_keyset()
    assert verify_keyset(sim.keyset_bytes, sim.root, first, NOW).version == 4


def test_k_custodians_sign_a_key_set_in_turn():
    sim = Simulator(n=3, k=2)
    keyset, _ = sim.sign_next_keyset()
    data = sign_keyset(keyset, sim.root_keys.subset((3,)))
    with pytest.raises(ThresholdError):
        verify_keyset(data, sim.root, sim.keyset, NOW)
    data = add_signatures(data, sim.root_keys.subset((1,)))
    assert verify_keyset(data, sim.root, sim.keyset, NOW) == keyset


def test_key_set_below_the_threshold_is_refused():
    sim = Simulator(n=3, k=2)
    _, data = sim.sign_next_keyset(signers=sim.root_keys.subset((2,)))
    with pytest.raises(ThresholdError, match=r"key set v2 has 1 valid signature\(s\) from root set v1's keys"):
        verify_keyset(data, sim.root, sim.keyset, NOW)


def test_key_set_signed_by_the_online_signing_key_is_refused(world):
    """The online center (or a thief of its key) cannot sign a key set: only root keys count."""
    keyset, _ = world.sign_next_keyset()
    as_root = RootKeys.generate(2)  # anything that is not the root's keys, e.g. a stolen signing seed
    with pytest.raises(ThresholdError, match="0 valid"):
        verify_keyset(sign_keyset(keyset, as_root), world.root, world.keyset, NOW)


def test_replayed_old_key_set_is_refused():
    sim = Simulator()
    old = sim.keyset_bytes
    sim.publish_keyset()
    with pytest.raises(ReplayError, match="key set v1 is not newer than the current key set v2"):
        verify_keyset(old, sim.root, sim.keyset, NOW)
    with pytest.raises(ReplayError, match="v2 is not newer"):
        verify_keyset(sim.keyset_bytes, sim.root, sim.keyset, NOW)


def test_key_set_that_moves_the_epoch_backwards_is_refused():
    sim = Simulator()
    sim.publish_keyset(new_epoch=True)
    assert sim.keyset.epoch == 2
    _, back = sim.sign_next_keyset(epoch=1)
    with pytest.raises(EpochRollbackError, match="key set v3 has epoch 1, below the current key set v2's epoch 2"):
        verify_keyset(back, sim.root, sim.keyset, NOW)


def test_new_epoch_is_accepted():
    sim = Simulator()
    current = sim.keyset
    data = sim.publish_keyset(new_epoch=True)
    assert verify_keyset(data, sim.root, current, NOW).epoch == 2


def test_key_set_under_another_root_version_is_refused():
    sim = Simulator(n=1, k=1)
    old_root = sim.root
    sim.rotate_root(RootKeys.generate(1, first_key_id=2), 1)
    _, data = sim.sign_next_keyset()  # root_version 2
    with pytest.raises(RootVersionError, match="signed under root set v2, the trusted root set is v1"):
        verify_keyset(data, old_root, sim.keyset, NOW)
    assert verify_keyset(data, sim.root, sim.keyset, NOW).root_version == 2


def test_key_set_from_a_rotated_out_root_is_refused():
    """After rotating away from compromised root keys, their key sets no longer count."""
    sim = Simulator(n=1, k=1)
    stolen = sim.root_keys
    sim.rotate_root(RootKeys.generate(1, first_key_id=2), 1)
    keyset, _ = sim.sign_next_keyset()
    with pytest.raises(ThresholdError):
        verify_keyset(sign_keyset(keyset, stolen), sim.root, sim.keyset, NOW)


def test_key_set_that_rebinds_a_key_id_is_refused():
    sim = Simulator()
    other = Simulator().keyset.signing_keys[0]  # another key under the same id 1
    request = sim.request(signing_keys=(dataclasses.replace(sim.keyset.signing_keys[0], public_key=other.public_key),))
    _, data = sim.sign_next_keyset(request)
    with pytest.raises(KeyRebindError, match="binds key id 1 to another key than key set v1"):
        verify_keyset(data, sim.root, sim.keyset, NOW)


def test_expired_key_set_is_refused(world):
    with pytest.raises(KeySetExpiredError, match="key set v1 expired at"):
        verify_keyset(world.keyset_bytes, world.root, None, world.keyset.expires + 1)
    assert verify_keyset(world.keyset_bytes, world.root, None, world.keyset.expires).version == 1


def test_key_set_not_yet_valid_is_refused_for_now(world):
    with pytest.raises(KeySetNotYetValidError, match="not valid before"):
        verify_keyset(world.keyset_bytes, world.root, None, world.keyset.valid_from - 1)


def test_key_set_with_no_signing_key_is_a_valid_kill_switch():
    sim = Simulator()
    _, data = sim.sign_next_keyset(sim.request(signing_keys=()))
    assert verify_keyset(data, sim.root, sim.keyset, NOW).signing_keys == ()


def test_request_round_trip(world):
    request = world.request(signing_keys=(),
                            token_keys=(TokenKeyEntry(9, world.keyset.signing_keys[0].public_key, NOW),))
    assert KeySetRequest.from_bytes(request.to_bytes()) == request
    with pytest.raises(MetadataFormatError, match="bad magic"):
        KeySetRequest.from_bytes(world.keyset_bytes)


@pytest.mark.parametrize(("change", "message"), [
    (lambda ks: {"version": 0}, "version"),
    (lambda ks: {"epoch": 2**32}, "epoch"),
    (lambda ks: {"expires": ks.valid_from - 1}, "after it ends"),
    (lambda ks: {"expires": 2**63}, "2\\*\\*63|9223372036854775807"),
    (lambda ks: {"signing_keys": list(ks.signing_keys)}, "tuple"),
    (lambda ks: {"token_keys": (TokenKeyEntry(1, ks.signing_keys[0].public_key, 0),)}, "unique|two ids"),
    (lambda ks: {"signing_keys": (dataclasses.replace(ks.signing_keys[0], valid_until=ks.expires + 1),)},
     "after the set expires"),
    (lambda ks: {"master_ids": MasterIdRange(1, 5, ks.valid_from, ks.expires + 1)}, "after the set expires"),
])
def test_key_set_misuse_names_the_field(world, change, message):
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(world.keyset, **change(world.keyset))


def test_entry_misuse_names_the_field(world):
    public = world.keyset.signing_keys[0].public_key
    with pytest.raises(ValueError, match="starts at 5, after it ends at 4"):
        SigningKeyEntry(1, public, 5, 4)
    with pytest.raises(ValueError, match="hi"):
        MasterIdRange(5, 4, 0, 1)
    with pytest.raises(ValueError, match="lo"):
        MasterIdRange(0, 4, 0, 1)
    with pytest.raises(ValueError, match="not a valid Ed25519"):
        TokenKeyEntry(3, b"\xff" * 31 + b"\x7f", 0)


def test_master_range_and_validity_helpers():
    ids = MasterIdRange(3, 9, NOW, NOW + DAY)
    assert 3 in ids and 9 in ids and 2 not in ids and 10 not in ids
    assert ids.valid_at(NOW) and ids.valid_at(NOW + DAY) and not ids.valid_at(NOW + DAY + 1)
