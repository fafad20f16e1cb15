"""hotcast receiver: the terminal side.

The terminal store (``TerminalStore``: SQLite in WAL mode, one transaction per change,
signed-update rules checked before any write), the card checks and the purse / POS logic
of JP H10-27206 over a card-reader interface, and the ``terminal`` command line
(``receiver.cli``, not imported here). Sources and the streaming receive pipeline live in
``receiver.radio.sources`` / ``receiver.radio.pipeline``; they hand each completed bundle to
``TerminalStore.apply_bundle(data, now)``.
"""

from receiver.payment.card import HistoryEntry, ICCard
from receiver.payment.checks import CardVerdict, TerminalPolicy, check_card, screen_card
from receiver.errors import (
    BundleBodyError,
    BundleRefusedError,
    CardError,
    CardLockedError,
    DeltaBaseError,
    ExpiredBundleError,
    ReceiverError,
    RollbackError,
    StoreError,
)
from receiver.payment.reader import CardReader, SimulatedReader
from receiver.store.state import ApplyResult, HotLookup, ListState
from receiver.store.store import TerminalStore
from receiver.payment.terminal import PosTerminal, PurseTerminal, TerminalResult

__all__ = [
    "ApplyResult", "BundleBodyError", "BundleRefusedError", "CardError",
    "CardLockedError", "CardReader", "CardVerdict", "DeltaBaseError", "ExpiredBundleError",
    "HistoryEntry", "HotLookup", "ICCard", "ListState", "PosTerminal", "PurseTerminal",
    "ReceiverError", "RollbackError", "SimulatedReader", "StoreError", "TerminalPolicy",
    "TerminalResult", "TerminalStore", "check_card", "screen_card",
]
