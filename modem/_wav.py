"""RIFF/WAVE for hotcast: mono baseband or 2-channel I/Q, parsed as a stream and written.

Read and written:
- 1 channel: the profile's baseband (the MPX for ``fm``) -> float32, shape (n,);
- 2 channels: I/Q, I left and Q right, as SDR# and SDR++ record -> complex64, shape (n,);
- encodings ``u8`` (8-bit PCM, unsigned: x = (b - 128) / 128), ``s16``, ``s24``, ``s32``
  (signed PCM: x = b / 2**(bits - 1)) and ``f32`` (IEEE float, as is). ``s32`` keeps the 24
  bits a float32 holds (-144 dBFS of rounding).
Headers: WAVE_FORMAT_PCM (1), WAVE_FORMAT_IEEE_FLOAT (3) and WAVE_FORMAT_EXTENSIBLE (0xFFFE,
whose SubFormat GUID names PCM or float; a 24-bit sample in a 32-bit container reads as s32);
RF64 and BW64 (EBU Tech 3306, ITU-R BS.2088) for files over 4 GiB, whose 'ds64' chunk holds
the 64-bit data size. A data size of 0 or 0xFFFFFFFF (written by tools streaming to a pipe)
means "to the end".

A 2-channel WAV that is not I/Q (music, two microphones) has the same header as one that is:
nothing in the file tells them apart, so 2 channels are I/Q and ``WavInfo.is_iq`` says so.

Invariants: the header is parsed incrementally and never read past the bytes given; chunks
that hotcast does not use are skipped, not held (memory: at most one 'fmt ' chunk), and the
'data' chunk must start within ``MAX_HEADER_BYTES``; a 'fmt ' chunk must precede 'data';
anything else is refused with ``SampleFormatError`` naming what the file is and what is
needed. The streaming decoder's output never depends on how the bytes were cut.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from modem.errors import SampleFormatError

_PCM = 1
_FLOAT = 3
_EXTENSIBLE = 0xFFFE
# KSDATAFORMAT_SUBTYPE_PCM / _IEEE_FLOAT are {0000000X-0000-0010-8000-00AA00389B71}: the
# format tag, then these 14 bytes (mmreg.h, as stored little-endian in the 'fmt ' chunk).
_GUID_TAIL = bytes.fromhex("000000001000800000aa00389b71")
# Header bytes we are willing to skip while looking for the 'data' chunk (LIST, bext, ...).
MAX_HEADER_BYTES = 1 << 20
# A 'fmt ' chunk is 16, 18 or 40 bytes; larger ones are not a format we read.
_MAX_FMT_BYTES = 1024
_DS64_BYTES = 24  # riff size u64, data size u64, sample count u64 (then an optional table)
_UNKNOWN_SIZES = (0, 0xFFFFFFFF)
_RIFF_MAGICS = (b"RIFF", b"RF64", b"BW64")
# encoding -> (format tag, bits per sample)
WAV_ENCODINGS = {"u8": (_PCM, 8), "s16": (_PCM, 16), "s24": (_PCM, 24), "s32": (_PCM, 32),
             "f32": (_FLOAT, 32)}
_ENCODING_OF = {v: k for k, v in WAV_ENCODINGS.items()}


@dataclass(frozen=True)
class WavInfo:
    sample_rate_hz: int
    encoding: str  # a key of WAV_ENCODINGS: u8 s16 s24 s32 f32
    data_offset: int  # bytes before the first sample
    data_bytes: int | None  # None: unknown, read to the end of the stream
    channels: int = 1  # 1: baseband, 2: I/Q

    @property
    def is_iq(self) -> bool:
        """True for a 2-channel (I/Q) WAV, whose samples decode to complex64."""
        return self.channels == 2

    @property
    def frame_bytes(self) -> int:
        """Bytes of one sample of every channel."""
        return self.channels * WAV_ENCODINGS[self.encoding][1] // 8


def _parse_fmt(body: bytes) -> tuple[int, int, str]:
    """(sample rate, channels, encoding) of a 'fmt ' chunk body, or SampleFormatError."""
    if len(body) < 16:
        raise SampleFormatError(f"WAV 'fmt ' chunk is {len(body)} bytes, needs at least 16")
    tag, channels, rate, _, block_align, bits = struct.unpack_from("<HHIIHH", body)
    if tag == _EXTENSIBLE:
        if len(body) < 40:
            raise SampleFormatError("WAV WAVE_FORMAT_EXTENSIBLE 'fmt ' chunk is truncated")
        (tag,) = struct.unpack_from("<H", body, 24)  # first two bytes of the SubFormat GUID
        if body[26:40] != _GUID_TAIL:
            raise SampleFormatError("WAV WAVE_FORMAT_EXTENSIBLE SubFormat is neither PCM nor float")
    if channels not in (1, 2):
        raise SampleFormatError(
            f"WAV has {channels} channels; hotcast reads 1 (baseband) or 2 (I/Q)"
        )
    encoding = _ENCODING_OF.get((tag, bits))
    if encoding is None:
        if tag == _PCM:
            raise SampleFormatError(f"WAV is {bits}-bit PCM; hotcast reads 8, 16, 24 or 32-bit PCM")
        raise SampleFormatError(
            f"WAV encoding tag {tag} with {bits} bits is not supported; "
            "use 8, 16, 24 or 32-bit PCM or 32-bit float"
        )
    if block_align != channels * bits // 8:
        raise SampleFormatError(
            f"WAV block align {block_align} does not match {channels} x {bits}-bit samples"
        )
    if rate == 0:
        raise SampleFormatError("WAV sample rate is 0")
    return rate, channels, encoding


class _HeaderParser:
    """RIFF header, incrementally: ``feed(bytes) -> (WavInfo | None, bytes after the header)``.

    States: "riff" (12 bytes) -> "chunk" (8-byte chunk header) -> "fmt " / "ds64" (the chunk
    body) or a skip -> "chunk" ... until the 'data' chunk header. Only the current item is held.
    """

    def __init__(self) -> None:
        self._state = "riff"
        self._need = 12
        self._held = b""
        self._skip = 0
        self._pos = 0  # absolute offset of the next byte to consume
        self._fmt: tuple[int, int, str] | None = None
        self._rf64 = False
        self._ds64_data_bytes: int | None = None
        self._ds64_rest = 0

    def feed(self, chunk: bytes) -> tuple[WavInfo | None, bytes]:
        view = memoryview(chunk)
        while True:
            if self._skip:
                n = min(self._skip, len(view))
                view, self._skip, self._pos = view[n:], self._skip - n, self._pos + n
                if self._skip:
                    return None, b""
            take = self._need - len(self._held)
            if len(view) < take:
                self._held += bytes(view)
                self._pos += len(view)
                if self._state == "riff" and not any(m.startswith(self._held[:4]) for m in _RIFF_MAGICS):
                    raise SampleFormatError("not a WAV file: it does not start with 'RIFF'")
                return None, b""
            item, self._held = self._held + bytes(view[:take]), b""
            view, self._pos = view[take:], self._pos + take
            info = self._item(item)
            if info is not None:
                return info, bytes(view)

    def _item(self, item: bytes) -> WavInfo | None:
        state, self._state, self._need = self._state, "chunk", 8
        if state == "riff":
            if item[:4] not in _RIFF_MAGICS or item[8:12] != b"WAVE":
                raise SampleFormatError("not a WAV file: no 'RIFF....WAVE' at the start")
            self._rf64 = item[:4] != b"RIFF"
        elif state == "fmt ":
            self._fmt = _parse_fmt(item)
            self._skip = len(item) & 1  # chunks are padded to an even length
        elif state == "ds64":
            self._ds64_data_bytes = struct.unpack_from("<Q", item, 8)[0]
            self._skip = self._ds64_rest  # the optional chunk-size table and the pad byte
        else:
            return self._chunk_header(item[:4], struct.unpack_from("<I", item, 4)[0])
        return None

    def _chunk_header(self, cid: bytes, size: int) -> WavInfo | None:
        if self._pos - 8 > MAX_HEADER_BYTES:
            raise SampleFormatError(f"no WAV 'data' chunk in the first {MAX_HEADER_BYTES} bytes")
        if cid == b"data":
            return self._data(size)
        padded = size + (size & 1)
        if cid == b"fmt ":
            if size > _MAX_FMT_BYTES:
                raise SampleFormatError(f"WAV 'fmt ' chunk is {size} bytes, at most {_MAX_FMT_BYTES}")
            self._state, self._need = "fmt ", size
        elif cid == b"ds64" and self._rf64:
            if size < _DS64_BYTES:
                raise SampleFormatError(f"RF64 'ds64' chunk is {size} bytes, needs {_DS64_BYTES}")
            self._state, self._need, self._ds64_rest = "ds64", _DS64_BYTES, padded - _DS64_BYTES
        elif self._pos + padded > MAX_HEADER_BYTES:
            raise SampleFormatError(f"no WAV 'data' chunk in the first {MAX_HEADER_BYTES} bytes")
        else:
            self._skip = padded
        return None

    def _data(self, size: int) -> WavInfo:
        if self._fmt is None:
            raise SampleFormatError("WAV 'data' chunk comes before any 'fmt ' chunk")
        rate, channels, encoding = self._fmt
        if self._rf64 and size == 0xFFFFFFFF:
            if self._ds64_data_bytes is None:
                raise SampleFormatError("RF64 WAV has no 'ds64' chunk giving its data size")
            known = self._ds64_data_bytes or None
        else:
            known = None if size in _UNKNOWN_SIZES else size
        return WavInfo(rate, encoding, self._pos, known, channels)


def try_parse_wav_header(data: bytes) -> WavInfo | None:
    """WavInfo once ``data`` holds the whole header, None if more bytes are needed."""
    return _HeaderParser().feed(bytes(data))[0]


def parse_wav_header(data: bytes) -> WavInfo:
    """WavInfo of a complete header; ``SampleFormatError`` if it is bad or truncated."""
    info = try_parse_wav_header(data)
    if info is None:
        raise SampleFormatError(f"WAV header is truncated ({len(data)} bytes, no 'data' chunk)")
    return info


def _decode(data: bytes, encoding: str) -> np.ndarray:
    """Whole samples of one encoding -> float32, channels still interleaved."""
    if encoding == "u8":
        return (np.frombuffer(data, np.uint8).astype(np.float32) - np.float32(128)) * np.float32(1 / 128)
    if encoding == "s16":
        return np.frombuffer(data, "<i2").astype(np.float32) * np.float32(1 / 2**15)
    if encoding == "s24":
        # Each 3-byte sample becomes the top of an int32 (sample << 8): exact in float32.
        wide = np.zeros((len(data) // 3, 4), np.uint8)
        wide[:, 1:] = np.frombuffer(data, np.uint8).reshape(-1, 3)
        return wide.view("<i4").ravel().astype(np.float32) * np.float32(1 / 2**31)
    if encoding == "s32":
        return np.frombuffer(data, "<i4").astype(np.float32) * np.float32(1 / 2**31)
    return np.frombuffer(data, "<f4").astype(np.float32)


def _encode(x: np.ndarray, encoding: str) -> bytes:
    """float samples (channels interleaved) -> bytes; PCM rounds to nearest and clips."""
    if encoding == "u8":
        return np.clip(np.rint(x * 128.0 + 128.0), 0, 255).astype(np.uint8).tobytes()
    if encoding == "f32":
        return x.astype("<f4").tobytes()
    bits = WAV_ENCODINGS[encoding][1]
    top = 2.0 ** (bits - 1)
    ints = np.clip(np.rint(x.astype(np.float64) * top), -top, top - 1)
    if encoding == "s16":
        return ints.astype("<i2").tobytes()
    if encoding == "s24":
        return ints.astype("<i4").view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
    return ints.astype("<i4").tobytes()


class WavDecoder:
    """Streaming WAV reader: ``process(chunk: bytes) -> samples``.

    float32 for a mono WAV, complex64 for a 2-channel (I/Q) one; an empty float32 array
    until the header is complete (``info`` is None until then). The header may arrive split
    over any number of chunks; bytes after the declared data size are ignored.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.info: WavInfo | None = None
        self._header = _HeaderParser()
        self._carry = b""
        self._remaining: int | None = None

    def __repr__(self) -> str:
        return f"WavDecoder(info={self.info!r})"

    @property
    def leftover_bytes(self) -> int:
        """Bytes held that do not make a whole sample frame (all channels)."""
        return len(self._carry)

    def process(self, chunk: bytes) -> np.ndarray:
        chunk = bytes(chunk)
        if self.info is None:
            info, chunk = self._header.feed(chunk)
            if info is None:
                return np.zeros(0, dtype=np.float32)
            self.info, self._remaining = info, info.data_bytes
        if self._remaining is not None:
            chunk = chunk[: self._remaining]
            self._remaining -= len(chunk)
        data = self._carry + chunk if self._carry else chunk
        whole = len(data) - len(data) % self.info.frame_bytes
        self._carry = data[whole:]
        samples = _decode(data[:whole], self.info.encoding)
        return samples.view(np.complex64) if self.info.is_iq else samples


