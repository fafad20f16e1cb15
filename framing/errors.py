"""Typed errors of the wire formats.

Bad or unauthentic input raises one of these; what the channel merely loses is counted in a
``…Stats`` dataclass instead, never raised.
"""


class FramingError(Exception):
    """Base of every error raised by ``framing``."""


class ListCodecError(FramingError):
    """An encoded hot list or delta is malformed, truncated or claims more than it carries."""


class ListCapacityError(ListCodecError):
    """A list holds more entries than the terminal declared it can keep: refused before decoding."""


class FrameError(FramingError):
    """A frame or a carousel block is malformed (used by the frame/carousel layer)."""


class ReassemblyError(FramingError):
    """Blocks cannot be reassembled into a bundle (inconsistent blocks of one bundle)."""


class CardIdError(FramingError, ValueError):
    """Text that is not a card ID (1 to 19 ASCII decimal digits); the message names the value."""


class AnnouncementError(FramingError):
    """A carousel announcement body is malformed."""
