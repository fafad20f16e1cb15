"""Test MPX generator: programme audio, 19 kHz pilot, stereo, an RDS-like signal; and its spectrum.

Levels are fractions of the 75 kHz peak deviation (1.0 = 75 kHz), after ITU-R BS.450 and
IEC 62106:
- pilot 19 kHz sine at 9 % (BS.450: 8-10 %);
- RDS-like: 1187.5 bit/s differentially coded biphase BPSK (1187.5 = 57 000 / 48) on a 57 kHz
  carrier, the third harmonic of the pilot, 3 % peak (IEC 62106 typical 2-4 %);
- programme: L and R band-limited to 15 kHz, sent as (L+R)/2 at baseband and (L-R)/2 DSB-SC
  on 38 kHz = 2 x pilot; the composite peaks at max(|L|, |R|), limited to
  ``programme_peak`` = 1.0 - 0.09 - 0.03 - 0.10 = 0.78 so that with our 10 % data subcarrier
  the sum stays within 100 % deviation (peaks added coherently: the worst case).

Invariants: output is float32 at ``sample_rate_hz``, deterministic for a seed; no I/O. All
tones are phase-locked to the pilot (38 and 57 kHz are its 2nd and 3rd harmonics).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import signal

PILOT_HZ = 19_000.0
RDS_BIT_RATE_BPS = PILOT_HZ * 3 / 48  # 1187.5 bit/s
# Bands for plots and tests, (lo, hi) Hz.
BANDS_HZ = {
    "L+R": (30.0, 15_000.0),
    "pilot": (18_500.0, 19_500.0),
    "L-R": (23_000.0, 53_000.0),
    "RDS": (54_600.0, 59_400.0),
    "data": (62_000.0, 90_000.0),
}


@dataclass(frozen=True)
class MpxSimConfig:
    sample_rate_hz: float = 228_000.0
    pilot_level: float = 0.09
    rds_level: float = 0.03
    programme_peak: float = 0.78
    stereo: bool = True
    audio_bandwidth_hz: float = 15_000.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.sample_rate_hz < 2 * (BANDS_HZ["RDS"][1] + 1_000):
            raise ValueError(f"sample_rate_hz={self.sample_rate_hz} cannot hold RDS at 57 kHz")
        for name in ("pilot_level", "rds_level", "programme_peak"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if self.pilot_level + self.rds_level + self.programme_peak > 1.0:
            raise ValueError("pilot_level + rds_level + programme_peak must be <= 1.0")


def _programme(rng: np.random.Generator, n: int, fs: float, cfg: MpxSimConfig) -> np.ndarray:
    """(2, n) L and R: music-like band-limited noise, 1/f-ish, with a slow syllabic envelope."""
    white = rng.standard_normal((2, n))
    common = rng.standard_normal(n)
    # Correlated channels (music is mostly centre-panned): 70 % common, 30 % own.
    mix = 0.7 * common[None, :] + 0.3 * white
    # Pinkish tilt: a one-pole lowpass at 500 Hz mixed with the flat noise.
    b, a = signal.butter(1, 500.0, fs=fs)
    tilted = signal.lfilter(b, a, mix, axis=1) * 4.0 + 0.3 * mix
    sos = signal.butter(8, [40.0, cfg.audio_bandwidth_hz], btype="band", fs=fs, output="sos")
    audio = signal.sosfilt(sos, tilted, axis=1)
    t = np.arange(n) / fs
    envelope = 0.6 + 0.4 * np.sin(2 * np.pi * 2.3 * t + rng.uniform(0, 2 * np.pi)) ** 2
    audio *= envelope[None, :]
    # Limiter: scale to 3x RMS then hard-clip at 1 (broadcast processors clip likewise).
    audio /= 3.0 * np.sqrt(np.mean(audio**2)) + 1e-12
    return np.clip(audio, -1.0, 1.0)


def _rds(rng: np.random.Generator, n: int, fs: float) -> np.ndarray:
    """Baseband RDS-like biphase waveform in [-1, 1] (before the 57 kHz carrier)."""
    n_bits = int(math.ceil(n / fs * RDS_BIT_RATE_BPS)) + 2
    bits = rng.integers(0, 2, n_bits)
    diff = np.cumsum(bits) % 2  # differential coding: a 1 flips the level
    symbols = 2.0 * diff - 1.0
    t = np.arange(n) / fs
    pos = t * RDS_BIT_RATE_BPS
    idx = pos.astype(np.int64)
    half = np.where((pos - idx) < 0.5, 1.0, -1.0)  # biphase: +,- within each bit
    chips = symbols[idx] * half
    # Shape to about 2.4 kHz (IEC 62106 shaping takes the spectrum to zero at 2375 Hz).
    sos = signal.butter(4, 2_400.0, fs=fs, output="sos")
    shaped = signal.sosfiltfilt(sos, chips)
    return shaped / (np.max(np.abs(shaped)) + 1e-12)


def simulate_mpx(n_samples: int, config: MpxSimConfig = MpxSimConfig()) -> np.ndarray:
    """A programme MPX of ``n_samples`` float32 (1.0 = 75 kHz), without any data subcarrier."""
    if n_samples < 0:
        raise ValueError(f"n_samples must be >= 0, got {n_samples}")
    fs = config.sample_rate_hz
    rng = np.random.default_rng(config.seed)
    n = n_samples
    t = np.arange(n) / fs
    pilot_phase = 2 * np.pi * PILOT_HZ * t
    left, right = _programme(rng, n, fs, config) if n else np.zeros((2, 0))
    if config.stereo:
        mpx = 0.5 * (left + right) + 0.5 * (left - right) * np.sin(2 * pilot_phase)
    else:
        mpx = 0.5 * (left + right)
    mpx *= config.programme_peak
    mpx += config.pilot_level * np.sin(pilot_phase)
    if n and config.rds_level:
        mpx += config.rds_level * _rds(rng, n, fs) * np.sin(3 * pilot_phase)
    return mpx.astype(np.float32)


def mpx_spectrum(
    mpx: np.ndarray, sample_rate_hz: float, resolution_hz: float = 100.0
) -> tuple[np.ndarray, np.ndarray]:
    """Welch PSD of a real MPX: (freqs_hz, psd_db), psd in dB re 1 (MPX unit)^2 / Hz."""
    x = np.asarray(mpx, dtype=np.float64)
    nperseg = int(2 ** round(math.log2(max(16.0, sample_rate_hz / resolution_hz))))
    nperseg = min(nperseg, max(16, x.size))
    freqs, psd = signal.welch(x, fs=sample_rate_hz, nperseg=nperseg, window="blackmanharris")
    return freqs, 10 * np.log10(psd + 1e-30)