def encode_wav(samples: np.ndarray, sample_rate_hz: int, encoding: str = "s16") -> bytes:
    """WAV bytes: a real 1-D array gives a mono WAV, a complex one a 2-channel I/Q WAV.

    PCM encodings round to nearest and clip; ``f32`` writes IEEE float with the 'fact'
    chunk that non-PCM formats carry. ``s16`` mono gives the classic 44-byte header.
    """
    x = np.asarray(samples)
    if x.ndim != 1:
        raise ValueError(f"encode_wav takes a 1-D array, got shape {x.shape}")
    if isinstance(sample_rate_hz, bool) or not isinstance(sample_rate_hz, (int, np.integer)):
        raise TypeError(f"sample_rate_hz must be an int (WAV holds whole Hz), got {sample_rate_hz!r}")
    if not 0 < sample_rate_hz < 2**32:
        raise ValueError(f"sample_rate_hz out of range: {sample_rate_hz}")
    if encoding not in WAV_ENCODINGS:
        raise ValueError(f"encoding must be one of {', '.join(WAV_ENCODINGS)}, got {encoding!r}")
    channels = 2 if np.iscomplexobj(x) else 1
    flat = np.ascontiguousarray(x, np.complex64).view(np.float32) if channels == 2 else x
    tag, bits = WAV_ENCODINGS[encoding]
    body = _encode(flat, encoding)
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", tag, channels, int(sample_rate_hz), int(sample_rate_hz) * block,
                      block, bits)
    extra = b""
    if tag != _PCM:  # non-PCM formats carry cbSize = 0 and a 'fact' chunk (sample frames)
        fmt += struct.pack("<H", 0)
        extra = b"fact" + struct.pack("<II", 4, x.size)
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt + extra
    chunks += b"data" + struct.pack("<I", len(body)) + body + (b"\0" if len(body) & 1 else b"")
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


def decode_wav(data: bytes) -> tuple[WavInfo, np.ndarray]:
    """Whole WAV bytes -> (info, samples). A short data chunk gives what is there."""
    dec = WavDecoder()
    samples = dec.process(data)
    if dec.info is None:
        parse_wav_header(data)  # raises with the reason
    return dec.info, samples
