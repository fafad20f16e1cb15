"""The outputs of ``center serve``: a sound card, a raw stream, rotating files, ``.ir`` files.

Each output takes whole frames of one channel, ``write(block, air_s)`` with a
``center.air.live.LiveBlock`` and the unix time its first sample goes on air, and ends with
``close()`` (finish: rename files into place, let a card play out) or ``abort()`` (drop).
``open_output(channel, ...)`` opens the one a plan names; a setting that cannot work at all (a
device that does not open, standard output that is a terminal or a regular file) is
``OutputOpenError`` (bad input: ``serve`` refuses to start); anything that fails later is an
ordinary error that the channel's writer reports and retries.

Files (``files``, ``ir-files``) are named ``<channel>-<serial>.<ext>`` with a serial that goes
on from the highest in the folder, so a restart never overwrites; a signal file is written to
``.part`` and renamed with its ``.sigmf-meta`` only when whole, an ``.ir`` file to a temporary
name and renamed; part files left by a killed serve are removed when the output opens, so
nothing half-made is ever there to be played. ``keep_files`` prunes the oldest.

A signal file holds ``file_seconds`` of signal, cut at the first frame boundary after it (a
receiver fed the series in order sees one continuous signal; each file alone decodes from its
first whole frame after acquisition). ``.ir`` files are ir-ctl transmissions
(``modem.irtext.ir_carousel_files``: each <= 500 ms and 1023 values, cut at block syncs).
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import re
import stat
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from center.air.outputs_plan import OutputPlan
from center.air.sinks import INTEGER_IQ_LEVEL, META_SUFFIX, PART_SUFFIX, FileSink, SoundCardSink
from center.errors import CenterInputError
from modem.formats import FORMAT_BY_EXTENSION, encode_samples
from modem.irtext import ir_carousel_files

EXTENSION_OF = {fmt: ext for ext, fmt in FORMAT_BY_EXTENSION.items()}
IR_EXTENSION = ".ir"
_WAIT_FOR_READER_S = 0.2


class OutputOpenError(CenterInputError):
    """An output that cannot be used as the plan says (refused before anything goes on air)."""


class OutputClosedError(Exception):
    """The reader of standard output went away: this output is over for good."""


def utc_text(t: float) -> str:
    return dt.datetime.fromtimestamp(t, tz=dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class SoundCardOutput:
    """A channel's baseband on a sound card (``center.air.sinks.SoundCardSink``)."""

    def __init__(self, profile: str, plan: OutputPlan, stream_factory: Callable | None) -> None:
        self._sink = SoundCardSink(profile, plan.rate_hz, plan.device, stream_factory=stream_factory)

    def __repr__(self) -> str:
        return f"SoundCardOutput({self._sink!r})"

    def write(self, block, air_s: float) -> None:
        self._sink.write(block.samples)

    def close(self) -> None:
        self._sink.close()

    def abort(self) -> None:
        self._sink.abort()


class StreamOutput:
    """Raw samples, endlessly, to standard output or a FIFO; the reader paces it."""

    def __init__(self, plan: OutputPlan, stdout: BinaryIO | None = None,
                 stop: Callable[[], bool] = lambda: False) -> None:
        self.plan = plan
        self._raw = "s16le" if plan.format == "wav" else plan.format
        if plan.path == "-":
            self._file = stdout if stdout is not None else sys.stdout.buffer
            self._owned = False
        else:
            self._file = _open_fifo(plan.path, stop)
            self._owned = True
        if plan.format == "wav":
            from center.air.sinks import _wav_header  # the streaming header (sizes "to the end")
            self._file.write(_wav_header(plan.rate_hz, None))

    def __repr__(self) -> str:
        return f"StreamOutput({self.plan.path!r}, {self.plan.format!r})"

    def write(self, block, air_s: float) -> None:
        samples = block.samples
        if self._raw in ("cu8", "cs8"):
            samples = samples * np.float32(INTEGER_IQ_LEVEL)
        try:
            self._file.write(encode_samples(samples, self._raw))
            self._file.flush()
        except BrokenPipeError:
            if not self._owned:
                raise OutputClosedError("the reader of standard output went away") from None
            raise

    def close(self) -> None:
        try:
            self._file.flush()
        except OSError:
            pass
        if self._owned:
            self.abort()

    def abort(self) -> None:
        if self._owned:
            try:
                self._file.close()
            except OSError:
                pass


def _open_fifo(path: str, stop: Callable[[], bool]) -> BinaryIO:
    """Open a FIFO for writing once a reader has it open (polling, so a stop is honoured)."""
    while True:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            break
        except OSError as exc:
            if exc.errno != errno.ENXIO:
                raise
            if stop():
                raise OSError(errno.ENXIO, f"no reader on {path}") from None
            time.sleep(_WAIT_FOR_READER_S)
    os.set_blocking(fd, True)
    return os.fdopen(fd, "wb", buffering=0)


