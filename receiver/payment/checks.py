"""Card checks against the terminal store: the verdict for one card ID, and the screening
every terminal runs on an inserted card before any money moves.

Invariants:
- every verdict carries the list it was checked against (``list_seq``) and whether that
  list is stale (no list yet, or past its valid-until): a stale terminal says so, always;
- ``screen_card`` refuses a listed card by locking it out and ejecting it (JP H10-27206);
  a card refused for any other reason is ejected but not locked;
- a card without a valid token (``crypto.check_token``: missing, forged, another card's,
  or expired) is refused offline: the terminal cannot ask the center, so it needs the
  center's signed word that the card is in good standing until some date.
"""

from __future__ import annotations

from dataclasses import dataclass

from crypto import TokenError, TokenExpiredError, check_token

from receiver.payment.reader import CardReader
from receiver.store.store import TerminalStore

ACCEPT = "accept"
REFUSE = "refuse"


@dataclass(frozen=True)
class CardVerdict:
    """The answer for one card. ``reason`` is a hot-list reason (``stolen``, ``lost``,
    ``fraud``, ``other``) or, from ``screen_card`` only, ``locked_out``, ``no_token``,
    ``token_expired``, ``token_invalid``; None when accepted."""

    card_id: int
    verdict: str
    reason: str | None
    list_seq: int
    stale: bool
    stale_why: str | None = None

    @property
    def accepted(self) -> bool:
        return self.verdict == ACCEPT

    def to_json(self) -> dict:
        """The CONTRACT.md form of ``terminal check`` (card ID as a decimal string)."""
        out = {"card": str(self.card_id), "verdict": self.verdict, "reason": self.reason,
               "list_seq": self.list_seq, "stale": self.stale}
        if self.stale_why is not None:
            out["stale_why"] = self.stale_why
        return out


@dataclass(frozen=True)
class TerminalPolicy:
    """Offline risk policy. ``floor_limit_minor``: while the list is stale, amounts above
    this (minor currency units) are refused; at or below, the terminal takes the risk."""

    floor_limit_minor: int = 0
    require_token: bool = True

    def __post_init__(self) -> None:
        if self.floor_limit_minor < 0:
            raise ValueError(f"floor_limit_minor must be >= 0, got {self.floor_limit_minor}")


def check_card(store: TerminalStore, card_id: int, now: int) -> CardVerdict:
    """List check only (what ``terminal check`` prints): refuse iff the ID is listed."""
    hit = store.lookup(card_id, now)
    if hit.reason is None:
        return CardVerdict(card_id, ACCEPT, None, hit.list_seq, hit.stale, hit.stale_why)
    return CardVerdict(card_id, REFUSE, hit.reason.name.lower(), hit.list_seq, hit.stale,
                       hit.stale_why)


def screen_card(reader: CardReader, store: TerminalStore, policy: TerminalPolicy,
                now: int) -> CardVerdict:
    """Insert-time screening of the card in ``reader``: list, lock state, token.

    A listed card is locked out and ejected; any other refused card is ejected. An
    accepted card stays in the reader.
    """
    card_id = reader.read_id()
    verdict = check_card(store, card_id, now)
    if not verdict.accepted:
        reader.lock_out()
        reader.eject()
        return verdict
    reason = None
    if reader.is_locked_out():
        reason = "locked_out"
    elif policy.require_token:
        reason = _token_problem(reader.read_token(), card_id, store, now)
    if reason is None:
        return verdict
    reader.eject()
    return CardVerdict(card_id, REFUSE, reason, verdict.list_seq, verdict.stale,
                       verdict.stale_why)


def _token_problem(token: bytes | None, card_id: int, store: TerminalStore, now: int) -> str | None:
    if token is None:
        return "no_token"
    try:
        check_token(token, card_id, now, store.keys().keyset)
    except TokenExpiredError:
        return "token_expired"
    except TokenError:
        return "token_invalid"
    return None
