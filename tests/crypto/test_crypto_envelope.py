"""Sealing and opening bundles: layout, limits, the order of checks, and every failure type."""

import dataclasses
import hashlib
import struct

import pytest
from crypto_simulator import DAY, NOW, Simulator

from crypto import (
    HEADER_BYTES,
    MAX_BODY_BYTES,
    MAX_BUNDLE_BYTES,
    NO_DIGEST,
    SEAL_OVERHEAD_BYTES,
    SIGNED_OVERHEAD_BYTES,
    BundleFormatError,
    BundleKind,
    DecryptError,
    KeyUnwrapError,
    MasterIdRange,
    MasterKey,
    RetiredKeyError,
    SignatureError,
    Trust,
    UnknownMasterKeyError,
    UnknownSigningKeyError,
    bundle_digest,
    open_bundle,
    read_unverified_header,
    seal_bundle,
)
from crypto import _primitives
from crypto.envelope import DOMAIN

WRAPPED_AT = HEADER_BYTES
NONCE_AT = WRAPPED_AT + 40
CIPHERTEXT_AT = NONCE_AT + 12
# Offsets of the header fields (envelope.py's layout table).
OFFSETS = {"epoch": 5, "seq": 9, "base_seq": 17, "created_at": 25, "valid_until": 33,
           "master_key_id": 41, "signing_key_id": 45, "prev_digest": 49, "body_len": 81}
UNSEALED = (BundleKind.HEARTBEAT, BundleKind.ANNOUNCE)


def _resign(data: bytes, keys) -> bytes:
    signed = data[:-64]
    return signed + _primitives.ed25519_sign(keys.signing_key.seed, DOMAIN + signed)


def _patch(data: bytes, field: str, fmt: str, value) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, OFFSETS[field], value)
    return bytes(out)


def test_overheads_are_217_and_149_bytes(world):
    assert HEADER_BYTES == 85
    assert SEAL_OVERHEAD_BYTES == 217 and SIGNED_OVERHEAD_BYTES == 149
    for n in (0, 1, 200):
        assert len(world.bundle(bytes(n))) == SEAL_OVERHEAD_BYTES + n
        assert len(world.bundle(bytes(n), kind=BundleKind.HEARTBEAT)) == SIGNED_OVERHEAD_BYTES + n


def test_kind_values_leave_4_unused_and_5_6_to_signed_metadata():
    assert {k.value for k in BundleKind} == {1, 2, 3, 7, 8}


@pytest.mark.parametrize("body", [b"", b"x", bytes(range(256)) * 8])
@pytest.mark.parametrize("kind", list(BundleKind))
def test_round_trip(world, trust, kind, body):
    data = world.bundle(body, kind=kind, prev_digest=hashlib.sha256(b"previous").digest())
    opened = open_bundle(data, trust, NOW)
    assert opened.header == read_unverified_header(data)
    assert opened.header.kind is kind and opened.header.epoch == world.keyset.epoch
    assert opened.body == body
    assert opened.digest == bundle_digest(data) == hashlib.sha256(data).digest()


def test_round_trip_extreme_header_values(world, trust):
    top = 2**63 - 1
    data = world.bundle(b"d", kind=BundleKind.DELTA, epoch=2**32 - 1, seq=top, base_seq=top - 1,
                        created_at=NOW, valid_until=top)
    assert open_bundle(data, trust, NOW).header.seq == top


@pytest.mark.parametrize("value", [2**63, 2**64 - 1])
@pytest.mark.parametrize("field", ["seq", "base_seq", "created_at", "valid_until"])
def test_sequence_numbers_and_times_above_2_63_are_format_errors(world, trust, field, value):
    """The fast-forward header (seq 2**64-1 or 2**63) is bad input, never an OverflowError."""
    data = _patch(world.bundle(kind=BundleKind.DELTA), field, ">Q", value)
    with pytest.raises(BundleFormatError, match=f"{field} must be an integer in \\[0, 9223372036854775807\\]"):
        read_unverified_header(data)
    with pytest.raises(BundleFormatError):
        open_bundle(data, trust, NOW)


def test_body_is_encrypted_for_sealed_kinds_and_clear_for_heartbeats(world):
    body = b"4929123412341234 stolen " * 4
    for kind in (BundleKind.FULL, BundleKind.DELTA, BundleKind.MASTER_ROLL):
        assert b"4929123412341234" not in world.bundle(body, kind=kind)
    for kind in UNSEALED:
        data = world.bundle(body, kind=kind)
        assert data[HEADER_BYTES:-64] == body


def test_sealing_twice_gives_different_bytes(world):
    a, b = world.bundle(b"same"), world.bundle(b"same")
    assert a != b and bundle_digest(a) != bundle_digest(b)
    assert a[WRAPPED_AT:NONCE_AT] != b[WRAPPED_AT:NONCE_AT]  # fresh data key per bundle


