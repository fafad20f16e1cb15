"""JSON-lines shapes of ``hotcast center`` output (the CLI's only formatting code).

Card IDs are written as JSON strings: they go up to 10**19 - 1, beyond the 2**53 integers
that JSON readers in most languages keep exactly. Reasons are lower-case names; expiry months
are ``YYYY-MM`` or null.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable

from center.home import Entry
from center.registry import UpsertCounts
from framing import Reason, month_of


def expiry_text(code: int | None) -> str | None:
    if not code:
        return None
    year, month = month_of(code)
    return f"{year:04d}-{month:02d}"


def entry(e: Entry) -> dict:
    return {"card": str(e.card_id), "reason": e.reason.name.lower(), "listed_at": e.listed_at,
            "listed_by": e.listed_by, "expires": expiry_text(e.expiry_code)}


def write_entries(entries: Iterable[Entry]) -> None:
    """``center list`` output: ``json.dumps(entry(e))`` per line, formatted directly.

    A million entries are common, so the few distinct reasons, operators and months are
    encoded once and cached; the result is byte-identical to ``json_line(entry(e))``.
    """
    reasons = {r: json.dumps(r.name.lower()) for r in Reason}
    by_cache: dict[str, str] = {}
    month_cache: dict[int, str] = {}

    def line(e: Entry) -> str:
        by = by_cache.get(e.listed_by)
        if by is None:
            by = by_cache[e.listed_by] = json.dumps(e.listed_by)
        month = month_cache.get(e.expiry_code)
        if month is None:
            month = month_cache[e.expiry_code] = json.dumps(expiry_text(e.expiry_code))
        return (f'{{"card": "{e.card_id}", "reason": {reasons[e.reason]}, '
                f'"listed_at": {e.listed_at}, "listed_by": {by}, "expires": {month}}}')

    _write_chunked(map(line, entries))


def audit_row(row: tuple) -> dict:
    ident, at, by, action, card, reason, expiry, note = row
    return {"id": ident, "at": at, "by": by, "action": action,
            "card": None if card is None else str(card),
            "reason": None if reason is None else Reason(reason).name.lower(),
            "expires": expiry_text(expiry), "note": note}


def counts(c: UpsertCounts, entries: int) -> dict:
    return {"added": c.added, "changed": c.changed, "unchanged": c.unchanged, "entries": entries}


def json_line(obj: dict, to_stderr: bool = False) -> None:
    stream = sys.stderr if to_stderr else sys.stdout
    stream.write(json.dumps(obj, separators=(", ", ": ")) + "\n")
    stream.flush()


def write_lines(objs: Iterable[dict]) -> None:
    """One JSON object a line on stdout, written in chunks (a million lines stay fast)."""
    _write_chunked(map(json.JSONEncoder(separators=(", ", ": ")).encode, objs))


def _write_chunked(lines: Iterable[str], chunk_lines: int = 4096) -> None:
    """Write ``lines`` to stdout, newline-terminated, ``chunk_lines`` per write call."""
    chunk: list[str] = []
    for text in lines:
        chunk.append(text)
        if len(chunk) >= chunk_lines:
            sys.stdout.write("\n".join(chunk) + "\n")
            chunk.clear()
    if chunk:
        sys.stdout.write("\n".join(chunk) + "\n")
    sys.stdout.flush()
