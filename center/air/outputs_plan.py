"""The ``output`` of a channel in a serve plan: what it is, checked against the profile table.

Kinds (``kind =``):
- ``sound-card``: ``device`` (PortAudio index or name; default the system's output). Plays the
  baseband: the MPX of FM profiles (default 192 kHz), sound (48 kHz), the 38 kHz infrared
  carrier (192 kHz) for an emitter on a line out.
- ``stream``: an endless raw stream for a transmitter program: ``path`` ``"-"`` (standard
  output, the default) or an existing FIFO (``mkfifo``). ``format`` ``s16le`` (default),
  ``f32le``, ``wav`` (streaming header), or for FM profiles a whole FM signal as I/Q:
  ``cu8``, ``cs8``, ``cs16``, ``cf32`` (default 1.2 MHz). The reader paces it.
- ``files``: rotating signal files of ``file_seconds`` (default 60) in ``dir``, each with its
  SigMF metadata, ``format`` ``wav`` by default; ``keep_files`` newest kept (0: all).
- ``ir-files``: the ``.ir`` series for ``ir-ctl --send`` (profile ``ir`` only), in ``dir``,
  ``keep_files`` newest kept.

``rate`` (a channel key) is the output's sample rate; the profile table says which rates each
profile can transmit (``modem.ModemProfile.check_tx_rate``); nothing here restates them.

Invariants: ``check_output`` returns a complete ``OutputPlan`` or raises ``OutputFieldError``
naming the field; it looks at the file system only to tell a FIFO from a file and whether a
folder can be made; it opens nothing.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from modem import Baseband, InputKind, TxOptions, modem_profile
from modem.formats import FORMAT_BY_EXTENSION, is_iq_format

OUTPUT_KINDS = ("sound-card", "stream", "files", "ir-files")
SOUND_CARD_MPX_RATE_HZ = 192_000  # the top rate of common sound cards: > 2 x 88 825 Hz (fm)
DEFAULT_IQ_RATE_HZ = 1_200_000  # an RTL-SDR's usual rate, as `center render`
MAX_FILE_SECONDS = 3600.0
MAX_KEEP_FILES = 1_000_000
_FORMATS = sorted(set(FORMAT_BY_EXTENSION.values()))
_KEYS = {
    "sound-card": {"kind", "device"},
    "stream": {"kind", "path", "format"},
    "files": {"kind", "dir", "format", "file_seconds", "keep_files"},
    "ir-files": {"kind", "dir", "keep_files"},
}


class OutputFieldError(ValueError):
    """A bad output setting; ``field`` is its key in the output table (or ``rate``,
    ``with_programme`` of the channel), None for the output as a whole."""

    def __init__(self, field: str | None, message: str) -> None:
        self.field = field
        super().__init__(message)


@dataclass(frozen=True)
class OutputPlan:
    kind: str
    rate_hz: int | None  # samples per second out; None for .ir pulse files
    format: str | None  # raw sample format of stream and files outputs
    device: int | str | None = None
    path: str | None = None  # stream: "-" or a FIFO
    dir: Path | None = None
    file_seconds: float = 60.0
    keep_files: int = 0

    @property
    def iq(self) -> bool:
        return self.format is not None and is_iq_format(self.format)

    @property
    def paced_by_clock(self) -> bool:
        """Files take samples as fast as they come: serve paces them by the clock. A sound
        card or a stream's reader paces itself (the blocking write is the clock)."""
        return self.kind in ("files", "ir-files")

    def identity(self) -> tuple:
        """What two channels must not share."""
        if self.kind == "sound-card":
            return ("sound-card", self.device)
        if self.kind == "stream":
            return ("stream", self.path if self.path == "-" else os.path.realpath(self.path))
        return ("dir", os.path.realpath(self.dir))

    def describe(self) -> str:
        if self.kind == "sound-card":
            return f"sound card {self.device if self.device is not None else '(default)'}"
        if self.kind == "stream":
            where = "standard output" if self.path == "-" else self.path
            return f"stream {self.format} to {where}"
        if self.kind == "files":
            return f"{self.format} files of {self.file_seconds:g} s in {self.dir}"
        return f".ir files in {self.dir}"

    def tx_options(self, level: float | None, with_programme: bool) -> TxOptions:
        if self.rate_hz is None:  # .ir pulse durations: no sample rate
            return TxOptions(level=level)
        if self.iq:
            return TxOptions(iq_rate_hz=self.rate_hz, level=level, with_programme=with_programme)
        return TxOptions(baseband_rate_hz=self.rate_hz, level=level, with_programme=with_programme)


