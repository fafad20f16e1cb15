"""The offline root: k-of-n root sets, custodians signing in separate homes, TUF-style rotation."""

import dataclasses

import pytest
from crypto_simulator import FAST_KDF, Simulator

from crypto import (
    KeyFileError,
    MetadataFormatError,
    ReplayError,
    RootGapError,
    RootKeys,
    RootSet,
    ThresholdError,
    add_signatures,
    read_unverified_root_set,
    sign_root_set,
    verify_root_chain,
    verify_root_set,
)
from crypto import _metadata


@pytest.fixture(scope="module")
def keys():
    return RootKeys.generate(5)


def test_generate_numbers_keys_from_one(keys):
    assert [k.key_id for k in keys.keys] == [1, 2, 3, 4, 5]
    assert len({k.seed for k in keys.keys}) == 5


def test_root_set_round_trip_and_size(keys):
    root = RootSet.for_keys(keys, 3)
    assert RootSet.decode(root.encode()) == root
    assert len(root.encode()) == 6 + 36 * 5
    assert verify_root_set(sign_root_set(root, keys)) == root


def test_k_custodians_in_separate_homes_sign_in_turn(keys):
    """Three custodians each hold one key; each adds a signature to the same bytes."""
    root = RootSet.for_keys(keys, 3)
    data = sign_root_set(root, keys.subset((2,)))
    data = add_signatures(data, keys.subset((5,)))
    with pytest.raises(ThresholdError, match="2 valid signature"):
        verify_root_set(data)
    data = add_signatures(data, keys.subset((4,)))
    assert verify_root_set(data) == root
    assert read_unverified_root_set(data) == root


def test_adding_the_same_signature_twice_counts_once(keys):
    root = RootSet.for_keys(keys, 2)
    data = add_signatures(sign_root_set(root, keys.subset((1,))), keys.subset((1,)))
    assert len(_metadata.parse(data, None).signatures) == 1
    with pytest.raises(ThresholdError, match="1 valid signature"):
        verify_root_set(data)


def test_root_set_below_threshold_is_refused(keys):
    root = RootSet.for_keys(keys, 4)
    with pytest.raises(ThresholdError, match="root set v1 has 3 valid signature.*threshold of 4"):
        verify_root_set(sign_root_set(root, keys.subset((1, 2, 3))))


def test_duplicated_signature_entry_is_refused_as_malformed(keys):
    """One key's signature listed twice must not count twice: the parser refuses the encoding."""
    root = RootSet.for_keys(keys, 2)
    meta = _metadata.parse(sign_root_set(root, keys.subset((1,))), None)
    doubled = dataclasses.replace(meta, signatures=meta.signatures * 2).to_bytes()
    with pytest.raises(MetadataFormatError, match="strictly increasing"):
        verify_root_set(doubled)


def test_one_key_listed_under_two_ids_is_refused(keys):
    public = keys.keys[0].public_key
    with pytest.raises(ValueError, match="two ids"):
        RootSet(1, 2, ((1, public), (2, public)))


@pytest.mark.parametrize(("fields", "message"), [
    ({"version": 0}, "version"), ({"threshold": 0}, "threshold"), ({"threshold": 6}, "threshold"),
    ({"keys": ()}, "1 to 32"), ({"keys": ((0, bytes(32)),)}, "key id"),
])
def test_root_set_misuse_names_the_field(keys, fields, message):
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(RootSet.for_keys(keys, 2), **fields)


def test_root_keys_refuse_bad_subsets_and_repr_hides_seeds(keys):
    with pytest.raises(ValueError, match=r"no key id \[9\]"):
        keys.subset((9,))
    text = repr(keys) + repr(keys.keys[0])
    assert all(k.seed.hex() not in text for k in keys.keys)


def test_root_key_file_round_trip_and_wrong_passphrase(keys):
    data = keys.to_file("correct horse", FAST_KDF)
    assert RootKeys.from_file(data, "correct horse") == keys
    with pytest.raises(KeyFileError, match="wrong passphrase or corrupted key file"):
        RootKeys.from_file(data, "battery staple")
    assert all(k.seed not in data for k in keys.keys)


# ---- rotation (TUF specification section 5.3) ------------------------------------------------


