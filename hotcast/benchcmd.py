"""``hotcast bench``: run the pytest-benchmark suite in ``bench/`` and print one report.

Each benchmark records its headline figures (× real time, bits per entry against the bound,
IDs per second, …) in ``benchmark.extra_info``; this command runs the suite in a child pytest,
reads its JSON and prints a table (or, with ``--json``, one JSON line per benchmark).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parents[1] / "bench"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="skip slow benchmarks, fewer rounds")
    parser.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    parser.add_argument("-k", dest="select", help="only benchmarks matching this pytest -k expression")


def _format_info(info: dict) -> str:
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in info.items())


def run(args: argparse.Namespace, ctx) -> int:
    if not BENCH_DIR.is_dir():
        sys.stderr.write(f"hotcast bench: no bench/ folder beside the package ({BENCH_DIR}); "
                         "run from a source checkout\n")
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bench.json"
        cmd = [sys.executable, "-m", "pytest", str(BENCH_DIR), "-q", "-p", "no:cacheprovider",
               "--benchmark-only", f"--benchmark-json={out}",
               "-m", "not slow" if args.quick else "slow or not slow"]
        if args.quick:
            cmd += ["--benchmark-min-rounds=1", "--benchmark-max-time=0.2"]
        if args.select:
            cmd += ["-k", args.select]
        run = subprocess.run(cmd, stdout=sys.stderr if args.json else None)
        if not out.exists():
            sys.stderr.write("hotcast bench: the benchmark run produced no results\n")
            return 1
        report = json.loads(out.read_text())
    rows = [{"name": b["name"], "mean_s": b["stats"]["mean"], "min_s": b["stats"]["min"],
             "rounds": b["stats"]["rounds"], **b.get("extra_info", {})}
            for b in report["benchmarks"]]
    if args.json:
        for row in rows:
            print(json.dumps(row))
    else:
        width = max((len(r["name"]) for r in rows), default=10)
        print(f"\n{'benchmark':<{width}}  {'mean':>10}  figures")
        for row in rows:
            extra = {k: v for k, v in row.items() if k not in ("name", "mean_s", "min_s", "rounds")}
            print(f"{row['name']:<{width}}  {row['mean_s'] * 1e3:>8.2f}ms  {_format_info(extra)}")
    return 0 if run.returncode == 0 else 1
