"""One receive chain's configuration (``PipelineConfig``) and the table of receivable profiles
as ``hotcast receiver profiles`` shows it; both ask ``modem.PROFILES`` and ``framing.PROFILES``
and hold no profile names or rates of their own.

Invariants: a ``PipelineConfig`` that constructs names a profile of both tables and an input
kind and rate its chain takes; anything else is a ``ValueError`` naming the field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from framing import ReassemblyConfig, frame_config
from modem import InputKind, ModemProfile, modem_profile, profile_names

__all__ = ["PipelineConfig", "receive_profiles"]


@dataclass(frozen=True)
class PipelineConfig:
    """One receive chain. ``sample_rate_hz`` is the input's rate (I/Q or baseband).

    block_s: internal block of signal (events are made at block ends; 0.1 s = 120 000 I/Q
    samples at 1.2 MHz, 22 800 MPX samples at 228 kHz). quality_period_s: a ``quality`` event
    per this much signal. reassembly: bounds of the partial-bundle memory.
    """

    profile: str
    kind: InputKind
    sample_rate_hz: float
    block_s: float = 0.1
    quality_period_s: float = 10.0
    reassembly: ReassemblyConfig = ReassemblyConfig()

    def __post_init__(self) -> None:
        entry = modem_profile(self.profile)  # ValueError naming the known profiles
        frame_config(self.profile)  # ValueError if framing has no twin entry
        if not isinstance(self.kind, InputKind):
            raise TypeError(f"kind must be a modem.InputKind, got {self.kind!r}")
        rate = self.sample_rate_hz
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not (
                math.isfinite(rate) and rate > 0):
            raise ValueError(f"sample_rate_hz must be a positive number of Hz, got {rate!r}")
        entry.check_rate(self.kind, rate)
        if not 0.001 <= self.block_s <= 10.0:
            raise ValueError(f"block_s must be in 0.001..10 s, got {self.block_s}")
        if not self.quality_period_s >= self.block_s:
            raise ValueError(f"quality_period_s must be >= block_s, got {self.quality_period_s}")

    @property
    def is_iq(self) -> bool:
        return self.kind is InputKind.IQ

    @property
    def modem_profile(self) -> ModemProfile:
        return modem_profile(self.profile)

    @property
    def block_samples(self) -> int:
        return max(1, round(self.sample_rate_hz * self.block_s))


def receive_profiles() -> list[dict]:
    """One description per profile, for ``hotcast receiver profiles`` (JSON-ready)."""
    out = []
    for name in profile_names():
        m, f = modem_profile(name), frame_config(name)
        # Net payload: raw bits x frame efficiency, less the carousel's repair blocks
        # (N = K (1 + repair_ratio) for large K).
        net = m.bits_per_second * f.efficiency / (1 + f.repair_ratio)
        out.append({
            "name": name,
            "summary": m.summary,
            "version": m.version,
            "raw_bit_rate_bps": round(m.bits_per_second),
            "net_bit_rate_bps": round(net),
            "iq_rates_hz": list(m.iq_rates_hz) if m.iq_rates_hz else None,
            "input_kinds": [k.value for k in m.input_kinds],
            "baseband": m.baseband.value,
            "baseband_rates_hz": list(m.baseband_rates_hz),
            "band_hz": [round(m.band_hz[0], 1), round(m.band_hz[1], 1)],
            "frame_bits": f.frame_bits,
            "frame_s": round(f.frame_bits / m.bits_per_second, 4),
            "formats": list(m.input_formats),
        })
    return out
