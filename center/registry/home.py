"""A center home: the registry, the center keys and the bundles built from them.

Layout of the folder (created 0700):
    registry.sqlite     hot cards, audit log, bundle history with sealed bytes (center.registry.db)
    center.keys         CenterKeys.to_bytes(), mode 0600, never printed
    center.keys.pending new keys of a rotation in flight (see ``_recover_pending``)
    lock                writer lock (flock)

Invariants:
* Every method that changes the home holds the writer lock and one SQLite transaction, reads
  the keys inside them, validates all input before writing, and changes nothing on error.
* Time is passed in (``now``, unix seconds UTC); this module never reads the clock.
* A key rotation writes the new keys to ``center.keys.pending``, commits the roll bundle, then
  renames the pending file over ``center.keys``. A crash in between is repaired on the next
  write: the pending keys are kept if the history holds the roll that announces them, else
  dropped (the roll never happened).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from center.registry import building
from center.registry.csvimport import decode_csv_bytes, parse_csv
from center.errors import CenterStateError, HomeError, ListedCardError
from center.registry.inputs import parse_card_ids, parse_reason
from center.registry.db import Registry, UpsertCounts
from center.registry.secretfile import home_lock, write_secret_file
from crypto import BundleKind, CenterKeys, KeyFileError, issue_token, provision
from framing import Reason, Universe

REGISTRY_FILE = "registry.sqlite"
KEYS_FILE = "center.keys"
PENDING_KEYS_FILE = "center.keys.pending"
LOCK_FILE = "lock"
HOME_MODE = 0o700
ROTATE_ACTIONS = {BundleKind.MASTER_ROLL: "rotate-master", BundleKind.SIGNER_ROLL: "rotate-signing"}
# Card IDs have at most 19 decimal digits, so the default universe is 0 .. 10**19 - 1: about
# 0.88 bit per entry cheaper than the whole 64-bit space (log2(2**64 / 10**19) = 0.884).
DEFAULT_UNIVERSE = Universe(((0, 10**19 - 1),))


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


class CenterHome:
    """An initialised center home. Open with ``CenterHome.open(path)`` or ``CenterHome.init``."""

    def __init__(self, path: Path, registry: Registry) -> None:
        self.path = path
        self._reg = registry
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
    def init(cls, path: str | os.PathLike, universe: Universe | None = None, *,
             now: int, by: str) -> CenterHome:
        """Create a new home at ``path`` (absent or an empty folder) with fresh center keys."""
        path = Path(path)
        universe = DEFAULT_UNIVERSE if universe is None else universe
        _check_fresh(path)
        path.mkdir(mode=HOME_MODE, parents=True, exist_ok=True)
        created: list[Path] = []
        done = False
        try:
            with home_lock(path / LOCK_FILE):
                _check_fresh(path)  # again, now that no other init can run
                keys = CenterKeys.generate()
                created.append(path / KEYS_FILE)
                write_secret_file(path / KEYS_FILE, keys.to_bytes())
                created.append(path / REGISTRY_FILE)
                reg = Registry.create(path / REGISTRY_FILE, {
                    "universe": str(universe), "created_at": str(now),
                })
                with reg.transaction():
                    reg.audit(now, by, "init", f"universe {universe}; master key "
                              f"{keys.current_master_id}, signing key {keys.signing_key_id}")
            done = True
        finally:
            if not done:  # leave no half-made home behind
                for made in created:
                    for suffix in ("", "-wal", "-shm"):
                        made.with_name(made.name + suffix).unlink(missing_ok=True)
        return cls(path, reg)

    @classmethod
    def open(cls, path: str | os.PathLike) -> CenterHome:
        path = Path(path)
        if not (path / REGISTRY_FILE).is_file():
            raise HomeError(f"no center home at {path} (run `hotcast center init --home {path}`)")
        return cls(path, Registry.open(path / REGISTRY_FILE))

    @contextmanager
    def _writing(self) -> Iterator[Registry]:
        with home_lock(self.path / LOCK_FILE):
            self._recover_pending()
            with self._reg.transaction():
                yield self._reg

    def _keys(self) -> CenterKeys:
        try:
            return CenterKeys.from_bytes((self.path / KEYS_FILE).read_bytes())
        except (OSError, KeyFileError) as exc:
            raise CenterStateError(f"cannot load {self.path / KEYS_FILE}: {exc}") from None

    def _recover_pending(self) -> None:
        pending = self.path / PENDING_KEYS_FILE
        if not pending.exists():
            return
        try:
            new = CenterKeys.from_bytes(pending.read_bytes())
        except KeyFileError:
            pending.unlink()
            return
        old = self._keys()
        announced = {(row["kind"], row["announces_key"]) for row in self._reg.iter_history()
                     if row["announces_key"] is not None}
        master_done = ("master_roll", new.current_master_id) in announced
        signer_done = ("signer_roll", new.signing_key_id) in announced
        if (new.current_master_id != old.current_master_id and master_done) or (
                new.signing_key_id != old.signing_key_id and signer_done):
            _promote_pending(self.path)
        else:
            pending.unlink()

    # -- the hot list --------------------------------------------------------------------

    def revoke(self, cards: Iterable[str | int], reason: Reason | str = Reason.STOLEN, *,
               now: int, by: str, note: str = "") -> UpsertCounts:
        """List cards (IDs as decimal text or ints); a listed card takes the new reason."""
        reason = parse_reason(reason) if isinstance(reason, str) else Reason(reason)
        ids = parse_card_ids([str(c) for c in cards], self.universe)
        reasons = building.full_of(len(ids), int(reason))
        with self._writing() as reg:
            return reg.upsert(ids, reasons, None, now, by, "revoke", note)

    def reinstate(self, cards: Iterable[str | int], *, now: int, by: str, note: str = "") -> int:
        """Remove cards from the list; every one must be listed (``NotListedError``)."""
        ids = parse_card_ids([str(c) for c in cards], self.universe)
        with self._writing() as reg:
            reg.remove(ids, now, by, note)
        return len(ids)

    def import_csv(self, source: Path | str | bytes, *, now: int, by: str,
                   note: str = "") -> ImportResult:
        """Import ``card_id,reason[,expires]`` rows, all or nothing.

        ``source`` is a ``Path`` to read, CSV ``bytes``, or CSV text as ``str``.
        """
        if isinstance(source, Path):
            source = source.read_bytes()
        text = decode_csv_bytes(source) if isinstance(source, bytes) else source
        rows = parse_csv(text, self.universe)
        order = building.sort_rows(rows)
        with self._writing() as reg:
            counts = reg.upsert(order.ids, order.reasons, order.expiry, now, by, "import", note)
            reg.audit(now, by, "import-file", f"{note}: {len(rows)} rows, {counts.added} added, "
                      f"{counts.changed} changed, {counts.unchanged} unchanged")
        return ImportResult(len(rows), counts)

    def list_entries(self) -> Iterator[Entry]:
        reasons = {int(r): r for r in Reason}
        for card, reason, listed_at, listed_by, expiry in self._reg.iter_entries():
            yield Entry(card, reasons[reason], listed_at, listed_by, expiry)

    def count(self) -> int:
        return self._reg.count()

    # -- keys ----------------------------------------------------------------------------

    def provision(self, *, now: int, by: str, note: str = "") -> bytes:
        """Terminal key material (``TerminalKeys.to_bytes()``); write it 0600."""
        with self._writing() as reg:
            keys = self._keys()
            reg.audit(now, by, "provision", note)
            return provision(keys).to_bytes()

    def issue_token(self, card: str | int, valid_until: int, *, now: int, by: str) -> bytes:
        """A signed validity token for one card, valid through ``valid_until``.

        A card on the hot list gets none (``ListedCardError``): renewing its credit would undo
        the revocation for every terminal that checks tokens but has not heard the list yet.
        """
        (card_id,) = parse_card_ids([str(card)], self.universe).tolist()
        with self._writing() as reg:
            reason = reg.reason_of(card_id)
            if reason is not None:
                raise ListedCardError(f"card {card_id} is on the hot list "
                                      f"({Reason(reason).name.lower()}); reinstate it first")
            reg.audit(now, by, "token", f"card {card_id} valid until {valid_until}")
            return issue_token(card_id, valid_until, self._keys())

    def rotate_master(self, *, now: int, by: str,
                      valid_for_s: int = building.DEFAULT_ROLL_VALID_S) -> building.BuiltBundle:
        """Roll the master key; returns the MASTER_ROLL bundle (sealed under the old key)."""
        return self._rotate(BundleKind.MASTER_ROLL, now, by, valid_for_s)

    def rotate_signing(self, *, now: int, by: str,
                       valid_for_s: int = building.DEFAULT_ROLL_VALID_S) -> building.BuiltBundle:
        """Roll the signing key; returns the SIGNER_ROLL bundle (signed by the old key)."""
        return self._rotate(BundleKind.SIGNER_ROLL, now, by, valid_for_s)

    def _rotate(self, kind: BundleKind, now: int, by: str, valid_for_s: int) -> building.BuiltBundle:
        building.check_valid_for(valid_for_s)
        pending = self.path / PENDING_KEYS_FILE
        with home_lock(self.path / LOCK_FILE):
            self._recover_pending()
            try:
                with self._reg.transaction():
                    new_keys, built = building.roll(self._reg, self._keys(), kind, now, valid_for_s)
                    write_secret_file(pending, new_keys.to_bytes())
                    self._reg.audit(now, by, ROTATE_ACTIONS[kind],
                                    f"seq {built.seq} announces key {built.announces_key}")
            except Exception:
                pending.unlink(missing_ok=True)  # the roll did not happen
                raise
            _promote_pending(self.path)
        return built

    # -- bundles -------------------------------------------------------------------------

    def build(self, kind: BundleKind = BundleKind.FULL, base_seq: int | None = None, *, now: int, by: str,
              valid_for_s: int = building.DEFAULT_VALID_S) -> building.BuiltBundle:
        """Build, seal and record a ``full`` bundle or a ``delta`` from ``base_seq``.

        Entries whose expiry month is before ``now``'s month are left out of the list.
        The sealed bytes are ``result.sealed``.
        """
        building.check_build_args(kind, base_seq, valid_for_s)
        with self._writing() as reg:
            built = building.build_list(reg, self._keys(), self.universe, kind, base_seq,
                                        now, valid_for_s)
            reg.audit(now, by, "build", f"seq {built.seq} {built.kind.name.lower()} base {built.base}, "
                      f"{built.entries} entries, sha256 {built.sha256}")
            return built

    def bundle(self, seq: int) -> building.BuiltBundle:
        """A recorded bundle by seq (``UnknownSeqError`` if never built)."""
        return building.load(self._reg, seq)

    def carousel(self, now: int | None = None) -> list[building.BuiltBundle]:
        """What goes on air, in seq order: key rolls (still valid at ``now`` when given), the
        latest full bundle, and the deltas built after it. Sealed bytes are ``b.sealed``."""
        return building.carousel(self._reg, now)

    def latest_seq(self) -> int | None:
        """The newest bundle's seq (any kind; None before the first): one indexed read, so a
        live broadcast can poll it every second to learn that something was built."""
        return building.latest_seq(self._reg)

    def history(self) -> Iterator[dict]:
        return self._reg.iter_history()

    def audit_log(self, *, card: int | None = None, since: int | None = None,
                  action: str | None = None) -> Iterator[tuple]:
        """Audit rows, oldest first, filtered by card, time and action where given."""
        return self._reg.iter_audit(card, since, action)

    def record_export(self, seq: int, where: str, *, now: int, by: str) -> None:
        """Audit that bundle ``seq`` left the center (``export``)."""
        with self._writing() as reg:
            reg.audit(now, by, "export", f"seq {seq} to {where}")

    def record_air(self, action: str, note: str, *, now: int, by: str) -> None:
        """Audit that the carousel went on air (``render`` to a file, ``broadcast`` start/end)."""
        with self._writing() as reg:
            reg.audit(now, by, action, note)


def _check_fresh(path: Path) -> None:
    """Refuse to init over a home, a file, or a folder holding anything but our lock file."""
    if (path / REGISTRY_FILE).exists() or (path / KEYS_FILE).exists():
        raise HomeError(f"center home {path} is already initialised")
    if path.exists() and (not path.is_dir() or any(p.name != LOCK_FILE for p in path.iterdir())):
        raise HomeError(f"{path} exists and is not an empty folder")


def _promote_pending(path: Path) -> None:
    """Make the pending keys of a recorded rotation the live keys (an atomic rename)."""
    os.replace(path / PENDING_KEYS_FILE, path / KEYS_FILE)
