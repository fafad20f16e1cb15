"""The primitives are the standard ones: RFC 3394 and RFC 8032 vectors.

(That _primitives is the only importer of pycryptodome is checked in tests/test_architecture.py.)
"""

import pytest

from crypto import _primitives as p
from crypto.errors import DecryptError, KeyUnwrapError, SignatureError

# RFC 3394 section 4.6: wrap 256 bits of key data with a 256-bit KEK.
RFC3394_KEK = bytes.fromhex("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F")
RFC3394_KEY = bytes.fromhex("00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F")
RFC3394_WRAPPED = bytes.fromhex(
    "28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21"
)

# RFC 8032 section 7.1, TEST 1 (empty message).
RFC8032_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
RFC8032_PUBLIC = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
RFC8032_SIG = bytes.fromhex(
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
    "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
)


def test_rfc3394_section_4_6_wrap_vector():
    assert p.aes_key_wrap(RFC3394_KEK, RFC3394_KEY) == RFC3394_WRAPPED


def test_rfc3394_section_4_6_unwrap_vector():
    assert p.aes_key_unwrap(RFC3394_KEK, RFC3394_WRAPPED) == RFC3394_KEY


def test_unwrap_with_wrong_kek_fails_integrity_check():
    with pytest.raises(KeyUnwrapError):
        p.aes_key_unwrap(bytes(32), RFC3394_WRAPPED)


def test_unwrap_of_wrong_length_is_refused():
    with pytest.raises(KeyUnwrapError):
        p.aes_key_unwrap(RFC3394_KEK, RFC3394_WRAPPED[:-8])


def test_rfc8032_test1_vector():
    assert p.ed25519_public_key(RFC8032_SEED) == RFC8032_PUBLIC
    assert p.ed25519_sign(RFC8032_SEED, b"") == RFC8032_SIG
    p.ed25519_verify(RFC8032_PUBLIC, b"", RFC8032_SIG)


def test_verify_refuses_other_message_bad_length_and_bad_point():
    with pytest.raises(SignatureError):
        p.ed25519_verify(RFC8032_PUBLIC, b"x", RFC8032_SIG)
    with pytest.raises(SignatureError):
        p.ed25519_verify(RFC8032_PUBLIC, b"", RFC8032_SIG[:-1])
    with pytest.raises(SignatureError):
        p.ed25519_verify(b"\xff" * 31 + b"\x7f", b"", RFC8032_SIG)  # y >= p: not a point encoding


def test_gcm_round_trip_and_aad_binding():
    key, nonce = bytes(range(32)), bytes(12)
    sealed = p.gcm_encrypt(key, nonce, b"body", b"aad")
    assert len(sealed) == 4 + p.GCM_TAG_BYTES
    assert p.gcm_decrypt(key, nonce, sealed, b"aad") == b"body"
    with pytest.raises(DecryptError):
        p.gcm_decrypt(key, nonce, sealed, b"other aad")
    with pytest.raises(DecryptError):
        p.gcm_decrypt(key, nonce, sealed[:10], b"aad")


def test_primitives_refuse_wrong_key_sizes():
    with pytest.raises(ValueError, match="kek"):
        p.aes_key_wrap(bytes(16), bytes(32))
    with pytest.raises(ValueError, match="seed"):
        p.ed25519_sign(bytes(31), b"")



# RFC 7914 section 12, second vector: scrypt(P="password", S="NaCl", N=1024, r=8, p=16, dkLen=64).
# PBKDF2 (which produces scrypt's output) emits independent 32-byte blocks, so a 32-byte key is
# the first half of the 64-byte vector.
RFC7914_KEY_32 = bytes.fromhex("fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162")


def test_rfc7914_section_12_scrypt_vector():
    assert p.scrypt(b"password", b"NaCl", 1024, 8, 16) == RFC7914_KEY_32


def test_sha256_fips_180_2_abc_vector():
    # FIPS 180-2 appendix B.1: SHA-256("abc").
    assert p.sha256(b"abc").hex() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
