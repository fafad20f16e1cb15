"""What the link section measures, per profile and per run kind (quick or full): the sweep
points, frames per point, and each profile's theory (its code, modulation, spectral efficiency).

Grids were placed around the waterfall each profile showed in a first coarse sweep (seeded,
FER against Eb/N0 per payload bit; the link's frame layer decides): fm falls between 3 and
3.5 dB, fm-robust between 1.5 and 2.5, audio 7-8, audio-robust 3.5-4.5 (profile version 2),
ir 18-20 (the envelope detector reads burst edges, far from coherent theory). The full run spaces points 0.25 dB
(0.5 for ir) over a wider span, with hundreds of frames a point where frames are short
(fm, audio) and tens where they last a second or two (fm-robust, audio-robust, ir): about
8 minutes of one core in all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import modem
from framing.ldpc import ldpc_code
from framing.profiles import frame_config
from hotcast.bench.linksim import net_rate, payload_efficiency
from modem.codec import CodecConfig
from modem.profiles import Baseband

PROFILES = ("fm", "fm-robust", "audio", "audio-robust", "ir")
FER_TARGET = 1e-3
# RDS at 3 kHz injection, through an independent FM chain (GNU Radio, stereo programme, +20 kHz,
# +100 ppm): 79 of 83 groups at CNR 24 dB, 61 at 21, 42 at 20, 26 at 19, none at 17
# (shared/FIELD-NOTES.md, "Broadcast data on FM"). hotcast has no RDS group decoder of its own
# (modem/mpxsim.py makes an RDS-like signal for the spectrum, not groups), so the bench marks
# these measured points rather than measuring RDS itself.
RDS_GROUPS_BY_CNR_DB = ((17.0, 0 / 83), (19.0, 26 / 83), (20.0, 42 / 83), (21.0, 61 / 83),
                        (24.0, 79 / 83))
RDS_HALF_GROUPS_CNR_DB = 20.0  # about half the groups decode (42 of 83)
RDS_SOURCE = "shared/FIELD-NOTES.md: RDS at 3 kHz injection through a GNU Radio FM chain"


def _grid(lo: float, hi: float, step: float) -> tuple[float, ...]:
    n = int(round((hi - lo) / step))
    return tuple(round(lo + i * step, 3) for i in range(n + 1))


@dataclass(frozen=True)
class ProfileTheory:
    """A profile's numbers for the theory curves."""

    profile: str
    code: str  # LDPC code name
    code_rate: float
    codewords_per_frame: int
    bits_per_symbol: int | None  # 2 QPSK, 4 16-QAM; None: not a coherent constellation (ir)
    efficiency: float  # payload bits per channel bit
    eta: float  # payload bit/s per Hz: bits per complex symbol x efficiency (ir: per band Hz)

    @property
    def overhead_db(self) -> float:
        """Eb per payload bit over Eb per code information bit: sync word, header, CRCs,
        shortening, repair blocks."""
        return 10 * math.log10(self.code_rate / self.efficiency)


def profile_theory(profile: str) -> ProfileTheory:
    cfg = frame_config(profile)
    entry = modem.PROFILES[profile]
    code = ldpc_code(cfg.ldpc_code)
    eff = payload_efficiency(profile)
    if entry.baseband is Baseband.PULSES:
        bits, eta = None, net_rate(profile) / (entry.band_hz[1] - entry.band_hz[0])
    else:
        bits = 2 if entry.baseband is Baseband.MPX else int(entry.config.bits_per_carrier)
        eta = bits * eff
    return ProfileTheory(profile, cfg.ldpc_code, code.rate, cfg.codewords_per_frame, bits, eff,
                         eta)


@dataclass(frozen=True)
class Plan:
    quick: bool
    ebn0_db: dict  # profile -> grid
    frames: dict  # profile -> frames per Eb/N0 point
    code_ebn0_db: dict  # code name -> grid per information bit
    code_words: int
    cnr_db: dict  # fm profiles -> grid
    cnr_frames: dict
    tuner_offsets_hz: tuple[float, ...]
    iq_ppm: tuple[float, ...]
    offset_cnr_db: dict  # CNR at which the FM offsets are swept (threshold + 3 dB)
    offset_frames: dict
    audio_shifts_hz: tuple[float, ...]
    audio_ppm: tuple[float, ...]
    audio_frames: dict
    codecs: tuple[CodecConfig, ...]
    ir_jitter_us: tuple[float, ...]
    ir_drops: tuple[float, ...]
    ir_frames: int


