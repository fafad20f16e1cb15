"""The bundle envelope v2: a signed header and a body, sealed for list kinds, the unit of trust.

Wire layout (all integers big-endian, every length fixed except the body)::

    offset  size  field
         0     3  magic b"HCB"
         3     1  version (2)
         4     1  kind (BundleKind; 4 unused, 5 and 6 left to key sets and root sets on air)
         5     4  epoch          u32
         9     8  seq            u64, at most 2**63 - 1
        17     8  base_seq       u64, at most 2**63 - 1 (0 unless DELTA, then < seq)
        25     8  created_at     u64 unix seconds, at most 2**63 - 1
        33     8  valid_until    u64 unix seconds, >= created_at, at most 2**63 - 1
        41     4  master_key_id  u32 (0 for unsealed kinds, >= 1 for sealed ones)
        45     4  signing_key_id u32 >= 1
        49    32  prev_digest    SHA-256 of the previous list bundle (zeros where none applies)
        81     4  body_len       u32 (= ciphertext length; GCM does not expand)
    sealed kinds (FULL, DELTA, MASTER_ROLL):
        85    40  data key wrapped under the master key (RFC 3394: 32 + 8 bytes)
       125    12  GCM nonce
       137     n  ciphertext of the body (AES-256-GCM, data key, AAD = the 85 header bytes)
     137+n    16  GCM tag
     153+n    64  Ed25519 signature over DOMAIN || bytes [0, 153+n)
    unsigned-body kinds (HEARTBEAT, ANNOUNCE): signed, not sealed
        85     n  body in clear
      85+n    64  Ed25519 signature over DOMAIN || bytes [0, 85+n)

    SEAL_OVERHEAD_BYTES   = 85 + 40 + 12 + 16 + 64 = 217 bytes per sealed bundle;
    SIGNED_OVERHEAD_BYTES = 85 + 64 = 149 bytes per heartbeat or announcement.

Sequence numbers and times stop at 2**63 - 1 (an SQLite INTEGER, see ``_wire``): a header
above that is a ``BundleFormatError``, so no store ever sees a value it cannot keep. A
HEARTBEAT (TUF's timestamp role, specification section 4.6) states the current list head in
its header: epoch, seq, prev_digest = the head bundle's digest, created_at = the time; an
ANNOUNCE's body lists the bundles in the carousel (its format is framing's).

``open_bundle`` order (invariants):
1. exact length for the kind, at most ``MAX_BUNDLE_BYTES``, sane header: before any key;
2. the signing key id is in the current key set and valid at ``now`` and at ``created_at``;
3. the signature (domain-separated: ``DOMAIN`` differs from tokens', root sets' and key sets');
4. sealed kinds: the master id is in the key set's range, valid at ``now``, and held; then
   unwrap, then decrypt.
Each failure raises its own ``BundleError`` subclass naming key ids, never key bytes. The data
key is fresh per bundle, so a random nonce never repeats under one key.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from crypto import _primitives, _wire
from crypto.errors import (
    BundleFormatError,
    DecryptError,
    KeyUnwrapError,
    RetiredKeyError,
    SignatureError,
    UnknownMasterKeyError,
    UnknownSigningKeyError,
)
from crypto.keys import CenterKeys, Trust

MAGIC = b"HCB"
VERSION = 2
DOMAIN = b"hotcast bundle v2\x00"
_HEADER = struct.Struct(">3sBBIQQQQII32sI")
HEADER_BYTES = _HEADER.size  # 85
DIGEST_BYTES = _primitives.SHA256_BYTES  # 32
NO_DIGEST = bytes(DIGEST_BYTES)
_SIG_BYTES = _primitives.ED25519_SIGNATURE_BYTES
_KEY_AND_NONCE_BYTES = _primitives.WRAPPED_KEY_BYTES + _primitives.GCM_NONCE_BYTES  # 52
SEAL_OVERHEAD_BYTES = HEADER_BYTES + _KEY_AND_NONCE_BYTES + _primitives.GCM_TAG_BYTES + _SIG_BYTES  # 217
SIGNED_OVERHEAD_BYTES = HEADER_BYTES + _SIG_BYTES  # 149
MAX_BUNDLE_BYTES = 64 * 2**20  # 64 MiB: a full list of ~10 M IDs with room to spare
MAX_BODY_BYTES = MAX_BUNDLE_BYTES - SEAL_OVERHEAD_BYTES


class BundleKind(IntEnum):
    FULL = 1
    DELTA = 2
    MASTER_ROLL = 3
    HEARTBEAT = 7
    ANNOUNCE = 8


SEALED_KINDS = frozenset({BundleKind.FULL, BundleKind.DELTA, BundleKind.MASTER_ROLL})
_KIND_VALUES = frozenset(k.value for k in BundleKind)


@dataclass(frozen=True)
class BundleHeader:
    """The signed, cleartext header of a bundle (also the GCM associated data when sealed)."""

    kind: BundleKind
    epoch: int
    seq: int
    base_seq: int
    created_at: int
    valid_until: int
    master_key_id: int
    signing_key_id: int
    prev_digest: bytes = NO_DIGEST

    def __post_init__(self) -> None:
        if not isinstance(self.kind, BundleKind):
            raise ValueError(f"kind must be a BundleKind, got {self.kind!r}")
        _wire.check_uint("epoch", self.epoch, _wire.MAX_U32)
        for name in ("seq", "base_seq", "created_at", "valid_until"):
            _wire.check_uint(name, getattr(self, name), _wire.MAX_TIME)
        _wire.check_uint("signing_key_id", self.signing_key_id, _wire.MAX_U32, bottom=1)
        if self.sealed:
            _wire.check_uint("master_key_id", self.master_key_id, _wire.MAX_U32, bottom=1)
        elif self.master_key_id != 0:
            raise ValueError(f"master_key_id must be 0 for an unsealed {self.kind.name} bundle, got {self.master_key_id!r}")
        if self.kind is BundleKind.DELTA and not self.base_seq < self.seq:
            raise ValueError(f"base_seq {self.base_seq} of a delta must be below its seq {self.seq}")
        if self.kind is not BundleKind.DELTA and self.base_seq != 0:
            raise ValueError(f"base_seq must be 0 for a {self.kind.name} bundle, got {self.base_seq}")
        if self.valid_until < self.created_at:
            raise ValueError(f"valid_until {self.valid_until} is before created_at {self.created_at}")
        if not isinstance(self.prev_digest, bytes) or len(self.prev_digest) != DIGEST_BYTES:
            raise ValueError(f"prev_digest must be {DIGEST_BYTES} bytes")

    @property
    def sealed(self) -> bool:
        """Whether the body is encrypted (list bundles and master rolls) or clear."""
        return self.kind in SEALED_KINDS

    def _pack(self, body_len: int) -> bytes:
        return _HEADER.pack(MAGIC, VERSION, self.kind, self.epoch, self.seq, self.base_seq, self.created_at,
                            self.valid_until, self.master_key_id, self.signing_key_id, self.prev_digest, body_len)


@dataclass(frozen=True)
class OpenedBundle:
    """A bundle whose signature verified and, if sealed, whose body decrypted."""

    header: BundleHeader
    body: bytes
    digest: bytes  # bundle_digest of the wire bytes: what the next list names as prev_digest

    def __repr__(self) -> str:
        return f"OpenedBundle(header={self.header!r}, body=<{len(self.body)} bytes>, digest={self.digest.hex()[:16]}...)"


def bundle_digest(data: bytes) -> bytes:
    """SHA-256 of a bundle's wire bytes (32 bytes): how ``prev_digest`` names a bundle."""
    return _primitives.sha256(bytes(data))


