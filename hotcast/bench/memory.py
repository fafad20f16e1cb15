"""Peak memory of ``receiver decode`` on an endless stream (issue 8: under 300 MB).

The fm I/Q capture (cu8 at 1.2 MHz) is piped to ``hotcast receiver decode --input -`` over and
over, ``STREAM_S`` seconds of signal in all (``QUICK_STREAM_S`` with ``--quick``), and the
child's peak resident set (its ``VmHWM``, watched while it runs: ``decoding.run_cli``) is read.
Beside it the peaks of a decode of the capture once, from the file and through the pipe (the
speed section's children, or runs here): a constant-memory receiver shows the same peak for
the pipe once and the long stream, so that growth is the figure to watch.
"""

from __future__ import annotations

from hotcast.bench.decoding import PIPE_CHUNK, feed_pipe, run_cli
from hotcast.bench.model import BenchContext, Section, Table
from hotcast.bench.speed import IQ_RATE_HZ
from hotcast.bench.stats import figure
from hotcast.bench.world import world

TARGET_MB = 300.0  # issue 8
STREAM_S = 300.0
QUICK_STREAM_S = 24.0
CU8_BYTES_PER_S = 2 * IQ_RATE_HZ  # one byte each of I and Q per sample


def streamer(data: bytes, total_bytes: int):
    """A feeder for ``run_cli(stream=...)``: ``data`` repeated up to ``total_bytes``."""
    def chunks():
        sent = 0
        while sent < total_bytes:
            for pos in range(0, len(data), PIPE_CHUNK):
                chunk = data[pos:pos + PIPE_CHUNK][:total_bytes - sent]
                if not chunk:
                    break
                yield chunk
                sent += len(chunk)
    return lambda pipe: feed_pipe(chunks(), pipe)


def run(ctx: BenchContext) -> Section:
    section = Section("memory", "Peak memory on an endless stream")
    w = world(ctx)
    cap = w.capture("fm", "cu8", IQ_RATE_HZ)
    once = ctx.cache.get(("speed", "fm", "iq-cu8"))
    short = once.cli[0] if once is not None and once.cli else run_cli(w, cap)
    piped = ctx.cache.get(("speed", "fm", "stdin-cu8"))
    short_pipe = piped.cli[0] if piped is not None and piped.cli else run_cli(w, cap, stdin=True)
    ctx.progress("memory: the capture once")
    seconds = QUICK_STREAM_S if ctx.quick else STREAM_S
    data = cap.path.read_bytes()
    data = data[:len(data) - len(data) % 2]
    long = run_cli(w, cap, stream=streamer(data, int(seconds * CU8_BYTES_PER_S)))
    ctx.progress("memory: the stream")
    section.figures += [
        figure("memory.fm.stdin-cu8.peak_rss_mb", [long.maxrss_mb], "MB",
               f"receiver decode peak RSS, {seconds:g} s of fm cu8 on stdin", "lower"),
        figure("memory.fm.iq-cu8.peak_rss_mb_once", [short.maxrss_mb], "MB",
               f"receiver decode peak RSS, {short.seconds_of_signal:g} s capture", "lower"),
        figure("memory.fm.stdin-cu8.peak_rss_mb_once", [short_pipe.maxrss_mb], "MB",
               f"receiver decode peak RSS, {short_pipe.seconds_of_signal:g} s capture on stdin",
               "lower"),
        figure("memory.fm.growth_mb", [long.maxrss_mb - short_pipe.maxrss_mb], "MB",
               "peak RSS growth on stdin from the capture once to the long stream")]
    ok = long.maxrss_mb < TARGET_MB
    section.tables.append(Table(
        "Peak resident memory of receiver decode (fm, cu8 1.2 MHz)",
        ["input", "seconds of signal", "peak RSS MB", f"target < {TARGET_MB:g} MB"],
        [["the capture, once (file)", round(short.seconds_of_signal, 1),
          round(short.maxrss_mb, 1), "yes" if short.maxrss_mb < TARGET_MB else "NO"],
         ["the capture once on stdin (pipe)", round(short_pipe.seconds_of_signal, 1),
          round(short_pipe.maxrss_mb, 1), "yes" if short_pipe.maxrss_mb < TARGET_MB else "NO"],
         ["the capture repeated on stdin (pipe)", round(long.seconds_of_signal, 1),
          round(long.maxrss_mb, 1), "yes" if ok else "NO"]],
        note=("the child's VmHWM (peak resident set of the receiver decode process alone, "
              "interpreter and libraries included; ru_maxrss would add this bench's own pages)")))
    if not ok:
        section.notes.append(f"peak memory {long.maxrss_mb:.0f} MB misses issue 8's target of "
                             f"{TARGET_MB:g} MB")
    return section
