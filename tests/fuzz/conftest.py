"""Options of the fuzz harness (tests/fuzz is in ``testpaths`` so that these load from the
repository root: ``pytest -m fuzz --fuzz-seconds=600``).

- ``--fuzz-seconds S``: seconds per target of the long run (tests marked ``fuzz``);
- ``--fuzz-fast-seconds S``: seconds per target of the bounded run in the default test run;
- ``--fuzz-seed N``: the random seed (the default run is always seed 0, so it is repeatable);
- ``--fuzz-target NAME``: only this target (repeatable);
- ``--fuzz-findings DIR``: where inputs of new failures are written (default: pytest's tmp);
- ``--fuzz-no-coverage``: plain mutation, no coverage guidance (faster, blinder).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fuzz_engine import REPORTS

# 22 targets x 0.5 s ~ 11 s of fuzzing in the default run (the whole of tests/fuzz stays under
# 30 s on one core); the long run (-m fuzz) is where fuzzing finds things.
FAST_SECONDS = 0.5


def pytest_addoption(parser):
    group = parser.getgroup("fuzz", "hotcast fuzz harness (tests/fuzz)")
    group.addoption("--fuzz-seconds", type=float, default=60.0,
                    help="seconds per target for the long run (-m fuzz); default 60")
    group.addoption("--fuzz-fast-seconds", type=float, default=FAST_SECONDS,
                    help=f"seconds per target in the default bounded run; default {FAST_SECONDS}")
    group.addoption("--fuzz-seed", type=int, default=0, help="random seed of the fuzzer; default 0")
    group.addoption("--fuzz-target", action="append", default=[], metavar="NAME",
                    help="fuzz only this target (repeatable)")
    group.addoption("--fuzz-findings", type=Path, default=None, metavar="DIR",
                    help="write inputs of new failures here (default: under pytest's tmp dir)")
    group.addoption("--fuzz-no-coverage", action="store_true",
                    help="mutate without coverage guidance")


@pytest.fixture(scope="session")
def fuzz_options(request, tmp_path_factory):
    config = request.config
    findings = config.getoption("--fuzz-findings") or tmp_path_factory.mktemp("fuzz-findings")
    return {
        "seconds": config.getoption("--fuzz-seconds"),
        "fast_seconds": config.getoption("--fuzz-fast-seconds"),
        "seed": config.getoption("--fuzz-seed"),
        "only": set(config.getoption("--fuzz-target")),
        "findings": Path(findings),
        "coverage": not config.getoption("--fuzz-no-coverage"),
    }


def pytest_terminal_summary(terminalreporter):
    """Figures of this session's fuzz runs: execs per second, pool and edges per target."""
    if not REPORTS:
        return
    terminalreporter.section("fuzz figures")
    terminalreporter.write_line(f"{'target':<20} {'seconds':>7} {'execs':>8} {'execs/s':>8} "
                                f"{'pool':>5} {'edges':>6}  known hits / new failures")
    for r in REPORTS:
        known = ", ".join(f"{k} x{n}" for k, n in sorted(r.known_hits.items())) or "-"
        terminalreporter.write_line(
            f"{r.target:<20} {r.seconds:7.1f} {r.execs:8d} {r.execs_per_second:8.0f} {r.pool:5d} "
            f"{r.edges:6d}  {known} / {len(r.failures)}")
