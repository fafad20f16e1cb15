"""SigMF metadata for hotcast: the sidecar rule, bounded parsing and building, flag conflicts.

The sidecar rule, shared by the center (writer) and the receiver (reader), in one place:
a recording ``FILE`` has its metadata in ``FILE.sigmf-meta`` (what hotcast writes), else in
``STEM.sigmf-meta`` (``x.wav`` -> ``x.sigmf-meta``, what other tools write), and a SigMF
dataset ``X.sigmf-data`` in ``X.sigmf-meta`` (the SigMF spec's pairing).

Datatypes (SigMF spec, "Dataset Format": c/r complex or real, i/u/f, bits, _le): only what
``modem.formats`` decodes; big-endian and multi-channel datasets are refused by name.

Invariants: ``parse_sigmf_meta`` reads at most ``MAX_META_BYTES`` of UTF-8 JSON nested at
most ``MAX_META_DEPTH`` levels (checked before the JSON parser runs, so a deep document is
refused, never a ``RecursionError``); every rate and frequency it returns is a finite float
within ``modem.rates`` bounds; anything else raises ``SampleFormatError`` naming the field.
No I/O: paths are strings, documents are bytes or text.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import numpy as np

from modem.errors import SampleFormatError
from modem.rates import MAX_HZ, MIN_HZ, format_hz, same_hz

__all__ = [
    "MAX_META_BYTES", "MAX_META_DEPTH", "META_SUFFIX", "SIGMF_DATATYPE", "SIGMF_VERSION",
    "SigmfMeta", "build_sigmf_meta", "format_over_meta", "parse_sigmf_meta", "rate_over_meta",
    "sigmf_meta_candidates", "sigmf_meta_path",
]

META_SUFFIX = ".sigmf-meta"
DATA_SUFFIX = ".sigmf-data"
# SigMF core:datatype of each raw format we decode.
SIGMF_DATATYPE = {"cu8": "cu8", "cs8": "ci8", "cs16": "ci16_le", "cf32": "cf32_le",
                  "s16le": "ri16_le", "f32le": "rf32_le"}
_FORMAT_OF_DATATYPE = {v: k for k, v in SIGMF_DATATYPE.items()}
SIGMF_VERSION = "1.0.0"
# A .sigmf-meta is a few kB (global, a capture, some annotations); 1 MiB holds ~10 000
# annotations. Ten levels of nesting is what the spec's objects use (global -> extensions
# list -> object -> value); 64 leaves room for any extension and keeps the JSON parser's
# recursion (about 1 000 deep before RecursionError) far away.
MAX_META_BYTES = 1 << 20
MAX_META_DEPTH = 64
_OPEN = np.frombuffer(b"[{", np.uint8)
_CLOSE = np.frombuffer(b"]}", np.uint8)


def sigmf_meta_path(path: str) -> str:
    """Where a recording's metadata is written: ``X.sigmf-data`` -> ``X.sigmf-meta``,
    anything else -> ``FILE.sigmf-meta`` beside it (CONTRACT.md "signal files")."""
    if path.endswith(DATA_SUFFIX):
        return path[: -len(DATA_SUFFIX)] + META_SUFFIX
    return path + META_SUFFIX


def sigmf_meta_candidates(path: str) -> list[str]:
    """Where to look for a recording's metadata, best first: ``sigmf_meta_path(path)``, then
    ``STEM.sigmf-meta`` with the extension replaced (``x.wav`` -> ``x.sigmf-meta``)."""
    first = sigmf_meta_path(path)
    stem, ext = os.path.splitext(path)
    if ext and ext != DATA_SUFFIX and os.path.basename(stem):
        return [first, stem + META_SUFFIX]
    return [first]


@dataclass(frozen=True)
class SigmfMeta:
    """The parts of a ``.sigmf-meta`` document that hotcast uses."""

    fmt: str  # our raw format name, a key of SIGMF_DATATYPE
    sample_rate_hz: float
    frequency_hz: float | None = None
    description: str = ""
    annotations: tuple[dict, ...] = field(default=())
    version: str = SIGMF_VERSION


def build_sigmf_meta(meta: SigmfMeta) -> str:
    """SigMF metadata JSON (global, captures, annotations) for a recording in ``meta.fmt``."""
    if meta.fmt not in SIGMF_DATATYPE:
        raise ValueError(f"no SigMF datatype for format {meta.fmt!r}; known: {sorted(SIGMF_DATATYPE)}")
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


def _nesting_depth(data: bytes) -> int:
    """Deepest ``[``/``{`` nesting outside JSON strings, vectorised (no per-byte Python loop).

    A quote opens or closes a string unless an odd run of backslashes precedes it. Outside a
    string a backslash is a JSON syntax error that the parser stops at, so what follows it
    never gets parsed and its count does not matter.
    """
    b = np.frombuffer(data, np.uint8)
    if b.size == 0:
        return 0
    # int32 positions and sums: MAX_META_BYTES is far below 2**31, and 4 bytes an input byte
    # keeps the scan of a 1 MiB document to a few tens of MiB.
    idx = np.arange(b.size, dtype=np.int32)
    last_plain = np.maximum.accumulate(np.where(b != ord("\\"), idx, np.int32(-1)))
    backslashes_before = np.zeros(b.size, np.int32)
    backslashes_before[1:] = idx[:-1] - last_plain[:-1]
    del idx, last_plain
    quote = (b == ord('"')) & (backslashes_before % 2 == 0)
    del backslashes_before
    in_string = (np.cumsum(quote, dtype=np.int32) - quote) % 2 == 1  # after an odd number of quotes
    step = np.isin(b, _OPEN).astype(np.int32) - np.isin(b, _CLOSE)
    step[in_string | quote] = 0
    return int(np.max(np.cumsum(step, dtype=np.int32), initial=0))


def _number(value: object, name: str, lo: float, hi: float) -> float:
    """A JSON number within [lo, hi] as a float (no OverflowError for 10**400, no NaN)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SampleFormatError(f"SigMF {name} must be a number of Hz, got {value!r:.40}")
    if not lo <= value <= hi:  # exact for any int; False for NaN
        digits = len(str(abs(value))) if isinstance(value, int) else 0
        shown = f"{value:.6g}" if isinstance(value, float) else (
            str(value) if digits <= 20 else f"an integer of {digits} digits")
        raise SampleFormatError(
            f"SigMF {name} is {shown}; it must be within {format_hz(lo)} .. {format_hz(hi)}"
        )
    return float(value)


def _load(text: str | bytes) -> object:
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)
    if len(data) > MAX_META_BYTES:
        raise SampleFormatError(f"SigMF metadata is {len(data)} bytes, above the {MAX_META_BYTES}-byte limit")
    try:
        decoded = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SampleFormatError(f"SigMF metadata is not UTF-8 text (byte {exc.start})") from None
    depth = _nesting_depth(data)
    if depth > MAX_META_DEPTH:
        raise SampleFormatError(f"SigMF metadata nests {depth} levels deep, at most {MAX_META_DEPTH}")
    try:
        return json.loads(decoded)
    except ValueError as exc:  # JSONDecodeError, and ints of more than 4300 digits
        raise SampleFormatError(f"SigMF metadata is not JSON: {exc}") from None


def parse_sigmf_meta(text: str | bytes) -> SigmfMeta:
    """Parse a ``.sigmf-meta`` document; ``SampleFormatError`` names what is missing or wrong."""
    doc = _load(text)
    glob = doc.get("global") if isinstance(doc, dict) else None
    if not isinstance(glob, dict):
        raise SampleFormatError("SigMF metadata has no 'global' object")
    datatype = glob.get("core:datatype")
    if not isinstance(datatype, str) or datatype not in _FORMAT_OF_DATATYPE:
        hint = " (big-endian data is not supported)" if isinstance(datatype, str) and datatype.endswith("_be") else ""
        raise SampleFormatError(
            f"SigMF core:datatype {datatype!r:.40} is not supported{hint}; "
            f"use one of {sorted(_FORMAT_OF_DATATYPE)}"
        )
    channels = glob.get("core:num_channels", 1)
    if channels != 1 or isinstance(channels, bool):
        raise SampleFormatError(f"SigMF core:num_channels is {channels!r:.40}; hotcast reads one channel")
    rate = _number(glob.get("core:sample_rate"), "core:sample_rate", MIN_HZ, MAX_HZ)
    captures = doc.get("captures")
    captures = [] if captures is None else captures
    if not isinstance(captures, list) or not all(isinstance(c, dict) for c in captures):
        raise SampleFormatError("SigMF 'captures' must be a list of objects")
    freq = captures[0].get("core:frequency") if captures else None
    if freq is not None:
        freq = _number(freq, "core:frequency", 0.0, MAX_HZ)
    notes = doc.get("annotations")
    notes = [] if notes is None else notes
    if not isinstance(notes, list) or not all(isinstance(a, dict) for a in notes):
        raise SampleFormatError("SigMF 'annotations' must be a list of objects")
    description = glob.get("core:description", "")
    version = glob.get("core:version", "")
    return SigmfMeta(
        fmt=_FORMAT_OF_DATATYPE[datatype],
        sample_rate_hz=rate,
        frequency_hz=freq,
        description=description if isinstance(description, str) else "",
        annotations=tuple(notes),
        version=version if isinstance(version, str) else "",
    )


def rate_over_meta(flag_hz: float | None, meta_hz: float | None, meta_path: str,
                   flag: str = "--rate") -> tuple[float | None, str | None]:
    """(rate to use, warning or None) when a flag and a ``.sigmf-meta`` may both give one.

    The flag wins (issue 7): ``(250e3, "--rate 250 kHz overrides 240 kHz in x.sigmf-meta")``.
    Rates within 1 ppm agree and give no warning; with no flag the metadata's rate is used.
    """
    if flag_hz is None:
        return meta_hz, None
    if meta_hz is None or same_hz(flag_hz, meta_hz):
        return flag_hz, None
    return flag_hz, f"{flag} {format_hz(flag_hz)} overrides {format_hz(meta_hz)} in {meta_path}"


def format_over_meta(flag_fmt: str | None, meta_fmt: str | None, meta_path: str,
                     flag: str = "--format") -> tuple[str | None, str | None]:
    """(format to use, warning or None), as ``rate_over_meta``: the flag wins, naming the
    metadata's datatype (``--format cu8 overrides core:datatype ci16_le (cs16) in x.sigmf-meta``)."""
    if flag_fmt is None:
        return meta_fmt, None
    if meta_fmt is None or flag_fmt == meta_fmt:
        return flag_fmt, None
    datatype = SIGMF_DATATYPE.get(meta_fmt, meta_fmt)
    return flag_fmt, (f"{flag} {flag_fmt} overrides core:datatype {datatype} ({meta_fmt}) "
                      f"in {meta_path}")