def test_root_rotation_chain_k_of_n():
    """v1 (2 of 3) -> v2 (3 of 4, one key replaced, one added) -> v3 (1 of 1): each step signed
    by a threshold of the old set and of the new one."""
    sim = Simulator(n=3, k=2)
    trusted = sim.root
    old = sim.root_keys
    fresh = RootKeys.generate(2, first_key_id=4)
    v2_keys = RootKeys(old.subset((1, 2)).keys + fresh.keys)
    step2 = sim.rotate_root(v2_keys, 3, signers=RootKeys(old.subset((1, 3)).keys + fresh.keys))
    v3_keys = RootKeys.generate(1, first_key_id=10)
    step3 = sim.rotate_root(v3_keys, 1, signers=RootKeys(v2_keys.subset((1, 4, 5)).keys + v3_keys.keys))
    assert verify_root_chain(trusted, [step2, step3]) == sim.root
    assert sim.root.version == 3


def test_empty_chain_keeps_the_trusted_root(world):
    assert verify_root_chain(world.root, []) == world.root


def test_root_rotation_with_a_gap_is_refused():
    sim = Simulator(n=1, k=1)
    trusted = sim.root
    sim.rotate_root(RootKeys.generate(1, first_key_id=2), 1)
    v3 = sim.rotate_root(RootKeys.generate(1, first_key_id=3), 1)
    with pytest.raises(RootGapError, match="root set v3 does not follow the trusted root set v1"):
        verify_root_chain(trusted, [v3])


def test_replayed_old_root_set_is_refused():
    sim = Simulator(n=1, k=1)
    v1 = sim.root_sets[0]
    sim.rotate_root(RootKeys.generate(1, first_key_id=2), 1)
    with pytest.raises(ReplayError, match="root set v1 is not newer than the trusted root set v2"):
        verify_root_chain(sim.root, [v1])
    with pytest.raises(ReplayError, match="v2 is not newer"):
        verify_root_chain(sim.root, [sim.root_sets[1]])


def test_root_rotation_signed_only_by_the_new_keys_is_refused():
    """Whoever mints new keys cannot make a terminal trust them: the old root must agree."""
    sim = Simulator(n=3, k=2)
    trusted = sim.root
    attacker = RootKeys.generate(3, first_key_id=1)
    forged = sim.rotate_root(attacker, 2, signers=attacker)
    with pytest.raises(ThresholdError, match=r"root set v2 has 0 valid signature\(s\) from the trusted root set v1"):
        verify_root_chain(trusted, [forged])


def test_root_rotation_signed_only_by_the_old_keys_is_refused():
    """TUF 5.3.5: the new root must also be signed by a threshold of itself (its keys work)."""
    sim = Simulator(n=3, k=2)
    trusted, old = sim.root, sim.root_keys
    rotation = sim.rotate_root(RootKeys.generate(2, first_key_id=7), 2, signers=old)
    with pytest.raises(ThresholdError, match="from its own keys"):
        verify_root_chain(trusted, [rotation])


def test_root_rotation_below_the_old_threshold_is_refused():
    sim = Simulator(n=3, k=2)
    trusted, old = sim.root, sim.root_keys
    new = RootKeys.generate(1, first_key_id=9)
    rotation = sim.rotate_root(new, 1, signers=RootKeys(old.subset((2,)).keys + new.keys))
    with pytest.raises(ThresholdError, match="1 valid signature.*threshold of 2"):
        verify_root_chain(trusted, [rotation])


def test_key_set_signature_cannot_pass_as_root_set(world):
    """Domain separation: the root's signature over a key set never verifies over a root set,
    even when the body bytes are made identical."""
    body = world.root.encode()
    as_keyset = _metadata.sign(_metadata.SignedMetadata(_metadata.MetadataType.KEY_SET, body, ()),
                               world.root_keys.signers())
    relabelled = dataclasses.replace(as_keyset, type=_metadata.MetadataType.ROOT_SET).to_bytes()
    with pytest.raises(ThresholdError, match="0 valid"):
        verify_root_set(relabelled)


def test_key_set_given_as_root_set_is_refused_by_type(world):
    with pytest.raises(MetadataFormatError, match="this is a key set, not a root set"):
        verify_root_set(world.keyset_bytes)


def test_adding_signatures_beyond_the_limit_is_a_metadata_error(keys):
    """Someone else's bytes may already carry 32 signatures (all from unknown ids)."""
    meta = _metadata.parse(sign_root_set(RootSet.for_keys(keys, 1), keys), None)
    full = dataclasses.replace(meta, signatures=tuple((100 + i, bytes(64)) for i in range(32))).to_bytes()
    with pytest.raises(MetadataFormatError, match="above the limit of 32"):
        add_signatures(full, keys)
