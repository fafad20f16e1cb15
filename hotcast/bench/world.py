"""The bench's world: one center per profile with a list on air, an empty terminal home that
each decode copies, and the captures the center renders, made once per run and shared by the
sections (speed, stages, memory, acquisition) through ``BenchContext.cache``.

A capture is what ``hotcast center render`` writes (the same ``plan_output`` and
``CarouselRenderer``; ``fm`` with the simulated stereo programme, pilot and RDS of
``--with-programme``). Each profile's list is sized so that one carousel cycle takes about
``CYCLE_FRACTION`` of the capture, so every capture carries whole bundles that the terminal
verifies, decrypts and merges, as on air.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from center.air.output_plan import plan_output
from center.air.render import CarouselRenderer, RenderConfig
from center.air.sinks import FileSink
from center.registry.home import REQUEST_FILE, CenterHome
from center.root.home import RootHome
from crypto import BundleKind, TerminalKeys
from framing import Universe
from modem import TxOptions, modem_profile
from modem.irtext import write_ir_text
from receiver.radio.pipeline_config import receive_profiles
from receiver.store.store import TerminalStore

from hotcast.bench.model import BenchContext

NOW = 1_790_000_000  # a fixed clock (2026-09-21 UTC): the same bundles on every run
PASSPHRASE = "hotcast bench"
ISSUER_LO = 4929_0000_0000_0000
UNIVERSE_SIZE = 10_000_000
UNIVERSE = Universe(((ISSUER_LO, ISSUER_LO + UNIVERSE_SIZE - 1),))
# One carousel cycle is about this fraction of the capture (at least two cycles on air).
CYCLE_FRACTION = 0.4
# Sealed bits per listed card at these list sizes (Elias-Fano gaps ~ 2 + log2(U/r) ~ 12 bit,
# reasons ~ 1.4 bit, header and signature shared): ~16, measured on the rendered bundles.
BITS_PER_ENTRY = 16
MIN_ENTRIES = 100
# An infrared WAV is the emitter's 38 kHz carrier wave, which needs > 2 x 38 kHz: the
# slower of the two rates ``center render`` offers for it.
IR_WAVE_RATE_HZ = {"ir": 96_000}
FULL_S, QUICK_S = 20.0, 4.0  # seconds of signal per capture
QUICK_ENTRIES = 300  # --quick: one small list for every profile


@dataclass(frozen=True)
class Capture:
    profile: str
    path: Path
    fmt: str  # "cu8", "cf32", "wav", "ir"
    rate_hz: float | None  # None for `.ir` pulse text (durations in microseconds)
    seconds: float  # of signal
    net_bits_per_second: float  # bundle bits per second of this carousel (renderer's figure)


def net_rate_bps(profile: str) -> float:
    """The profile table's net payload rate (``hotcast receiver profiles``)."""
    return float(next(p["net_bit_rate_bps"] for p in receive_profiles() if p["name"] == profile))


def entries_for(profile: str, seconds: float) -> int:
    """Cards on the list so one cycle lasts about CYCLE_FRACTION x seconds."""
    net = net_rate_bps(profile)
    return max(MIN_ENTRIES, int(net * seconds * CYCLE_FRACTION / BITS_PER_ENTRY))


