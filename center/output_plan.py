"""What a render or broadcast writes, checked from the command-line options: format and rates.

Formats (CONTRACT.md "signal files"): ``.cu8 .cs8 .cf32`` hold a complete FM signal as I/Q
(default 1.2 MHz), ``.wav .s16le .f32le`` the MPX baseband (default 228 kHz, the rate
``rtl_fm -s 228k`` pipelines and darc2json use). Every check raises ValueError naming the
option; the CLI turns it into exit 2.
"""

from __future__ import annotations

import math

from center.render import (
    MAX_INJECTION,
    MAX_MPX_RATE_HZ,
    MIN_MPX_RATE_HZ,
    RENDER_PROFILES,
    RenderConfig,
    mpx_rate_for_iq,
)
from modem.fmiq import MAX_IQ_RATE_HZ, MIN_IQ_RATE_HZ
from modem.formats import FORMAT_BY_EXTENSION, is_iq_format

DEFAULT_IQ_RATE_HZ = 1_200_000
DEFAULT_MPX_RATE_HZ = 228_000
MAX_DURATION_S = 366 * 86_400  # a year of signal

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
