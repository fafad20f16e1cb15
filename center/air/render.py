"""The carousel on air: built bundles -> frames -> bits -> the profile's signal, in blocks.

``CarouselRenderer(profile, bundles, config).blocks()`` yields the signal that the center puts
on air now, a few frames at a time, through the profile's transmit chain (``modem.TxChain``):
float32 baseband (MPX, sound) or complex64 FM I/Q. Nothing here touches a file;
``center/air/sinks.py`` writes what it yields.

Carousel plan (one place, so the receiver-facing facts are stated once):
- Stream id of a bundle = its ``crypto.BundleKind`` value (full 1, delta 2, master roll 3,
  signer roll 4): a receiver can tell what a frame carries from the header alone.
- Share of airtime = the bundle's block count N, so in ``sum(N)`` frames the smooth weighted
  round-robin of ``framing.CarouselScheduler`` sends every block of every bundle exactly once
  (integer weights) and spreads a small bundle evenly over the cycle: a delta of N = 3 blocks
  goes out every ``sum(N) / 3`` frames, so a terminal needs no full cycle to catch it. That
  is one whole cycle; the schedule then repeats identically.
- A lead-in of the profile's ``lead_in_bits`` seeded random bits precedes the first frame: the
  demodulator spends them acquiring timing and carrier, so without it the first frame of a
  file would be lost.
- ``duration_s`` None renders the lead-in, one whole cycle and the pulse tails; otherwise
  exactly ``round(duration_s * output rate)`` samples, the carousel repeating as needed. Pulse
  durations (``ir`` with no rate: ``.ir`` files) have no sample rate: they are rendered in whole
  modulator blocks (a block starts with its sync pulse, so a cut inside one would leave a
  pulse without its partner) until their microseconds reach ``duration_s``.

Programme (``with_programme``) and the deviation budget: ``modem/txchain.py``.

Invariants: output depends only on (profile, bundles, config); memory is bounded by one block
of ``frames_per_block`` frames (~1 s of signal) plus one programme chunk; no I/O, no clock.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

import framing
from framing.frames import FrameGen  # not re-exported by framing/__init__
from modem import ModemProfile, TxChain, TxOptions, modem_profile
from modem.ir_config import IR


@dataclass(frozen=True)
class RenderConfig:
    """How to render: the transmit options (rates, level, programme; ``modem.TxOptions``), how
    long, and how many frames each yielded block holds."""

    tx: TxOptions = TxOptions()
    duration_s: float | None = None  # None: one whole cycle
    frames_per_block: int = 4  # frames per yielded block: 4 x 8 800 bits = 0.93 s on "fm"

    def __post_init__(self) -> None:
        if not isinstance(self.tx, TxOptions):
            raise TypeError(f"tx must be modem.TxOptions, got {type(self.tx).__name__}")
        if self.duration_s is not None and not 0.0 < self.duration_s < math.inf:
            raise ValueError(f"duration_s {self.duration_s} must be a positive number of seconds")
        if self.frames_per_block < 1:
            raise ValueError(f"frames_per_block must be >= 1, got {self.frames_per_block}")


def lead_in_bits(profile: ModemProfile, seed: int) -> np.ndarray:
    """The seeded random bits sent before the first frame: ``profile.lead_in_bits`` of them,
    the time a receiver spends acquiring (without them the first frame of a file is lost)."""
    return np.random.default_rng(seed).integers(0, 2, profile.lead_in_bits, dtype=np.uint8)


@dataclass(frozen=True)
class BundlePlan:
    """One bundle on air: its identity and how many blocks it takes."""

    seq: int
    kind: IntEnum  # crypto.BundleKind (its value is the stream id on air)
    bytes: int
    source_blocks: int  # K
    blocks: int  # N, blocks per cycle

    @property
    def stream(self) -> int:
        return int(self.kind)


@dataclass
class RenderStats:
    """Running counts of one render (mutable: the renderer updates it as it goes)."""

    frames: int = 0
    bits_on_air: int = 0  # lead-in and frame bits modulated
    samples_out: int = 0
    air_us: int = 0  # pulse durations only: microseconds of pulses and spaces yielded


def segment_bundles(bundles: Sequence, frame_config: framing.FrameConfig
                    ) -> tuple[list[list[framing.Block]], tuple[BundlePlan, ...]]:
    """Bundles (``.seq``, ``.kind``, ``.sealed``) -> their blocks and their plans on air."""
    segments, plans = [], []
    for b in bundles:
        blocks = framing.segment(b.sealed, int(b.kind), b.seq, frame_config)
        segments.append(blocks)
        plans.append(BundlePlan(b.seq, b.kind, len(b.sealed), blocks[0].header.k, len(blocks)))
    return segments, tuple(plans)


class CarouselRenderer:
    """Bundles (objects with ``.seq``, ``.kind``, ``.sealed``) -> blocks of samples on air."""

    def __init__(self, profile: str, bundles: Sequence, config: RenderConfig = RenderConfig()) -> None:
        if not bundles:
            raise ValueError("nothing to render: the carousel holds no bundle")
        self.modem_profile = modem_profile(profile)
        self.profile, self.config = profile, config
        self.frame_config = framing.frame_config(profile)
        self._segments, self.plan = segment_bundles(bundles, self.frame_config)
        self._framegen = FrameGen(self.frame_config)
        self._chain = TxChain(self.modem_profile, config.tx)
        self.reset()

    def __repr__(self) -> str:
        return f"CarouselRenderer({self.profile!r}, {self.plan!r}, {self.config!r})"

    # -- figures known before rendering ----------------------------------------------------

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
    def cycle_frames(self) -> int:
        return sum(p.blocks for p in self.plan)

    @property
    def bits_per_second(self) -> float:
        return self.modem_profile.bits_per_second

    @property
    def cycle_seconds(self) -> float:
        """Air time of one whole cycle (frames only)."""
        return self.cycle_frames * self.frame_config.frame_bits / self.bits_per_second

    @property
    def cycle_payload_bytes(self) -> int:
        return sum(p.bytes for p in self.plan)

    @property
    def net_bits_per_second(self) -> float:
        """Bundle bits delivered per second of carousel: sum(bytes) x 8 / cycle seconds."""
        return 8 * self.cycle_payload_bytes / self.cycle_seconds

    @property
    def expected_seconds(self) -> float:
        """Length of the render: duration_s, or lead-in + one cycle (tails excluded)."""
        if self.config.duration_s is not None:
            return self.config.duration_s
        return self.modem_profile.lead_in_bits / self.bits_per_second + self.cycle_seconds

    @property
    def payload_bytes(self) -> int:
        """Bundle bytes carried so far, counting each frame as 1 / N of its bundle."""
        return round(self.stats.frames / self.cycle_frames * self.cycle_payload_bytes)

    def cycle(self) -> list[tuple[int, int, int]]:
        """(stream, seq, block index) of each frame of one whole cycle, in air order."""
        scheduler = self._new_scheduler()
        return [(b.header.stream, b.header.seq, b.header.block_index)
                for b in scheduler.next_frames(self.cycle_frames)]

    def _new_scheduler(self) -> framing.CarouselScheduler:
        scheduler = framing.CarouselScheduler(self.frame_config)
        for blocks, plan in zip(self._segments, self.plan):
            scheduler.put(blocks, share=float(plan.blocks))
        return scheduler

    # -- the stage -------------------------------------------------------------------------

    def reset(self) -> None:
        self.stats = RenderStats()
        self._scheduler = self._new_scheduler()
        self._chain.reset()

    def blocks(self) -> Iterator[np.ndarray]:
        """Yield the signal (float32 baseband or complex64 I/Q) in blocks of about
        ``frames_per_block`` frames."""
        self.reset()
        cfg = self.config
        pulses = self.output_rate_hz is None
        total = None if cfg.duration_s is None or pulses else round(cfg.duration_s * self.output_rate_hz)
        total_us = None if cfg.duration_s is None or not pulses else cfg.duration_s * 1e6
        lead = lead_in_bits(self.modem_profile, cfg.tx.programme_seed)
        frames_left = self.cycle_frames if cfg.duration_s is None else math.inf
        first = True
        while ((total is None or self.stats.samples_out < total)
               and (total_us is None or self.stats.air_us < total_us)):
            if frames_left <= 0:
                yield from self._emit(self._chain.flush(), total)
                return
            count = int(min(cfg.frames_per_block, frames_left))
            bits = self._framegen.process(self._scheduler.next_frames(count))
            frames_left -= count
            self.stats.frames += count
            if first:
                bits, first = np.concatenate((lead, bits)), False
            self.stats.bits_on_air += bits.size
            out = self._chain.process(bits)
            if pulses:
                out = self._cut_pulses(out, total_us)
            yield from self._emit(out, total)

    def _emit(self, out: np.ndarray, total: int | None) -> Iterator[np.ndarray]:
        if total is not None:
            out = out[:total - self.stats.samples_out]
        if out.size:
            self.stats.samples_out += out.size
            if self.output_rate_hz is None:
                self.stats.air_us += int(np.abs(out).sum())
            yield out

    def _cut_pulses(self, out: np.ndarray, total_us: float | None) -> np.ndarray:
        """Durations up to the first block sync at or after ``total_us`` of air (whole blocks)."""
        if total_us is None or out.size == 0:
            return out
        starts = np.concatenate(([0], np.cumsum(np.abs(out.astype(np.int64)))[:-1]))
        late = np.flatnonzero((out == IR.sync_mark_us) & (starts >= total_us - self.stats.air_us))
        return out[:late[0]] if late.size else out


def render_summary(renderer: CarouselRenderer) -> dict:
    """The figures ``center render`` prints (after ``blocks()`` has run)."""
    return {
        "bundles": [{"seq": p.seq, "kind": p.kind.name.lower(), "bytes": p.bytes,
                     "blocks": p.blocks, "source_blocks": p.source_blocks, "stream": p.stream}
                    for p in renderer.plan],
        "frames": renderer.stats.frames,
        "cycle_frames": renderer.cycle_frames,
        "bits_on_air": renderer.stats.bits_on_air,
        "payload_bytes": renderer.payload_bytes,
        "net_kbit_per_s": round(renderer.net_bits_per_second / 1000, 3),
    }


def file_fields(source: CarouselRenderer, iq: bool) -> dict:
    """The ``hotcast:`` SigMF fields of a carousel file, from a renderer or a live carousel
    (anything with ``.profile``, ``.modem_profile``, ``.config`` and ``.chain``)."""
    chain = source.chain
    return {"profile": source.profile, "profile_version": source.modem_profile.version,
            "signal": "fm-iq" if iq else source.modem_profile.baseband.value,
            "baseband_rate_hz": chain.baseband_rate_hz, "level": chain.level,
            "with_programme": source.config.tx.with_programme}


def cycle_figures(profile: str, bundles: Sequence) -> dict:
    """What one carousel cycle of ``bundles`` takes on ``profile``'s air: its length in
    seconds and each bundle's blocks and share of the airtime."""
    frame_config = framing.frame_config(profile)
    _, plans = segment_bundles(bundles, frame_config)
    frames = sum(p.blocks for p in plans)
    frame_s = frame_config.frame_bits / modem_profile(profile).bits_per_second
    return {"cycle_s": frames * frame_s, "frame_s": frame_s,
            "bundles": [{"seq": p.seq, "kind": p.kind.name.lower(), "bytes": p.bytes,
                         "blocks": p.blocks, "share": p.blocks / frames} for p in plans]}
