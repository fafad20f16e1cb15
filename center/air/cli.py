"""``hotcast center render`` and ``hotcast center broadcast``: the carousel as signal.

``render`` writes the carousel on air now to a file (``center.air.render.CarouselRenderer``).
``broadcast`` runs the live carousel (``center.air.live.LiveCarousel``) endlessly or for
``--duration`` seconds of signal, a frame at a time, into a file, a pipe or a sound card;
between frames, every ``--poll`` seconds of wall time, it reads the newest bundle seq (one
indexed SQLite read) and, when it moved, the registry's carousel: a new delta or key roll goes
on air at the next frame boundary, a new full bundle replaces the old one and its deltas,
expired bundles leave. Each change prints one JSON line (to stderr when the samples go to
stdout, else to stdout) as it reaches the air:
``{"event": "on_air", "seq", "kind", "at_frame", "at_s", "urgent", "latency_s"}`` where
``latency_s`` is wall-clock seconds from the bundle's ``created_at`` (whole seconds, so up to
1 s too high) to the moment its first frame was handed to the output, and
``{"event": "off_air", "seq", "kind", "at_frame", "at_s", "why"}``; a ``summary`` line ends it.

Pacing, polling and signals: ``center.air.broadcast_loop``.
"""

from __future__ import annotations

import argparse
import math
import os
import stat
import sys
import time
from typing import TextIO

import numpy as np

from center.air.broadcast_loop import BroadcastLoop
from center.cli_output import check_out
from center.errors import UsageError
from center.registry.home import CenterHome
from center.air.live import LiveCarousel
from center.air.output_plan import MAX_DURATION_S, plan_output
from center.cli_output import expiry_warnings
from center.air.render import CarouselRenderer, RenderConfig, file_fields, render_summary
from center.air.sinks import FileSink, SoundCardSink
from crypto import BundleKind
from modem import Baseband, InputKind, TxOptions, modem_profile, profile_names
from modem.irtext import ir_carousel_files

from modem.rates import hz_argument

IR_EXTENSION = ".ir"  # `.ir` pulse text (ir-ctl), written as a numbered series

SOUND_CARD_RATE_HZ = 192_000  # the top rate of common sound cards: > 2 x 88 825 Hz (fm)
DEFAULT_POLL_S = 1.0


# -- render --------------------------------------------------------------------------------


ROLE = "center"


def cmd_render(args: argparse.Namespace, ctx) -> int:
    if args.out.lower().endswith(IR_EXTENSION) or args.format == "ir":
        return _render_ir_series(args, ctx)
    try:
        fmt, config = plan_output(args.out, args.format, args.profile, rate_hz=args.rate,
                                  duration_s=args.duration, level=args.injection,
                                  with_programme=args.with_programme)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    check_out(args.out, allow_stdout=True)
    if args.out == "-" and sys.stdout.isatty():
        raise UsageError("refusing to write samples to a terminal; redirect or pipe standard output")
    if args.out == "-":
        ctx.samples_to_stdout()
    now = ctx.now()
    with CenterHome.open(ctx.home(args, ROLE), lambda: ctx.passphrase("center keys")) as home:
        bundles = _on_air(home, now, ctx)
        renderer = CarouselRenderer(args.profile, bundles, config)
        with FileSink(args.out, fmt, renderer.output_rate_hz,
                      description=f"hotcast carousel, profile {args.profile}") as sink:
            seconds = render_into(renderer, sink, Progress(renderer.expected_seconds))
        home.record_air("render", f"profile {args.profile} to {args.out}: "
                        f"{_plan_text(renderer)}, {seconds:.1f} s",
                        now=now, by=ctx.operator(args))
    ctx.emit({"file": args.out, "format": fmt, "rate": renderer.output_rate_hz,
              "seconds": round(seconds, 6), **render_summary(renderer)})
    return 0


