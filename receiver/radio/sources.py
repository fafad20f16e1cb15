"""Where a receiver's samples come from: files, standard input, RTL-SDR, line-in; and a tee.

Formats and rates (CONTRACT.md "signal files"): a file's format comes from ``--format``,
else its extension (.cu8 .cs8 .cs16 .cf32 I/Q; .wav .s16le .f32le baseband, a 2-channel WAV
being I/Q; .ir infrared pulse text), else its SigMF metadata; ``FILE.sigmf-meta`` beside
``FILE`` (else ``STEM.sigmf-meta``, and ``X.sigmf-meta`` beside ``X.sigmf-data``: the rule of
``modem.formats.sigmf_meta_candidates``) gives format and rate. What the user typed wins
over the metadata: a ``--rate`` or ``--format`` that disagrees with the ``.sigmf-meta`` is
used, and the source says so in ``warnings`` (the CLI prints them). What describes the
samples themselves is never overridden: a WAV gives its own rate and channels, and a
``--rate`` or ``.sigmf-meta`` that contradicts the WAV header is a ``SourceConfigError``
naming both sides, as is a SigMF datatype that contradicts the file extension (``--format``
settles it). A raw format whose rate comes from nowhere is refused naming ``--rate``.
`.ir` text has no rate (its durations are microseconds): ``--rate`` is refused for it, and a
`.ir` file is read through once when opened, so that a malformed line is refused (naming its
line) before anything is decoded.

Invariants: files are read in fixed chunks (``DEFAULT_CHUNK_BYTES``), never whole;
standard input is read with ``read1`` so a pipe from ``rtl_fm`` streams without waiting
for EOF; the bytes-to-samples conversion is ``modem.formats``' (and ``modem.irtext``'s)
alone; ``TeeRaw`` writes every raw byte it passes, byte for byte, before the samples are
used.
"""

from __future__ import annotations

import os
import sys
from typing import BinaryIO

from modem.errors import SampleFormatError
from modem.formats import (
    BASEBAND_FORMATS, BYTES_PER_SAMPLE, FORMAT_BY_EXTENSION, IQ_FORMATS, MAX_META_BYTES,
    SigmfMeta, WavDecoder,
    WavInfo, build_sigmf_meta, format_for_name, format_over_meta, is_iq_format, parse_sigmf_meta,
    rate_over_meta, sigmf_meta_candidates, sigmf_meta_path,
)
from modem.irtext import IrTextError
from modem.rates import format_hz, same_hz
from receiver.radio._device_base import (
    DEFAULT_CHUNK_BYTES, PULSE_CLOCK_HZ, IrTextBytesDecoder, Source, SourceConfigError,
    SourceError, SourceStats, check_rate_hz,
)
from receiver.radio._device_linein import LineInConfig, LineInSource
from receiver.radio._device_rtlsdr import RtlSdrConfig, RtlSdrSource

__all__ = [
    "DEFAULT_CHUNK_BYTES", "FileSource", "KNOWN_FORMATS", "LineInConfig", "LineInSource",
    "RtlSdrConfig", "RtlSdrSource", "Source", "SourceConfigError", "SourceError", "SourceStats",
    "StdinSource", "TeeRaw", "format_of_name", "open_source", "sigmf_meta_path",
]

IR_FORMAT = "ir"  # infrared pulse timings as ir-ctl / mode2 text (modem.irtext)
KNOWN_FORMATS = IQ_FORMATS + BASEBAND_FORMATS + (IR_FORMAT,)
_IR_EXTENSION = ".ir"


def format_of_name(name: str) -> str:
    """The format of a file name by its extension, ``.ir`` included; ``ValueError`` if none."""
    if name.lower().endswith(_IR_EXTENSION):
        return IR_FORMAT
    return format_for_name(name)


def _check_format(fmt: str) -> str:
    if fmt not in KNOWN_FORMATS:
        raise SourceConfigError(
            f"unknown --format {fmt!r}; use one of {', '.join(KNOWN_FORMATS)}"
        )
    return fmt


