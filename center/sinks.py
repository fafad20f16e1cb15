"""Where a rendered signal goes: a signal file with its SigMF metadata, or standard output.

Formats (CONTRACT.md "signal files"): ``.cu8 .cs8 .cf32`` hold a complete FM signal as I/Q
(default 1.2 MHz), ``.wav .s16le .f32le`` the MPX baseband (default 228 kHz, the rate
``rtl_fm -s 228k`` pipelines and darc2json use). WAV is mono 16-bit PCM.

Invariants:
- A file is written to ``FILE.part`` and renamed over ``FILE`` only by ``close()``; ``abort()``
  (or leaving the ``with`` block by an exception) removes the part files, so a failed or
  interrupted render never leaves a partial signal behind.
- ``FILE.sigmf-meta`` is written beside every file (the receiver reads it for format and
  rate): core datatype and sample rate, plus hotcast extension fields (``hotcast:profile``,
  ``hotcast:seqs`` on air, ``hotcast:seconds``, ...). A WAV's metadata describes the samples
  inside it (``ri16_le``) and gives ``core:header_bytes``.
- ``-`` streams raw samples to standard output; a WAV to a pipe gets a streaming header whose
  sizes are 0xFFFFFFFF ("to the end", as ``sox``/``ffmpeg`` write to pipes). No metadata.
- The progress line goes to stderr only when stderr is a terminal.
"""

from __future__ import annotations

import json
import math
import os
import struct
import sys
import time
from typing import BinaryIO, TextIO

import numpy as np

from center.render import (
    MAX_INJECTION,
    MAX_MPX_RATE_HZ,
    MIN_MPX_RATE_HZ,
    RENDER_PROFILES,
    CarouselRenderer,
    RenderConfig,
    mpx_rate_for_iq,
)
from modem.fmiq import MAX_IQ_RATE_HZ, MIN_IQ_RATE_HZ
from modem.formats import (
    FORMAT_BY_EXTENSION,
    SigmfMeta,
    build_sigmf_meta,
    encode_samples,
    encode_wav,
    is_iq_format,
)

DEFAULT_IQ_RATE_HZ = 1_200_000
DEFAULT_MPX_RATE_HZ = 228_000
MAX_DURATION_S = 366 * 86_400  # a year of signal
META_SUFFIX = ".sigmf-meta"
PART_SUFFIX = ".part"
HOTCAST_EXTENSION = {"name": "hotcast", "version": "1.0.0", "optional": True}
# Integer I/Q files (cu8, cs8) hold the unit-amplitude FM carrier at -3 dBFS (0.708 of full
# scale), as a receiver with headroom would record it: at full scale every I or Q peak would
# sit on the converter's rail and read as clipping, and added noise would clip for real.
INTEGER_IQ_LEVEL = 10 ** (-3 / 20)
_INTEGER_IQ_FORMATS = ("cu8", "cs8")
_WAV_UNKNOWN_SIZE = 0xFFFFFFFF  # RIFF/data size meaning "to the end of the stream"
_WAV_HEADER = encode_wav(np.zeros(0, np.float32), DEFAULT_MPX_RATE_HZ)  # 44 bytes, sizes 0
_WAV_RIFF_SIZE_AT, _WAV_DATA_SIZE_AT = 4, len(_WAV_HEADER) - 4


def choose_format(out: str, fmt: str | None) -> str:
    """The sample format of an output: ``fmt`` if given, else by extension.

    ValueError (with the known formats) when neither tells, when ``fmt`` is unknown, or when
    ``fmt`` contradicts a known extension.
    """
    known = ", ".join(sorted(set(FORMAT_BY_EXTENSION.values())))
    by_ext = next((f for ext, f in FORMAT_BY_EXTENSION.items() if out.lower().endswith(ext)), None)
    if fmt is None:
        if by_ext is None:
            what = "standard output" if out == "-" else repr(out)
            raise ValueError(f"cannot tell the sample format of {what}; use an extension of "
                             f"{', '.join(FORMAT_BY_EXTENSION)} or --format ({known})")
        return by_ext
    fmt = fmt.lower()
    if fmt not in FORMAT_BY_EXTENSION.values():
        raise ValueError(f"unknown --format {fmt!r}; known: {known}")
    if by_ext is not None and by_ext != fmt:
        raise ValueError(f"--format {fmt} contradicts the extension of {out!r} ({by_ext})")
    return fmt


def default_rate_hz(fmt: str) -> int:
    return DEFAULT_IQ_RATE_HZ if is_iq_format(fmt) else DEFAULT_MPX_RATE_HZ


def plan_output(out: str, fmt: str | None, profile: str, *, rate_hz: float | None,
                duration_s: float | None, injection: float,
                with_programme: bool) -> tuple[str, RenderConfig]:
    """(format, RenderConfig) for an output, every option checked: ValueError naming it.

    An I/Q format renders its MPX at ``mpx_rate_for_iq(rate)`` and FM-modulates it.
    """
    fmt = choose_format(out, fmt)
    if profile not in RENDER_PROFILES:
        raise ValueError(f"--profile {profile!r}: render knows {', '.join(RENDER_PROFILES)}")
    iq = is_iq_format(fmt)
    rate = default_rate_hz(fmt) if rate_hz is None else rate_hz
    lo, hi = (MIN_IQ_RATE_HZ, MAX_IQ_RATE_HZ) if iq else (MIN_MPX_RATE_HZ, MAX_MPX_RATE_HZ)
    if not (math.isfinite(rate) and rate == int(rate) and lo <= rate <= hi):
        what = "FM I/Q" if iq else "an MPX"
        raise ValueError(f"--rate {rate:.15g}: {fmt} holds {what}, which needs a whole number of "
                         f"Hz in {lo}..{hi}")
    if duration_s is not None and not 0 < duration_s <= MAX_DURATION_S:
        raise ValueError(f"--duration {duration_s:g} must be above 0 s and at most a year")
    if not 0 < injection <= MAX_INJECTION:
        raise ValueError(f"--injection {injection:g} must be above 0 and at most {MAX_INJECTION}")
    rate = int(rate)
    return fmt, RenderConfig(mpx_rate_hz=mpx_rate_for_iq(rate) if iq else rate,
                             iq_rate_hz=rate if iq else None, with_programme=with_programme,
                             injection=injection, duration_s=duration_s)


