"""Where the decoding CPU goes, per profile: the stages of ``receiver.radio.stages`` (FM
demodulation, subcarrier demodulation, frame sync, inner decoding, erasure decoding, signature
check and decryption, store merge, input conversion, and ``other``: input checks and events),
so the bottleneck is visible.

The split is measured in this process on the speed section's captures and repeats (one input
per profile: I/Q cu8 for the FM profiles, WAV for audio, pulse text for ir) from
``ReceivePipeline.stage_seconds``, the store's ``seconds_verifying`` and the time around the
source and the merge; ``receiver decode``'s own ``stages`` (with its start-up) are shown beside
it where the child ran. Figures: CPU milliseconds per second of signal per stage (lower is
better; a stage under ``MIN_SHARE`` of the decode is descriptive only). Plot: one stacked bar
per profile.
"""

from __future__ import annotations

import statistics

from hotcast.bench.model import BenchContext, Section, Table
from hotcast.bench.speed import PROFILES, inputs, measure
from hotcast.bench.stats import figure

STAGES = ("input_read", "fm_demod", "subcarrier_demod", "frame_sync", "inner_decode",
          "erasure_decode", "verify_decrypt", "store_merge", "other")
MIN_SHARE = 0.10
COLOURS = ("#999999", "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
           "#e377c2", "#17becf")


def split(runs: list[dict], signal_s: list[float]) -> dict[str, list[float]]:
    """stage -> CPU ms per second of signal, one value per run (``runs``: stage -> seconds)."""
    out: dict[str, list[float]] = {}
    names = list(STAGES) + sorted({k for r in runs for k in r} - set(STAGES) - {"startup"})
    for name in names:
        values = [1e3 * r.get(name, 0.0) / s for r, s in zip(runs, signal_s) if s > 0]
        if any(v > 0 for v in values):
            out[name] = values
    return out


def run(ctx: BenchContext) -> Section:
    section = Section("stages", "Time per stage")
    bars: dict[str, dict[str, float]] = {}
    rows, cli_rows = [], []
    for profile in PROFILES:
        inp = inputs(profile)[0]
        m = measure(ctx, profile, inp)
        ctx.progress(f"stages {profile}")
        if not m.bench or not any(r.stages for r in m.bench):
            section.notes.append(f"{profile}: no stage split (this build's pipeline has no "
                                 "stage_seconds)")
            continue
        per = split([r.stages for r in m.bench], [r.seconds_of_signal for r in m.bench])
        total = sum(statistics.median(v) for v in per.values())
        bars[profile] = {k: statistics.median(v) for k, v in per.items()}
        for name, values in per.items():
            # A stage under MIN_SHARE of the decode is shown but not judged by --compare: its
            # few tenths of a ms per second swing by half from run to run.
            share = statistics.median(values) / total if total else 0.0
            section.figures.append(figure(f"stages.{profile}.{inp.name}.{name}.cpu_ms_per_s",
                                          values, "ms/s", f"{profile}: {name} CPU per second "
                                          "of signal", "lower" if share >= MIN_SHARE else None))
        rows.append([profile, inp.label] + [
            f"{bars[profile][s]:.1f} ({bars[profile][s] / total:.0%})" if s in bars[profile]
            else "-" for s in STAGES] + [f"{total:.1f}"])
        if m.cli and m.cli[0].stages:
            st = m.cli[0].stages
            cpu = m.cli[0].seconds_of_cpu
            cli_rows.append([profile, inp.label, f"{st.get('startup', 0):.2f}"] + [
                f"{100 * st[k] / cpu:.0f}%" if k in st and cpu > 0 else "-" for k in STAGES])
    section.tables.append(Table(
        "CPU per stage: ms per second of signal (share of the decode), in this process",
        ["profile", "input"] + list(STAGES) + ["total ms/s"], rows,
        note="median of the speed section's repeats; 1000 ms/s would be exactly real time"))
    if cli_rows:
        section.tables.append(Table(
            "receiver decode's own split (its summary's stages): start-up CPU s, then shares "
            "of seconds_of_cpu", ["profile", "input", "startup s"] + list(STAGES),
            cli_rows))
    if bars:
        section.plots.append(_plot(bars, ctx))
    return section


def _plot(bars: dict[str, dict[str, float]], ctx: BenchContext):
    from hotcast.plots import plt  # matplotlib with the Agg backend

    names = [s for s in STAGES if any(s in b for b in bars.values())]
    names += sorted({k for b in bars.values() for k in b} - set(names))
    fig, ax = plt.subplots(figsize=(9, 0.6 * len(bars) + 1.8), dpi=100)
    profiles = list(bars)
    left = [0.0] * len(profiles)
    for i, name in enumerate(names):
        widths = [bars[p].get(name, 0.0) for p in profiles]
        ax.barh(profiles, widths, left=left, color=COLOURS[i % len(COLOURS)], label=name)
        left = [a + b for a, b in zip(left, widths)]
    ax.invert_yaxis()
    ax.set_xlabel("CPU ms per second of signal (one core)")
    ax.set_title("hotcast decode: CPU per stage")
    ax.legend(fontsize=8, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.25))
    fig.tight_layout()
    path = ctx.out_dir / "stages.png"
    fig.savefig(path)
    plt.close(fig)
    return path
