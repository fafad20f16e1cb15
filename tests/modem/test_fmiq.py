"""FM I/Q front end: rate plan, mod -> demod through offset and noise, chunking, stats."""

import math
from fractions import Fraction

import numpy as np
import pytest

from modem.channel import ChannelConfig, apply_to_iq
from modem.errors import SampleRateError
from modem.fmiq import (
    FmIqDemodulator,
    FmIqDemodulatorConfig,
    FmIqModulator,
    FmIqModulatorConfig,
    plan_decimation,
)
from modem.mpxsim import MpxSimConfig, simulate_mpx

MPX_FS = 228_000
IQ_FS = 1_200_000
MPX_OUT = 375_000  # the front end's MPX rate at 1.2 MHz (5/16)


def _tones(seconds: float, with_programme: bool = False) -> np.ndarray:
    n = int(seconds * MPX_FS)
    t = np.arange(n) / MPX_FS
    tone = 0.1 * np.sin(2 * np.pi * 76_000 * t)
    if with_programme:
        return (simulate_mpx(n, MpxSimConfig(seed=5)) + tone).astype(np.float32)
    base = 0.5 * np.sin(2 * np.pi * 1_000 * t) + 0.09 * np.sin(2 * np.pi * 19_000 * t)
    return (base + tone).astype(np.float32)


