"""The card-reader interface the terminal logic talks to, and a simulated reader.

``CardReader`` is what a real reader driver must provide (thin, like every device
adapter); ``SimulatedReader`` is one slot holding an ``ICCard``, used by tests, the demo
and benches. The terminal logic never touches an ``ICCard`` directly.

Invariant: every operation but ``insert`` needs a card in the slot (CardError otherwise);
``eject`` empties the slot and is the only way out.
"""

from __future__ import annotations

from typing import Protocol

from receiver.payment.card import HistoryEntry, ICCard
from receiver.errors import CardError


class CardReader(Protocol):
    """One card slot of a terminal."""

    def has_card(self) -> bool: ...
    def read_id(self) -> int: ...
    def read_token(self) -> bytes | None: ...
    def read_balance(self) -> int: ...
    def read_history(self) -> tuple[HistoryEntry, ...]: ...
    def is_locked_out(self) -> bool: ...
    def debit(self, amount_minor: int, at: int, kind: str, counterparty: int | None) -> None: ...
    def credit(self, amount_minor: int, at: int, kind: str, counterparty: int | None) -> None: ...
    def lock_out(self) -> None: ...
    def eject(self) -> None: ...


class SimulatedReader:
    """A reader slot backed by an in-memory ``ICCard``. ``insert`` is the user's hand."""

    def __init__(self, name: str = "slot") -> None:
        self.name = name
        self._card: ICCard | None = None
        self.ejected: list[ICCard] = []  # cards handed back, in order (for tests and UIs)

    def __repr__(self) -> str:
        return f"SimulatedReader(name={self.name!r}, card={self._card!r})"

    def insert(self, card: ICCard) -> None:
        if self._card is not None:
            raise CardError(f"reader {self.name}: a card is already inserted")
        self._card = card

    def has_card(self) -> bool:
        return self._card is not None

    def _present(self) -> ICCard:
        if self._card is None:
            raise CardError(f"reader {self.name}: no card inserted")
        return self._card

    def read_id(self) -> int:
        return self._present().card_id

    def read_token(self) -> bytes | None:
        return self._present().token

    def read_balance(self) -> int:
        return self._present().balance_minor

    def read_history(self) -> tuple[HistoryEntry, ...]:
        return self._present().history

    def is_locked_out(self) -> bool:
        return self._present().locked_out

    def debit(self, amount_minor: int, at: int, kind: str, counterparty: int | None) -> None:
        self._present().debit(amount_minor, at, kind, counterparty)

    def credit(self, amount_minor: int, at: int, kind: str, counterparty: int | None) -> None:
        self._present().credit(amount_minor, at, kind, counterparty)

    def lock_out(self) -> None:
        self._present().lock_out()

    def eject(self) -> None:
        self.ejected.append(self._present())
        self._card = None
