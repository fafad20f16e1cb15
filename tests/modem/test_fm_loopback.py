"""Loopback bits -> MPX -> channel -> LLRs for profile `fm`, one test per channel impairment.

The LLR stream may be rotated by quarter turns (the frame layer resolves it); the helpers
align lag and rotation by correlating symbols before counting hard-decision errors.

All randomness is seeded. Eb/N0 is per channel bit: white noise of variance
sigma^2 = (P / Rb) / (Eb/N0) * fs / 2 on the MPX, P = injection^2 / 2 the subcarrier power.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import signal, special

from modem.fm import SubcarrierDemodulator, SubcarrierModulator
from modem.fm_config import FmSubcarrierConfig
from modem.fmiq import FmIqDemodulator, FmIqModulator, FmIqModulatorConfig

SKIP_BITS = 2_000  # acquisition: the first decisions come from the pipeline filling up


def modulate(bits: np.ndarray, config: FmSubcarrierConfig) -> np.ndarray:
    mod = SubcarrierModulator(config)
    return np.concatenate((mod.process(bits), mod.flush())).astype(np.float64)


def demodulate(mpx: np.ndarray, config: FmSubcarrierConfig) -> np.ndarray:
    dem = SubcarrierDemodulator(config)
    return np.concatenate((dem.process(mpx), dem.flush()))


def add_noise(mpx: np.ndarray, config: FmSubcarrierConfig, ebn0_db: float, rng) -> np.ndarray:
    power = config.injection**2 / 2
    sigma = np.sqrt(power / config.bits_per_second / 10 ** (ebn0_db / 10) * config.sample_rate_hz / 2)
    return mpx + sigma * rng.standard_normal(len(mpx))


def _symbols(x: np.ndarray, soft: bool) -> np.ndarray:
    """Bits (0/1) or LLRs (positive = 0) -> complex symbols, bit 2i on I, 2i+1 on Q."""
    v = x.astype(np.float64) if soft else 1.0 - 2.0 * x
    n = len(v) // 2
    return v[0:2 * n:2] + 1j * v[1:2 * n:2]


def find_lag(tx: np.ndarray, rx: np.ndarray, at: int, probe: int = 4_000) -> tuple[int, int]:
    """(lag L in bits, rotation r in quarter turns) such that symbols of rx around rx bit ``at``
    are those of tx shifted by L, rotated by r (complex cross-correlation of the symbols)."""
    s = _symbols(tx, soft=False)
    probe = max(256, min(probe, len(tx) - at - 1024))  # stay inside tx whatever the lag (< 500)
    z = _symbols(rx[at:at + probe], soft=True)
    corr = signal.fftconvolve(s, np.conj(z[::-1]), mode="valid")
    k = int(np.argmax(np.abs(corr)))
    rotation = int(np.round(-np.angle(corr[k]) / (np.pi / 2))) % 4
    return 2 * k - at, rotation


def bit_errors(tx: np.ndarray, rx: np.ndarray, start: int, stop: int | None = None) -> tuple[int, int]:
    """(errors, compared) over LLRs rx[start:stop] after aligning (lag, rotation) at ``start``."""
    start -= start % 2
    lag, rotation = find_lag(tx, rx, start)
    stop = min(len(rx) if stop is None else stop, len(tx) - lag)
    stop -= (stop - start) % 2
    z = _symbols(rx[start:stop], soft=True) * (1j ** -rotation)
    hard = np.empty(2 * len(z), dtype=np.uint8)
    hard[0::2], hard[1::2] = z.real < 0, z.imag < 0
    return int(np.count_nonzero(hard != tx[start + lag : stop + lag])), len(hard)


def theory_ber(ebn0_db: float) -> float:
    """Coherent Gray QPSK: each bit is a BPSK decision, BER = Q(sqrt(2 Eb/N0))."""
    return float(0.5 * special.erfc(np.sqrt(10 ** (ebn0_db / 10))))


def random_bits(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 2, n).astype(np.uint8)


CFG = FmSubcarrierConfig()


def test_clean_loopback_has_no_errors():
    bits = random_bits(76_000, 1)
    rx = demodulate(modulate(bits, CFG), CFG)
    errors, n = bit_errors(bits, rx, SKIP_BITS)
    assert n > 70_000 and errors == 0


@pytest.mark.parametrize("ebn0_db", [6.0, 8.0])
def test_ber_in_noise_is_near_theory(ebn0_db):
    bits = random_bits(380_000, 2)
    rng = np.random.default_rng(3)
    rx = demodulate(add_noise(modulate(bits, CFG), CFG, ebn0_db, rng), CFG)
    errors, n = bit_errors(bits, rx, SKIP_BITS)
    # Within 0.5 dB of theory: the BER at Eb/N0 - 0.5 dB bounds it.
    assert errors / n < theory_ber(ebn0_db - 0.5)


@pytest.mark.parametrize("ppm", [-200, 200])
def test_sample_rate_error_is_tracked(ppm):
    bits = random_bits(76_000, 4)
    mpx = modulate(bits, CFG)
    drifted = signal.resample(mpx, int(round(len(mpx) * (1 + ppm * 1e-6))))
    rng = np.random.default_rng(5)
    rx = demodulate(add_noise(drifted, CFG, 10.0, rng), CFG)
    # Over 2 s a 200 ppm clock slips 7.6 symbols: compare in two halves, each aligned alone.
    half = len(rx) // 2
    for start, stop in ((SKIP_BITS, half), (half, len(rx) - 200)):
        errors, n = bit_errors(bits, rx, start, stop)
        assert errors / n < 1e-4


@pytest.mark.parametrize("ppm", [-200, 200])
def test_stats_report_the_clock_and_carrier_offsets(ppm):
    bits = random_bits(76_000, 4)
    mpx = modulate(bits, CFG)
    # Stretching the signal by (1 + e) makes every frequency, symbol rate included, 1 - e times.
    drifted = signal.resample(mpx, int(round(len(mpx) * (1 + ppm * 1e-6))))
    dem = SubcarrierDemodulator(CFG)
    dem.process(drifted)
    assert dem.stats.clock_offset_ppm == pytest.approx(-ppm, abs=40)
    assert dem.stats.carrier_offset_hz == pytest.approx(-ppm * 1e-6 * CFG.carrier_hz, abs=1.0)


def test_level_steps_of_10_db_do_not_break_lock():
    bits = random_bits(114_000, 6)
    mpx = modulate(bits, CFG)
    third = len(mpx) // 3
    gain = np.concatenate((np.full(third, 10 ** (10 / 20)), np.full(third, 10 ** (-10 / 20))))
    gain = np.concatenate((gain, np.ones(len(mpx) - len(gain))))
    rx = demodulate(mpx * gain, CFG)
    errors, n = bit_errors(bits, rx, SKIP_BITS, len(rx) - 200)
    assert errors <= 8  # a level step may cost a symbol or two at each edge, no more


def programme_mpx(n: int, fs: float, rng) -> np.ndarray:
    """Mono and stereo programme (band-limited noise to 15 kHz), 19 kHz pilot, RDS-like BPSK.

    Levels as a loud station: mono peaks ~0.5, L-R ~0.3, pilot 0.09, RDS 0.04 of 75 kHz.
    """
    t = np.arange(n) / fs
    lp = signal.firwin(255, 15_000, fs=fs)
    mono = signal.lfilter(lp, 1, rng.standard_normal(n))
    side = signal.lfilter(lp, 1, rng.standard_normal(n))
    mono *= 0.16 / np.std(mono)
    side *= 0.10 / np.std(side)
    pilot = 0.09 * np.sin(2 * np.pi * 19_000 * t)
    stereo = side * np.sin(2 * np.pi * 38_000 * t)
    rds_chips = np.repeat(rng.choice([-1.0, 1.0], n // int(fs / 2375) + 1), int(fs / 2375))[:n]
    rds = 0.04 * signal.lfilter(signal.firwin(127, 2_400, fs=fs), 1, rds_chips) * np.sin(2 * np.pi * 57_000 * t)
    return mono + pilot + stereo + rds


def test_decodes_beside_programme_pilot_stereo_and_rds():
    bits = random_bits(76_000, 7)
    mpx = modulate(bits, CFG)
    rng = np.random.default_rng(8)
    rx = demodulate(mpx + programme_mpx(len(mpx), CFG.sample_rate_hz, rng), CFG)
    errors, n = bit_errors(bits, rx, SKIP_BITS, len(rx) - 200)
    assert errors == 0


@pytest.mark.parametrize("fill", ["silence", "noise"])
def test_reacquires_after_a_dropout(fill):
    bits = random_bits(152_000, 9)  # 4 s
    mpx = modulate(bits, CFG)
    fs = CFG.sample_rate_hz
    a, b = int(1.5 * fs), int(1.6 * fs)  # 100 ms gone
    rng = np.random.default_rng(10)
    mpx[a:b] = 0.0 if fill == "silence" else 0.05 * rng.standard_normal(b - a)
    rx = demodulate(mpx, CFG)
    bps = CFG.bits_per_second
    before, _ = bit_errors(bits, rx, SKIP_BITS, int(1.45 * bps))
    # Re-acquisition within 200 ms of the signal's return, then clean to the end.
    after, n = bit_errors(bits, rx, int(1.8 * bps), len(rx) - 200)
    assert before == 0 and after == 0 and n > 80_000


@pytest.mark.parametrize("ms", [2, 3, 5, 8])
@pytest.mark.parametrize("fill", ["silence", "noise"])
def test_a_dropout_of_a_few_ms_does_not_slip_the_symbol_clock(fill, ms):
    """A slip (a symbol gained or lost) ruins the frame it falls in whatever its interleaving;
    a few ms of lost signal must only cost the bits inside it (and a few around it)."""
    bits = random_bits(114_000, 25)  # 3 s
    mpx = modulate(bits, CFG)
    fs = CFG.sample_rate_hz
    rng = np.random.default_rng(26 + ms)
    for at_s in (1.0, 1.37, 1.61, 2.2):  # several phases of the timing window
        a, n = int(at_s * fs), int(ms * 1e-3 * fs)
        mpx[a:a + n] = 0.0 if fill == "silence" else 0.3 * rng.standard_normal(n)
    rx = demodulate(mpx, CFG)
    bps = CFG.bits_per_second
    # The symbol clock must not slip; the carrier may come back a quarter turn off (coherent
    # QPSK: the frame layer resolves the rotation on the next sync word), so each stretch
    # between dropouts is aligned alone.
    lags = [find_lag(bits, rx, int(t * bps))[0] for t in (0.5, 1.2, 1.5, 1.8, 2.5)]
    assert len(set(lags)) == 1, lags
    edges = [SKIP_BITS, int(1.0 * bps), int(1.37 * bps), int(1.61 * bps), int(2.2 * bps), len(rx) - 200]
    errors = sum(bit_errors(bits, rx, a, b)[0] for a, b in zip(edges[:-1], edges[1:]))
    assert errors <= 4 * (ms * 1e-3 * bps + 60)  # the lost bits, a little more, no more


@pytest.mark.parametrize("fill", ["zeros", "noise"])
def test_an_iq_dropout_of_a_few_ms_does_not_slip_the_symbol_clock(fill):
    """The same through the FM front end: a carrier lost for 3-5 ms gives the discriminator
    silence or a burst of loud noise, then a click as it returns."""
    bits = random_bits(114_000, 27)
    iq = 0.7 * FmIqModulator(FmIqModulatorConfig(mpx_rate_hz=228_000, iq_rate_hz=1_200_000)
                             ).process(modulate(bits, CFG).astype(np.float32))
    rng = np.random.default_rng(28)
    noise = lambda n: 0.02 * (rng.standard_normal(n) + 1j * rng.standard_normal(n))  # noqa: E731
    iq = iq + noise(iq.size)
    for at_s, ms in ((1.0, 5), (1.37, 3), (1.61, 5), (2.2, 4)):
        a, n = int(at_s * 1.2e6), int(ms * 1200)
        iq[a:a + n] = 0.0 if fill == "zeros" else noise(n)
    front = FmIqDemodulator()
    cfg = FmSubcarrierConfig(sample_rate_hz=float(front.mpx_rate_hz))
    rx = demodulate(front.process(iq.astype(np.complex64)).astype(np.float64), cfg)
    bps = CFG.bits_per_second
    lags = [find_lag(bits, rx, int(t * bps))[0] for t in (0.5, 1.2, 1.5, 1.8, 2.5)]
    assert len(set(lags)) == 1, lags


def test_corrupt_samples_do_not_poison_the_state():
    bits = random_bits(114_000, 21)
    mpx = modulate(bits, CFG)
    fs = CFG.sample_rate_hz
    rng = np.random.default_rng(22)
    bad = slice(int(1.0 * fs), int(1.05 * fs))
    garbage = rng.standard_normal(bad.stop - bad.start) * 1e30
    garbage[::7], garbage[1::7], garbage[2::7] = np.nan, np.inf, -np.inf
    mpx[bad] = garbage
    rx = demodulate(mpx, CFG)
    errors, n = bit_errors(bits, rx, int(1.3 * CFG.bits_per_second), len(rx) - 200)
    assert errors == 0 and n > 60_000


@pytest.mark.parametrize("rate_hz", [190_000, 240_000, 250_000, 1_200_000, 2_400_000])
def test_other_mpx_rates(rate_hz):
    cfg = FmSubcarrierConfig(sample_rate_hz=rate_hz)
    bits = random_bits(38_000, 11)
    rng = np.random.default_rng(12)
    rx = demodulate(add_noise(modulate(bits, cfg), cfg, 10.0, rng), cfg)
    errors, n = bit_errors(bits, rx, SKIP_BITS, len(rx) - 200)
    assert n > 30_000 and errors / n < 1e-4


def test_output_does_not_depend_on_chunking():
    bits = random_bits(38_000, 13)
    rng = np.random.default_rng(14)
    mpx = add_noise(modulate(bits, CFG), CFG, 7.0, rng).astype(np.float32)
    whole = demodulate(mpx, CFG)
    dem = SubcarrierDemodulator(CFG)
    cuts = np.cumsum(rng.integers(1, 20_000, 200))
    pieces = [dem.process(chunk) for chunk in np.split(mpx, cuts[cuts < len(mpx)])]
    chunked = np.concatenate(pieces + [dem.flush()])
    assert np.array_equal(whole, chunked)


def test_tiny_chunks_match_one_block():
    bits = random_bits(4_000, 15)
    mpx = modulate(bits, CFG)[:30_000]
    whole = demodulate(mpx, CFG)
    dem = SubcarrierDemodulator(CFG)
    rng = np.random.default_rng(16)
    cuts = np.cumsum(rng.integers(1, 8, 10_000))
    pieces = [dem.process(chunk) for chunk in np.split(mpx, cuts[cuts < len(mpx)])]
    assert np.array_equal(whole, np.concatenate(pieces + [dem.flush()]))


@settings(max_examples=15)
@given(st.lists(st.integers(min_value=0, max_value=5_000), min_size=1, max_size=40))
def test_any_chunking_gives_the_same_bits(sizes):
    cuts = np.cumsum(sizes)
    pieces = [_SHORT_DEM.process(c) for c in np.split(_SHORT_MPX, cuts[cuts < len(_SHORT_MPX)])]
    assert np.array_equal(np.concatenate(pieces + [_SHORT_DEM.flush()]), _SHORT_BITS)


_SHORT_MPX = modulate(random_bits(6_000, 23), CFG)
_SHORT_DEM = SubcarrierDemodulator(CFG)
_SHORT_BITS = demodulate(_SHORT_MPX, CFG)


def test_decodes_through_the_programme_simulator_and_channel():
    """Full test MPX of modem/mpxsim.py, +200 ppm, a 50 ms dropout, Eb/N0 8 dB per channel bit."""
    mpxsim = pytest.importorskip("modem.mpxsim")
    channel = pytest.importorskip("modem.channel")
    bits = random_bits(114_000, 24)
    sub = modulate(bits, CFG)
    mpx = sub + mpxsim.simulate_mpx(len(sub), mpxsim.MpxSimConfig()).astype(np.float64)
    ch = channel.ChannelConfig(
        ebn0_db=8.0,
        payload_bit_rate_bps=CFG.bits_per_second,
        signal_power=CFG.injection**2 / 2,
        sample_rate_offset_ppm=200,
        dropouts_s=((1.5, 0.05),),
        seed=3,
    )
    rx = demodulate(channel.apply_to_mpx(mpx, CFG.sample_rate_hz, ch), CFG)
    bps = CFG.bits_per_second
    for start, stop in ((SKIP_BITS, int(1.45 * bps)), (int(1.7 * bps), len(rx) - 500)):
        errors, n = bit_errors(bits, rx, start, stop)
        assert errors / n < theory_ber(7.5)


def test_modulator_output_does_not_depend_on_chunking():
    bits = random_bits(20_001, 17)
    whole = modulate(bits, CFG)
    mod = SubcarrierModulator(CFG)
    rng = np.random.default_rng(18)
    cuts = np.cumsum(rng.integers(0, 300, 400))
    pieces = [mod.process(chunk) for chunk in np.split(bits, cuts[cuts < len(bits)])]
    assert np.array_equal(whole, np.concatenate(pieces + [mod.flush()]).astype(np.float64))


@pytest.mark.parametrize("rate_hz", [192_000, 228_000, 240_000])  # line-in, rtl_fm, I/Q render
def test_spectrum_stays_inside_62_to_90_khz(rate_hz):
    """Outside 62-90 kHz every PSD bin is >= 40 dB below the mean in-band density (measured
    about -52 dB at all three rates)."""
    cfg = FmSubcarrierConfig(sample_rate_hz=float(rate_hz))
    bits = random_bits(76_000, 19)
    mpx = modulate(bits, cfg)
    # ~28 Hz bins at every rate, so the mask's edges are resolved the same way.
    f, psd = signal.welch(mpx, fs=rate_hz, nperseg=round(8192 * rate_hz / 228_000))
    in_band = np.mean(psd[(f >= 64_000) & (f <= 88_000)])
    outside = np.max(psd[(f < 62_000) | (f > 90_000)])
    assert 10 * np.log10(outside / in_band) <= -40.0


def test_injection_sets_the_power_and_stats_report_it():
    cfg = FmSubcarrierConfig(injection=0.05)
    bits = random_bits(38_000, 20)
    mpx = modulate(bits, cfg)
    assert np.sqrt(np.mean(mpx**2)) == pytest.approx(0.05 / np.sqrt(2), rel=0.02)
    dem = SubcarrierDemodulator(cfg)
    dem.process(mpx)
    stats = dem.stats
    assert stats.level == pytest.approx(0.05, rel=0.05)
    assert stats.snr_db > 25
    assert stats.bits == 2 * stats.symbols > 30_000
    assert abs(stats.carrier_offset_hz) < 1.0 and abs(stats.clock_offset_ppm) < 20
    tail = dem.flush()
    assert dem.stats.level == stats.level and dem.stats.bits == stats.bits + len(tail)


def test_last_symbols_sit_on_the_unit_qpsk_constellation():
    """``last_symbols``: the decision points of the last internal block, complex64, normalised
    to (+-1 +-1j) / sqrt 2 (any quarter turn), for the constellation plot."""
    bits = random_bits(76_000, 29)
    dem = SubcarrierDemodulator(CFG)
    dem.process(add_noise(modulate(bits, CFG), CFG, 20.0, np.random.default_rng(30)))
    d = dem.last_symbols
    assert d.dtype == np.complex64 and d.size > 1_000
    rails = np.abs(np.concatenate((d.real, d.imag)))
    assert np.mean(rails) == pytest.approx(1 / np.sqrt(2), abs=0.01)
    assert np.std(rails) < 0.1  # Es/N0 23 dB: the noise's spread, 0.05 a rail
    assert np.mean(np.abs(d) ** 2) == pytest.approx(1.0, abs=0.05)
    dem.reset()
    assert dem.last_symbols.size == 0


@pytest.mark.parametrize("rate_hz", [228_000, 375_000])
def test_llrs_are_float32_whatever_the_input_dtype(rate_hz):
    """The LLR stream is float32 as documented (a float64 scalar in the scaling once made it
    float64: twice the bytes through the frame layer, and its v2 detector's slow path)."""
    cfg = FmSubcarrierConfig(sample_rate_hz=float(rate_hz))
    mpx = modulate(random_bits(40_000, 21), cfg)
    for x in (mpx.astype(np.float32), mpx.astype(np.float64)):
        dem = SubcarrierDemodulator(cfg)
        llr = np.concatenate((dem.process(x), dem.flush()))
        assert llr.dtype == np.float32 and llr.size > 30_000


@pytest.mark.parametrize("rate_hz", [228_000.0, 375_000.0])
def test_symbols_past_the_end_of_the_input_are_erasures(rate_hz):
    """A capture cut in the middle of the signal: every LLR up to the cut is a decision (the
    same as without the cut), those of symbols centred after it are exactly 0, and the
    boundary sits at the cut within a symbol."""
    cfg = dataclasses.replace(CFG, sample_rate_hz=rate_hz)
    bits = random_bits(40_000, 11)
    mpx = modulate(bits, cfg)
    cut = int(0.6 * mpx.size)
    rx = demodulate(mpx[:cut], cfg)
    whole = demodulate(mpx, cfg)
    live = np.flatnonzero(rx != 0)
    last = int(live[-1]) + 1
    assert np.count_nonzero(rx[last:]) == 0 and last < rx.size - 100
    lag, _ = find_lag(bits, rx, SKIP_BITS)
    # The modulator centres symbol i at (i + pulse span) symbol periods.
    symbols_before_cut = cut / rate_hz * cfg.symbol_rate_baud - cfg.pulse_span_symbols
    assert abs((last + lag) / 2 - symbols_before_cut) <= 1.5
    errors, n = bit_errors(bits, rx, SKIP_BITS, last - 40)
    assert errors == 0 and n > 20_000
    assert np.array_equal(np.sign(rx[:last - 40]), np.sign(whole[:last - 40]))
