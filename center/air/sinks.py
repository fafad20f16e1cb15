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
  ``hotcast:bundles`` on air, ``hotcast:seconds``, ...). A WAV's metadata describes the samples
  inside it (``ri16_le``) and gives ``core:header_bytes``.
- ``-`` streams raw samples to standard output, and a path that is already a named pipe or a
  device is written in place (no part file, no metadata); a WAV to either gets a streaming
  header whose sizes are 0xFFFFFFFF ("to the end", as ``sox``/``ffmpeg`` write to pipes).
- ``SoundCardSink`` plays float32 MPX on a sound card output (a card feeding an exciter's
  MPX/SCA input) through sounddevice; ``import sounddevice`` happens only in the default stream
  factory (it loads PortAudio at import and fails without it), tests inject a fake stream.
"""

from __future__ import annotations

import json
import os
import stat
import struct
import sys
from collections.abc import Callable
from typing import Any, BinaryIO

import numpy as np

from center.errors import SoundCardError, SoundCardOpenError
from modem import InputKind, modem_profile, soundcard
from modem.formats import (
    SigmfMeta,
    build_sigmf_meta,
    encode_samples,
    encode_wav,
    is_iq_format,
)

META_SUFFIX = ".sigmf-meta"
PART_SUFFIX = ".part"
HOTCAST_EXTENSION = {"name": "hotcast", "version": "1.0.0", "optional": True}
# Integer I/Q files (cu8, cs8) hold the unit-amplitude FM carrier at -3 dBFS (0.708 of full
# scale), as a receiver with headroom would record it: at full scale every I or Q peak would
# sit on the converter's rail and read as clipping, and added noise would clip for real.
INTEGER_IQ_LEVEL = 10 ** (-3 / 20)
_INTEGER_IQ_FORMATS = ("cu8", "cs8")
_WAV_UNKNOWN_SIZE = 0xFFFFFFFF  # RIFF/data size meaning "to the end of the stream"
_WAV_HEADER = encode_wav(np.zeros(0, np.float32), 228_000)  # 44 bytes, sizes 0 (any rate)
_WAV_RIFF_SIZE_AT, _WAV_DATA_SIZE_AT = 4, len(_WAV_HEADER) - 4


def is_stream_path(path: str) -> bool:
    """True for an existing named pipe or character device (written in place, never renamed)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)


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

    def __init__(self, path: str, fmt: str, rate_hz: int, *, stdout: BinaryIO | None = None,
                 description: str = "hotcast carousel") -> None:
        self.path, self.fmt, self.rate_hz = path, fmt, rate_hz
        self.description = description
        self.iq = is_iq_format(fmt)  # ValueError for an unknown format
        self._raw_fmt = "s16le" if fmt == "wav" else fmt
        self.samples = 0
        self.data_bytes = 0
        self._closed = False
        self._owned = path != "-"
        if path == "-":
            self._file = stdout if stdout is not None else sys.stdout.buffer
            self._part = None
        elif is_stream_path(path):
            self._file = open(path, "wb")  # noqa: SIM115 - a FIFO or device, closed by close()
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
            want = "complex I/Q" if self.iq else "real baseband"
            raise TypeError(f"{self.fmt} holds {want} samples, got {np.asarray(samples).dtype}")
        if self._raw_fmt in _INTEGER_IQ_FORMATS:
            samples = samples * np.float32(INTEGER_IQ_LEVEL)
        data = encode_samples(samples, self._raw_fmt)
        self._file.write(data)
        self.samples += len(samples)
        self.data_bytes += len(data)

    def close(self, hotcast_fields: dict | None = None, datetime_utc: str | None = None) -> None:
        """Finish: patch the WAV sizes, write the metadata, rename the part files into place.
        ``datetime_utc`` (ISO 8601, ``...Z``) is the first sample's time: SigMF's capture
        ``core:datetime``."""
        if self._part is None:
            self._closed = True
            self._file.flush()
            if self._owned:
                self._file.close()
            return
        if self.fmt == "wav":
            self._file.seek(0)
            self._file.write(_wav_header(self.rate_hz, self.data_bytes))
        self._file.close()
        meta_part = self.path + META_SUFFIX + PART_SUFFIX
        with open(meta_part, "w", encoding="utf-8") as f:
            f.write(self.metadata(hotcast_fields or {}, datetime_utc))
        os.replace(self._part, self.path)
        os.replace(meta_part, self.path + META_SUFFIX)
        self._closed = True

    def abort(self) -> None:
        """Remove the part files; nothing of this render is left behind."""
        self._closed = True
        if self._part is None:
            if self._owned:
                self._file.close()
            return
        self._file.close()
        for part in (self._part, self.path + META_SUFFIX + PART_SUFFIX):
            try:
                os.unlink(part)
            except FileNotFoundError:
                pass

    def metadata(self, hotcast_fields: dict, datetime_utc: str | None = None) -> str:
        """SigMF metadata JSON of this file with ``hotcast:<key>`` fields in the global object."""
        doc = json.loads(build_sigmf_meta(SigmfMeta(
            fmt=self._raw_fmt, sample_rate_hz=self.rate_hz,
            description=self.description,
        )))
        glob = doc["global"]
        glob["core:extensions"] = [HOTCAST_EXTENSION]
        glob.update({f"hotcast:{k}": v for k, v in hotcast_fields.items()})
        if self._header:
            doc["captures"][0]["core:header_bytes"] = len(self._header)
        if datetime_utc is not None:
            doc["captures"][0]["core:datetime"] = datetime_utc
        return json.dumps(doc, indent=2, sort_keys=True) + "\n"


