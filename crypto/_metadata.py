"""The signed-metadata container shared by root sets and key sets (private: see root.py, keyset.py).

As TUF separates a role's ``signed`` content from its ``signatures`` (TUF specification
section 4.2), the body is signed once and signatures are a list beside it, so k custodians in
separate homes can each add theirs to the same bytes. Binary instead of canonical JSON: a
terminal parses it with a bounded reader, and it goes on air where bytes are scarce.

Layout (all integers big-endian)::

    offset  size  field
         0     3  magic b"HCM"
         3     1  container version (1)
         4     1  type: 5 = key set, 6 = root set (the values the bundle envelope keeps free
                  at the same offset, so one byte tells on-air payloads apart)
         5     4  body_len u32, at most MAX_BODY_BYTES
         9     n  body (root.py / keyset.py)
       9+n     1  signature count u8, at most MAX_SIGNATURES
      10+n  68*m  m x (key id u32, Ed25519 signature 64 bytes), key ids strictly increasing

    Each signature is over DOMAIN[type] || bytes [0, 9+n) (RFC 8032 pure Ed25519).

Invariants: key ids of signatures are strictly increasing (one signature per key id, as TUF
section 4.2 requires, and one encoding per set of signatures); a verifier checks at most one signature per key id it
trusts (bounded work: at most MAX_SIGNATURES verifications); signatures from keys it does not
trust, and signatures that do not verify, count for nothing (TUF section 5.3.4: a threshold
of valid signatures from the trusted keys).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

from crypto import _primitives, _wire
from crypto.errors import MetadataFormatError, SignatureError, ThresholdError

MAGIC = b"HCM"
VERSION = 1
PREFIX_BYTES = 9  # 3 magic + 1 version + 1 type + 4 body_len
# A key set of 16 signing keys and 64 token keys is 3 702 bytes (keyset.py), a root set of 32
# keys 1 158 bytes (root.py): 8 KiB leaves room and bounds what a parser allocates.
MAX_BODY_BYTES = 8192
MAX_SIGNATURES = 32
SIGNATURE_ENTRY_BYTES = 4 + _primitives.ED25519_SIGNATURE_BYTES  # key id + signature = 68
MAX_METADATA_BYTES = PREFIX_BYTES + MAX_BODY_BYTES + 1 + MAX_SIGNATURES * SIGNATURE_ENTRY_BYTES  # 10 378


class MetadataType(IntEnum):
    KEY_SET = 5
    ROOT_SET = 6


_TYPE_VALUES = frozenset(t.value for t in MetadataType)

# Domain separation (one string per signature type, distinct from the bundle's and the token's):
# a root key's signature over a key set can never pass as one over a root set, or the reverse.
DOMAINS = {
    MetadataType.KEY_SET: b"hotcast key set v1\x00",
    MetadataType.ROOT_SET: b"hotcast root set v1\x00",
}


@dataclass(frozen=True)
class SignedMetadata:
    """A parsed container: its type, body bytes and (key id, signature) pairs, sorted by id."""

    type: MetadataType
    body: bytes
    signatures: tuple[tuple[int, bytes], ...]

    @property
    def signed_bytes(self) -> bytes:
        return MAGIC + _wire.u8(VERSION) + _wire.u8(self.type) + _wire.u32(len(self.body)) + self.body

    def to_bytes(self) -> bytes:
        sigs = b"".join(_wire.u32(key_id) + sig for key_id, sig in self.signatures)
        return self.signed_bytes + _wire.u8(len(self.signatures)) + sigs


def parse(data: bytes, expected: MetadataType | None) -> SignedMetadata:
    """Structural checks only (no signature is verified); ``MetadataFormatError`` on any fault."""
    data = bytes(data)
    what = expected.name.lower().replace("_", " ") if expected is not None else "signed metadata"
    if len(data) > MAX_METADATA_BYTES:
        raise MetadataFormatError(f"{what}: {len(data)} bytes, above the {MAX_METADATA_BYTES}-byte limit")
    reader = _wire.Reader(data, MetadataFormatError, what)
    if reader.take(3, "magic") != MAGIC:
        raise reader.fail("not hotcast signed metadata (bad magic)")
    version = reader.u8("container version")
    if version != VERSION:
        raise reader.fail(f"container version {version} is not supported (expected {VERSION})")
    raw_type = reader.u8("type")
    if raw_type not in _TYPE_VALUES:
        raise reader.fail(f"unknown metadata type {raw_type}")
    kind = MetadataType(raw_type)
    if expected is not None and kind is not expected:
        raise reader.fail(f"this is a {kind.name.lower().replace('_', ' ')}, not a {what}")
    body = reader.take(reader.uint(4, "body length", MAX_BODY_BYTES), "body")
    n = reader.count(1, "signatures", SIGNATURE_ENTRY_BYTES, MAX_SIGNATURES)
    signatures = tuple((reader.u32("signature key id"), reader.take(64, "signature")) for _ in range(n))
    reader.finish()
    ids = [key_id for key_id, _ in signatures]
    if ids != sorted(set(ids)):
        raise reader.fail(f"signature key ids must be strictly increasing, got {ids}")
    return SignedMetadata(kind, body, signatures)


def sign(meta: SignedMetadata, signers: Iterable[tuple[int, bytes]]) -> SignedMetadata:
    """``meta`` with a signature by each (key id, Ed25519 seed) of ``signers`` added or replaced.

    ``MetadataFormatError`` if the result would hold more than MAX_SIGNATURES (only reachable
    by adding signatures to someone else's bytes: a root set or key set of our own has fewer).
    """
    if len(meta.body) > MAX_BODY_BYTES:
        raise ValueError(f"body of {len(meta.body)} bytes exceeds MAX_BODY_BYTES ({MAX_BODY_BYTES})")
    message = DOMAINS[meta.type] + meta.signed_bytes
    merged = dict(meta.signatures)
    for key_id, seed in signers:
        merged[key_id] = _primitives.ed25519_sign(seed, message)
    if len(merged) > MAX_SIGNATURES:
        raise MetadataFormatError(f"signing would leave {len(merged)} signatures, above the limit of {MAX_SIGNATURES}")
    return SignedMetadata(meta.type, meta.body, tuple(sorted(merged.items())))


def valid_signers(meta: SignedMetadata, keys: Iterable[tuple[int, bytes]]) -> list[int]:
    """Ids of ``keys`` (key id, public key) whose signature on ``meta`` verifies."""
    message = DOMAINS[meta.type] + meta.signed_bytes
    signatures = dict(meta.signatures)
    valid = []
    for key_id, public in keys:
        signature = signatures.get(key_id)
        if signature is None:
            continue
        try:
            _primitives.ed25519_verify(public, message, signature)
        except SignatureError:
            continue
        valid.append(key_id)
    return valid


def require_threshold(meta: SignedMetadata, keys: tuple[tuple[int, bytes], ...], threshold: int,
                      what: str, whose: str) -> None:
    """``ThresholdError`` unless at least ``threshold`` of ``keys`` signed ``meta`` validly."""
    valid = valid_signers(meta, keys)
    if len(valid) < threshold:
        raise ThresholdError(f"{what} has {len(valid)} valid signature(s) from {whose} keys "
                             f"(ids {valid}), below the threshold of {threshold}")