def test_prev_digest_is_signed(world, trust):
    data = world.bundle(prev_digest=bundle_digest(world.bundle()))
    with pytest.raises(SignatureError):
        open_bundle(_patch(data, "prev_digest", ">32s", NO_DIGEST), trust, NOW)


def test_seal_refuses_header_not_matching_current_keys(world, center):
    header = world.header()
    with pytest.raises(ValueError, match="master_key_id 2"):
        seal_bundle(dataclasses.replace(header, master_key_id=2), b"", center)
    with pytest.raises(ValueError, match="signing_key_id 3"):
        seal_bundle(dataclasses.replace(header, signing_key_id=3), b"", center)


def test_limits_are_consistent():
    assert MAX_BUNDLE_BYTES == 64 * 2**20
    assert MAX_BODY_BYTES + SEAL_OVERHEAD_BYTES == MAX_BUNDLE_BYTES


@pytest.mark.parametrize(
    ("kind", "fields", "message"),
    [
        (BundleKind.FULL, {"kind": 2}, "BundleKind"),
        (BundleKind.FULL, {"seq": -1}, "seq"),
        (BundleKind.FULL, {"seq": 2**63}, "seq"),
        (BundleKind.FULL, {"epoch": 2**32}, "epoch"),
        (BundleKind.FULL, {"master_key_id": 2**32}, "master_key_id"),
        (BundleKind.FULL, {"master_key_id": 0}, "master_key_id"),
        (BundleKind.HEARTBEAT, {"master_key_id": 1}, "master_key_id must be 0"),
        (BundleKind.FULL, {"signing_key_id": 0}, "signing_key_id"),
        (BundleKind.FULL, {"base_seq": 1}, "base_seq must be 0"),
        (BundleKind.DELTA, {"base_seq": 7}, "below its seq"),
        (BundleKind.FULL, {"valid_until": 1}, "before created_at"),
        (BundleKind.FULL, {"prev_digest": b"short"}, "prev_digest"),
    ],
)
def test_header_misuse_names_the_field(world, kind, fields, message):
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(world.header(kind), **fields)


# ---- structure ------------------------------------------------------------------------------


def test_truncated_and_padded_bundles_are_refused(world, trust):
    data = world.bundle(b"body")
    with pytest.raises(BundleFormatError, match="truncated or padded"):
        open_bundle(data[:-1], trust, NOW)
    with pytest.raises(BundleFormatError, match="truncated or padded"):
        open_bundle(data + b"\x00", trust, NOW)
    with pytest.raises(BundleFormatError, match="shorter than"):
        open_bundle(data[:100], trust, NOW)


def test_oversized_input_is_refused_before_parsing(trust):
    with pytest.raises(BundleFormatError, match="above the"):
        open_bundle(bytes(MAX_BUNDLE_BYTES + 1), trust, NOW)


def test_bad_magic_and_old_version_are_refused(world, trust):
    data = world.bundle()
    with pytest.raises(BundleFormatError, match="bad magic"):
        open_bundle(b"XYZ" + data[3:], trust, NOW)
    with pytest.raises(BundleFormatError, match="version 1 is not supported"):
        open_bundle(data[:3] + b"\x01" + data[4:], trust, NOW)


@pytest.mark.parametrize("kind", [0, 4, 5, 6, 9, 255])
def test_unknown_kind_is_refused(world, kind):
    data = world.bundle()
    with pytest.raises(BundleFormatError, match=f"unknown kind {kind}"):
        read_unverified_header(data[:4] + bytes([kind]) + data[5:])


def test_sealed_kind_relabelled_as_heartbeat_is_refused_by_length(world, trust):
    data = world.bundle(b"body")
    relabelled = data[:4] + bytes([BundleKind.HEARTBEAT]) + data[5:]
    with pytest.raises(BundleFormatError, match="truncated or padded"):
        open_bundle(relabelled, trust, NOW)


def test_length_claim_beyond_input_is_refused(world, trust):
    with pytest.raises(BundleFormatError, match="truncated or padded"):
        open_bundle(_patch(world.bundle(), "body_len", ">I", 2**32 - 1), trust, NOW)


# ---- signature ------------------------------------------------------------------------------


def test_forged_signature_is_refused(world, trust):
    data = world.bundle(b"body")
    with pytest.raises(SignatureError, match="signing key id 1"):
        open_bundle(data[:-64] + bytes(64), trust, NOW)


def test_other_centers_bundle_is_refused(trust, other_world):
    with pytest.raises(SignatureError):
        open_bundle(other_world.bundle(), trust, NOW)


def test_tampered_body_is_refused_by_signature(world, trust):
    data = bytearray(world.bundle(b"body"))
    data[CIPHERTEXT_AT] ^= 1
    with pytest.raises(SignatureError):
        open_bundle(bytes(data), trust, NOW)


def test_extended_validity_is_refused(world, trust):
    """Freeze attempt: push valid_until further out without the signing key."""
    with pytest.raises(SignatureError):
        open_bundle(_patch(world.bundle(), "valid_until", ">Q", 2**62), trust, NOW)


