"""Decode one capture two ways and measure both: ``hotcast receiver decode`` in a child process
(its own ``summary``: ``seconds_of_signal``, ``seconds_of_cpu``, and ``stages`` when the build
has them; the child's whole CPU from ``os.wait4``, its peak RSS from ``/proc``), and the same
source, pipeline and merge in this process (CPU split into input conversion, pipeline and merge).

Peak memory: ``ru_maxrss`` of a child on Linux also counts the pages of this process at the
fork (the kernel carries the old image's high-water mark over ``exec``), so it grew with the
bench's own size (183 MB for a 78 MB decode). The child's ``VmHWM`` (the high-water mark of its
exec'ed image alone) is read from ``/proc/PID/status`` every 10 ms while it runs; it only
rises, so the last reading before exit is the peak, bar a rise in the last 10 ms. The child is
waited for without reaping first (``waitid`` with ``WNOWAIT``), so its PID cannot be reused
under the watcher. Where there is no ``/proc`` the figure falls back to ``ru_maxrss``.

``receiver decode`` starts its CPU clock after the store and the source are open, so its
``seconds_of_cpu`` leaves out the interpreter's start-up and imports; the child's total CPU
minus it is that start-up (``startup_cpu_s``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from receiver.radio.pipeline import PipelineConfig, ReceivePipeline
from receiver.radio.sources import open_source
from receiver.store.merge import BundleMerger
from receiver.store.store import TerminalStore

from hotcast.bench.world import NOW, BenchWorld, Capture

# Bytes per write when a capture is piped to the child's stdin.
PIPE_CHUNK = 1 << 20
HWM_POLL_S = 0.01
_HWM = re.compile(rb"VmHWM:\s+(\d+) kB")


def _watch_peak(pid: int, box: dict, stop: threading.Event) -> None:
    """Keep the highest ``VmHWM`` of process ``pid`` in box["kb"] until it exits or ``stop``."""
    path = f"/proc/{pid}/status"
    while not stop.is_set():
        try:
            with open(path, "rb") as f:
                found = _HWM.search(f.read())
        except OSError:
            return
        if found is None:  # exited: a zombie has no memory lines
            return
        box["kb"] = max(box.get("kb", 0), int(found.group(1)))
        stop.wait(HWM_POLL_S)


class DecodeError(RuntimeError):
    """``receiver decode`` failed or printed no summary."""


@dataclass(frozen=True)
class CliRun:
    seconds_of_signal: float
    seconds_of_cpu: float  # the child's own figure: its decode loop
    child_cpu_s: float  # the child's whole life (user + system), start-up included
    maxrss_mb: float
    frames_ok: int
    frames_bad: int
    bundles_applied: int
    stages: dict = field(default_factory=dict)  # stage -> CPU seconds, when reported

    @property
    def startup_cpu_s(self) -> float:
        return max(0.0, self.child_cpu_s - self.seconds_of_cpu)


@dataclass(frozen=True)
class InProcessRun:
    seconds_of_signal: float
    cpu_s: float  # read + pipeline + merge
    read_cpu_s: float  # the source: file bytes -> samples (input conversion)
    pipeline_cpu_s: float
    merge_cpu_s: float  # verify, decrypt, merge into the store
    frames_ok: int
    bundles_applied: int
    stages: dict = field(default_factory=dict)  # the pipeline's stages, input_read,
    # verify_decrypt (the store's seconds_verifying), store_merge (the rest of the merge) and
    # other (the pipeline's time outside its stages: input checks, events)


def hotcast_command() -> list[str]:
    """How to start this hotcast in a child: this interpreter, this package first on the path."""
    return [sys.executable, "-m", "hotcast"]


def child_env(now: int = NOW) -> dict[str, str]:
    """The environment of a ``hotcast`` child: this package first on the path (a worktree
    before an installed one), the clock fixed at ``now``."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["HOTCAST_NOW"] = str(now)
    return env


def feed_pipe(chunks, pipe) -> None:
    """Write ``chunks`` (an iterable of bytes) to a child's stdin and close it; a child that
    stopped reading (a broken pipe) ends the feed quietly."""
    try:
        for chunk in chunks:
            pipe.write(chunk)
    except BrokenPipeError:
        pass
    finally:
        try:
            pipe.close()
        except BrokenPipeError:
            pass


def _file_chunks(path: Path):
    with open(path, "rb") as f:
        while chunk := f.read(PIPE_CHUNK):
            yield chunk


def _feed(path: Path, pipe) -> None:
    feed_pipe(_file_chunks(path), pipe)


