"""The serve plan: what `hotcast center serve` keeps on air, read from TOML and checked whole.

A plan (``<home>/serve.toml``, or ``--config FILE``; ``center/air/example-plan.toml`` documents
every key) has five parts:

- ``[serve]``: how often the registry is watched (``poll``) and the status file written.
- ``[lists]``: bundle validity, how often a fresh full list is built, how long before a list
  expires it is rebuilt anyway, and the heartbeat interval (TUF's timestamp role).
- ``[keys]``: master-key rolls (``roll_master_every`` and/or ``roll_master_at`` dates), the
  ``lead`` time a roll or an imported key set is on air before it takes effect, and how early
  to warn of the end of the key set's or the signing key's validity.
- ``[policy]``: the carousel policy every channel starts from (``center.air.policy``).
- ``[[channels]]``: name, profile, output (``center.air.outputs``), rate, injection, and its
  own ``[channels.policy]`` overrides.

With no plan file, ``DEFAULT_PLAN`` is used: one ``fm`` channel writing the MPX (228 kHz WAV) as
rotating one-minute files under ``<home>/serve/air/``, the last 10 kept; it needs no hardware,
and ``hotcast receiver decode`` reads the files. Relative paths in a plan are taken from the
folder that holds it (the home, for the default plan).

Invariants: ``load_plan`` either returns a ``Plan`` in which every value was checked, or raises
``PlanError`` naming file, line and field; an unknown key is an error (a typo must not pass
silently); nothing here opens an output or reads the clock.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from center.air.outputs_plan import OutputFieldError, OutputPlan, check_output
from center.air.plan_toml import KeyLines, PlanError, field_name, parse_duration, parse_utc
from center.air.policy import Policy, check_priority
from modem import modem_profile, profile_names

PLAN_FILE = "serve.toml"
MAX_CHANNELS = 16
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")

DEFAULT_PLAN = """\
# The built-in plan of `hotcast center serve` when the home has no serve.toml (see
# `hotcast center serve --example-plan` for every key): one fm channel, the MPX as rotating
# one-minute WAV files under serve/air/ in the home, the last ten kept.
[[channels]]
name = "fm"
profile = "fm"
output = { kind = "files", dir = "serve/air", format = "wav", file_seconds = 60, keep_files = 10 }
"""


@dataclass(frozen=True)
class ServeSettings:
    poll_s: float = 0.1  # registry watch: one indexed read (center.air.watch)
    status_every_s: float = 1.0


@dataclass(frozen=True)
class ListsPlan:
    valid_s: int = 24 * 3600  # each list bundle is fresh this long (terminals go stale after)
    full_every_s: float = 6 * 3600  # a fresh full list this often: deltas stay small
    refresh_before_s: float = 2 * 3600  # rebuild when the newest list expires within this
    heartbeat_every_s: float = 60.0


@dataclass(frozen=True)
class KeysPlan:
    lead_s: float = 24 * 3600
    roll_master_every_s: float | None = None
    roll_master_at: tuple[int, ...] = ()
    warn_before_s: float = 30 * 86_400


@dataclass(frozen=True)
class ChannelPlan:
    name: str
    profile: str
    output: OutputPlan
    policy: Policy
    rate_hz: int | None = None  # None: the output's default (``OutputPlan.rate_hz`` resolves)
    injection: float | None = None
    with_programme: bool = False
    index: int = 0  # position in the file's [[channels]]


@dataclass(frozen=True)
class Plan:
    path: str  # the file, or "<built-in default plan>"
    serve: ServeSettings
    lists: ListsPlan
    keys: KeysPlan
    channels: tuple[ChannelPlan, ...]
    text: str = field(repr=False, default="")

    def locate(self, path: tuple) -> int:
        return KeyLines(self.text).line_of(path)

    def error(self, path: tuple, message: str) -> PlanError:
        """A PlanError at ``path`` (for checks made later, e.g. an output that does not open)."""
        return PlanError(self.path, self.locate(path), field_name(path), message)

    @property
    def min_delta_batch_s(self) -> float:
        return min((c.policy.delta_batch_s for c in self.channels), default=0.0)


def plan_path(home: Path, config: str | None) -> Path | None:
    """The plan file to use: ``--config``, else ``<home>/serve.toml`` when it exists, else None
    (the built-in default)."""
    if config is not None:
        return Path(config)
    candidate = Path(home) / PLAN_FILE
    return candidate if candidate.exists() else None


def load_plan(path: Path | None, home: Path) -> Plan:
    """Read and check the plan at ``path`` (None: the built-in default, paths under ``home``)."""
    if path is None:
        return parse_plan(DEFAULT_PLAN, "<built-in default plan>", Path(home))
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise PlanError(str(path), 1, "(file)", f"cannot read the plan: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise PlanError(str(path), line, "(file)", "not UTF-8 text") from None
    return parse_plan(text, str(path), Path(path).resolve().parent)


def parse_plan(text: str, name: str, base_dir: Path) -> Plan:
    """A checked ``Plan`` from TOML ``text``; ``name`` is what errors call the file."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise PlanError(name, int(match.group(1)) if match else 1, "(syntax)", str(exc)) from None
    return _Reader(doc, KeyLines(text), name, base_dir, text).plan()