def make_plan(quick: bool) -> Plan:
    if quick:
        return Plan(
            quick=True,
            ebn0_db={"fm": (2.5, 3.0, 3.5, 4.0, 5.0), "fm-robust": (1.5, 2.0, 2.5, 3.0, 4.0),
                     "audio": (6.5, 7.0, 7.5, 8.0, 9.0), "audio-robust": (3.0, 3.5, 4.0, 4.5, 5.5),
                     "ir": (18.0, 19.5, 21.0)},
            frames={"fm": 8, "fm-robust": 4, "audio": 10, "audio-robust": 4, "ir": 2},
            code_ebn0_db={"80211n-1944-1/2": (1.0, 1.5, 2.0), "80211n-1944-2/3": (1.5, 2.0, 2.5),
                          "80211n-1944-3/4": (2.0, 2.5, 3.0)},
            code_words=48,
            cnr_db={"fm": (16.5, 17.5, 18.5), "fm-robust": (11.5, 12.5, 13.5)},
            cnr_frames={"fm": 5, "fm-robust": 2},
            tuner_offsets_hz=(0.0, 100_000.0),
            iq_ppm=(-100.0, 300.0),
            offset_cnr_db={"fm": 21.0, "fm-robust": 16.0},
            offset_frames={"fm": 3, "fm-robust": 2},
            audio_shifts_hz=(0.0, 0.25, 1.0),
            audio_ppm=(-1000.0, 1000.0, 3000.0),
            audio_frames={"audio": 6, "audio-robust": 3},
            codecs=(CodecConfig("mp3", 128), CodecConfig("opus", 48), CodecConfig("opus", 24)),
            ir_jitter_us=(0.0, 100.0, 150.0, 200.0),
            ir_drops=(0.0, 0.01, 0.05),
            ir_frames=3,
        )
    return Plan(
        quick=False,
        ebn0_db={"fm": _grid(2.0, 5.0, 0.25), "fm-robust": _grid(1.0, 4.0, 0.25),
                 "audio": _grid(6.0, 9.5, 0.25), "audio-robust": _grid(4.0, 7.5, 0.25),
                 "ir": _grid(17.0, 23.0, 0.5)},
        frames={"fm": 200, "fm-robust": 80, "audio": 200, "audio-robust": 60, "ir": 12},
        code_ebn0_db={"80211n-1944-1/2": _grid(0.5, 2.0, 0.25),
                      "80211n-1944-2/3": _grid(1.0, 2.75, 0.25),
                      "80211n-1944-3/4": _grid(1.5, 3.25, 0.25)},
        code_words=1000,
        cnr_db={"fm": _grid(15.5, 20.5, 0.5), "fm-robust": _grid(10.0, 15.0, 0.5)},
        cnr_frames={"fm": 60, "fm-robust": 20},
        tuner_offsets_hz=(0.0, 20_000.0, 50_000.0, 80_000.0, 100_000.0, 120_000.0, 140_000.0),
        iq_ppm=(-1000.0, -300.0, -200.0, -100.0, 100.0, 200.0, 300.0, 1000.0),
        offset_cnr_db={"fm": 21.0, "fm-robust": 16.0},
        offset_frames={"fm": 20, "fm-robust": 8},
        audio_shifts_hz=(0.0, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0),
        audio_ppm=(-5000.0, -3000.0, -1000.0, -300.0, 300.0, 1000.0, 3000.0, 5000.0),
        audio_frames={"audio": 40, "audio-robust": 10},
        codecs=(CodecConfig("mp3", 128), CodecConfig("mp3", 64), CodecConfig("mp3", 32),
                CodecConfig("opus", 64), CodecConfig("opus", 48), CodecConfig("opus", 32),
                CodecConfig("opus", 24)),
        ir_jitter_us=(0.0, 50.0, 100.0, 125.0, 150.0, 175.0, 200.0),
        ir_drops=(0.0, 0.005, 0.01, 0.02, 0.05, 0.1),
        ir_frames=10,
    )
