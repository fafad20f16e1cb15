"""The IC card model: an electronic-purse card as the terminal sees it.

A card holds its ID, a purse balance in minor currency units, its own transaction
history, a validity token issued by the center (``crypto.issue_token``; None if it never
got one) and a lock-out flag. The card enforces its own rules, as a chip does:

- once locked out it gives no money and takes none, forever (JP H10-27206: a listed card
  is made unusable and ejected);
- the balance never goes negative; a debit or credit either happens whole, with its
  history entry, or raises ``CardError`` and changes nothing.

Card IDs are decimal numbers of 1 to 19 digits (CONTRACT.md "card ID"); text becomes an ID
only through ``framing.parse_card_id``.
"""

from __future__ import annotations

from dataclasses import dataclass

from receiver.errors import CardError, CardLockedError

@dataclass(frozen=True)
class HistoryEntry:
    """One line of a card's history. ``amount_minor`` is signed: negative = money out.
    ``counterparty`` is the other card's ID for a remittance, None for a sale."""

    at: int
    kind: str  # "payment", "remit_out", "remit_in", "payment_reversal", "remit_reversal"
    amount_minor: int
    counterparty: int | None


class ICCard:
    """A simulated IC card (mutable: it is a device with state, not a value)."""

    def __init__(self, card_id: int, balance_minor: int = 0, token: bytes | None = None) -> None:
        if not 0 <= card_id < 1 << 64:
            raise ValueError(f"card_id {card_id} is not an unsigned 64-bit integer")
        if balance_minor < 0:
            raise ValueError(f"balance_minor must be >= 0, got {balance_minor}")
        self.card_id = card_id
        self.token = token
        self._balance_minor = balance_minor
        self._history: list[HistoryEntry] = []
        self._locked_out = False

    def __repr__(self) -> str:
        return (f"ICCard(card_id={self.card_id}, balance_minor={self._balance_minor}, "
                f"locked_out={self._locked_out})")

    @property
    def balance_minor(self) -> int:
        return self._balance_minor

    @property
    def history(self) -> tuple[HistoryEntry, ...]:
        return tuple(self._history)

    @property
    def locked_out(self) -> bool:
        return self._locked_out

    def lock_out(self) -> None:
        """Irreversible: the card gives and takes no more money."""
        self._locked_out = True

    def debit(self, amount_minor: int, at: int, kind: str, counterparty: int | None) -> None:
        self._check(amount_minor)
        if amount_minor > self._balance_minor:
            raise CardError(
                f"card {self.card_id}: balance {self._balance_minor} < amount {amount_minor}"
            )
        self._balance_minor -= amount_minor
        self._history.append(HistoryEntry(at, kind, -amount_minor, counterparty))

    def credit(self, amount_minor: int, at: int, kind: str, counterparty: int | None) -> None:
        self._check(amount_minor)
        self._balance_minor += amount_minor
        self._history.append(HistoryEntry(at, kind, amount_minor, counterparty))

    def _check(self, amount_minor: int) -> None:
        if amount_minor <= 0:
            raise ValueError(f"amount_minor must be positive, got {amount_minor}")
        if self._locked_out:
            raise CardLockedError(f"card {self.card_id} is locked out")
