"""Sample formats: pure bytes <-> numpy conversions, streaming decoders, WAV and SigMF metadata.

Formats (little-endian throughout; I/Q interleaved I, Q):
- ``cu8``   RTL-SDR 8-bit unsigned I/Q, zero at 127.5: x = (b - 127.5) / 127.5 -> complex64
- ``cs8``   HackRF 8-bit signed I/Q: x = b / 128 -> complex64
- ``cf32``  complex float32 (GNU Radio, SigMF cf32_le) -> complex64
- ``s16le`` real signed 16-bit: x = b / 32768 -> float32
- ``f32le`` real float32 -> float32
- ``wav``   RIFF/WAVE, mono PCM16 or float32 -> float32 (see ``WavDecoder``)

Invariants: nothing here touches files or devices (the caller reads the bytes); a streaming
decoder's output never depends on how the bytes were cut (partial samples and a WAV header
split across chunks are carried over); bad bytes raise ``SampleFormatError`` naming the problem.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from modem.errors import SampleFormatError
from modem._wav import WavDecoder, WavInfo, decode_wav, encode_wav, parse_wav_header

__all__ = [
    "BASEBAND_FORMATS", "BYTES_PER_SAMPLE", "FORMAT_BY_EXTENSION", "IQ_FORMATS",
    "SIGMF_DATATYPE", "SampleDecoder", "SigmfMeta", "WavDecoder", "WavInfo",
    "build_sigmf_meta", "decode_samples", "decoder_for", "decode_wav", "encode_samples", "encode_wav",
    "format_for_name", "is_iq_format", "parse_sigmf_meta", "parse_wav_header",
]

IQ_FORMATS = ("cu8", "cs8", "cf32")
BASEBAND_FORMATS = ("s16le", "f32le", "wav")
# Bytes per (complex or real) sample of the raw formats.
BYTES_PER_SAMPLE = {"cu8": 2, "cs8": 2, "cf32": 8, "s16le": 2, "f32le": 4}
# Extension -> (format, profile that the file belongs to). CONTRACT.md "signal files".
FORMAT_BY_EXTENSION = {
    ".cu8": "cu8", ".cs8": "cs8", ".cf32": "cf32",
    ".wav": "wav", ".s16le": "s16le", ".f32le": "f32le",
}
# SigMF core:datatype of each raw format (SigMF spec, "Dataset Format": c/r, i/u/f, bits, _le).
SIGMF_DATATYPE = {"cu8": "cu8", "cs8": "ci8", "cf32": "cf32_le", "s16le": "ri16_le",
                  "f32le": "rf32_le"}
SIGMF_VERSION = "1.0.0"


def _check_format(fmt: str) -> None:
    if fmt not in BYTES_PER_SAMPLE:
        raise ValueError(f"unknown raw sample format {fmt!r}; known: {sorted(BYTES_PER_SAMPLE)}")


def is_iq_format(fmt: str) -> bool:
    """True for I/Q formats (a whole FM signal, profile ``fm``), False for baseband ones."""
    if fmt not in IQ_FORMATS and fmt not in BASEBAND_FORMATS:
        raise ValueError(f"unknown sample format {fmt!r}")
    return fmt in IQ_FORMATS


def format_for_name(name: str) -> str:
    """Sample format of a file name by its extension (case-insensitive), e.g. 'x.CU8' -> 'cu8'."""
    lower = name.lower()
    for ext, fmt in FORMAT_BY_EXTENSION.items():
        if lower.endswith(ext):
            return fmt
    raise ValueError(
        f"cannot tell the sample format of {name!r} from its extension; "
        f"use one of {', '.join(FORMAT_BY_EXTENSION)} or name the format"
    )


def decode_samples(data: bytes, fmt: str) -> np.ndarray:
    """Whole samples of raw ``data`` -> complex64 (I/Q formats) or float32 (real formats).

    ``len(data)`` must be a multiple of the sample size; use ``SampleDecoder`` for streams.
    """
    _check_format(fmt)
    size = BYTES_PER_SAMPLE[fmt]
    if len(data) % size:
        raise SampleFormatError(
            f"{len(data)} bytes is not a whole number of {fmt} samples ({size} bytes each)"
        )
    if fmt == "cu8":
        raw = np.frombuffer(data, dtype=np.uint8).astype(np.float32)
        iq = (raw - np.float32(127.5)) * np.float32(1 / 127.5)
        return iq.view(np.complex64)
    if fmt == "cs8":
        raw = np.frombuffer(data, dtype=np.int8).astype(np.float32) * np.float32(1 / 128)
        return raw.view(np.complex64)
    if fmt == "cf32":
        return np.frombuffer(data, dtype="<c8").astype(np.complex64)
    if fmt == "s16le":
        return np.frombuffer(data, dtype="<i2").astype(np.float32) * np.float32(1 / 32768)
    return np.frombuffer(data, dtype="<f4").astype(np.float32)


def encode_samples(samples: np.ndarray, fmt: str) -> bytes:
    """Samples -> raw bytes; integer formats round to nearest and clip to their range."""
    _check_format(fmt)
    x = np.asarray(samples)
    if fmt in IQ_FORMATS:
        inter = np.ascontiguousarray(x, dtype=np.complex64).view(np.float32)
        if fmt == "cu8":
            return np.clip(np.rint(inter * 127.5 + 127.5), 0, 255).astype(np.uint8).tobytes()
        if fmt == "cs8":
            return np.clip(np.rint(inter * 128), -128, 127).astype(np.int8).tobytes()
        return inter.astype("<f4").tobytes()
    if np.iscomplexobj(x):
        raise ValueError(f"{fmt} holds real samples; got a complex array")
    if fmt == "s16le":
        return np.clip(np.rint(x * 32768.0), -32768, 32767).astype("<i2").tobytes()
    return np.asarray(x, dtype="<f4").tobytes()


class SampleDecoder:
    """Streaming raw decoder: ``process(chunk: bytes) -> samples``; carries partial samples.

    ``leftover_bytes`` after the last chunk says whether the stream ended mid-sample.
    """

    def __init__(self, fmt: str) -> None:
        _check_format(fmt)
        self.fmt = fmt
        self._size = BYTES_PER_SAMPLE[fmt]
        self.reset()

    def reset(self) -> None:
        self._carry = b""

    def __repr__(self) -> str:
        return f"SampleDecoder({self.fmt!r})"

    @property
    def leftover_bytes(self) -> int:
        return len(self._carry)

    def process(self, chunk: bytes) -> np.ndarray:
        data = self._carry + bytes(chunk) if self._carry else bytes(chunk)
        whole = len(data) - len(data) % self._size
        self._carry = data[whole:]
        return decode_samples(data[:whole], self.fmt)


def decoder_for(fmt: str) -> SampleDecoder | WavDecoder:
    """The streaming decoder of a format name: ``WavDecoder`` for 'wav', else ``SampleDecoder``.

    Both have ``process(chunk: bytes) -> samples``, ``reset()`` and ``leftover_bytes``.
    """
    if fmt == "wav":
        return WavDecoder()
    return SampleDecoder(fmt)


@dataclass(frozen=True)
class SigmfMeta:
    """The parts of a ``.sigmf-meta`` document that hotcast uses."""

    fmt: str  # our raw format name (cu8, cs8, cf32, s16le, f32le)
    sample_rate_hz: float
    frequency_hz: float | None = None
    description: str = ""
    annotations: tuple[dict, ...] = field(default=())
    version: str = SIGMF_VERSION


def build_sigmf_meta(meta: SigmfMeta) -> str:
    """SigMF metadata JSON (global, captures, annotations) for a recording in ``meta.fmt``."""
    _check_format(meta.fmt)
    glob = {
        "core:datatype": SIGMF_DATATYPE[meta.fmt],
        "core:sample_rate": meta.sample_rate_hz,
        "core:version": meta.version,
    }
    if meta.description:
        glob["core:description"] = meta.description
    capture: dict = {"core:sample_start": 0}
    if meta.frequency_hz is not None:
        capture["core:frequency"] = meta.frequency_hz
    doc = {"global": glob, "captures": [capture], "annotations": list(meta.annotations)}
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def parse_sigmf_meta(text: str | bytes) -> SigmfMeta:
    """Parse a ``.sigmf-meta`` document; ``SampleFormatError`` names what is missing or wrong."""
    try:
        doc = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SampleFormatError(f"SigMF metadata is not JSON: {exc}") from None
    glob = doc.get("global") if isinstance(doc, dict) else None
    if not isinstance(glob, dict):
        raise SampleFormatError("SigMF metadata has no 'global' object")
    datatype = glob.get("core:datatype")
    by_type = {v: k for k, v in SIGMF_DATATYPE.items()}
    if datatype not in by_type:
        raise SampleFormatError(
            f"SigMF core:datatype {datatype!r} is not supported; use one of {sorted(by_type)}"
        )
    rate = glob.get("core:sample_rate")
    if not isinstance(rate, (int, float)) or isinstance(rate, bool) or not rate > 0:
        raise SampleFormatError(f"SigMF core:sample_rate must be a positive number, got {rate!r}")
    captures = doc.get("captures") or []
    freq = None
    if isinstance(captures, list) and captures and isinstance(captures[0], dict):
        f = captures[0].get("core:frequency")
        freq = float(f) if isinstance(f, (int, float)) and not isinstance(f, bool) else None
    notes = doc.get("annotations") or []
    if not isinstance(notes, list) or not all(isinstance(a, dict) for a in notes):
        raise SampleFormatError("SigMF 'annotations' must be a list of objects")
    return SigmfMeta(
        fmt=by_type[datatype],
        sample_rate_hz=float(rate),
        frequency_hz=freq,
        description=str(glob.get("core:description", "")),
        annotations=tuple(notes),
        version=str(glob.get("core:version", "")),
    )
