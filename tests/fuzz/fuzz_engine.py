"""A small coverage-guided mutation fuzzer for hotcast's parsers, generic over the target.

Why not atheris or hypothesis: the harness must run inside the ordinary pytest run for a
bounded time, judge every input by three rules (typed error or success; a CPU-time bound; a
memory bound), count the known findings of other owners without stopping, and mutate valid
seeds along their structure (length and count fields set to 0, 2**32-1, 2**64-1 ...).
Hypothesis generates from strategies and cannot start from a sealed bundle; atheris runs
libFuzzer, which owns the process and ends it at the first crash. This engine is libFuzzer's
loop in ~300 lines of Python: pick an input from the pool (seeds plus inputs that reached new
code), mutate it, run it, keep it if it reached a new edge.

Rules for each input (``run_one``):
- the target returns, or raises one of ``Target.accept`` (the folder's typed errors);
  anything else is a finding, ``BaseException`` subclasses such as pyo3's ``PanicException``
  and ``RecursionError`` included (``KeyboardInterrupt`` still stops the run);
- at most ``time_bound_s`` of process CPU time; a hard cap (``HARD_CAP_FACTOR`` times that)
  interrupts a runaway loop with SIGVTALRM (CPU time, so it never meets pytest-timeout's
  SIGALRM);
- at most ``memory_bound_bytes``: the tracemalloc peak (Python objects and numpy buffers)
  above what was allocated before the input, and the growth of the process's peak RSS
  (native allocations, e.g. Rust's; only a new high-water mark shows there).

Coverage: ``sys.settrace`` on the project's own folders only (crypto, framing, modem, center,
receiver), edges are (previous line, line) pairs as in AFL. It costs a few times the speed of
pure-Python code and nothing inside numpy or C.

Everything is seeded: one seed gives one sequence of inputs (time budgets aside).
"""

from __future__ import annotations

import random
import resource
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field

import fuzz_mutate
from fuzz_probes import Coverage, CpuAlarm, CpuTimeout, where_raised

HARD_CAP_FACTOR = 5
HARD_CAP_MIN_S = 0.5
_POOL_MAX = 512  # inputs kept for reaching new edges, beyond the seeds
_MAX_DISTINCT_FAILURES = 10
# Reports of the fuzz runs of this process, for the figures printed at the end of a session.
REPORTS: list[FuzzReport] = []


@dataclass(frozen=True)
class Field:
    """An integer field of a seed's layout (a length, a count, an id) at a byte offset."""

    offset: int
    size: int  # 1, 2, 4 or 8 bytes
    order: str = "big"


@dataclass(frozen=True)
class Seed:
    """A valid input and the fields that structure-aware mutations may set."""

    data: bytes
    fields: tuple[Field, ...] = ()


@dataclass(frozen=True)
class Failure:
    target: str
    kind: str  # "exception" | "slow" | "memory"
    what: str  # one line: the exception, or the time or memory measured against its bound
    where: str  # innermost frame in our code (file:line function), "" if none
    data: bytes = field(repr=False)
    exception: str = ""  # type name of the exception, "" for slow / memory

    @property
    def signature(self) -> str:
        """What makes two failures the same bug: kind, exception type and where it was raised."""
        return f"{self.kind}:{self.exception}:{self.where}"


@dataclass(frozen=True)
class Known:
    """An open finding in code another engineer owns: matched failures are counted, not raised.

    ``name`` prefixes its reproducers in ``corpus/<target>/``; their replay tests are strict
    xfails with ``reason``, so the fix turns them into XPASS failures: then delete this entry.
    """

    name: str
    reason: str
    kind: str
    exception: str = ""  # exception type name to match ("" matches any, for slow / memory)
    where: str = ""  # substring of Failure.where to match

    def matches(self, failure: Failure) -> bool:
        return (failure.kind == self.kind
                and (not self.exception or failure.exception == self.exception)
                and self.where in failure.where)


@dataclass(frozen=True)
class Target:
    """One parser exposed to the air or to files, as the fuzzer sees it.

    ``run(data)`` is the adapter (the only code that knows the parser's API); ``seeds()`` the
    valid inputs to mutate; ``generate(rng)`` an optional grammar-aware input maker; ``fixup``
    re-seals a mutated input (a checksum, a signature) so mutations reach past the check.
    """

    name: str
    run: Callable[[bytes], object]
    seeds: Callable[[], list[Seed]]
    accept: tuple[type[BaseException], ...]
    generate: Callable[[random.Random], bytes] | None = None
    fixup: Callable[[bytes], bytes] | None = None
    tokens: tuple[bytes, ...] = ()
    max_input_bytes: int = 1 << 16
    time_bound_s: float = 1.0
    memory_bound_bytes: int = 64 << 20
    known: tuple[Known, ...] = ()
    skip: str = ""

    def known_for(self, failure: Failure) -> Known | None:
        return next((k for k in self.known if k.matches(failure)), None)


