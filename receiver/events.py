"""What a receiver reports, as typed values: every event of ``receiver decode`` / ``listen`` /
``monitor`` is one frozen dataclass here, and only the command line turns them into JSON
(``to_json``), as redsea passes a typed group to its one output stage.

Fields are those of CONTRACT.md ("receiver decode / listen"). Every event carries a ``Position``:
``sample`` (input samples consumed when it was made), ``t_s`` (the same in seconds of signal)
and, for live input, ``utc`` (ISO 8601 receive time, set by the command line). Bundle kinds stay
``crypto.BundleKind`` until ``to_json`` spells them in lower case.

Invariants: events are immutable; ``to_json`` returns plain JSON-ready values (card IDs and
digests as strings, NaN never: absent numbers are ``None``).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from enum import Enum
from typing import Any, ClassVar

__all__ = [
    "BundleApplied", "BundleHeld", "BundleReceived", "BundleRejected", "BundleSuperseded",
    "BundleUnchanged", "Event", "ForkDetected", "HeardOnAir", "InputProblem", "NotFollowing",
    "Position", "Quality", "Start", "Summary", "number",
]


def number(x: float | None, digits: int = 2) -> float | None:
    """A JSON-safe rounded number: None for None, NaN or infinity."""
    if x is None or not math.isfinite(x):
        return None
    return round(float(x), digits)


@dataclass(frozen=True)
class Position:
    """Where in the input an event was made."""

    sample: int
    t_s: float
    utc: str | None = None  # live input: when the block was received (set by the CLI)

    def to_json(self) -> dict:
        out: dict[str, Any] = {"sample": self.sample, "t_s": round(self.t_s, 3)}
        if self.utc is not None:
            out["utc"] = self.utc
        return out


def _value(v: Any) -> Any:
    if isinstance(v, Enum):
        return v.name.lower()
    if isinstance(v, float):
        return number(v, 6)
    if isinstance(v, bytes):
        return v.hex()
    if isinstance(v, tuple):
        return [_value(x) for x in v]
    return v


@dataclass(frozen=True)
class Event:
    """Base of every event: its name on the wire and its position."""

    name: ClassVar[str] = "event"
    at: Position

    def to_json(self) -> dict:
        out: dict[str, Any] = {"event": self.name}
        for f in dataclasses.fields(self):
            if f.name == "at" or f.metadata.get("internal"):
                continue
            out[f.name] = _value(getattr(self, f.name))
        out.update(self.at.to_json())
        return out

    def located(self, at: Position) -> Event:
        """The same event at another position (the CLI adds the UTC time of live input)."""
        return dataclasses.replace(self, at=at)


@dataclass(frozen=True)
class Start(Event):
    name: ClassVar[str] = "start"
    input: str
    format: str
    sample_rate_hz: float
    is_iq: bool
    profile: str


@dataclass(frozen=True)
class Quality(Event):
    """Every ``quality_period_s`` of signal. ``snr_db`` is Es/N0 at the decisions; ``ber`` the
    raw bit error rate seen by the frame layer; ``freq_offset_hz`` and ``cnr_db`` only with
    I/Q input; ``frames_ok`` / ``frames_bad`` since the previous quality event."""

    name: ClassVar[str] = "quality"
    snr_db: float | None
    freq_offset_hz: float | None
    ber: float | None
    level: float | None
    clock_offset_ppm: float | None
    cnr_db: float | None
    frames_ok: int
    frames_bad: int

    def to_json(self) -> dict:
        out = super().to_json()
        for key, digits in (("snr_db", 2), ("freq_offset_hz", 1), ("level", 4),
                            ("clock_offset_ppm", 1), ("cnr_db", 1)):
            out[key] = number(getattr(self, key), digits)
        return out


@dataclass(frozen=True)
class InputProblem(Event):
    """Something wrong with the input itself (``clipping``, ``flat``, ``not_finite``,
    ``no_frames``, ``overrun``, ``truncated``, ``old_format``), with a hint."""

    name: ClassVar[str] = "input_problem"
    problem: str
    why: str


@dataclass(frozen=True)
class BundleReceived(Event):
    """A completed bundle, not yet verified: the pipeline's output, the merger's input."""

    name: ClassVar[str] = "bundle_received"
    data: bytes = dataclasses.field(repr=False, metadata={"internal": True})
    snr_db: float | None = None
    freq_offset_hz: float | None = None
    ber: float | None = None


@dataclass(frozen=True)
class BundleApplied(Event):
    name: ClassVar[str] = "bundle_applied"
    seq: int
    kind: Enum
    entries: int
    held: bool = False  # it waited for something heard later (its base, a key)
    snr_db: float | None = None  # signal quality when its last block was heard
    freq_offset_hz: float | None = None
    ber: float | None = None


@dataclass(frozen=True)
class BundleHeld(Event):
    """A genuine bundle kept for later: a delta heard before its base, a bundle under a key
    that a key set still on air announces. Tried again after every bundle that applies."""

    name: ClassVar[str] = "bundle_held"
    seq: int | None
    kind: Enum | None
    why: str


@dataclass(frozen=True)
class BundleUnchanged(Event):
    name: ClassVar[str] = "bundle_unchanged"
    seq: int
    kind: Enum
    entries: int


@dataclass(frozen=True)
class BundleSuperseded(Event):
    """A genuine bundle older than the store's list (a carousel repeat after its delta)."""

    name: ClassVar[str] = "bundle_superseded"
    seq: int
    list_seq: int


