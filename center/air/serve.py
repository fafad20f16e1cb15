"""``Serve``: the scheduler and every channel of a plan, in one process, until stopped.

``Serve(plan, home_path, ...).run()`` opens every output (one that cannot open refuses the
start with the plan's file, line and field: nothing goes on air), then loops:

- the scheduler (``center.air.scheduler``) ticks every ``plan.serve.poll_s``: in a thread of
  its own with the system clock (a build or a registry lock never holds up the air), inline
  with a simulated clock, where the wall time a tick took is charged to the simulated clock
  before its AirSet reaches the channels (so a harness on a simulated clock still pays for
  building and sealing);
- each channel (``center.air.channel``) renders ahead of its air clock into its writer
  (``center.air.writer``: a thread per output, so one failing or slow output stalls no other);
- ``<home>/serve/status.json`` is rewritten every ``plan.serve.status_every_s``
  (``center.air.status``), and JSON lines go to ``log`` (stderr in the CLI).

``stop()`` (SIGTERM, Ctrl-C; safe from a signal handler or another thread) ends it at a frame
boundary: no new frame is rendered, the queued frames and the pulse tails go out, files are
closed with their metadata, the status says ``stopped``. One ``serve`` runs per home (a lock in
``<home>/serve``); a second is refused.

The clock is injectable (``center.air.clock``): the time-to-protection harness runs this very
loop on a ``SimClock`` faster than real time. ``run()`` and ``stop()`` are the whole surface;
an HTTP service can run beside it in the same process (it reads the registry and the status).
"""

from __future__ import annotations

import fcntl
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from center.air.channel import Channel
from center.air.clock import SystemClock
from center.air.outputs import open_output
from center.air.plan import Plan
from center.air.scheduler import AirSet, Scheduler
from center.air.status import LOCK_NAME, serve_dir, status_path, write_status
from center.air.writer import Writer
from center.errors import CenterInputError

LOOP_S = 0.02  # the real-time loop wakes this often to render and hand over frames
STOP_GRACE_S = 2.0  # at stop, a write blocked this long is abandoned


class ServeRunningError(CenterInputError):
    """Another ``center serve`` already runs on this home."""