def seal_bundle(header: BundleHeader, body: bytes, keys: CenterKeys) -> bytes:
    """The wire bytes of a bundle, signed with the center's current signing key.

    Sealed kinds: ``body`` is encrypted under a fresh data key wrapped under the current master
    key. HEARTBEAT and ANNOUNCE: ``body`` stays clear (signed only). ``header.signing_key_id``
    and, when sealed, ``master_key_id`` must be the keys' current ones.
    """
    if header.signing_key_id != keys.signing_key_id:
        raise ValueError(f"header signing_key_id {header.signing_key_id} is not the current "
                         f"signing key id {keys.signing_key_id}")
    if header.sealed and header.master_key_id != keys.current_master_id:
        raise ValueError(f"header master_key_id {header.master_key_id} is not the current "
                         f"master key id {keys.current_master_id}")
    if len(body) > MAX_BODY_BYTES:
        raise ValueError(f"body of {len(body)} bytes exceeds MAX_BODY_BYTES ({MAX_BODY_BYTES})")
    head = header._pack(len(body))
    if header.sealed:
        data_key = _primitives.random_bytes(_primitives.AES_KEY_BYTES)
        nonce = _primitives.random_bytes(_primitives.GCM_NONCE_BYTES)
        wrapped = _primitives.aes_key_wrap(keys.current_master.key, data_key)
        signed = b"".join((head, wrapped, nonce, _primitives.gcm_encrypt(data_key, nonce, bytes(body), head)))
    else:
        signed = head + bytes(body)
    return signed + _primitives.ed25519_sign(keys.signing_key.seed, DOMAIN + signed)


