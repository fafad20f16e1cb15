"""Handing one channel's frames to its output, so that a failing output stalls nothing else.

``Writer(name, opener, ...)`` owns an output (``center.air.outputs``). ``put(block, air_s,
seconds)`` queues one rendered frame; with ``threaded=True`` a thread of its own writes the
queue (a blocking write, a hung device or a slow reader stops only that thread), otherwise
``put`` writes at once (the simulated clock, where nothing blocks).

A write or an open that fails is reported (``{"event": "output_error", "channel", "error",
"retry_in_s"}``), the output is aborted (part files removed), the queued frames are dropped,
and the output is opened again after a backoff of 0.5 s doubling to ``MAX_RETRY_S``; when it
opens, ``{"event": "output_restored", ...}`` is reported and ``take_restart()`` tells the
channel to start its carousel afresh (a new lead-in: a receiver lost lock in the gap). A
reader that closed standard output ends the output for good (state ``stopped``).

States (``state``): ``on_air``, ``retrying`` (not open: failed, or waiting for a FIFO's
reader), ``stopped``.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from center.air.outputs import OutputClosedError

MAX_RETRY_S = 10.0
FIRST_RETRY_S = 0.5


@dataclass(frozen=True)
class _Item:
    block: Any  # center.air.live.LiveBlock (or a tail with the same fields)
    air_s: float
    seconds: float


_END = _Item(None, 0.0, 0.0)


class Writer:
    """One channel's output and the queue in front of it."""

    def __init__(self, name: str, opener: Callable[[Callable[[], bool]], Any], first: Any, *,
                 threaded: bool, clock, log: Callable[[dict], None]) -> None:
        """``opener(stopping) -> output``; ``first``: the output opened already, or None."""
        self.name, self.threaded, self.clock, self.log = name, threaded, clock, log
        self._opener = opener
        self._out = first
        self._lock = threading.Condition()
        self._queue: deque[_Item] = deque()
        self._queued_s = 0.0
        self._ending = False
        self._restart = False
        self._failures = 0
        self._failed_at: float | None = None
        self._retry_at = clock.now()
        self._empty_since: float | None = None
        self.state = "on_air" if first is not None else "retrying"
        self.last_error: str | None = None if first is not None else "waiting for the output to open"
        self.written_s = 0.0
        self._writing_since: float | None = None
        self._thread: threading.Thread | None = None
        if threaded:
            self._thread = threading.Thread(target=self._run, name=f"output-{name}", daemon=True)
            self._thread.start()

    def __repr__(self) -> str:
        return f"Writer({self.name!r}, state={self.state!r}, queued_s={self._queued_s:.3f})"

    # -- the channel's side ------------------------------------------------------------------

    @property
    def retry_at(self) -> float:
        return self._retry_at

    @property
    def queued_s(self) -> float:
        return self._queued_s

    def behind_s(self, now: float) -> float:
        """How long the output has been waiting for frames (0 while any are queued)."""
        with self._lock:
            if self.state != "on_air" or self._queue or self._empty_since is None:
                return 0.0
            return max(0.0, now - self._empty_since)

    def take_restart(self) -> bool:
        with self._lock:
            restart, self._restart = self._restart, False
            return restart

    def put(self, block, air_s: float, seconds: float) -> None:
        item = _Item(block, air_s, seconds)
        if not self.threaded:
            self._write(item)
            return
        with self._lock:
            self._queue.append(item)
            self._queued_s += seconds
            self._lock.notify()

    def poll(self, now: float) -> None:
        """Inline writers: open the output again when its retry is due."""
        if not self.threaded and self._out is None and self.state == "retrying" and now >= self._retry_at:
            self._open()

    def finish(self, tail=None) -> None:
        """Write what is queued (and ``tail``), then close the output."""
        if tail is not None and self.state == "on_air":
            self.put(tail, self.clock.now(), 0.0)
        if not self.threaded:
            self._close()
            return
        with self._lock:
            self._ending = True
            self._queue.append(_END)
            self._lock.notify()

    def join(self, grace_s: float) -> bool:
        """Wait for a threaded writer to write what it holds and close; False when one write
        has been blocked for ``grace_s`` (a hung device, a reader that stopped reading)."""
        if self._thread is None:
            return True
        while self._thread.is_alive():
            self._thread.join(0.05)
            since = self._writing_since
            if since is not None and time.monotonic() - since > grace_s:
                return False
        return True

    # -- the writing side --------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            if self._out is None:
                with self._lock:
                    if self._ending:
                        break
                    wait = self._retry_at - self.clock.now()
                    if wait > 0:
                        self._lock.wait(min(wait, 0.1))
                        continue
                if not self._open():
                    continue
            with self._lock:
                while not self._queue:
                    if self._empty_since is None:
                        self._empty_since = self.clock.now()
                    self._lock.wait(0.1)
                item = self._queue.popleft()
                self._queued_s = max(0.0, self._queued_s - item.seconds)
                self._empty_since = None
            if item is _END:
                self._close()
                return
            self._write(item)
            if self.state == "stopped":
                return

    def _open(self) -> bool:
        try:
            self._out = self._opener(lambda: self._ending)
        except Exception as exc:  # noqa: BLE001 - any failure of one output is reported, retried
            self._failed(exc, opening=True)
            return False
        if self._failed_at is not None:
            self.log({"event": "output_restored", "channel": self.name,
                      "after_s": round(self.clock.now() - self._failed_at, 3)})
        with self._lock:
            self._restart = self._failed_at is not None or self._restart
            self._failed_at, self._failures = None, 0
            self.state, self.last_error = "on_air", None
        return True

    def _write(self, item: _Item) -> None:
        if self._out is None:
            return  # inline, output down: the channel renders nothing meanwhile
        try:
            self._writing_since = time.monotonic()
            self._out.write(item.block, item.air_s)
            self.written_s += item.seconds
        except OutputClosedError as exc:
            self.state, self.last_error = "stopped", str(exc)
            self.log({"event": "output_closed", "channel": self.name, "error": str(exc)})
            self._out = None
        except Exception as exc:  # noqa: BLE001 - a failing output never takes the others down
            out, self._out = self._out, None
            try:
                out.abort()
            except Exception:  # noqa: BLE001 - already failing; the first error is the one told
                pass
            self._failed(exc, opening=False)
        finally:
            self._writing_since = None

    def _failed(self, exc: Exception, opening: bool) -> None:
        now = self.clock.now()
        self._failures += 1
        backoff = min(MAX_RETRY_S, FIRST_RETRY_S * 2 ** (self._failures - 1))
        with self._lock:
            self._queue = deque(i for i in self._queue if i is _END)
            self._queued_s = 0.0
            self._retry_at = now + backoff
            if self._failed_at is None:
                self._failed_at = now
            self.state = "retrying"
            self.last_error = f"{'opening' if opening else 'writing'}: {type(exc).__name__}: {exc}"
        self.log({"event": "output_error", "channel": self.name, "error": self.last_error,
                  "retry_in_s": backoff})

    def _close(self) -> None:
        out, self._out = self._out, None
        if out is None:
            return
        try:
            out.close()
        except Exception as exc:  # noqa: BLE001 - reported; the serve is stopping anyway
            self.log({"event": "output_error", "channel": self.name,
                      "error": f"closing: {type(exc).__name__}: {exc}", "retry_in_s": None})