class _Mailbox:
    """The newest AirSet from the scheduler thread (each supersedes the one before)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._item: AirSet | None = None

    def put(self, item: AirSet) -> None:
        with self._lock:
            self._item = item

    def take(self) -> AirSet | None:
        with self._lock:
            item, self._item = self._item, None
            return item


class Serve:
    """The serve loop: scheduler, channels, status. ``run()`` / ``stop()``."""

    def __init__(self, plan: Plan, home_path: Path, *, passphrase: Callable[[], str], by: str,
                 clock: Any = None, log: Callable[[dict], None] | None = None,
                 openers: dict[str, Callable] | None = None,
                 stream_factory: Callable | None = None, stdout: BinaryIO | None = None) -> None:
        """``openers``: channel name -> ``opener(stopping) -> output`` replacing the plan's
        output (paced by the clock); ``stream_factory``: the sound card's (tests); ``stdout``:
        the binary stream ``"-"`` writes to."""
        self.plan, self.home_path, self.by = plan, Path(home_path), by
        self.clock = SystemClock() if clock is None else clock
        self.threaded = not getattr(self.clock, "simulated", False)
        self._log_lock = threading.Lock()
        self._log = log if log is not None else _stderr_lines
        self._openers = dict(openers or {})
        self._stream_factory, self._stdout = stream_factory, stdout
        self._stop = threading.Event()
        self._why = "signal"
        self.scheduler = Scheduler(self.home_path, plan, passphrase=passphrase, by=by,
                                   log=self.log)
        self.channels: list[Channel] = []
        self.started_at = 0.0
        self._mailbox = _Mailbox()
        self._fatal: str | None = None

    def __repr__(self) -> str:
        return f"Serve({self.plan.path!r}, {str(self.home_path)!r}, clock={self.clock!r})"

    def log(self, line: dict) -> None:
        with self._log_lock:
            self._log({"t": round(self.clock.now(), 3), **line})

    def stop(self, why: str = "signal") -> None:
        """Stop at the next frame boundary (callable from a signal handler)."""
        self._why = why
        self._stop.set()

    # -- run ----------------------------------------------------------------------------------

    def run(self) -> int:
        """Serve until ``stop()``; -> 0, or 1 when the scheduler could not start."""
        folder = serve_dir(self.home_path)
        os.makedirs(folder, mode=0o700, exist_ok=True)
        lock = _take_lock(folder / LOCK_NAME, status_path(self.home_path))
        try:
            self.started_at = self.clock.now()
            self._open_channels()
            self.log({"event": "start", "pid": os.getpid(), "plan": self.plan.path,
                      "channels": [{"name": c.name, "profile": c.spec.profile,
                                    "output": c.spec.output.describe()} for c in self.channels]})
            thread = None
            if self.threaded:
                thread = threading.Thread(target=self._schedule_forever, name="scheduler",
                                          daemon=True)
                thread.start()
            else:
                self.scheduler.open()
                self.scheduler.record("serve-start", self._audit_note(), self.clock.now())
            try:
                self._loop()
            finally:
                self._finish(thread)
        finally:
            os.close(lock)
        return 1 if self._fatal else 0

    def _open_channels(self) -> None:
        now = self.clock.now()
        try:
            for spec in self.plan.channels:
                override = self._openers.get(spec.name)
                channel = Channel(spec, None, paced_by_clock=override is not None
                                  or spec.output.paced_by_clock or not self.threaded,
                                  log=self.log, now=now)
                opener = override or self._opener(channel)
                first = None
                if not (spec.output.kind == "stream" and spec.output.path != "-"):
                    try:
                        first = opener(lambda: False)
                    except Exception as exc:  # noqa: BLE001 - any refusal names the plan line
                        raise self.plan.error(("channels", spec.index, "output"),
                                              f"cannot open {spec.output.describe()}: "
                                              f"{exc}") from None
                channel.writer = Writer(spec.name, opener, first, threaded=self.threaded,
                                        clock=self.clock, log=self.log)
                self.channels.append(channel)
        except Exception:
            for channel in self.channels:
                channel.writer.finish()
            raise

    def _audit_note(self) -> str:
        return (f"plan {self.plan.path}: " + ", ".join(
            f"{c.name} ({c.spec.profile} to {c.spec.output.describe()})" for c in self.channels))

    def _opener(self, channel: Channel) -> Callable:
        spec = channel.spec

        def opener(stopping: Callable[[], bool]) -> Any:
            return open_output(spec.name, spec.profile, spec.output, fields=channel.file_fields,
                               stream_factory=self._stream_factory, stdout=self._stdout,
                               stop=lambda: stopping() or self._stop.is_set())
        return opener

    def _schedule_forever(self) -> None:
        try:
            self.scheduler.open()
        except Exception as exc:  # noqa: BLE001 - reported, and serve stops
            self._fatal = f"{type(exc).__name__}: {exc}"
            self.log({"event": "error", "what": "scheduler", "error": self._fatal, "fatal": True})
            self.stop("scheduler")
            return
        try:
            self.scheduler.record("serve-start", self._audit_note(), self.clock.now())
            next_tick = self.clock.now()
            while not self._stop.is_set():
                airset = self._tick(self.clock.now())
                if airset is not None:
                    self._mailbox.put(airset)
                next_tick += self.plan.serve.poll_s
                self.clock.sleep(max(0.0, next_tick - self.clock.now()), self._stop)
                next_tick = max(next_tick, self.clock.now() - self.plan.serve.poll_s)
            self.scheduler.record("serve-stop", f"{self._why}", self.clock.now())
        finally:
            self.scheduler.close()

    def _tick(self, now: float) -> AirSet | None:
        try:
            return self.scheduler.tick(now)
        except Exception as exc:  # noqa: BLE001 - the scheduler never dies of one bad tick
            self.log({"event": "error", "what": "scheduler", "error": f"{type(exc).__name__}: {exc}"})
            return None

    def _loop(self) -> None:
        clock, poll = self.clock, self.plan.serve.poll_s
        now = clock.now()
        next_tick = next_status = now
        pending: list[tuple[float, AirSet]] = []  # AirSets in the order they were made
        while not self._stop.is_set():
            now = clock.now()
            if self.threaded:
                airset = self._mailbox.take()
                if airset is not None:
                    pending.append((now, airset))
            elif now >= next_tick:
                started = time.perf_counter()
                airset = self._tick(now)
                done = now + time.perf_counter() - started  # the tick's wall time passes on
                if airset is not None:  # the simulated clock before its AirSet is out...
                    pending.append((done, airset))
                next_tick = max(next_tick + poll, done)  # ...and before the next tick starts
            due = [p for p in pending if p[0] <= now]
            if due:
                pending = pending[len(due):]
                for channel in self.channels:
                    channel.offer(due[-1][1], now)  # the newest holds everything
            for channel in self.channels:
                channel.pump(now)
            if now >= next_status:
                self._write_status(now)
                next_status = now + self.plan.serve.status_every_s
            if self.threaded:
                clock.sleep(LOOP_S, self._stop)
            else:
                wake = min([next_tick, next_status, *(at for at, _ in pending),
                            *(c.next_due(now) for c in self.channels),
                            clock.next_timer() or float("inf")])
                clock.sleep(max(wake - now, 1e-6))

    def _finish(self, thread: threading.Thread | None) -> None:
        for channel in self.channels:
            channel.finish()
        for channel in self.channels:
            if not channel.writer.join(STOP_GRACE_S):
                self.log({"event": "error", "what": "stop", "channel": channel.name,
                          "error": "the output did not finish in time (a write is blocked): "
                                   "abandoned"})
        if thread is not None:
            thread.join(timeout=40.0)  # a build may wait out SQLite's 30 s busy timeout
        else:
            self.scheduler.record("serve-stop", f"{self._why}", self.clock.now())
            self.scheduler.close()
        now = self.clock.now()
        self._write_status(now, stopped=True)
        self.log({"event": "stopped", "why": self._why,
                  "channels": {c.name: {"seconds_written": round(c.writer.written_s, 3),
                                        "skipped_s": round(c.skipped_s, 3)}
                               for c in self.channels}})

    def status(self, now: float, stopped: bool = False) -> dict:
        return {"updated_at": now, "pid": os.getpid(), "started_at": int(self.started_at),
                "plan": self.plan.path,
                "channels": [c.status(now, stopped) for c in self.channels],
                "warnings": list(self.scheduler.warnings.values())}

    def _write_status(self, now: float, stopped: bool = False) -> None:
        try:
            write_status(status_path(self.home_path), self.status(now, stopped))
        except OSError as exc:
            self.log({"event": "error", "what": "status", "error": str(exc)})


def _take_lock(path: Path, status: Path) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise ServeRunningError(f"center serve already runs on this home (see {status}); stop "
                                "it first (one serve per home)") from None
    return fd


def _stderr_lines(line: dict) -> None:
    import json

    sys.stderr.write(json.dumps(line) + "\n")
    sys.stderr.flush()