def _render_ir_series(args: argparse.Namespace, ctx) -> int:
    """``center render --profile ir --out NAME.ir``: the carousel as a numbered series of `.ir`
    files NAME-0001.ir, ... each one ir-ctl transmission (<= 500 ms, <= 1023 values, pulse
    first and last; ``modem.irtext.ir_carousel_files``). Play them with
    ``for f in NAME-*.ir; do ir-ctl --send="$f"; done``; a receiver does not mind the gaps."""
    if args.profile != "ir":
        raise UsageError(f"{args.out}: `.ir` pulse text carries the ir profile only, not "
                         f"{args.profile}")
    for flag in ("rate", "injection"):
        if getattr(args, flag, None) is not None:
            raise UsageError(f"--{flag} does not apply to `.ir` pulse text (durations in µs)")
    if args.with_programme:
        raise UsageError("--with-programme adds an FM programme; profile ir has none")
    if args.out == "-":
        raise UsageError("a `.ir` series is several files: name one, e.g. --out carousel.ir")
    if args.duration is not None and not (math.isfinite(args.duration) and args.duration > 0):
        raise UsageError(f"--duration {args.duration:g} must be above 0 s")
    base = args.out[:-len(IR_EXTENSION)] if args.out.lower().endswith(IR_EXTENSION) else args.out
    check_out(f"{base}-0001{IR_EXTENSION}", allow_stdout=False)
    now = ctx.now()
    with CenterHome.open(ctx.home(args, ROLE), lambda: ctx.passphrase("center keys")) as home:
        bundles = _on_air(home, now, ctx)
        config = RenderConfig(tx=TxOptions(), duration_s=args.duration)
        renderer = CarouselRenderer(args.profile, bundles, config)
        durations = np.concatenate([np.asarray(b, np.int64) for b in renderer.blocks()])
        texts = ir_carousel_files(durations)
        files = []
        for i, text in enumerate(texts, 1):
            path = f"{base}-{i:04d}{IR_EXTENSION}"
            with open(path, "w", encoding="ascii") as f:
                f.write(text)
            files.append(path)
        seconds = float(np.abs(durations).sum()) / 1e6
        home.record_air("render", f"profile ir to {base}-*.ir: {_plan_text(renderer)}, "
                        f"{len(files)} files, {seconds:.1f} s", now=now, by=ctx.operator(args))
    ctx.emit({"files": files, "format": "ir", "seconds": round(seconds, 6),
              "play": f'for f in {base}-*.ir; do ir-ctl --send="$f"; done',
              **render_summary(renderer)})
    return 0


def _on_air(home: CenterHome, now: int, ctx) -> list:
    """What the center has on air now (carousel, heartbeat, announcement), its expiry
    warnings given; UsageError when no list has been built."""
    bundles = home.carousel(now)
    for warning in expiry_warnings(bundles, now):
        ctx.warn(warning)
    bundles = bundles + home.air_extras(bundles, now)
    if not any(b.kind in (BundleKind.FULL, BundleKind.DELTA) for b in bundles):
        raise UsageError("nothing on air: no list built yet; build a bundle first "
                         "(hotcast center build --out FILE)")
    return bundles


def _plan_text(renderer: CarouselRenderer) -> str:
    return ", ".join(f"{p.kind.name.lower()} {p.seq}" for p in renderer.plan)


def render_into(renderer: CarouselRenderer, sink: FileSink, progress: Progress) -> float:
    """Run ``renderer`` into ``sink``, finish the file with its metadata; -> seconds written."""
    rate = sink.rate_hz
    for block in renderer.blocks():
        sink.write(block)
        progress.update(sink.samples / rate)
    seconds = sink.samples / rate
    sink.close({**file_fields(renderer, sink.iq),
                "bundles": [{"kind": p.kind.name.lower(), "seq": p.seq} for p in renderer.plan],
                "seconds": seconds, "bits_on_air": renderer.stats.bits_on_air})
    progress.finish(seconds)
    return seconds


