"""The carousel policy of one channel, and what it makes of the air: shares, cycle, waits.

A ``Policy`` says
- ``full_every_s``: the full list goes out once per this much air time. The rest of the air
  goes to the small items (key material, the delta, heartbeat, announcement), which then
  repeat many times per full cycle: a terminal that was away needs only the delta. None
  ("auto"): the full list takes its plain share (one block per block of everything else,
  ``center.air.render``'s rule) but never more than ``AUTO_FULL_FRACTION`` of the air.
- ``delta_batch_s``: a list change waits this long after the first registry edit it carries
  before it goes on this channel (0: at once); the scheduler builds at the smallest batch.
- ``delta_repeats``: a new delta (or key roll) goes out whole at the next frame boundaries this
  many times, each repeat after one more frame time of its own length, before it rides the
  round-robin.
- ``priority``: the order in which new items cut in at a frame boundary (their source blocks,
  then their repair blocks: ``center.air.live``), of ``PRIORITY_GROUPS``; ``full`` comes last
  (a full list is megabytes: nothing may wait behind it). The default puts the announcement
  first (``DEFAULT_PRIORITY``): one frame on ``fm``, and a terminal then gives the new delta
  room however many blocks it has.
- ``ahead_s``: how far ahead of the air the channel renders, so no output runs dry; it is also
  what a change waits before its first frame reaches the output.

Shares: ``framing.CarouselScheduler`` sends by smooth weighted round-robin, a fraction
s_i / sum(s) of the frames to item i. Small items keep share = their block count N_i, so among
themselves each block goes once per round; the full list gets s_f with s_f / (s_f + S) = f,
i.e. s_f = f S / (1 - f), where S is the small items' total N and f the fraction of air the
full list needs to go out once per ``full_every_s`` (N_f x frame time / full_every_s, at most
``MAX_FULL_FRACTION``).

Waits: an item sent in fraction f_i of the frames, K_i source blocks of N_i, is whole for a
terminal that tunes in at the worst moment after K_i / f_i + 1 frames (it just missed a block;
RaptorQ needs any K_i of them, K_i + 2 for certainty on a lossy channel); a terminal needs every
item, so the worst wait is the largest, plus the receiver's acquisition (the lead-in).

Invariants: pure functions of their arguments; no clock, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

import framing
from crypto import BundleKind, MetadataType
from modem import modem_profile

PRIORITY_GROUPS = ("announce", "keys", "deltas", "heartbeat", "full")
# The announcement first: a terminal's reassembler gives room to the bundles the newest
# announcement names and keeps strangers in a small pool where a stranger that holds two blocks
# is never displaced; a multi-block delta heard before the announcement naming it, and then
# superseded before it was whole, would hold such a place for hours (framing.reassembly).
DEFAULT_PRIORITY = PRIORITY_GROUPS
AUTO_FULL_FRACTION = 0.75
MAX_FULL_FRACTION = 0.95
_GROUP = {MetadataType.ROOT_SET: "keys", MetadataType.KEY_SET: "keys",
          BundleKind.MASTER_ROLL: "keys", BundleKind.DELTA: "deltas",
          BundleKind.HEARTBEAT: "heartbeat", BundleKind.ANNOUNCE: "announce",
          BundleKind.FULL: "full"}


@dataclass(frozen=True)
class Policy:
    full_every_s: float | None = None
    delta_batch_s: float = 0.0
    delta_repeats: int = 1
    priority: tuple[str, ...] = DEFAULT_PRIORITY
    ahead_s: float = 0.5

    def __post_init__(self) -> None:
        check_priority(self.priority)
        if self.full_every_s is not None and not self.full_every_s > 0:
            raise ValueError(f"full_every_s must be > 0 or None, got {self.full_every_s}")
        if self.delta_batch_s < 0 or not 1 <= self.delta_repeats <= 10 or not self.ahead_s > 0:
            raise ValueError("delta_batch_s >= 0, delta_repeats 1..10 and ahead_s > 0, got "
                             f"{self.delta_batch_s}, {self.delta_repeats}, {self.ahead_s}")

    def rank(self, kind: IntEnum) -> int:
        """Position of ``kind``'s group in the priority (0 first)."""
        return self.priority.index(group_of(kind))


