"""Frequencies and sample rates as SDR users write them, and as people read them.

``parse_hz`` reads the text of every option that takes Hz (``--rate``, ``--freq``)::

    [space] DECIMAL [space] [k | M | G] [Hz] [space]      e.g. 192000  228k  1.2M  2.048M
                                                               89.1M  2.4e6  "48 kHz"

DECIMAL is ASCII digits with an optional fraction and exponent. The suffix multiplies by
10**3, 10**6 or 10**9 and is case-insensitive, as in rtl_fm's and rtl_sdr's ``atofs()``
(``-s 2.4m`` is 2.4 MHz there: a milli-hertz rate is never meant). An optional ``Hz`` lets
the output of ``format_hz`` ("1.2 MHz") be pasted back. Scaling is done in decimal, so
``89.1M`` is exactly 89 100 000.0, not 89 100 000.00000001.

``format_hz`` writes a value for people: ``1.2 MHz``, ``228 kHz``, ``48 kHz``, ``89.1 MHz``,
never ``1.2e+06``.

Invariants: ``parse_hz`` returns a finite float in [MIN_HZ, MAX_HZ] or raises
``SampleRateError`` naming the text (garbage, a sign, zero, NaN, inf and absurd magnitudes
such as ``1e400`` included; it never raises anything else); ``parse_hz(format_hz(x)) == x``
for every float x in that range (``format_hz`` writes the shortest decimal that round-trips).
"""

from __future__ import annotations

import math
import re
from decimal import Decimal

from modem.errors import SampleRateError

__all__ = ["MAX_HZ", "MIN_HZ", "RATE_TOLERANCE", "format_hz", "parse_hz", "same_hz"]

# 1 Hz .. 1 THz: below 1 Hz no sample rate or carrier is meant; 1 THz is far above any SDR's
# tuning range (a few GHz) and sample rate (a few hundred MHz), so more is a typo.
MIN_HZ = 1.0
MAX_HZ = 1e12
# Rates that agree to 1 ppm are the same rate: SigMF stores floats, and an RTL-SDR reports the
# rate its crystal makes (asked for 1 MHz: 28.8 MHz * 2**22 / 120795952 = 1 000 000.026 Hz).
RATE_TOLERANCE = 1e-6
# Longer text than this is not a frequency (the longest useful one, "1000000.026 Hz", is 14).
_MAX_TEXT_CHARS = 64
_SUFFIX_EXPONENT = {"": 0, "k": 3, "m": 6, "g": 9}
_UNITS = ((9, "GHz"), (6, "MHz"), (3, "kHz"))
_HZ_TEXT = re.compile(
    r"\s*(?P<sign>[+-]?)(?P<mantissa>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
    r"(?:[eE](?P<exponent>[+-]?[0-9]+))?\s*(?P<suffix>[kKmMgG]?)(?:[hH][zZ])?\s*",
    re.ASCII,
)
_EXAMPLES = "e.g. 192000, 228k, 1.2M, 89.1M"


def parse_hz(text: str) -> float:
    """Hz from text such as ``228k``, ``1.2M``, ``89.1 MHz``; ``SampleRateError`` naming the text."""
    if not isinstance(text, str):
        raise TypeError(f"parse_hz takes text, got {type(text).__name__}")
    shown = repr(text) if len(text) <= _MAX_TEXT_CHARS else repr(text[:_MAX_TEXT_CHARS]) + "..."
    match = _HZ_TEXT.fullmatch(text) if len(text) <= _MAX_TEXT_CHARS else None
    if match is None:
        raise SampleRateError(f"{shown} is not a number of Hz ({_EXAMPLES})")
    exponent_text = match["exponent"] or "0"
    # Bounding the exponent first keeps Decimal away from its own overflow (Emax 999999).
    if len(exponent_text.lstrip("+-").lstrip("0")) > 4:
        raise SampleRateError(f"{shown} is not a sensible number of Hz ({_EXAMPLES})")
    exponent = int(exponent_text) + _SUFFIX_EXPONENT[match["suffix"].lower()]
    value = Decimal(match["mantissa"]).scaleb(exponent)
    if match["sign"] == "-" and value != 0:
        raise SampleRateError(f"{shown} is negative; a rate or frequency is a positive number of Hz")
    if value == 0:
        raise SampleRateError(f"{shown} is zero; a rate or frequency is a positive number of Hz")
    if value > Decimal(MAX_HZ):
        raise SampleRateError(f"{shown} is above {format_hz(MAX_HZ)}: not a rate or frequency")
    if value < Decimal(MIN_HZ):
        raise SampleRateError(f"{shown} is below {format_hz(MIN_HZ)}: not a rate or frequency")
    return float(value)


def format_hz(hz: float) -> str:
    """``1.2 MHz``, ``228 kHz``, ``48 kHz``, ``1.000000026 MHz``: the shortest exact decimal
    in the largest unit the value reaches (Hz below 1 kHz). Negative values (offsets) keep
    their sign; ``ValueError`` for NaN and infinities."""
    value = float(hz)
    if not math.isfinite(value):
        raise ValueError(f"format_hz needs a finite number of Hz, got {hz!r}")
    if value == 0:
        return "0 Hz"
    exact = Decimal(repr(value))  # the shortest decimal that reads back as this float
    unit = "Hz"
    for exponent, name in _UNITS:
        if abs(value) >= 10.0**exponent:
            exact, unit = exact.scaleb(-exponent), name
            break
    return f"{exact.normalize():f} {unit}"


def same_hz(a: float, b: float) -> bool:
    """True if two positive rates agree within ``RATE_TOLERANCE`` (1 ppm) of the larger."""
    return abs(a - b) <= RATE_TOLERANCE * max(abs(a), abs(b))
