"""hotcast center: the registry of hot cards, bundle building, key rotation and its CLI.

``CenterHome`` is the whole Python surface (the demo and ``center render`` call it
directly); ``center.air.live.LiveCarousel`` is the carousel on air that changes while it runs
(``hotcast center broadcast``); ``center.cli.main(argv)`` is ``hotcast center``. Time is
passed in as ``now`` (unix seconds, UTC); only the CLI modules and the broadcast loop read
the clock.
"""

from center.registry.building import DEFAULT_ROLL_VALID_S, DEFAULT_VALID_S, BuiltBundle
from center.errors import (
    CardIdError,
    CenterError,
    CenterInputError,
    CenterStateError,
    CsvImportError,
    HomeError,
    NotListedError,
    ReasonError,
    UniverseError,
    UnknownSeqError,
)
from center.registry.home import DEFAULT_UNIVERSE, CenterHome, Entry, ImportResult

__all__ = [
    "DEFAULT_ROLL_VALID_S", "DEFAULT_UNIVERSE", "DEFAULT_VALID_S",
    "BuiltBundle", "CenterHome", "Entry", "ImportResult",
    "CardIdError", "CenterError", "CenterInputError", "CenterStateError", "CsvImportError",
    "HomeError", "NotListedError", "ReasonError", "UniverseError", "UnknownSeqError",
]
