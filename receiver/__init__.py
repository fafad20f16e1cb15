"""hotcast receiver: the terminal side.

The terminal store (``TerminalStore``: SQLite in WAL mode, one transaction per change,
signed-update rules checked before any write), the card checks and the purse / POS logic
of JP H10-27206 over a card-reader interface, and the ``terminal`` command line
(``receiver.cli``, not imported here). Sources and the streaming receive pipeline live in
``receiver.sources`` / ``receiver.pipeline``; they hand each completed bundle to
``TerminalStore.apply_bundle(data, now)``.
"""

from .card import HistoryEntry, ICCard, parse_card_id
from .checks import CardVerdict, TerminalPolicy, check_card, screen_card
from .errors import (
    BundleBodyError,
    BundleRefusedError,
    CardError,
    CardIdError,
    CardLockedError,
    DeltaBaseError,
    ExpiredBundleError,
    ReceiverError,
    RollbackError,
    StoreError,
)
from .reader import CardReader, SimulatedReader
from .state import ApplyResult, HotLookup, ListState
from .store import TerminalStore
from .terminal import PosTerminal, PurseTerminal, TerminalResult

__all__ = [
    "ApplyResult", "BundleBodyError", "BundleRefusedError", "CardError", "CardIdError",
    "CardLockedError", "CardReader", "CardVerdict", "DeltaBaseError", "ExpiredBundleError",
    "HistoryEntry", "HotLookup", "ICCard", "ListState", "PosTerminal", "PurseTerminal",
    "ReceiverError", "RollbackError", "SimulatedReader", "StoreError", "TerminalPolicy",
    "TerminalResult", "TerminalStore", "check_card", "parse_card_id", "screen_card",
]
