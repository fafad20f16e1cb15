"""Terminal logic of JP H10-27206 over the card-reader interface: the electronic-purse
terminal (insert, remittance between two cards) and the POS terminal (payment).

Invariants:
- every card is screened (``checks.screen_card``: list, lock state, token) before any
  money moves; a listed card is locked out and ejected and nothing moves;
- money moves whole or not at all: all checks (both cards, stale floor limit, balance)
  pass first, then debit and credit; if the second leg fails the first is reversed;
- a POS sale is written to the store's sales history (and so its sales total) in the
  same step as the card debit, and the debit is reversed if the write fails;
- every result carries the verdicts, so a stale list is always visible to the caller.
"""

from __future__ import annotations

from dataclasses import dataclass

from receiver.payment.card import HistoryEntry
from receiver.payment.checks import CardVerdict, TerminalPolicy, screen_card
from receiver.payment.reader import CardReader
from receiver.store.store import TerminalStore

SHOWN = "shown"
REFUSED = "refused"
STALE_OVER_FLOOR = "stale_over_floor"
INSUFFICIENT = "insufficient"
PAID = "paid"
REMITTED = "remitted"

_REFUSAL_TEXT = {
    "locked_out": "card is locked out",
    "no_token": "card has no validity token; go online to renew it",
    "token_expired": "card's validity token has expired; go online to renew it",
    "token_invalid": "card's validity token is not genuine",
}


@dataclass(frozen=True)
class TerminalResult:
    """What the terminal shows. ``balance_minor`` / ``history`` are the (first) card's,
    after the operation, when the terminal may show them."""

    outcome: str
    message: str
    verdicts: tuple[CardVerdict, ...]
    balance_minor: int | None = None
    history: tuple[HistoryEntry, ...] = ()

    @property
    def stale(self) -> bool:
        return any(v.stale for v in self.verdicts)


def _refusal(verdicts: tuple[CardVerdict, ...]) -> TerminalResult:
    refused = next(v for v in verdicts if not v.accepted)
    text = _REFUSAL_TEXT.get(refused.reason, f"card is on the hot list ({refused.reason}); "
                                             "it has been locked out")
    return TerminalResult(REFUSED, f"card {refused.card_id}: {text}", verdicts)


def _eject_all(*readers: CardReader) -> None:
    for reader in readers:
        if reader.has_card():
            reader.eject()


class PurseTerminal:
    """An electronic-purse terminal with two slots: show a card, move money between cards."""

    def __init__(self, store: TerminalStore, policy: TerminalPolicy = TerminalPolicy()) -> None:
        self.store = store
        self.policy = policy

    def __repr__(self) -> str:
        return f"PurseTerminal(store={self.store!r}, policy={self.policy!r})"

    def insert(self, reader: CardReader, now: int) -> TerminalResult:
        verdict = screen_card(reader, self.store, self.policy, now)
        if not verdict.accepted:
            return _refusal((verdict,))
        return TerminalResult(SHOWN, "card accepted", (verdict,), reader.read_balance(),
                              reader.read_history())

    def remit(self, payer: CardReader, payee: CardReader, amount_minor: int,
              now: int) -> TerminalResult:
        """Move ``amount_minor`` from the card in ``payer`` to the card in ``payee``."""
        if amount_minor <= 0:
            raise ValueError(f"amount_minor must be positive, got {amount_minor}")
        # Both cards are screened, even when the first is refused: a listed payee is
        # locked out whatever the payer's state.
        verdicts = (screen_card(payer, self.store, self.policy, now),
                    screen_card(payee, self.store, self.policy, now))
        if not all(v.accepted for v in verdicts):
            _eject_all(payer, payee)
            return _refusal(verdicts)
        payer_id, payee_id = (v.card_id for v in verdicts)
        refusal = _money_check(payer, amount_minor, verdicts, self.policy)
        if refusal is not None:
            _eject_all(payer, payee)
            return refusal
        payer.debit(amount_minor, now, "remit_out", payee_id)
        try:
            payee.credit(amount_minor, now, "remit_in", payer_id)
        except Exception:
            payer.credit(amount_minor, now, "remit_reversal", payee_id)
            raise
        result = TerminalResult(REMITTED, f"moved {amount_minor} to card {payee_id}", verdicts,
                                payer.read_balance(), payer.read_history())
        _eject_all(payer, payee)
        return result


class PosTerminal:
    """A point-of-sale terminal: list check, token, floor limit, balance, debit, sale."""

    def __init__(self, store: TerminalStore, policy: TerminalPolicy = TerminalPolicy()) -> None:
        self.store = store
        self.policy = policy

    def __repr__(self) -> str:
        return f"PosTerminal(store={self.store!r}, policy={self.policy!r})"

    def pay(self, reader: CardReader, amount_minor: int, now: int) -> TerminalResult:
        if amount_minor <= 0:
            raise ValueError(f"amount_minor must be positive, got {amount_minor}")
        verdict = screen_card(reader, self.store, self.policy, now)
        if not verdict.accepted:
            return _refusal((verdict,))
        refusal = _money_check(reader, amount_minor, (verdict,), self.policy)
        if refusal is not None:
            reader.eject()
            return refusal
        reader.debit(amount_minor, now, "payment", None)
        try:
            self.store.record_sale(now, verdict.card_id, amount_minor, verdict.list_seq,
                                   verdict.stale)
        except Exception:
            reader.credit(amount_minor, now, "payment_reversal", None)
            raise
        result = TerminalResult(PAID, f"paid {amount_minor}", (verdict,),
                                reader.read_balance(), reader.read_history())
        reader.eject()
        return result


def _money_check(payer: CardReader, amount_minor: int, verdicts: tuple[CardVerdict, ...],
                 policy: TerminalPolicy) -> TerminalResult | None:
    """Stale floor limit, then balance; None when the money may move."""
    if any(v.stale for v in verdicts) and amount_minor > policy.floor_limit_minor:
        return TerminalResult(
            STALE_OVER_FLOOR,
            f"hot list is stale: offline amounts above {policy.floor_limit_minor} are refused",
            verdicts)
    balance = payer.read_balance()
    if balance < amount_minor:
        return TerminalResult(INSUFFICIENT, f"insufficient balance ({balance} < {amount_minor})",
                              verdicts, balance)
    return None
