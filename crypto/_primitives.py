"""The only module of hotcast that imports pycryptodome (``Crypto.*``).

Thin, typed wrappers over the primitives the recipes need; every failure of a check is
turned into the crypto folder's own error type here, so no pycryptodome exception leaks out.

Sizes (fixed by the primitives, not by us):
- AES-256 key: 32 bytes; RFC 3394 wrap of a 32-byte key: 32 + 8 (integrity block) = 40 bytes.
- AES-GCM: 12-byte nonce (NIST SP 800-38D's recommended length), 16-byte tag.
- Ed25519 (RFC 8032): 32-byte seed, 32-byte public key, 64-byte signature.
- scrypt (RFC 7914): memory 128 * r * N bytes, time proportional to p * r * N; callers bound
  the parameters before they get here (a crafted key file must not exhaust memory).
- SHA-256 (FIPS 180-4): 32-byte digest.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from Crypto.Cipher import AES
from Crypto.Protocol.KDF import scrypt as _scrypt
from Crypto.PublicKey import ECC
from Crypto.Random import get_random_bytes
from Crypto.Signature import eddsa

from crypto.errors import DecryptError, KeyUnwrapError, SignatureError

AES_KEY_BYTES = 32  # AES-256
WRAP_OVERHEAD_BYTES = 8  # RFC 3394 section 2.2.1: one 64-bit integrity register
WRAPPED_KEY_BYTES = AES_KEY_BYTES + WRAP_OVERHEAD_BYTES  # 40
GCM_NONCE_BYTES = 12  # 96 bits, the length NIST SP 800-38D section 8.2 recommends
GCM_TAG_BYTES = 16  # the full 128-bit tag, no truncation
# RFC 8032 section 5.1: a 32-byte private seed and public key, a 64-byte signature (R || S).
ED25519_SEED_BYTES = 32
ED25519_PUBLIC_BYTES = 32
ED25519_SIGNATURE_BYTES = 64
SHA256_BYTES = 32


def random_bytes(n: int) -> bytes:
    """``n`` bytes from the OS cryptographic random source."""
    return get_random_bytes(n)


def sha256(data: bytes) -> bytes:
    """The 32-byte SHA-256 digest of ``data``."""
    return hashlib.sha256(data).digest()


def scrypt(passphrase: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    """A 32-byte key from ``passphrase`` by scrypt (RFC 7914) with cost N = ``n``, ``r``, ``p``."""
    return _scrypt(passphrase, salt, AES_KEY_BYTES, N=n, r=r, p=p)


def _check_len(name: str, value: bytes, n: int) -> None:
    if len(value) != n:
        raise ValueError(f"{name} must be {n} bytes, got {len(value)}")


def preload() -> None:
    """Load the C modules of the ciphers a receiver uses (AES key wrap and GCM). pycryptodome
    loads each on its first use, through cffi's parser when cffi is installed (sounddevice
    brings it): ~25 ms of CPU that belongs to a command's start-up, not to its first bundle."""
    AES.new(bytes(AES_KEY_BYTES), AES.MODE_KW)
    AES.new(bytes(AES_KEY_BYTES), AES.MODE_GCM, nonce=bytes(GCM_NONCE_BYTES), mac_len=GCM_TAG_BYTES)


def aes_key_wrap(kek: bytes, key: bytes) -> bytes:
    """RFC 3394 AES key wrap of a 32-byte ``key`` under a 32-byte ``kek``; 40 bytes out."""
    _check_len("kek", kek, AES_KEY_BYTES)
    _check_len("key", key, AES_KEY_BYTES)
    return AES.new(kek, AES.MODE_KW).seal(key)


