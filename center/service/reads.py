"""What the service reads from a center home: pages of the list and of the audit log, the
statistics, the bundle history, one card. JSON shapes are those of ``hotcast center list``,
``audit`` and ``history`` (``center.cli_output``), so a script reads either the same way.

Paging seeks: ``CenterHome.list_entries(after)`` starts at the page's first card (card ID
order) and ``newest_audit`` reads the log backwards from the page's end, so a page costs its
own rows (plus the rows a filter skips), not the list or the log before it. One card is one
indexed read (``CenterHome.entry``; its audit rows through the log's card index).

Invariants: nothing here writes; every function takes the home it reads and ``now``.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque

from center import cli_output as out
from center.registry.home import CenterHome
from framing import Reason

# Audit actions that put a card on the list, or take one off it (center.registry.db).
LISTING_ACTIONS = frozenset({"revoke", "import"})
DELISTING_ACTIONS = frozenset({"reinstate"})
DAY_S = 86_400


def entries_page(home: CenterHome, *, after: int | None, limit: int, reason: Reason | None,
                 prefix: str, by: str | None) -> dict:
    """Up to ``limit`` entries after card ``after`` (ID order) that match every filter given:
    ``reason``, a card ID ``prefix`` (digits), the operator ``by`` who listed them."""
    rows: list[dict] = []
    more = None
    for e in home.list_entries(after):
        if reason is not None and e.reason is not reason:
            continue
        if prefix and not str(e.card_id).startswith(prefix):
            continue
        if by is not None and e.listed_by != by:
            continue
        if len(rows) == limit:
            more = rows[-1]["card"]
            break
        rows.append(out.with_utc(out.entry(e)))
    return {"entries": rows, "next_after": more}


def lookup(home: CenterHome, card_id: int) -> dict | None:
    """The entry of one card, or None when it is not listed (one indexed read)."""
    e = home.entry(card_id)
    return None if e is None else out.with_utc(out.entry(e))


def audit_page(home: CenterHome, *, card: int | None, since: int | None, action: str | None,
               before: int | None, limit: int) -> dict:
    """The newest ``limit`` audit rows (before row id ``before``), newest first."""
    rows = home.newest_audit(limit + 1, card=card, since=since, action=action, before=before)
    more = len(rows) > limit  # older rows remain below this page
    rows = rows[:limit]
    return {"rows": [out.with_utc(out.audit_row(r)) for r in rows],
            "next_before": rows[-1][0] if more else None}


def card_audit(home: CenterHome, card_id: int, limit: int = 20) -> list[dict]:
    """The newest ``limit`` audit rows about one card, newest first."""
    return audit_page(home, card=card_id, since=None, action=None, before=None,
                      limit=limit)["rows"]


def history(home: CenterHome, *, kind: str | None, limit: int) -> list[dict]:
    """The newest ``limit`` bundles built (of ``kind`` when given), newest first."""
    keep: deque = deque(maxlen=limit)
    for row in home.history():
        if kind is None or row["kind"] == kind:
            keep.append(row)
    return [out.with_utc(r) for r in reversed(keep)]


def statistics(home: CenterHome, now: int, days: int) -> dict:
    """Entries by reason; the list size after every list bundle built (``growth``); cards
    listed and reinstated per UTC day over the last ``days`` days (``daily``, oldest first)."""
    by_reason = {r.name.lower(): n for r, n in home.reason_counts().items()}
    growth = [{"at": r["created_at"], "epoch": r["epoch"], "seq": r["seq"], "kind": r["kind"],
               "entries": r["entries"]}
              for r in home.history() if r["kind"] in ("full", "delta")]
    first_day = (now // DAY_S - days + 1) * DAY_S
    listed: Counter = Counter()
    reinstated: Counter = Counter()
    for day, action, rows in home.changes_by_day(first_day, DAY_S):
        if action in LISTING_ACTIONS:
            listed[day] += rows
        elif action in DELISTING_ACTIONS:
            reinstated[day] += rows
    daily = [{"day": out.utc(d * DAY_S)[:10], "listed": listed[d], "reinstated": reinstated[d]}
             for d in range(first_day // DAY_S, now // DAY_S + 1)]
    return {"now": now, "entries": sum(by_reason.values()),
            "by_reason": by_reason,
            "growth": [out.with_utc(g) for g in growth], "daily": daily}


class StatsCache:
    """``statistics`` recomputed at most every ``ttl_s`` seconds per ``days`` (each is a
    grouped pass over the list and over the log's recent rows, in the database);
    thread-safe."""

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self._cache: dict[int, tuple[float, dict]] = {}

    def __repr__(self) -> str:
        return f"StatsCache(ttl_s={self.ttl_s})"

    def get(self, home: CenterHome, now: int, days: int) -> dict:
        with self._lock:
            hit = self._cache.get(days)
            if hit is not None and time.monotonic() - hit[0] < self.ttl_s and hit[1]["now"] <= now:
                return hit[1]
        stats = statistics(home, now, days)
        with self._lock:
            self._cache[days] = (time.monotonic(), stats)
        return stats

    def forget(self) -> None:
        """Drop what is cached (after a change made through this service)."""
        with self._lock:
            self._cache.clear()
