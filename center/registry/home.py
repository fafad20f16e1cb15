"""A center home: the registry, the center's online keys, the trust it was given, the head of
what it published.

Layout of the folder (0700, every file 0600; the runner refuses a home others can read):
    hotcast-role        "center"
    registry.sqlite     hot cards, audit log, bundle history, root sets and key sets, operators
                        (center.registry.db), unless the home is on PostgreSQL:
    registry.url        the PostgreSQL database the registry lives in (center.registry.dburl);
                        after ``migrate``, registry.sqlite.pre-migrate keeps the SQLite file
    center.keys         CenterKeys, encrypted under the operator's passphrase (scrypt, AES-GCM)
    center.keys.pending new keys of a rotation in flight (see ``_recover_pending``)
    published.head      epoch, seq and digest of the newest list this center published
    keyset-request.hcq  the newest key set request, for the offline root to sign (public)
    lock                writer lock (flock)

Trust: the center never holds a root key. ``init`` takes the root's public, self-signed root
set; a key set the root signs (from this center's request) is imported with ``import_trust``
and becomes current at its ``valid_from``; only then can lists be built. Root rotations are
imported the same way, each verified against the root set before it (k of n, TUF's rule).

Invariants:
* Every method that changes the home holds the writer lock and one registry transaction (which
  holds the registry's own writer lock: on PostgreSQL several homes on several machines may
  share one registry), reads the keys inside them, validates all input before writing, and
  changes nothing on error.
* Time is passed in (``now``, unix seconds UTC); this module never reads the clock.
* The published head is kept outside the registry: a build refuses to go on from a registry
  whose newest list is older than the head (a database restored from a backup would reuse
  sequence numbers with other content: a forked history that terminals would refuse).
* A master roll writes the new keys to ``center.keys.pending``, commits the roll bundle, then
  renames the pending file over ``center.keys``. A crash in between is repaired on the next
  write: the pending keys are kept if the history holds the roll that announces them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from center.errors import (
    CenterInputError,
    CenterStateError,
    ExpiryError,
    HomeError,
    ListedCardError,
    MigrationError,
    NonEmptyDatabaseError,
    TrustImportError,
)
from center.registry import building, migrate
from center.registry import operators as ops
from center.registry.csvimport import decode_csv_bytes, parse_csv
from center.registry.db import Registry, UpsertCounts
from center.registry.dburl import check_url, redact, same_database
from center.registry.inputs import month_code_at, parse_card_ids, parse_expiry, parse_reason
from center.registry.operators import Operator, Role
from center.registry.secretfile import home_lock, write_secret_file
from crypto import (
    BundleKind,
    CenterKeys,
    KeyFileError,
    KeySet,
    KeySetMismatchError,
    KeySetNotYetValidError,
    MasterIdRange,
    MetadataError,
    MetadataType,
    RootSet,
    TokenKeyEntry,
    adopt_keyset,
    issue_token,
    keyset_request,
    provision,
    read_unverified_keyset,
    read_unverified_root_set,
    verify_keyset,
    verify_root_chain,
    verify_root_set,
)
from crypto import add_signing_key as crypto_add_signing_key
from framing import HotList, Reason, Universe

ROLE = "center"
ROLE_FILE = "hotcast-role"
REGISTRY_FILE = "registry.sqlite"
DB_URL_FILE = "registry.url"
MIGRATED_FILE = "registry.sqlite.pre-migrate"
KEYS_FILE = "center.keys"
PENDING_KEYS_FILE = "center.keys.pending"
HEAD_FILE = "published.head"
REQUEST_FILE = "keyset-request.hcq"
LOCK_FILE = "lock"
HOME_MODE = 0o700
# Card IDs have at most 19 decimal digits, so the default universe is 0 .. 10**19 - 1: about
# 0.88 bit per entry cheaper than the whole 64-bit space (log2(2**64 / 10**19) = 0.884).
DEFAULT_UNIVERSE = Universe(((0, 10**19 - 1),))
# A key set request asks for this much validity unless told otherwise: a year.
DEFAULT_KEYSET_DAYS = 366
# The master id range a first request asks for: 4096 rolls (a weekly roll for 78 years).
DEFAULT_MASTER_IDS = 4096

Passphrase = Callable[[], str]
CardRanges = Sequence[tuple[int, int]]


@dataclass(frozen=True)
class Entry:
    """One listed card as ``center list`` shows it."""

    card_id: int
    reason: Reason
    listed_at: int
    listed_by: str
    expiry_code: int  # 0 = no expiry, else framing's month code


@dataclass(frozen=True)
class ImportResult:
    rows: int
    counts: UpsertCounts


def _no_passphrase() -> str:
    raise HomeError("this command needs the center keys: give the passphrase "
                    "($HOTCAST_PASSPHRASE, or a terminal to ask on)")


class CenterHome:
    """An initialised center home. Open with ``CenterHome.open(path)`` or ``CenterHome.init``."""

    def __init__(self, path: Path, registry: Registry, passphrase: Passphrase | None) -> None:
        self.path = path
        self._reg = registry
        self._passphrase = passphrase or _no_passphrase
        self._keys_cache: tuple[bytes, CenterKeys] | None = None
        self.universe = Universe.parse(registry.meta("universe"))

    def __repr__(self) -> str:
        return f"CenterHome(path={str(self.path)!r}, universe={self.universe})"

    def __enter__(self) -> CenterHome:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._reg.close()

    # -- life cycle ----------------------------------------------------------------------

    @classmethod
    def init(cls, path: str | os.PathLike, universe: Universe | None = None, *, root_pub: bytes,
             now: int, by: str, passphrase: Passphrase | str,
             master_ids: int = DEFAULT_MASTER_IDS, db: str | None = None) -> CenterHome:
        """Create a new home at ``path`` (absent or an empty folder) with fresh center keys that
        trust the root set ``root_pub`` (the root's self-signed public root set), and write the
        first key set request for that root to sign (``REQUEST_FILE``). The registry is a
        SQLite file in the home, or with ``db`` (a ``postgresql://`` URL) that database, which
        must be empty; the home records it."""
        path = Path(path)
        if db is not None:
            check_url(db)
        universe = DEFAULT_UNIVERSE if universe is None else universe
        secret = _as_passphrase(passphrase)
        try:
            root = verify_root_set(root_pub)
        except MetadataError as exc:
            raise TrustImportError(f"the root's public root set does not verify: {exc}") from None
        if root.version != 1:
            raise TrustImportError(f"a center starts from root set version 1, got v{root.version}; "
                                   "import later root sets with `center import-trust`")
        _check_fresh(path)
        path.mkdir(mode=HOME_MODE, parents=True, exist_ok=True)
        os.chmod(path, HOME_MODE)
        created: list[Path] = []
        made_tables: Registry | None = None
        done = False
        try:
            with home_lock(path / LOCK_FILE):
                _check_fresh(path)  # again, now that no other init can run
                keys = CenterKeys.generate()
                for name, data in ((ROLE_FILE, f"{ROLE}\n".encode()),
                                   (KEYS_FILE, keys.to_file(secret()))):
                    created.append(path / name)
                    write_secret_file(path / name, data)
                if db is None:
                    created.append(path / REGISTRY_FILE)
                reg = Registry.connect(path / REGISTRY_FILE if db is None else db,
                                       creating=True)
                request = _first_request(keys, now, master_ids)
                with reg.transaction(lock=False):
                    reg.create_tables({"universe": str(universe), "created_at": str(now)})
                    reg.record_trust("root_set", 1, bytes(root_pub), now, by)
                    reg.audit(now, by, "init", f"universe {universe}; root set v1 "
                              f"({root.threshold} of {len(root.keys)}); signing key "
                              f"{keys.signing_key_id}, master key {keys.current_master_id}; "
                              f"registry {reg.dialect}")
                if db is not None:
                    made_tables = reg
                    created.append(path / DB_URL_FILE)
                    write_secret_file(path / DB_URL_FILE, f"{db}\n".encode())
                created.append(path / REQUEST_FILE)
                write_secret_file(path / REQUEST_FILE, request)
            done = True
        finally:
            if not done:  # leave no half-made home behind
                if made_tables is not None:
                    made_tables.drop_tables()
                    made_tables.close()
                for made in created:
                    for suffix in ("", "-wal", "-shm"):
                        made.with_name(made.name + suffix).unlink(missing_ok=True)
        return cls(path, reg, secret)

    @classmethod
    def open(cls, path: str | os.PathLike, passphrase: Passphrase | str | None = None, *,
             db: str | None = None) -> CenterHome:
        """Open the home at ``path`` and the registry it records; ``db``, when given, must name
        the database the home uses (a script that says where it expects the registry)."""
        path = Path(path)
        target = registry_target(path)
        if db is not None:
            check_url(db)
            if not isinstance(target, str) or not same_database(db, target):
                where = redact(target) if isinstance(target, str) else "its own SQLite file"
                raise HomeError(f"{path} uses {where}, not {redact(db)} (a home moves to "
                                "PostgreSQL with `hotcast center migrate --to URL`)")
        return cls(path, Registry.open(target),
                   None if passphrase is None else _as_passphrase(passphrase))

    @property
    def registry(self) -> Registry:
        """The open registry: ``execute``/``query``/``transaction`` for modules that keep their
        own rows in it (the HTTP service, the scheduler)."""
        return self._reg

    @property
    def database(self) -> str:
        """Where the registry is: the SQLite file, or the URL (password redacted)."""
        return self._reg.where

    @contextmanager
    def _writing(self, *, keys: bool = True) -> Iterator[Registry]:
        """The home's writer lock and one registry transaction. ``keys=False``: a change of
        registry rows only (cards, operators); on PostgreSQL it skips the home's file lock,
        which guards the key files, and queues on the registry's own lock alone (FIFO in the
        server, where a flock wakes every waiter at once)."""
        if not keys and self._reg.dialect == "postgresql":
            with self._reg.transaction():
                yield self._reg
            return
        with home_lock(self.path / LOCK_FILE):
            self._recover_pending()
            with self._reg.transaction():
                yield self._reg

    def _keys(self) -> CenterKeys:
        try:
            data = (self.path / KEYS_FILE).read_bytes()
        except OSError as exc:
            raise CenterStateError(f"cannot read {self.path / KEYS_FILE}: {exc}") from None
        if self._keys_cache is not None and self._keys_cache[0] == data:
            return self._keys_cache[1]
        try:
            keys = CenterKeys.from_file(data, self._passphrase())
        except KeyFileError as exc:
            raise HomeError(f"cannot open {self.path / KEYS_FILE}: {exc}") from None
        self._keys_cache = (data, keys)
        return keys

    def _write_keys(self, name: str, keys: CenterKeys) -> None:
        write_secret_file(self.path / name, keys.to_file(self._passphrase()))

    def _recover_pending(self) -> None:
        pending = self.path / PENDING_KEYS_FILE
        if not pending.exists():
            return
        try:
            new = CenterKeys.from_file(pending.read_bytes(), self._passphrase())
        except KeyFileError:
            pending.unlink()
            return
        rolled = {r["announces_key"] for r in self._reg.rolls(1)}
        if new.current_master_id in rolled:
            _promote_pending(self.path)
        else:
            pending.unlink()

    # -- trust ---------------------------------------------------------------------------

    def root_set(self) -> RootSet:
        """The newest root set imported (each verified against the one before at import)."""
        version, data = self._reg.trust("root_set")[-1]
        return read_unverified_root_set(data)

    def root_set_v1(self) -> bytes:
        """The self-signed root set this center started from: what terminals are given."""
        return self._reg.trust("root_set")[0][1]

    def keyset(self, now: int) -> KeySet | None:
        """The key set in force at ``now``: the newest imported one already valid (one imported
        ahead of its ``valid_from`` waits), or None before the first is imported."""
        sets = [read_unverified_keyset(data) for _, data in self._reg.trust("key_set")]
        valid = [k for k in sets if k.valid_from <= now]
        return valid[-1] if valid else None

    def _require_keyset(self, now: int) -> KeySet:
        keyset = self.keyset(now)
        if keyset is None:
            raise HomeError("no key set is in force: send "
                            f"{self.path / REQUEST_FILE} to the offline root (hotcast root "
                            "sign-keyset) and import what it signs (hotcast center import-trust)")
        return keyset

    def _current_keys(self, reg: Registry, now: int) -> tuple[CenterKeys, KeySet]:
        """The keys and key set to sign with at ``now``: if a newer key set has come into force
        since the keys were last adopted, adopt it first (inside the caller's transaction)."""
        keyset = self._require_keyset(now)
        held = self._keys()
        rolled = [r["announces_key"] for r in reg.rolls(held.current_master_id + 1)]
        if rolled:
            # Several homes share a PostgreSQL registry: another one rolled the master key,
            # and sealing under the old one would fork what terminals are told is current.
            raise HomeError(f"the registry has rolled the master key to id {max(rolled)} but "
                            f"{self.path / KEYS_FILE} holds id {held.current_master_id}: another "
                            "home on this registry rotated; copy its center.keys here")
        try:
            keys = adopt_keyset(held, keyset, now)
        except KeySetMismatchError as exc:
            raise HomeError(f"the key set in force does not fit this center's keys: {exc}") from None
        if keys != held:
            self._write_keys(KEYS_FILE, keys)
            reg.audit(now, "hotcast", "adopt-keyset", f"key set v{keyset.version}: signing key "
                      f"{keys.signing_key_id}, master key {keys.current_master_id}")
        return keys, keyset

    def import_trust(self, documents: list[bytes], *, now: int, by: str) -> list[dict]:
        """Import root rotations and key sets signed by the offline root, in any order; each is
        verified against what the home trusts before it is recorded. All or nothing."""
        roots = [d for d in documents if _metadata_type(d) is MetadataType.ROOT_SET]
        keysets = [d for d in documents if _metadata_type(d) is MetadataType.KEY_SET]
        done = []
        with self._writing() as reg:
            root = self.root_set()
            for data in sorted(roots, key=lambda d: read_unverified_root_set(d).version):
                if read_unverified_root_set(data).version <= root.version:
                    continue  # already trusted
                try:
                    root = verify_root_chain(root, [data])
                except MetadataError as exc:
                    raise TrustImportError(f"root set: {exc}") from None
                reg.record_trust("root_set", root.version, data, now, by)
                reg.audit(now, by, "import-root-set", f"root set v{root.version}: "
                          f"{root.threshold} of {len(root.keys)}")
                done.append({"kind": "root_set", "version": root.version})
            held = [read_unverified_keyset(d) for _, d in reg.trust("key_set")]
            current = held[-1] if held else None
            for data in sorted(keysets, key=lambda d: read_unverified_keyset(d).version):
                try:
                    keyset = verify_keyset(data, root, current, now)
                except KeySetNotYetValidError:
                    keyset = read_unverified_keyset(data)
                    verify_keyset(data, root, current, keyset.valid_from)
                except MetadataError as exc:
                    raise TrustImportError(f"key set: {exc}") from None
                reg.record_trust("key_set", keyset.version, data, now, by)
                reg.audit(now, by, "import-key-set", f"key set v{keyset.version}, epoch "
                          f"{keyset.epoch}, valid {keyset.valid_from}..{keyset.expires}")
                done.append({"kind": "key_set", "version": keyset.version,
                             "epoch": keyset.epoch, "valid_from": keyset.valid_from})
                current = keyset
        return done

    def request_keyset(self, *, now: int, by: str, valid_days: int = DEFAULT_KEYSET_DAYS,
                       new_signing_key: bool = False, master_ids: int | None = None,
                       retire_signing: tuple[int, ...] = (),
                       retire_masters_below: int | None = None) -> bytes:
        """A key set request for the offline root: this center's signing keys (a fresh one too
        with ``new_signing_key``: it signs nothing until a root-signed set lists it), the master
        id range, a validity of ``valid_days``. Old signing keys it no longer lists are kept as
        token keys until their tokens can have expired; ``retire_signing`` names keys to drop
        outright (a leaked key: never keep it, not even for tokens)."""
        with self._writing() as reg:
            keys = self._keys()
            current = self.keyset(now)
            if new_signing_key:
                keys = crypto_add_signing_key(keys, current)
                self._write_keys(KEYS_FILE, keys)
            expires = now + valid_days * 86_400
            ids = _master_range(keys, current, master_ids, now, expires, retire_masters_below)
            keep = tuple(k.key_id for k in keys.signing_keys if k.key_id not in retire_signing)
            if new_signing_key:
                keep = (max(k.key_id for k in keys.signing_keys),)
            token_keys = _token_keys(current, keep, retire_signing, expires)
            # A kept signing key keeps its start: the lists it signed before this renewal are
            # still on air and must open under the new set too.
            since = {} if current is None else {
                e.key_id: e.valid_from for e in current.signing_keys
                if any(k.key_id == e.key_id and k.public_key == e.public_key
                       for k in keys.signing_keys)}
            request = keyset_request(keys, valid_from=now, expires=expires, master_ids=ids,
                                     signing_key_ids=keep, token_keys=token_keys,
                                     since=since).to_bytes()
            write_secret_file(self.path / REQUEST_FILE, request)
            reg.audit(now, by, "request-keyset", f"signing keys {list(keep)}, master ids "
                      f"{ids.lo}..{ids.hi}, valid {valid_days} days")
        return request

    # -- the hot list --------------------------------------------------------------------

    def revoke(self, cards: Iterable[str | int], reason: Reason | str = Reason.STOLEN, *,
               now: int, by: str, note: str = "", expires: str | None = None,
               allowed_ranges: CardRanges | None = None) -> UpsertCounts:
        """List cards (IDs as decimal text or ints); a listed card takes the new reason.
        ``expires`` ``YYYY-MM``: the cards' expiry month (``ExpiryError`` when it does not
        parse or is before ``now``'s month); None keeps a listed card's expiry (a new card
        gets none). ``allowed_ranges`` (an issuer's card ranges): a card outside them refuses
        the whole call (``OutsideRangesError``), nothing changed. One transaction, each change
        audited once under ``revoke`` (new) or ``revoke-change``."""
        reason = parse_reason(reason) if isinstance(reason, str) else Reason(reason)
        ids = parse_card_ids([str(c) for c in cards], self.universe)
        expiry = None if expires is None else np.full(len(ids), _expiry_code(expires, now),
                                                      dtype=np.uint16)
        if allowed_ranges is not None:
            ops.check_in_ranges(ids, allowed_ranges)
        reasons = building.full_of(len(ids), int(reason))
        with self._writing(keys=False) as reg:
            return reg.upsert(ids, reasons, expiry, now, by, "revoke", note)

    def reinstate(self, cards: Iterable[str | int], *, now: int, by: str, note: str = "",
                  allowed_ranges: CardRanges | None = None) -> int:
        """Remove cards from the list; every one must be listed (``NotListedError``) and, with
        ``allowed_ranges``, inside them (``OutsideRangesError``); else nothing changes."""
        ids = parse_card_ids([str(c) for c in cards], self.universe)
        if allowed_ranges is not None:
            ops.check_in_ranges(ids, allowed_ranges)
        with self._writing(keys=False) as reg:
            reg.remove(ids, now, by, note)
        return len(ids)

    def import_csv(self, source: Path | str | bytes, *, now: int, by: str,
                   note: str = "", allowed_ranges: CardRanges | None = None) -> ImportResult:
        """Import ``card_id,reason[,expires]`` rows, all or nothing (``allowed_ranges`` as for
        ``revoke``).

        ``source`` is a ``Path`` to read, CSV ``bytes``, or CSV text as ``str``.
        """
        if isinstance(source, Path):
            source = source.read_bytes()
        text = decode_csv_bytes(source) if isinstance(source, bytes) else source
        rows: HotList = parse_csv(text, self.universe, now)
        if allowed_ranges is not None:
            ops.check_in_ranges(rows.ids, allowed_ranges)
        with self._writing(keys=False) as reg:
            counts = reg.upsert(rows.ids, rows.reasons, rows.expiry, now, by, "import", note)
            reg.audit(now, by, "import-file", f"{note}: {len(rows)} rows, {counts.added} added, "
                      f"{counts.changed} changed, {counts.unchanged} unchanged")
        return ImportResult(len(rows), counts)

    def list_entries(self, after: int | None = None) -> Iterator[Entry]:
        """Listed cards in ID order (above card ``after`` when given: an indexed seek)."""
        reasons = {int(r): r for r in Reason}
        for card, reason, listed_at, listed_by, expiry in self._reg.iter_entries(after):
            yield Entry(card, reasons[reason], listed_at, listed_by, expiry)

    def reason_counts(self) -> dict[Reason, int]:
        """Listed cards by reason (every reason, zeros included)."""
        counts = self._reg.reason_counts()
        return {r: counts.get(int(r), 0) for r in Reason}

    def changes_by_day(self, since: int, day_s: int = 86_400) -> list[tuple[int, str, int]]:
        """(day number ``at // day_s``, audit action, rows) of the changes to cards at or
        after ``since``."""
        return self._reg.changes_by_day(since, day_s)

    def entry(self, card_id: int) -> Entry | None:
        """One listed card, or None (one indexed read)."""
        row = self._reg.entry(card_id)
        return None if row is None else Entry(row[0], Reason(row[1]), *row[2:])

    def count(self) -> int:
        return self._reg.count()

    # -- operators and machines (the HTTP service's tokens) -------------------------------

    def add_operator(self, name: str, role: Role | str, *, ranges: CardRanges | None = None,
                     now: int, by: str, note: str = "") -> str:
        """Add an operator or machine; its bearer token, returned this once (the registry keeps
        only its hash). ``ranges`` (inclusive card ID pairs or ``"LO-HI"`` text) for an issuer,
        required and only for it."""
        name = ops.check_name(name)
        role = ops.parse_role(role)
        pairs = ops.check_ranges(role, ranges)
        token = ops.new_token()
        with self._writing(keys=False) as reg:
            ops.insert(reg, name, role, pairs, token, now, by)
            shown = f", ranges {','.join(ops.format_ranges(pairs))}" if pairs else ""
            reg.audit(now, by, "operator-add", f"{name}: role {role.value}{shown}"
                      + (f"; {note}" if note else ""))
        return token

    def operators(self) -> list[Operator]:
        """Every operator ever added, oldest first, revoked ones included (never tokens)."""
        return ops.all_operators(self._reg)

    def revoke_operator(self, name: str, *, now: int, by: str, note: str = "") -> Operator:
        """Revoke the operator ``name``: its token opens nothing from now on."""
        with self._writing(keys=False) as reg:
            revoked = ops.revoke(reg, name, now, by)
            reg.audit(now, by, "operator-revoke", f"{name}: role {revoked.role.value}"
                      + (f"; {note}" if note else ""))
        return revoked

    def authenticate(self, token: str) -> Operator | None:
        """The operator holding ``token``, or None for an unknown or revoked one (one indexed
        read, then a constant-time comparison)."""
        return ops.authenticate(self._reg, token)

    # -- the database --------------------------------------------------------------------

    def migrate(self, to: str, *, now: int, by: str) -> list[migrate.TableCopy]:
        """Copy this home's SQLite registry into the empty PostgreSQL database ``to``, verify
        it table by table (row counts and content digests), then switch the home to it; the
        SQLite file stays as ``MIGRATED_FILE``. Stop ``center broadcast`` and ``serve`` on this
        home first: they would go on reading the SQLite file."""
        check_url(to)
        if self._reg.dialect != "sqlite":
            raise MigrationError(f"{self.path} already uses {self._reg.where}")
        with home_lock(self.path / LOCK_FILE):
            if (self.path / MIGRATED_FILE).exists():
                raise MigrationError(f"{self.path / MIGRATED_FILE} is in the way: move it "
                                     "elsewhere first")
            copied = migrate.copy_registry(self._reg, to, now=now, by=by)
            new = Registry.open(to)
            write_secret_file(self.path / DB_URL_FILE, f"{to}\n".encode())
            old, self._reg = self._reg, new
            old.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            old.close()
            for suffix in ("", "-wal", "-shm"):
                made = self.path / f"{REGISTRY_FILE}{suffix}"
                if made.exists():
                    os.replace(made, self.path / f"{MIGRATED_FILE}{suffix}")
        return copied

    # -- keys ----------------------------------------------------------------------------

    def provision(self, *, now: int, by: str, note: str = "") -> bytes:
        """Terminal key material (root set, key set, master keys; ``TerminalKeys.to_file()``)."""
        with self._writing() as reg:
            keys, keyset = self._current_keys(reg, now)
            reg.audit(now, by, "provision", note)
            root = read_unverified_root_set(self.root_set_v1())
            return provision(keys, root, keyset).to_file()

    def issue_token(self, card: str | int, valid_until: int, *, now: int, by: str,
                    note: str = "") -> bytes:
        """A signed validity token for one card, valid through ``valid_until``; audited with
        ``note`` (where the request came from and why, as for every change).

        A card on the hot list gets none (``ListedCardError``): renewing its credit would undo
        the revocation for every terminal that checks tokens but has not heard the list yet.
        """
        (card_id,) = parse_card_ids([str(card)], self.universe).tolist()
        with self._writing() as reg:
            keys, _ = self._current_keys(reg, now)
            reason = reg.reason_of(card_id)
            if reason is not None:
                raise ListedCardError(f"card {card_id} is on the hot list "
                                      f"({Reason(reason).name.lower()}); reinstate it first")
            reg.audit(now, by, "token", f"card {card_id} valid until {valid_until}"
                      + (f"; {note}" if note else ""))
            return issue_token(card_id, valid_until, keys)

    def rotate_master(self, *, now: int, by: str,
                      valid_for_s: int = building.DEFAULT_ROLL_VALID_S) -> building.BuiltBundle:
        """Roll the master key inside the key set's range; the MASTER_ROLL bundle (sealed under
        the old key) goes on air with the carousel."""
        pending = self.path / PENDING_KEYS_FILE
        with home_lock(self.path / LOCK_FILE):
            self._recover_pending()
            try:
                with self._reg.transaction():
                    keys, keyset = self._current_keys(self._reg, now)
                    new_keys, built = building.roll_master(self._reg, keys, keyset, now,
                                                           valid_for_s)
                    self._write_keys(PENDING_KEYS_FILE, new_keys)
                    self._reg.audit(now, by, "rotate-master",
                                    f"master key {built.announces_key} (roll sha256 {built.sha256})")
            except Exception:
                pending.unlink(missing_ok=True)  # the roll did not happen
                raise
            _promote_pending(self.path)
        return built

    # -- bundles -------------------------------------------------------------------------

    def build(self, kind: BundleKind = BundleKind.FULL, base_seq: int | None = None, *, now: int,
              by: str, valid_for_s: int = building.DEFAULT_VALID_S) -> building.BuiltBundle:
        """Build, seal and record the next list of the current epoch: full, or a delta that takes
        every list from ``base_seq`` (default: the latest full one) to the new one.

        Entries whose expiry month is before ``now``'s month are left out of the list.
        """
        with self._writing() as reg:
            keys, keyset = self._current_keys(reg, now)
            self._check_head(reg)
            built = building.build_list(reg, keys, keyset, self.universe, kind, base_seq, now,
                                        valid_for_s)
            reg.audit(now, by, "build", f"epoch {built.epoch} seq {built.seq} "
                      f"{built.kind.name.lower()} base {built.base}, {built.entries} entries, "
                      f"sha256 {built.sha256}")
            _write_head(self.path, built)
            return built

    def _check_head(self, reg: Registry) -> None:
        """Refuse to build on a history older than what was published (``HEAD_FILE``)."""
        head = _read_head(self.path)
        newest = reg.latest_list()
        if head is None:
            return
        epoch, seq, digest = head
        if newest is None or (newest["epoch"], newest["seq"]) < (epoch, seq):
            have = "no list" if newest is None else f"epoch {newest['epoch']} seq {newest['seq']}"
            raise building.HistoryError(
                f"this center published epoch {epoch} seq {seq}, but its registry holds only "
                f"{have}: it was restored from an older backup. Building now would fork the "
                "history terminals hold; restore the newer registry, or have the root start a "
                "new epoch (hotcast root sign-keyset --new-epoch)")
        if (newest["epoch"], newest["seq"]) == (epoch, seq) and newest["sha256"] != digest:
            raise building.HistoryError(
                f"the registry's list epoch {epoch} seq {seq} is not the one this center "
                "published (another history): refusing to build on it")

    def bundle(self, seq: int, epoch: int | None = None) -> building.BuiltBundle:
        """A recorded list bundle by seq (of the current epoch unless given)."""
        if epoch is None:
            newest = self._reg.latest_list()
            epoch = newest["epoch"] if newest is not None else 1
        return building.load_list(self._reg, epoch, seq)

    def carousel(self, now: int) -> list:
        """What goes on air now, in the order terminals need it (``building.carousel``)."""
        return building.carousel(self._reg, self.keyset(now), now)

    def air_extras(self, items: list, now: int, *, heartbeat: bool = True,
                   announce: bool = True) -> list:
        """Signed with the current keys (needs the passphrase): a fresh heartbeat, and an
        announcement naming ``items`` (a heartbeat is one block, complete as soon as heard: it
        needs no room and is left out, so the announcement changes only with the carousel).
        Nothing before a key set is in force."""
        keyset = self.keyset(now)
        if keyset is None or not items:
            return []
        with self._writing() as reg:
            keys, keyset = self._current_keys(reg, now)
        extras = []
        if heartbeat:
            beat = building.heartbeat(self._reg, keys, keyset, now)
            extras += [] if beat is None else [beat]
        if announce:
            extras.append(building.announcement(items, keys, keyset, 1, now))
        return extras

    def latest_change(self) -> int:
        """A number that grows with every bundle built or trust imported (one indexed read)."""
        return self._reg.last_change_id()

    def history(self) -> Iterator[dict]:
        return self._reg.iter_history()

    def audit_log(self, *, card: int | None = None, since: int | None = None,
                  action: str | None = None) -> Iterator[tuple]:
        """Audit rows, oldest first, filtered by card, time and action where given."""
        return self._reg.iter_audit(card, since, action)

    def newest_audit(self, limit: int, *, card: int | None = None, since: int | None = None,
                     action: str | None = None, before: int | None = None) -> list[tuple]:
        """Up to ``limit`` audit rows, newest first, below row id ``before`` when given,
        filtered as ``audit_log`` (a page costs its own rows)."""
        return self._reg.newest_audit(limit, card, since, action, before)

    def record_export(self, seq: int, where: str, *, now: int, by: str) -> None:
        """Audit that bundle ``seq`` left the center (``export``)."""
        with self._writing() as reg:
            reg.audit(now, by, "export", f"seq {seq} to {where}")

    def record_air(self, action: str, note: str, *, now: int, by: str) -> None:
        """Audit that the carousel went on air (``render`` to a file, ``broadcast`` start/end)."""
        with self._writing() as reg:
            reg.audit(now, by, action, note)


def _expiry_code(text: str, now: int) -> int:
    """The month code of ``YYYY-MM`` text, not before ``now``'s month (``ExpiryError``)."""
    if text == "":
        raise ExpiryError("expires: empty; want YYYY-MM (or leave it out)")
    try:
        code = parse_expiry(text)
    except ValueError as exc:
        raise ExpiryError(f"expires: {exc}") from None
    if code < month_code_at(now):
        raise ExpiryError(f"expires {text} is in the past: such a card cannot pay anyway")
    return code


def _as_passphrase(passphrase: Passphrase | str) -> Passphrase:
    if callable(passphrase):
        cache: list[str] = []

        def once() -> str:
            if not cache:
                cache.append(passphrase())
            return cache[0]
        return once
    return lambda: passphrase


def _metadata_type(data: bytes) -> MetadataType:
    try:
        return MetadataType(bytes(data)[4]) if bytes(data)[:3] == b"HCM" else None
    except (IndexError, ValueError):
        return None


def _first_request(keys: CenterKeys, now: int, master_ids: int) -> bytes:
    ids = MasterIdRange(1, master_ids, now, now + DEFAULT_KEYSET_DAYS * 86_400)
    return keyset_request(keys, valid_from=now, expires=now + DEFAULT_KEYSET_DAYS * 86_400,
                          master_ids=ids).to_bytes()


def _master_range(keys: CenterKeys, current: KeySet | None, width: int | None, valid_from: int,
                  expires: int, retire_below: int | None = None) -> MasterIdRange:
    """The master ids to ask for. The low end stays where the current set has it: a terminal
    that missed a roll still needs the older master key to unwrap the rolls on air, so ids are
    retired only when asked (``retire_below``: after a master key leaked, or once every terminal
    has caught up). The high end gives ``width`` more ids than the current master (default:
    at least what the current set allows)."""
    lo = current.master_ids.lo if current is not None else 1
    if retire_below is not None:
        if not lo <= retire_below <= keys.current_master_id:
            raise HomeError(f"can retire master ids below {retire_below} only up to the current "
                            f"master key id {keys.current_master_id}")
        lo = retire_below
    hi = keys.current_master_id + (width or DEFAULT_MASTER_IDS) - 1
    if current is not None and width is None:
        hi = max(hi, current.master_ids.hi)
    return MasterIdRange(lo, hi, valid_from, expires)


def _token_keys(current: KeySet | None, keep: tuple[int, ...], retire: tuple[int, ...],
                expires: int) -> tuple[TokenKeyEntry, ...]:
    """Signing keys of the current set that the request drops (and were not retired as
    leaked) stay as token keys until the new set expires; token keys carry over likewise."""
    if current is None:
        return ()
    out = [TokenKeyEntry(e.key_id, e.public_key, expires) for e in current.signing_keys
           if e.key_id not in keep and e.key_id not in retire]
    out += [t for t in current.token_keys if t.key_id not in retire and t.key_id not in keep]
    return tuple(sorted(out, key=lambda t: t.key_id))


def check_new_home(path: str | os.PathLike, db: str | None = None) -> None:
    """``HomeError`` unless ``path`` is absent or an empty folder: where ``init`` may go; with
    ``db``, also an error unless that database answers and is empty."""
    _check_fresh(Path(path))
    if db is not None:
        reg = Registry.connect(check_url(db))
        try:
            found = reg.table_names()
        finally:
            reg.close()
        if found:
            raise NonEmptyDatabaseError(f"the database {redact(db)} is not empty (it holds "
                                        f"{len(found)} tables: {', '.join(found[:5])}); a new "
                                        "registry needs an empty database or schema")


def registry_target(path: Path) -> Path | str:
    """Where the home at ``path`` keeps its registry: the URL ``DB_URL_FILE`` records, else
    its SQLite file; ``HomeError`` when ``path`` is no center home."""
    url_file = path / DB_URL_FILE
    if url_file.is_file():
        try:
            return check_url(url_file.read_text(encoding="utf-8").strip())
        except (UnicodeDecodeError, CenterInputError) as exc:
            raise CenterStateError(f"{url_file} is corrupted: {exc}") from None
    if (path / REGISTRY_FILE).is_file():
        return path / REGISTRY_FILE
    raise HomeError(f"no center home at {path} (run `hotcast center init --home {path}`)")


def _check_fresh(path: Path) -> None:
    """Refuse to init over a home, a file, or a folder holding anything but our lock file."""
    if any((path / name).exists() for name in (REGISTRY_FILE, KEYS_FILE, DB_URL_FILE)):
        raise HomeError(f"center home {path} is already initialised")
    if path.exists() and (not path.is_dir() or any(p.name != LOCK_FILE for p in path.iterdir())):
        raise HomeError(f"{path} exists and is not an empty folder")


def _promote_pending(path: Path) -> None:
    """Make the pending keys of a recorded rotation the live keys (an atomic rename)."""
    os.replace(path / PENDING_KEYS_FILE, path / KEYS_FILE)


def _read_head(path: Path) -> tuple[int, int, str] | None:
    try:
        text = (path / HEAD_FILE).read_text(encoding="ascii").split()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise CenterStateError(f"cannot read {path / HEAD_FILE}: {exc}") from None
    if len(text) != 3 or not (text[0].isdigit() and text[1].isdigit()):
        raise CenterStateError(f"{path / HEAD_FILE} is corrupted: want 'EPOCH SEQ SHA256'")
    return int(text[0]), int(text[1]), text[2]


def _write_head(path: Path, built: building.BuiltBundle) -> None:
    write_secret_file(path / HEAD_FILE, f"{built.epoch} {built.seq} {built.sha256}\n".encode())
