"""Decoding speed per profile and input kind, two ways, and the net payload rate.

For every profile the center renders a capture (``world.BenchWorld``: fm and fm-robust with the
stereo programme, 20 s of signal, 4 s with ``--quick``) in each input kind the profile takes:
FM I/Q as cu8 and cf32 at 1.2 MHz, the 228 kHz MPX as WAV, and the cu8 bytes through a pipe
(``--input -``); audio profiles as WAV and through a pipe; ``ir`` as `.ir` pulse text and as the
emitter's carrier WAV. Each is decoded

- in this process (``decoding.run_in_process``: the same source, pipeline and merge as
  ``receiver decode``, CPU split into input conversion, pipeline and merge), and
- by ``hotcast receiver decode`` in a child process (``decoding.run_cli``), whose own summary
  gives ``seconds_of_signal / seconds_of_cpu``,

each repeated (3 times; 2 with ``--quick``, which leaves out cf32, the carrier WAV and the pipes
other than fm's, and starts the child only for fm's cu8, from the file and the pipe) so every
figure carries its spread. Speed is × real time (seconds of signal per
CPU-second: one core) and payload bits per CPU-second (the carousel's bundle bits per second of
air, from the renderer, × real time). The two ways agree when the gap is within
``AGREE_WITHIN``; otherwise the table says where the difference goes: input conversion and
merge are measured in-process, and the child's summary splits its own CPU by stage (``stages``),
so the stages whose CPU differs most between the two are named (``other``: the input checks
and events both do, and the JSON output only the child does); the child's start-up is
shown apart, since ``seconds_of_cpu`` leaves it out.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from hotcast.bench.decoding import CliRun, InProcessRun, run_cli, run_in_process
from hotcast.bench.model import BenchContext, Section, Table
from hotcast.bench.stats import figure, fmt_num
from hotcast.bench.world import Capture, net_rate_bps, world

PROFILES = ("fm", "fm-robust", "audio", "audio-robust", "ir")
AGREE_WITHIN = 0.20  # issue 12: bench and `receiver decode` agree within 20 %
IQ_RATE_HZ = 1_200_000


@dataclass(frozen=True)
class Input:
    name: str  # the figure key's input part
    label: str
    fmt: str
    rate_hz: float | None = None
    stdin: bool = False
    quick: bool = False  # also measured by `--quick`


def inputs(profile: str) -> tuple[Input, ...]:
    if profile in ("fm", "fm-robust"):
        return (Input("iq-cu8", "I/Q cu8 1.2 MHz", "cu8", IQ_RATE_HZ, quick=True),
                Input("iq-cf32", "I/Q cf32 1.2 MHz", "cf32", IQ_RATE_HZ),
                Input("mpx-wav", "MPX WAV 228 kHz", "wav", quick=True),
                Input("stdin-cu8", "stdin cu8 (pipe)", "cu8", IQ_RATE_HZ, stdin=True,
                      quick=profile == "fm"))
    if profile == "ir":
        return (Input("ir-text", "pulse text .ir", "ir", quick=True),
                Input("ir-wav", "carrier WAV 96 kHz", "wav"))
    return (Input("wav", "WAV", "wav", quick=True),
            Input("stdin-wav", "stdin WAV (pipe)", "wav", stdin=True))


@dataclass
class Measured:
    profile: str
    input: Input
    capture: Capture
    bench: list[InProcessRun]
    cli: list[CliRun]


def measure(ctx: BenchContext, profile: str, inp: Input) -> Measured | None:
    """Decode one input ``repeats`` times each way (cached in ``ctx.cache`` for ``stages``);
    None for an input ``--quick`` leaves out."""
    key = ("speed", profile, inp.name)
    if key in ctx.cache:
        return ctx.cache[key]
    if ctx.quick and not inp.quick:
        return None
    w = world(ctx)
    cap = w.capture(profile, inp.fmt, inp.rate_hz)
    repeats = 2 if ctx.quick else 3
    bench = [] if inp.stdin else [run_in_process(w, cap) for _ in range(repeats)]
    # --quick starts a child (~2.5 s of CPU to start) for fm's cu8, from the file and the pipe.
    cli_repeats = repeats if not ctx.quick else int(profile == "fm" and inp.fmt == "cu8")
    cli = [run_cli(w, cap, stdin=inp.stdin) for _ in range(cli_repeats)]
    found = Measured(profile, inp, cap, bench, cli)
    ctx.cache[key] = found
    return found


def _gap_text(m: Measured) -> tuple[float | None, str]:
    """(decode / bench - 1, where the difference goes)."""
    if not m.bench or not m.cli:
        return None, "one way only"
    b_cpu = statistics.median(r.cpu_s for r in m.bench)
    c_cpu = statistics.median(r.seconds_of_cpu for r in m.cli)
    gap = c_cpu / b_cpu - 1
    if abs(gap) <= AGREE_WITHIN:
        return gap, "agree"
    return gap, where_it_goes(m, c_cpu - b_cpu)


def where_it_goes(m: Measured, diff_s: float) -> str:
    """The stages that differ most between the child's own split and the bench's (medians),
    e.g. ``decode +0.10 s CPU: other +0.06 s, subcarrier_demod +0.03 s``; without the child's
    stages, the first-use work a fresh process does."""
    cli = [r.stages for r in m.cli if r.stages]
    bench = [r.stages for r in m.bench if r.stages]
    head = f"decode {diff_s:+.2f} s CPU"
    if not cli or not bench:
        return (f"{head}: first use in a fresh process (lazy imports, tables built on first "
                f"call), not amortised by {m.capture.seconds:.1f} s of signal")
    names = {k for s in cli + bench for k in s} - {"startup"}
    diffs = {k: statistics.median(s.get(k, 0.0) for s in cli)
             - statistics.median(s.get(k, 0.0) for s in bench) for k in names}
    top = sorted(diffs.items(), key=lambda kv: -abs(kv[1]))[:3]
    parts = [f"{k}{' (events, JSON output)' if k == 'other' else ''} {v:+.2f} s"
             for k, v in top if abs(v) >= 0.005]
    return f"{head}: " + (", ".join(parts) if parts else "spread over every stage")


def run(ctx: BenchContext) -> Section:
    section = Section("speed", "Decoding speed (one core) and net payload rate")
    rows, rate_rows, skipped = [], [], []
    for profile in PROFILES:
        for inp in inputs(profile):
            m = measure(ctx, profile, inp)
            ctx.progress(f"speed {profile} {inp.name}")
            if m is None:
                skipped.append(f"{profile} {inp.label}")
                continue
            base = f"speed.{profile}.{inp.name}"
            net = m.capture.net_bits_per_second
            bench_x = [r.seconds_of_signal / r.cpu_s for r in m.bench if r.cpu_s > 0]
            cli_x = [r.seconds_of_signal / r.seconds_of_cpu for r in m.cli if r.seconds_of_cpu > 0]
            if bench_x:
                section.figures += [
                    figure(f"{base}.x_realtime", bench_x, "x",
                           f"{profile} {inp.label}: x real time (bench)", "higher"),
                    figure(f"{base}.bits_per_cpu_s", [x * net for x in bench_x], "bit/cpu-s",
                           f"{profile} {inp.label}: payload bits per CPU-second", "higher")]
            if cli_x:
                section.figures.append(figure(
                    f"{base}.decode_x_realtime", cli_x, "x",
                    f"{profile} {inp.label}: x real time (receiver decode)", "higher"))
                section.figures.append(figure(
                    f"{base}.decode_startup_cpu_s", [r.startup_cpu_s for r in m.cli], "s",
                    f"{profile} {inp.label}: receiver decode start-up CPU", "lower"))
            gap, why = _gap_text(m)
            runs = m.cli or []
            frames = (f"{runs[0].frames_ok}/{runs[0].frames_bad}" if runs else
                      f"{m.bench[0].frames_ok}/-")
            fig_b = figure("b", bench_x, "x", "") if bench_x else None
            fig_c = figure("c", cli_x, "x", "") if cli_x else None
            rows.append([profile, inp.label, round(m.capture.seconds, 1),
                         _with_spread(fig_b), _with_spread(fig_c),
                         None if gap is None else f"{gap:+.0%}",
                         fmt_num(fig_b.value * net / 1e3) if fig_b else
                         fmt_num(fig_c.value * net / 1e3) if fig_c else None,
                         fmt_num(min(r.startup_cpu_s for r in runs)) if runs else None,
                         frames, why])
        cap = measure(ctx, profile, inputs(profile)[0]).capture
        table_net = net_rate_bps(profile)
        section.figures.append(figure(f"speed.{profile}.net_rate_bps", [table_net], "bit/s",
                                      f"{profile}: net payload rate (profile table)"))
        rate_rows.append([profile, fmt_num(table_net), fmt_num(cap.net_bits_per_second)])
    section.tables.append(Table(
        "Decoding speed, x real time on one core (median of the repeats, ± relative spread)",
        ["profile", "input", "signal s", "bench x RT", "receiver decode x RT", "gap",
         "payload kbit/CPU-s", "decode start-up CPU s", "frames ok/bad", "bench vs decode"],
        rows,
        note=("bench: source, pipeline and merge in this process; receiver decode: the child's "
              "own summary (seconds_of_signal / seconds_of_cpu), which leaves out its start-up "
              "(shown apart). Agreement means a gap within "
              f"{AGREE_WITHIN:.0%}. A pipe is decoded by the child only.")))
    if skipped:
        section.notes.append("--quick leaves out: " + ", ".join(skipped))
    section.tables.append(Table(
        "Net payload rate", ["profile", "profile table bit/s", "this carousel bit/s"], rate_rows,
        note=("this carousel: bundle bits per second of air as rendered, the list beside its "
              "heartbeat, key set and announcement, which share the air")))
    return section


def _with_spread(fig) -> str | None:
    if fig is None:
        return None
    if fig.rel_spread is None:
        return fmt_num(fig.value)
    return f"{fmt_num(fig.value)} ±{fig.rel_spread:.0%}"