def aes_key_unwrap(kek: bytes, wrapped: bytes) -> bytes:
    """Inverse of :func:`aes_key_wrap`; ``KeyUnwrapError`` if the integrity check fails."""
    _check_len("kek", kek, AES_KEY_BYTES)
    if len(wrapped) != WRAPPED_KEY_BYTES:
        raise KeyUnwrapError(f"wrapped key is {len(wrapped)} bytes, expected {WRAPPED_KEY_BYTES}")
    try:
        return AES.new(kek, AES.MODE_KW).unseal(wrapped)
    except ValueError:
        raise KeyUnwrapError("wrapped key fails its RFC 3394 integrity check") from None


def gcm_encrypt(key: bytes, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """AES-256-GCM; returns ciphertext || 16-byte tag."""
    _check_len("key", key, AES_KEY_BYTES)
    _check_len("nonce", nonce, GCM_NONCE_BYTES)
    cipher = AES.new(key, AES.MODE_GCM, nonce=nonce, mac_len=GCM_TAG_BYTES)
    cipher.update(aad)
    ciphertext, tag = cipher.encrypt_and_digest(plaintext)
    return ciphertext + tag


def gcm_decrypt(key: bytes, nonce: bytes, sealed: bytes, aad: bytes) -> bytes:
    """Inverse of :func:`gcm_encrypt`; ``DecryptError`` if authentication fails."""
    _check_len("key", key, AES_KEY_BYTES)
    _check_len("nonce", nonce, GCM_NONCE_BYTES)
    if len(sealed) < GCM_TAG_BYTES:
        raise DecryptError("ciphertext shorter than the GCM tag")
    cipher = AES.new(key, AES.MODE_GCM, nonce=nonce, mac_len=GCM_TAG_BYTES)
    cipher.update(aad)
    try:
        return cipher.decrypt_and_verify(sealed[:-GCM_TAG_BYTES], sealed[-GCM_TAG_BYTES:])
    except ValueError:
        raise DecryptError("body fails AES-GCM authentication") from None


# Building a key object costs a scalar multiplication; a center signs and a terminal
# verifies with the same few keys all day, so the objects are cached (small bound: a
# terminal holds one public key per signer roll).
@lru_cache(maxsize=16)
def _signer(seed: bytes) -> eddsa.EdDSASigScheme:
    return eddsa.new(ECC.construct(curve="ed25519", seed=seed), "rfc8032")


@lru_cache(maxsize=64)
def _verifier(public_key: bytes) -> eddsa.EdDSASigScheme | None:
    try:
        return eddsa.new(eddsa.import_public_key(public_key), "rfc8032")
    except ValueError:
        return None


def ed25519_public_key(seed: bytes) -> bytes:
    """The 32-byte public key of a 32-byte Ed25519 private seed."""
    _check_len("seed", seed, ED25519_SEED_BYTES)
    key = ECC.construct(curve="ed25519", seed=seed)
    return key.public_key().export_key(format="raw")


def is_valid_public_key(public_key: bytes) -> bool:
    """Whether ``public_key`` decodes to a point of Ed25519 (a key-file sanity check)."""
    return len(public_key) == ED25519_PUBLIC_BYTES and _verifier(bytes(public_key)) is not None


def ed25519_sign(seed: bytes, message: bytes) -> bytes:
    """Pure Ed25519 (RFC 8032) signature, 64 bytes."""
    _check_len("seed", seed, ED25519_SEED_BYTES)
    return _signer(bytes(seed)).sign(message)


def ed25519_verify(public_key: bytes, message: bytes, signature: bytes) -> None:
    """Return if ``signature`` is valid for ``message`` under ``public_key``, else ``SignatureError``."""
    verifier = _verifier(bytes(public_key)) if len(public_key) == ED25519_PUBLIC_BYTES else None
    if verifier is None:
        raise SignatureError("signing public key is not a valid Ed25519 point")
    if len(signature) != ED25519_SIGNATURE_BYTES:
        raise SignatureError(f"signature is {len(signature)} bytes, expected {ED25519_SIGNATURE_BYTES}")
    try:
        verifier.verify(message, signature)
    except ValueError:
        raise SignatureError("signature does not verify") from None
