"""Profiles `audio` and `audio-robust`: the OFDM parameters (``AudioConfig``, presets ``AUDIO``
and ``AUDIO_ROBUST``, numbers derived below) and what the demodulator reports (``AudioStats``).

Symbol grid: an OFDM symbol is ``fft_size`` samples plus a cyclic prefix; every
``period_symbols``-th symbol is a known training symbol (all carriers, fixed QPSK), the rest
carry data on the carriers between ``band_low_hz`` and ``band_high_hz``.

`audio` (48 kHz line-in, 100 Hz-12 kHz, MP3 128 kbit/s):
  256-point FFT -> 187.5 Hz carrier spacing; cyclic prefix 32 samples (0.67 ms, longer than
  the band-limit filters' significant response above 500 Hz); symbol 288 samples = 6 ms,
  166.7 symbol/s. Carriers 3..60 (562.5-11 250 Hz): 58 carriers x 4 bit (16-QAM) = 232 bit
  per symbol; 15 of 16 symbols carry data:
      raw = 232 x 166.67 x 15/16 = 36 250 bit/s.
  A 300 ppm clock error shifts the top carrier by 3.4 Hz, 1.8 % of the spacing: inter-carrier
  interference (pi 0.018)^2 / 3 ~ -30 dB, below the codec's 21 dB.
`audio-robust` (300 Hz-3 kHz, 3 dB SNR, Opus 24 kbit/s, all at once):
  1024-point FFT -> 46.875 Hz; prefix 64 samples (1.3 ms: longer than the telephone band
  filters' significant response above 420 Hz); symbol 1088 samples = 22.7 ms, 44.12 symbol/s.
  Carriers 9..55 (422-2578 Hz): 47 x 2 bit (QPSK) = 94 bit per symbol; 7 of 8 symbols carry
  data:
      raw = 94 x 44.118 x 7/8 = 3 629 bit/s.
  Why not wider: the 3 dB SNR is measured over 300-3000 Hz, so the same power on fewer carriers
  is more per carrier (53 -> 47: +0.5 dB), and the carriers above 2.6 kHz sit on the 3 kHz
  filter's slope with the noise flat beneath them (their bit errors were twice the others').
  Together with the codec's ~8 dB of distortion the rate-1/2 frames then stay below FER 1e-2
  (bench/test_audio_link.py); the earlier 53 carriers to 2.86 kHz with a 128-sample prefix
  (3 865 bit/s) lost ~0.7 % of frames there, at the cliff.

Level convention: ``level_dbfs`` is the RMS level re a full-scale sine (AES17): 0 dBFS is an
RMS of 1/sqrt(2). OFDM is near-Gaussian, so -12 dBFS (RMS 0.178) puts 1.0 at 5.6 sigma.

Invariant: a config that constructs has every carrier strictly inside (0, Nyquist), a prefix
shorter than the FFT and a training period of at least 2 symbols; otherwise ``ValueError``
naming the field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class AudioConfig:
    """OFDM modem parameters. Rates in Hz, times in s, levels in dBFS (AES17)."""

    sample_rate_hz: float = 48_000.0
    fft_size: int = 256
    cyclic_prefix_samples: int = 32
    band_low_hz: float = 560.0
    band_high_hz: float = 11_250.0
    bits_per_carrier: int = 4  # 2 = QPSK, 4 = 16-QAM (Gray)
    period_symbols: int = 16  # one training symbol every this many symbols
    level_dbfs: float = -12.0
    # Receiver: acquisition threshold on the normalised training correlation (0..1), the
    # longest silence coasted through before searching again, loop gains per training.
    detect_threshold: float = 0.2
    coast_s: float = 2.0
    timing_gain: float = 0.5  # fraction of a training's timing error taken at once
    rate_gain: float = 0.1  # fraction of it taken into the samples-per-period estimate
    channel_smoothing: float = 0.25  # weight of a new training in the channel estimate
    noise_smoothing: float = 0.125  # weight of a new training residual in the noise estimate
    training_seed: int = 0x0FD3

    def __post_init__(self) -> None:
        if not 8_000 <= self.sample_rate_hz <= 192_000:
            raise ValueError(f"sample_rate_hz must be in 8 kHz..192 kHz, got {self.sample_rate_hz}")
        if self.fft_size < 16 or self.fft_size & (self.fft_size - 1):
            raise ValueError(f"fft_size must be a power of two >= 16, got {self.fft_size}")
        if not 0 < self.cyclic_prefix_samples < self.fft_size:
            raise ValueError(f"cyclic_prefix_samples must be in (0, fft_size), got {self.cyclic_prefix_samples}")
        if not 0 < self.band_low_hz < self.band_high_hz < self.sample_rate_hz / 2:
            raise ValueError(
                f"band_low_hz {self.band_low_hz} .. band_high_hz {self.band_high_hz} must lie in "
                f"(0, {self.sample_rate_hz / 2}) Hz"
            )
        if self.bits_per_carrier not in (2, 4):
            raise ValueError(f"bits_per_carrier must be 2 (QPSK) or 4 (16-QAM), got {self.bits_per_carrier}")
        if self.carriers.size < 8:
            raise ValueError(f"band_low_hz..band_high_hz holds {self.carriers.size} carriers, need >= 8")
        if self.carriers[0] < 1:
            raise ValueError(f"band_low_hz {self.band_low_hz} reaches the DC carrier")
        if not 2 <= self.period_symbols <= 256:
            raise ValueError(f"period_symbols must be in [2, 256], got {self.period_symbols}")
        if not -60.0 <= self.level_dbfs <= 0.0:
            raise ValueError(f"level_dbfs must be in [-60, 0], got {self.level_dbfs}")
        if not 0.01 <= self.detect_threshold < 1.0:
            raise ValueError(f"detect_threshold must be in [0.01, 1), got {self.detect_threshold}")
        if not self.coast_s >= 0:
            raise ValueError(f"coast_s must be >= 0, got {self.coast_s}")
        for name in ("timing_gain", "rate_gain", "channel_smoothing", "noise_smoothing"):
            value = getattr(self, name)
            if not 0.0 < value <= 1.0:
                raise ValueError(f"{name} must be in (0, 1], got {value}")

    @property
    def carrier_spacing_hz(self) -> float:
        return self.sample_rate_hz / self.fft_size

    @property
    def carriers(self) -> np.ndarray:
        """FFT bin indices of the used carriers, int64 ascending."""
        lo = math.ceil(self.band_low_hz / self.carrier_spacing_hz - 1e-9)
        hi = math.floor(self.band_high_hz / self.carrier_spacing_hz + 1e-9)
        return np.arange(lo, hi + 1, dtype=np.int64)

    @property
    def symbol_samples(self) -> int:
        return self.fft_size + self.cyclic_prefix_samples

    @property
    def period_samples(self) -> int:
        """Nominal samples from one training symbol to the next."""
        return self.period_symbols * self.symbol_samples

    @property
    def bits_per_symbol(self) -> int:
        return int(self.carriers.size) * self.bits_per_carrier

    @property
    def bits_per_period(self) -> int:
        return self.bits_per_symbol * (self.period_symbols - 1)

    @property
    def symbol_rate_baud(self) -> float:
        """OFDM symbols per second, training included."""
        return self.sample_rate_hz / self.symbol_samples

    @property
    def bits_per_second(self) -> float:
        """Raw channel bit rate: data symbols only."""
        return self.bits_per_period * self.sample_rate_hz / self.period_samples

    @property
    def bandwidth_hz(self) -> float:
        """Occupied band, first to last carrier plus one spacing."""
        return float(self.carriers.size * self.carrier_spacing_hz)


# 36 250 bit/s raw, 16-QAM on 58 carriers 562.5-11 250 Hz (derivation in the module docstring).
AUDIO = AudioConfig()
# 3 629 bit/s raw, QPSK on 47 carriers 422-2578 Hz; a longer coast: the codec path is noisy
# and trainings are 181 ms apart. Smoother channel and noise estimates: at 3 dB SNR one
# training's estimate is itself 3 dB noisy, averaging ~8 trainings gains ~9 dB.
AUDIO_ROBUST = AudioConfig(
    fft_size=1024,
    cyclic_prefix_samples=64,
    band_low_hz=400.0,
    band_high_hz=2_600.0,
    bits_per_carrier=2,
    period_symbols=8,
    detect_threshold=0.15,
    coast_s=3.0,
    timing_gain=0.3,
    rate_gain=0.05,
    channel_smoothing=0.125,
    noise_smoothing=0.0625,
    training_seed=0x0B57,
)


@dataclass(frozen=True)
class AudioStats:
    """What the demodulator saw, over its last training period, and running counts.

    snr_db: signal to noise at the decisions (equalised symbols, moment estimate over the last
    period); level: input RMS in dBFS (AES17, a full-scale sine reads 0) over the last period;
    clock_offset_ppm: the sender's symbol clock against ours (+100: the sender runs 100 ppm
    fast, or our sample clock 100 ppm slow); locked: a training grid is being followed;
    symbols, bits: data symbols and bits put out; acquisitions: times a grid was found;
    trainings_missed: trainings not seen where expected (silence, shadows, end of a
    transmission); bad_samples: NaN / inf samples replaced by 0; clipped_samples: samples at
    or beyond full scale (|x| >= 0.999).
    """

    snr_db: float = float("nan")
    level: float = float("-inf")
    clock_offset_ppm: float = 0.0
    locked: bool = False
    symbols: int = 0
    bits: int = 0
    acquisitions: int = 0
    trainings_missed: int = 0
    bad_samples: int = 0
    clipped_samples: int = 0