def render_into(renderer: CarouselRenderer, sink: FileSink, progress: Progress) -> float:
    """Run ``renderer`` into ``sink``, finish the file with its metadata; -> seconds written."""
    rate = sink.rate_hz
    for block in renderer.blocks():
        sink.write(block)
        progress.update(sink.samples / rate)
    seconds = sink.samples / rate
    cfg = renderer.config
    sink.close({"profile": renderer.profile, "seqs": [p.seq for p in renderer.plan],
                "seconds": seconds, "signal": "fm-iq" if sink.iq else "mpx",
                "mpx_rate_hz": cfg.mpx_rate_hz, "with_programme": cfg.with_programme,
                "injection": cfg.injection, "bits_on_air": renderer.stats.bits_on_air})
    progress.finish(seconds)
    return seconds


def _wav_header(rate_hz: int, data_bytes: int | None) -> bytes:
    """Mono PCM16 header; ``data_bytes`` None (or too big for RIFF) gives the streaming sizes."""
    head = bytearray(encode_wav(np.zeros(0, np.float32), rate_hz))
    if data_bytes is None or data_bytes > _WAV_UNKNOWN_SIZE - len(head):
        riff = data = _WAV_UNKNOWN_SIZE
    else:
        riff, data = len(head) - 8 + data_bytes, data_bytes
    struct.pack_into("<I", head, _WAV_RIFF_SIZE_AT, riff)
    struct.pack_into("<I", head, _WAV_DATA_SIZE_AT, data)
    return bytes(head)


class FileSink:
    """Samples -> a signal file (``path``) or standard output (``path == "-"``).

    ``write(samples)`` takes complex64 I/Q for I/Q formats, float32 MPX for baseband ones;
    ``close(meta)`` finishes (WAV sizes, metadata, rename); ``abort()`` removes everything.
    """

    def __init__(self, path: str, fmt: str, rate_hz: int, *, stdout: BinaryIO | None = None) -> None:
        self.path, self.fmt, self.rate_hz = path, fmt, rate_hz
        self.iq = is_iq_format(fmt)  # ValueError for an unknown format
        self._raw_fmt = "s16le" if fmt == "wav" else fmt
        self.samples = 0
        self.data_bytes = 0
        self._closed = False
        if path == "-":
            self._file = stdout if stdout is not None else sys.stdout.buffer
            self._part = None
        else:
            self._part = path + PART_SUFFIX
            self._file = open(self._part, "wb")  # noqa: SIM115 - closed by close() / abort()
        self._header = b""
        if fmt == "wav":
            self._header = _wav_header(rate_hz, None)
            self._file.write(self._header)

    def __repr__(self) -> str:
        return f"FileSink({self.path!r}, {self.fmt!r}, {self.rate_hz})"

    def __enter__(self) -> FileSink:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if not self._closed:
            self.abort()

    def write(self, samples: np.ndarray) -> None:
        if np.iscomplexobj(samples) != self.iq:
            want = "complex I/Q" if self.iq else "real MPX"
            raise TypeError(f"{self.fmt} holds {want} samples, got {np.asarray(samples).dtype}")
        if self._raw_fmt in _INTEGER_IQ_FORMATS:
            samples = samples * np.float32(INTEGER_IQ_LEVEL)
        data = encode_samples(samples, self._raw_fmt)
        self._file.write(data)
        self.samples += len(samples)
        self.data_bytes += len(data)

    def close(self, hotcast_fields: dict | None = None) -> None:
        """Finish: patch the WAV sizes, write the metadata, rename the part files into place."""
        if self._part is None:
            self._file.flush()
            self._closed = True
            return
        if self.fmt == "wav":
            self._file.seek(0)
            self._file.write(_wav_header(self.rate_hz, self.data_bytes))
        self._file.close()
        meta_part = self.path + META_SUFFIX + PART_SUFFIX
        with open(meta_part, "w", encoding="utf-8") as f:
            f.write(self.metadata(hotcast_fields or {}))
        os.replace(self._part, self.path)
        os.replace(meta_part, self.path + META_SUFFIX)
        self._closed = True

    def abort(self) -> None:
        """Remove the part files; nothing of this render is left behind."""
        self._closed = True
        if self._part is None:
            return
        self._file.close()
        for part in (self._part, self.path + META_SUFFIX + PART_SUFFIX):
            try:
                os.unlink(part)
            except FileNotFoundError:
                pass

    def metadata(self, hotcast_fields: dict) -> str:
        """SigMF metadata JSON of this file with ``hotcast:<key>`` fields in the global object."""
        doc = json.loads(build_sigmf_meta(SigmfMeta(
            fmt=self._raw_fmt, sample_rate_hz=self.rate_hz,
            description="hotcast carousel: " + ("FM broadcast I/Q" if self.iq else "FM multiplex (MPX)"),
        )))
        glob = doc["global"]
        glob["core:extensions"] = [HOTCAST_EXTENSION]
        glob.update({f"hotcast:{k}": v for k, v in hotcast_fields.items()})
        if self._header:
            doc["captures"][0]["core:header_bytes"] = len(self._header)
        return json.dumps(doc, indent=2, sort_keys=True) + "\n"


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