class Progress:
    """A one-line ``\\r`` progress report on a terminal: percent, seconds rendered, x real time.

    Silent unless ``stream.isatty()``; at most one update per ``interval_s`` of wall time.
    """

    def __init__(self, total_s: float, stream: TextIO | None = None, interval_s: float = 0.2) -> None:
        self.stream = sys.stderr if stream is None else stream
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.total_s = total_s
        self.interval_s = interval_s
        self._start = time.monotonic()
        self._last = -interval_s

    def __repr__(self) -> str:
        return f"Progress(total_s={self.total_s}, enabled={self.enabled})"

    def update(self, done_s: float, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic() - self._start
        if not force and now - self._last < self.interval_s:
            return
        self._last = now
        pct = 100.0 * min(1.0, done_s / self.total_s) if self.total_s > 0 else 100.0
        speed = f"x{done_s / now:.1f} real time" if now > 0 else ""
        self.stream.write(f"\rrender {pct:5.1f}%  {done_s:8.1f} s  {speed}   ")
        self.stream.flush()

    def finish(self, done_s: float) -> None:
        if self.enabled:
            self.update(done_s, force=True)
            self.stream.write("\n")
            self.stream.flush()


# -- broadcast -----------------------------------------------------------------------------


def _is_stream(path: str) -> bool:
    """True for a FIFO or a character device (an existing path that is not a regular file)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)


def cmd_broadcast(args: argparse.Namespace, ctx) -> int:
    if not (math.isfinite(args.poll) and 0 < args.poll <= 3600):
        raise UsageError(f"--poll {args.poll:g} must be above 0 and at most 3600 seconds")
    if args.duration is not None and not 0 < args.duration <= MAX_DURATION_S:
        raise UsageError(f"--duration {args.duration:g} must be above 0 s and at most a year")
    try:
        modem_profile(args.profile)
    except ValueError as exc:
        raise UsageError(f"--profile: {exc}") from None
    if args.sound_card:
        fmt, config = "f32", _sound_card_config(args)
    else:
        if args.out is None:
            raise UsageError("say where the signal goes: --out FILE, --out - or --sound-card")
        if args.device is not None:
            raise UsageError("--device names a sound card; use it with --sound-card")
        try:
            fmt, config = plan_output(args.out, args.format, args.profile, rate_hz=args.rate,
                                      duration_s=None, level=args.injection,
                                      with_programme=args.with_programme)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        check_out(args.out, allow_stdout=True)
        # A pipe or a FIFO paces the broadcast (it blocks while the reader is busy); a regular
        # file takes samples as fast as they come and would fill the disk: it needs an end.
        if args.duration is None and args.out != "-" and not _is_stream(args.out):
            raise UsageError(f"--out {args.out} is a regular file: give --duration S (a live "
                             "broadcast goes to a pipe, a FIFO or --sound-card)")
        if args.out == "-" and sys.stdout.isatty():
            raise UsageError("refusing to write samples to a terminal; redirect or pipe "
                             "standard output")
    try:
        live = LiveCarousel(args.profile, config)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    total = None if args.duration is None else round(args.duration * live.output_rate_hz)
    if args.out == "-":
        ctx.samples_to_stdout()
    with CenterHome.open(ctx.home(args, ROLE), lambda: ctx.passphrase("center keys")) as home:
        if args.sound_card:
            sink = SoundCardSink(args.profile, live.output_rate_hz, _device(args.device))
        else:
            sink = FileSink(args.out, fmt, live.output_rate_hz,
                            description=f"hotcast live carousel, profile {args.profile}")
        where = "a sound card" if args.sound_card else args.out
        home.record_air("broadcast-start", f"profile {args.profile} to {where}",
                        now=ctx.now(), by=ctx.operator(args))
        with sink:
            loop = BroadcastLoop(home, live, sink, poll_s=args.poll, total_samples=total,
                                  emit=ctx.emit, clock=ctx.now)
            status = loop.run()
        home.record_air("broadcast-stop", f"profile {args.profile} to {where}: "
                        f"{loop.live.stats.frames} frames", now=ctx.now(), by=ctx.operator(args))
    if status and args.out == "-":  # the reader went away: nothing may flush into the pipe
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return status


def _sound_card_config(args: argparse.Namespace) -> RenderConfig:
    if args.out is not None or args.format is not None:
        raise UsageError("--sound-card plays the baseband itself: give no --out or --format")
    entry = modem_profile(args.profile)
    default = (SOUND_CARD_RATE_HZ if entry.baseband is Baseband.MPX
               else entry.default_baseband_rate_hz)
    rate = default if args.rate is None else args.rate
    if not (math.isfinite(rate) and rate == int(rate)):
        raise UsageError(f"--rate {rate:g} must be a whole number of Hz")
    try:
        entry.check_rate(InputKind.BASEBAND, rate)
    except ValueError as exc:
        raise UsageError(f"--rate: {exc}") from None
    if args.injection is not None:
        try:
            entry.check_level(args.injection)
        except ValueError as exc:
            raise UsageError(f"--injection: {exc}") from None
    try:
        return RenderConfig(tx=TxOptions(baseband_rate_hz=int(rate), level=args.injection,
                                         with_programme=args.with_programme))
    except ValueError as exc:
        raise UsageError(f"--rate / --injection: {exc}") from None


def _device(text: str | None) -> int | str | None:
    return int(text) if text is not None and text.isdigit() else text


# -- parsers -------------------------------------------------------------------------------


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register ``render`` and ``broadcast`` under ``hotcast center``."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--home", help="center home folder (default $HOTCAST_HOME, else "
                                       "./hotcast-home)")
    common.add_argument("--by", help="operator name for the audit log (default "
                                     "$HOTCAST_OPERATOR, else the login name)")
    p = sub.add_parser("render", parents=[common], help="write the carousel on air now as a "
                       "signal file", description="write the carousel on air now as a signal file")
    p.set_defaults(func=cmd_render)
    _signal_options(p, out_required=True)
    p.add_argument("--duration", type=float, metavar="S", help="seconds (default one whole cycle)")
    text = "put the carousel on air live, taking new bundles as they are built"
    p = sub.add_parser("broadcast", parents=[common], help=text, description=text)
    p.set_defaults(func=cmd_broadcast)
    _signal_options(p, out_required=False)
    p.add_argument("--sound-card", action="store_true",
                   help="play the baseband on a sound card output (fm: the MPX at 192000 Hz)")
    p.add_argument("--device", metavar="D", help="sound card: PortAudio device index or name")
    p.add_argument("--duration", type=float, metavar="S",
                   help="stop after this many seconds of signal (default: run until stopped)")
    p.add_argument("--poll", type=float, default=DEFAULT_POLL_S, metavar="S",
                   help="seconds between registry polls for new bundles (default 1)")


def _signal_options(p: argparse.ArgumentParser, out_required: bool) -> None:
    p.add_argument("--profile", required=True, choices=profile_names(),
                   help="modem profile (see `hotcast receiver profiles`)")
    p.add_argument("--out", required=out_required, metavar="FILE", help=".cu8 .cs8 .cf32 (FM I/Q), "
                   ".wav .s16le .f32le (the baseband), or - for stdout with --format")
    p.add_argument("--rate", type=hz_argument, metavar="HZ", help="sample rate (default 1200000 for "
                   "I/Q, the profile's baseband rate otherwise: 228000 for fm)")
    p.add_argument("--format", help="cu8, cs8, cs16, cf32, wav, s16le, f32le, or ir (render: a `.ir` series) (default by extension)")
    p.add_argument("--with-programme", action="store_true",
                   help="add simulated programme, pilot, stereo and RDS to the MPX")
    p.add_argument("--injection", type=float, default=None,
                   help="transmit level: for FM profiles the subcarrier's fraction of the 75 kHz "
                   "deviation (default the profile's, 0.10 for fm)")
