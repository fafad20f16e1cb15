"""Sealing and opening bundles: round trips, limits, and every failure type."""

import dataclasses
import struct

import pytest

from crypto import (
    HEADER_BYTES,
    MAX_BODY_BYTES,
    MAX_BUNDLE_BYTES,
    SEAL_OVERHEAD_BYTES,
    BundleFormatError,
    BundleHeader,
    BundleKind,
    DecryptError,
    KeyUnwrapError,
    MasterKey,
    SignatureError,
    UnknownMasterKeyError,
    UnknownSigningKeyError,
    open_bundle,
    read_unverified_header,
    seal_bundle,
)
from crypto import _primitives
from crypto.envelope import DOMAIN

WRAPPED_AT = HEADER_BYTES
NONCE_AT = WRAPPED_AT + 40
CIPHERTEXT_AT = NONCE_AT + 12


def test_overhead_is_181_bytes(center, make_header):
    assert SEAL_OVERHEAD_BYTES == 181
    for n in (0, 1, 200):
        assert len(seal_bundle(make_header(center), bytes(n), center)) == SEAL_OVERHEAD_BYTES + n


@pytest.mark.parametrize("body", [b"", b"x", bytes(range(256)) * 8])
@pytest.mark.parametrize("kind", list(BundleKind))
def test_round_trip(center, terminal, make_header, kind, body):
    header = make_header(center, kind=kind, base_seq=3 if kind is BundleKind.DELTA else 0)
    opened = open_bundle(seal_bundle(header, body, center), terminal)
    assert opened.header == header
    assert opened.body == body


def test_round_trip_extreme_header_values(center, terminal):
    header = BundleHeader(BundleKind.DELTA, seq=2**64 - 1, base_seq=2**64 - 2, created_at=0,
                          valid_until=2**64 - 1, master_key_id=1, signing_key_id=1)
    assert open_bundle(seal_bundle(header, b"d", center), terminal).header == header


def test_body_is_encrypted(center, make_header):
    body = b"4929123412341234 stolen " * 4
    assert b"4929123412341234" not in seal_bundle(make_header(center), body, center)


def test_sealing_twice_gives_different_bytes(center, make_header):
    header = make_header(center)
    a, b = seal_bundle(header, b"same", center), seal_bundle(header, b"same", center)
    assert a != b
    assert a[WRAPPED_AT:NONCE_AT] != b[WRAPPED_AT:NONCE_AT]  # fresh data key per bundle


def test_read_unverified_header(center, make_header):
    header = make_header(center, kind=BundleKind.DELTA, seq=9, base_seq=8)
    assert read_unverified_header(seal_bundle(header, b"abc", center)) == header


def test_seal_refuses_header_not_matching_current_keys(center, make_header):
    header = make_header(center)
    with pytest.raises(ValueError, match="master_key_id 2"):
        seal_bundle(dataclasses.replace(header, master_key_id=2), b"", center)
    with pytest.raises(ValueError, match="signing_key_id 3"):
        seal_bundle(dataclasses.replace(header, signing_key_id=3), b"", center)


def test_limits_are_consistent():
    assert MAX_BUNDLE_BYTES == 64 * 2**20
    assert MAX_BODY_BYTES + SEAL_OVERHEAD_BYTES == MAX_BUNDLE_BYTES


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": 2}, "BundleKind"),
        ({"seq": -1}, "seq"),
        ({"seq": 2**64}, "seq"),
        ({"master_key_id": 2**32}, "master_key_id"),
        ({"base_seq": 1}, "base_seq must be 0"),
        ({"kind": BundleKind.DELTA, "base_seq": 7}, "below its seq"),
        ({"valid_until": 1}, "before created_at"),
    ],
)
def test_header_misuse_names_the_field(center, make_header, fields, message):
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(make_header(center), **fields)


# ---- every failure type, named after what it stops ------------------------------------------


def test_truncated_bundle_is_refused(center, terminal, make_header):
    data = seal_bundle(make_header(center), b"body", center)
    with pytest.raises(BundleFormatError, match="truncated or padded"):
        open_bundle(data[:-1], terminal)
    with pytest.raises(BundleFormatError, match="shorter than"):
        open_bundle(data[:100], terminal)


def test_padded_bundle_is_refused(center, terminal, make_header):
    with pytest.raises(BundleFormatError, match="truncated or padded"):
        open_bundle(seal_bundle(make_header(center), b"body", center) + b"\x00", terminal)


def test_oversized_input_is_refused_before_parsing(terminal):
    with pytest.raises(BundleFormatError, match="above the"):
        open_bundle(bytes(MAX_BUNDLE_BYTES + 1), terminal)


def test_bad_magic_and_version_are_refused(center, terminal, make_header):
    data = seal_bundle(make_header(center), b"", center)
    with pytest.raises(BundleFormatError, match="bad magic"):
        open_bundle(b"XYZ" + data[3:], terminal)
    with pytest.raises(BundleFormatError, match="version 2"):
        open_bundle(data[:3] + b"\x02" + data[4:], terminal)


