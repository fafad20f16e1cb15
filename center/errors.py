"""Typed errors of the center.

Two families, because the command line maps them to two exit statuses (shared/CONTRACT.md):

* ``CenterInputError`` and its subclasses: the operator's input is bad (a card ID that is not
  one, a CSV row, an unknown reason, a sequence number never built, a home that is not there).
  Raised before anything is written, so "nothing changed" holds; the CLI exits 2.
* ``CenterStateError``: the center's own state is inconsistent or unusable (corrupted registry,
  a keys file that does not load). The CLI exits 1.

Messages name the bad value and where it was found, never key material.
"""


class CenterError(Exception):
    """Base of every error raised by ``center``."""


class CenterInputError(CenterError):
    """Bad operator input; nothing was changed."""


class UsageError(CenterInputError):
    """A command-line value that argparse cannot check by itself."""


class CardIdError(CenterInputError):
    """A card ID is not a decimal number of 1 to 19 digits below 2**64, or is outside the universe."""


class ReasonError(CenterInputError):
    """A revocation reason is not one of stolen, lost, fraud, other."""


class ExpiryError(CenterInputError):
    """An expiry month that is not ``YYYY-MM``, or one already past (such a card cannot pay)."""


class CsvImportError(CenterInputError):
    """A CSV import row is bad; ``line`` is its 1-based line number in the file."""

    def __init__(self, line: int, message: str) -> None:
        self.line = line
        super().__init__(f"line {line}: {message}")


class UniverseError(CenterInputError):
    """A universe specification does not parse or does not fit the card ID rule."""


class HomeError(CenterInputError):
    """The center home is missing, not initialised, or already initialised."""


class TrustImportError(CenterInputError):
    """A root set or key set that does not verify against what the center trusts."""


class NotListedError(CenterInputError):
    """A card to reinstate is not on the hot list."""


class ListedCardError(CenterInputError):
    """A validity token is asked for a card on the hot list (reinstate it first)."""


class UnknownSeqError(CenterInputError):
    """A sequence number names no built list bundle (for ``--delta-from``)."""


class OperatorError(CenterInputError):
    """An operator name, role or card range that is not one, or an operator that is unknown or
    already revoked."""


class OutsideRangesError(CenterInputError):
    """An issuer acted on a card outside its card ranges: refused, nothing changed (the HTTP
    service answers 403)."""


class MigrationError(CenterInputError):
    """A registry migration that cannot start: the home is not on SQLite any more, or a file
    the migration would write is in the way."""


class NonEmptyDatabaseError(CenterInputError):
    """A database given to hold a new registry (``init --db``, ``migrate --to``) already holds
    tables: nothing is written into it."""


class SoundCardOpenError(CenterInputError):
    """The sound card output cannot be opened as asked (no such device, a rate it refuses)."""


class SoundCardError(CenterError):
    """The sound card output is unusable: PortAudio missing, or the device failed while playing."""


class CenterStateError(CenterError):
    """The center's stored state is inconsistent or cannot be read."""
