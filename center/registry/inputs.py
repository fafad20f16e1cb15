"""Parsing of operator input: card IDs, reasons, expiry months, dates, universes.

Invariants:
* A card ID is ASCII decimal digits only, 1 to 19 of them (shared/CONTRACT.md). Nineteen
  digits are at most 9 999 999 999 999 999 999 < 2**64 = 18 446 744 073 709 551 616, so the
  length rule already keeps every ID inside u64; no sign, spaces, underscores or non-ASCII
  digits (Python's ``int()`` would accept "+1", " 1", "1_0" and "١", we do not).
* Every parser raises a ``CenterInputError`` subclass whose message names the bad value.
* Nothing here touches the registry: callers validate everything first, then write once.
"""

from __future__ import annotations

import calendar
import datetime as dt

import numpy as np

from center.errors import CardIdError, ReasonError, UniverseError
import framing
from framing import Reason, Universe, is_card_id_text, month_code, parse_card_id

# Expiry months are coded as uint16 (year-2000)*12 + month; we accept a sane card range.
MIN_EXPIRY_YEAR = 2000
MAX_EXPIRY_YEAR = 2999

REASON_BY_NAME: dict[str, Reason] = {r.name.lower(): r for r in Reason}


def parse_card_ids(texts: list[str], universe: Universe) -> np.ndarray:
    """Parse card IDs given on a command line; all must be inside ``universe``.

    Returns sorted unique IDs, shape (n,), dtype uint64. Repeats collapse to one.
    """
    try:
        values = [parse_card_id(t) for t in texts]
    except framing.CardIdError as exc:
        raise CardIdError(str(exc)) from None
    ids = np.array(values, dtype=np.uint64)
    inside = universe.contains(ids)
    if not inside.all():
        bad = texts[int(np.flatnonzero(~inside)[0])]
        raise CardIdError(f"card ID {bad} is outside the universe {universe}")
    return np.unique(ids)


def parse_reason(text: str) -> Reason:
    """Parse a reason name (case-insensitive), raising ``ReasonError`` naming ``text``."""
    reason = REASON_BY_NAME.get(text.strip().lower())
    if reason is None:
        names = "|".join(REASON_BY_NAME)
        raise ReasonError(f"unknown reason {text!r}: want one of {names}")
    return reason


def parse_expiry(text: str) -> int:
    """Parse an expiry month ``YYYY-MM`` into its uint16 month code; '' means no expiry (0).

    Raises ``ValueError`` naming the text; the CSV reader turns it into a line-numbered error.
    """
    if text == "":
        return 0
    year_text, sep, month_text = text.partition("-")
    ok = (
        sep == "-" and len(year_text) == 4 and len(month_text) == 2
        and (year_text + month_text).isascii() and (year_text + month_text).isdigit()
    )
    if not ok:
        raise ValueError(f"bad expiry month {text!r}: want YYYY-MM")
    year, month = int(year_text), int(month_text)
    if not (1 <= month <= 12 and MIN_EXPIRY_YEAR <= year <= MAX_EXPIRY_YEAR):
        raise ValueError(
            f"bad expiry month {text!r}: month 01-12, year {MIN_EXPIRY_YEAR}-{MAX_EXPIRY_YEAR}"
        )
    return month_code(year, month)


def month_code_at(now: int) -> int:
    """Month code of the UTC calendar month that contains unix time ``now``."""
    day = dt.datetime.fromtimestamp(now, tz=dt.timezone.utc)
    return month_code(day.year, day.month)


def parse_date_end(text: str) -> int:
    """Parse ``YYYY-MM-DD`` to the last second of that UTC day (a token valid *through* it)."""
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"bad date {text!r}: want YYYY-MM-DD") from None
    if len(text) != 10:
        raise ValueError(f"bad date {text!r}: want YYYY-MM-DD")
    midnight = calendar.timegm(day.timetuple())
    return midnight + 86_400 - 1  # 86 400 s = 24 h; the day's last second


def parse_universe(text: str) -> Universe:
    """Parse ``LO-HI[,LO-HI...]``; every bound must itself follow the card ID rule."""
    for part in text.split(","):
        lo, sep, hi = part.strip().partition("-")
        if sep != "-" or not (is_card_id_text(lo.strip()) and is_card_id_text(hi.strip())):
            raise UniverseError(
                f"bad universe range {part!r}: want LO-HI with card IDs of 1 to 19 digits"
            )
    try:
        return Universe.parse(text)
    except ValueError as exc:
        raise UniverseError(f"bad universe {text!r}: {exc}") from None
