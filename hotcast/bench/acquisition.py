"""Acquisition: from a random moment in the carousel to the first frame decoded, against the
ideal.

For each profile the receive pipeline starts on the speed section's capture (fm and fm-robust:
the cu8 I/Q with programme; audio: WAV; ir: pulse text) at ``STARTS`` seeded random offsets
(``QUICK_STARTS`` with ``--quick``) drawn from all but the last ``ROOM_FRAMES`` frames of it, and
is fed until its first frame checks (a start that finds none before the capture ends counts as
"no frame"); the time is the
signal consumed, at the pipeline's block ends (``BLOCK_S``). A receiver can do no better than
wait for the next frame to begin and then hear it whole: between one and two frame durations,
1.5 on average from a random start; the ideal shown is one frame (the profile table's
``frame_s``), and the figures are seconds and multiples of it. The result depends on the signal only
(not on CPU time), but every run makes fresh keys, so the bundles and the frames on air differ
from run to run: the figures' spread is the standard error of the median over the starts.
"""

from __future__ import annotations

import numpy as np

from modem import InputKind
from receiver.radio.pipeline import PipelineConfig, ReceivePipeline
from receiver.radio.pipeline_config import receive_profiles
from receiver.radio.sources import open_source

from hotcast.bench.model import BenchContext, Figure, Section, Table
from hotcast.bench.speed import PROFILES, inputs
from hotcast.bench.world import Capture, world

STARTS = 20
QUICK_STARTS = 6
BLOCK_S = 0.02  # the pipeline's internal block here: 20 ms resolution
ROOM_FRAMES = 3  # starts leave at least this many frame durations of capture after them


def median_spread(x: np.ndarray) -> float | None:
    """Relative standard error of the median of ``x`` (1.2533 sigma / sqrt(n), for a normal
    sample), the spread ``--compare`` weighs a change against."""
    med = float(np.median(x))
    if x.size < 2 or med <= 0:
        return None
    return float(1.2533 * np.std(x, ddof=1) / np.sqrt(x.size) / med)


def frame_seconds(profile: str) -> float:
    return float(next(p["frame_s"] for p in receive_profiles() if p["name"] == profile))


def first_frame_s(cap: Capture, start_s: float, limit_s: float) -> float | None:
    """Seconds of signal from ``start_s`` until the pipeline's first good frame, or None
    within ``limit_s``."""
    source = open_source(str(cap.path), None, None)
    with source:
        pulses = source.kind is InputKind.PULSES
        pipe = ReceivePipeline(PipelineConfig(cap.profile, source.kind, source.sample_rate_hz,
                                              block_s=BLOCK_S))
        scale = 1e6 if pulses else source.sample_rate_hz
        skip = start_s * scale  # samples, or microseconds of pulses
        fed = 0.0
        for block in source:
            if skip > 0:
                used = np.cumsum(np.abs(block)) if pulses else np.arange(1, block.size + 1)
                cut = int(np.searchsorted(used, skip))
                skip -= float(used[-1]) if cut >= block.size else float(used[cut])
                block = block[cut + 1:]
                if skip > 0 or not block.size:
                    continue
            step = max(1, int(BLOCK_S * (1e3 if pulses else scale)))  # ~ one block a call
            for pos in range(0, block.size, step):
                part = block[pos:pos + step]
                pipe.process(part)
                fed += float(np.abs(part).sum()) / 1e6 if pulses else part.size / scale
                if pipe.frames_ok > 0:
                    return pipe.seconds_of_signal
                if fed > limit_s:
                    return None
    return None


def run(ctx: BenchContext) -> Section:
    section = Section("acquisition", "Acquisition from a random start")
    rng = np.random.default_rng(ctx.seed)
    n = QUICK_STARTS if ctx.quick else STARTS
    rows, curves = [], {}
    w = world(ctx)
    for profile in PROFILES:
        inp = inputs(profile)[0]
        cap = w.capture(profile, inp.fmt, inp.rate_hz)
        frame_s = frame_seconds(profile)
        latest = max(0.0, cap.seconds - ROOM_FRAMES * frame_s)
        times, missed = [], 0
        for start in rng.uniform(0.0, latest, n):
            limit = cap.seconds - float(start)
            t = first_frame_s(cap, float(start), limit)
            if t is None:
                missed += 1
            else:
                times.append(t)
        ctx.progress(f"acquisition {profile}")
        if not times:
            section.notes.append(f"{profile}: no frame from any of {n} starts")
            continue
        x = np.array(times)
        curves[profile] = x / frame_s
        p50, p90 = float(np.percentile(x, 50)), float(np.percentile(x, 90))
        spread = median_spread(x)
        for key, value, label in (("p50_s", p50, "median"), ("p90_s", p90, "90th percentile")):
            section.figures.append(Figure(f"acquisition.{profile}.{key}", round(value, 4), "s",
                                          f"{profile}: acquisition, {label}", "lower", spread,
                                          len(x)))
        section.figures.append(Figure(f"acquisition.{profile}.p50_frames", round(p50 / frame_s, 3),
                                      "frames", f"{profile}: median acquisition in frames",
                                      "lower", spread, len(x)))
        rows.append([profile, inp.label, round(frame_s, 3), len(x), missed,
                     round(float(x.min()), 3), round(p50, 3), round(p90, 3),
                     round(float(x.max()), 3), f"{p50 / frame_s:.2f}"])
    section.tables.append(Table(
        "Time from a random start to the first decoded frame (seconds of signal)",
        ["profile", "input", "ideal: 1 frame s", "starts", "no frame", "min", "median", "p90",
         "max", "median / frame"], rows,
        note=(f"seeded starts; resolution {BLOCK_S * 1e3:g} ms; waiting for the next frame "
              "start and hearing it whole takes 1-2 frames, 1.5 on average")))
    if curves:
        section.plots.append(_plot(curves, ctx))
    return section


def _plot(curves: dict[str, np.ndarray], ctx: BenchContext):
    from hotcast.plots import plt

    fig, ax = plt.subplots(figsize=(8, 4.2), dpi=100)
    for profile, x in curves.items():
        xs = np.sort(x)
        ax.step(xs, np.arange(1, xs.size + 1) / xs.size, where="post", label=profile)
    ax.axvspan(1.0, 2.0, color="0.85", label="ideal: 1-2 frames")
    ax.set_xlabel("time to first frame, in frame durations")
    ax.set_ylabel("fraction of random starts")
    ax.set_title("hotcast acquisition from a random start")
    ax.set_xlim(left=0)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = ctx.out_dir / "acquisition.png"
    fig.savefig(path)
    plt.close(fig)
    return path
