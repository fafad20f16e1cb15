"""FM broadcast I/Q front end: the rates it works at, its decimation plan, its configs and stats.

Conventions (as ``fmiq.py``): MPX float32 with 1.0 = 75 kHz peak deviation; I/Q complex64 with
the wanted carrier at 0 Hz.

Invariants: every config that constructs has an I/Q rate in MIN_IQ_RATE_HZ..MAX_IQ_RATE_HZ
(else ``SampleRateError`` naming the field) and positive widths and times (else ``ValueError``
naming the field); ``plan_decimation`` is a pure function of its arguments.
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
# The discriminator runs at most at 480 kHz: above it the I/Q is decimated first (the
# discriminator's cost is per sample); below 2 x the channel's stop edge there is no rate to
# decimate to.
_MAX_DISCRIMINATOR_RATE_HZ = 480_000
_MAX_RATIO_DENOMINATOR = 16


def _check_iq_rate(rate_hz: int, field: str) -> None:
    if not MIN_IQ_RATE_HZ <= rate_hz <= MAX_IQ_RATE_HZ:
        raise SampleRateError(
            f"{field}={rate_hz} Hz: FM I/Q needs {MIN_IQ_RATE_HZ}..{MAX_IQ_RATE_HZ} Hz"
        )


def _smooth(n: int) -> bool:
    for p in (2, 3, 5):
        while n % p == 0:
            n //= p
    return n == 1


def plan_decimation(iq_rate_hz: int, channel_stopband_hz: float = 185_000.0) -> Fraction:
    """MPX rate / I/Q rate: the ratio p / q (q <= 16, p and q without prime factors above 5,
    so the FFT sizes stay fast) giving the lowest discriminator rate that holds the whole
    channel, >= 2 x ``channel_stopband_hz`` (nothing of the channel aliases), and at most
    480 kHz; 1 when the I/Q rate is already at most 480 kHz. The discriminator's output is the
    MPX, at the same rate. E.g. 1.2 MHz -> 1/3 (400 kHz), 2.4 MHz -> 1/6 (400 kHz),
    2.048 MHz -> 3/16 (384 kHz), 1.024 MHz -> 3/8 (384 kHz), 240 kHz -> 1.
    """
    _check_iq_rate(iq_rate_hz, "iq_rate_hz")
    if iq_rate_hz <= _MAX_DISCRIMINATOR_RATE_HZ:
        return Fraction(1)
    floor_hz = 2 * channel_stopband_hz
    best: Fraction | None = None
    for q in range(1, _MAX_RATIO_DENOMINATOR + 1):
        if not _smooth(q):
            continue
        p = max(1, -(-int(floor_hz * q) // iq_rate_hz))
        while not _smooth(p):
            p += 1
        ratio = Fraction(p, q)
        if ratio < 1 and iq_rate_hz * ratio <= _MAX_DISCRIMINATOR_RATE_HZ and (
                best is None or ratio < best):
            best = ratio
    return best if best is not None else Fraction(1)


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
    """The FM I/Q front end. Channel filter: flat to ``channel_passband_hz`` either side of the
    carrier, ``filter_stopband_db`` down from ``channel_stopband_hz`` (a sharp edge costs nothing
    in the FFT, and every kHz of noise bandwidth it keeps out is one the discriminator does not
    turn into clicks near threshold: +-185 kHz keeps 1.3 dB less noise than the +-300 kHz skirt
    of the old direct FIR). Carrier offset tracked with ``offset_time_constant_s`` up to
    ``max_offset_hz``."""

    iq_rate_hz: int = 1_200_000
    deviation_hz: float = DEVIATION_HZ
    channel_passband_hz: float = 160_000.0
    channel_stopband_hz: float = 185_000.0
    offset_time_constant_s: float = 0.5
    max_offset_hz: float = 120_000.0
    filter_stopband_db: float = 60.0

    def __post_init__(self) -> None:
        _check_iq_rate(self.iq_rate_hz, "iq_rate_hz")
        if not 0 < self.channel_passband_hz < self.channel_stopband_hz:
            raise ValueError("channel_passband_hz must be > 0 and < channel_stopband_hz")
        for name in ("deviation_hz", "offset_time_constant_s", "max_offset_hz",
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