def _snr76_db(mpx: np.ndarray, fs: float) -> float:
    """76 kHz tone power over the noise in 68-84 kHz (tone bins excluded), after settling."""
    seg = mpx[mpx.size // 3:]
    win = np.blackman(seg.size)
    spec = np.abs(np.fft.rfft(seg * win)) ** 2
    f = np.fft.rfftfreq(seg.size, 1 / fs)
    tone = np.abs(f - 76_000) < 150
    band = (np.abs(f - 76_000) < 8_000) & ~(np.abs(f - 76_000) < 400)
    noise = spec[band].mean() * np.count_nonzero((np.abs(f - 76_000) < 8_000))
    return 10 * math.log10(spec[tone].sum() / noise)


@pytest.fixture(scope="module")
def iq_tones() -> np.ndarray:
    return FmIqModulator().process(_tones(0.6))


@pytest.mark.parametrize("rate, plan, out", [
    (1_200_000, Fraction(5, 16), 375_000), (2_400_000, Fraction(1, 6), 400_000),
    (2_048_000, Fraction(3, 16), 384_000), (1_024_000, Fraction(3, 8), 384_000),
    (240_000, Fraction(1), 240_000), (960_000, Fraction(2, 5), 384_000),
    (480_000, Fraction(1), 480_000),
])
def test_rate_plan(rate, plan, out):
    """The discriminator (and MPX) rate: the lowest of p / q x rate (q <= 16, fast FFT sizes)
    that holds the whole +-185 kHz channel, at most 480 kHz."""
    assert plan_decimation(rate) == plan
    assert FmIqDemodulator(FmIqDemodulatorConfig(iq_rate_hz=rate)).mpx_rate_hz == out


@pytest.mark.parametrize("rate", [100_000, 239_999, 2_400_001, 10_000_000])
def test_rates_out_of_range_are_refused_by_name(rate):
    with pytest.raises(SampleRateError, match="iq_rate_hz"):
        FmIqDemodulatorConfig(iq_rate_hz=rate)
    with pytest.raises(SampleRateError, match="iq_rate_hz"):
        FmIqModulatorConfig(iq_rate_hz=rate)


def test_modulator_is_unit_amplitude_with_75_khz_per_unit():
    mpx = np.full(22_800, 0.4, np.float32)
    iq = FmIqModulator().process(mpx)
    assert iq.dtype == np.complex64 and iq.size == 120_000
    np.testing.assert_allclose(np.abs(iq), 1.0, atol=1e-6)
    inst = np.angle(iq[1001:] * np.conj(iq[1000:-1])) * IQ_FS / (2 * np.pi)
    np.testing.assert_allclose(inst, 0.4 * 75_000, rtol=1e-3)


def test_modulator_at_equal_rates_needs_no_interpolator():
    """An I/Q rate equal to the MPX rate (240 kHz both; TxOptions(iq_rate_hz=240_000) raised
    ValueError designing a filter at Nyquist): the MPX drives the phase directly, no lag."""
    mpx = np.random.default_rng(5).uniform(-1, 1, 24_000).astype(np.float32)
    mod = FmIqModulator(FmIqModulatorConfig(mpx_rate_hz=240_000, iq_rate_hz=240_000))
    iq = np.concatenate((mod.process(mpx[:7_001]), mod.process(mpx[7_001:])))
    assert iq.size == mpx.size
    step = np.angle(iq[1:] * np.conj(iq[:-1])) * 240_000 / (2 * np.pi)
    np.testing.assert_allclose(step, mpx[1:] * 75_000, atol=5.0)


def test_modulator_chunking_changes_only_rounding():
    mpx = _tones(0.1)
    whole = FmIqModulator().process(mpx)
    mod = FmIqModulator()
    cuts = np.sort(np.random.default_rng(1).integers(0, mpx.size, 20))
    parts = np.concatenate([mod.process(c) for c in np.split(mpx, cuts)])
    assert parts.size == whole.size
    np.testing.assert_allclose(parts, whole, atol=2e-5)


@pytest.mark.parametrize("offset_hz", [0.0, 50_000.0, -50_000.0])
def test_demodulates_through_tuner_offset_and_noise(iq_tones, offset_hz):
    rx = apply_to_iq(iq_tones, IQ_FS, ChannelConfig(cnr_db=30.0, signal_power=1.0,
                                                    freq_offset_hz=offset_hz, seed=2))
    dem = FmIqDemodulator()
    mpx = dem.process(rx)
    assert dem.stats.freq_offset_hz == pytest.approx(offset_hz, abs=300)
    assert dem.stats.cnr_db == pytest.approx(30.0, abs=1.0)
    assert dem.stats.level_dbfs == pytest.approx(10 * math.log10(1 + 10 ** -3 * 6), abs=0.1)
    # 1.0 MPX = 75 kHz: the 1 kHz tone comes back at 0.5 (settled half of the output).
    seg = mpx[mpx.size // 2:]
    phase = 2 * np.pi * 1_000 * np.arange(seg.size) / dem.mpx_rate_hz
    fit = np.linalg.lstsq(np.c_[np.sin(phase), np.cos(phase)], seg, rcond=None)[0]
    assert np.hypot(*fit) == pytest.approx(0.5, rel=0.02)
    # FM noise theory: complex noise of density N0 gives phase noise N0 / (2C) two-sided, so
    # frequency noise one-sided N0 f^2 / C (Hz^2/Hz); in MPX units divide by 75 kHz^2.
    n0_over_c = 1 / (10 ** (30 / 10) * 200_000)
    noise = n0_over_c * (84_000**3 - 68_000**3) / 3 / 75_000**2
    expected_db = 10 * math.log10(0.1**2 / 2 / noise)  # about 17.8 dB
    assert _snr76_db(mpx, dem.mpx_rate_hz) == pytest.approx(expected_db, abs=1.0)


def test_offset_costs_nothing_at_high_cnr(iq_tones):
    snrs = []
    for offset in (0.0, 50_000.0):
        rx = apply_to_iq(iq_tones, IQ_FS, ChannelConfig(freq_offset_hz=offset))
        snrs.append(_snr76_db(FmIqDemodulator().process(rx), MPX_OUT))
    assert snrs[0] > 60 and abs(snrs[0] - snrs[1]) < 1.0


def test_wide_channel_filter_keeps_programme_off_76_khz():
    """FIELD-NOTES: a ±100 kHz filter folds stereo programme onto 76 kHz (20 dB); ours >= 50."""
    iq = FmIqModulator().process(_tones(0.6, with_programme=True))
    rx = apply_to_iq(iq, IQ_FS, ChannelConfig(freq_offset_hz=-30_000.0))
    assert _snr76_db(FmIqDemodulator().process(rx), MPX_OUT) > 50.0


def test_output_is_identical_whatever_the_chunking():
    rate = 240_000  # small frames: one-sample feeding stays quick
    mpx = _tones(0.35)
    iq = FmIqModulator(FmIqModulatorConfig(iq_rate_hz=rate)).process(mpx)
    iq = apply_to_iq(iq, rate, ChannelConfig(cnr_db=20.0, signal_power=1.0,
                                             freq_offset_hz=20_000.0, seed=3))[:70_000]
    cfg = FmIqDemodulatorConfig(iq_rate_hz=rate)
    whole = FmIqDemodulator(cfg).process(iq)
    dem = FmIqDemodulator(cfg)
    cuts = np.sort(np.random.default_rng(4).integers(0, iq.size, 40))
    np.testing.assert_array_equal(np.concatenate([dem.process(c) for c in np.split(iq, cuts)]),
                                  whole)
    dem = FmIqDemodulator(cfg)
    single = [dem.process(iq[i:i + 1]) for i in range(iq.size)]
    np.testing.assert_array_equal(np.concatenate(single), whole)


def test_chunking_invariance_at_1_2_mhz(iq_tones):
    rx = apply_to_iq(iq_tones, IQ_FS, ChannelConfig(freq_offset_hz=40_000.0))
    whole = FmIqDemodulator().process(rx)
    dem = FmIqDemodulator()
    cuts = np.sort(np.random.default_rng(5).integers(0, rx.size, 30))
    np.testing.assert_array_equal(np.concatenate([dem.process(c) for c in np.split(rx, cuts)]),
                                  whole)
    dem.reset()
    np.testing.assert_array_equal(dem.process(rx), whole)


def test_flush_releases_the_held_samples_whatever_the_chunking(iq_tones):
    rx = apply_to_iq(iq_tones, IQ_FS, ChannelConfig(freq_offset_hz=-30_000.0))[:250_001]
    dem = FmIqDemodulator()
    whole = np.concatenate((dem.process(rx), dem.flush()))
    # every input sample has its MPX (5 per 16 at 1.2 MHz), none invented
    assert whole.size == -(-rx.size * 5 // 16)
    assert dem.flush().size == 0
    level = dem.stats.level_dbfs
    dem = FmIqDemodulator()
    cuts = np.sort(np.random.default_rng(7).integers(0, rx.size, 25))
    chunked = np.concatenate([dem.process(c) for c in np.split(rx, cuts)] + [dem.flush()])
    np.testing.assert_array_equal(chunked, whole)
    assert dem.stats.level_dbfs == level  # the zero padding is not reported as a fade
    # The tail it releases is the signal, not the padding: the 76 kHz tone is in it.
    tail = whole[-2_000:]
    assert np.std(tail) > 0.5 * np.std(whole[-20_000:-2_000])


@pytest.mark.parametrize("kind", ["zeros", "noise"])
def test_silence_and_noise_only_do_not_crash(kind):
    rng = np.random.default_rng(6)
    n = 300_000
    iq = np.zeros(n, np.complex64) if kind == "zeros" else (
        rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(np.complex64)
    dem = FmIqDemodulator()
    out = dem.process(iq)
    assert out.dtype == np.float32 and np.all(np.isfinite(out))
    assert abs(dem.stats.freq_offset_hz) <= 120_000
    if kind == "noise":
        assert dem.stats.cnr_db < 5


def test_repr_shows_config():
    assert "iq_rate_hz=1200000" in repr(FmIqDemodulator())
    assert "mpx_rate_hz=228000" in repr(FmIqModulator())


def test_iq_sample_rate_offset_and_offset_together_cost_little(iq_tones):
    rx = apply_to_iq(iq_tones, IQ_FS, ChannelConfig(freq_offset_hz=45_000.0,
                                                    sample_rate_offset_ppm=-200.0))
    dem = FmIqDemodulator()
    mpx = dem.process(rx)
    # A clock 200 ppm slow also scales the carrier offset seen: 45 kHz at 0.9998 of the rate.
    assert dem.stats.freq_offset_hz == pytest.approx(45_000.0 / (1 - 200e-6), abs=300)
    assert _snr76_db(mpx, dem.mpx_rate_hz) > 50.0


def test_signal_appearing_after_noise_is_acquired_at_once(iq_tones):
    rng = np.random.default_rng(8)
    quiet = ((rng.standard_normal(300_000) + 1j * rng.standard_normal(300_000)) * 0.05)
    rx = np.concatenate([quiet.astype(np.complex64), iq_tones])
    rx = apply_to_iq(rx, IQ_FS, ChannelConfig(freq_offset_hz=-48_000.0))
    dem = FmIqDemodulator()
    mpx = dem.process(rx[:420_000])  # the noise and ~0.1 s of signal
    assert dem.stats.freq_offset_hz == pytest.approx(-48_000.0, abs=500)
    mpx = np.concatenate([mpx, dem.process(rx[420_000:])])
    assert _snr76_db(mpx[int(0.4 * MPX_OUT):], MPX_OUT) > 50.0


@pytest.mark.parametrize("rate", [960_000, 2_048_000, 2_400_000])
def test_loopback_at_other_iq_rates(rate):
    iq = FmIqModulator(FmIqModulatorConfig(iq_rate_hz=rate)).process(_tones(0.4))
    rx = apply_to_iq(iq, rate, ChannelConfig(freq_offset_hz=25_000.0))
    dem = FmIqDemodulator(FmIqDemodulatorConfig(iq_rate_hz=rate))
    assert _snr76_db(dem.process(rx), dem.mpx_rate_hz) > 50.0


def test_cnr_for_subcarrier_ebn0_matches_noise_measured_after_demod():
    """Set the CNR for Eb/N0 = 10 dB of a 10 % subcarrier at 12 kbit/s; the MPX noise density
    measured at 72-80 kHz after demodulation gives back Eb/N0 within 0.5 dB."""
    from modem.channel import cnr_for_subcarrier_ebn0

    ps, rb = 0.1**2 / 2, 12_000.0
    cnr = cnr_for_subcarrier_ebn0(10.0, ps, rb)
    assert cnr == pytest.approx(20.9, abs=0.1)
    iq = FmIqModulator().process(np.zeros(int(0.8 * MPX_FS), np.float32))
    rx = apply_to_iq(iq, IQ_FS, ChannelConfig(cnr_db=cnr, signal_power=1.0, seed=4))
    dem = FmIqDemodulator()
    mpx = dem.process(rx)[60_000:]
    spec = np.abs(np.fft.rfft(mpx * np.hanning(mpx.size))) ** 2
    f = np.fft.rfftfreq(mpx.size, 1 / dem.mpx_rate_hz)
    band = (f > 72_000) & (f < 80_000)
    # one-sided PSD = 2 |X|^2 / (fs * sum(w^2))
    n0 = 2 * spec[band].mean() / (dem.mpx_rate_hz * np.sum(np.hanning(mpx.size) ** 2))
    n0 *= 76_000**2 / np.mean(f[band] ** 2)  # refer the f^2 density to 76 kHz
    assert 10 * math.log10(ps / rb / n0) == pytest.approx(10.0, abs=0.5)
