"""Framing presets keyed by profile name (the same names as ``modem``'s preset table).

"fm": the FM-multiplex data subcarrier (~38 kbit/s raw). RS(255,191) x 4 body codewords,
760-byte blocks, 8800-bit frames (0.23 s at 38 kbit/s): efficiency 6080 / 8800 = 0.691, so
38 kbit/s raw carries 26.3 kbit/s of blocks, 23.9 kbit/s of bundle after the 10 % RaptorQ
repair blocks of a carousel cycle: twice the 12 kbit/s target, leaving room for a stronger
code if the measured FER curve asks for it.

Invariant: every preset is a valid ``FrameConfig`` (checked at import).
"""

from __future__ import annotations

from types import MappingProxyType

from framing.frameformat import FrameConfig

PROFILES = MappingProxyType({
    "fm": FrameConfig(
        rs_codeword_bytes=255,
        rs_parity_bytes=64,
        codewords_per_frame=4,
        header_parity_bytes=32,
        repair_ratio=0.10,
        min_repair_blocks=2,
        max_bundle_bytes=40 * 2**20,
        sync_max_bit_errors=8,
        flywheel_max_bit_errors=20,
    ),
})


def frame_config(profile: str) -> FrameConfig:
    """The framing preset of ``profile``; ValueError naming the known profiles otherwise."""
    try:
        return PROFILES[profile]
    except KeyError:
        known = ", ".join(sorted(PROFILES))
        raise ValueError(f"unknown framing profile {profile!r} (known: {known})") from None