def test_unknown_kind_is_refused(center, terminal, make_header):
    data = seal_bundle(make_header(center), b"", center)
    with pytest.raises(BundleFormatError, match="bad bundle header"):
        read_unverified_header(data[:4] + b"\x09" + data[5:])


def test_length_claim_beyond_input_is_refused(center, terminal, make_header):
    data = bytearray(seal_bundle(make_header(center), b"", center))
    struct.pack_into(">I", data, 45, 2**32 - 1)
    with pytest.raises(BundleFormatError, match="truncated or padded"):
        open_bundle(bytes(data), terminal)


def test_forged_signature_is_refused(center, terminal, make_header):
    data = seal_bundle(make_header(center), b"body", center)
    with pytest.raises(SignatureError, match="signing key id 1"):
        open_bundle(data[:-64] + bytes(64), terminal)


def test_resigned_with_other_key_is_refused(center, terminal, other_center, make_header):
    data = seal_bundle(make_header(center), b"body", center)
    resigned = data[:-64] + _primitives.ed25519_sign(other_center.signing_seed, DOMAIN + data[:-64])
    with pytest.raises(SignatureError):
        open_bundle(resigned, terminal)


def test_other_centers_bundle_is_refused(terminal, other_center, make_header):
    with pytest.raises(SignatureError):
        open_bundle(seal_bundle(make_header(other_center), b"body", other_center), terminal)


def test_tampered_body_is_refused_by_signature(center, terminal, make_header):
    data = bytearray(seal_bundle(make_header(center), b"body", center))
    data[CIPHERTEXT_AT] ^= 1
    with pytest.raises(SignatureError):
        open_bundle(bytes(data), terminal)


def test_changed_validity_is_refused(center, terminal, make_header):
    """Fast-forward/freeze attempt: push valid_until further out without the signing key."""
    data = bytearray(seal_bundle(make_header(center), b"body", center))
    struct.pack_into(">Q", data, 29, 2**63)
    with pytest.raises(SignatureError):
        open_bundle(bytes(data), terminal)


def test_unknown_signing_key_is_named(center, terminal, make_header):
    data = bytearray(seal_bundle(make_header(center), b"", center))
    struct.pack_into(">I", data, 41, 42)
    with pytest.raises(UnknownSigningKeyError, match="signing key id 42") as info:
        open_bundle(bytes(data), terminal)
    assert info.value.key_id == 42


def test_unknown_master_key_is_named(center, terminal, make_header):
    """Signed correctly but sealed under a master key the terminal was never given."""
    extra = MasterKey(77, bytes(range(32)))
    keys = dataclasses.replace(center, master_keys=center.master_keys + (extra,), current_master_id=77)
    data = seal_bundle(make_header(keys), b"body", keys)
    with pytest.raises(UnknownMasterKeyError, match="terminal lacks master key id 77") as info:
        open_bundle(data, terminal)
    assert info.value.key_id == 77


def _resign(data: bytes, keys) -> bytes:
    signed = data[:-64]
    return signed + _primitives.ed25519_sign(keys.signing_seed, DOMAIN + signed)


def test_wrapped_key_that_fails_unwrap_is_refused(center, terminal, make_header):
    """Only reachable with the signing key; the check still stands on its own."""
    data = bytearray(seal_bundle(make_header(center), b"body", center))
    data[WRAPPED_AT] ^= 1
    with pytest.raises(KeyUnwrapError, match="master key id 1"):
        open_bundle(_resign(bytes(data), center), terminal)


def test_ciphertext_that_fails_gcm_is_refused(center, terminal, make_header):
    data = bytearray(seal_bundle(make_header(center), b"body", center))
    data[CIPHERTEXT_AT] ^= 1
    with pytest.raises(DecryptError, match="AES-GCM"):
        open_bundle(_resign(bytes(data), center), terminal)


def test_signature_is_checked_before_master_key_lookup(center, make_header):
    """A forgery naming an unknown master key reports the forgery, not the key id."""
    from crypto import provision

    terminal_without_master = dataclasses.replace(provision(center), master_keys=())
    data = seal_bundle(make_header(center), b"body", center)
    with pytest.raises(SignatureError):
        open_bundle(data[:-1] + bytes([data[-1] ^ 1]), terminal_without_master)
    with pytest.raises(UnknownMasterKeyError):
        open_bundle(data, terminal_without_master)


def test_errors_never_show_key_material(center, terminal, make_header):
    data = bytearray(seal_bundle(make_header(center), b"body", center))
    data[WRAPPED_AT] ^= 1
    with pytest.raises(KeyUnwrapError) as info:
        open_bundle(_resign(bytes(data), center), terminal)
    assert center.current_master.key.hex() not in str(info.value)
