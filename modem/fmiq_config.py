"""FM broadcast I/Q front end: the rates it works at, its decimation plan, its configs and stats.

Conventions (as ``fmiq.py``): MPX float32 with 1.0 = 75 kHz peak deviation; I/Q complex64 with
the wanted carrier at 0 Hz.

Invariants: every config that constructs has an I/Q rate in MIN_IQ_RATE_HZ..MAX_IQ_RATE_HZ
(else ``SampleRateError`` naming the field) and positive widths and times (else ``ValueError``
naming the field); ``plan_decimation`` is a pure function of the I/Q rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from modem.errors import SampleRateError

# 240 kHz: the lowest rate kept undecimated as MPX that still holds the 88.8 kHz top of the
# data subcarrier below its 120 kHz Nyquist (the RF skirts beyond it wrap: lossy, allowed);
# 2.4 MHz: above it most USB hosts drop an RTL-SDR's samples (receiver/_device_rtlsdr.py).
MIN_IQ_RATE_HZ = 240_000
MAX_IQ_RATE_HZ = 2_400_000
DEVIATION_HZ = 75_000.0  # 1.0 MPX = 75 kHz peak deviation (ITU-R BS.450)
# CNR is stated in this noise bandwidth, whatever the I/Q rate: about one FM channel.
CNR_REFERENCE_BANDWIDTH_HZ = 200_000.0
# Discriminator output runs at >= 480 kHz so the ±160 kHz channel plus its skirts fits in it.
_MIN_DISCRIMINATOR_RATE_HZ = 480_000
# MPX out between 200 and 300 kHz: above twice the subcarrier's 88.8 kHz top with room for the
# MPX filter's skirt, and no faster than the subcarrier demodulator needs.
_MPX_RATE_RANGE_HZ = (200_000, 300_000)


def _check_iq_rate(rate_hz: int, field: str) -> None:
    if not MIN_IQ_RATE_HZ <= rate_hz <= MAX_IQ_RATE_HZ:
        raise SampleRateError(
            f"{field}={rate_hz} Hz: FM I/Q needs {MIN_IQ_RATE_HZ}..{MAX_IQ_RATE_HZ} Hz"
        )


def plan_decimation(iq_rate_hz: int) -> tuple[int, int]:
    """(d1, d2): I/Q decimation before the discriminator and MPX decimation after it.

    Picks the largest d1 (cheapest discriminator) leaving >= 480 kHz, then the MPX rate in
    200-300 kHz nearest 250 kHz (ties to the higher rate), e.g. 1.2 MHz -> (2, 2) -> 300 kHz,
    2.4 MHz -> (5, 2) -> 240 kHz, 2.048 MHz -> (4, 2) -> 256 kHz, 240 kHz -> (1, 1).
    """
    _check_iq_rate(iq_rate_hz, "iq_rate_hz")
    lo, hi = _MPX_RATE_RANGE_HZ
    best: tuple[tuple[int, float, float], tuple[int, int]] | None = None
    for d1 in range(1, max(1, iq_rate_hz // _MIN_DISCRIMINATOR_RATE_HZ) + 1):
        for d2 in range(1, 64):
            out = iq_rate_hz / (d1 * d2)
            if lo <= out <= hi:
                key = (d1, -abs(out - 250_000), out)
                if best is None or key > best[0]:
                    best = (key, (d1, d2))
    return best[1] if best else (1, 1)  # 300-400 kHz: no integer split, keep the input rate


@dataclass(frozen=True)
class FmIqModulatorConfig:
    mpx_rate_hz: int = 228_000
    iq_rate_hz: int = 1_200_000
    deviation_hz: float = DEVIATION_HZ

    def __post_init__(self) -> None:
        _check_iq_rate(self.iq_rate_hz, "iq_rate_hz")
        if not 100_000 <= self.mpx_rate_hz <= self.iq_rate_hz:
            raise SampleRateError(f"mpx_rate_hz={self.mpx_rate_hz} must be in 100 kHz..iq_rate_hz")
        if Fraction(self.iq_rate_hz, self.mpx_rate_hz).numerator > 4096:
            raise ValueError(
                f"iq_rate_hz/mpx_rate_hz = {self.iq_rate_hz}/{self.mpx_rate_hz} needs more than "
                "4096 polyphase branches; pick rates with a simpler ratio"
            )
        if self.deviation_hz <= 0:
            raise ValueError(f"deviation_hz must be > 0, got {self.deviation_hz}")


@dataclass(frozen=True)
class FmIqDemodulatorConfig:
    iq_rate_hz: int = 1_200_000
    deviation_hz: float = DEVIATION_HZ
    channel_passband_hz: float = 160_000.0
    channel_stopband_hz: float = 300_000.0
    mpx_passband_hz: float = 100_000.0
    offset_time_constant_s: float = 0.5
    max_offset_hz: float = 120_000.0
    filter_stopband_db: float = 60.0

    def __post_init__(self) -> None:
        _check_iq_rate(self.iq_rate_hz, "iq_rate_hz")
        if not 0 < self.channel_passband_hz < self.channel_stopband_hz:
            raise ValueError("channel_passband_hz must be > 0 and < channel_stopband_hz")
        for name in ("deviation_hz", "mpx_passband_hz", "offset_time_constant_s", "max_offset_hz",
                     "filter_stopband_db"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")


@dataclass(frozen=True)
class FmIqStats:
    """What the front end measured, smoothed over ``offset_time_constant_s``.

    freq_offset_hz: tracked carrier offset (tuner error), positive = signal above 0 Hz.
    level_dbfs: mean input power, 0 dB = full-scale unit-amplitude I/Q.
    cnr_db: carrier to noise in CNR_REFERENCE_BANDWIDTH_HZ, from the power the channel filter
    removes (white noise assumed); nan when the rate leaves no out-of-channel band, capped at 99.
    """

    freq_offset_hz: float
    level_dbfs: float
    cnr_db: float
    frames: int
    samples_in: int