def _check_chunk_bytes(chunk_bytes: int) -> int:
    if isinstance(chunk_bytes, bool) or not isinstance(chunk_bytes, int) or chunk_bytes < 1:
        raise ValueError(f"chunk_bytes must be a positive int, got {chunk_bytes!r}")
    return chunk_bytes


class _StreamSource(Source):
    """Samples from a byte stream; a WAV header is read ahead to learn rate and channels.

    ``meta``/``meta_path``: the SigMF metadata the rate came from (for a WAV, its datatype
    must say real or complex as the WAV's channels do).
    """

    def __init__(self, reader: BinaryIO, name: str, fmt: str, rate_hz: float | None,
                 rate_origin: str, chunk_bytes: int, frequency_hz: float | None, *,
                 meta: SigmfMeta | None = None, meta_path: str = "",
                 warnings: tuple[str, ...] = ()) -> None:
        self._reader = reader
        self._chunk = _check_chunk_bytes(chunk_bytes)
        self._read = getattr(reader, "read1", None) or reader.read
        self._pending = b""
        is_iq = None
        if fmt == "wav":
            info = self._read_wav_header(name)
            wav_rate = float(info.sample_rate_hz)
            if rate_hz is not None and not same_hz(wav_rate, rate_hz):
                raise SourceConfigError(
                    f"{name}: the WAV header says {format_hz(wav_rate)} but {rate_origin} says "
                    f"{format_hz(rate_hz)}; drop {rate_origin} (a WAV gives its own rate)"
                )
            if meta is not None and is_iq_format(meta.fmt) != info.is_iq:
                raise SourceConfigError(
                    f"{name}: {meta_path} describes {meta.fmt} samples but the WAV header "
                    f"says {info.channels} channel(s) ({'I/Q' if info.is_iq else 'real'})"
                )
            rate_hz, is_iq = wav_rate, info.is_iq
        elif fmt == IR_FORMAT:
            if rate_hz is not None:
                raise SourceConfigError(
                    f"{name}: {rate_origin} does not apply to `.ir` pulse text (its durations are "
                    f"microseconds); drop it"
                )
            rate_hz = PULSE_CLOCK_HZ
        elif rate_hz is None:
            raise SourceConfigError(
                f"{name}: the sample rate of raw {fmt} input is unknown; give --rate HZ "
                f"(or put a SigMF .sigmf-meta beside the file)"
            )
        self._setup(name, fmt, rate_hz, frequency_hz, is_iq)
        self.warnings = tuple(warnings)

    def _read_wav_header(self, name: str) -> WavInfo:
        """Read until the WAV header is whole; the bytes wait in ``_pending`` for the
        source's own decoder, so ``TeeRaw`` and the samples still see all of them."""
        probe = WavDecoder()
        while probe.info is None:
            chunk = self._read(self._chunk)
            if not chunk:
                raise SourceError(
                    f"{name}: WAV header is truncated (input ended after "
                    f"{len(self._pending)} bytes, before the 'data' chunk)"
                )
            self._pending += chunk
            try:
                probe.process(chunk)
            except SampleFormatError as exc:
                raise SourceError(f"{name}: {exc}") from None
        return probe.info

    def align_reads(self, samples: int) -> None:
        """Read raw sample formats in chunks of a whole number of ``samples`` (near the chunk
        size asked for), so that a consumer cutting blocks of that many samples finds each in
        one chunk and uses it where it is (``ReceivePipeline``: no copy of 1 MB a block at
        1.2 MHz). WAV (a header before the samples) and `.ir` text keep their chunks. What
        comes out is the same; only where the chunks end changes."""
        size = BYTES_PER_SAMPLE.get(self.fmt)
        if size is None or samples < 1:
            return
        block = samples * size
        self._chunk = max(1, round(self._chunk / block)) * block

    def read_raw(self) -> bytes | None:
        if self._pending:
            raw, self._pending = self._pending, b""
            return raw
        try:
            chunk = self._read(self._chunk)
        except OSError as exc:
            raise SourceError(f"{self.name}: read failed: {exc}") from None
        return bytes(chunk) if chunk else None


