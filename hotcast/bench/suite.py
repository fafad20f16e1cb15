"""The pytest-benchmark suite in ``bench/``: per-function figures and the targets they assert.

Runs ``pytest bench/ --benchmark-only`` in a child (``-k`` from ``hotcast bench -k EXPR``),
reads its JSON and lists every benchmark: its mean time with the spread of its rounds, and the
headline figures it records in ``extra_info`` (× real time, bits per entry, ...). A benchmark
that misses its target fails in pytest; the section names the failures (and the command exits
1), as the suite always did. Left out by ``--quick`` unless named with ``--only suite``; needs a
source checkout (``bench/`` is not installed).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from hotcast.bench.model import BenchContext, Figure, Section, Table

BENCH_DIR = Path(__file__).resolve().parents[2] / "bench"


class SuiteFailed(RuntimeError):
    """Benchmarks of the suite failed (a missed target, or an error)."""


def command(out: Path, quick: bool, select: str | None, bench_dir: Path = BENCH_DIR) -> list[str]:
    cmd = [sys.executable, "-m", "pytest", str(bench_dir), "-q", "-p", "no:cacheprovider",
           "--benchmark-only", f"--benchmark-json={out}",
           "-m", "not slow" if quick else "slow or not slow"]
    if quick:
        cmd += ["--benchmark-min-rounds=1", "--benchmark-max-time=0.2"]
    if select:
        cmd += ["-k", select]
    return cmd


def figures_of(report: dict) -> tuple[list[Figure], list[list]]:
    figures, rows = [], []
    for b in report.get("benchmarks", []):
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", b["name"])
        stats = b["stats"]
        mean = stats["mean"]
        spread = stats["stddev"] / mean if mean and stats.get("rounds", 1) > 1 else None
        figures.append(Figure(f"suite.{name}.mean_s", mean, "s", f"{b['name']}: mean time",
                              "lower", spread, int(stats.get("rounds", 1))))
        extra = b.get("extra_info", {})
        for key, value in extra.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                figures.append(Figure(f"suite.{name}.{key}", float(value), "",
                                      f"{b['name']}: {key}"))
        rows.append([b["name"], f"{mean * 1e3:.3g}", None if spread is None else f"{spread:.0%}",
                     stats.get("rounds"), ", ".join(f"{k}={v:.4g}" if isinstance(v, float)
                                                    else f"{k}={v}" for k, v in extra.items())])
    return figures, rows


def run(ctx: BenchContext, bench_dir: Path = BENCH_DIR) -> Section:
    section = Section("suite", "pytest-benchmark suite (bench/)")
    if not bench_dir.is_dir():
        section.notes.append(f"no bench/ folder beside the package ({bench_dir}): the suite "
                             "runs from a source checkout")
        return section
    with tempfile.TemporaryDirectory(prefix="hotcast-suite-") as tmp:
        out = Path(tmp) / "bench.json"
        ctx.progress("suite: pytest bench/")
        done = subprocess.run(command(out, ctx.quick, ctx.options.get("select"), bench_dir),
                              capture_output=True, text=True)
        report = json.loads(out.read_text()) if out.exists() else {}
    section.figures, rows = figures_of(report)
    section.tables.append(Table("Benchmarks", ["benchmark", "mean ms", "spread", "rounds",
                                               "figures"], rows))
    if done.returncode != 0:
        failed = [line for line in done.stdout.splitlines() if line.startswith(("FAILED",
                                                                                 "ERROR"))]
        tail = failed or done.stdout.strip().splitlines()[-3:]
        exc = SuiteFailed(f"pytest exited {done.returncode}: " + "; ".join(tail))
        exc.section = section
        raise exc
    return section