def run_cli(world: BenchWorld, cap: Capture, *, stdin: bool = False,
            stream=None) -> CliRun:
    """``hotcast receiver decode`` on ``cap`` into a fresh terminal home: from the file, or
    with ``stdin`` through a pipe (``--input -``). ``stream``, when given, is a callable that
    writes the input to the pipe instead of the file (the memory section's endless stream)."""
    home = world.terminal(cap.profile)
    try:
        cmd = hotcast_command() + ["receiver", "decode", "--home", str(home), "--profile",
                                   cap.profile]
        if stdin or stream is not None:
            cmd += ["--input", "-", "--format", cap.fmt]
            if cap.rate_hz is not None and cap.fmt not in ("wav", "ir"):
                cmd += ["--rate", str(int(cap.rate_hz))]
        else:
            cmd += ["--input", str(cap.path)]
        piped = stdin or stream is not None
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE if piped else subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=child_env())
        feeder = None
        if piped:
            target = stream if stream is not None else (lambda pipe: _feed(cap.path, pipe))
            feeder = threading.Thread(target=target, args=(proc.stdin,), daemon=True)
            feeder.start()
        out_box: dict[str, bytes] = {}
        readers = [threading.Thread(target=lambda n=n, f=f: out_box.__setitem__(n, f.read()),
                                    daemon=True)
                   for n, f in (("out", proc.stdout), ("err", proc.stderr))]
        for r in readers:
            r.start()
        peak: dict[str, int] = {}
        stop = threading.Event()
        watcher = threading.Thread(target=_watch_peak, args=(proc.pid, peak, stop), daemon=True)
        watcher.start()
        if hasattr(os, "waitid"):
            os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)  # exited, not yet reaped
        stop.set()
        watcher.join()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        for r in readers:
            r.join()
        if feeder is not None:
            feeder.join(timeout=5)
        peak_mb = peak["kb"] / 1024.0 if "kb" in peak else usage.ru_maxrss / 1024.0
        return _parse(cap, proc.returncode, out_box.get("out", b""), out_box.get("err", b""),
                      usage, peak_mb)
    finally:
        world.drop(home)


def _parse(cap: Capture, code: int, out: bytes, err: bytes, usage, peak_mb: float) -> CliRun:
    summary = None
    for line in out.decode("utf-8", "replace").splitlines():
        if line.startswith("{"):
            obj = json.loads(line)
            if obj.get("event") == "summary":
                summary = obj
    if code != 0 or summary is None:
        tail = err.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise DecodeError(f"receiver decode {cap.path.name} exited {code}: "
                          f"{' | '.join(tail) or 'no summary line'}")
    return CliRun(seconds_of_signal=float(summary["seconds_of_signal"]),
                  seconds_of_cpu=float(summary["seconds_of_cpu"]),
                  child_cpu_s=usage.ru_utime + usage.ru_stime,
                  maxrss_mb=peak_mb,
                  frames_ok=int(summary.get("frames_ok", 0)),
                  frames_bad=int(summary.get("frames_bad", 0)),
                  bundles_applied=int(summary.get("bundles_applied", 0)),
                  stages=dict(summary.get("stages") or {}))


def run_in_process(world: BenchWorld, cap: Capture) -> InProcessRun:
    """The decode of ``receiver decode`` (source -> ReceivePipeline -> BundleMerger) in this
    process, on a fresh terminal home, with CPU time split by part."""
    home = world.terminal(cap.profile)
    try:
        store = TerminalStore.open(home)
        try:
            source = open_source(str(cap.path), None, None)
            with source:
                pipeline = ReceivePipeline(
                    PipelineConfig(cap.profile, source.kind, source.sample_rate_hz),
                    lambda data: store.vet_announcement(data, NOW))
                merger = BundleMerger(store)
                clock = time.process_time
                t_read = t_pipe = t_merge = 0.0
                applied = 0
                while True:
                    t0 = clock()
                    block = source.read_block()
                    t1 = clock()
                    t_read += t1 - t0
                    if block is None:
                        events = pipeline.finish()
                    else:
                        events = pipeline.process(block)
                    t2 = clock()
                    out = merger.process(events, NOW)
                    t3 = clock()
                    t_pipe += t2 - t1
                    t_merge += t3 - t2
                    applied += sum(1 for e in out if type(e).__name__ == "BundleApplied")
                    if block is None:
                        break
            stages = dict(getattr(pipeline, "stage_seconds", None) or {})
            # The pipeline's own work outside its named stages (input checks, events), as the
            # CLI's "other" holds it (beside the CLI's JSON output).
            other = t_pipe - sum(stages.values()) if stages else 0.0
            verifying = float(getattr(store, "seconds_verifying", 0.0))
            stages.update(input_read=t_read, verify_decrypt=verifying,
                          store_merge=max(0.0, t_merge - verifying), other=max(0.0, other))
            return InProcessRun(seconds_of_signal=pipeline.seconds_of_signal,
                                cpu_s=t_read + t_pipe + t_merge, read_cpu_s=t_read,
                                pipeline_cpu_s=t_pipe, merge_cpu_s=t_merge,
                                frames_ok=pipeline.frames_ok, bundles_applied=applied,
                                stages=stages)
        finally:
            store.close()
    finally:
        world.drop(home)

