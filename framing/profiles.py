"""Framing presets keyed by profile name (the same names as ``modem``'s preset table).

Every frame is version FRAME_VERSION (3): sync word, then 802.11n LDPC codewords carrying
header, block and two CRC-32C (``frameformat.py``). Net rates below are raw x efficiency /
1.1 (the carousel's 10 % RaptorQ repair blocks).

"fm" (38 000 bit/s raw, 19 kBd coherent QPSK): rate 3/4, 4 codewords, 680-byte blocks.
    frame 64 + 4 x 1944 - 40 = 7800 bits = 0.205 s; efficiency 5440 / 7800 = 0.697;
    net 38 000 x 0.697 / 1.1 = 24.1 kbit/s (issue: >= 20).
"fm-robust" (22 000 bit/s raw, 11 kBd coherent QPSK in the same 76 kHz slot): rate 1/2,
    8 codewords, 928-byte blocks (8 x 972 = 7776 information bits = 972 B = 928 + 44: no
    shortening); 128-bit sync word for detection at Es/N0 ~ 2 dB.
    frame 128 + 8 x 1944 = 15 680 bits = 0.713 s; efficiency 7424 / 15 680 = 0.473;
    net 22 000 x 0.473 / 1.1 = 9.47 kbit/s (issue: >= 9, DARC's useful rate).
    CNR margin over fm: 10 log10(19 / 11) = 2.4 dB from the symbol rate plus ~3 dB from the
    code (FER 1e-3 at Es/N0 ~ 1.65 dB for rate 1/2 against ~ 4.6 dB for rate 3/4, layered
    sum-product): measured thresholds through the FM I/Q chain ~17.8 dB (fm) and ~12.6 dB
    (fm-robust), 5.2 dB apart (bench/test_fm_link.py).
"audio" (expected 16-30 kbit/s raw): rate 2/3, 3 codewords, 440-byte blocks: frame
    64 + 5832 - 16 = 5880 bits, efficiency 0.599 (0.29 s at 20 kbit/s).
"audio-robust" (3 629 bit/s raw, OFDM QPSK): rate 1/2, 2 codewords, 192-byte blocks: frame
    64 + 3888 - 56 = 3896 bits, efficiency 0.394, 1.07 s; net 3 629 x 0.394 / 1.1 = 1.30 kbit/s
    (issue: >= 1.2). Through 300 Hz-3 kHz, +-300 ppm, 3 dB SNR and Opus 24 kbit/s together the
    measured FER after tune-in was ~6e-4 (bench/test_audio_link.py).
"ir" (2 013 bit/s raw, pulse distance): rate 2/3, 2 codewords, 280-byte blocks: frame 3 952
    bits, efficiency 0.567, 1.96 s; net 2 013 x 0.567 / 1.1 = 1.04 kbit/s (issue: >= 1); rate
    1/2 would give 0.72. The modem's measured FER at rate 2/3 was 0 through every impairment.
The audio modems resolve their phase on training symbols and the ir code has no sign: no
rotation is left to the sync word (phase_ambiguity 1).

Invariant: every preset is a valid ``FrameConfig`` (checked at import); ``PROFILE_FORMAT`` is
the version of this table's layout, raised with FRAME_VERSION.
"""

from __future__ import annotations

from types import MappingProxyType

from framing.frameformat import FRAME_VERSION, FrameConfig

PROFILE_FORMAT = FRAME_VERSION

PROFILES = MappingProxyType({
    "fm": FrameConfig(
        ldpc_code="80211n-1944-3/4", codewords_per_frame=4, block_bytes=680,
        sync_word_bits=64, phase_ambiguity=4, sync_threshold=0.6, flywheel_threshold=0.3,
        max_iterations=30,
    ),
    "fm-robust": FrameConfig(
        ldpc_code="80211n-1944-1/2", codewords_per_frame=8, block_bytes=928,
        sync_word_bits=128, phase_ambiguity=4, sync_threshold=0.5, flywheel_threshold=0.25,
        max_iterations=40,
    ),
    "audio": FrameConfig(
        ldpc_code="80211n-1944-2/3", codewords_per_frame=3, block_bytes=440,
        sync_word_bits=64, phase_ambiguity=1, sync_threshold=0.6, flywheel_threshold=0.3,
        max_bundle_bytes=16 * 2**20,  # 56403 x 440 B = 24.8 MB at most
    ),
    "audio-robust": FrameConfig(
        ldpc_code="80211n-1944-1/2", codewords_per_frame=2, block_bytes=192,
        sync_word_bits=64, phase_ambiguity=1, sync_threshold=0.6, flywheel_threshold=0.3,
        max_iterations=40, max_bundle_bytes=8 * 2**20,  # 56403 x 192 B = 10.8 MB at most
    ),
    "ir": FrameConfig(
        ldpc_code="80211n-1944-2/3", codewords_per_frame=2, block_bytes=280,
        sync_word_bits=64, phase_ambiguity=1, sync_threshold=0.6, flywheel_threshold=0.3,
        max_iterations=40, max_bundle_bytes=8 * 2**20,  # 56403 x 280 B = 15.8 MB at most
    ),
})


def frame_config(profile: str) -> FrameConfig:
    """The framing preset of ``profile``; ValueError naming the known profiles otherwise."""
    try:
        return PROFILES[profile]
    except KeyError:
        known = ", ".join(sorted(PROFILES))
        raise ValueError(f"unknown framing profile {profile!r} (known: {known})") from None
