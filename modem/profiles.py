"""The modem preset table: one default configuration per profile name.

Invariant: the keys are the profile names of CONTRACT.md that the modem implements, and a test
checks that framing/profiles.py knows the same names. Each value is a frozen config whose
``bits_per_second`` gives the raw channel rate shown by `hotcast receiver profiles`.
"""

from __future__ import annotations

from types import MappingProxyType

from .fm_config import FmSubcarrierConfig

# fm: 38 000 bit/s raw = 19 000 baud x 2 bit/symbol DQPSK on a 76 kHz subcarrier, 10 % injection.
PROFILES = MappingProxyType(
    {
        "fm": FmSubcarrierConfig(),
    }
)
