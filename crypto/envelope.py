"""The bundle envelope: a signed header and a sealed body, the unit of trust.

Wire layout (all integers big-endian, every length fixed except the ciphertext)::

    offset  size  field
         0     3  magic b"HCB"
         3     1  version (1)
         4     1  kind (BundleKind)
         5     8  seq            u64
        13     8  base_seq       u64 (0 unless DELTA, then < seq)
        21     8  created_at     u64 unix seconds
        29     8  valid_until    u64 unix seconds, >= created_at
        37     4  master_key_id  u32
        41     4  signing_key_id u32
        45     4  body_len       u32 (= ciphertext length; GCM does not expand)
        49    40  data key wrapped under the master key (RFC 3394: 32 + 8 bytes)
        89    12  GCM nonce
       101     n  ciphertext of the body (AES-256-GCM, data key, AAD = the 49 header bytes)
     101+n    16  GCM tag
     117+n    64  Ed25519 signature over DOMAIN || bytes [0, 117+n)

    SEAL_OVERHEAD_BYTES = 49 + 40 + 12 + 16 + 64 = 181 bytes per bundle.

Invariants:
- ``open_bundle`` refuses any input whose length is not exactly 181 + body_len, or above
  ``MAX_BUNDLE_BYTES``, before it allocates or touches a key;
- it verifies the signature before it unwraps or decrypts anything;
- each failure raises its own ``BundleError`` subclass, naming key ids, never key bytes.
The data key is fresh per bundle, so a random nonce never repeats under one key.
The signature is domain-separated from card tokens (``DOMAIN``), so neither can be replayed
as the other.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from crypto import _primitives
from crypto.errors import (
    BundleFormatError,
    DecryptError,
    KeyUnwrapError,
    SignatureError,
    UnknownMasterKeyError,
    UnknownSigningKeyError,
)
from crypto.keys import CenterKeys, TerminalKeys

MAGIC = b"HCB"
VERSION = 1
DOMAIN = b"hotcast bundle v1\x00"
_HEADER = struct.Struct(">3sBBQQQQIII")
HEADER_BYTES = _HEADER.size  # 49
_SIG_BYTES = _primitives.ED25519_SIGNATURE_BYTES
_KEY_AND_NONCE_BYTES = _primitives.WRAPPED_KEY_BYTES + _primitives.GCM_NONCE_BYTES  # 52
SEAL_OVERHEAD_BYTES = HEADER_BYTES + _KEY_AND_NONCE_BYTES + _primitives.GCM_TAG_BYTES + _SIG_BYTES
MAX_BUNDLE_BYTES = 64 * 2**20  # 64 MiB: a full list of ~10 M IDs with room to spare
MAX_BODY_BYTES = MAX_BUNDLE_BYTES - SEAL_OVERHEAD_BYTES
_U64 = 2**64 - 1
_U32 = 2**32 - 1


class BundleKind(IntEnum):
    FULL = 1
    DELTA = 2
    MASTER_ROLL = 3
    SIGNER_ROLL = 4


@dataclass(frozen=True)
class BundleHeader:
    """The signed, cleartext header of a bundle (also the GCM associated data)."""

    kind: BundleKind
    seq: int
    base_seq: int
    created_at: int
    valid_until: int
    master_key_id: int
    signing_key_id: int

    def __post_init__(self) -> None:
        if not isinstance(self.kind, BundleKind):
            raise ValueError(f"kind must be a BundleKind, got {self.kind!r}")
        for name, top in (("seq", _U64), ("base_seq", _U64), ("created_at", _U64),
                          ("valid_until", _U64), ("master_key_id", _U32), ("signing_key_id", _U32)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= top:
                raise ValueError(f"{name} must be an integer in [0, {top}], got {value!r}")
        if self.kind is BundleKind.DELTA and not self.base_seq < self.seq:
            raise ValueError(f"base_seq {self.base_seq} of a delta must be below its seq {self.seq}")
        if self.kind is not BundleKind.DELTA and self.base_seq != 0:
            raise ValueError(f"base_seq must be 0 for a {self.kind.name} bundle, got {self.base_seq}")
        if self.valid_until < self.created_at:
            raise ValueError(f"valid_until {self.valid_until} is before created_at {self.created_at}")

    def _pack(self, body_len: int) -> bytes:
        return _HEADER.pack(MAGIC, VERSION, self.kind, self.seq, self.base_seq, self.created_at,
                            self.valid_until, self.master_key_id, self.signing_key_id, body_len)


@dataclass(frozen=True)
class OpenedBundle:
    """A bundle whose signature verified and whose body decrypted."""

    header: BundleHeader
    body: bytes

    def __repr__(self) -> str:
        return f"OpenedBundle(header={self.header!r}, body=<{len(self.body)} bytes>)"


def seal_bundle(header: BundleHeader, body: bytes, keys: CenterKeys) -> bytes:
    """Encrypt ``body`` under a fresh data key and sign the whole; returns the wire bytes.

    ``header.master_key_id`` and ``signing_key_id`` must be the keys' current ones.
    """
    if header.master_key_id != keys.current_master_id:
        raise ValueError(f"header master_key_id {header.master_key_id} is not the current "
                         f"master key id {keys.current_master_id}")
    if header.signing_key_id != keys.signing_key_id:
        raise ValueError(f"header signing_key_id {header.signing_key_id} is not the current "
                         f"signing key id {keys.signing_key_id}")
    if len(body) > MAX_BODY_BYTES:
        raise ValueError(f"body of {len(body)} bytes exceeds MAX_BODY_BYTES ({MAX_BODY_BYTES})")
    head = header._pack(len(body))
    data_key = _primitives.random_bytes(_primitives.AES_KEY_BYTES)
    nonce = _primitives.random_bytes(_primitives.GCM_NONCE_BYTES)
    wrapped = _primitives.aes_key_wrap(keys.current_master.key, data_key)
    sealed = _primitives.gcm_encrypt(data_key, nonce, bytes(body), head)
    signed = b"".join((head, wrapped, nonce, sealed))
    return signed + _primitives.ed25519_sign(keys.signing_seed, DOMAIN + signed)


def _parse(data: bytes) -> tuple[BundleHeader, bytes]:
    """Structural checks only; returns the header and the 49 packed header bytes."""
    size = len(data)
    if size < SEAL_OVERHEAD_BYTES:
        raise BundleFormatError(f"bundle is {size} bytes, shorter than the {SEAL_OVERHEAD_BYTES}-byte minimum")
    if size > MAX_BUNDLE_BYTES:
        raise BundleFormatError(f"bundle is {size} bytes, above the {MAX_BUNDLE_BYTES}-byte limit")
    magic, version, kind, *fields, body_len = _HEADER.unpack_from(data)
    if magic != MAGIC:
        raise BundleFormatError("not a hotcast bundle (bad magic)")
    if version != VERSION:
        raise BundleFormatError(f"bundle version {version} is not supported (expected {VERSION})")
    if size != SEAL_OVERHEAD_BYTES + body_len:
        raise BundleFormatError(f"bundle is {size} bytes but its header implies "
                                f"{SEAL_OVERHEAD_BYTES + body_len} (truncated or padded)")
    try:
        header = BundleHeader(BundleKind(kind), *fields)
    except ValueError as exc:
        raise BundleFormatError(f"bad bundle header: {exc}") from None
    return header, bytes(data[:HEADER_BYTES])


def read_unverified_header(data: bytes) -> BundleHeader:
    """The header of a structurally sound bundle, WITHOUT checking its signature.

    For routing and logging only (e.g. skip a bundle already held); never trust it.
    """
    return _parse(memoryview(data))[0]


def open_bundle(data: bytes, keys: TerminalKeys) -> OpenedBundle:
    """Check, verify, unwrap and decrypt a bundle, in that order; any failure is a ``BundleError``."""
    data = bytes(data)
    header, head = _parse(data)
    public = keys.public_key(header.signing_key_id)
    if public is None:
        raise UnknownSigningKeyError(header.signing_key_id)
    signed, signature = data[:-_SIG_BYTES], data[-_SIG_BYTES:]
    try:
        _primitives.ed25519_verify(public, DOMAIN + signed, signature)
    except SignatureError:
        raise SignatureError(f"bundle seq {header.seq}: signature does not verify under "
                             f"signing key id {header.signing_key_id}") from None
    master = keys.master_key(header.master_key_id)
    if master is None:
        raise UnknownMasterKeyError(header.master_key_id)
    wrapped_end = HEADER_BYTES + _primitives.WRAPPED_KEY_BYTES
    try:
        data_key = _primitives.aes_key_unwrap(master.key, signed[HEADER_BYTES:wrapped_end])
    except KeyUnwrapError:
        raise KeyUnwrapError(f"bundle seq {header.seq}: data key does not unwrap under "
                             f"master key id {header.master_key_id}") from None
    nonce = signed[wrapped_end : wrapped_end + _primitives.GCM_NONCE_BYTES]
    try:
        body = _primitives.gcm_decrypt(data_key, nonce, signed[HEADER_BYTES + _KEY_AND_NONCE_BYTES :], head)
    except DecryptError:
        raise DecryptError(f"bundle seq {header.seq}: body fails AES-GCM authentication") from None
    return OpenedBundle(header, body)
