"""The link section's sweeps: each runs ``linksim.simulate`` (or ``codesim.simulate_code``) over
one grid of ``link_plan.Plan`` and returns a ``Curve``; seeds derive from the context's seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hotcast.bench import theory
from hotcast.bench.codesim import CodePoint, simulate_code
from hotcast.bench.link_plan import PROFILES, Plan
from hotcast.bench.linksim import LinkPoint, LinkResult, simulate
from hotcast.bench.model import BenchContext
from modem.codec import CodecConfig, CodecUnavailableError, ffmpeg_path
from modem.impairments import IrChannelConfig


@dataclass
class Curve:
    """Link results along one swept quantity (``xs``)."""

    xs: list[float] = field(default_factory=list)
    results: list[LinkResult] = field(default_factory=list)

    def add(self, x: float, result: LinkResult) -> None:
        self.xs.append(float(x))
        self.results.append(result)

    @property
    def fers(self) -> list[float]:
        return [r.fer for r in self.results]

    @property
    def frames_per_point(self) -> int:
        return max((r.sent for r in self.results), default=0)

    def crossing(self, target: float) -> float | None:
        if not self.results:
            return None
        value = theory.crossing_db(self.xs, self.fers, [r.sent for r in self.results], target)
        return None if value is None else round(value, 2)


@dataclass
class CodeCurve:
    """The code alone: codeword error rate against Eb/N0 per information bit."""

    name: str
    points: list[CodePoint] = field(default_factory=list)

    def frame_fers(self, codewords_per_frame: int) -> np.ndarray:
        return theory.frame_error(np.array([p.cwer for p in self.points]), codewords_per_frame)

    def crossing(self, target: float, codewords_per_frame: int = 1) -> float | None:
        if not self.points:
            return None
        value = theory.crossing_db([p.ebn0_db for p in self.points],
                                   self.frame_fers(codewords_per_frame),
                                   [p.codewords // codewords_per_frame for p in self.points],
                                   target)
        return None if value is None else round(value, 2)


def _seed(ctx: BenchContext, *parts: int) -> int:
    return int(np.random.SeedSequence([ctx.seed, *parts]).generate_state(1)[0] % 2**31)


def code_curves(plan: Plan, ctx: BenchContext) -> dict[str, CodeCurve]:
    out = {}
    for i, (name, grid) in enumerate(plan.code_ebn0_db.items()):
        curve = CodeCurve(name)
        for j, eb in enumerate(grid):
            curve.points.append(simulate_code(name, eb, plan.code_words, seed=_seed(ctx, 1, i, j)))
        ctx.progress(f"link: code {name} alone")
        out[name] = curve
    return out


def ebn0_curves(plan: Plan, ctx: BenchContext) -> dict[str, Curve]:
    out = {}
    for i, p in enumerate(PROFILES):
        curve = Curve()
        for j, eb in enumerate(plan.ebn0_db[p]):
            curve.add(eb, simulate(LinkPoint(p, plan.frames[p], ebn0_db=eb,
                                             seed=_seed(ctx, 2, i, j))))
        ctx.progress(f"link: {p} against Eb/N0")
        out[p] = curve
    return out


def cnr_curves(plan: Plan, ctx: BenchContext) -> dict[str, Curve]:
    out = {}
    for i, (p, grid) in enumerate(plan.cnr_db.items()):
        curve = Curve()
        for j, cnr in enumerate(grid):
            curve.add(cnr, simulate(LinkPoint(p, plan.cnr_frames[p], cnr_db=cnr,
                                              freq_offset_hz=20_000.0, with_programme=True,
                                              seed=_seed(ctx, 3, i, j))))
        ctx.progress(f"link: {p} against CNR")
        out[p] = curve
    return out


def offset_curves(plan: Plan, ctx: BenchContext) -> dict[tuple[str, str], Curve]:
    out = {}
    for i, p in enumerate(("fm", "fm-robust")):
        n, cnr = plan.offset_frames[p], plan.offset_cnr_db[p]
        tuner, ppm = Curve(), Curve()
        for j, off in enumerate(plan.tuner_offsets_hz):
            tuner.add(off, simulate(LinkPoint(p, n, cnr_db=cnr, freq_offset_hz=off,
                                              seed=_seed(ctx, 4, i, j))))
        for j, e in enumerate(plan.iq_ppm):
            ppm.add(e, simulate(LinkPoint(p, n, cnr_db=cnr, ppm=e, seed=_seed(ctx, 5, i, j))))
        out[(p, "tuner")], out[(p, "ppm")] = tuner, ppm
        ctx.progress(f"link: {p} against tuner offset and clock error")
    for i, p in enumerate(("audio", "audio-robust")):
        n = plan.audio_frames[p]
        shift, ppm = Curve(), Curve()
        for j, off in enumerate(plan.audio_shifts_hz):
            shift.add(off, simulate(LinkPoint(p, n, freq_offset_hz=off, seed=_seed(ctx, 6, i, j))))
        for j, e in enumerate(plan.audio_ppm):
            ppm.add(e, simulate(LinkPoint(p, n, ppm=e, seed=_seed(ctx, 7, i, j))))
        out[(p, "shift")], out[(p, "ppm")] = shift, ppm
        ctx.progress(f"link: {p} against frequency shift and clock error")
    return out


def codec_name(codec: CodecConfig) -> str:
    return f"{codec.codec}{codec.bitrate_kbps}k"


def codec_rows(plan: Plan, ctx: BenchContext) -> tuple[list[list], str]:
    """([profile, codec, frames, FER] rows, why they are missing or "")."""
    if ffmpeg_path() is None:
        return [], "ffmpeg is not installed (apt-get install ffmpeg)"
    rows = []
    try:
        for i, p in enumerate(("audio", "audio-robust")):
            for j, codec in enumerate(plan.codecs):
                r = simulate(LinkPoint(p, plan.audio_frames[p], codec=codec,
                                       seed=_seed(ctx, 8, i, j)))
                rows.append([p, codec_name(codec), r.sent, round(r.fer, 4)])
            ctx.progress(f"link: {p} through codecs")
    except CodecUnavailableError as exc:
        return [], str(exc)
    return rows, ""


def ir_curves(plan: Plan, ctx: BenchContext) -> dict[str, Curve]:
    jitter, drops = Curve(), Curve()
    for j, us in enumerate(plan.ir_jitter_us):
        jitter.add(us, simulate(LinkPoint("ir", plan.ir_frames, seed=_seed(ctx, 9, j),
                                          ir=IrChannelConfig(jitter_us=us, seed=_seed(ctx, 10, j)))))
    for j, share in enumerate(plan.ir_drops):
        drops.add(share, simulate(LinkPoint("ir", plan.ir_frames, seed=_seed(ctx, 11, j),
                                            ir=IrChannelConfig(drop_fraction=share,
                                                               seed=_seed(ctx, 12, j)))))
    ctx.progress("link: ir against jitter and drops")
    return {"jitter": jitter, "drops": drops}


def tolerance(curve: Curve) -> float | None:
    """The largest |x| such that every point at or inside it decoded every frame; None if even
    the smallest failed."""
    best = None
    # At equal |x| a failing point sorts first: both signs must pass.
    for x, fer in sorted(zip(np.abs(curve.xs), curve.fers), key=lambda p: (p[0], -p[1])):
        if fer > 0:
            break
        best = float(x)
    return best
