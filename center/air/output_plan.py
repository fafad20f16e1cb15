"""What a render or broadcast writes, checked from the command-line options: format and rates.

Formats (CONTRACT.md "signal files"): ``.cu8 .cs8 .cf32`` hold a complete FM signal as I/Q (a
profile carried on FM only; default 1.2 MHz), ``.wav .s16le .f32le`` the profile's baseband
(the MPX for ``fm``, at its default 228 kHz: the rate ``rtl_fm -s 228k`` pipelines and
darc2json use). The profile table (``modem.PROFILES``) says which rates each profile takes;
nothing here restates them. Every check raises ValueError naming the option; the CLI turns it
into exit 2.
"""

from __future__ import annotations

import math

from center.air.render import RenderConfig
from modem import InputKind, TxOptions, modem_profile
from modem.formats import FORMAT_BY_EXTENSION, is_iq_format

DEFAULT_IQ_RATE_HZ = 1_200_000  # CONTRACT: an RTL-SDR's usual rate
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


def plan_output(out: str, fmt: str | None, profile: str, *, rate_hz: float | None,
                duration_s: float | None, level: float | None,
                with_programme: bool) -> tuple[str, RenderConfig]:
    """(format, RenderConfig) for an output, every option checked: ValueError naming it.

    An I/Q format renders the profile's baseband at ``modem.txchain.mpx_rate_for_iq(rate)``
    and FM-modulates it.
    """
    fmt = choose_format(out, fmt)
    entry = modem_profile(profile)
    iq = is_iq_format(fmt)
    if iq and not entry.takes_iq:
        raise ValueError(f"{fmt} holds a complete FM signal; profile {profile} is not carried on "
                         f"FM: write its baseband (.wav, .s16le, .f32le)")
    rate = (DEFAULT_IQ_RATE_HZ if iq else entry.default_baseband_rate_hz) if rate_hz is None else rate_hz
    if not (math.isfinite(rate) and rate == int(rate)):
        raise ValueError(f"--rate {rate:.15g} must be a whole number of Hz")
    try:
        entry.check_rate(InputKind.IQ if iq else InputKind.BASEBAND, rate)
    except ValueError as exc:
        raise ValueError(f"--rate: {exc}") from None
    if duration_s is not None and not (math.isfinite(duration_s) and 0 < duration_s <= MAX_DURATION_S):
        raise ValueError(f"--duration {duration_s:g} must be above 0 s and at most a year")
    if level is not None:
        try:
            entry.check_level(level)
        except ValueError as exc:
            raise ValueError(f"--injection: {exc}") from None
    if with_programme and not entry.takes_iq:
        raise ValueError(f"--with-programme adds an FM programme; profile {profile} has none")
    rate = int(rate)
    tx = TxOptions(baseband_rate_hz=None if iq else rate, iq_rate_hz=rate if iq else None,
                   level=level, with_programme=with_programme)
    return fmt, RenderConfig(tx=tx, duration_s=duration_s)
