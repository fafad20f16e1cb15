"""Clocks of ``center serve``: the system's, or a simulated one that runs faster than real time.

``SystemClock`` reads ``time.time()`` and sleeps on an event (so ``stop()`` wakes it).
``SimClock`` holds a number that only ``sleep`` moves, and fires callbacks registered with
``at(t, fn)`` in time order as it passes them (each sees ``now() == t``): the time-to-protection
harness revokes cards from such callbacks while ``Serve.run`` drives the scheduler and the
channels on the same clock, and charges the wall time a revocation took (an HTTP report) with
``advance``.

Invariants: ``SimClock`` time never goes back; callbacks fire once, in (time, registration)
order, with the clock set to their time.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable


class SystemClock:
    """Unix seconds from the system clock; real sleeps."""

    simulated = False

    def __repr__(self) -> str:
        return "SystemClock()"

    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float, wake: threading.Event | None = None) -> None:
        """Sleep ``seconds`` or until ``wake`` is set."""
        if seconds <= 0:
            return
        if wake is None:
            time.sleep(seconds)
        else:
            wake.wait(seconds)


class OffsetClock(SystemClock):
    """The system's clock moved to start at ``start`` (``$HOTCAST_NOW``), running in real time."""

    def __init__(self, start: float) -> None:
        self._offset = start - time.time()

    def __repr__(self) -> str:
        return f"OffsetClock(offset={self._offset:.3f})"

    def now(self) -> float:
        return time.time() + self._offset


class SimClock:
    """Simulated unix seconds starting at ``start``; ``sleep`` advances them at once."""

    simulated = True

    def __init__(self, start: float) -> None:
        self._now = float(start)
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._order = 0

    def __repr__(self) -> str:
        return f"SimClock(now={self._now:.6f}, timers={len(self._timers)})"

    def now(self) -> float:
        return self._now

    def at(self, t: float, fn: Callable[[], None]) -> None:
        """Call ``fn()`` when the clock passes ``t`` (at once on the next sleep if ``t`` is past)."""
        heapq.heappush(self._timers, (float(t), self._order, fn))
        self._order += 1

    def advance(self, seconds: float) -> None:
        """Move the clock on by ``seconds`` at once, firing nothing (timers passed fire at the
        next ``sleep``, late): a callback charges the wall time its own work took."""
        self._now += max(0.0, seconds)

    def next_timer(self) -> float | None:
        return self._timers[0][0] if self._timers else None

    def sleep(self, seconds: float, wake: threading.Event | None = None) -> None:
        target = self._now + max(0.0, seconds)
        while self._timers and self._timers[0][0] <= target:
            t, _, fn = heapq.heappop(self._timers)
            self._now = max(self._now, t)
            fn()
        self._now = max(self._now, target)