class FileSource(_StreamSource):
    """Samples from a signal file (see the module docstring for how format and rate are found)."""

    def __init__(self, path: str | os.PathLike, fmt: str | None = None,
                 rate_hz: float | None = None, *,
                 chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> None:
        path = os.fspath(path)
        self.path = path
        if rate_hz is not None:
            rate_hz = check_rate_hz(rate_hz, "--rate")
        if fmt is not None:
            _check_format(fmt)
        try:
            by_ext: str | None = format_of_name(path)
        except ValueError:
            by_ext = None
        is_ir = (fmt or by_ext) == IR_FORMAT
        meta, meta_path = (None, "") if is_ir else _read_meta(path, need=fmt is None)
        fmt, origin, warnings = _resolve_format(path, fmt, by_ext, meta, meta_path)
        frequency_hz = meta.frequency_hz if meta else None
        rate_origin = "--rate"
        if meta is not None:
            flagged = rate_hz is not None
            rate_hz, warning = rate_over_meta(rate_hz, meta.sample_rate_hz, meta_path)
            warnings += [f"{path}: {warning}"] if warning else []
            rate_origin = "--rate" if flagged else meta_path
        try:
            reader = open(path, "rb", buffering=0)  # noqa: SIM115 - closed by close()
        except OSError as exc:
            raise SourceError(f"cannot open {path}: {exc.strerror or exc}") from None
        try:
            if fmt == IR_FORMAT:
                _check_ir_file(reader, path, chunk_bytes)
            super().__init__(reader, path, fmt, rate_hz, rate_origin, chunk_bytes, frequency_hz,
                             meta=meta, meta_path=meta_path, warnings=tuple(warnings))
        except Exception:
            reader.close()
            raise
        self.format_origin = origin

    def close(self) -> None:
        self._reader.close()


def _check_ir_file(reader: BinaryIO, path: str, chunk_bytes: int) -> None:
    """Read a `.ir` file through once (constant memory) so that a malformed line is refused
    before any of it is decoded; then rewind."""
    check = IrTextBytesDecoder()
    try:
        while chunk := reader.read(chunk_bytes):
            check.process(chunk)
        check.flush()
        reader.seek(0)
    except IrTextError as exc:
        raise SourceError(f"{path}: {exc}") from None
    except OSError as exc:
        raise SourceError(f"{path}: read failed: {exc.strerror or exc}") from None


def _read_meta(path: str, need: bool) -> tuple[SigmfMeta | None, str]:
    """(SigMF metadata beside ``path`` or None, its path); errors name the meta file."""
    found = [p for p in sigmf_meta_candidates(path) if os.path.exists(p)]
    if not found:
        if path.endswith(".sigmf-data") and need:
            raise SourceError(
                f"{path}: no {sigmf_meta_path(path)} beside it to give format and rate; "
                f"give --format and --rate"
            )
        return None, ""
    meta_path = found[0]
    try:
        with open(meta_path, "rb") as f:
            text = f.read(MAX_META_BYTES + 1)
    except OSError as exc:
        raise SourceError(f"cannot read {meta_path}: {exc.strerror or exc}") from None
    try:
        return parse_sigmf_meta(text), meta_path
    except SampleFormatError as exc:
        raise SourceError(f"{meta_path}: {exc}") from None


def _resolve_format(path: str, fmt: str | None, by_ext: str | None, meta: SigmfMeta | None,
                    meta_path: str) -> tuple[str, str, list[str]]:
    """(format, where it came from, warnings) for ``path``. ``--format`` wins over the
    metadata with a warning; the metadata against the extension is a ``SourceConfigError``
    (nothing says which is right: ``--format`` settles it). A WAV's metadata is checked
    against its header once that is read (``_StreamSource``)."""
    if fmt is not None:
        chosen, origin = fmt, "--format"
    elif by_ext is not None:
        chosen, origin = by_ext, "the file extension"
    elif meta is not None:
        return meta.fmt, meta_path, []
    else:
        raise SourceConfigError(
            f"{path}: cannot tell the sample format from the extension; use one of "
            f"{', '.join((*FORMAT_BY_EXTENSION, _IR_EXTENSION))} or give --format"
        )
    if meta is None or chosen == "wav" or meta.fmt == chosen:
        return chosen, origin, []
    if origin == "--format":
        chosen, warning = format_over_meta(chosen, meta.fmt, meta_path)
        return chosen, origin, [f"{path}: {warning}"]
    raise SourceConfigError(
        f"{path}: {meta_path} describes {meta.fmt} samples but the file extension says "
        f"{chosen}; give --format to say which"
    )


class StdinSource(_StreamSource):
    """Samples from standard input (``--input -``); the format must be named."""

    def __init__(self, fmt: str | None, rate_hz: float | None = None, *,
                 stream: BinaryIO | None = None,
                 chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> None:
        name = "standard input"
        if fmt is None:
            raise SourceConfigError(
                f"{name} has no file name to tell its format from; give --format "
                f"(one of {', '.join(KNOWN_FORMATS)})"
            )
        if rate_hz is not None:
            rate_hz = check_rate_hz(rate_hz, "--rate")
        reader = stream if stream is not None else sys.stdin.buffer
        super().__init__(reader, name, _check_format(fmt), rate_hz, "--rate", chunk_bytes, None)


class TeeRaw(Source):
    """Pass a source through unchanged while writing every raw byte read to ``path``.

    A SigMF ``.sigmf-meta`` is written beside the copy (see ``sigmf_meta_path``) when the
    raw format is a raw sample format (a WAV copy carries its own header, a `.ir` copy needs
    none), so the copy is a capture that ``FileSource`` opens as it is.
    """

    def __init__(self, source: Source, path: str | os.PathLike) -> None:
        path = os.fspath(path)
        src_path = getattr(source, "path", None)
        if src_path and os.path.exists(path) and os.path.samefile(path, src_path):
            raise SourceConfigError(f"--tee-raw {path} is the input itself; name another file")
        try:
            named = format_of_name(path)
        except ValueError:
            named = source.fmt  # no telling extension: the .sigmf-meta will say
        if named != source.fmt:
            raise SourceConfigError(
                f"--tee-raw {path}: the extension says {named} but the raw input is "
                f"{source.fmt}; name it .{source.fmt} or .sigmf-data"
            )
        self._inner = source
        self.tee_path = path
        try:
            self._out = open(path, "wb")  # noqa: SIM115 - closed by close()
            if source.fmt not in ("wav", IR_FORMAT):
                meta = SigmfMeta(source.fmt, source.sample_rate_hz, source.frequency_hz,
                                 description=f"hotcast --tee-raw of {source.name}")
                with open(sigmf_meta_path(path), "w", encoding="utf-8") as f:
                    f.write(build_sigmf_meta(meta))
        except OSError as exc:
            raise SourceError(f"cannot write --tee-raw {path}: {exc.strerror or exc}") from None
        self._setup(source.name, source.fmt, source.sample_rate_hz, source.frequency_hz,
                    source.is_iq)
        self.warnings = source.warnings

    def read_raw(self) -> bytes | None:
        raw = self._inner.read_raw()
        if raw is not None:
            try:
                self._out.write(raw)
                self._out.flush()  # a crash or kill keeps everything read so far
            except OSError as exc:
                raise SourceError(f"--tee-raw {self.tee_path}: write failed: {exc}") from None
        return raw

    @property
    def overflows(self) -> int:
        return self._inner.overflows

    def close(self) -> None:
        self._out.close()
        self._inner.close()


def open_source(input_path: str, fmt: str | None = None, rate_hz: float | None = None,
                tee_raw: str | None = None, *,
                chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> Source:
    """The source for ``--input`` (``-`` is standard input), wrapped in ``TeeRaw`` if asked."""
    if input_path == "-":
        source: Source = StdinSource(fmt, rate_hz, chunk_bytes=chunk_bytes)
    else:
        source = FileSource(input_path, fmt, rate_hz, chunk_bytes=chunk_bytes)
    if tee_raw is None:
        return source
    try:
        return TeeRaw(source, tee_raw)
    except Exception:
        source.close()
        raise