class BenchWorld:
    """Centers, a terminal template and rendered captures under ``workdir`` (kept by the
    caller; see ``world``)."""

    def __init__(self, workdir: Path, seconds: float, seed: int,
                 entries: int | None = None) -> None:
        """``entries``: one list of that many cards for every profile (one center to make,
        ~1 s of CPU), else a list per profile sized by ``entries_for``."""
        self.workdir = Path(workdir)
        self.entries = entries
        self.seconds = seconds
        self.seed = seed
        self._centers: dict[str, Path] = {}
        self._captures: dict[tuple, Capture] = {}
        self._copies = 0

    def __repr__(self) -> str:
        return f"BenchWorld({self.workdir}, seconds={self.seconds})"

    # -- homes -----------------------------------------------------------------------------
    def _entries(self, profile: str) -> int:
        return self.entries if self.entries is not None else entries_for(profile, self.seconds)

    def _center(self, profile: str) -> Path:
        """A center home for ``profile``'s list size with the list built, and beside it a
        terminal template it provisioned (profiles with one list size share them)."""
        n = self._entries(profile)
        if n in self._centers:
            return self._centers[n]
        base = self.workdir / f"center-{n}"
        rng = np.random.default_rng(self.seed)
        root = RootHome.init(self.workdir / f"root-{n}", passphrase=lambda: PASSPHRASE)
        home = CenterHome.init(base, UNIVERSE, root_pub=root.root_set_bytes(1), now=NOW - 60,
                               by="bench", passphrase=PASSPHRASE)
        try:
            home.import_trust([root.sign_keyset((base / REQUEST_FILE).read_bytes())],
                              now=NOW - 60, by="bench")
            cards = ISSUER_LO + rng.choice(UNIVERSE_SIZE, size=n, replace=False)
            home.revoke([int(c) for c in cards], now=NOW - 60, by="bench")
            home.build(BundleKind.FULL, now=NOW - 60, by="bench")
            keys = TerminalKeys.from_file(home.provision(now=NOW - 60, by="bench"))
            TerminalStore.create(self.workdir / f"terminal-{n}", keys).close()
        finally:
            home.close()
        self._centers[n] = base
        return base

    def terminal(self, profile: str) -> Path:
        """A fresh copy of ``profile``'s empty terminal home (every decode merges from empty,
        so every repeat does the same work)."""
        template = self._center(profile).parent / f"terminal-{self._entries(profile)}"
        self._copies += 1
        dst = self.workdir / f"t{self._copies}-{profile}"
        shutil.copytree(template, dst)
        return dst

    def drop(self, path: Path) -> None:
        shutil.rmtree(path, ignore_errors=True)

    # -- captures --------------------------------------------------------------------------
    def capture(self, profile: str, fmt: str, rate_hz: float | None = None,
                seconds: float | None = None) -> Capture:
        """The center's carousel for ``profile`` as ``fmt`` (``cu8``, ``cf32``: FM I/Q at
        ``rate_hz`` (1.2 MHz by default) with the programme; ``wav``: the baseband; ``ir``: a
        pulse text series), ``seconds`` long (default the world's)."""
        seconds = self.seconds if seconds is None else seconds
        key = (profile, fmt, rate_hz, seconds)
        if key in self._captures:
            return self._captures[key]
        center = self._center(profile)
        stem = f"{profile}-{fmt}-{int(rate_hz or 0)}-{seconds:g}s"
        with CenterHome.open(center, lambda: PASSPHRASE) as home:
            bundles = home.carousel(NOW)
            bundles = bundles + home.air_extras(bundles, NOW)
            if fmt == "ir":
                cap = self._render_ir(profile, bundles, stem, seconds)
            else:
                path = self.workdir / f"{stem}.{fmt}"
                if rate_hz is None and profile in IR_WAVE_RATE_HZ:
                    rate_hz = IR_WAVE_RATE_HZ[profile]
                fmt_, config = plan_output(str(path), fmt, profile, rate_hz=rate_hz,
                                           duration_s=seconds, level=None,
                                           with_programme=modem_profile(profile).takes_iq)
                renderer = CarouselRenderer(profile, bundles, config)
                with FileSink(str(path), fmt_, renderer.output_rate_hz,
                              description=f"hotcast bench, profile {profile}") as sink:
                    for block in renderer.blocks():
                        sink.write(block)
                    sink.close({"profile": profile})
                cap = Capture(profile, path, fmt_, float(renderer.output_rate_hz), seconds,
                              renderer.net_bits_per_second)
        self._captures[key] = cap
        return cap

    def _render_ir(self, profile: str, bundles: list, stem: str, seconds: float) -> Capture:
        """The pulse durations as one `.ir` text (mode2 / ir-ctl form, as a recording of a
        receiver module gives; ``center render`` cuts the same durations into ir-ctl sized
        files for sending): ``seconds`` of air, ending at a block sync."""
        renderer = CarouselRenderer(profile, bundles, RenderConfig(tx=TxOptions(),
                                                                   duration_s=seconds))
        durations = np.concatenate([np.asarray(b, np.int64) for b in renderer.blocks()])
        path = self.workdir / f"{stem}.ir"
        path.write_text(write_ir_text(durations), encoding="ascii")
        return Capture(profile, path, "ir", None, float(np.abs(durations).sum()) / 1e6,
                       renderer.net_bits_per_second)


def world(ctx: BenchContext) -> BenchWorld:
    """The run's world (made on first use, in ``ctx.work_dir`` or a temporary folder)."""
    found = ctx.cache.get("world")
    if found is None:
        workdir = ctx.work_dir
        if workdir is None:
            workdir = Path(tempfile.mkdtemp(prefix="hotcast-bench-"))
            ctx.cache.setdefault("cleanup", []).append(workdir)
        found = BenchWorld(Path(workdir) / "world", seconds=QUICK_S if ctx.quick else FULL_S,
                           seed=ctx.seed, entries=QUICK_ENTRIES if ctx.quick else None)
        found.workdir.mkdir(parents=True, exist_ok=True)
        ctx.cache["world"] = found
    return found
