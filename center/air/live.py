"""The live carousel: the bundles on air change while it runs, at frame boundaries.

``LiveCarousel(profile, config)`` is the stage behind ``hotcast center broadcast``:
``update(bundles, now)`` says what should be on air (the registry's carousel),
``process(frames)`` returns the samples of the next ``frames`` frames and the carousel changes
that reached the air in them, ``flush()`` the pulse tails at the end. The caller (the CLI loop)
does all the I/O, polling and pacing; time is passed in.

Rules of a change (``update``), against what is on air now, keyed by (stream, seq):
- A bundle in ``bundles`` and not on air goes on air. Before the first ``process()`` call it
  joins the round-robin like ``center.air.render`` (the starting carousel); afterwards a delta or
  a key roll is *urgent*: ``framing.CarouselScheduler`` sends its N blocks in the very next
  frames (the next frame boundary), then it joins the round-robin. A new full bundle is not
  urgent: it can be megabytes, and the deltas must not wait behind it.
- A bundle on air that ``bundles`` no longer names leaves: the registry's carousel drops the
  old full list and its deltas when a new full one is built ("superseded").
- A bundle past its ``valid_until`` leaves ("expired"; terminals refuse it anyway), whether or
  not ``bundles`` names it; ``expire(now)`` does only this, without a registry read.
Share of airtime = the bundle's block count N, as in ``center.air.render``: one round-robin cycle
sends every block of every bundle once.

Frames are numbered from 0 after the lead-in (the profile's ``lead_in_bits`` seeded random bits, the
same lead-in as ``center.air.render``). When nothing is on air, each frame slot carries
``frame_bits`` idle bits (seeded by the slot's index) so the subcarrier and the frame clock run
on and a receiver keeps its lock.

Invariants: the samples and events depend only on the sequence of (update at frame index,
bundles, now) calls, never on how ``process`` is chunked; MPX output is bit-identical to
``CarouselRenderer`` for the same bundles and no changes. ``config.duration_s`` and
``config.frames_per_block`` are the caller's pacing and are not used here. No I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

import framing
from center.air.render import RenderConfig, lead_in_bits
from crypto import BundleKind, MetadataType
from framing.frames import FrameGen  # not re-exported by framing/__init__
from modem import TxChain, modem_profile

# What goes on air at the next frame boundary when it changes, in this order: the announcement
# that names the new carousel first (a terminal then gives the rest room at once), the trust
# a terminal needs to open what follows, then the new list.
URGENT_ORDER = {MetadataType.ROOT_SET: 1, MetadataType.KEY_SET: 2, BundleKind.ANNOUNCE: 0,
                BundleKind.MASTER_ROLL: 3, BundleKind.HEARTBEAT: 4, BundleKind.DELTA: 5}
_NOT_URGENT = 9  # a full list: megabytes, the deltas must not wait behind it
_IDLE_SEED_TAG = 0x1D1E  # separates the idle-bit seeds from the lead-in's


@dataclass(frozen=True)
class AirEvent:
    """One carousel change as it reached the air.

    ``event``: "on_air" (the bundle's first frame) or "off_air" (taken off before frame
    ``at_frame``); ``at_s``: seconds of signal from the start to that frame's first bit;
    ``why``: for "off_air", "superseded" or "expired"; ``urgent``: went on air ahead of the
    round-robin.
    """

    event: str
    seq: int
    kind: IntEnum  # crypto.BundleKind
    at_frame: int
    at_s: float
    created_at: int
    urgent: bool = False
    why: str | None = None

    def to_json(self) -> dict:
        out = {"event": self.event, "seq": self.seq, "kind": self.kind.name.lower(),
               "at_frame": self.at_frame, "at_s": round(self.at_s, 6)}
        if self.event == "on_air":
            out["urgent"] = self.urgent
        else:
            out["why"] = self.why
        return out


@dataclass(frozen=True, eq=False)
class LiveBlock:
    """What one ``process`` call made: ``samples`` (float32 MPX or complex64 I/Q, shape (n,))
    for frames ``first_frame`` .. ``first_frame + frames - 1``, ``idle`` of them empty slots;
    ``slots`` says what each frame carried: (stream, seq, block index), or None when idle."""

    samples: np.ndarray
    first_frame: int
    frames: int
    idle: int
    events: tuple[AirEvent, ...]
    slots: tuple[tuple[int, int, int] | None, ...]


@dataclass
class LiveStats:
    frames: int = 0
    idle_frames: int = 0
    bits_on_air: int = 0
    samples_out: int = 0
    changes: int = 0


@dataclass
class _Entry:
    bundle: object  # .seq .kind .sealed .created_at .valid_until (a center BuiltBundle)
    blocks: int
    urgent: bool
    first_frame: int | None = None


class LiveCarousel:
    """Bundles that change while on air -> blocks of samples and the changes that went out."""

    def __init__(self, profile: str, config: RenderConfig = RenderConfig()) -> None:
        self.modem_profile = modem_profile(profile)
        self.profile, self.config = profile, config
        self.frame_config = framing.frame_config(profile)
        self._framegen = FrameGen(self.frame_config)
        self._chain = TxChain(self.modem_profile, config.tx)
        self.reset()

    def __repr__(self) -> str:
        return f"LiveCarousel({self.profile!r}, {self.config!r}, on_air={self.on_air()!r})"

    def reset(self) -> None:
        """Nothing on air, frame 0 next, the lead-in still to send."""
        self.stats = LiveStats()
        self._scheduler = framing.CarouselScheduler(self.frame_config)
        self._chain.reset()
        self._entries: dict[tuple[int, int], _Entry] = {}
        self._events: list[AirEvent] = []
        self._frame = 0

    @property
    def output_rate_hz(self) -> int:
        return self._chain.output_rate_hz

    @property
    def is_iq(self) -> bool:
        return self._chain.is_iq

    @property
    def chain(self) -> TxChain:
        return self._chain

    @property
    def next_frame(self) -> int:
        """Index of the next frame to go out (the next frame boundary)."""
        return self._frame

    def frame_start_s(self, frame: int) -> float:
        """Seconds of signal from the start to frame ``frame``'s first bit."""
        bits = self.modem_profile.lead_in_bits + frame * self.frame_config.frame_bits
        return bits / self.modem_profile.bits_per_second

    def on_air(self) -> list[tuple[int, IntEnum]]:
        """(seq, kind) of the bundles on air, in seq order."""
        return sorted((e.bundle.seq, e.bundle.kind) for e in self._entries.values())

    # -- changes -------------------------------------------------------------------------

    def update(self, bundles: Sequence, now: int) -> None:
        """Make the carousel hold exactly ``bundles`` (less those expired at ``now``)."""
        wanted, expired = {}, set()
        for b in sorted(bundles, key=lambda b: (URGENT_ORDER.get(b.kind, _NOT_URGENT), b.seq)):
            key = (int(b.kind), b.seq)
            # A master roll is harmless at any age (terminals take it whatever its time) and
            # the center keeps it on air while its key id is in the key set's range.
            if b.valid_until >= now or b.kind is BundleKind.MASTER_ROLL:
                wanted[key] = b
            else:
                expired.add(key)
        for key in [k for k in self._entries
                    if k not in wanted or self._entries[k].bundle.sealed != wanted[k].sealed]:
            gone = key in expired or (self._entries[key].bundle.valid_until < now
                                      and self._entries[key].bundle.kind is not BundleKind.MASTER_ROLL)
            self._take_off(key, "expired" if gone else "superseded")
        started = self.stats.frames > 0
        for key, b in wanted.items():
            if key in self._entries:
                continue
            blocks = framing.segment(b.sealed, key[0], b.seq, self.frame_config)
            urgent = started and b.kind in URGENT_ORDER
            self._scheduler.put(blocks, share=float(len(blocks)), urgent=urgent)
            self._entries[key] = _Entry(b, len(blocks), urgent)
            self.stats.changes += 1

    def expire(self, now: int) -> None:
        """Take off every bundle whose ``valid_until`` is before ``now``."""
        self.update([e.bundle for e in self._entries.values()], now)

    def _take_off(self, key: tuple[int, int], why: str) -> None:
        entry = self._entries.pop(key)
        self._scheduler.remove(*key)
        self.stats.changes += 1
        b = entry.bundle
        self._events.append(AirEvent("off_air", b.seq, b.kind, self._frame,
                                     self.frame_start_s(self._frame), b.created_at, why=why))

    # -- the stage -----------------------------------------------------------------------

    def process(self, frames: int) -> LiveBlock:
        """The next ``frames`` frames -> samples and the changes that reached the air."""
        if frames < 1:
            raise ValueError(f"frames must be >= 1, got {frames}")
        first = self._frame
        blocks = self._scheduler.next_frames(frames)
        events, self._events = self._events, []
        for i, block in enumerate(blocks):
            entry = self._entries[(block.header.stream, block.header.seq)]
            if entry.first_frame is None:
                entry.first_frame = first + i
                b = entry.bundle
                events.append(AirEvent("on_air", b.seq, b.kind, first + i,
                                       self.frame_start_s(first + i), b.created_at,
                                       urgent=entry.urgent))
        bits = [self._framegen.process(blocks)]
        bits += [self._idle_bits(first + i) for i in range(len(blocks), frames)]
        if self.stats.bits_on_air == 0:
            bits.insert(0, lead_in_bits(self.modem_profile, self.config.tx.programme_seed))
        bits = np.concatenate(bits)
        samples = self._chain.process(bits)
        self._frame += frames
        self.stats.frames += frames
        self.stats.idle_frames += frames - len(blocks)
        self.stats.bits_on_air += bits.size
        self.stats.samples_out += samples.size
        slots = [(b.header.stream, b.header.seq, b.header.block_index) for b in blocks]
        slots += [None] * (frames - len(blocks))
        return LiveBlock(samples, first, frames, frames - len(blocks), tuple(events), tuple(slots))

    def flush(self) -> np.ndarray:
        """The pulse tails after the last frame (end of transmission)."""
        tail = self._chain.flush()
        self.stats.samples_out += tail.size
        return tail

    def _idle_bits(self, frame: int) -> np.ndarray:
        rng = np.random.default_rng([self.config.tx.programme_seed, _IDLE_SEED_TAG, frame])
        return rng.integers(0, 2, self.frame_config.frame_bits, dtype=np.uint8)