class _Reader:
    """Walks the parsed document; every value taken is checked and located."""

    def __init__(self, doc: dict, lines: KeyLines, name: str, base_dir: Path, text: str) -> None:
        self.doc, self.lines, self.name, self.base_dir, self.text = doc, lines, name, base_dir, text

    def fail(self, path: tuple, message: str) -> PlanError:
        return PlanError(self.name, self.lines.line_of(path), field_name(path), message)

    def table(self, path: tuple, value: object, known: set[str]) -> dict:
        if not isinstance(value, dict):
            raise self.fail(path, f"want a table, got {type(value).__name__}")
        for key in value:
            if key not in known:
                raise self.fail(path + (key,), f"unknown key; known here: {', '.join(sorted(known))}")
        return value

    def duration(self, path: tuple, value: object, *, positive: bool = True,
                 most: float = 10 * 366 * 86_400) -> float:
        try:
            seconds = parse_duration(value)
        except ValueError as exc:
            raise self.fail(path, str(exc)) from None
        if positive and seconds <= 0:
            raise self.fail(path, "must be more than 0 s")
        if seconds > most:
            raise self.fail(path, f"must be at most {most:g} s")
        return seconds

    def plan(self) -> Plan:
        doc = self.table((), self.doc, {"serve", "lists", "keys", "policy", "channels"})
        serve = self.serve_settings(doc.get("serve", {}))
        lists = self.lists_plan(doc.get("lists", {}))
        keys = self.keys_plan(doc.get("keys", {}))
        defaults = self.policy(("policy",), doc.get("policy", {}), Policy())
        raw_channels = doc.get("channels")
        if raw_channels is None:
            raise self.fail(("channels",), "the plan has no [[channels]]: nothing would go on air")
        if not isinstance(raw_channels, list) or not raw_channels:
            raise self.fail(("channels",), "want one or more [[channels]] tables")
        if len(raw_channels) > MAX_CHANNELS:
            raise self.fail(("channels", MAX_CHANNELS), f"at most {MAX_CHANNELS} channels")
        channels = tuple(self.channel(i, c, defaults) for i, c in enumerate(raw_channels))
        self.check_distinct(channels)
        return Plan(self.name, serve, lists, keys, channels, self.text)

    def serve_settings(self, raw: object) -> ServeSettings:
        t = self.table(("serve",), raw, {"poll", "status_every"})
        d = ServeSettings()
        return ServeSettings(
            poll_s=self.duration(("serve", "poll"), t.get("poll", d.poll_s), most=60),
            status_every_s=self.duration(("serve", "status_every"),
                                         t.get("status_every", d.status_every_s), most=1))

    def lists_plan(self, raw: object) -> ListsPlan:
        t = self.table(("lists",), raw, {"valid", "full_every", "refresh_before",
                                         "heartbeat_every"})
        d = ListsPlan()
        valid = self.duration(("lists", "valid"), t.get("valid", d.valid_s), most=366 * 86_400)
        if valid < 60:
            raise self.fail(("lists", "valid"), "a list valid under a minute would be stale "
                            "before terminals hear it: give at least 60s")
        refresh = self.duration(("lists", "refresh_before"),
                                t.get("refresh_before", min(d.refresh_before_s, valid / 2)),
                                positive=False)
        if refresh >= valid:
            raise self.fail(("lists", "refresh_before"), f"must be under lists.valid "
                            f"({valid:g} s): a list would be rebuilt as soon as it is built")
        beat = self.duration(("lists", "heartbeat_every"),
                             t.get("heartbeat_every", d.heartbeat_every_s), most=3600)
        if beat < 1:
            raise self.fail(("lists", "heartbeat_every"), "at least 1s (a heartbeat is signed)")
        return ListsPlan(
            valid_s=round(valid),
            full_every_s=self.duration(("lists", "full_every"), t.get("full_every", d.full_every_s)),
            refresh_before_s=refresh, heartbeat_every_s=beat)

    def keys_plan(self, raw: object) -> KeysPlan:
        t = self.table(("keys",), raw, {"lead", "roll_master_every", "roll_master_at",
                                        "warn_before"})
        d = KeysPlan()
        every = None
        if "roll_master_every" in t:
            every = self.duration(("keys", "roll_master_every"), t["roll_master_every"])
            if every < 3600:
                raise self.fail(("keys", "roll_master_every"), "at least 1h: each roll uses a "
                                "master key id of the key set's range")
        lead = self.duration(("keys", "lead"), t.get("lead", d.lead_s), positive=False)
        if every is not None and lead >= every:
            raise self.fail(("keys", "lead"), f"must be under keys.roll_master_every ({every:g} s)")
        dates = t.get("roll_master_at", [])
        if not isinstance(dates, list):
            dates = [dates]
        at = []
        for i, value in enumerate(dates):
            try:
                at.append(parse_utc(value))
            except ValueError as exc:
                raise self.fail(("keys", "roll_master_at"), f"entry {i}: {exc}") from None
        return KeysPlan(lead_s=lead, roll_master_every_s=every, roll_master_at=tuple(sorted(at)),
                        warn_before_s=self.duration(("keys", "warn_before"),
                                                    t.get("warn_before", d.warn_before_s)))

    def policy(self, path: tuple, raw: object, base: Policy) -> Policy:
        t = self.table(path, raw, {"full_every", "delta_batch", "delta_repeats", "priority",
                                   "ahead"})
        full_every = base.full_every_s
        if "full_every" in t:
            full_every = (None if t["full_every"] == "auto"
                          else self.duration(path + ("full_every",), t["full_every"]))
        repeats = t.get("delta_repeats", base.delta_repeats)
        if isinstance(repeats, bool) or not isinstance(repeats, int) or not 1 <= repeats <= 10:
            raise self.fail(path + ("delta_repeats",), f"want a whole number 1 to 10, got {repeats!r}")
        priority = t.get("priority", list(base.priority))
        try:
            priority = check_priority(priority)
        except ValueError as exc:
            raise self.fail(path + ("priority",), str(exc)) from None
        ahead = self.duration(path + ("ahead",), t.get("ahead", base.ahead_s), most=10)
        if ahead < 0.05:
            raise self.fail(path + ("ahead",), "at least 0.05s, or outputs run dry")
        return Policy(full_every_s=full_every,
                      delta_batch_s=self.duration(path + ("delta_batch",),
                                                  t.get("delta_batch", base.delta_batch_s),
                                                  positive=False, most=3600),
                      delta_repeats=repeats, priority=priority, ahead_s=ahead)

    def channel(self, index: int, raw: object, defaults: Policy) -> ChannelPlan:
        at = ("channels", index)
        t = self.table(at, raw, {"name", "profile", "output", "rate", "injection",
                                 "with_programme", "policy"})
        for key in ("name", "profile", "output"):
            if key not in t:
                raise self.fail(at, f"missing {key!r} (every channel needs name, profile and output)")
        name = t["name"]
        if not isinstance(name, str) or not _NAME.match(name):
            raise self.fail(at + ("name",), f"want 1 to 32 letters, digits, '-' or '_', got {name!r}")
        profile = t["profile"]
        if not isinstance(profile, str) or profile not in profile_names():
            raise self.fail(at + ("profile",), f"unknown profile {profile!r}; known: "
                            f"{', '.join(profile_names())}")
        entry = modem_profile(profile)
        rate = t.get("rate")
        if rate is not None and (isinstance(rate, bool) or not isinstance(rate, (int, float))
                                 or not math.isfinite(rate) or rate != int(rate) or rate <= 0):
            raise self.fail(at + ("rate",), f"want a whole number of Hz, got {rate!r}")
        injection = t.get("injection")
        if injection is not None:
            try:
                injection = entry.check_level(injection)
            except ValueError as exc:
                raise self.fail(at + ("injection",), str(exc)) from None
        programme = t.get("with_programme", False)
        if not isinstance(programme, bool):
            raise self.fail(at + ("with_programme",), f"want true or false, got {programme!r}")
        try:
            output = check_output(t["output"], profile, None if rate is None else int(rate),
                                  programme, self.base_dir)
        except OutputFieldError as exc:
            if exc.field in _CHANNEL_FIELDS:
                path = at + (exc.field,)
            else:
                path = at + ("output",) + (() if exc.field is None else (exc.field,))
            raise self.fail(path, str(exc)) from None
        policy = self.policy(at + ("policy",), t.get("policy", {}), defaults)
        return ChannelPlan(name, profile, output, policy, None if rate is None else int(rate),
                           injection, programme, index)

    def check_distinct(self, channels: tuple[ChannelPlan, ...]) -> None:
        names: dict[str, int] = {}
        devices: dict[tuple, int] = {}
        for c in channels:
            if c.name in names:
                raise self.fail(("channels", c.index, "name"), f"channel name {c.name!r} is "
                                f"already used by channels[{names[c.name]}]")
            names[c.name] = c.index
            device = c.output.identity()
            if device in devices:
                raise self.fail(("channels", c.index, "output"), f"{c.output.describe()} is "
                                f"already the output of channels[{devices[device]}] "
                                f"({channels[devices[device]].name}): two channels cannot share "
                                "one device, stream or folder")
            devices[device] = c.index


_CHANNEL_FIELDS = ("rate", "with_programme", "injection")


def example_plan_text() -> str:
    """The documented example plan shipped beside this module."""
    return (Path(__file__).parent / "example-plan.toml").read_text(encoding="utf-8")


def ensure_dir(path: Path) -> None:
    """Create an output folder (and parents) owned by the operator, 0700."""
    os.makedirs(path, mode=0o700, exist_ok=True)