def _parse(data: bytes) -> BundleHeader:
    """Structural checks only: size, magic, version, kind, exact length, header fields."""
    size = len(data)
    if size < SIGNED_OVERHEAD_BYTES:
        raise BundleFormatError(f"bundle is {size} bytes, shorter than the {SIGNED_OVERHEAD_BYTES}-byte minimum")
    if size > MAX_BUNDLE_BYTES:
        raise BundleFormatError(f"bundle is {size} bytes, above the {MAX_BUNDLE_BYTES}-byte limit")
    magic, version, kind, *fields, body_len = _HEADER.unpack_from(data)
    if magic != MAGIC:
        raise BundleFormatError("not a hotcast bundle (bad magic)")
    if version != VERSION:
        raise BundleFormatError(f"bundle version {version} is not supported (expected {VERSION})")
    if kind not in _KIND_VALUES:
        raise BundleFormatError(f"bad bundle header: unknown kind {kind}")
    overhead = SEAL_OVERHEAD_BYTES if BundleKind(kind) in SEALED_KINDS else SIGNED_OVERHEAD_BYTES
    if size != overhead + body_len:
        raise BundleFormatError(f"bundle is {size} bytes but its header implies "
                                f"{overhead + body_len} (truncated or padded)")
    try:
        return BundleHeader(BundleKind(kind), *fields)
    except ValueError as exc:
        raise BundleFormatError(f"bad bundle header: {exc}") from None


def read_unverified_header(data: bytes) -> BundleHeader:
    """The header of a structurally sound bundle, WITHOUT checking its signature.

    For routing and logging only (e.g. skip a bundle already held); never trust it.
    """
    return _parse(memoryview(data))


def _check_signing_key(header: BundleHeader, trust: Trust, now: int) -> bytes:
    keyset = trust.keyset
    entry = keyset.signing_key(header.signing_key_id)
    if entry is None:
        raise UnknownSigningKeyError(header.signing_key_id, keyset.version)
    for moment, t in (("now", now), ("the bundle's created_at", header.created_at)):
        if not entry.valid_at(t):
            raise RetiredKeyError(f"bundle seq {header.seq}: signing key id {entry.key_id} of key set "
                                  f"v{keyset.version} is valid from {entry.valid_from} until "
                                  f"{entry.valid_until}, not at {moment} ({t})")
    return entry.public_key


def _master_key(header: BundleHeader, trust: Trust, now: int) -> bytes:
    keyset, key_id = trust.keyset, header.master_key_id
    ids = keyset.master_ids
    if key_id not in ids:
        raise RetiredKeyError(f"bundle seq {header.seq}: master key id {key_id} is outside key set "
                              f"v{keyset.version}'s master id range [{ids.lo}, {ids.hi}]")
    if not ids.valid_at(now):
        raise RetiredKeyError(f"bundle seq {header.seq}: master key ids [{ids.lo}, {ids.hi}] of key set "
                              f"v{keyset.version} are valid from {ids.valid_from} until {ids.valid_until}, "
                              f"not at now ({now})")
    master = trust.master_key(key_id)
    if master is None:
        raise UnknownMasterKeyError(key_id)
    return master.key


def open_bundle(data: bytes, trust: Trust, now: int) -> OpenedBundle:
    """Check, verify, and for sealed kinds unwrap and decrypt a bundle, in the module's order.

    ``trust`` is the terminal's current ``Trust`` (``TerminalKeys.trust``); ``now`` is unix
    seconds. Any failure is a ``BundleError`` subclass.
    """
    data = bytes(data)
    header = _parse(data)
    public = _check_signing_key(header, trust, now)
    signed, signature = data[:-_SIG_BYTES], data[-_SIG_BYTES:]
    try:
        _primitives.ed25519_verify(public, DOMAIN + signed, signature)
    except SignatureError:
        raise SignatureError(f"bundle seq {header.seq}: signature does not verify under "
                             f"signing key id {header.signing_key_id}") from None
    digest = bundle_digest(data)
    if not header.sealed:
        return OpenedBundle(header, signed[HEADER_BYTES:], digest)
    master = _master_key(header, trust, now)
    wrapped_end = HEADER_BYTES + _primitives.WRAPPED_KEY_BYTES
    try:
        data_key = _primitives.aes_key_unwrap(master, signed[HEADER_BYTES:wrapped_end])
    except KeyUnwrapError:
        raise KeyUnwrapError(f"bundle seq {header.seq}: data key does not unwrap under "
                             f"master key id {header.master_key_id}") from None
    nonce = signed[wrapped_end : wrapped_end + _primitives.GCM_NONCE_BYTES]
    try:
        body = _primitives.gcm_decrypt(data_key, nonce, signed[HEADER_BYTES + _KEY_AND_NONCE_BYTES :],
                                       signed[:HEADER_BYTES])
    except DecryptError:
        raise DecryptError(f"bundle seq {header.seq}: body fails AES-GCM authentication") from None
    return OpenedBundle(header, body, digest)