class SoundCardSink:
    """float32 baseband (MPX, sound) -> one channel of a sound card output, paced by the device's
    blocking write.

    ``stream_factory(**kwargs)`` returns an object with ``start() write(array (n, 1) float32)
    -> bool underflowed, stop() abort() close()`` (sounddevice.OutputStream's shape); the
    default opens PortAudio. A rate the profile cannot carry is a ValueError here, before any
    device is opened; a device that refuses is ``SoundCardOpenError`` (bad input), a failure
    while playing or a missing PortAudio ``SoundCardError``.
    """

    def __init__(self, profile: str, rate_hz: int, device: int | str | None = None, *,
                 stream_factory: Callable[..., Any] | None = None) -> None:
        if isinstance(rate_hz, bool) or not isinstance(rate_hz, int):
            raise ValueError(f"rate_hz {rate_hz!r} must be a whole number of Hz")
        modem_profile(profile).check_rate(InputKind.BASEBAND, rate_hz)
        self.profile, self.rate_hz, self.device = profile, rate_hz, device
        self.iq = False
        self.samples = 0
        self.underflows = 0
        factory = open_output_stream if stream_factory is None else stream_factory
        self._stream = factory(samplerate=rate_hz, channels=1, dtype="float32", device=device)
        self._closed = False
        self._stream.start()

    def __repr__(self) -> str:
        return f"SoundCardSink({self.profile!r}, {self.rate_hz}, device={self.device!r})"

    def __enter__(self) -> SoundCardSink:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if not self._closed:
            self.abort()

    def write(self, samples: np.ndarray) -> None:
        """Play real baseband samples (n,); blocks until the device has room for them."""
        x = np.asarray(samples)
        if np.iscomplexobj(x) or x.ndim != 1:
            raise TypeError(f"the sound card plays real samples (n,), got {x.dtype} {x.shape}")
        if x.size:
            if self._stream.write(np.ascontiguousarray(x, dtype=np.float32).reshape(-1, 1)):
                self.underflows += 1
            self.samples += x.size

    def close(self, hotcast_fields: dict | None = None) -> None:
        """Let the queued samples play out, then release the device."""
        if not self._closed:
            self._closed = True
            try:
                self._stream.stop()
            finally:
                self._stream.close()

    def abort(self) -> None:
        """Drop the queued samples and release the device."""
        if not self._closed:
            self._closed = True
            try:
                self._stream.abort()
            finally:
                self._stream.close()


class _LeafOutput:
    """An output stream of the sound-card leaf (``modem.soundcard``) whose failures arrive as
    the center's ``SoundCardError``."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def __repr__(self) -> str:
        return f"_LeafOutput({self._stream!r})"

    def _call(self, name: str, *args: Any) -> Any:
        try:
            return getattr(self._stream, name)(*args)
        except soundcard.SoundCardError as exc:
            raise SoundCardError(f"sound card output failed in {name}(): {exc}") from None

    def start(self) -> None:
        self._call("start")

    def write(self, data: np.ndarray) -> bool:
        return bool(self._call("write", data))

    def stop(self) -> None:
        self._call("stop")

    def abort(self) -> None:
        self._call("abort")

    def close(self) -> None:
        self._call("close")


def open_output_stream(**kwargs: Any) -> _LeafOutput:
    """The default stream factory, through the one sound-card adapter (``modem.soundcard``,
    shared with the receiver's line-in): PortAudio missing is ``SoundCardError``, a device
    that refuses ``SoundCardOpenError`` (bad input: a wrong device or rate)."""
    try:
        backend = soundcard.load_backend()
    except soundcard.SoundCardError as exc:
        raise SoundCardError(str(exc)) from None
    try:
        stream = soundcard.open_output(kwargs.get("device"), kwargs["samplerate"],
                                       kwargs.get("channels", 1), backend=backend)
    except soundcard.SoundCardError as exc:
        raise SoundCardOpenError(str(exc)) from None
    return _LeafOutput(stream)
