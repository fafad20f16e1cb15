"""The offline root of trust: k of n Ed25519 root keys and the versioned root set they sign.

A terminal is provisioned with a root set (the root public keys, their ids and the threshold
k) and trusts nothing that a threshold of those keys has not signed. The private root keys
never touch the online center: a root home holds ``RootKeys``, possibly only some of the n
(one custodian per home), and custodians sign the same bytes in turn (``add_signatures``).

Rotation follows TUF (specification section 5.3, "Update the root role"): root set v+1 must be
signed by a threshold of root set v AND a threshold of itself (5.3.4), and its version must be
exactly v+1 (5.3.5), so a terminal walks the chain one version at a time and a key
that was never in a trusted root set cannot start a chain. Version 1 is signed by a threshold
of itself. Root sets carry no expiry: a terminal offline for years must still be able to
walk the chain (TUF's root expiry only guards against freeze, which heartbeats cover here).

Root set body (the signed-metadata body of type 6, see ``_metadata``), big-endian::

    version    u32   1, 2, ... (exactly +1 per rotation)
    threshold  u8    1 <= k <= n
    key count  u8    1 <= n <= MAX_ROOT_KEYS
    n x (key id u32 >= 1, Ed25519 public key 32 bytes), ids strictly increasing

    body bytes = 6 + 36 n: 42 for 1 of 1, 1 158 for the maximum of 32 keys.

Invariants: ids and public keys are each unique in a root set (a key listed twice would count
twice toward the threshold, the flaw of python-tuf advisory GHSA-r7vq-6425-j94w); parsing raises only
``MetadataFormatError``; verification returns the verified ``RootSet`` or raises a
``MetadataError`` subclass naming versions and key ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from crypto import _keyfile, _metadata, _primitives, _wire
from crypto.errors import KeyFileError, MetadataFormatError, ReplayError, RootGapError

MAX_ROOT_KEYS = 32
_KEY_ENTRY_BYTES = 4 + _primitives.ED25519_PUBLIC_BYTES  # 36


def check_public_table(name: str, keys: tuple[tuple[int, bytes], ...]) -> None:
    """``ValueError`` unless ``keys`` is (id >= 1, valid Ed25519 key) pairs, ids strictly
    increasing and keys unique."""
    ids = [key_id for key_id, _ in keys]
    for key_id, public in keys:
        _wire.check_uint(f"{name} key id", key_id, _wire.MAX_U32, bottom=1)
        if not isinstance(public, bytes) or not _primitives.is_valid_public_key(public):
            raise ValueError(f"{name}: key id {key_id} is not a valid Ed25519 public key")
    if ids != sorted(set(ids)):
        raise ValueError(f"{name} ids must be unique and increasing, got {ids}")
    if len({public for _, public in keys}) != len(keys):
        raise ValueError(f"{name}: one public key is listed under two ids")


@dataclass(frozen=True)
class RootKey:
    """One private root key: an Ed25519 seed (RFC 8032 section 5.1.5) and its u32 id."""

    key_id: int
    seed: bytes = field(repr=False)

    def __post_init__(self) -> None:
        _wire.check_uint("key_id", self.key_id, _wire.MAX_U32, bottom=1)
        if not isinstance(self.seed, bytes) or len(self.seed) != _primitives.ED25519_SEED_BYTES:
            raise ValueError(f"seed of root key id {self.key_id} must be 32 bytes")

    def __repr__(self) -> str:
        return f"RootKey(key_id={self.key_id}, seed=<hidden>)"

    @property
    def public_key(self) -> bytes:
        return _primitives.ed25519_public_key(self.seed)


@dataclass(frozen=True)
class RootKeys:
    """The private root keys one home holds (all n, or a custodian's share), sorted by id."""

    keys: tuple[RootKey, ...]

    def __post_init__(self) -> None:
        ids = [k.key_id for k in self.keys]
        if not 1 <= len(ids) <= MAX_ROOT_KEYS or ids != sorted(set(ids)):
            raise ValueError(f"keys must be 1 to {MAX_ROOT_KEYS} root keys with unique increasing ids, got {ids}")

    def __repr__(self) -> str:
        return f"RootKeys(key_ids={[k.key_id for k in self.keys]})"

    @classmethod
    def generate(cls, n: int, first_key_id: int = 1) -> RootKeys:
        """``n`` fresh root keys with ids ``first_key_id`` .. ``first_key_id + n - 1``."""
        _wire.check_uint("n", n, MAX_ROOT_KEYS, bottom=1)
        seeds = (_primitives.random_bytes(_primitives.ED25519_SEED_BYTES) for _ in range(n))
        return cls(tuple(RootKey(first_key_id + i, seed) for i, seed in enumerate(seeds)))

    @property
    def public_keys(self) -> tuple[tuple[int, bytes], ...]:
        return tuple((k.key_id, k.public_key) for k in self.keys)

    def subset(self, key_ids: tuple[int, ...]) -> RootKeys:
        """The keys with ``key_ids`` only (what one custodian's home receives)."""
        missing = set(key_ids) - {k.key_id for k in self.keys}
        if missing:
            raise ValueError(f"key_ids: these root keys hold no key id {sorted(missing)}")
        return RootKeys(tuple(k for k in self.keys if k.key_id in set(key_ids)))

    def signers(self) -> tuple[tuple[int, bytes], ...]:
        return tuple((k.key_id, k.seed) for k in self.keys)

    def to_file(self, passphrase: str | bytes, kdf: _keyfile.KdfParams | None = None) -> bytes:
        """The root key file, encrypted under ``passphrase``. Payload: count u8 (1..32)
        x (key id u32, Ed25519 seed 32)."""
        payload = _wire.u8(len(self.keys)) + b"".join(_wire.u32(k.key_id) + k.seed for k in self.keys)
        return _keyfile.seal_secret(_keyfile.ROLE_ROOT, payload, passphrase, kdf)

    @classmethod
    def from_file(cls, data: bytes, passphrase: str | bytes) -> RootKeys:
        """Parse a root key file; ``KeyFileError`` names what is wrong."""
        reader = _wire.Reader(_keyfile.open_secret(data, _keyfile.ROLE_ROOT, passphrase), KeyFileError, "root key file")
        n = reader.count(1, "root keys", _KEY_ENTRY_BYTES, MAX_ROOT_KEYS)
        entries = [(reader.u32("root key id"), reader.take(32, "root key seed")) for _ in range(n)]
        reader.finish()
        try:
            return cls(tuple(RootKey(*e) for e in entries))
        except ValueError as exc:
            raise KeyFileError(f"root key file is inconsistent: {exc}") from None


@dataclass(frozen=True)
class RootSet:
    """The public root a terminal trusts: version, threshold k and the n (id, public key)."""

    version: int
    threshold: int
    keys: tuple[tuple[int, bytes], ...]

    def __post_init__(self) -> None:
        _wire.check_uint("version", self.version, _wire.MAX_U32, bottom=1)
        if not 1 <= len(self.keys) <= MAX_ROOT_KEYS:
            raise ValueError(f"keys must hold 1 to {MAX_ROOT_KEYS} root keys, got {len(self.keys)}")
        check_public_table("keys", self.keys)
        _wire.check_uint("threshold", self.threshold, len(self.keys), bottom=1)

    def __repr__(self) -> str:
        return f"RootSet(version={self.version}, threshold={self.threshold}, key_ids={[i for i, _ in self.keys]})"

    @classmethod
    def for_keys(cls, keys: RootKeys, threshold: int, version: int = 1) -> RootSet:
        """The root set listing the public halves of ``keys``."""
        return cls(version=version, threshold=threshold, keys=keys.public_keys)

    def encode(self) -> bytes:
        table = b"".join(_wire.u32(key_id) + public for key_id, public in self.keys)
        return _wire.u32(self.version) + _wire.u8(self.threshold) + _wire.u8(len(self.keys)) + table

    @classmethod
    def decode(cls, body: bytes) -> RootSet:
        """Inverse of :meth:`encode`; ``MetadataFormatError`` on anything malformed."""
        reader = _wire.Reader(body, MetadataFormatError, "root set")
        version = reader.u32("version")
        threshold = reader.u8("threshold")
        n = reader.count(1, "root keys", _KEY_ENTRY_BYTES, MAX_ROOT_KEYS)
        keys = tuple((reader.u32("key id"), reader.take(32, "public key")) for _ in range(n))
        reader.finish()
        try:
            return cls(version, threshold, keys)
        except ValueError as exc:
            raise reader.fail(str(exc)) from None


def sign_root_set(root_set: RootSet, signers: RootKeys) -> bytes:
    """The signed root set, with a signature by each key of ``signers`` (a rotation is signed
    by keys of the old and of the new set; other custodians add theirs with ``add_signatures``)."""
    meta = _metadata.SignedMetadata(_metadata.MetadataType.ROOT_SET, root_set.encode(), ())
    return _metadata.sign(meta, signers.signers()).to_bytes()


def add_signatures(data: bytes, signers: RootKeys) -> bytes:
    """Signed root set or key set ``data`` with ``signers``' signatures added (or replaced).

    The content is not verified here: a custodian reads it first with
    ``read_unverified_root_set`` / ``read_unverified_keyset`` and decides to sign.
    """
    return _metadata.sign(_metadata.parse(data, None), signers.signers()).to_bytes()


def read_unverified_root_set(data: bytes) -> RootSet:
    """The root set in ``data`` WITHOUT checking any signature (to show or route, never to trust)."""
    return RootSet.decode(_metadata.parse(data, _metadata.MetadataType.ROOT_SET).body)


def verify_root_set(data: bytes) -> RootSet:
    """A root set signed by a threshold of its own keys: the initial trust at provisioning,
    which must reach the terminal by a trusted path (TUF section 5.2: the trusted root)."""
    meta = _metadata.parse(data, _metadata.MetadataType.ROOT_SET)
    root_set = RootSet.decode(meta.body)
    _metadata.require_threshold(meta, root_set.keys, root_set.threshold,
                                f"root set v{root_set.version}", "its own")
    return root_set


def verify_root_chain(trusted: RootSet, newer: list[bytes]) -> RootSet:
    """Walk ``newer`` (signed root sets v+1, v+2, ... in order) from ``trusted``; the last one.

    Each step (TUF sections 5.3.4 and 5.3.5) needs version exactly one above the one before
    (``ReplayError`` if not above, ``RootGapError`` if further), and a threshold of valid
    signatures from the previous set's keys and from its own (``ThresholdError``). An empty
    list returns ``trusted``.
    """
    current = trusted
    for data in newer:
        meta = _metadata.parse(data, _metadata.MetadataType.ROOT_SET)
        candidate = RootSet.decode(meta.body)
        what = f"root set v{candidate.version}"
        if candidate.version <= current.version:
            raise ReplayError(f"{what} is not newer than the trusted root set v{current.version}")
        if candidate.version != current.version + 1:
            raise RootGapError(f"{what} does not follow the trusted root set v{current.version} "
                               f"(root set v{current.version + 1} is missing)")
        _metadata.require_threshold(meta, current.keys, current.threshold, what,
                                    f"the trusted root set v{current.version}'s")
        _metadata.require_threshold(meta, candidate.keys, candidate.threshold, what, "its own")
        current = candidate
    return current