@dataclass(frozen=True)
class BundleRejected(Event):
    """A bundle that fails verification or is refused for good."""

    name: ClassVar[str] = "bundle_rejected"
    why: str
    claimed_seq: int | None
    sha256: str


@dataclass(frozen=True)
class ForkDetected(Event):
    """Two different genuine lists for one (epoch, seq), or a chain that does not meet the
    store's: the center's history forked (a restored backup?); the bundle is refused."""

    name: ClassVar[str] = "fork_detected"
    epoch: int
    seq: int
    why: str


@dataclass(frozen=True)
class NotFollowing(Event):
    """For longer than a heartbeat or a cycle would allow, only bundles older than the store's
    were heard: this terminal no longer follows the center (a replayed or frozen channel)."""

    name: ClassVar[str] = "not_following"
    list_seq: int
    heard_newest_seq: int | None
    seconds: float
    why: str


@dataclass(frozen=True)
class HeardOnAir(Event):
    """``receiver monitor``: a bundle heard on air, its header read WITHOUT verification."""

    name: ClassVar[str] = "heard_unverified"
    stream: int
    kind: str
    seq: int
    bytes: int
    digest: str
    header: dict | None  # the unverified bundle header fields, when it parses


@dataclass(frozen=True)
class Summary(Event):
    """Last event of a run: the pipeline's counts, the merger's, and the command line's."""

    name: ClassVar[str] = "summary"
    frames_ok: int
    frames_bad: int
    seconds_of_signal: float
    samples: int
    frames_corrected: int
    headers_bad: int
    headers_absurd: int
    payloads_bad: int
    lock_lost: int
    blocks_inconsistent: int
    bundles_bad_digest: int
    bundles_received: int
    ber: float | None
    bundles_applied: int = 0
    bundles_rejected: int = 0
    bundles_unchanged: int = 0
    bundles_superseded: int = 0
    bundles_held: int = 0
    seconds_of_cpu: float | None = None
    stopped: str | None = None
    # (stage, process CPU seconds) in pipeline order (``receiver.radio.stages``), set by the
    # command line; JSON: an object of seconds.
    stages: tuple[tuple[str, float], ...] | None = None

    def to_json(self) -> dict:
        out = super().to_json()
        if self.stopped is None:
            out.pop("stopped")
        if self.stages is None:
            out.pop("stages")
        else:
            out["stages"] = {k: round(v, 4) for k, v in self.stages}
        if self.seconds_of_cpu is None:
            out.pop("seconds_of_cpu")
        else:
            out["seconds_of_cpu"] = round(self.seconds_of_cpu, 3)
        out["seconds_of_signal"] = round(self.seconds_of_signal, 3)
        return out