def test_signature_is_domain_separated_from_tokens(world, trust):
    from crypto.tokens import DOMAIN as TOKEN_DOMAIN

    data = world.bundle()
    cross = data[:-64] + _primitives.ed25519_sign(world.center.signing_key.seed, TOKEN_DOMAIN + data[:-64])
    with pytest.raises(SignatureError):
        open_bundle(cross, trust, NOW)


# ---- keys named by the key set --------------------------------------------------------------


def test_signing_key_not_in_the_key_set_is_named(world, trust):
    data = _patch(world.bundle(), "signing_key_id", ">I", 42)
    with pytest.raises(UnknownSigningKeyError, match="signing key id 42 is not in key set v1") as info:
        open_bundle(data, trust, NOW)
    assert (info.value.key_id, info.value.keyset_version) == (42, 1)


@pytest.mark.parametrize(("now", "created_at", "moment"), [
    (NOW + 400 * DAY, NOW, "not at now"),
    (NOW - 2 * DAY, NOW - 2 * DAY, "not at now"),
    (NOW, NOW - 2 * DAY, "not at the bundle's created_at"),
])
def test_signing_key_outside_its_validity_is_refused(world, trust, now, created_at, moment):
    data = world.bundle(created_at=created_at, valid_until=NOW + 500 * DAY)
    with pytest.raises(RetiredKeyError, match=f"signing key id 1 of key set v1 is valid from .*{moment}"):
        open_bundle(data, trust, now)


def test_master_key_outside_the_range_is_retired(world, terminal):
    ks = dataclasses.replace(world.keyset, master_ids=MasterIdRange(2, 9, NOW - DAY, NOW + DAY))
    with pytest.raises(RetiredKeyError, match=r"master key id 1 is outside key set v1's master id range \[2, 9\]"):
        open_bundle(world.bundle(), Trust(ks, terminal.master_keys), NOW)


def test_master_ids_past_their_validity_are_refused(world, trust):
    ids = world.keyset.master_ids
    data = world.bundle(created_at=NOW, valid_until=NOW + 500 * DAY)
    ks = dataclasses.replace(world.keyset, master_ids=dataclasses.replace(ids, valid_until=NOW - 1))
    with pytest.raises(RetiredKeyError, match=r"master key ids \[1, 100\] of key set v1 are valid from"):
        open_bundle(data, Trust(ks, trust.master_keys), NOW)


def test_unknown_master_key_is_named(world, trust):
    """Signed correctly, sealed under a master id the set allows but the terminal never got."""
    keys = dataclasses.replace(world.center, master_keys=world.center.master_keys + (MasterKey(77, bytes(range(32))),),
                               current_master_id=77)
    with pytest.raises(UnknownMasterKeyError, match="terminal lacks master key id 77") as info:
        open_bundle(world.bundle(keys=keys), trust, NOW)
    assert info.value.key_id == 77


def test_wrapped_key_that_fails_unwrap_is_refused(world, trust):
    """Only reachable with the signing key; the check still stands on its own."""
    data = bytearray(world.bundle(b"body"))
    data[WRAPPED_AT] ^= 1
    with pytest.raises(KeyUnwrapError, match="master key id 1"):
        open_bundle(_resign(bytes(data), world.center), trust, NOW)


def test_ciphertext_that_fails_gcm_is_refused(world, trust):
    data = bytearray(world.bundle(b"body"))
    data[CIPHERTEXT_AT] ^= 1
    with pytest.raises(DecryptError, match="AES-GCM"):
        open_bundle(_resign(bytes(data), world.center), trust, NOW)


def test_signature_is_checked_before_the_master_key(world, trust):
    """A forgery naming a retired or unknown master key reports the forgery, not the key id."""
    data = _patch(world.bundle(), "master_key_id", ">I", 500)
    with pytest.raises(SignatureError):
        open_bundle(data, trust, NOW)
    with pytest.raises(RetiredKeyError):
        open_bundle(_resign(data, world.center), trust, NOW)


def test_unsealed_kinds_need_no_master_key(world):
    bare = Trust(world.keyset, ())
    for kind in UNSEALED:
        assert open_bundle(world.bundle(b"clear", kind=kind), bare, NOW).body == b"clear"
    with pytest.raises(UnknownMasterKeyError):
        open_bundle(world.bundle(), bare, NOW)


def test_errors_never_show_key_material(world, trust):
    data = bytearray(world.bundle(b"body"))
    data[WRAPPED_AT] ^= 1
    with pytest.raises(KeyUnwrapError) as info:
        open_bundle(_resign(bytes(data), world.center), trust, NOW)
    assert world.center.current_master.key.hex() not in str(info.value)


def test_bundle_header_of_a_fresh_simulator_matches_its_key_set():
    sim = Simulator()
    sim.publish_keyset(new_epoch=True)
    assert read_unverified_header(sim.bundle()).epoch == 2
