"""Attacks on the one-way update channel (TUF's list: forged data, rollback, fast-forward,
freeze, mix-and-match, endless data, key compromise), each test named after what it stops and
run against one simulated center (``tests/simcenter.py``): mutate the center, hand the store
what it makes, assert. Every refusal leaves the store byte for byte as it was (SQL dump)."""

import numpy as np
import pytest

from crypto import (
    BundleFormatError,
    MetadataFormatError,
    ReplayError,
    RetiredKeyError,
    RootGapError,
    SignatureError,
    ThresholdError,
    UnknownSigningKeyError,
    bundle_digest,
)
from receiver.errors import (
    CapacityError,
    DeltaBaseError,
    EpochAheadError,
    EpochError,
    ExpiredBundleError,
    ForkError,
    RollbackError,
)
from receiver.payment.checks import check_card
from receiver.store.store import TerminalStore
from terminal_helpers import full_dump
from tests.simcenter import DAY_S, NOW, SimCenter, make_hot

OLD = make_hot(300, seed=11)


@pytest.fixture
def listed(store, sim):
    """A store holding OLD as list seq 1 of epoch 1."""
    store.apply_bundle(sim.full(OLD), NOW)
    return store


def refused_unchanged(store, home, data, error, now=NOW):
    before = full_dump(home)
    with pytest.raises(error) as info:
        store.apply_bundle(data, now)
    assert full_dump(home) == before
    return info.value


# -- rollback, replay, freeze ----------------------------------------------------------------

def test_rollback_is_refused(listed, home, sim):
    old = sim.full(make_hot(10, seed=1), record=False, seq=1)
    listed.apply_bundle(sim.full(make_hot(20, seed=2)), NOW)  # now at seq 2
    err = refused_unchanged(listed, home, old, ForkError)  # another seq 1: a fork, even worse
    genuine_old = sim.full(OLD, record=False, seq=1)
    err = refused_unchanged(listed, home, genuine_old, (RollbackError, ForkError))
    assert "seq 1" in str(err)


def test_replayed_genuine_list_is_superseded_not_applied(listed, home, sim):
    first = sim.full(OLD, record=False, seq=1, prev=sim.head()[1])  # not the one applied
    listed.apply_bundle(sim.delta(make_hot(305, seed=12), 1), NOW)
    before = full_dump(home)
    with pytest.raises((RollbackError, ForkError)):
        listed.apply_bundle(first, NOW)
    assert full_dump(home) == before


def test_expired_list_is_refused(store, home, sim):
    refused_unchanged(store, home, sim.full(OLD, valid_for=60), ExpiredBundleError, now=NOW + 61)


def test_freeze_by_replaying_an_old_carousel_makes_the_terminal_stale(listed, home, sim):
    """An attacker who replays an old but genuine carousel (or jams the channel) cannot make a
    terminal believe its list is current: the heartbeat says what is current and ages."""
    listed.apply_bundle(sim.heartbeat(), NOW)
    assert listed.state().stale_why(NOW) is None
    newer = sim.full(make_hot(310, seed=13))  # the center moves on; the terminal misses it
    listed.apply_bundle(sim.heartbeat(now=NOW + 60), NOW + 60)
    why = listed.state().stale_why(NOW + 60)
    assert "heartbeat says list seq 2" in why
    assert check_card(listed, int(OLD.ids[0]), NOW + 60).stale
    # Replaying the old heartbeat later is refused as expired and changes nothing; silence
    # beyond the heartbeat's max age is stale too.
    refused_unchanged(listed, home, sim.heartbeat(now=NOW - 7200), ExpiredBundleError,
                      now=NOW + 60)
    # Once it hears the newer list it is current again, until the heartbeats stop coming.
    listed.apply_bundle(newer, NOW + 60)
    assert listed.state().stale_why(NOW + 60) is None
    quiet = NOW + 60 + listed.state().heartbeat_max_age_s + 1
    assert listed.state().stale_why(quiet).startswith("no heartbeat for")


def test_a_terminal_that_hears_only_older_bundles_says_it_stopped_following(listed, home, sim):
    listed.apply_bundle(sim.delta(make_hot(302, seed=14), 1), NOW)
    old = sim.full(OLD, record=False, seq=1, prev=bytes(32))
    for t in range(0, 1200, 60):
        with pytest.raises((RollbackError, ForkError)):
            listed.apply_bundle(old, NOW + t)
        listed.note_heard(False, NOW + t)
    assert not listed.state().following(NOW + 1200)
    assert listed.status(NOW + 1200)["following"] is False


# -- forged data and key compromise ---------------------------------------------------------

def test_bundle_from_another_center_is_refused(store, home, other_sim):
    err = refused_unchanged(store, home, other_sim.full(OLD), (SignatureError,
                                                              UnknownSigningKeyError))
    assert "signing key id 1" in str(err)


