"""modem: bits <-> samples, one module per profile; numpy/scipy only, no I/O."""

from .errors import ModemError, SampleFormatError, SampleRateError
from .fm import SubcarrierDemodulator, SubcarrierModulator
from .fm_config import DemodStats, FmSubcarrierConfig
from .profiles import PROFILES

__all__ = [
    "PROFILES",
    "DemodStats",
    "FmSubcarrierConfig",
    "ModemError",
    "SampleFormatError",
    "SampleRateError",
    "SubcarrierDemodulator",
    "SubcarrierModulator",
]
