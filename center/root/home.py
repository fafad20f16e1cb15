"""A root home: the offline root keys (k of n), the root sets they signed, the key sets issued.

The root never touches the online center: it runs on an offline machine (or, to try things
out, beside the center home: ``trial_root``). What crosses between the two are public files:
the self-signed root set (``root.pub``: terminals and the center are given it), key set requests
from the center, the key sets the root signs, and root rotations.

Layout of the folder (0700, files 0600):
    hotcast-role        "root"
    root.keys           this custodian's root keys, encrypted under a passphrase (scrypt)
    root-sets/vN.hcm    every root set, as signed (v1 self-signed; vN+1 signed by k of vN too)
    key-sets/vN.hcm     every key set issued, as signed
    lock

k of n custodians: ``init`` makes all n keys here; ``split`` moves some of them into another
root home for another custodian. Anything one home cannot sign to the threshold alone is written
with the signatures it has; the next custodian adds theirs (``add_signatures``).

Invariants: nothing is overwritten (a key set version or root set version is written once); a
root set written here verifies against the one before (TUF section 5.3.4); time is passed in.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from center.errors import HomeError, TrustImportError
from center.registry.secretfile import home_lock, write_secret_file
from crypto import (
    KeyFileError,
    KeySet,
    KeySetRequest,
    MetadataError,
    RootKeys,
    RootSet,
    add_signatures,
    make_keyset,
    read_unverified_keyset,
    read_unverified_root_set,
    sign_keyset,
    sign_root_set,
)

ROLE = "root"
ROLE_FILE = "hotcast-role"
KEYS_FILE = "root.keys"
ROOT_SETS = "root-sets"
KEY_SETS = "key-sets"
LOCK_FILE = "lock"
HOME_MODE = 0o700
TRIAL_SUFFIX = "-root"

Passphrase = Callable[[], str]


class RootHome:
    """An initialised root home (``RootHome.init`` / ``RootHome.open``)."""

    def __init__(self, path: Path, passphrase: Passphrase) -> None:
        self.path = path
        self._passphrase = passphrase

    def __repr__(self) -> str:
        return f"RootHome(path={str(self.path)!r})"

    @classmethod
    def init(cls, path: str | os.PathLike, *, keys: int = 1, threshold: int = 1,
             passphrase: Passphrase) -> RootHome:
        """A new root of ``keys`` Ed25519 keys, ``threshold`` of which sign (default 1 of 1)."""
        path = Path(path)
        if not 1 <= threshold <= keys <= 32:
            raise HomeError(f"want 1 <= threshold ({threshold}) <= keys ({keys}) <= 32")
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise HomeError(f"{path} exists and is not an empty folder")
        path.mkdir(mode=HOME_MODE, parents=True, exist_ok=True)
        os.chmod(path, HOME_MODE)
        root_keys = RootKeys.generate(keys)
        signed = sign_root_set(RootSet.for_keys(root_keys, threshold), root_keys)
        for folder in (ROOT_SETS, KEY_SETS):
            (path / folder).mkdir(mode=HOME_MODE)
        home = cls(path, passphrase)
        write_secret_file(path / KEYS_FILE, root_keys.to_file(passphrase()))
        write_secret_file(path / ROOT_SETS / "v1.hcm", signed)
        write_secret_file(path / ROLE_FILE, f"{ROLE}\n".encode())
        return home

    @classmethod
    def open(cls, path: str | os.PathLike, passphrase: Passphrase) -> RootHome:
        path = Path(path)
        if not (path / KEYS_FILE).is_file():
            raise HomeError(f"no root home at {path} (run `hotcast root init --home {path}`)")
        return cls(path, passphrase)

    @contextmanager
    def _writing(self) -> Iterator[None]:
        with home_lock(self.path / LOCK_FILE):
            yield

    def keys(self) -> RootKeys:
        try:
            return RootKeys.from_file((self.path / KEYS_FILE).read_bytes(), self._passphrase())
        except KeyFileError as exc:
            raise HomeError(f"cannot open {self.path / KEYS_FILE}: {exc}") from None

    # -- what this root signed -------------------------------------------------------------

    def _versions(self, folder: str) -> list[int]:
        names = [p.stem for p in (self.path / folder).glob("v*.hcm")]
        return sorted(int(n[1:]) for n in names if n[1:].isdigit())

    def root_set_bytes(self, version: int | None = None) -> bytes:
        """A root set as signed (the newest by default); v1 is what terminals are given."""
        versions = self._versions(ROOT_SETS)
        return (self.path / ROOT_SETS / f"v{version or versions[-1]}.hcm").read_bytes()

    def root_set(self) -> RootSet:
        return read_unverified_root_set(self.root_set_bytes())

    def keysets(self) -> list[KeySet]:
        return [read_unverified_keyset((self.path / KEY_SETS / f"v{v}.hcm").read_bytes())
                for v in self._versions(KEY_SETS)]

    def status(self) -> dict:
        root, keys = self.root_set(), self.keys()
        sets = self.keysets()
        return {"home": str(self.path), "root_set": root.version, "threshold": root.threshold,
                "root_key_ids": [i for i, _ in root.keys],
                "held_key_ids": [k.key_id for k in keys.keys],
                "key_sets": [{"version": k.version, "epoch": k.epoch, "valid_from": k.valid_from,
                              "expires": k.expires,
                              "signing_key_ids": [e.key_id for e in k.signing_keys],
                              "master_ids": [k.master_ids.lo, k.master_ids.hi]} for k in sets]}

    # -- signing ---------------------------------------------------------------------------

    def sign_keyset(self, request: bytes, *, new_epoch: bool = False) -> bytes:
        """Turn a center's key set request into the next key set (version + 1; ``new_epoch``
        starts the next epoch of list sequence numbers, which recovers terminals a stolen key
        pushed to an absurd sequence number) signed by the keys held here."""
        try:
            req = KeySetRequest.from_bytes(request)
        except MetadataError as exc:
            raise TrustImportError(f"not a key set request: {exc}") from None
        with self._writing():
            sets = self.keysets()
            previous = sets[-1] if sets else None
            try:
                keyset = make_keyset(req, root=self.root_set(), previous=previous,
                                     new_epoch=new_epoch)
            except ValueError as exc:
                raise TrustImportError(f"the request makes no valid key set: {exc}") from None
            signed = sign_keyset(keyset, self._signers())
            write_secret_file(self.path / KEY_SETS / f"v{keyset.version}.hcm", signed)
        return signed

    def add_signatures(self, document: bytes) -> bytes:
        """A root set or key set with this custodian's signatures added."""
        try:
            return add_signatures(document, self._signers())
        except MetadataError as exc:
            raise TrustImportError(f"cannot sign it: {exc}") from None

    def rotate(self, *, add_keys: int = 0, remove: tuple[int, ...] = (),
               threshold: int | None = None) -> bytes:
        """The next root set: ``add_keys`` new keys made here, the key ids ``remove`` dropped, a
        new ``threshold``; signed by the keys held here (old ones for the old threshold, new
        ones for the new)."""
        with self._writing():
            current = self.root_set()
            held = self.keys()
            unknown = set(remove) - {i for i, _ in current.keys}
            if unknown:
                raise HomeError(f"root set v{current.version} has no key id {sorted(unknown)}")
            first_new = max(i for i, _ in current.keys) + 1
            fresh = RootKeys.generate(add_keys, first_new) if add_keys else None
            kept = tuple((i, p) for i, p in current.keys if i not in remove)
            new_keys = kept + (fresh.public_keys if fresh else ())
            k = current.threshold if threshold is None else threshold
            try:
                new_root = RootSet(current.version + 1, k, new_keys)
            except ValueError as exc:
                raise HomeError(f"no valid root set: {exc}") from None
            all_held = RootKeys(tuple(sorted(
                held.keys + (fresh.keys if fresh else ()), key=lambda r: r.key_id)))
            signed = sign_root_set(new_root, all_held)
            write_secret_file(self.path / ROOT_SETS / f"v{new_root.version}.hcm", signed)
            kept_keys = tuple(r for r in all_held.keys if r.key_id not in remove)
            write_secret_file(self.path / KEYS_FILE,
                              RootKeys(kept_keys).to_file(self._passphrase()))
        return signed

    def split(self, key_ids: tuple[int, ...], other: str | os.PathLike,
              other_passphrase: Passphrase) -> RootHome:
        """Move root keys ``key_ids`` into a new root home ``other`` for another custodian (with
        its own passphrase), with copies of the root sets and key sets."""
        other = Path(other)
        with self._writing():
            held = self.keys()
            moving = held.subset(key_ids)
            staying = tuple(r for r in held.keys if r.key_id not in set(key_ids))
            if not staying:
                raise HomeError("a split must leave at least one key in this home")
            if other.exists() and (not other.is_dir() or any(other.iterdir())):
                raise HomeError(f"{other} exists and is not an empty folder")
            other.mkdir(mode=HOME_MODE, parents=True, exist_ok=True)
            os.chmod(other, HOME_MODE)
            for folder in (ROOT_SETS, KEY_SETS):
                (other / folder).mkdir(mode=HOME_MODE)
                for item in (self.path / folder).glob("v*.hcm"):
                    write_secret_file(other / folder / item.name, item.read_bytes())
            write_secret_file(other / KEYS_FILE, moving.to_file(other_passphrase()))
            write_secret_file(other / ROLE_FILE, f"{ROLE}\n".encode())
            write_secret_file(self.path / KEYS_FILE, RootKeys(staying).to_file(self._passphrase()))
        return RootHome(other, other_passphrase)

    def _signers(self) -> RootKeys:
        """The keys held here that the newest root set lists."""
        listed = {i for i, _ in self.root_set().keys}
        held = self.keys()
        ids = tuple(r.key_id for r in held.keys if r.key_id in listed)
        if not ids:
            raise HomeError("this root home holds none of the keys of the newest root set")
        return held.subset(ids)


def trial_root_path(center_home: str | os.PathLike) -> Path:
    """Where ``center init`` without a root puts one to try things out: beside the home."""
    path = Path(center_home)
    return path.with_name(path.name + TRIAL_SUFFIX)
