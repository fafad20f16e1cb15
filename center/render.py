"""The carousel on air: built bundles -> frames -> bits -> MPX (-> FM I/Q), streamed in blocks.

``CarouselRenderer(profile, bundles, config).blocks()`` yields the signal that the center puts
on air now, a few frames at a time: float32 MPX at ``mpx_rate_hz`` or, with ``iq_rate_hz``,
complex64 FM I/Q. Nothing here touches a file; ``center/sinks.py`` writes what it yields.

Carousel plan (one place, so the receiver-facing facts are stated once):
- Stream id of a bundle = its ``crypto.BundleKind`` value (full 1, delta 2, master roll 3,
  signer roll 4): a receiver can tell what a frame carries from the header alone.
- Share of airtime = the bundle's block count N, so in ``sum(N)`` frames the smooth weighted
  round-robin of ``framing.CarouselScheduler`` sends every block of every bundle exactly once
  (integer weights) and spreads a small bundle evenly over the cycle: a delta of N = 3 blocks
  goes out every ``sum(N) / 3`` frames, so a terminal needs no full cycle to catch it. That
  is one whole cycle; the schedule then repeats identically.
- A lead-in of ``lead_in_bits`` seeded random bits precedes the first frame: the demodulator
  spends ~2 000 bits acquiring timing and carrier, so without it the first frame of a file
  would be lost (4 000 bits = 0.105 s at 38 kbit/s).
- ``duration_s`` None renders the lead-in, one whole cycle and the pulse tails; otherwise
  exactly ``round(duration_s * output rate)`` samples, the carousel repeating as needed.

Programme (``with_programme``) and the deviation budget: ``center/txchain.py``.

Invariants: output depends only on (profile, bundles, config); memory is bounded by one block
of ``frames_per_block`` frames (~1 s of signal) plus one programme chunk; no I/O, no clock.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

import framing
import modem
from crypto import BundleKind
from framing.frames import FrameGen  # not re-exported by framing/__init__
from center.txchain import SignalChain, programme_peak_for
from modem.errors import SampleRateError
from modem.fmiq import FmIqModulatorConfig

RENDER_PROFILES = ("fm",)  # profiles whose modulator render knows (framing and modem presets)
MIN_MPX_RATE_HZ = 180_000  # > 2 x 88 825 Hz, the top of the 76 kHz subcarrier (modem/fm.py)
MAX_MPX_RATE_HZ = 2_400_000
# 0.5 x txchain.DATA_PEAK_FACTOR 1.6 = 0.8 of the deviation: data peaks alone stay within 100 %
MAX_INJECTION = 0.5


@dataclass(frozen=True)
class RenderConfig:
    """How to render. Rates in Hz (integers: sample formats carry integer rates)."""

    mpx_rate_hz: int = 228_000
    iq_rate_hz: int | None = None  # None: output the MPX itself
    with_programme: bool = False
    injection: float = 0.10  # subcarrier level, fraction of the 75 kHz deviation
    duration_s: float | None = None  # None: one whole cycle
    programme_seed: int = 0
    lead_in_bits: int = 4_000
    frames_per_block: int = 4  # frames per yielded block: 4 x 8 800 bits = 0.93 s on "fm"

    def __post_init__(self) -> None:
        rate = self.mpx_rate_hz
        if not isinstance(rate, int) or not MIN_MPX_RATE_HZ <= rate <= MAX_MPX_RATE_HZ:
            raise ValueError(f"mpx_rate_hz {self.mpx_rate_hz!r} must be an integer in "
                             f"{MIN_MPX_RATE_HZ}..{MAX_MPX_RATE_HZ} Hz")
        if self.iq_rate_hz is not None:
            try:
                FmIqModulatorConfig(self.mpx_rate_hz, self.iq_rate_hz)
            except SampleRateError as exc:  # a misuse here, not bad input: ValueError (STYLE 4)
                raise ValueError(str(exc)) from None
        if not 0.0 < self.injection <= MAX_INJECTION:
            raise ValueError(f"injection {self.injection} must be in (0, {MAX_INJECTION}]")
        if self.duration_s is not None and not 0.0 < self.duration_s < math.inf:
            raise ValueError(f"duration_s {self.duration_s} must be a positive number of seconds")
        if self.lead_in_bits < 0:
            raise ValueError(f"lead_in_bits must be >= 0, got {self.lead_in_bits}")
        if self.frames_per_block < 1:
            raise ValueError(f"frames_per_block must be >= 1, got {self.frames_per_block}")

    @property
    def output_rate_hz(self) -> int:
        return self.mpx_rate_hz if self.iq_rate_hz is None else self.iq_rate_hz


def mpx_rate_for_iq(iq_rate_hz: int) -> int:
    """MPX rate to render an I/Q rate from: iq / d with the largest integer d dividing it that
    leaves >= 228 kHz, so the interpolation ratio is the integer d (1.2 MHz -> 240 kHz,
    2.048 MHz -> 256 kHz, 2.4 MHz -> 240 kHz; a rate with no such divisor renders at itself)."""
    for d in range(max(1, iq_rate_hz // 228_000), 0, -1):
        if iq_rate_hz % d == 0:
            return iq_rate_hz // d
    return iq_rate_hz


@dataclass(frozen=True)
class BundlePlan:
    """One bundle on air: its identity and how many blocks it takes."""

    seq: int
    kind: str
    stream: int
    bytes: int
    source_blocks: int  # K
    blocks: int  # N, blocks per cycle


@dataclass
class RenderStats:
    """Running counts of one render (mutable: the renderer updates it as it goes)."""

    frames: int = 0
    bits_on_air: int = 0  # lead-in and frame bits modulated
    samples_out: int = 0


class CarouselRenderer:
    """Bundles (objects with ``.seq``, ``.kind``, ``.sealed``) -> blocks of samples on air."""

    def __init__(self, profile: str, bundles: Sequence, config: RenderConfig = RenderConfig()) -> None:
        if profile not in RENDER_PROFILES:
            raise ValueError(f"render knows profile(s) {', '.join(RENDER_PROFILES)}, not {profile!r}")
        if not bundles:
            raise ValueError("nothing to render: the carousel holds no bundle")
        self.profile, self.config = profile, config
        self.frame_config = framing.frame_config(profile)
        self.modem_config = dataclasses.replace(
            modem.PROFILES[profile], sample_rate_hz=float(config.mpx_rate_hz), injection=config.injection)
        self._segments = []
        plans = []
        for b in bundles:
            stream = BundleKind[b.kind.upper()].value
            blocks = framing.segment(b.sealed, stream, b.seq, self.frame_config)
            self._segments.append(blocks)
            plans.append(BundlePlan(b.seq, b.kind, stream, len(b.sealed), blocks[0].header.k, len(blocks)))
        self.plan = tuple(plans)
        self._framegen = FrameGen(self.frame_config)
        self.reset()

    def __repr__(self) -> str:
        return f"CarouselRenderer({self.profile!r}, {self.plan!r}, {self.config!r})"

    # -- figures known before rendering ----------------------------------------------------

    @property
    def cycle_frames(self) -> int:
        return sum(p.blocks for p in self.plan)

    @property
    def bits_per_second(self) -> float:
        return self.modem_config.bits_per_second

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
        return self.config.lead_in_bits / self.bits_per_second + self.cycle_seconds

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
        self._chain = signal_chain(self.modem_config, self.config)

    def blocks(self) -> Iterator[np.ndarray]:
        """Yield float32 MPX or complex64 I/Q blocks (about ``frames_per_block`` frames each)."""
        self.reset()
        cfg = self.config
        total = None if cfg.duration_s is None else round(cfg.duration_s * cfg.output_rate_hz)
        lead = np.random.default_rng(cfg.programme_seed).integers(0, 2, cfg.lead_in_bits, dtype=np.uint8)
        frames_left = self.cycle_frames if total is None else math.inf
        first = True
        while total is None or self.stats.samples_out < total:
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
            yield from self._emit(self._chain.process(bits), total)

    def _emit(self, out: np.ndarray, total: int | None) -> Iterator[np.ndarray]:
        if total is not None:
            out = out[:total - self.stats.samples_out]
        if out.size:
            self.stats.samples_out += out.size
            yield out


def signal_chain(modem_config: modem.FmSubcarrierConfig, config: RenderConfig) -> SignalChain:
    """The transmit chain that ``config`` asks for (programme, I/Q) after ``modem_config``."""
    peak = programme_peak_for(config.injection) if config.with_programme else None
    return SignalChain(modem_config, config.iq_rate_hz, peak, config.programme_seed)


def render_summary(renderer: CarouselRenderer) -> dict:
    """The figures ``center render`` prints (after ``blocks()`` has run)."""
    return {
        "bundles": [{"seq": p.seq, "kind": p.kind, "bytes": p.bytes, "blocks": p.blocks,
                     "source_blocks": p.source_blocks, "stream": p.stream} for p in renderer.plan],
        "frames": renderer.stats.frames,
        "cycle_frames": renderer.cycle_frames,
        "bits_on_air": renderer.stats.bits_on_air,
        "payload_bytes": renderer.payload_bytes,
        "net_kbit_per_s": round(renderer.net_bits_per_second / 1000, 3),
    }
