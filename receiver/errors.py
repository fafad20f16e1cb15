"""Typed errors of the terminal side.

Bad or unauthentic input raises one of these (or the ``crypto.BundleError`` /
``framing.ListCodecError`` that caused it, wrapped as ``BundleBodyError``); misuse of an
API raises ``ValueError`` / ``TypeError``. A refused card is not an error: it is a
verdict (see ``receiver.payment.checks``). Whenever one of these is raised by a store operation,
the store is exactly as it was before the call.
"""


class ReceiverError(Exception):
    """Base of every error raised by ``receiver``."""


class StoreError(ReceiverError):
    """The terminal store is missing, already exists, or is not a hotcast store."""


class BundleRefusedError(ReceiverError):
    """Base of the signed-update refusals: the bundle is genuine but must not be applied."""


class RollbackError(BundleRefusedError):
    """The bundle's sequence number is older than the store's (replay of an old list)."""

    def __init__(self, bundle_seq: int, store_seq: int) -> None:
        super().__init__(f"bundle seq {bundle_seq} is older than the store's seq {store_seq}")
        self.bundle_seq = bundle_seq
        self.store_seq = store_seq


class DeltaBaseError(BundleRefusedError):
    """A delta whose base is above the list the store holds (or no list of its epoch yet).

    ``needed_seq`` is the lowest list the delta applies to; ``store_seq`` is what the store
    holds. The terminal keeps the delta and takes it once the full list comes round.
    """

    def __init__(self, bundle_seq: int, needed_seq: int, store_seq: int,
                 need: str | None = None) -> None:
        super().__init__(
            f"delta seq {bundle_seq} needs {need or f'a list from seq {needed_seq} on'}, the "
            f"store is at seq {store_seq}"
        )
        self.bundle_seq = bundle_seq
        self.needed_seq = needed_seq
        self.store_seq = store_seq


class ExpiredBundleError(BundleRefusedError):
    """The bundle's valid-until time has passed (``now > valid_until``): freeze/replay defence."""

    def __init__(self, bundle_seq: int, valid_until: int, now: int) -> None:
        super().__init__(f"bundle seq {bundle_seq} expired at {valid_until} (now {now})")
        self.bundle_seq = bundle_seq
        self.valid_until = valid_until
        self.now = now


class ForkError(BundleRefusedError):
    """Two different genuine lists for one (epoch, seq), or a list whose hash chain does not
    meet the store's: the center's history forked (a registry restored from a backup)."""

    def __init__(self, epoch: int, seq: int, why: str) -> None:
        super().__init__(f"epoch {epoch} seq {seq}: {why}; the center's history forked "
                         "(restored from a backup?): refusing it")
        self.epoch = epoch
        self.seq = seq


class EpochError(BundleRefusedError):
    """A list of an epoch the key set has left behind (or a heartbeat of one)."""


class EpochAheadError(BundleRefusedError):
    """A list of an epoch newer than the key set held: the key set that starts it is still to
    come (it goes on air with the carousel), so the list is kept and tried again."""


class CapacityError(BundleRefusedError):
    """A list larger than this terminal declared it can hold: refused before it is decoded."""


class BundleBodyError(BundleRefusedError):
    """A verified bundle carries a body the terminal cannot use (bad list encoding, a
    universe that differs from the store's, a key roll that does not apply)."""


class CardError(ReceiverError):
    """The IC card refused an operation (locked out, insufficient balance, not inserted)."""


class CardLockedError(CardError):
    """The card is locked out: it can no longer give money."""


class UsageError(ReceiverError):
    """Bad command-line usage or unusable input: the CLI exits 2 with the message on stderr,
    nothing changed."""


class PullError(ReceiverError):
    """A network pull failed: the center could not be reached, or answered with an error
    (the store is unchanged)."""


class SourceError(ReceiverError):
    """Input samples cannot be had: a missing or unreadable file, a format or rate that
    cannot be worked out, a WAV hotcast cannot read, a device that fails. The message
    names the file or device and the problem."""


class SourceConfigError(SourceError, ValueError):
    """A source setting is invalid (an RTL-SDR rate the chip cannot do, a non-positive
    rate, an unknown format, a --rate that contradicts the file)."""
