"""FM I/Q front end speed: I/Q -> MPX demodulation (from complex64 and from cu8 bytes), MPX -> I/Q
modulation, and the channel simulator, on one second of signal.

Target (issue 3): the I/Q -> MPX path >= 20x real time at 1.2 MHz on one core.
Run: .venv/bin/pytest bench/test_fmiq.py --benchmark-only -q
"""

import numpy as np
import pytest

from modem.channel import ChannelConfig, apply_to_iq
from modem.fmiq import FmIqDemodulator, FmIqDemodulatorConfig, FmIqModulator
from modem.formats import SampleDecoder, encode_samples
from modem.mpxsim import MpxSimConfig, simulate_mpx

SECONDS = 1.0
MPX = simulate_mpx(int(228_000 * SECONDS), MpxSimConfig(seed=1))
IQ = apply_to_iq(FmIqModulator().process(MPX), 1_200_000,
                 ChannelConfig(cnr_db=25.0, signal_power=1.0, freq_offset_hz=20_000.0, seed=1))
CU8 = encode_samples(IQ * 0.7, "cu8")


def _speed(benchmark, seconds_of_signal: float) -> None:
    benchmark.extra_info["x_real_time"] = round(seconds_of_signal / benchmark.stats["min"], 1)


def _demodulated_seconds(dem: FmIqDemodulator, mpx) -> float:
    """Seconds of MPX out (the demodulator holds back a partial frame)."""
    return sum(len(m) for m in mpx) / dem.mpx_rate_hz if isinstance(mpx, list) else (
        len(mpx) / dem.mpx_rate_hz)


def test_demodulate_iq(benchmark):
    dem = FmIqDemodulator()

    def run():
        dem.reset()
        return dem.process(IQ)

    out = benchmark.pedantic(run, rounds=5, iterations=1, warmup_rounds=1)
    _speed(benchmark, _demodulated_seconds(dem, out))


def test_decode_cu8_and_demodulate(benchmark):
    dem = FmIqDemodulator()

    def run():
        dec = SampleDecoder("cu8")
        dem.reset()
        step = 2 * 262_144  # 256 k samples per read, as a source would deliver them
        return [dem.process(dec.process(CU8[i:i + step])) for i in range(0, len(CU8), step)]

    out = benchmark.pedantic(run, rounds=5, iterations=1, warmup_rounds=1)
    _speed(benchmark, _demodulated_seconds(dem, out))


@pytest.mark.parametrize("rate", [240_000, 2_400_000])
def test_demodulate_other_rates(benchmark, rate):
    iq = np.exp(1j * np.cumsum(np.random.default_rng(2).normal(0, 0.3, 2 * rate))).astype(
        np.complex64)
    dem = FmIqDemodulator(FmIqDemodulatorConfig(iq_rate_hz=rate))

    def run():
        dem.reset()
        return dem.process(iq)

    out = benchmark.pedantic(run, rounds=3, iterations=1, warmup_rounds=1)
    _speed(benchmark, _demodulated_seconds(dem, out))


def test_modulate(benchmark):
    benchmark.pedantic(lambda: FmIqModulator().process(MPX), rounds=3, iterations=1)
    _speed(benchmark, MPX.size / 228_000)


def test_channel_iq(benchmark):
    cfg = ChannelConfig(cnr_db=20.0, signal_power=1.0, freq_offset_hz=5_000.0,
                        sample_rate_offset_ppm=100.0, seed=3)
    benchmark.pedantic(lambda: apply_to_iq(IQ, 1_200_000, cfg), rounds=3, iterations=1)
    _speed(benchmark, IQ.size / 1_200_000)