def check_output(raw: object, profile: str, rate: int | None, with_programme: bool,
                 base_dir: Path) -> OutputPlan:
    """The checked output of a channel of ``profile`` (``raw``: a kind name or a table)."""
    if isinstance(raw, str):
        raw = {"kind": raw}
    if not isinstance(raw, dict):
        raise OutputFieldError(None, "want a kind name or a table such as { kind = \"files\", "
                                     "dir = \"air\" }")
    kind = raw.get("kind")
    if kind not in OUTPUT_KINDS:
        raise OutputFieldError("kind" if "kind" in raw else None,
                               f"want kind = one of {', '.join(OUTPUT_KINDS)}, got {kind!r}")
    for key in raw:
        if key not in _KEYS[kind]:
            raise OutputFieldError(key, f"unknown key for a {kind} output; known: "
                                        f"{', '.join(sorted(_KEYS[kind]))}")
    entry = modem_profile(profile)
    if with_programme and entry.baseband is not Baseband.MPX:
        raise OutputFieldError("with_programme", f"profile {profile} has no FM multiplex to "
                                                 "add a programme to")
    if kind == "ir-files":
        if entry.baseband is not Baseband.PULSES:
            raise OutputFieldError("kind", f"ir-files carry infrared pulses; profile {profile} "
                                           "has none (use files or stream)")
        if rate is not None:
            raise OutputFieldError("rate", ".ir files hold pulse durations: no rate")
        return OutputPlan("ir-files", None, None, dir=_folder(raw, base_dir),
                          keep_files=_keep(raw))
    if kind == "sound-card":
        device = raw.get("device")
        if device is not None and (isinstance(device, bool) or not isinstance(device, (int, str))):
            raise OutputFieldError("device", f"want a device index or name, got {device!r}")
        return OutputPlan("sound-card", _rate(entry, rate, iq=False, sound_card=True), None,
                          device=device)
    fmt = raw.get("format", "wav" if kind == "files" else "s16le")
    if fmt not in _FORMATS:
        raise OutputFieldError("format", f"unknown format {fmt!r}; known: {', '.join(_FORMATS)}")
    iq = is_iq_format(fmt)
    if iq and not entry.takes_iq:
        raise OutputFieldError("format", f"{fmt} holds a whole FM signal; profile {profile} is "
                                         "not carried on FM: give s16le, f32le or wav")
    out_rate = _rate(entry, rate, iq=iq, sound_card=False)
    if kind == "stream":
        return OutputPlan("stream", out_rate, fmt, path=_stream_path(raw, base_dir))
    seconds = raw.get("file_seconds", 60)
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not (
            1 <= seconds <= MAX_FILE_SECONDS):
        raise OutputFieldError("file_seconds", f"want 1 to {MAX_FILE_SECONDS:g} seconds, got "
                                               f"{seconds!r}")
    return OutputPlan("files", out_rate, fmt, dir=_folder(raw, base_dir),
                      file_seconds=float(seconds), keep_files=_keep(raw))


def _rate(entry, rate: int | None, *, iq: bool, sound_card: bool) -> int:
    if rate is None:
        if iq:
            rate = DEFAULT_IQ_RATE_HZ
        elif entry.baseband is Baseband.MPX and sound_card:
            rate = SOUND_CARD_MPX_RATE_HZ
        elif entry.tx_rates_hz is not None and entry.default_baseband_rate_hz not in entry.tx_rates_hz:
            rate = max(entry.tx_rates_hz)  # ir: the carrier needs 96 or 192 kHz
        else:
            rate = entry.default_baseband_rate_hz
    try:
        if iq:
            entry.check_rate(InputKind.IQ, rate)
        else:
            entry.check_tx_rate(rate)
    except ValueError as exc:
        raise OutputFieldError("rate", str(exc)) from None
    return int(rate)


def _folder(raw: dict, base_dir: Path) -> Path:
    folder = raw.get("dir")
    if not isinstance(folder, str) or not folder:
        raise OutputFieldError("dir" if "dir" in raw else None, "want dir = a folder for the files")
    path = (base_dir / folder).resolve()
    probe = path
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise OutputFieldError("dir", f"{path} cannot be made: {probe} is not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise OutputFieldError("dir", f"{probe} is not writable")
    return path


def _stream_path(raw: dict, base_dir: Path) -> str:
    path = raw.get("path", "-")
    if not isinstance(path, str) or not path:
        raise OutputFieldError("path", f"want \"-\" (standard output) or a FIFO, got {path!r}")
    if path == "-":
        return path
    full = str((base_dir / path).resolve())
    try:
        mode = os.stat(full).st_mode
    except OSError:
        raise OutputFieldError("path", f"{full} does not exist: make the FIFO first "
                                       f"(mkfifo {full})") from None
    if not (stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)):
        raise OutputFieldError("path", f"{full} is not a FIFO: a stream never ends, so a regular "
                                       "file would fill the disk (use kind = \"files\")")
    return full


def _keep(raw: dict) -> int:
    keep = raw.get("keep_files", 0)
    if isinstance(keep, bool) or not isinstance(keep, int) or not 0 <= keep <= MAX_KEEP_FILES:
        raise OutputFieldError("keep_files", f"want 0 (keep all) to {MAX_KEEP_FILES}, got {keep!r}")
    return keep
