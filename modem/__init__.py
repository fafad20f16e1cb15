"""modem: bits <-> samples, one module per profile; numpy/scipy only, no I/O."""

from .errors import ModemError, SampleFormatError, SampleRateError
from .fm import SubcarrierDemodulator, SubcarrierModulator
from .fm_config import FM, FM_ROBUST, DemodStats, FmSubcarrierConfig
from .profiles import PROFILES

__all__ = [
    "FM",
    "FM_ROBUST",
    "PROFILES",
    "DemodStats",
    "FmSubcarrierConfig",
    "ModemError",
    "SampleFormatError",
    "SampleRateError",
    "SubcarrierDemodulator",
    "SubcarrierModulator",
]
