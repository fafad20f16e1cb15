"""Attacks on the one-way update channel (TUF's list: forged data, rollback, freeze,
mix-and-match, endless data, key compromise), each named after what it stops. Every
refusal is checked to leave the store byte-for-byte as it was (full SQL dump)."""

import numpy as np
import pytest

from crypto import (
    BundleError,
    BundleFormatError,
    BundleKind,
    SignatureError,
    UnknownMasterKeyError,
    UnknownSigningKeyError,
    provision,
    roll_master_key,
    roll_signing_key,
    seal_bundle,
)
from framing import Universe, diff
from receiver.errors import BundleBodyError, DeltaBaseError, ExpiredBundleError, RollbackError
from terminal_helpers import DAY_S, NOW, delta_bundle, full_bundle, full_dump, header, make_hot

OLD = make_hot(300, seed=11)


@pytest.fixture
def listed(store, center):
    """A store at seq 5 holding OLD."""
    store.apply_bundle(full_bundle(center, OLD, seq=5), NOW)
    return store


def refused_unchanged(store, home, data, error, now=NOW):
    before = full_dump(home)
    with pytest.raises(error) as info:
        store.apply_bundle(data, now)
    assert full_dump(home) == before
    return info.value


def test_rollback_is_refused(listed, home, center):
    err = refused_unchanged(listed, home, full_bundle(center, make_hot(10, seed=1), seq=4),
                            RollbackError)
    assert (err.bundle_seq, err.store_seq) == (4, 5)
    assert "older" in str(err)


def test_same_seq_is_a_noop_not_an_error(listed, home, center):
    before = full_dump(home)
    result = listed.apply_bundle(full_bundle(center, make_hot(10, seed=2), seq=5), NOW)
    assert not result.applied and result.seq == 5 and result.entries == len(OLD)
    assert full_dump(home) == before


def test_delta_on_wrong_base_names_needed_seq(listed, home, center):
    new = make_hot(300, seed=12)
    err = refused_unchanged(listed, home, delta_bundle(center, diff(OLD, new), seq=7, base_seq=6),
                            DeltaBaseError)
    assert (err.needed_seq, err.store_seq) == (6, 5)
    assert "needs base seq 6" in str(err) and "seq 5" in str(err)


def test_delta_on_empty_store_is_refused(store, home, center):
    refused_unchanged(store, home, delta_bundle(center, diff(OLD, OLD), seq=1, base_seq=0),
                      DeltaBaseError)


def test_expired_bundle_is_refused(listed, home, center):
    data = full_bundle(center, make_hot(10, seed=3), seq=6, created_at=NOW - DAY_S,
                       valid_until=NOW - 1)
    err = refused_unchanged(listed, home, data, ExpiredBundleError)
    assert err.valid_until == NOW - 1 and err.now == NOW


def test_bundle_valid_until_now_is_still_accepted(listed, center):
    assert listed.apply_bundle(full_bundle(center, OLD, seq=6, valid_until=NOW), NOW).applied


def test_truncated_bundle_refused_store_unchanged(listed, home, center):
    data = full_bundle(center, make_hot(50, seed=4), seq=6)
    for cut in (0, 1, 20, len(data) // 2, len(data) - 1):
        refused_unchanged(listed, home, data[:cut], BundleError)


def test_padded_bundle_refused_store_unchanged(listed, home, center):
    data = full_bundle(center, make_hot(50, seed=5), seq=6)
    for pad in (b"\0", b"\0" * 64, b"x" * 1000):
        refused_unchanged(listed, home, data + pad, BundleError)


def test_bitflipped_bundle_refused_store_unchanged(listed, home, center):
    data = full_bundle(center, make_hot(50, seed=6), seq=6)
    rng = np.random.default_rng(13)
    positions = set(rng.integers(0, len(data), 40).tolist()) | {0, len(data) - 1}
    for pos in sorted(positions):
        flipped = bytearray(data)
        flipped[pos] ^= 1 << int(rng.integers(0, 8))
        refused_unchanged(listed, home, bytes(flipped), BundleError)


def test_other_center_key_refused(listed, home, other_center):
    # Same key ids as ours are likely (both centers start at id 1): the signature decides.
    data = full_bundle(other_center, make_hot(10, seed=7), seq=9)
    refused_unchanged(listed, home, data, (SignatureError, UnknownSigningKeyError,
                                           UnknownMasterKeyError))


def test_unknown_master_key_refused(store, home, center):
    rolled, _ = roll_master_key(center, 100, NOW, NOW + DAY_S)  # roll never sent to terminal
    err = refused_unchanged(store, home, full_bundle(rolled, OLD, seq=6), UnknownMasterKeyError)
    assert str(rolled.current_master_id) in str(err)


def test_malformed_list_body_refused(listed, home, center):
    data = seal_bundle(header(center, BundleKind.FULL, 6), b"\xff" * 40, center)
    refused_unchanged(listed, home, data, BundleBodyError)


def test_delta_for_another_universe_refused(listed, home, center):
    other = Universe.parse("5000000000000000-5999999999999999")
    delta = diff(make_hot(0, seed=0, universe=other), make_hot(5, seed=8, universe=other))
    refused_unchanged(listed, home, delta_bundle(center, delta, 6, 5, universe=other),
                      BundleBodyError)


def test_master_key_roll_applies_transactionally_and_is_idempotent(listed, home, center):
    rolled, roll = roll_master_key(center, 1000, NOW, NOW + DAY_S)
    result = listed.apply_bundle(roll, NOW)
    assert result.applied and result.kind == BundleKind.MASTER_ROLL
    assert rolled.current_master_id in listed.keys().key_ids()["master_key_ids"]
    assert listed.state().seq == 5 and listed.state().key_roll_seq == 1000
    before = full_dump(home)
    assert not listed.apply_bundle(roll, NOW).applied  # carousel repeats it
    assert full_dump(home) == before
    # A list sealed under the new master opens, and a delta chain continues at seq 6.
    assert listed.apply_bundle(delta_bundle(rolled, diff(OLD, OLD), seq=6, base_seq=5), NOW).applied


def test_signer_roll_lets_new_signer_in(listed, center):
    rolled, roll = roll_signing_key(center, 1001, NOW, NOW + DAY_S)
    with pytest.raises(UnknownSigningKeyError):
        listed.apply_bundle(full_bundle(rolled, OLD, seq=6), NOW)
    assert listed.apply_bundle(roll, NOW).applied
    assert listed.apply_bundle(full_bundle(rolled, OLD, seq=6), NOW).applied


def test_expired_key_roll_refused(listed, home, center):
    _, roll = roll_master_key(center, 1002, NOW - 2 * DAY_S, NOW - DAY_S)
    refused_unchanged(listed, home, roll, ExpiredBundleError)


def test_forged_key_roll_refused(listed, home, center, other_center):
    _, roll = roll_master_key(other_center, 1003, NOW, NOW + DAY_S)
    refused_unchanged(listed, home, roll, BundleError)


def test_endless_data_refused_before_parsing(listed, home):
    refused_unchanged(listed, home, b"\0" * 1_000_000, BundleFormatError)


def test_terminal_with_only_old_keys_still_opens_old_bundles(home, center, tmp_path):
    from receiver.store.store import TerminalStore
    rolled, roll = roll_master_key(center, 1004, NOW, NOW + DAY_S)
    with TerminalStore.create(tmp_path / "t2", provision(center)) as s:
        s.apply_bundle(roll, NOW)
        assert s.apply_bundle(full_bundle(center, OLD, seq=1), NOW).applied
        assert s.apply_bundle(full_bundle(rolled, OLD, seq=2), NOW).applied
