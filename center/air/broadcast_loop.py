"""The I/O loop of ``hotcast center broadcast`` around a ``LiveCarousel``.

Each turn: every ``poll_s`` seconds of wall time, read the newest bundle seq (one indexed
SQLite read) and, when it moved, the registry's carousel (``LiveCarousel.update``), else only
drop expired bundles (``expire``); then one frame (``FRAMES_PER_BLOCK``) of samples goes to the
sink and the carousel changes that reached the air in it are printed as JSON lines, with
``latency_s`` = wall time when the frame was handed to the output minus the bundle's
``created_at`` (whole seconds, so up to 1 s too high).

Pacing: the sink's blocking write is the clock. A pipe blocks while its reader is behind, a
sound card while its buffer is full; a regular file takes samples as fast as they are made.
SIGINT / SIGTERM stop cleanly: the frame in progress is finished (unless the signal came while
a write was blocked: then the write is abandoned), the pulse tails follow, a file is closed
with its metadata, and a ``summary`` line ends the output. This module and the CLI modules are
the only center code that reads the clock.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable

import numpy as np

from crypto import BundleKind
from center.registry.home import CenterHome
from center.air.live import LiveBlock, LiveCarousel
from center.air.render import file_fields
from center.air.sinks import FileSink, SoundCardSink

FRAMES_PER_BLOCK = 1  # poll between frames: 7 800 bits = 0.21 s of signal on "fm"
# A fresh signed heartbeat goes on air this often (TUF's timestamp role; issue 10 makes it a
# setting of the plan): a terminal that hears none for its max age says it is stale.
HEARTBEAT_INTERVAL_S = 60


class _Interrupted(Exception):
    """Raised by the signal handler to leave a blocked write."""


class BroadcastLoop:
    """The I/O around a ``LiveCarousel``: registry polls, the sink, signals, JSON lines."""

    def __init__(self, home: CenterHome, live: LiveCarousel, sink: FileSink | SoundCardSink, *,
                 poll_s: float, total_samples: int | None,
                 emit: Callable[[dict], None], clock: Callable[[], int]) -> None:
        self.home, self.live, self.sink = home, live, sink
        self.clock = clock
        self.poll_s, self.total, self.emit = poll_s, total_samples, emit
        self._seq: int | None = None
        self._items: list = []
        self._extras: list = []
        self._beat_at = 0
        self._idle = False
        self._state = {"stop": False, "in_write": False}

    def __repr__(self) -> str:
        return f"BroadcastLoop({self.live!r}, {self.sink!r}, poll_s={self.poll_s})"

    def run(self) -> int:
        """Broadcast until the duration is done, a signal comes or the output closes;
        -> exit status (0, or 1 when the reader of the output went away)."""
        old = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        stopped, status = "duration", 0
        try:
            self._poll(force=True)
            next_poll = time.monotonic() + self.poll_s
            while self.total is None or self.sink.samples < self.total:
                if self._state["stop"]:
                    stopped = "signal"
                    self._write(self.live.flush())
                    break
                if time.monotonic() >= next_poll:
                    next_poll = time.monotonic() + self.poll_s
                    self._poll()
                block = self.live.process(FRAMES_PER_BLOCK)
                t0 = time.time()
                self._report(block, t0)
                self._write(block.samples)
        except _Interrupted:
            stopped = "signal"
        except BrokenPipeError:
            stopped, status = "output_closed", 1
        finally:
            for s, handler in old.items():
                signal.signal(s, handler)
        self._finish(stopped)
        return status

    def _on_signal(self, signum: int, frame: object) -> None:
        self._state["stop"] = True
        if self._state["in_write"]:
            raise _Interrupted

    def _write(self, samples: np.ndarray) -> None:
        if self.total is not None:
            samples = samples[:self.total - self.sink.samples]
        self._state["in_write"] = True
        try:
            self.sink.write(samples)
        finally:
            self._state["in_write"] = False

    def _poll(self, force: bool = False) -> None:
        now = self.clock()
        change = self.home.latest_change()
        beat_due = now - self._beat_at >= HEARTBEAT_INTERVAL_S
        if force or change != self._seq:
            self._seq = change
            self._items = self.home.carousel(now)
            self._extras = self.home.air_extras(self._items, now)
            self._beat_at = now
        elif beat_due and self._items:
            self._extras = [e for e in self._extras if e.kind is not BundleKind.HEARTBEAT]
            self._extras += self.home.air_extras(self._items, now, announce=False)
            self._beat_at = now
        else:
            self.live.expire(now)
            return
        self.live.update(self._items + self._extras, now)

    def _report(self, block: LiveBlock, t_write: float) -> None:
        for event in block.events:
            line = event.to_json()
            if event.event == "on_air":
                offset = event.at_s - self.live.frame_start_s(block.first_frame)
                line["latency_s"] = round(t_write + offset - event.created_at, 3)
            self.emit(line)
        idle = block.idle == block.frames
        if idle and not self._idle:
            self.emit({"event": "idle", "at_frame": block.first_frame,
                       "why": "nothing to broadcast: no bundle built, or all expired"})
        self._idle = idle

    def _finish(self, stopped: str) -> None:
        rate = self.live.output_rate_hz
        seconds = self.sink.samples / rate
        stats = self.live.stats
        if isinstance(self.sink, FileSink) and stopped != "output_closed":
            self.sink.close({**file_fields(self.live, self.sink.iq), "seconds": seconds,
                             "live": True, "bits_on_air": stats.bits_on_air})
        elif isinstance(self.sink, SoundCardSink):
            self.sink.close()
        summary = {"event": "summary", "frames": stats.frames, "idle_frames": stats.idle_frames,
                   "changes": stats.changes, "seconds_of_signal": round(seconds, 6),
                   "on_air": [{"kind": kind.name.lower(), "seq": seq}
                              for seq, kind in self.live.on_air()], "stopped": stopped}
        if isinstance(self.sink, SoundCardSink):
            summary["underflows"] = self.sink.underflows
        self.emit(summary)
