"""The live carousel: the bundles on air change while it runs, at frame boundaries.

``LiveCarousel(profile, config)`` is the stage behind ``hotcast center broadcast``:
``update(bundles, now)`` says what should be on air (the registry's carousel),
``process(frames)`` returns the samples of the next ``frames`` frames and the carousel changes
that reached the air in them, ``flush()`` the pulse tails at the end. The caller (the CLI loop)
does all the I/O, polling and pacing; time is passed in.

Rules of a change (``update``), against what is on air now, keyed by (stream, seq):
- A bundle in ``bundles`` and not on air goes on air. Before the first ``process()`` call it
  joins the round-robin like ``center.air.render`` (the starting carousel); afterwards anything
  but a full list is *urgent*: its N blocks go out in the very next frames (the next frame
  boundary), ahead of the round-robin, then it joins the round-robin. Urgent blocks go in two
  rounds: first the K source blocks of every urgent item, then their repair blocks (a terminal
  on a clean channel has every new item after sum(K) frames; the repairs follow for a lossy
  one); within a round, in the order of the policy's priority (``center.air.policy``; by
  default the announcement, key material, the delta, the heartbeat), then of arrival, so a new
  delta never waits behind the repairs or the heartbeat of the change before it. A delta or key
  roll goes out whole ``policy.delta_repeats`` times, each repeat one own length of frames after
  the last. A new full bundle is not urgent: it can be megabytes, and the deltas must not wait
  behind it.
- A bundle on air that ``bundles`` no longer names leaves: the registry's carousel drops the
  old full list and its deltas when a new full one is built ("superseded").
- A bundle past its ``valid_until`` leaves ("expired"; terminals refuse it anyway), whether or
  not ``bundles`` names it; ``expire(now)`` does only this, without a registry read.
Share of airtime = the bundle's block count N, as in ``center.air.render`` (one round-robin cycle
sends every block of every bundle once), or with a policy the full list's share from its
``full_every_s`` (``center.air.policy.shares``), fixed when a bundle goes on air.

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
from center.air.policy import Policy, group_of, shares
from center.air.render import RenderConfig, lead_in_bits
from crypto import BundleKind, MetadataType
from framing.frames import FrameGen  # not re-exported by framing/__init__
from modem import TxChain, modem_profile

# What may cut in at the next frame boundary when it changes (a full list never: megabytes).
URGENT_KINDS = frozenset({MetadataType.ROOT_SET, MetadataType.KEY_SET, BundleKind.ANNOUNCE,
                          BundleKind.MASTER_ROLL, BundleKind.HEARTBEAT, BundleKind.DELTA})
_REPEATED_GROUPS = ("keys", "deltas")  # what delta_repeats applies to
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
    digest: bytes  # framing.bundle_digest of the sealed bytes: what its blocks carry
    first_frame: int | None = None


@dataclass
class _Urgent:
    """One urgent send of a bundle's blocks: source blocks first (the round of source blocks
    of every urgent item), then repairs; in priority order (rank, then arrival)."""

    rank: int
    order: int
    key: tuple[int, int]
    blocks: list  # framing.Block, all N of the bundle, source blocks first
    eligible: int  # first frame it may take
    repeats_left: int
    cursor: int = 0

    def sort_key(self) -> tuple[int, int, int]:
        repairing = self.cursor >= self.blocks[0].header.k
        return (int(repairing), self.rank, self.order)


class LiveCarousel:
    """Bundles that change while on air -> blocks of samples and the changes that went out."""

    def __init__(self, profile: str, config: RenderConfig = RenderConfig(),
                 policy: Policy | None = None) -> None:
        """``policy`` None: plain shares (N blocks each), one urgent send, the default
        priority."""
        self.modem_profile = modem_profile(profile)
        self.profile, self.config = profile, config
        self.policy = Policy() if policy is None else policy
        self._plain = policy is None
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
        self._urgent: list[_Urgent] = []
        self._urgent_order = 0
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

    @property
    def frame_s(self) -> float:
        return self.frame_config.frame_bits / self.modem_profile.bits_per_second

    def on_air(self) -> list[tuple[int, IntEnum]]:
        """(seq, kind) of the bundles on air, in seq order."""
        return sorted((e.bundle.seq, e.bundle.kind) for e in self._entries.values())

    def bundles(self) -> list:
        """The bundles on air (as given to ``update``)."""
        return [e.bundle for e in self._entries.values()]

    @property
    def urgent_pending(self) -> bool:
        """True while an urgent send (or a repeat of one) is still to go out."""
        return bool(self._urgent)

    # -- changes -------------------------------------------------------------------------

    def update(self, bundles: Sequence, now: int) -> None:
        """Make the carousel hold exactly ``bundles`` (less those expired at ``now``)."""
        wanted, expired = {}, set()
        for b in sorted(bundles, key=lambda b: (self.policy.rank(b.kind), b.seq)):
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
        new = {key: framing.segment(b.sealed, key[0], b.seq, self.frame_config)
               for key, b in wanted.items() if key not in self._entries}
        weights = self._shares(wanted, new)
        for key, blocks in new.items():
            b = wanted[key]
            urgent = started and b.kind in URGENT_KINDS
            self._scheduler.put(blocks, share=weights[key])
            if urgent:
                repeats = (self.policy.delta_repeats - 1
                           if group_of(b.kind) in _REPEATED_GROUPS else 0)
                self._urgent.append(_Urgent(self.policy.rank(b.kind), self._urgent_order, key,
                                            blocks, self._frame, repeats))
                self._urgent_order += 1
            self._entries[key] = _Entry(b, len(blocks), urgent, blocks[0].header.digest)
            self.stats.changes += 1

    def _shares(self, wanted: dict, new: dict) -> dict:
        """Round-robin shares of the ``new`` entries: N blocks (plain), or the policy's."""
        if self._plain:
            return {key: float(len(blocks)) for key, blocks in new.items()}
        keys = list(wanted)
        counts = [len(new[k]) if k in new else self._entries[k].blocks for k in keys]
        weights = shares([(wanted[k].kind, n) for k, n in zip(keys, counts)], self.frame_s,
                         self.policy)
        return {k: w for k, w in zip(keys, weights) if k in new}

    def expire(self, now: int) -> None:
        """Take off every bundle whose ``valid_until`` is before ``now``."""
        self.update([e.bundle for e in self._entries.values()], now)

    def _take_off(self, key: tuple[int, int], why: str) -> None:
        """Take a bundle off air. A superseded bundle whose urgent source round has begun
        finishes that round (not its repairs or repeats): a terminal then has it whole, and
        the protection it carries, before the one that replaces it; on a slow link with
        changes arriving faster than a delta's air time, restarting every time would starve
        them all."""
        entry = self._entries.pop(key)
        self._scheduler.remove(*key)
        digest = framing.bundle_digest(entry.bundle.sealed)
        kept = []
        for u in self._urgent:
            if u.key == key and u.blocks[0].header.digest == digest:
                k = u.blocks[0].header.k
                if why == "superseded" and 0 < u.cursor < k:
                    u.blocks, u.repeats_left = u.blocks[:k], 0
                else:
                    continue
            kept.append(u)
        self._urgent = kept
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
        blocks = []
        for i in range(frames):
            block = self._next_urgent(first + i)
            if block is None:
                block = next(iter(self._scheduler.next_frames(1)), None)
            if block is None:
                break  # nothing on air: the rest of the slots are idle
            blocks.append(block)
        events, self._events = self._events, []
        for i, block in enumerate(blocks):
            entry = self._entries.get((block.header.stream, block.header.seq))
            if entry is None or block.header.digest != entry.digest:
                continue  # the last source blocks of a bundle already superseded
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

    def _next_urgent(self, frame: int):
        """The next urgent block that may go at ``frame`` (``_Urgent.sort_key``), or None."""
        ready = [u for u in self._urgent if u.eligible <= frame]
        if not ready:
            return None
        u = min(ready, key=_Urgent.sort_key)
        block = u.blocks[u.cursor]
        u.cursor += 1
        if u.cursor == len(u.blocks):
            if u.repeats_left:
                u.cursor, u.repeats_left = 0, u.repeats_left - 1
                u.eligible = frame + 1 + len(u.blocks)
            else:
                self._urgent.remove(u)
        return block

    def flush(self) -> np.ndarray:
        """The pulse tails after the last frame (end of transmission)."""
        tail = self._chain.flush()
        self.stats.samples_out += tail.size
        return tail

    def _idle_bits(self, frame: int) -> np.ndarray:
        rng = np.random.default_rng([self.config.tx.programme_seed, _IDLE_SEED_TAG, frame])
        return rng.integers(0, 2, self.frame_config.frame_bits, dtype=np.uint8)