def test_forged_bit_flips_are_refused(store, home, sim):
    data = bytearray(sim.full(OLD))
    for position in (0, 4, 9, 60, 100, len(data) // 2, len(data) - 1):
        flipped = bytearray(data)
        flipped[position] ^= 0x01
        before = full_dump(home)
        with pytest.raises(Exception) as info:
            store.apply_bundle(bytes(flipped), NOW)
        assert full_dump(home) == before
        assert isinstance(info.value, (BundleFormatError, SignatureError, UnknownSigningKeyError,
                                       ForkError, RollbackError, ExpiredBundleError, EpochError,
                                       EpochAheadError)) or "bundle" in str(info.value)


def test_forged_with_a_retired_key_opens_nothing(listed, home, sim):
    """A signing key the root left out of the newest key set opens nothing at once."""
    thief = sim.stolen()
    new_set = sim.replace_signing_key()
    listed.apply_bundle(new_set, NOW)
    forged = sim.full(make_hot(1, seed=3), keys=thief, record=False)
    err = refused_unchanged(listed, home, forged, UnknownSigningKeyError)
    assert "not in key set v2" in str(err)
    # ... while the center's new key works, chained to what the terminal holds.
    listed.apply_bundle(sim.full(make_hot(320, seed=4)), NOW)
    assert listed.state().seq == 2


def test_signer_change_without_the_root_is_impossible(listed, home, sim):
    """A stolen online key cannot name its successor: no bundle kind carries a signing key,
    and a key set the thief signs with the online key is no key set."""
    from crypto import KeySet, sign_keyset

    thief = sim.stolen()
    fake_root = type(sim.root)((type(sim.root.keys[0])(1, thief.signing_key.seed),))
    keyset = KeySet(sim.keyset.version + 1, 1, 1, sim.keyset.valid_from, sim.keyset.expires,
                    sim.keyset.signing_keys, sim.keyset.master_ids)
    err = refused_unchanged(listed, home, sign_keyset(keyset, fake_root), ThresholdError)
    assert "root" in str(err)


def test_a_key_set_below_the_threshold_is_refused(home):
    sim = SimCenter(root_keys=3, threshold=2)
    with TerminalStore.create(home, sim.terminal_keys()) as store:
        one = type(sim.root)(sim.root.keys[:1])
        weak = sim.sign_keyset(sim._request(), signers=one)
        refused_unchanged(store, home, weak, ThresholdError)


def test_a_replayed_old_key_set_is_refused(listed, home, sim):
    first = sim.keyset_bytes
    listed.apply_bundle(sim.replace_signing_key(keep_old_for_tokens=True), NOW)
    refused_unchanged(listed, home, first, ReplayError)
    assert not listed.apply_bundle(sim.keyset_bytes, NOW).applied  # the same set: no change


def test_a_root_rotation_chain_is_followed_and_a_gap_waits(store, home, sim):
    second = sim.rotate_root(add=1)
    third = sim.rotate_root(add=1, remove=(1,))
    refused_unchanged(store, home, third, RootGapError)  # v3 before v2: kept for later
    store.apply_bundle(second, NOW)
    store.apply_bundle(third, NOW)
    assert store.keys().root_set.version == 3
    # A key set signed by the rotated root now opens; one signed by the removed key does not.
    store.apply_bundle(sim.sign_keyset(sim._request()), NOW)
    assert store.keys().keyset.version == 2


def test_a_root_rotation_signed_only_by_the_new_keys_is_refused(store, home, sim):
    refused_unchanged(store, home, sim.rotate_root(add=1, sign_with_old=False), ThresholdError)


# -- fast-forward and recovery by a new epoch ------------------------------------------------

def test_fast_forward_then_recovery_by_a_new_epoch(listed, home, sim):
    """A stolen key signs an empty list at the highest sequence number: the terminal applies it
    (it is genuine) and every later list would be a rollback. The root starts a new epoch
    without the stolen key, and the terminal follows the center again."""
    thief = sim.stolen()
    top = 2**63 - 1
    empty = make_hot(0, seed=0)
    listed.apply_bundle(sim.full(empty, seq=top, keys=thief, record=False,
                                 prev=bytes(32)), NOW)
    assert listed.state().seq == top
    card = int(OLD.ids[0])
    assert check_card(listed, card, NOW).verdict == "accept"  # the damage
    refused_unchanged(listed, home, sim.full(OLD, seq=2, record=False), RollbackError)
    # Recovery: a new key set, new epoch, the thief's key gone.
    listed.apply_bundle(sim.replace_signing_key(new_epoch=True), NOW)
    assert listed.state().stale_why(NOW).startswith("the key set started epoch 2")
    assert check_card(listed, card, NOW).stale
    refused_unchanged(listed, home, sim.full(empty, seq=top, keys=thief, record=False,
                                             prev=bytes(32)), (UnknownSigningKeyError, EpochError))
    listed.apply_bundle(sim.full(OLD), NOW)
    state = listed.state()
    assert (state.epoch, state.seq, state.stale_why(NOW)) == (2, 1, None)
    assert check_card(listed, card, NOW).verdict == "refuse"


def test_sequence_numbers_beyond_the_store_are_refused_as_bad_input(store, home, sim):
    data = bytearray(sim.full(OLD, record=False))
    data[9:17] = (2**64 - 1).to_bytes(8, "big")  # seq u64 max: a legal-looking header value
    refused_unchanged(store, home, bytes(data), BundleFormatError)


def test_lists_of_an_older_epoch_are_refused(store, home, sim):
    old_epoch = sim.full(OLD, record=False)
    store.apply_bundle(sim.replace_signing_key(new_epoch=True), NOW)
    refused_unchanged(store, home, old_epoch, (EpochError, UnknownSigningKeyError))


def test_a_list_of_a_newer_epoch_waits_for_its_key_set(store, home, sim):
    first_set = sim.keyset_bytes
    new_set = sim.replace_signing_key(new_epoch=True)
    ahead = sim.full(OLD)
    refused_unchanged(store, home, ahead, (EpochAheadError, UnknownSigningKeyError))
    store.apply_bundle(new_set, NOW)
    store.apply_bundle(ahead, NOW)
    assert store.state().epoch == 2 and first_set != new_set


# -- forks -----------------------------------------------------------------------------------

def test_a_fork_from_a_restored_center_is_detected(listed, home, sim):
    """A center restored from a backup reuses sequence numbers with other content."""
    listed.apply_bundle(sim.delta(make_hot(301, seed=20), 1), NOW)
    forked = sim.full(make_hot(5, seed=21), seq=2, record=False)  # another seq 2
    err = refused_unchanged(listed, home, forked, ForkError)
    assert "forked" in str(err)
    next_on_fork = sim.full(make_hot(6, seed=22), seq=3, record=False, prev=bundle_digest(forked))
    refused_unchanged(listed, home, next_on_fork, ForkError)


def test_a_heartbeat_naming_another_head_is_a_fork(listed, home, sim):
    refused_unchanged(listed, home, sim.heartbeat(digest=bytes(range(32))), ForkError)


# -- deltas any terminal can apply -------------------------------------------------------------

def test_a_delta_on_every_base_from_the_full_to_the_current_seq(home, sim):
    """Whatever list of the epoch a terminal holds, the newest cumulative delta takes it to the
    newest list, whatever was revoked and reinstated in between."""
    lists = [make_hot(100, seed=30)]
    bundles = [sim.full(lists[0])]
    rng = np.random.default_rng(31)
    for step in range(5):
        prev = lists[-1]
        keep = prev.select(rng.random(len(prev)) > 0.1)  # some reinstated
        back = prev.select(rng.random(len(prev)) < 0.05)  # and some of them revoked again
        new = make_hot(8, seed=40 + step)
        ids = np.union1d(np.union1d(keep.ids, back.ids), new.ids)
        lists.append(type(prev)(ids, np.zeros(ids.size, np.uint8), np.zeros(ids.size, np.uint16)))
        bundles.append(sim.delta(lists[-1], 1))
    newest = bundles[-1]
    for held in range(1, len(bundles)):
        with TerminalStore.create(home / f"t{held}", sim.terminal_keys()) as store:
            store.apply_bundle(bundles[0], NOW)
            if held > 1:
                store.apply_bundle(bundles[held - 1], NOW)
            store.apply_bundle(newest, NOW)
            assert np.array_equal(store.hot_list().ids, lists[-1].ids), held


def test_a_delta_above_the_held_list_waits_for_its_base(listed, home, sim):
    sim.full(make_hot(40, seed=50))                # seq 2, a full the terminal missed
    delta = sim.delta(make_hot(45, seed=51), 2)    # seq 3, from base 2
    err = refused_unchanged(listed, home, delta, DeltaBaseError)
    assert (err.needed_seq, err.store_seq) == (2, 1)


# -- endless data and capacity --------------------------------------------------------------

def test_a_list_over_the_terminal_capacity_is_refused_before_it_is_decoded(home, sim):
    with TerminalStore.create(home, sim.terminal_keys(), capacity=100) as small:
        refused_unchanged(small, home, sim.full(make_hot(101, seed=60)), CapacityError)
        small.apply_bundle(sim.full(make_hot(100, seed=61), seq=1, record=False, prev=bytes(32)),
                           NOW)
        assert small.state().entries == 100


def test_endless_data_is_refused_by_its_size(store, home, sim):
    data = sim.full(OLD, record=False) + bytes(64 * 2**20)
    refused_unchanged(store, home, data, BundleFormatError)


def test_garbage_key_set_is_refused_naming_it(store, home):
    refused_unchanged(store, home, b"HCM\x01\x05" + bytes(40), MetadataFormatError)
