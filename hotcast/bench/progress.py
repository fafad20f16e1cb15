"""A progress line on a terminal (stderr), nothing in a pipe.

``Progress(total, stream)`` draws ``[####----] 3/8 speed: fm iq-cu8`` in place with ``\\r``
when ``stream.isatty()``; otherwise every call does nothing, so ``--json`` output in a pipe and
logs stay clean.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

WIDTH = 24


class Progress:
    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.stream = sys.stderr if stream is None else stream
        isatty = getattr(self.stream, "isatty", None)
        self.enabled = bool(isatty and isatty())
        self.total = max(1, total)
        self.done = 0
        self.section = ""
        self._t0 = time.monotonic()

    def __repr__(self) -> str:
        return f"Progress({self.done}/{self.total}, enabled={self.enabled})"

    def start_section(self, name: str) -> None:
        if self.section:
            self.done += 1
        self.section = name
        self.step("")

    def step(self, text: str) -> None:
        if not self.enabled:
            return
        filled = int(WIDTH * min(self.done, self.total) / self.total)
        line = (f"\r[{'#' * filled}{'-' * (WIDTH - filled)}] {self.done}/{self.total} "
                f"{self.section}{': ' + text if text else ''}  {time.monotonic() - self._t0:.0f}s")
        self.stream.write(line[:110].ljust(110))
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * 110 + "\r")
            self.stream.flush()
