"""Profiles `fm` and `fm-robust`: the subcarrier's parameters (``FmSubcarrierConfig``, defaults
derived in ``fm.py``'s docstring), their presets ``FM`` and ``FM_ROBUST``, and what the
demodulator reports (``DemodStats``).

Invariant: a config that constructs describes a subcarrier that fits below the Nyquist rate of
``sample_rate_hz`` (and above 0 Hz); anything else is a ``ValueError`` naming the field.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FmSubcarrierConfig:
    """Parameters of the `fm` subcarrier. Rates in Hz / baud, injection as a fraction of 75 kHz."""

    sample_rate_hz: float = 228_000.0
    carrier_hz: float = 76_000.0
    symbol_rate_baud: float = 19_000.0
    rolloff: float = 0.35
    injection: float = 0.10
    pulse_span_symbols: int = 12  # each side of the pulse peak
    timing_window_symbols: int = 128
    carrier_window_symbols: int = 64
    frequency_window_symbols: int = 4096  # the carrier frequency estimate's average

    def __post_init__(self) -> None:
        if not 0.0 < self.rolloff <= 1.0:
            raise ValueError(f"rolloff must be in (0, 1], got {self.rolloff}")
        if not self.symbol_rate_baud > 0:
            raise ValueError(f"symbol_rate_baud must be > 0, got {self.symbol_rate_baud}")
        if not self.carrier_hz > self.bandwidth_hz / 2:
            raise ValueError(f"carrier_hz {self.carrier_hz} is below half the bandwidth {self.bandwidth_hz}")
        top_hz = self.carrier_hz + self.bandwidth_hz / 2
        if not 2 * top_hz < self.sample_rate_hz <= 20_000_000:
            raise ValueError(
                f"sample_rate_hz {self.sample_rate_hz} cannot carry the subcarrier up to {top_hz:.0f} Hz: "
                f"it must exceed {2 * top_hz:.0f} Hz (and be at most 20 MHz)"
            )
        if not 0.0 < self.injection <= 1.0:
            raise ValueError(f"injection must be in (0, 1], got {self.injection}")
        if self.pulse_span_symbols < 2:
            raise ValueError(f"pulse_span_symbols must be >= 2, got {self.pulse_span_symbols}")
        if self.timing_window_symbols < 8:
            raise ValueError(f"timing_window_symbols must be >= 8, got {self.timing_window_symbols}")
        if self.carrier_window_symbols < 4:
            raise ValueError(f"carrier_window_symbols must be >= 4, got {self.carrier_window_symbols}")
        if self.frequency_window_symbols < 64:
            raise ValueError(f"frequency_window_symbols must be >= 64, got {self.frequency_window_symbols}")

    @property
    def bandwidth_hz(self) -> float:
        """Occupied bandwidth, symbol rate x (1 + rolloff)."""
        return self.symbol_rate_baud * (1 + self.rolloff)

    @property
    def bits_per_second(self) -> float:
        """Raw channel bit rate, 2 bit/symbol."""
        return 2 * self.symbol_rate_baud


@dataclass(frozen=True)
class DemodStats:
    """Signal quality over the last internal block, and running counts.

    snr_db: Es/N0 at the decisions (dB), estimated from the spread of |I| and |Q|;
    level: subcarrier injection seen at the input (same units as config.injection);
    carrier_offset_hz: subcarrier frequency error; clock_offset_ppm: symbol-rate error as seen
    in our samples (a sender clock 100 ppm fast, or our sample clock 100 ppm slow, gives about
    +100 and a carrier offset of +7.6 Hz); symbols, bits: totals since construction / reset.
    """

    snr_db: float = float("nan")
    level: float = 0.0
    carrier_offset_hz: float = 0.0
    clock_offset_ppm: float = 0.0
    symbols: int = 0
    bits: int = 0


# `fm`: 38 000 bit/s raw = 19 000 baud x 2 bit/symbol, coherent QPSK at 76 kHz, 10 % injection.
# Recovery windows: 256 symbols for timing and 192 for the carrier phase (13.5 and 10 ms), the
# carrier frequency averaged over 4096 symbols (0.22 s). Near the code's threshold (Es/N0 ~ 4.6
# dB, CNR 17.5-18 dB) the 128 / 64 windows lost ~1 frame in 10 that these keep (measured
# through the FM I/Q chain, bench/test_fm_link.py); carrier recovery alone on white noise at
# Es/N0 4.6 dB slipped no quarter turn in 10^7 symbols with any window from 128 to 384.
FM = FmSubcarrierConfig(timing_window_symbols=256, carrier_window_symbols=192)
# `fm-robust`: the same slot and injection at 11 000 baud (22 000 bit/s raw). With the rate-1/2
# frame code (framing/profiles.py) it needs ~5 dB less CNR than `fm`: 10 log10(19 / 11) = 2.4 dB
# of symbol energy and ~3 dB of code (Es/N0 for FER 1e-3 on white noise: ~1.65 dB at rate 1/2,
# ~4.6 at 3/4). Measured through the FM I/Q chain (1000 frames a point): fm-robust lost 0 at
# CNR 13 dB and 2 at 12.5; fm 0 at 18 dB and 22 at 17.5 (bench/test_fm_link.py).
# Windows 512 / 512 symbols (47 ms each), frequency over 4096 (0.37 s): at Es/N0 2.0-2.3 dB
# (CNR 12.5-13 dB) a quarter-turn slip costs the 0.7 s frame it falls in, and carrier recovery
# alone on white noise slipped 16 times in 2 x 10^6 symbols with a 192-symbol phase window and
# a 1024-symbol frequency average (the old preset; the link lost ~1 % of its frames so), twice
# with 384 / 1024, and never in 10^7 symbols with 512 / 4096 (measured, Es/N0 2.0 dB, +100 ppm).
# Longer phase windows slip again (1536 / 2048: 11 in 2 x 10^6) as the frequency error's phase
# ramp across the window grows.
FM_ROBUST = FmSubcarrierConfig(symbol_rate_baud=11_000.0, timing_window_symbols=512,
                               carrier_window_symbols=512)
PRESETS = {"fm": FM, "fm-robust": FM_ROBUST}
