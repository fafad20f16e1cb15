"""modem: bits <-> samples, one module per profile; numpy/scipy only, no I/O.

``PROFILES`` is the one table of profiles (``modem.profiles``); ``TxChain`` and ``RxChain`` are
the transmit and receive chains every caller composes from it.
"""

from .errors import ModemError, SampleFormatError, SampleRateError
from .fm import SubcarrierDemodulator, SubcarrierModulator
from .fm_config import FM, FM_ROBUST, DemodStats, FmSubcarrierConfig
from .profiles import PROFILES, Baseband, InputKind, ModemProfile, modem_profile, profile_names
from .rxchain import RxChain, RxQuality

__all__ = [
    "FM",
    "FM_ROBUST",
    "PROFILES",
    "Baseband",
    "DemodStats",
    "FmSubcarrierConfig",
    "InputKind",
    "ModemError",
    "ModemProfile",
    "RxChain",
    "RxQuality",
    "SampleFormatError",
    "SampleRateError",
    "SubcarrierDemodulator",
    "SubcarrierModulator",
    "TxChain",
    "TxOptions",
    "modem_profile",
    "profile_names",
]


def __getattr__(name: str):
    """``TxChain`` and ``TxOptions`` load on first use: the transmit chain's programme
    simulator imports scipy.signal (about a second), which a receiver never needs."""
    if name in ("TxChain", "TxOptions"):
        from . import txchain

        return getattr(txchain, name)
    raise AttributeError(f"module 'modem' has no attribute {name!r}")
