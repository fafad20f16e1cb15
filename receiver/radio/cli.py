"""``hotcast receiver ...``: profiles; decode a file or standard input; listen to a device;
monitor what is on air without a terminal home.

Output (CONTRACT.md): JSON lines on stdout, first a ``start`` event naming the input, then the
events of ``receiver.radio.pipeline`` / ``receiver.store.merge`` (``receiver.events``) as they
happen, last a ``summary`` with ``seconds_of_cpu``; messages on stderr. Live input adds the UTC
receive time (``utc``) to every event. Exit 0 when the input was read to its end (or the run
was stopped by SIGINT / SIGTERM / ``--duration``), whatever it held; 2 when the input itself is
unusable or the usage is wrong (unknown format, missing or contradicting rate, a rate the
profile cannot use, a WAV we cannot read, a missing file, no terminal store), with nothing
changed; 1 on any other failure (a device that fails mid-run, or standard input that turns
out unreadable after decoding began, such as a malformed `.ir` line: a `.ir` file is checked
whole before, so it exits 2). A closed stdout stops the printing, never the decoding: what is
heard is still applied. Warnings of the source (a ``--rate`` or ``--format`` that overrode a
``.sigmf-meta``) go to stderr before the first event.

Test seam: ``DEVICE_FACTORIES["rtl_sdr"]`` (called with a device index, returns an object
like ``rtlsdr.RtlSdr``) and ``DEVICE_FACTORIES["line_in"]`` (called with the
``sounddevice.InputStream`` keyword arguments) replace the real devices when set; tests set
them to ``receiver.radio._device_fake`` fakes.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import signal
import time
from collections.abc import Callable
from typing import Any

from crypto import BundleError, KeyFileError, read_unverified_header
from crypto import preload as preload_ciphers
from framing import bundle_digest
from modem import InputKind, modem_profile
from modem.rates import format_hz, hz_argument
from receiver.cli import open_store
from receiver.errors import SourceConfigError, SourceError, UsageError
from receiver.events import Event, HeardOnAir, InputProblem, Start, Summary
from receiver.radio.pipeline import PipelineConfig, ReceivePipeline
from receiver.radio.pipeline_config import receive_profiles
from receiver.radio.stages import StageTimer, format_stages, ordered
from receiver.radio.sources import (
    KNOWN_FORMATS,
    LineInConfig,
    LineInSource,
    RtlSdrConfig,
    RtlSdrSource,
    Source,
    TeeRaw,
    open_source,
)
from receiver.store.merge import BundleMerger

__all__ = ["DEVICE_FACTORIES", "add_commands"]

ROLE = "terminal"
# Device factories; None = the real device (see the module docstring: the test seam).
DEVICE_FACTORIES: dict[str, Callable[..., Any] | None] = {"rtl_sdr": None, "line_in": None}
DEFAULT_RTL_RATE_HZ = 1_200_000  # CONTRACT's I/Q default; decimates (2, 2) to a 300 kHz MPX
# The FM broadcast band: 76-108 MHz covers Japan's 76-95 MHz, the OIRT band and CCIR's
# 87.5-108 MHz.
FM_BAND_HZ = (76e6, 108e6)
# A sound card's highest common rate: enough for the MPX (fm needs > 2 x 88.8 kHz).
LINE_IN_MPX_RATE_HZ = 192_000


class _Interrupted(Exception):
    """SIGINT / SIGTERM arrived while waiting for input."""


def _cmd_profiles(args: argparse.Namespace, ctx) -> int:
    ctx.emit_many(receive_profiles())
    return 0


def _pipeline_for(profile: str, source: Source, vet=None) -> ReceivePipeline:
    try:
        return ReceivePipeline(PipelineConfig(profile, source.kind, source.sample_rate_hz), vet)
    except ValueError as exc:
        raise UsageError(f"{source.name}: {exc}") from None


def _open_file(args: argparse.Namespace, ctx) -> Source:
    try:
        source = open_source(args.input, args.format, args.rate)
    except SourceError as exc:
        raise UsageError(str(exc)) from None
    for warning in getattr(source, "warnings", ()):
        ctx.warn(warning)
    if source.fmt == "wav" and source.is_iq and not modem_profile(args.profile).takes_iq:
        source.downmix_to_mono()
        ctx.warn(f"{source.name}: a 2-channel WAV, read as stereo audio mixed to mono for "
                 f"profile {args.profile} (for the FM profiles a 2-channel WAV is I/Q)")
    return source


def _ready_to_verify(store) -> None:
    """Start-up work that bundles would otherwise pay on arrival: the store's keys parsed (and
    kept; a broken key file fails here, before any input is read), the ciphers' C modules
    loaded."""
    try:
        store.keys()
    except KeyFileError as exc:
        raise UsageError(f"terminal store {store.path}: {exc}") from None
    preload_ciphers()


def _cmd_decode(args: argparse.Namespace, ctx) -> int:
    with open_store(args, ctx) as store:
        _ready_to_verify(store)
        source = _open_file(args, ctx)
        return _run_with_source(args, ctx, source, BundleMerger(store), live=False,
                                vet=lambda data: store.vet_announcement(data, ctx.now()),
                                store=store)


def _cmd_listen(args: argparse.Namespace, ctx) -> int:
    if args.duration is not None and not args.duration > 0:
        raise UsageError(f"--duration must be a positive number of seconds, got {args.duration}")
    with open_store(args, ctx) as store:
        _ready_to_verify(store)
        source = _open_live(args)
        return _run_with_source(args, ctx, source, BundleMerger(store), live=True,
                                vet=lambda data: store.vet_announcement(data, ctx.now()),
                                store=store)


def _cmd_monitor(args: argparse.Namespace, ctx) -> int:
    """What is on air, without a home or keys: sync, quality, frames, unverified headers."""
    if args.input is not None:
        if args.rtl_sdr or args.line_in:
            raise UsageError("give --input FILE, or --rtl-sdr / --line-in, not both")
        source = _open_file(args, ctx)
        live = False
    else:
        if not (args.rtl_sdr or args.line_in):
            raise UsageError("say what to monitor: --input FILE|-, --rtl-sdr or --line-in")
        source = _open_live(args)
        live = True
    return _run_with_source(args, ctx, source, _Monitor(), live=live)


class _Monitor:
    """Stands where the merger stands: bundles are described, not verified, never applied."""

    def __init__(self) -> None:
        self.heard = 0

    def __repr__(self) -> str:
        return f"_Monitor(heard={self.heard})"

    def process(self, events: list[Event], now: int) -> list[Event]:
        from receiver.events import BundleReceived

        out: list[Event] = []
        for event in events:
            if not isinstance(event, BundleReceived):
                out.append(event)
                continue
            self.heard += 1
            try:
                header = read_unverified_header(event.data)
                fields = {"kind": header.kind.name.lower(), "seq": header.seq,
                          "base_seq": header.base_seq, "created_at": header.created_at,
                          "valid_until": header.valid_until,
                          "master_key_id": header.master_key_id,
                          "signing_key_id": header.signing_key_id}
                kind, seq, stream = header.kind.name.lower(), header.seq, int(header.kind)
            except BundleError as exc:
                fields, kind, seq, stream = None, f"unparsed ({exc})", -1, -1
            out.append(HeardOnAir(at=event.at, stream=stream, kind=kind, seq=seq,
                                  bytes=len(event.data), digest=bundle_digest(event.data).hex(),
                                  header=fields))
        return out


def _check_live_rate(profile: str, kind: InputKind, rate_hz: float) -> None:
    """Refuse a rate the profile cannot use before a device is opened."""
    try:
        modem_profile(profile).check_rate(kind, rate_hz)
    except ValueError as exc:
        raise UsageError(f"--rate: {exc}") from None


def _open_live(args: argparse.Namespace) -> Source:
    duration = args.duration
    try:
        entry = modem_profile(args.profile)
    except ValueError as exc:
        raise UsageError(f"--profile: {exc}") from None
    try:
        if args.rtl_sdr:
            if args.freq is None:
                raise UsageError("--rtl-sdr needs --freq HZ (the FM station's frequency)")
            if not entry.takes_iq:
                raise UsageError(f"profile {args.profile} is not carried on FM: use --line-in")
            if not FM_BAND_HZ[0] <= args.freq <= FM_BAND_HZ[1]:
                raise UsageError(f"--freq {format_hz(args.freq)} is outside the FM broadcast "
                                 f"band ({format_hz(FM_BAND_HZ[0])} - {format_hz(FM_BAND_HZ[1])})")
            rate = int(args.rate) if args.rate is not None else DEFAULT_RTL_RATE_HZ
            _check_live_rate(args.profile, InputKind.IQ, rate)
            config = RtlSdrConfig(
                center_freq_hz=args.freq, sample_rate_hz=rate,
                gain_db="auto" if args.gain in (None, "auto") else _gain(args.gain),
                freq_correction_ppm=args.ppm,
                device_index=_rtl_index(args.device),
                max_samples=None if duration is None else int(duration * rate))
            return RtlSdrSource(config, DEVICE_FACTORIES["rtl_sdr"])
        for flag in ("freq", "gain"):
            if getattr(args, flag) is not None:
                raise UsageError(f"--{flag} is for --rtl-sdr, not --line-in")
        default = (LINE_IN_MPX_RATE_HZ if entry.takes_iq else entry.default_baseband_rate_hz)
        rate = int(args.rate) if args.rate is not None else default
        _check_live_rate(args.profile, InputKind.BASEBAND, rate)
        device = args.device
        if device is not None and device.isdigit():
            device = int(device)
        config = LineInConfig(sample_rate_hz=rate, device=device,
                              max_samples=None if duration is None else int(duration * rate))
        return LineInSource(config, DEVICE_FACTORIES["line_in"])
    except SourceConfigError as exc:
        raise UsageError(str(exc)) from None


def _gain(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise UsageError(f"--gain {text!r}: a tuner gain in dB, or auto") from None


def _rtl_index(device: str | None) -> int:
    if device is None:
        return 0
    if not device.isdigit():
        raise UsageError(f"--device {device!r}: an RTL-SDR is named by its index (0, 1, ...; "
                         "`hotcast devices` lists them)")
    return int(device)


def _run_with_source(args: argparse.Namespace, ctx, source: Source, merger, *,
                     live: bool, vet=None, store=None) -> int:
    try:
        pipeline = _pipeline_for(args.profile, source, vet)  # checked before --tee-raw writes
        if hasattr(source, "align_reads"):  # file and stdin streams: whole pipeline blocks
            source.align_reads(pipeline.config.block_samples)
        if args.tee_raw is not None:
            try:
                source = TeeRaw(source, args.tee_raw)
            except SourceError as exc:
                raise UsageError(str(exc)) from None
        return _run(ctx, pipeline, merger, source, live, store)
    finally:
        source.close()


def _utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


def _run(ctx, pipeline: ReceivePipeline, merger, source: Source, live: bool,
         store=None) -> int:
    """Read, decode, merge and print until the input ends; the summary carries the CPU time
    of the loop (``seconds_of_cpu``) and its split by stage (``stages``; see
    ``receiver.radio.stages``), also printed as one line on stderr when that is a terminal."""
    cpu0 = time.process_time()
    timer = StageTimer()
    timer.add("startup", max(0.0, cpu0 - getattr(ctx, "started_cpu_s", cpu0)))

    def verifying() -> float:
        return store.seconds_verifying if store is not None else 0.0

    def merge(events: list[Event]) -> list[Event]:
        t0, v0 = time.process_time(), verifying()
        out = merger.process(events, ctx.now())
        timer.add("store_merge", time.process_time() - t0 - (verifying() - v0))
        return out

    def emit(events: list[Event]) -> None:
        stamp = _utc_now() if live else None
        for event in events:
            if stamp is not None:
                event = event.located(dataclasses.replace(event.at, utc=stamp))
            ctx.emit(event.to_json())

    emit([Start(at=pipeline.position(), input=source.name, format=source.fmt,
                sample_rate_hz=source.sample_rate_hz, is_iq=source.is_iq,
                profile=pipeline.config.profile)])
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
            t0 = time.process_time()
            try:
                state["in_read"] = True
                if state["stop"]:
                    break
                block = source.read_block()
            except _Interrupted:
                break
            except SourceError as exc:
                ctx.err.write(f"{ctx.prog}: {exc}\n")
                status = 1
                break
            finally:
                state["in_read"] = False
                timer.add("input_read", time.process_time() - t0)
            if block is None:
                break
            events = pipeline.process(block)
            if source.overflows > overflows:
                events.append(InputProblem(
                    at=pipeline.position(), problem="overrun",
                    why=f"the device dropped {source.overflows - overflows} block(s) before "
                        "they were read"))
                overflows = source.overflows
            emit(merge(events))
        events = pipeline.finish()
        if source.leftover_bytes:
            events.insert(0, InputProblem(
                at=pipeline.position(), problem="truncated",
                why=f"the input ended {source.leftover_bytes} byte(s) into a sample; they "
                    "were dropped"))
        final = merge(events)
        if final and isinstance(final[-1], Summary):
            cpu = time.process_time() - cpu0
            stages = _stages(timer, pipeline, verifying(), cpu)
            final[-1] = dataclasses.replace(
                final[-1], seconds_of_cpu=cpu, stopped="signal" if state["stop"] else None,
                stages=tuple(stages.items()))
            _tell_stages(ctx, stages, pipeline.seconds_of_signal, cpu)
        emit(final)
    finally:
        _restore(previous)
    return status


def _stages(timer: StageTimer, pipeline: ReceivePipeline, verify_s: float,
            cpu_s: float) -> dict[str, float]:
    """Every stage's CPU seconds, in pipeline order; ``other`` is what the loop spent outside
    them, so all but ``startup`` add up to ``cpu_s``."""
    seconds = dict(timer.seconds)
    seconds.update(pipeline.stage_seconds)
    seconds["verify_decrypt"] = verify_s
    seconds.setdefault("store_merge", 0.0)
    seconds["other"] = max(0.0, cpu_s - sum(v for k, v in seconds.items() if k != "startup"))
    return ordered(seconds)


def _tell_stages(ctx, stages: dict[str, float], signal_s: float, cpu_s: float) -> None:
    """The split as one line on stderr, for people: only when stderr is a terminal."""
    err = ctx.err
    if getattr(err, "isatty", None) is not None and err.isatty():
        err.write(f"{ctx.prog}: {format_stages(stages, signal_s, cpu_s)}\n")
        err.flush()


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


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Register the ``hotcast receiver`` commands."""
    prof = sub.add_parser("profiles", help="list the profiles with their rates (JSON lines)",
                          description="list the profiles with their rates (JSON lines)")
    prof.set_defaults(func=_cmd_profiles)

    def signal_options(cmd: argparse.ArgumentParser, home: bool) -> None:
        if home:
            cmd.add_argument("--home", help="terminal home (default $HOTCAST_HOME, else "
                                            "./hotcast-home)")
        cmd.add_argument("--profile", required=True, help="modem profile (see `hotcast "
                                                         "receiver profiles`)")
        cmd.add_argument("--rate", type=hz_argument, metavar="HZ",
                         help="sample rate in Hz (228k, 2.4M and 1.2e6 are understood)")
        cmd.add_argument("--tee-raw", metavar="PATH",
                         help="also keep the raw input in PATH (with .sigmf-meta)")

    def device_options(cmd: argparse.ArgumentParser, required: bool) -> None:
        which = cmd.add_mutually_exclusive_group(required=required)
        which.add_argument("--rtl-sdr", action="store_true", help="an RTL-SDR dongle (I/Q)")
        which.add_argument("--line-in", action="store_true", help="a sound card input "
                           "(baseband: a tuner's MPX, or sound)")
        cmd.add_argument("--freq", type=hz_argument, metavar="HZ",
                         help="RTL-SDR: station frequency (89.1M, 89100000)")
        cmd.add_argument("--gain", metavar="DB", help="RTL-SDR: tuner gain in dB, or auto "
                         "(default auto)")
        cmd.add_argument("--ppm", type=int, default=0, metavar="N", help="RTL-SDR: crystal "
                         "correction")
        cmd.add_argument("--device", metavar="D", help="RTL-SDR index, or line-in device index "
                         "or name (`hotcast devices` lists them)")
        cmd.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")

    text = "decode a signal file or standard input into the store"
    dec = sub.add_parser("decode", help=text, description=text)
    signal_options(dec, home=True)
    dec.add_argument("--input", required=True, metavar="FILE|-",
                     help="signal file (or .ir pulse text), - = stdin")
    dec.add_argument("--format", help=f"{' '.join(KNOWN_FORMATS)} (default: from the file)")
    dec.set_defaults(func=_cmd_decode)

    text = "decode a live RTL-SDR or line-in into the store"
    lis = sub.add_parser("listen", help=text, description=text)
    signal_options(lis, home=True)
    device_options(lis, required=True)
    lis.set_defaults(func=_cmd_listen)

    text = ("report what is on air (sync, SNR, offsets, frames, unverified bundle headers) "
            "without a terminal home or keys")
    mon = sub.add_parser("monitor", help=text, description=text)
    signal_options(mon, home=False)
    mon.add_argument("--input", metavar="FILE|-", help="signal file, - = stdin")
    mon.add_argument("--format", help=f"{' '.join(KNOWN_FORMATS)} (default: from the file)")
    device_options(mon, required=False)
    mon.set_defaults(func=_cmd_monitor)
