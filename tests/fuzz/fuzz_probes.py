"""What the fuzz engine watches while a target runs: CPU time, coverage, where it failed.

``CpuAlarm`` arms ITIMER_VIRTUAL (process CPU time; SIGVTALRM, so it never meets
pytest-timeout's SIGALRM) and raises ``CpuTimeout``, a ``BaseException`` that the fuzzed
code's ``except Exception`` cannot swallow. ``Coverage`` traces lines with ``sys.settrace``
in the project's own folders only and counts (previous line, line) edges, as AFL does.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import traceback
from pathlib import Path

PROJECT_DIRS = ("crypto", "framing", "modem", "center", "receiver")
ROOT = Path(__file__).resolve().parents[2]


class CpuTimeout(BaseException):
    """Raised by the SIGVTALRM handler in the fuzzed code: not catchable as an Exception."""


def _on_cpu_alarm(signum, frame):
    raise CpuTimeout


class CpuAlarm:
    """Arms ITIMER_VIRTUAL (process CPU time) for ``seconds``; a no-op outside the main thread."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._armed = threading.current_thread() is threading.main_thread()

    def __enter__(self) -> CpuAlarm:
        if self._armed:
            self._old = signal.signal(signal.SIGVTALRM, _on_cpu_alarm)
            signal.setitimer(signal.ITIMER_VIRTUAL, self.seconds)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._armed:
            signal.setitimer(signal.ITIMER_VIRTUAL, 0)
            signal.signal(signal.SIGVTALRM, self._old)


class Coverage:
    """Edges (previous line, line) executed in the project's folders, via ``sys.settrace``."""

    def __init__(self) -> None:
        self.edges: set[tuple] = set()
        self._keep: dict[str, bool] = {}
        self._prefixes = tuple(str(ROOT / d) + os.sep for d in PROJECT_DIRS)
        self._prev: tuple = ()
        self.new = 0

    def _global(self, frame, event, arg):
        name = frame.f_code.co_filename
        keep = self._keep.get(name)
        if keep is None:
            keep = self._keep[name] = name.startswith(self._prefixes)
        return self._local if keep else None

    def _local(self, frame, event, arg):
        if event == "line":
            here = (id(frame.f_code), frame.f_lineno)
            edge = (self._prev, here)
            if edge not in self.edges:
                self.edges.add(edge)
                self.new += 1
            self._prev = here
        return self._local

    def __enter__(self) -> Coverage:
        self.new = 0
        self._prev = ()
        sys.settrace(self._global)
        return self

    def __exit__(self, *exc: object) -> None:
        sys.settrace(None)


def where_raised(tb) -> str:
    """Innermost frame of the traceback inside the project (else the innermost of all)."""
    frames = traceback.extract_tb(tb)
    ours = [f for f in frames if any(f"{os.sep}{d}{os.sep}" in f.filename for d in PROJECT_DIRS)]
    pick = (ours or frames or [None])[-1]
    if pick is None:
        return ""
    try:
        name = str(Path(pick.filename).resolve().relative_to(ROOT))
    except ValueError:
        name = Path(pick.filename).name
    return f"{name}:{pick.lineno} {pick.name}"