class _Series:
    """Numbered files ``<prefix>-<serial>.<ext>`` in a folder: next serial, pruning, leftovers."""

    def __init__(self, folder: Path, prefix: str, ext: str, keep: int) -> None:
        self.folder, self.prefix, self.ext, self.keep = Path(folder), prefix, ext, keep
        os.makedirs(self.folder, mode=0o700, exist_ok=True)
        self._pattern = re.compile(rf"^{re.escape(prefix)}-(\d{{8,}}){re.escape(ext)}$")
        for leftover in self.folder.iterdir():  # a killed serve's half-written files
            name = leftover.name
            if name.startswith((prefix + "-", "." + prefix + "-")) and (
                    name.endswith(PART_SUFFIX) or name.endswith(".tmp")):
                leftover.unlink(missing_ok=True)
        self.serial = max(self._serials(), default=0)

    def _serials(self) -> list[int]:
        out = []
        for p in self.folder.iterdir():
            m = self._pattern.match(p.name)
            if m:
                out.append(int(m.group(1)))
        return out

    def next_path(self) -> Path:
        self.serial += 1
        return self.folder / f"{self.prefix}-{self.serial:08d}{self.ext}"

    def prune(self) -> None:
        if not self.keep:
            return
        for serial in sorted(self._serials())[:-self.keep]:
            path = self.folder / f"{self.prefix}-{serial:08d}{self.ext}"
            path.unlink(missing_ok=True)
            Path(str(path) + META_SUFFIX).unlink(missing_ok=True)


class FilesOutput:
    """Rotating signal files of ``file_seconds`` each, with SigMF metadata."""

    def __init__(self, name: str, plan: OutputPlan, fields: Callable[[], dict]) -> None:
        self.plan, self.name, self._fields = plan, name, fields
        self._series = _Series(plan.dir, name, EXTENSION_OF[plan.format], plan.keep_files)
        self._sink: FileSink | None = None
        self._start_s = 0.0
        self._bundles: dict[tuple[int, int], None] = {}
        self._frames = 0

    def __repr__(self) -> str:
        return f"FilesOutput({str(self.plan.dir)!r}, {self.name!r})"

    def write(self, block, air_s: float) -> None:
        if self._sink is None:
            self._sink = FileSink(str(self._series.next_path()), self.plan.format,
                                  self.plan.rate_hz, description=f"hotcast serve, channel "
                                  f"{self.name}")
            self._start_s, self._bundles, self._frames = air_s, {}, 0
        self._sink.write(block.samples)
        self._frames += block.frames
        for slot in block.slots:
            if slot is not None:
                self._bundles[slot[:2]] = None
        if self._sink.samples >= self.plan.file_seconds * self.plan.rate_hz:
            self._finish()

    def _finish(self) -> None:
        sink, self._sink = self._sink, None
        seconds = sink.samples / self.plan.rate_hz
        sink.close({**self._fields(), "channel": self.name, "start": round(self._start_s, 6),
                    "seconds": seconds, "frames": self._frames,
                    "bundles": [{"stream": s, "seq": q} for s, q in self._bundles]},
                   datetime_utc=utc_text(self._start_s))
        self._series.prune()

    def close(self) -> None:
        if self._sink is not None:
            self._finish()

    def abort(self) -> None:
        if self._sink is not None:
            self._sink.abort()
            self._sink = None


class IrFilesOutput:
    """``.ir`` files for ``ir-ctl --send``, one per transmission."""

    def __init__(self, name: str, plan: OutputPlan) -> None:
        self.plan, self.name = plan, name
        self._series = _Series(plan.dir, name, IR_EXTENSION, plan.keep_files)

    def __repr__(self) -> str:
        return f"IrFilesOutput({str(self.plan.dir)!r}, {self.name!r})"

    def write(self, block, air_s: float) -> None:
        """``block.samples``: whole modulator blocks of signed durations (sync pulse first)."""
        for text in ir_carousel_files(np.asarray(block.samples, np.int32)):
            path = self._series.next_path()
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_text(text, encoding="ascii")
            os.replace(tmp, path)
        self._series.prune()

    def close(self) -> None:
        """Every file is whole once written: nothing to finish."""

    def abort(self) -> None:
        """Every file is whole once written: nothing to drop."""


def open_output(name: str, profile: str, plan: OutputPlan, *, fields: Callable[[], dict],
                stream_factory: Callable | None = None, stdout: BinaryIO | None = None,
                stop: Callable[[], bool] = lambda: False) -> Any:
    """Open the output ``plan`` of channel ``name``."""
    if plan.kind == "sound-card":
        return SoundCardOutput(profile, plan, stream_factory)
    if plan.kind == "stream":
        if plan.path == "-":
            _check_stdout(stdout)
        return StreamOutput(plan, stdout, stop)
    if plan.kind == "files":
        return FilesOutput(name, plan, fields)
    return IrFilesOutput(name, plan)


def _check_stdout(stdout: BinaryIO | None) -> None:
    stream = stdout if stdout is not None else sys.stdout.buffer
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return  # an in-memory stream (tests)
    if os.isatty(fd):
        raise OutputOpenError("standard output is a terminal: pipe it to the transmitter "
                              "program (| prog) or use a FIFO")
    if stat.S_ISREG(os.fstat(fd).st_mode):
        raise OutputOpenError("standard output is a regular file: an endless stream would fill "
                              "the disk; use kind = \"files\"")
