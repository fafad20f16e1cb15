"""Which profiles this terminal can receive, at which input rates, and one receive chain's
configuration (``PipelineConfig``), as ``hotcast receiver profiles`` shows them.

Invariants: a ``PipelineConfig`` that constructs names a receivable profile and an input rate
its chain takes (``accepted_rates_hz``); anything else is a ``ValueError`` naming the field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from framing import ReassemblyConfig
from framing.profiles import PROFILES as FRAMING_PROFILES
from modem import PROFILES as MODEM_PROFILES
from modem.fmiq_config import MAX_IQ_RATE_HZ, MIN_IQ_RATE_HZ

__all__ = ["PipelineConfig", "accepted_rates_hz", "receive_profiles"]

# Profiles with a receive chain here; the others (audio, ir) are named by CONTRACT.md but
# their modems do not exist yet.
_RECEIVABLE = ("fm",)


@dataclass(frozen=True)
class PipelineConfig:
    """One receive chain. ``sample_rate_hz`` is the input's rate (I/Q or baseband).

    block_s: internal block of signal (events are made at block ends; 0.1 s = 120 000 I/Q
    samples at 1.2 MHz, 22 800 MPX samples at 228 kHz). quality_period_s: a ``quality``
    event per this much signal. reassembly: bounds of the partial-bundle memory.
    """

    profile: str
    is_iq: bool
    sample_rate_hz: float
    block_s: float = 0.1
    quality_period_s: float = 10.0
    reassembly: ReassemblyConfig = ReassemblyConfig()

    def __post_init__(self) -> None:
        if self.profile not in _RECEIVABLE:
            known = ", ".join(_RECEIVABLE)
            raise ValueError(f"profile {self.profile!r} has no receive pipeline (known: {known})")
        rate = self.sample_rate_hz
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not (
                math.isfinite(rate) and rate > 0):
            raise ValueError(f"sample_rate_hz must be a positive number of Hz, got {rate!r}")
        lo, hi = accepted_rates_hz(self.profile, self.is_iq)
        if not lo <= rate <= hi:
            what = "I/Q" if self.is_iq else "baseband (MPX)"
            raise ValueError(
                f"sample_rate_hz {rate:g} Hz is not a {what} rate profile {self.profile!r} "
                f"can use: give {lo:g}..{hi:g} Hz"
            )
        if not 0.001 <= self.block_s <= 10.0:
            raise ValueError(f"block_s must be in 0.001..10 s, got {self.block_s}")
        if not self.quality_period_s >= self.block_s:
            raise ValueError(f"quality_period_s must be >= block_s, got {self.quality_period_s}")

    @property
    def block_samples(self) -> int:
        return max(1, round(self.sample_rate_hz * self.block_s))


def accepted_rates_hz(profile: str, is_iq: bool) -> tuple[float, float]:
    """(lowest, highest) input rate in Hz the profile's receive chain takes."""
    if is_iq:
        return float(MIN_IQ_RATE_HZ), float(MAX_IQ_RATE_HZ)
    modem_cfg = MODEM_PROFILES[profile]
    # The MPX must hold the subcarrier's top edge below Nyquist (FmSubcarrierConfig checks
    # 2 * top < rate); 1 Hz above that bound is the first rate it accepts.
    top_hz = modem_cfg.carrier_hz + modem_cfg.bandwidth_hz / 2
    return math.floor(2 * top_hz) + 1.0, 20e6


def receive_profiles() -> list[dict]:
    """One description per receivable profile, for ``hotcast receiver profiles``."""
    out = []
    for name in _RECEIVABLE:
        m, f = MODEM_PROFILES[name], FRAMING_PROFILES[name]
        # Net payload: raw bits x frame efficiency, less the carousel's repair blocks
        # (N = K (1 + repair_ratio) for large K).
        net = m.bits_per_second * f.efficiency / (1 + f.repair_ratio)
        iq_lo, iq_hi = accepted_rates_hz(name, True)
        mpx_lo, mpx_hi = accepted_rates_hz(name, False)
        out.append({
            "name": name,
            "raw_bit_rate_bps": round(m.bits_per_second),
            "net_bit_rate_bps": round(net),
            "iq_rates_hz": [iq_lo, iq_hi],
            "baseband_rates_hz": [mpx_lo, mpx_hi],
            "band_hz": [m.carrier_hz - m.bandwidth_hz / 2, m.carrier_hz + m.bandwidth_hz / 2],
            "formats": ["cu8", "cs8", "cf32", "wav", "s16le", "f32le"],
        })
    return out
