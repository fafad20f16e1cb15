"""The scheduler of ``center serve``: builds what the plan calls for and says what goes on air.

``Scheduler(home_path, plan, ...).tick(now)`` is called every ``plan.serve.poll_s``. Each tick
reads the registry (``center.air.watch``: a few indexed reads) and does at most one write, the
first that is due of:

1. a master-key roll (``[keys] roll_master_every`` after the last roll, or a
   ``roll_master_at`` date less ``lead``): the roll goes on air at once, ``lead`` before it
   takes effect;
2. a full list: the epoch has none; the key set in force came in after the newest full list;
   a roll took effect (``lead`` after it went on air) after it; ``[lists] full_every`` since
   it; or the newest list expires within ``refresh_before``;
3. a delta (cumulative from the newest full list) when the hot list changed after the newest
   build and the smallest channel batch (``policy.delta_batch_s``) has passed since the change
   was first seen.

Then a fresh heartbeat and announcement when the carousel changed or ``heartbeat_every``
passed, and key sets imported ahead of time are added ``lead`` before their ``valid_from``.
The result is an ``AirSet``: every channel puts exactly those bundles on air.

Faults: a writer that holds the registry (``writer_busy``) postpones the write to a later tick
(the air goes on with what it has); a failed build is logged and retried with a backoff of
poll x 2^n up to 30 s. Both are warnings in the status while they last. Nothing here sleeps.

Invariants: sequence numbers come from the registry's transactions, so a scheduler killed at
any instant and restarted goes on from the newest recorded list: numbers never repeat or go
back, and only recorded (whole) bundles are ever put on air. Time is passed in (``now``).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from center.air.plan import Plan
from center.air.watch import RegistryWatch
from center.errors import CenterError
from center.registry.home import CenterHome
from crypto import BundleKind, MetadataType, read_unverified_keyset

MAX_BACKOFF_S = 30.0
# Far enough ahead to see every key set imported (the newest at any time).
_FAR_FUTURE = 2**40
_KEY_KINDS = (MetadataType.ROOT_SET, MetadataType.KEY_SET, BundleKind.MASTER_ROLL)
_LIST_KINDS = (BundleKind.FULL, BundleKind.DELTA)


@dataclass(frozen=True, eq=False)
class AirSet:
    """What every channel puts on air, as of ``made_at``. ``first_edit_at``: when the newest
    registry edit in the newest delta was first seen (per-channel batching starts there)."""

    version: int
    made_at: float
    bundles: tuple
    first_edit_at: float | None = None

    def key_material(self) -> frozenset:
        return frozenset(bundle_key(b) for b in self.bundles if b.kind in _KEY_KINDS)

    def lists(self) -> frozenset:
        return frozenset(bundle_key(b) for b in self.bundles if b.kind in _LIST_KINDS)


def bundle_key(b) -> tuple[int, int, bytes]:
    return int(b.kind), b.seq, bytes(b.sealed[-16:])


class Scheduler:
    """Builds and rolls per the plan; ``tick(now) -> AirSet | None`` (None: nothing changed)."""

    def __init__(self, home_path: Path, plan: Plan, *, passphrase: Callable[[], str], by: str,
                 log: Callable[[dict], None]) -> None:
        self.home_path, self.plan, self.by, self.log = Path(home_path), plan, by, log
        self._passphrase = passphrase
        self.home: CenterHome | None = None
        self.watch: RegistryWatch | None = None
        self.warnings: dict[str, str] = {}
        self._logged_warnings: set[str] = set()
        self._version = 0
        self._published: tuple = ()
        self._items: list = []
        self._carousel_cache: tuple | None = None
        self._upcoming_cache: tuple | None = None
        self._extras: list = []
        self._beat_at = -float("inf")
        self._first_edit_seen: float | None = None
        self._delta_edit_at: float | None = None
        self._failures = 0
        self._retry_at = -float("inf")
        self._last_error: str | None = None

    def __repr__(self) -> str:
        return f"Scheduler({str(self.home_path)!r}, {self.plan.path!r})"

    def open(self) -> None:
        """Open the home and the watch in the calling thread (SQLite handles stay in it)."""
        self.home = CenterHome.open(self.home_path, self._passphrase)
        self.watch = RegistryWatch(self.home_path)

    def record(self, action: str, note: str, now: float) -> None:
        """An audit row (``serve-start``, ``serve-stop``), unless another writer holds the
        registry (then it is logged and skipped: the air never waits for the audit)."""
        busy = self.watch.writer_busy()
        if busy:
            self.log({"event": "error", "what": action, "error": f"not audited: {busy}"})
            return
        try:
            self.home.record_air(action, note, now=int(now), by=self.by)
        except (CenterError, sqlite3.Error, OSError) as exc:
            self.log({"event": "error", "what": action, "error": f"not audited: {exc}"})

    def close(self) -> None:
        if self.watch is not None:
            self.watch.close()
        if self.home is not None:
            self.home.close()

    # -- one tick ----------------------------------------------------------------------------

    def tick(self, now: float) -> AirSet | None:
        if self.home is None:
            self.open()
        t = int(now)
        warnings: dict[str, str] = {}
        keyset = self.home.keyset(t)
        if keyset is None:
            warnings["no_keyset"] = ("no key set is in force: nothing can be signed; import "
                                     "the one the root signs (hotcast center import-trust)")
            self._set_warnings(warnings)
            return self._publish(now, [], [])
        if self.watch.edits_pending():
            if self._first_edit_seen is None:
                self._first_edit_seen = now
        else:
            self._first_edit_seen = None
        items = self._carousel(t)
        due = self._due(now, keyset, items)
        busy = None
        if due is not None and now >= self._retry_at:
            busy = self.watch.writer_busy()
            if busy:
                warnings["busy"] = f"registry busy: {busy}; the {due[0]} waits ({due[1]})"
            elif self._do(due, now):
                items = self._carousel(t)
        if self._failures:
            warnings["build"] = (f"building failed {self._failures} time(s): {self._last_error}; "
                                 f"retrying in {max(0.0, self._retry_at - now):.1f} s")
        moved = self._carousel_moved(items)
        if moved or now - self._beat_at >= self.plan.lists.heartbeat_every_s:
            busy = busy or self.watch.writer_busy()
            if busy:
                warnings.setdefault("busy", f"registry busy: {busy}; heartbeat waits")
            else:
                self._extras = self._fresh_extras(items, t, announce=moved)
                self._beat_at = now
        self._items = items
        warnings.update(self._key_warnings(keyset, items, t))
        self._set_warnings(warnings)
        return self._publish(now, items + self._upcoming(items, t), self._extras)

    def _carousel(self, t: int) -> list:
        """``home.carousel(t)``, read again only when a bundle was built, a trust document
        imported, or another key set came into force (a full list can be megabytes)."""
        key = (self.home.latest_change(), self.home.keyset(t).version)
        if self._carousel_cache is None or self._carousel_cache[0] != key:
            self._carousel_cache = (key, self.home.carousel(t))
        return self._carousel_cache[1]

    def _carousel_moved(self, items: list) -> bool:
        return [bundle_key(b) for b in items] != [bundle_key(b) for b in self._items]

    def _fresh_extras(self, items: list, t: int, announce: bool) -> list:
        """A fresh heartbeat, and a fresh announcement when the carousel moved (else the one on
        air stays: it names the same bundles)."""
        try:
            fresh = self.home.air_extras(items, t, announce=announce)
        except (CenterError, sqlite3.Error, OSError) as exc:
            self.log({"event": "error", "what": "heartbeat", "error": str(exc)})
            return self._extras
        if not announce:
            fresh += [b for b in self._extras if b.kind is BundleKind.ANNOUNCE]
        return fresh

    def _publish(self, now: float, bundles: list, extras: list) -> AirSet | None:
        everything = tuple(bundles) + tuple(extras)
        if [bundle_key(b) for b in everything] == [bundle_key(b) for b in self._published]:
            return None
        self._published = everything
        self._version += 1
        return AirSet(self._version, now, everything, self._delta_edit_at)

    # -- what is due -------------------------------------------------------------------------

    def _due(self, now: float, keyset, items: list) -> tuple[str, str] | None:
        """(what, why) of the first write that is due, or None."""
        t = int(now)
        keys = self.plan.keys
        rolls = [b for b in items if b.kind is BundleKind.MASTER_ROLL]
        last_roll = max(rolls, key=lambda b: b.seq) if rolls else None
        roll_base = last_roll.created_at if last_roll is not None else keyset.valid_from
        if keys.roll_master_every_s is not None and t >= roll_base + keys.roll_master_every_s:
            return "master roll", f"every {keys.roll_master_every_s:g} s"
        for date in keys.roll_master_at:
            if date - keys.lead_s <= t and (last_roll is None or last_roll.created_at < date - keys.lead_s):
                return "master roll", f"roll date {date} less lead {keys.lead_s:g} s"
        fulls = [b for b in items if b.kind is BundleKind.FULL]
        if not fulls:
            return "full", f"epoch {keyset.epoch} has no list yet"
        full = fulls[-1]
        lists = self.plan.lists
        if full.created_at < keyset.valid_from:
            return "full", f"key set v{keyset.version} took effect at {keyset.valid_from}"
        if last_roll is not None and full.created_at < last_roll.created_at + keys.lead_s <= t:
            return "full", f"master key {last_roll.announces_key or last_roll.seq} takes effect"
        if t - full.created_at >= lists.full_every_s:
            return "full", f"full_every {lists.full_every_s:g} s"
        newest = max((b for b in items if b.kind in _LIST_KINDS), key=lambda b: b.seq)
        if newest.valid_until - t <= lists.refresh_before_s:
            return "full", f"seq {newest.seq} expires at {newest.valid_until}"
        if self._first_edit_seen is not None and now >= (self._first_edit_seen
                                                         + self.plan.min_delta_batch_s):
            return "delta", "the hot list changed"
        return None

    def _do(self, due: tuple[str, str], now: float) -> bool:
        what, why = due
        t0 = time.perf_counter()
        t = int(now)
        try:
            if what == "master roll":
                built = self.home.rotate_master(now=t, by=self.by)
                self.log({"event": "rolled", "master_key": built.announces_key, "why": why,
                          "takes_effect_at": t + round(self.plan.keys.lead_s),
                          "took_s": round(time.perf_counter() - t0, 4)})
            else:
                kind = BundleKind.FULL if what == "full" else BundleKind.DELTA
                edit_at = self._first_edit_seen
                built = self.home.build(kind, now=t, by=self.by,
                                        valid_for_s=self.plan.lists.valid_s)
                self._delta_edit_at = edit_at if kind is BundleKind.DELTA else None
                self.log({"event": "built", **built.summary(), "why": why,
                          "took_s": round(time.perf_counter() - t0, 4)})
        except (CenterError, sqlite3.Error, OSError) as exc:
            self._failures += 1
            self._last_error = f"{type(exc).__name__}: {exc}"
            backoff = min(MAX_BACKOFF_S, self.plan.serve.poll_s * 2 ** self._failures)
            self._retry_at = now + backoff
            self.log({"event": "error", "what": what, "error": self._last_error,
                      "retry_in_s": round(backoff, 3)})
            return False
        self._failures, self._last_error, self._retry_at = 0, None, -float("inf")
        return True

    def _upcoming(self, items: list, t: int) -> list:
        """Key sets (and root sets) that come into force within ``lead``: on air now."""
        lead = round(self.plan.keys.lead_s)
        if lead <= 0:
            return []
        ahead = self.home.keyset(t + lead)
        key = (self.home.latest_change(), ahead.version if ahead else None)
        if self._upcoming_cache is None or self._upcoming_cache[0] != key:
            trust = [] if ahead is None else trust_on_air(self.home, t + lead)
            self._upcoming_cache = (key, trust)
        have = {(int(b.kind), b.seq) for b in items}
        return [b for b in self._upcoming_cache[1] if (int(b.kind), b.seq) not in have]

    # -- warnings ----------------------------------------------------------------------------

    def _key_warnings(self, keyset, items: list, t: int) -> dict[str, str]:
        out = {}
        horizon = t + self.plan.keys.warn_before_s
        newest = self.home.keyset(_FAR_FUTURE)
        successor = newest is not None and newest.version > keyset.version
        if keyset.expires <= horizon and not successor:
            out["keyset"] = (f"key set v{keyset.version} expires at {keyset.expires} (in "
                             f"{(keyset.expires - t) / 86_400:.1f} days) and no later key set is "
                             "imported: request one (hotcast center request-keyset) and import "
                             "what the root signs")
        signing_end = max(k.valid_until for k in keyset.signing_keys)
        later = newest is not None and max(k.valid_until for k in newest.signing_keys) > signing_end
        if signing_end <= horizon and not later:
            out["signing_key"] = (f"the signing keys of key set v{keyset.version} are valid "
                                  f"until {signing_end} (in {(signing_end - t) / 86_400:.1f} "
                                  "days) and no successor is imported: request a key set "
                                  "with --new-signing-key")
        rolls = [b.announces_key or b.seq for b in items if b.kind is BundleKind.MASTER_ROLL]
        planned = self.plan.keys.roll_master_every_s is not None or self.plan.keys.roll_master_at
        next_id = max(rolls, default=keyset.master_ids.lo) + 1
        if planned and next_id > keyset.master_ids.hi:
            out["master_ids"] = (f"the next master roll needs key id {next_id}, above key set "
                                 f"v{keyset.version}'s range {keyset.master_ids.lo}.."
                                 f"{keyset.master_ids.hi}: request a wider range")
        lists = [b for b in items if b.kind in _LIST_KINDS]
        if lists and max(b.valid_until for b in lists) < t:
            out["expired"] = "every list on air has expired: terminals are stale"
        return out

    def _set_warnings(self, warnings: dict[str, str]) -> None:
        for key, text in warnings.items():
            if key not in self._logged_warnings:
                self.log({"event": "warning", "warning": text})
        self._logged_warnings = set(warnings)
        self.warnings = warnings


def trust_on_air(home: CenterHome, t: int) -> list:
    """The root and key set records on air at time ``t`` (``home.carousel(t)``'s trust part)."""
    return [b for b in home.carousel(t)
            if b.kind in (MetadataType.KEY_SET, MetadataType.ROOT_SET)]


def keyset_epoch(record) -> int | None:
    """The epoch of a key set trust record (what a status line names), else None."""
    if record.kind is MetadataType.KEY_SET:
        return read_unverified_keyset(record.sealed).epoch
    return getattr(record, "epoch", None)
