"""Where a receiver's samples come from: files, standard input, RTL-SDR, line-in; and a tee.

Formats and rates (CONTRACT.md "signal files"): a file's format comes from ``--format``,
else its extension (.cu8 .cs8 .cf32 I/Q; .wav .s16le .f32le baseband), else its SigMF
metadata; ``FILE.sigmf-meta`` beside ``FILE`` (else ``STEM.sigmf-meta``, and
``X.sigmf-meta`` beside ``X.sigmf-data``) gives format and rate. A WAV gives its own
rate. Anything that contradicts anything else (``--rate`` against the WAV header or the
SigMF rate, the SigMF datatype against the extension or ``--format``) is a
``SourceConfigError`` naming both sides; a raw format whose rate comes from nowhere is
one naming ``--rate``.

Invariants: files are read in fixed chunks (``DEFAULT_CHUNK_BYTES``), never whole;
standard input is read with ``read1`` so a pipe from ``rtl_fm`` streams without waiting
for EOF; the bytes-to-samples conversion is ``modem.formats``' alone; ``TeeRaw`` writes
every raw byte it passes, byte for byte, before the samples are used.
"""

from __future__ import annotations

import os
import sys
from typing import BinaryIO

from modem.errors import SampleFormatError
from modem.formats import (
    BASEBAND_FORMATS, FORMAT_BY_EXTENSION, IQ_FORMATS, SigmfMeta, WavDecoder,
    build_sigmf_meta, format_for_name, parse_sigmf_meta,
)
from receiver.radio._device_base import (
    DEFAULT_CHUNK_BYTES, Source, SourceConfigError, SourceError, SourceStats,
    check_rate_hz, sigmf_meta_candidates, sigmf_meta_path,
)
from receiver.radio._device_linein import LineInConfig, LineInSource
from receiver.radio._device_rtlsdr import RtlSdrConfig, RtlSdrSource

__all__ = [
    "DEFAULT_CHUNK_BYTES", "FileSource", "LineInConfig", "LineInSource", "RtlSdrConfig",
    "RtlSdrSource", "Source", "SourceConfigError", "SourceError", "SourceStats",
    "StdinSource", "TeeRaw", "open_source", "sigmf_meta_path",
]

KNOWN_FORMATS = IQ_FORMATS + BASEBAND_FORMATS
# Rates that agree to 1 ppm are the same rate: SigMF stores floats, and an RTL-SDR reports
# the rate its crystal makes (asked for 1 MHz: 28.8 MHz * 2**22 / 120795952 = 1 000 000.026).
RATE_TOLERANCE = 1e-6
# A .sigmf-meta bigger than this is not metadata we will parse.
MAX_META_BYTES = 1 << 20


def _same_rate(a: float, b: float) -> bool:
    return abs(a - b) <= RATE_TOLERANCE * max(a, b)


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
    """Samples from a byte stream; a WAV header is read ahead to learn the rate."""

    def __init__(self, reader: BinaryIO, name: str, fmt: str, rate_hz: float | None,
                 rate_origin: str, chunk_bytes: int, frequency_hz: float | None) -> None:
        self._reader = reader
        self._chunk = _check_chunk_bytes(chunk_bytes)
        self._read = getattr(reader, "read1", None) or reader.read
        self._pending = b""
        if fmt == "wav":
            wav_rate = self._read_wav_rate(name)
            if rate_hz is not None and not _same_rate(wav_rate, rate_hz):
                raise SourceConfigError(
                    f"{name}: the WAV header says {wav_rate:g} Hz but {rate_origin} says "
                    f"{rate_hz:g} Hz; drop {rate_origin} (a WAV gives its own rate)"
                )
            rate_hz = wav_rate
        elif rate_hz is None:
            raise SourceConfigError(
                f"{name}: the sample rate of raw {fmt} input is unknown; give --rate HZ "
                f"(or put a SigMF .sigmf-meta beside the file)"
            )
        self._setup(name, fmt, rate_hz, frequency_hz)

    def _read_wav_rate(self, name: str) -> float:
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
        return float(probe.info.sample_rate_hz)

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
        meta, meta_path = _read_meta(path, need=fmt is None)
        fmt, origin = _resolve_format(path, fmt, meta, meta_path)
        frequency_hz = meta.frequency_hz if meta else None
        rate_origin = "--rate"
        if meta is not None:
            if rate_hz is not None and not _same_rate(rate_hz, meta.sample_rate_hz):
                raise SourceConfigError(
                    f"{path}: {meta_path} says core:sample_rate "
                    f"{meta.sample_rate_hz:g} Hz but --rate says {rate_hz:g} Hz"
                )
            rate_hz, rate_origin = meta.sample_rate_hz, meta_path
        try:
            reader = open(path, "rb", buffering=0)  # noqa: SIM115 - closed by close()
        except OSError as exc:
            raise SourceError(f"cannot open {path}: {exc.strerror or exc}") from None
        try:
            super().__init__(reader, path, fmt, rate_hz, rate_origin, chunk_bytes, frequency_hz)
        except Exception:
            reader.close()
            raise
        self.format_origin = origin

    def close(self) -> None:
        self._reader.close()


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
    if len(text) > MAX_META_BYTES:
        raise SourceError(f"{meta_path}: larger than {MAX_META_BYTES} bytes, not SigMF metadata")
    try:
        return parse_sigmf_meta(text), meta_path
    except SampleFormatError as exc:
        raise SourceError(f"{meta_path}: {exc}") from None


def _resolve_format(path: str, fmt: str | None, meta: SigmfMeta | None,
                    meta_path: str) -> tuple[str, str]:
    """(format, where it came from) for ``path``; conflicts raise ``SourceConfigError``."""
    try:
        by_ext: str | None = format_for_name(path)
    except ValueError:
        by_ext = None
    if fmt is not None:
        chosen, origin = _check_format(fmt), "--format"
    elif by_ext is not None:
        chosen, origin = by_ext, "the file extension"
    elif meta is not None:
        return meta.fmt, meta_path
    else:
        raise SourceConfigError(
            f"{path}: cannot tell the sample format from the extension; use one of "
            f"{', '.join(FORMAT_BY_EXTENSION)} or give --format"
        )
    if meta is not None:
        # A WAV's SigMF metadata describes the samples inside it: real 16-bit or float.
        fits = meta.fmt in ("s16le", "f32le") if chosen == "wav" else meta.fmt == chosen
        if not fits:
            raise SourceConfigError(
                f"{path}: {meta_path} describes {meta.fmt} samples but "
                f"{origin} says {chosen}"
            )
    return chosen, origin


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
    raw format is not WAV (a WAV copy carries its own header), so the copy is a capture
    that ``FileSource`` opens as it is.
    """

    def __init__(self, source: Source, path: str | os.PathLike) -> None:
        path = os.fspath(path)
        src_path = getattr(source, "path", None)
        if src_path and os.path.exists(path) and os.path.samefile(path, src_path):
            raise SourceConfigError(f"--tee-raw {path} is the input itself; name another file")
        try:
            named = format_for_name(path)
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
            if source.fmt != "wav":
                meta = SigmfMeta(source.fmt, source.sample_rate_hz, source.frequency_hz,
                                 description=f"hotcast --tee-raw of {source.name}")
                with open(sigmf_meta_path(path), "w", encoding="utf-8") as f:
                    f.write(build_sigmf_meta(meta))
        except OSError as exc:
            raise SourceError(f"cannot write --tee-raw {path}: {exc.strerror or exc}") from None
        self._setup(source.name, source.fmt, source.sample_rate_hz, source.frequency_hz)

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
