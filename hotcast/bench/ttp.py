"""Time to protection: from a revocation to a terminal refusing the card, from the scheduler's
harness (``bench/ttp_harness.py``: the real ``Serve`` loop, modem, channel, receiver and store
on a simulated clock).

The harness lives in the source checkout's ``bench/`` folder, not in the package: it is loaded
from there when present; after a plain ``pip install`` the section says so and measures
nothing. ``measure_ttp(profile, n, source, quick)`` is used where the harness has it (revocations
from a shell and from an HTTP report), else ``run_ttp(TtpConfig(...))`` (from a shell).
Full run: every profile, ``N`` revocations; ``--quick``: fm only, ``QUICK_N``, shell only.
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
from pathlib import Path
from types import ModuleType

from hotcast.bench.model import BenchContext, Figure, Section, Table
from hotcast.bench.speed import PROFILES

HARNESS = Path(__file__).resolve().parents[2] / "bench" / "ttp_harness.py"
N = 20
QUICK_N = 4
TARGETS_P99_S = {"fm": 2.0, "audio": 5.0}  # issue 10 (the harness keeps its own copy)


def load_harness(path: Path = HARNESS) -> ModuleType | None:
    if not path.is_file():
        return None
    name = "hotcast_bench_ttp_harness"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def measure(harness: ModuleType, profile: str, n: int, source: str, quick: bool,
            seed: int) -> dict:
    if hasattr(harness, "measure_ttp"):
        return harness.measure_ttp(profile, n, source, quick, seed=seed)
    with tempfile.TemporaryDirectory(prefix="hotcast-ttp-") as tmp:
        return harness.run_ttp(harness.TtpConfig(profile, revocations=n, seed=seed),
                               Path(tmp)).figures()


def run(ctx: BenchContext, harness_path: Path = HARNESS) -> Section:
    section = Section("ttp", "Time to protection")
    harness = load_harness(harness_path)
    if harness is None:
        section.notes.append(f"no {harness_path.parent.name}/{harness_path.name} beside the "
                             "package (a plain pip install has no bench/ folder): time to "
                             "protection is measured from a source checkout")
        return section
    sources = ["shell"] + (["http"] if hasattr(harness, "measure_ttp") and not ctx.quick else [])
    if not hasattr(harness, "measure_ttp"):
        section.notes.append("this harness has no measure_ttp: revocations from a shell only")
    profiles = ("fm",) if ctx.quick else PROFILES
    n = QUICK_N if ctx.quick else N
    rows = []
    for profile in profiles:
        for source in sources:
            f = measure(harness, profile, n, source, ctx.quick, 10 + ctx.seed)
            ctx.progress(f"ttp {profile} {source}")
            for key in ("p50_s", "p90_s", "p99_s"):
                if f.get(key) is not None:
                    section.figures.append(Figure(
                        f"ttp.{profile}.{source}.{key}", float(f[key]), "s",
                        f"{profile} from {source}: time to protection {key[:-2]}", "lower",
                        None, int(f.get("n", n))))
            target = TARGETS_P99_S.get(profile)
            rows.append([profile, source, f.get("n"), f.get("missing"), f.get("p50_s"),
                         f.get("p90_s"), f.get("p99_s"), f.get("max_s"),
                         "-" if target is None else
                         f"{'yes' if (f.get('p99_s') or 1e9) <= target else 'NO'} (< {target:g})"])
    section.tables.append(Table(
        "Time to protection, seconds (simulated clock; builds charged at their wall time)",
        ["profile", "from", "revocations", "missing", "p50", "p90", "p99", "max",
         "p99 target (issue 10)"], rows,
        note=f"{n} revocations each" + ("; --quick: the harness's smaller list and denser "
                                         "revocations" if ctx.quick and hasattr(
                                             harness, "measure_ttp") else "")))
    return section