def check_priority(value: object) -> tuple[str, ...]:
    """A priority list: every group of PRIORITY_GROUPS once, ``full`` last; ValueError else."""
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise ValueError(f"want a list of {', '.join(PRIORITY_GROUPS)}, got {value!r}")
    for name in value:
        if name not in PRIORITY_GROUPS:
            raise ValueError(f"unknown priority {name!r}; known: {', '.join(PRIORITY_GROUPS)}")
    if len(set(value)) != len(value):
        raise ValueError(f"{value!r} names a group twice")
    missing = [g for g in PRIORITY_GROUPS if g not in value]
    if missing:
        raise ValueError(f"{value!r} leaves out {', '.join(missing)}: name every group once")
    if value[-1] != "full":
        raise ValueError("full must come last: a full list is megabytes and a delta must "
                         "never wait behind it")
    return tuple(value)


def group_of(kind: IntEnum) -> str:
    return _GROUP[kind]


def shares(items: Sequence[tuple[IntEnum, int]], frame_s: float, policy: Policy) -> list[float]:
    """Round-robin share of each (kind, blocks N) item on one channel (module docstring)."""
    out = [float(n) for _, n in items]
    full = [i for i, (kind, _) in enumerate(items) if kind is BundleKind.FULL]
    small = sum(n for kind, n in items if kind is not BundleKind.FULL)
    if not full or small == 0:
        return out
    n_full = sum(items[i][1] for i in full)
    if policy.full_every_s is None:
        f = min(n_full / (n_full + small), AUTO_FULL_FRACTION)
    else:
        f = min(n_full * frame_s / policy.full_every_s, MAX_FULL_FRACTION)
    s_full = f * small / (1 - f)
    for i in full:
        out[i] = s_full * items[i][1] / n_full
    return out


def blocks_of(nbytes: int, config: framing.FrameConfig) -> tuple[int, int]:
    """(K source, N on air) blocks of a bundle of ``nbytes`` (``framing.segment``'s counts)."""
    k = -(-nbytes // config.block_bytes)
    return k, k + max(config.min_repair_blocks, math.ceil(k * config.repair_ratio))


@dataclass(frozen=True)
class ItemFigures:
    kind: IntEnum
    seq: int
    bytes: int
    source_blocks: int
    blocks: int
    fraction: float  # of the frames
    period_s: float  # air time for all its N blocks to go out once
    wait_s: float  # worst wait for a terminal tuning in now to have it whole


@dataclass(frozen=True)
class AirFigures:
    frame_s: float
    cycle_s: float  # every block of every item out at least once
    worst_wait_s: float  # for a terminal that tunes in now to have everything
    items: tuple[ItemFigures, ...]


def air_figures(profile: str, items: Sequence[tuple[IntEnum, int, int]],
                policy: Policy) -> AirFigures:
    """Figures of (kind, seq, bytes) items on one channel of ``profile`` under ``policy``."""
    config = framing.frame_config(profile)
    modem = modem_profile(profile)
    frame_s = config.frame_bits / modem.bits_per_second
    counts = [blocks_of(nbytes, config) for _, _, nbytes in items]
    weights = shares([(kind, n) for (kind, _, _), (_, n) in zip(items, counts)], frame_s, policy)
    total = sum(weights)
    figures = []
    for (kind, seq, nbytes), (k, n), w in zip(items, counts, weights):
        fraction = w / total
        figures.append(ItemFigures(kind, seq, nbytes, k, n, fraction, n * frame_s / fraction,
                                   (k / fraction + 1) * frame_s))
    acquire = modem.lead_in_bits / modem.bits_per_second
    return AirFigures(frame_s, max((f.period_s for f in figures), default=0.0),
                      acquire + max((f.wait_s for f in figures), default=0.0), tuple(figures))
