"""``hotcast bench``: decoding speed, time per stage, memory, acquisition, time to protection,
link quality and peers, in one report.

Sections run in order (``hotcast.bench.runner.SECTIONS``); ``--only`` picks some, ``--quick``
makes the whole run take under a minute on a 2-core machine (shorter captures, fewer repeats,
no pytest-benchmark suite). Output: a text report on stdout, or with ``--json`` one JSON
document and nothing else on stdout; ``--out DIR`` also writes results.json, report.md and a
self-contained report.html with the plots. ``--compare OLD.json`` adds what got better or worse
beyond the noise (``hotcast.bench.compare``). A progress line on a terminal (stderr), none in a
pipe. Exit 0 when every section ran (a missing one is reported, not an error), 1 when one
failed (its error is in the report), 2 on bad usage.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shlex
import shutil
import tempfile
import time
from pathlib import Path

from hotcast.bench import compare as cmp
from hotcast.bench import report
from hotcast.bench.machine import git_state, load_average, machine, versions
from hotcast.bench.model import BenchContext
from hotcast.bench.progress import Progress
from hotcast.bench.runner import NOT_QUICK, SECTIONS, load_section, parse_only, run_sections
from hotcast.runner import InputError

# The section loader (tests replace it with fakes).
LOADER = load_section


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true",
                        help="the whole run in under a minute: short captures, 2 repeats, "
                             "no pytest-benchmark suite")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON document (and nothing else) on stdout")
    parser.add_argument("--out", metavar="DIR",
                        help="write results.json, report.md, report.html and the plots here")
    parser.add_argument("--compare", metavar="OLD.json",
                        help="say what got better or worse than this earlier results.json")
    parser.add_argument("--only", metavar="SECTION[,..]",
                        help=f"run only these sections ({', '.join(SECTIONS)})")
    parser.add_argument("--suite", action="store_true",
                        help="run only the pytest-benchmark suite in bench/ and list its "
                             "figures (the same as --only suite)")
    parser.add_argument("-k", dest="select", metavar="EXPR",
                        help="suite: only benchmarks matching this pytest -k expression")
    parser.add_argument("--seed", type=int, default=1, help="seed of every random choice")


def _load_old(path: str) -> dict:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"--compare {path}: cannot read it ({exc.strerror or exc})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"--compare {path}: not JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("schema") != report.SCHEMA:
        raise InputError(f"--compare {path}: not a hotcast bench result (no \"schema\": "
                         f"\"{report.SCHEMA}\")")
    return doc


def _out_dir(path: str) -> Path:
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {path} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    return out


def _command_line(args: argparse.Namespace) -> str:
    """The options as they would be typed (for the report: how to make these figures again)."""
    words = ["hotcast", "bench"]
    for flag in ("quick", "suite"):
        if getattr(args, flag):
            words.append(f"--{flag}")
    for flag, value in (("--only", args.only), ("-k", args.select), ("--out", args.out),
                        ("--compare", args.compare)):
        if value is not None:
            words += [flag, value]
    if args.seed != 1:
        words += ["--seed", str(args.seed)]
    if args.json:
        words.append("--json")
    return shlex.join(words)


def run(args: argparse.Namespace, ctx) -> int:
    try:
        wanted = parse_only("suite" if args.suite else args.only)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    if args.suite and args.only:
        raise InputError("give --suite or --only, not both")
    if args.quick and args.only is None and not args.suite:
        wanted = [n for n in wanted if n not in NOT_QUICK]
    old = _load_old(args.compare) if args.compare else None
    out = _out_dir(args.out) if args.out else None
    scratch = Path(tempfile.mkdtemp(prefix="hotcast-bench-"))
    t0 = time.perf_counter()
    load_start = load_average()
    git = git_state()  # at the start: the code that runs
    bar = Progress(len(wanted), ctx.err)
    bench_ctx = BenchContext(quick=args.quick, out_dir=out or scratch / "plots",
                             progress=bar.step, seed=args.seed, work_dir=scratch,
                             options={"select": args.select})
    bench_ctx.out_dir.mkdir(parents=True, exist_ok=True)
    try:
        results = run_sections(SECTIONS, bench_ctx, wanted=wanted, loader=LOADER,
                               on_start=bar.start_section)
    finally:
        bar.close()
        for extra in bench_ctx.cache.get("cleanup", []):
            shutil.rmtree(extra, ignore_errors=True)
    meta = {"date": dt.datetime.fromtimestamp(ctx.now(), dt.timezone.utc).isoformat(),
            "command": _command_line(args),
            "options": {"quick": args.quick, "only": wanted, "seed": args.seed,
                        "select": args.select},
            "duration_s": round(time.perf_counter() - t0, 1),
            "machine": {**machine(), "load_start": load_start, "load_end": load_average()},
            "versions": versions(), "git": git}
    doc = report.document(results, bench_ctx.out_dir, meta=meta)
    lines = []
    if old is not None:
        found = cmp.compare(old, doc)
        doc["compare"] = {"with": args.compare, **cmp.to_json(found)}
        lines = cmp.describe(found, args.compare)
    if out is not None:
        report.write(doc, out)
    shutil.rmtree(scratch, ignore_errors=True)
    if args.json:
        ctx.out.write_text(report.dumps(doc))
    else:
        ctx.out.write_text(report.text(doc, plots=out is not None) + ("\n" + "\n".join(lines) + "\n" if lines else "")
                           + (f"\nreport: {out / 'report.html'}\n" if out else ""))
    return 1 if any(r.status == "failed" for r in results) else 0
