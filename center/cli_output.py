"""What ``hotcast center`` prints: JSON-lines shapes, times, warnings and the status view.

Card IDs are written as JSON strings: they go up to 10**19 - 1, beyond the 2**53 integers
that JSON readers in most languages keep exactly. Reasons are lower-case names; expiry months
are ``YYYY-MM`` or null; every time in unix seconds gets an ISO 8601 UTC twin (``at`` and
``at_utc``). Nothing here writes: the runner's ``ctx`` does.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

from center.errors import UsageError
from center.registry.db import UpsertCounts
from center.registry.home import CenterHome, Entry
from crypto import BundleKind
from framing import Reason, month_of

# Keys holding unix seconds that get an ``_utc`` twin.
TIME_KEYS = ("at", "created_at", "valid_until", "listed_at", "applied_at", "expires_at")
# Warn when the newest full list expires within this many seconds (one hour).
EXPIRY_WARNING_S = 3600


def utc(t: int | None) -> str | None:
    """Unix seconds -> ``2026-11-29T22:33:44Z``."""
    if t is None:
        return None
    return dt.datetime.fromtimestamp(t, tz=dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def with_utc(row: dict) -> dict:
    """``row`` with an ``<key>_utc`` ISO 8601 twin after every unix-seconds key it holds."""
    out: dict = {}
    for key, value in row.items():
        out[key] = value
        if key in TIME_KEYS and isinstance(value, int):
            out[f"{key}_utc"] = utc(value)
    return out


def parse_time(text: str) -> int:
    """Unix seconds, ``YYYY-MM-DD`` (its first second, UTC) or ISO 8601 UTC -> unix seconds."""
    if text.isascii() and text.isdigit():
        return int(text)
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"bad time {text!r}: want unix seconds, YYYY-MM-DD or "
                         "YYYY-MM-DDTHH:MM:SSZ") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return int(when.timestamp())


def expiry_text(code: int | None) -> str | None:
    if not code:
        return None
    year, month = month_of(code)
    return f"{year:04d}-{month:02d}"


def entry(e: Entry) -> dict:
    return {"card": str(e.card_id), "reason": e.reason.name.lower(), "listed_at": e.listed_at,
            "listed_by": e.listed_by, "expires": expiry_text(e.expiry_code)}


def entry_lines(entries: Iterable[Entry]) -> Iterator[str]:
    """``center list`` lines, formatted directly: a million entries are common, so the few
    distinct reasons, operators and months are encoded once and cached; each line is
    byte-identical to ``json.dumps(entry(e))``."""
    reasons = {r: json.dumps(r.name.lower()) for r in Reason}
    by_cache: dict[str, str] = {}
    month_cache: dict[int, str] = {}
    for e in entries:
        by = by_cache.get(e.listed_by)
        if by is None:
            by = by_cache[e.listed_by] = json.dumps(e.listed_by)
        month = month_cache.get(e.expiry_code)
        if month is None:
            month = month_cache[e.expiry_code] = json.dumps(expiry_text(e.expiry_code))
        yield (f'{{"card": "{e.card_id}", "reason": {reasons[e.reason]}, '
               f'"listed_at": {e.listed_at}, "listed_by": {by}, "expires": {month}}}')


def audit_row(row: tuple) -> dict:
    ident, at, by, action, card, reason, expiry, note = row
    return {"id": ident, "at": at, "by": by, "action": action,
            "card": None if card is None else str(card),
            "reason": None if reason is None else Reason(reason).name.lower(),
            "expires": expiry_text(expiry), "note": note}


def counts(c: UpsertCounts, entries: int) -> dict:
    return {"added": c.added, "changed": c.changed, "unchanged": c.unchanged, "entries": entries}


def check_out(path: str, allow_stdout: bool) -> None:
    """Refuse an output path whose folder is missing, before anything is built."""
    if path == "-":
        if not allow_stdout:
            raise UsageError("key material is written only to a file, not to standard output")
        return
    folder = Path(path).parent
    if not folder.is_dir():
        raise UsageError(f"output folder {str(folder)!r} of {path!r} does not exist")
    if Path(path).is_dir():
        raise UsageError(f"output {path!r} is a folder")


def expiry_warnings(bundles: list, now: int) -> list[str]:
    """Warnings about what is on air: an expired or soon-expiring list, no list at all."""
    lists = [b for b in bundles if b.kind in (BundleKind.FULL, BundleKind.DELTA)]
    if not lists:
        return ["nothing on air: no full list built yet (hotcast center build --out FILE)"]
    newest = max(lists, key=lambda b: b.seq)
    warnings = []
    for b in bundles:
        if b.valid_until < now and b.kind is not BundleKind.MASTER_ROLL:
            warnings.append(f"seq {b.seq} ({b.kind.name.lower()}) expired at {utc(b.valid_until)}: "
                            "terminals refuse it; build a new list")
    left = newest.valid_until - now
    if 0 <= left < EXPIRY_WARNING_S:
        warnings.append(f"the newest list (seq {newest.seq}) expires in {left} s at "
                        f"{utc(newest.valid_until)}: build a new one before terminals go stale")
    return warnings


def center_status(home: CenterHome, now: int, profile: str) -> dict:
    """``center status``: what is on air, each bundle's share of the cycle, the list's age."""
    from center.air.render import cycle_figures  # the air package: only for this view

    bundles = home.carousel(now)
    figures = cycle_figures(profile, bundles) if bundles else None
    fulls = [b for b in bundles if b.kind is BundleKind.FULL]
    full = fulls[-1] if fulls else None
    deltas = [b for b in bundles if b.kind is BundleKind.DELTA]
    by_reason = Counter(e.reason.name.lower() for e in home.list_entries())
    status = {
        "home": str(home.path), "now": now, "now_utc": utc(now), "entries": home.count(),
        "entries_by_reason": dict(sorted(by_reason.items())),
        "profile": profile,
        "cycle_s": None if figures is None else round(figures["cycle_s"], 3),
        "on_air": [] if figures is None else figures["bundles"],
        "full_seq": None if full is None else full.seq,
        "full_age_s": None if full is None else now - full.created_at,
        "full_expires_in_s": None if full is None else full.valid_until - now,
        "deltas_since_full": len(deltas),
        "warnings": expiry_warnings(bundles, now),
    }
    return with_utc(status)


def status_table(status: dict) -> str:
    """The status as a few aligned lines for people."""
    rows = [("now", status["now_utc"]), ("entries", f"{status['entries']:,}"),
            ("by reason", ", ".join(f"{k} {v:,}" for k, v in status["entries_by_reason"].items())
             or "-")]
    if status["full_seq"] is None:
        rows.append(("full list", "none built"))
    else:
        rows += [("full list", f"seq {status['full_seq']}, {status['full_age_s']} s old, expires "
                               f"in {status['full_expires_in_s']} s"),
                 ("deltas since", str(status["deltas_since_full"])),
                 (f"cycle ({status['profile']})", f"{status['cycle_s']} s")]
        for b in status["on_air"]:
            rows.append((f"  seq {b['seq']}", f"{b['kind']:<12} {b['bytes']:>10,} B  "
                                              f"{b['blocks']:>6} blocks  {100 * b['share']:5.1f} %"))
    for w in status["warnings"]:
        rows.append(("WARNING", w))
    width = max(len(k) for k, _ in rows)
    return "".join(f"{k:<{width}}  {v}\n" for k, v in rows)
