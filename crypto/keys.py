"""The keys a center and a terminal hold, and their key files.

- ``CenterKeys`` (online, secret): the center's Ed25519 signing keys (seed + id; the current
  one signs bundles and tokens, others wait for a key set to list them) and its master keys
  (AES-256 KEKs with ids; the current one wraps each bundle's data key).
- ``TerminalKeys`` (a terminal, no signing secret): the root set it trusts, the current key
  set, and the master keys it unwraps with. ``trust`` is the small value ``open_bundle`` needs.

Invariants, checked in ``__post_init__`` (``ValueError`` naming the field): key ids are u32
>= 1 (0 is never a key: an unsealed bundle names master key id 0), unique and increasing in
each table; a center's current ids are in its tables; a terminal's key set was signed under
a root set no newer than the one it holds. Key material never appears in ``repr``/``str`` or
in error messages.

Center key file payload (encrypted, see ``_keyfile``), big-endian::

    signing_key_id u32 | current_master_id u32
    | signing count u8 (1..16) x (id u32, Ed25519 seed 32)
    | master count u16 (1..4096) x (id u32, AES-256 key 32)

Terminal key file payload (unencrypted, checksummed)::

    root set body length u16 | root set body (root.py)
    | key set body length u16 | key set body (keyset.py)
    | master count u16 (0..4096) x (id u32, AES-256 key 32)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from crypto import _keyfile, _primitives, _wire
from crypto.errors import KeyFileError, MetadataError
from crypto.keyset import KeySet
from crypto.root import RootSet

KEY_FILE_MODE = 0o600  # owner read/write only; center/receiver create key files with it
FIRST_KEY_ID = 1  # ids count up from 1; 0 is never a key
MAX_CENTER_SIGNING_KEYS = 16
MAX_MASTER_KEYS = 4096  # one master roll a week for 78 years
_ENTRY_BYTES = 4 + 32  # id + seed or key


def _check_ids(name: str, ids: list[int]) -> None:
    for key_id in ids:
        _wire.check_uint(f"{name} key id", key_id, _wire.MAX_U32, bottom=FIRST_KEY_ID)
    if ids != sorted(set(ids)):
        raise ValueError(f"{name} ids must be unique and increasing, got {ids}")


@dataclass(frozen=True)
class MasterKey:
    """An AES-256 key-encryption key and its u32 id."""

    key_id: int
    key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        _wire.check_uint("key_id", self.key_id, _wire.MAX_U32, bottom=FIRST_KEY_ID)
        if not isinstance(self.key, bytes) or len(self.key) != _primitives.AES_KEY_BYTES:
            raise ValueError(f"key of master key id {self.key_id} must be 32 bytes")

    def __repr__(self) -> str:
        return f"MasterKey(key_id={self.key_id}, key=<hidden>)"

    @classmethod
    def generate(cls, key_id: int) -> MasterKey:
        return cls(key_id, _primitives.random_bytes(_primitives.AES_KEY_BYTES))


@dataclass(frozen=True)
class SigningKey:
    """A private online Ed25519 signing key (RFC 8032 seed) and its u32 id."""

    key_id: int
    seed: bytes = field(repr=False)

    def __post_init__(self) -> None:
        _wire.check_uint("key_id", self.key_id, _wire.MAX_U32, bottom=FIRST_KEY_ID)
        if not isinstance(self.seed, bytes) or len(self.seed) != _primitives.ED25519_SEED_BYTES:
            raise ValueError(f"seed of signing key id {self.key_id} must be 32 bytes")

    def __repr__(self) -> str:
        return f"SigningKey(key_id={self.key_id}, seed=<hidden>)"

    @classmethod
    def generate(cls, key_id: int) -> SigningKey:
        return cls(key_id, _primitives.random_bytes(_primitives.ED25519_SEED_BYTES))

    @property
    def public_key(self) -> bytes:
        return _primitives.ed25519_public_key(self.seed)


def _find(table: tuple, key_id: int):
    return next((k for k in table if k.key_id == key_id), None)


def _pack_table(table: tuple, count_bytes: int, secret: str) -> bytes:
    return len(table).to_bytes(count_bytes, "big") + b"".join(_wire.u32(k.key_id) + getattr(k, secret) for k in table)


def _read_table(reader: _wire.Reader, count_bytes: int, top: int, what: str) -> list[tuple[int, bytes]]:
    n = reader.count(count_bytes, what, _ENTRY_BYTES, top)
    return [(reader.u32(f"{what} id"), reader.take(32, what)) for _ in range(n)]


@dataclass(frozen=True)
class CenterKeys:
    """Everything the online center needs to seal and sign (never the root's keys)."""

    signing_keys: tuple[SigningKey, ...]
    signing_key_id: int
    master_keys: tuple[MasterKey, ...]
    current_master_id: int

    def __post_init__(self) -> None:
        if not 1 <= len(self.signing_keys) <= MAX_CENTER_SIGNING_KEYS:
            raise ValueError(f"signing_keys must hold 1 to {MAX_CENTER_SIGNING_KEYS} keys, got {len(self.signing_keys)}")
        if not 1 <= len(self.master_keys) <= MAX_MASTER_KEYS:
            raise ValueError(f"master_keys must hold 1 to {MAX_MASTER_KEYS} keys, got {len(self.master_keys)}")
        _check_ids("signing_keys", [k.key_id for k in self.signing_keys])
        _check_ids("master_keys", [m.key_id for m in self.master_keys])
        if _find(self.signing_keys, self.signing_key_id) is None:
            raise ValueError(f"signing_key_id {self.signing_key_id} is not among signing_keys")
        if _find(self.master_keys, self.current_master_id) is None:
            raise ValueError(f"current_master_id {self.current_master_id} is not among master_keys")

    def __repr__(self) -> str:
        return (f"CenterKeys(signing_key_ids={[k.key_id for k in self.signing_keys]}, "
                f"signing_key_id={self.signing_key_id}, master_key_ids={[m.key_id for m in self.master_keys]}, "
                f"current_master_id={self.current_master_id})")

    @classmethod
    def generate(cls) -> CenterKeys:
        """Fresh keys: signing key id 1 and master key id 1, from the OS random source."""
        return cls((SigningKey.generate(FIRST_KEY_ID),), FIRST_KEY_ID,
                   (MasterKey.generate(FIRST_KEY_ID),), FIRST_KEY_ID)

    @property
    def signing_key(self) -> SigningKey:
        """The signing key ``seal_bundle`` and ``issue_token`` use."""
        return _find(self.signing_keys, self.signing_key_id)

    @property
    def current_master(self) -> MasterKey:
        return _find(self.master_keys, self.current_master_id)

    def to_file(self, passphrase: str | bytes, kdf: _keyfile.KdfParams | None = None) -> bytes:
        """The center key file, encrypted under ``passphrase`` (scrypt with ``kdf``, AES-256-GCM)."""
        payload = (_wire.u32(self.signing_key_id) + _wire.u32(self.current_master_id)
                   + _pack_table(self.signing_keys, 1, "seed") + _pack_table(self.master_keys, 2, "key"))
        return _keyfile.seal_secret(_keyfile.ROLE_CENTER, payload, passphrase, kdf)

    @classmethod
    def from_file(cls, data: bytes, passphrase: str | bytes) -> CenterKeys:
        """Parse a center key file; ``KeyFileError`` names what is wrong."""
        payload = _keyfile.open_secret(data, _keyfile.ROLE_CENTER, passphrase)
        reader = _wire.Reader(payload, KeyFileError, "center key file")
        signing_id, master_id = reader.u32("signing key id"), reader.u32("current master id")
        signing = _read_table(reader, 1, MAX_CENTER_SIGNING_KEYS, "signing keys")
        masters = _read_table(reader, 2, MAX_MASTER_KEYS, "master keys")
        reader.finish()
        try:
            return cls(tuple(SigningKey(*e) for e in signing), signing_id,
                       tuple(MasterKey(*e) for e in masters), master_id)
        except ValueError as exc:
            raise KeyFileError(f"center key file is inconsistent: {exc}") from None


@dataclass(frozen=True)
class Trust:
    """What ``open_bundle`` checks a bundle against: the current verified key set and the
    master keys the terminal holds."""

    keyset: KeySet
    master_keys: tuple[MasterKey, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.keyset, KeySet):
            raise ValueError(f"keyset must be a KeySet, got {type(self.keyset).__name__}")
        _check_ids("master_keys", [m.key_id for m in self.master_keys])

    def __repr__(self) -> str:
        return f"Trust(keyset={self.keyset!r}, master_key_ids={[m.key_id for m in self.master_keys]})"

    def master_key(self, key_id: int) -> MasterKey | None:
        return _find(self.master_keys, key_id)


@dataclass(frozen=True)
class TerminalKeys:
    """What a terminal holds: its root set, the current key set and its master keys."""

    root_set: RootSet
    keyset: KeySet
    master_keys: tuple[MasterKey, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.root_set, RootSet) or not isinstance(self.keyset, KeySet):
            raise ValueError("root_set must be a RootSet and keyset a KeySet")
        if self.keyset.root_version > self.root_set.version:
            raise ValueError(f"keyset v{self.keyset.version} is signed under root set "
                             f"v{self.keyset.root_version}, newer than root_set v{self.root_set.version}")
        if len(self.master_keys) > MAX_MASTER_KEYS:
            raise ValueError(f"master_keys must hold at most {MAX_MASTER_KEYS} keys")
        _check_ids("master_keys", [m.key_id for m in self.master_keys])

    def __repr__(self) -> str:
        return (f"TerminalKeys(root_set={self.root_set!r}, keyset={self.keyset!r}, "
                f"master_key_ids={[m.key_id for m in self.master_keys]})")

    @property
    def trust(self) -> Trust:
        return Trust(self.keyset, self.master_keys)

    def master_key(self, key_id: int) -> MasterKey | None:
        return _find(self.master_keys, key_id)

    def with_keyset(self, keyset: KeySet) -> TerminalKeys:
        """These keys under a newly verified ``keyset``; master keys the set retired (ids below
        its range) are dropped, since they open nothing any more."""
        kept = tuple(m for m in self.master_keys if m.key_id >= keyset.master_ids.lo)
        return dataclasses.replace(self, keyset=keyset, master_keys=kept)

    def to_file(self) -> bytes:
        """The terminal key file (unencrypted, checksummed: see ``_keyfile``)."""
        root_body, keyset_body = self.root_set.encode(), self.keyset.encode()
        payload = (_wire.u16(len(root_body)) + root_body + _wire.u16(len(keyset_body)) + keyset_body
                   + _pack_table(self.master_keys, 2, "key"))
        return _keyfile.seal_plain(_keyfile.ROLE_TERMINAL, payload)

    @classmethod
    def from_file(cls, data: bytes) -> TerminalKeys:
        """Parse a terminal key file; ``KeyFileError`` names what is wrong."""
        reader = _wire.Reader(_keyfile.open_plain(data, _keyfile.ROLE_TERMINAL), KeyFileError, "terminal key file")
        root_body = reader.take(reader.u16("root set length"), "root set")
        keyset_body = reader.take(reader.u16("key set length"), "key set")
        masters = _read_table(reader, 2, MAX_MASTER_KEYS, "master keys")
        reader.finish()
        try:
            return cls(RootSet.decode(root_body), KeySet.decode(keyset_body),
                       tuple(MasterKey(*e) for e in masters))
        except (MetadataError, ValueError) as exc:
            raise KeyFileError(f"terminal key file is inconsistent: {exc}") from None


def provision(center_keys: CenterKeys, root_set: RootSet, keyset: KeySet) -> TerminalKeys:
    """Key material for one terminal: the root set, the key set, and the center's master keys
    that the key set allows (ids in its range), never a signing secret."""
    masters = tuple(m for m in center_keys.master_keys if m.key_id in keyset.master_ids)
    return TerminalKeys(root_set=root_set, keyset=keyset, master_keys=masters)
