"""Typed errors of the modem layer.

What the channel loses (noise, fades, lost lock) is never raised: it is counted in a ``…Stats``
dataclass. These errors are for input that is itself unusable.
"""


class ModemError(Exception):
    """Base of every error raised by ``modem``."""


class SampleFormatError(ModemError):
    """Sample bytes or a header (WAV, SigMF) cannot be read as the named format."""


class SampleRateError(ModemError):
    """A sample rate that the profile cannot work with (e.g. too low to hold the subcarrier)."""