@dataclass
class FuzzReport:
    target: str
    execs: int = 0
    seconds: float = 0.0
    pool: int = 0
    edges: int = 0
    failures: list[Failure] = field(default_factory=list)
    known_hits: dict[str, int] = field(default_factory=dict)
    known_first: dict[str, Failure] = field(default_factory=dict)  # first input of each

    @property
    def execs_per_second(self) -> float:
        return self.execs / self.seconds if self.seconds else 0.0


def run_one(target: Target, data: bytes, coverage: Coverage | None = None) -> Failure | None:
    """Run ``target`` on one input and judge it by the three rules (module docstring).

    Coverage tracing slows pure-Python code several times, so an input found slow while
    traced is timed again untraced, and only that verdict counts.
    """
    failure = _run_one(target, data, coverage)
    if coverage is not None and failure is not None and failure.kind == "slow":
        return _run_one(target, data, None)
    return failure


def _hard_cap(target: Target) -> float:
    return max(target.time_bound_s * HARD_CAP_FACTOR, HARD_CAP_MIN_S)


def _run_one(target: Target, data: bytes, coverage: Coverage | None) -> Failure | None:
    tracing = tracemalloc.is_tracing()
    if not tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    start = time.process_time()
    failure = None
    try:
        with CpuAlarm(_hard_cap(target)):
            if coverage is not None:
                with coverage:
                    target.run(data)
            else:
                target.run(data)
    except target.accept:
        pass
    except CpuTimeout:
        failure = Failure(target.name, "slow", f"still running after the hard cap of "
                          f"{_hard_cap(target):g} s of CPU", "", data)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - the point: PanicException is a BaseException
        text = str(exc).splitlines()[0] if str(exc) else ""
        failure = Failure(target.name, "exception", f"{type(exc).__name__}: {text[:200]}",
                          where_raised(exc.__traceback__), data, type(exc).__name__)
    cpu = time.process_time() - start
    peak = tracemalloc.get_traced_memory()[1] - base
    rss_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - rss_before
    if not tracing:
        tracemalloc.stop()
    if failure is not None:
        return failure
    if cpu > target.time_bound_s:
        return Failure(target.name, "slow", f"took {cpu:.2f} s of CPU, bound {target.time_bound_s:g} s",
                       "", data)
    memory = max(peak, rss_growth)
    if memory > target.memory_bound_bytes:
        source = "tracemalloc peak" if peak >= rss_growth else "peak RSS growth"
        return Failure(target.name, "memory", f"{source} {memory / 2**20:.0f} MiB for a "
                       f"{len(data)}-byte input, bound {target.memory_bound_bytes / 2**20:.0f} MiB",
                       "", data)
    return None


def minimize(target: Target, failure: Failure, seconds: float = 2.0) -> Failure:
    """Shrink an exception's input while the same signature reproduces (delta debugging)."""
    if failure.kind != "exception":
        return failure
    best = failure
    deadline = time.monotonic() + seconds
    chunk = max(len(best.data) // 2, 1)
    while chunk >= 1 and time.monotonic() < deadline:
        pos, shrunk = 0, False
        while pos < len(best.data) and time.monotonic() < deadline:
            candidate = best.data[:pos] + best.data[pos + chunk:]
            again = run_one(target, candidate)
            if again is not None and again.signature == best.signature:
                best, shrunk = again, True
            else:
                pos += chunk
        if not shrunk:
            chunk //= 2
    return best


def fuzz(target: Target, seconds: float, seed: int = 0, use_coverage: bool = True,
         max_execs: int | None = None) -> FuzzReport:
    """Fuzz ``target`` for ``seconds`` of wall time (or ``max_execs`` inputs, whichever ends
    first); stops early after 10 distinct failures."""
    rng = random.Random(seed)
    report = FuzzReport(target.name)
    seeds = target.seeds()
    pool: list[Seed] = list(seeds)
    coverage = Coverage() if use_coverage else None
    signatures: set[str] = set()
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    began = time.monotonic()
    try:
        queue = [s.data for s in seeds]  # every seed runs once first
        while True:
            if queue:
                data, parent = queue.pop(0), None
            else:
                if time.monotonic() - began >= seconds or report.execs == max_execs:
                    break
                parent = rng.choice(pool)
                data = fuzz_mutate.next_input(rng, target, parent, pool)
            failure = run_one(target, data, coverage)
            report.execs += 1
            if failure is not None:
                known = target.known_for(failure)
                if known is not None:
                    report.known_hits[known.name] = report.known_hits.get(known.name, 0) + 1
                    report.known_first.setdefault(known.name, failure)
                elif failure.signature not in signatures:
                    signatures.add(failure.signature)
                    report.failures.append(failure)
                    if len(signatures) >= _MAX_DISTINCT_FAILURES:
                        break
            elif coverage is not None and coverage.new and parent is not None and len(pool) < len(seeds) + _POOL_MAX:
                pool.append(Seed(data, parent.fields))
    finally:
        if not was_tracing:
            tracemalloc.stop()
    report.seconds = time.monotonic() - began
    report.pool = len(pool)
    report.edges = len(coverage.edges) if coverage is not None else 0
    return report
