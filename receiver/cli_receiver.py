"""``hotcast receiver ...``: profiles, decode a file or standard input, listen to a device.

``receiver_main(argv)`` takes the words after ``receiver``; ``receiver/cli.py`` registers it.

Output (CONTRACT.md): JSON lines on stdout, first a ``start`` event naming the input, then
the events of ``receiver.pipeline`` / ``receiver.merge`` as they happen, last a ``summary``
with ``seconds_of_cpu``; messages on stderr. Exit 0 when the input was read to its end
(or the run was stopped by SIGINT / SIGTERM / ``--duration``), whatever it held; 2 when the
input itself is unusable or the usage is wrong (unknown format, missing or contradicting
rate, a rate the profile cannot use, a WAV we cannot read, a missing file, no terminal
store), with nothing changed; 1 on any other failure (a device that fails mid-run).

Test seam: ``DEVICE_FACTORIES["rtl_sdr"]`` (called with a device index, returns an object
like ``rtlsdr.RtlSdr``) and ``DEVICE_FACTORIES["line_in"]`` (called with the
``sounddevice.InputStream`` keyword arguments) replace the real devices when set; tests set
them to ``receiver._device_fake`` fakes. Only this module reads the clock.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from .cli_common import DEFAULT_HOME, emit, now_s, open_store, run_command
from .errors import SourceConfigError, SourceError, UsageError
from .merge import BundleMerger
from .pipeline import PipelineConfig, ReceivePipeline
from .pipeline_config import receive_profiles
from .sources import (
    LineInConfig, LineInSource, RtlSdrConfig, RtlSdrSource, Source, TeeRaw, open_source,
)
from .store import TerminalStore

__all__ = ["DEVICE_FACTORIES", "receiver_main"]

# Device factories; None = the real device (see the module docstring: the test seam).
DEVICE_FACTORIES: dict[str, Callable[..., Any] | None] = {"rtl_sdr": None, "line_in": None}
# fm needs an MPX rate above 2 x 88.8 kHz: a sound card's 192 kHz is the usual one.
DEFAULT_LINE_IN_RATE_HZ = {"fm": 192_000}
DEFAULT_RTL_RATE_HZ = 1_200_000  # CONTRACT's I/Q default; decimates (2, 2) to a 300 kHz MPX


class _Interrupted(Exception):
    """SIGINT / SIGTERM arrived while waiting for input."""


def _cmd_profiles(args: argparse.Namespace) -> int:
    for profile in receive_profiles():
        emit(profile)
    return 0


def _pipeline_for(args: argparse.Namespace, source: Source) -> ReceivePipeline:
    try:
        return ReceivePipeline(PipelineConfig(args.profile, source.is_iq, source.sample_rate_hz))
    except ValueError as exc:
        raise UsageError(f"{source.name}: {exc}") from None


def _cmd_decode(args: argparse.Namespace) -> int:
    store = open_store(args)
    with store:
        try:
            source = open_source(args.input, args.format, args.rate)
        except SourceError as exc:
            raise UsageError(str(exc)) from None
        return _run_with_source(args, store, source)


def _cmd_listen(args: argparse.Namespace) -> int:
    if args.duration is not None and not args.duration > 0:
        raise UsageError(f"--duration must be a positive number of seconds, got {args.duration}")
    store = open_store(args)
    with store:
        try:
            source = _open_device(args)
        except SourceConfigError as exc:
            raise UsageError(str(exc)) from None
        except SourceError as exc:
            print(f"hotcast receiver listen: {exc}", file=sys.stderr)
            return 1
        return _run_with_source(args, store, source)


def _check_rate(profile: str, is_iq: bool, rate_hz: int) -> None:
    """Refuse a rate the profile cannot use before a device is opened."""
    try:
        PipelineConfig(profile, is_iq, rate_hz)
    except ValueError as exc:
        raise UsageError(f"--rate: {exc}") from None


def _open_device(args: argparse.Namespace) -> Source:
    duration = args.duration
    if args.rtl_sdr:
        if args.freq is None:
            raise UsageError("--rtl-sdr needs --freq HZ (the FM station's frequency)")
        rate = int(args.rate) if args.rate is not None else DEFAULT_RTL_RATE_HZ
        _check_rate(args.profile, True, rate)
        config = RtlSdrConfig(
            center_freq_hz=args.freq, sample_rate_hz=rate,
            gain_db="auto" if args.gain is None else args.gain,
            freq_correction_ppm=args.ppm,
            max_samples=None if duration is None else int(duration * rate))
        return RtlSdrSource(config, DEVICE_FACTORIES["rtl_sdr"])
    for flag in ("freq", "gain"):
        if getattr(args, flag) is not None:
            raise UsageError(f"--{flag} is for --rtl-sdr, not --line-in")
    rate = int(args.rate) if args.rate is not None else DEFAULT_LINE_IN_RATE_HZ.get(
        args.profile, 48_000)
    _check_rate(args.profile, False, rate)
    device = args.device
    if device is not None and device.isdigit():
        device = int(device)
    config = LineInConfig(sample_rate_hz=rate, device=device,
                          max_samples=None if duration is None else int(duration * rate))
    return LineInSource(config, DEVICE_FACTORIES["line_in"])


def _run_with_source(args: argparse.Namespace, store: TerminalStore, source: Source) -> int:
    try:
        pipeline = _pipeline_for(args, source)  # checked before --tee-raw writes anything
        if args.tee_raw is not None:
            try:
                source = TeeRaw(source, args.tee_raw)
            except SourceError as exc:
                raise UsageError(str(exc)) from None
        return _run(pipeline, BundleMerger(store), source)
    finally:
        source.close()


def _run(pipeline: ReceivePipeline, merger: BundleMerger, source: Source) -> int:
    cpu0 = time.process_time()
    emit({"event": "start", "input": source.name, "format": source.fmt,
           "sample_rate_hz": source.sample_rate_hz, "is_iq": source.is_iq,
           "profile": pipeline.config.profile})
    status = 0
    overflows = 0
    state = {"stop": False, "in_read": False}

    def on_signal(signum: int, frame: object) -> None:
        state["stop"] = True
        if state["in_read"]:
            raise _Interrupted

    previous = _install(on_signal)
    try:
        while not state["stop"]:
            try:
                state["in_read"] = True
                if state["stop"]:
                    break
                block = source.read_block()
            except _Interrupted:
                break
            except SourceError as exc:
                print(f"hotcast receiver: {exc}", file=sys.stderr)
                status = 1
                break
            finally:
                state["in_read"] = False
            if block is None:
                break
            events = pipeline.process(block)
            if source.overflows > overflows:
                events.append({"event": "input_problem", "problem": "overrun",
                               "why": f"the device dropped {source.overflows - overflows} "
                                      "block(s) before they were read",
                               "sample": pipeline.samples_in})
                overflows = source.overflows
            _emit_all(merger.process(events, now_s()))
        events = pipeline.finish()
        if source.leftover_bytes:
            events.insert(0, {"event": "input_problem", "problem": "truncated",
                              "why": f"the input ended {source.leftover_bytes} byte(s) into "
                                     "a sample; they were dropped",
                              "sample": pipeline.samples_in})
        final = merger.process(events, now_s())
        final[-1]["seconds_of_cpu"] = round(time.process_time() - cpu0, 3)
        if state["stop"]:
            final[-1]["stopped"] = "signal"
        _emit_all(final)
    finally:
        _restore(previous)
    return status


def _emit_all(events: list[dict]) -> None:
    for event in events:
        emit(event)


def _install(handler: Callable) -> dict:
    """Install ``handler`` for SIGINT and SIGTERM (main thread only); return the old ones."""
    old = {}
    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            old[sig] = signal.signal(sig, handler)
    except ValueError:  # not the main thread: leave signals alone
        pass
    return old


def _restore(old: dict) -> None:
    for sig, handler in old.items():
        signal.signal(sig, handler)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hotcast receiver",
                                     description="The radio receiver of a terminal.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    prof = sub.add_parser("profiles", help="list the profiles with their rates (JSON lines)")
    prof.set_defaults(func=_cmd_profiles)

    def common(cmd: argparse.ArgumentParser) -> None:
        cmd.add_argument("--home", help="terminal home (default $HOTCAST_HOME, else "
                                        f"{DEFAULT_HOME})")
        cmd.add_argument("--profile", required=True, help="modem profile, e.g. fm")
        cmd.add_argument("--rate", type=float, metavar="HZ", help="sample rate in Hz")
        cmd.add_argument("--tee-raw", metavar="PATH",
                         help="also keep the raw input in PATH (with .sigmf-meta)")

    dec = sub.add_parser("decode", help="decode a signal file or standard input into the store")
    common(dec)
    dec.add_argument("--input", required=True, metavar="FILE|-", help="signal file, - = stdin")
    dec.add_argument("--format", help="cu8 cs8 cf32 wav s16le f32le (default: from the file)")
    dec.set_defaults(func=_cmd_decode)

    lis = sub.add_parser("listen", help="decode a live RTL-SDR or line-in into the store")
    common(lis)
    which = lis.add_mutually_exclusive_group(required=True)
    which.add_argument("--rtl-sdr", action="store_true", help="an RTL-SDR dongle (I/Q)")
    which.add_argument("--line-in", action="store_true", help="a sound card input (MPX)")
    lis.add_argument("--freq", type=float, metavar="HZ", help="RTL-SDR: station frequency")
    lis.add_argument("--gain", type=float, metavar="DB", help="RTL-SDR: tuner gain (default auto)")
    lis.add_argument("--ppm", type=int, default=0, metavar="N", help="RTL-SDR: crystal correction")
    lis.add_argument("--device", metavar="D", help="line-in: device index or name")
    lis.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    lis.set_defaults(func=_cmd_listen)
    return parser


def receiver_main(argv: list[str]) -> int:
    """``hotcast receiver ARGS``: returns the exit status."""
    return run_command("receiver", _parser(), argv)


if __name__ == "__main__":
    sys.exit(receiver_main(sys.argv[1:]))
