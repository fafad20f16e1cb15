"""The key hierarchy: master keys (KEKs with u32 ids) and the center's Ed25519 signing key.

A center holds every master key it has used (``current_master_id`` names the one it seals
with now), the private seed of its current signing key, and the public keys of every signing
key it ever used. A terminal holds only master keys and public keys (``provision``): it can
open and verify, never sign.

Invariants, checked in ``__post_init__`` (``ValueError`` naming the field):
- key ids are u32 and unique within each table; tables are sorted by id;
- every master key is 32 bytes; every public key is 32 bytes and a valid Ed25519 point;
- a center's current master id and signing key id are in its tables, and its listed public
  key for ``signing_key_id`` is the one derived from ``signing_seed``.
Key material never appears in ``repr``/``str`` or in error messages.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from crypto import _keyfile, _primitives
from crypto.errors import KeyFileError

KEY_FILE_MODE = 0o600  # owner read/write only; center/receiver create key files with it
MAX_KEY_ID = 2**32 - 1
FIRST_KEY_ID = 1  # ids count up from 1 with each roll; 0 is never a key


def _check_key_id(name: str, key_id: int) -> None:
    if not isinstance(key_id, int) or not 0 <= key_id <= MAX_KEY_ID:
        raise ValueError(f"{name} must be a u32 key id, got {key_id!r}")


def _check_table(name: str, ids: list[int]) -> None:
    for key_id in ids:
        _check_key_id(name, key_id)
    if ids != sorted(set(ids)):
        raise ValueError(f"{name} ids must be unique and sorted, got {ids}")


def _check_public_keys(public_keys: tuple[tuple[int, bytes], ...]) -> None:
    _check_table("signing_public_keys", [i for i, _ in public_keys])
    for key_id, public in public_keys:
        if not _primitives.is_valid_public_key(bytes(public)):
            raise ValueError(f"signing_public_keys: key id {key_id} is not a valid Ed25519 public key")


@dataclass(frozen=True)
class MasterKey:
    """An AES-256 key-encryption key and its u32 id."""

    key_id: int
    key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        _check_key_id("key_id", self.key_id)
        if not isinstance(self.key, bytes) or len(self.key) != _primitives.AES_KEY_BYTES:
            raise ValueError(f"key of master key id {self.key_id} must be 32 bytes")

    def __repr__(self) -> str:
        return f"MasterKey(key_id={self.key_id}, key=<hidden>)"

    @classmethod
    def generate(cls, key_id: int) -> MasterKey:
        return cls(key_id, _primitives.random_bytes(_primitives.AES_KEY_BYTES))


def _pack_masters(masters: tuple[MasterKey, ...]) -> bytes:
    return _keyfile.pack_id_table(tuple((m.key_id, m.key) for m in masters))


def _read_masters(reader: _keyfile.Reader) -> tuple[MasterKey, ...]:
    table = reader.id_table(_primitives.AES_KEY_BYTES, "master keys")
    return tuple(MasterKey(i, k) for i, k in table)


@dataclass(frozen=True)
class CenterKeys:
    """Everything the center needs to seal and sign. Payload of a center key file::

    current_master_id u32 | signing_key_id u32 | signing_seed 32 B
    | master table (u16 n, n × (u32 id, 32 B)) | public table (u16 n, n × (u32 id, 32 B))
    """

    master_keys: tuple[MasterKey, ...]
    current_master_id: int
    signing_key_id: int
    signing_seed: bytes = field(repr=False)
    signing_public_keys: tuple[tuple[int, bytes], ...]

    def __post_init__(self) -> None:
        _check_table("master_keys", [m.key_id for m in self.master_keys])
        _check_public_keys(self.signing_public_keys)
        if self.current_master_id not in {m.key_id for m in self.master_keys}:
            raise ValueError(f"current_master_id {self.current_master_id} is not among master_keys")
        if not isinstance(self.signing_seed, bytes) or len(self.signing_seed) != 32:
            raise ValueError("signing_seed must be 32 bytes")
        listed = dict(self.signing_public_keys).get(self.signing_key_id)
        if listed is None:
            raise ValueError(f"signing_key_id {self.signing_key_id} is not among signing_public_keys")
        if listed != _primitives.ed25519_public_key(self.signing_seed):
            raise ValueError(f"signing_public_keys entry {self.signing_key_id} does not match signing_seed")

    def __repr__(self) -> str:
        return (
            f"CenterKeys(master_key_ids={[m.key_id for m in self.master_keys]}, "
            f"current_master_id={self.current_master_id}, signing_key_id={self.signing_key_id}, "
            f"signing_public_key_ids={[i for i, _ in self.signing_public_keys]})"
        )

    @property
    def current_master(self) -> MasterKey:
        return next(m for m in self.master_keys if m.key_id == self.current_master_id)

    @classmethod
    def generate(cls) -> CenterKeys:
        """Fresh keys: master key id 1 and signing key id 1, from the OS random source."""
        seed = _primitives.random_bytes(_primitives.ED25519_SEED_BYTES)
        public = _primitives.ed25519_public_key(seed)
        return cls(
            master_keys=(MasterKey.generate(FIRST_KEY_ID),),
            current_master_id=FIRST_KEY_ID,
            signing_key_id=FIRST_KEY_ID,
            signing_seed=seed,
            signing_public_keys=((FIRST_KEY_ID, public),),
        )

    def to_bytes(self) -> bytes:
        payload = (
            struct.pack(">II", self.current_master_id, self.signing_key_id)
            + self.signing_seed
            + _pack_masters(self.master_keys)
            + _keyfile.pack_id_table(self.signing_public_keys)
        )
        return _keyfile.seal_file(_keyfile.ROLE_CENTER, payload)

    @classmethod
    def from_bytes(cls, data: bytes) -> CenterKeys:
        """Parse a center key file; ``KeyFileError`` names what is wrong."""
        reader = _keyfile.Reader(_keyfile.open_file(data, _keyfile.ROLE_CENTER))
        current = reader.u32("current master id")
        signer = reader.u32("signing key id")
        seed = reader.take(_primitives.ED25519_SEED_BYTES, "signing seed")
        try:
            masters = _read_masters(reader)
            publics = reader.id_table(_primitives.ED25519_PUBLIC_BYTES, "signing public keys")
            reader.finish()
            return cls(masters, current, signer, seed, publics)
        except ValueError as exc:
            raise KeyFileError(f"center key file is inconsistent: {exc}") from None


@dataclass(frozen=True)
class TerminalKeys:
    """What a terminal holds: master keys it may unwrap with, and the center's public keys.

    Payload of a terminal key file: master table then public table, as in ``CenterKeys``.
    """

    master_keys: tuple[MasterKey, ...]
    signing_public_keys: tuple[tuple[int, bytes], ...]

    def __post_init__(self) -> None:
        _check_table("master_keys", [m.key_id for m in self.master_keys])
        _check_public_keys(self.signing_public_keys)

    def __repr__(self) -> str:
        ids = self.key_ids()
        return f"TerminalKeys(master_key_ids={ids['master_key_ids']}, signing_key_ids={ids['signing_key_ids']})"

    def master_key(self, key_id: int) -> MasterKey | None:
        return next((m for m in self.master_keys if m.key_id == key_id), None)

    def public_key(self, key_id: int) -> bytes | None:
        return dict(self.signing_public_keys).get(key_id)

    def key_ids(self) -> dict[str, list[int]]:
        """Summary for status output: ``{"master_key_ids": [...], "signing_key_ids": [...]}``."""
        return {
            "master_key_ids": [m.key_id for m in self.master_keys],
            "signing_key_ids": [i for i, _ in self.signing_public_keys],
        }

    def to_bytes(self) -> bytes:
        payload = _pack_masters(self.master_keys) + _keyfile.pack_id_table(self.signing_public_keys)
        return _keyfile.seal_file(_keyfile.ROLE_TERMINAL, payload)

    @classmethod
    def from_bytes(cls, data: bytes) -> TerminalKeys:
        """Parse a terminal key file; ``KeyFileError`` names what is wrong."""
        reader = _keyfile.Reader(_keyfile.open_file(data, _keyfile.ROLE_TERMINAL))
        try:
            masters = _read_masters(reader)
            publics = reader.id_table(_primitives.ED25519_PUBLIC_BYTES, "signing public keys")
            reader.finish()
            return cls(masters, publics)
        except ValueError as exc:
            raise KeyFileError(f"terminal key file is inconsistent: {exc}") from None


def provision(keys: CenterKeys, master_key_ids: tuple[int, ...] | None = None) -> TerminalKeys:
    """Key material for one terminal: master keys and public keys, nothing else.

    By default every master key the center holds (bundles sealed under a previous key may
    still be on air just after a roll); ``master_key_ids`` restricts it, e.g. to the current
    one only. Every public key is given, so tokens issued before a signer roll still check.
    """
    masters = keys.master_keys
    if master_key_ids is not None:
        unknown = set(master_key_ids) - {m.key_id for m in masters}
        if unknown:
            raise ValueError(f"master_key_ids: center holds no master key id {sorted(unknown)}")
        masters = tuple(m for m in masters if m.key_id in set(master_key_ids))
    return TerminalKeys(master_keys=masters, signing_public_keys=keys.signing_public_keys)
