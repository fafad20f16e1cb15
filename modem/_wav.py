"""RIFF/WAVE for hotcast: mono 16-bit PCM or 32-bit float, parsed and written from bytes.

Invariants: the header parser never reads past the bytes it was given (it asks for more);
a header is accepted only if a 'fmt ' chunk precedes the 'data' chunk; stereo, 8-bit and
other encodings are refused with a message naming what the file is and what is needed;
a data size of 0 or 0xFFFFFFFF (written by tools streaming to a pipe) means "to the end".
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from modem.errors import SampleFormatError

_PCM = 1
_FLOAT = 3
_EXTENSIBLE = 0xFFFE
# Header bytes we are willing to hold while looking for the 'data' chunk (LIST, bext, ...).
MAX_HEADER_BYTES = 1 << 20


@dataclass(frozen=True)
class WavInfo:
    sample_rate_hz: int
    encoding: str  # "s16" (PCM 16-bit) or "f32" (IEEE float 32-bit)
    data_offset: int  # bytes before the first sample
    data_bytes: int | None  # None: unknown, read to the end of the stream


def _fmt_chunk(body: bytes) -> tuple[int, int, int, int]:
    if len(body) < 16:
        raise SampleFormatError(f"WAV 'fmt ' chunk is {len(body)} bytes, needs at least 16")
    tag, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", body)
    if tag == _EXTENSIBLE:
        if len(body) < 40:
            raise SampleFormatError("WAV WAVE_FORMAT_EXTENSIBLE 'fmt ' chunk is truncated")
        (tag,) = struct.unpack_from("<H", body, 24)  # first two bytes of the SubFormat GUID
    return tag, channels, rate, bits


def _check_fmt(tag: int, channels: int, rate: int, bits: int) -> str:
    if channels != 1:
        raise SampleFormatError(
            f"WAV has {channels} channels; hotcast reads mono only (take one channel first)"
        )
    if tag == _PCM and bits == 16:
        encoding = "s16"
    elif tag == _FLOAT and bits == 32:
        encoding = "f32"
    elif tag == _PCM:
        raise SampleFormatError(
            f"WAV is {bits}-bit PCM; hotcast reads 16-bit PCM or 32-bit float WAV"
        )
    else:
        raise SampleFormatError(
            f"WAV encoding tag {tag} with {bits} bits is not supported; "
            "use 16-bit PCM or 32-bit float"
        )
    if rate <= 0:
        raise SampleFormatError(f"WAV sample rate {rate} is not positive")
    return encoding


def try_parse_wav_header(data: bytes) -> WavInfo | None:
    """WavInfo once ``data`` holds the whole header, None if more bytes are needed."""
    if len(data) < 12:
        if not b"RIFF".startswith(data[:4]):
            raise SampleFormatError("not a WAV file: it does not start with 'RIFF'")
        return None
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise SampleFormatError("not a WAV file: no 'RIFF....WAVE' at the start")
    pos = 12
    fmt: tuple[int, int, int, int] | None = None
    while True:
        if pos + 8 > len(data):
            break
        cid, size = data[pos:pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        if cid == b"data":
            if fmt is None:
                raise SampleFormatError("WAV 'data' chunk comes before any 'fmt ' chunk")
            encoding = _check_fmt(*fmt)
            known = None if size in (0, 0xFFFFFFFF) else size
            return WavInfo(fmt[2], encoding, pos + 8, known)
        end = pos + 8 + size + (size & 1)  # chunks are padded to an even length
        if cid == b"fmt ":
            if pos + 8 + size > len(data):
                break
            fmt = _fmt_chunk(data[pos + 8:pos + 8 + size])
            _check_fmt(*fmt)  # refuse stereo / 8-bit as soon as we know
        pos = end
        if pos > MAX_HEADER_BYTES:
            raise SampleFormatError(f"no WAV 'data' chunk in the first {MAX_HEADER_BYTES} bytes")
    if len(data) > MAX_HEADER_BYTES:
        raise SampleFormatError(f"no WAV 'data' chunk in the first {MAX_HEADER_BYTES} bytes")
    return None


def parse_wav_header(data: bytes) -> WavInfo:
    """WavInfo of a complete header; ``SampleFormatError`` if it is bad or truncated."""
    info = try_parse_wav_header(data)
    if info is None:
        raise SampleFormatError(f"WAV header is truncated ({len(data)} bytes, no 'data' chunk)")
    return info


class WavDecoder:
    """Streaming WAV reader: ``process(chunk: bytes) -> float32 samples``.

    The header may arrive split over any number of chunks; ``info`` is None until it is
    complete. Bytes after the declared data size (trailing chunks) are ignored.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.info: WavInfo | None = None
        self._head = b""
        self._carry = b""
        self._remaining: int | None = None

    def __repr__(self) -> str:
        return f"WavDecoder(info={self.info!r})"

    @property
    def leftover_bytes(self) -> int:
        return len(self._carry)

    def process(self, chunk: bytes) -> np.ndarray:
        chunk = bytes(chunk)
        if self.info is None:
            self._head += chunk
            info = try_parse_wav_header(self._head)
            if info is None:
                return np.zeros(0, dtype=np.float32)
            self.info = info
            self._remaining = info.data_bytes
            chunk = self._head[info.data_offset:]
            self._head = b""
        if self._remaining is not None:
            chunk = chunk[: self._remaining]
            self._remaining -= len(chunk)
        data = self._carry + chunk
        size = 2 if self.info.encoding == "s16" else 4
        whole = len(data) - len(data) % size
        self._carry = data[whole:]
        if self.info.encoding == "s16":
            return np.frombuffer(data[:whole], "<i2").astype(np.float32) * np.float32(1 / 32768)
        return np.frombuffer(data[:whole], "<f4").astype(np.float32)


def encode_wav(samples: np.ndarray, sample_rate_hz: int, encoding: str = "s16") -> bytes:
    """Mono WAV bytes; ``s16`` rounds and clips to 16-bit PCM, ``f32`` writes IEEE float."""
    x = np.asarray(samples)
    if x.ndim != 1 or np.iscomplexobj(x):
        raise ValueError("encode_wav takes a 1-D real array (mono)")
    if not 0 < sample_rate_hz < 2**32:
        raise ValueError(f"sample_rate_hz out of range: {sample_rate_hz}")
    if encoding == "s16":
        body = np.clip(np.rint(x * 32768.0), -32768, 32767).astype("<i2").tobytes()
        fmt = struct.pack("<HHIIHH", _PCM, 1, sample_rate_hz, sample_rate_hz * 2, 2, 16)
        extra = b""
    elif encoding == "f32":
        body = x.astype("<f4").tobytes()
        # Non-PCM formats carry cbSize = 0 and a 'fact' chunk with the sample count.
        fmt = struct.pack("<HHIIHHH", _FLOAT, 1, sample_rate_hz, sample_rate_hz * 4, 4, 32, 0)
        extra = b"fact" + struct.pack("<II", 4, x.size)
    else:
        raise ValueError(f"encoding must be 's16' or 'f32', got {encoding!r}")
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt + extra
    chunks += b"data" + struct.pack("<I", len(body)) + body + (b"\0" if len(body) & 1 else b"")
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


def decode_wav(data: bytes) -> tuple[WavInfo, np.ndarray]:
    """Whole WAV bytes -> (info, float32 samples). A short data chunk gives what is there."""
    dec = WavDecoder()
    samples = dec.process(data)
    if dec.info is None:
        parse_wav_header(data)  # raises with the reason
    return dec.info, samples
