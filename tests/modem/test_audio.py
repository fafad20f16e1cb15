"""Profiles `audio` and `audio-robust`: configs, clean identity, chunk invariance, each channel
impairment at its stated level (seeded), bad input. Codec round trips: test_audio_codec.py."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modem.audio import AUDIO, AUDIO_ROBUST, AudioConfig, AudioDemodulator, AudioModulator
from modem.impairments import AudioChannelConfig, apply_audio_channel

LEAD = 3_000  # samples of silence before the signal: the receiver must find the start


def modulate(bits, cfg, lead=LEAD):
    mod = AudioModulator(cfg)
    return np.concatenate((np.zeros(lead, np.float32), mod.process(bits), mod.flush()))


def demodulate(x, cfg):
    dem = AudioDemodulator(cfg)
    return np.concatenate((dem.process(x), dem.flush())), dem.stats


def bits_for(cfg, seconds, seed=1):
    return np.random.default_rng(seed).integers(0, 2, int(cfg.bits_per_second * seconds)).astype(np.uint8)


def ber(llr, bits):
    n = min(len(llr), len(bits))
    assert n >= 0.95 * len(bits), f"only {n} of {len(bits)} bits came out"
    return float(np.mean((llr[:n] < 0) != bits[:n].astype(bool)))


def test_preset_rates_are_the_derived_ones():
    assert AUDIO.bits_per_second == pytest.approx(36_250.0)
    assert AUDIO_ROBUST.bits_per_second == pytest.approx(94 * 48_000 / 1_088 * 7 / 8)
    assert AUDIO.carriers[0] * AUDIO.carrier_spacing_hz == pytest.approx(562.5)
    assert AUDIO_ROBUST.carriers[-1] * AUDIO_ROBUST.carrier_spacing_hz <= 3_000


@pytest.mark.parametrize("field,value", [("fft_size", 100), ("cyclic_prefix_samples", 0),
                                         ("band_high_hz", 30_000.0), ("bits_per_carrier", 3),
                                         ("period_symbols", 1), ("level_dbfs", 3.0), ("timing_gain", 0.0)])
def test_bad_config_names_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        AudioConfig(**{field: value})


def test_misuse_raises_at_construction_or_on_wrong_types():
    with pytest.raises(TypeError):
        AudioModulator("audio")
    with pytest.raises(TypeError):
        AudioDemodulator().process(np.zeros((2, 2)))
    with pytest.raises(ValueError):
        AudioModulator().process(np.array([0, 2], dtype=np.uint8))


def test_modulator_level_and_full_scale():
    x = AudioModulator(AUDIO).process(bits_for(AUDIO, 2))
    rms_dbfs = 10 * np.log10(2 * np.mean(x.astype(np.float64) ** 2))
    assert rms_dbfs == pytest.approx(AUDIO.level_dbfs, abs=0.3)
    assert np.max(np.abs(x)) <= 1.0 and x.dtype == np.float32


@settings(max_examples=6)
@given(n_bits=st.integers(1, 4_000), seed=st.integers(0, 2**16), robust=st.booleans())
def test_clean_identity(n_bits, seed, robust):
    cfg = AUDIO_ROBUST if robust else AUDIO
    bits = np.random.default_rng(seed).integers(0, 2, n_bits).astype(np.uint8)
    llr, _ = demodulate(modulate(bits, cfg), cfg)
    assert len(llr) >= n_bits
    assert np.array_equal(llr[:n_bits] < 0, bits.astype(bool))


def test_modulator_chunk_invariant():
    bits = bits_for(AUDIO, 0.5)
    whole = np.concatenate((AudioModulator(AUDIO).process(bits), AudioModulator(AUDIO).flush()))
    mod = AudioModulator(AUDIO)
    cuts = np.sort(np.random.default_rng(2).integers(0, len(bits), 40))
    parts = [mod.process(c) for c in np.split(bits, cuts)] + [mod.flush()]
    ref = AudioModulator(AUDIO)
    ref_out = np.concatenate((ref.process(bits), ref.flush()))
    assert np.array_equal(np.concatenate(parts), ref_out)
    assert len(whole) < len(ref_out)  # flush of a fresh modulator is empty


@pytest.mark.parametrize("cfg", [AUDIO, AUDIO_ROBUST], ids=["audio", "robust"])
def test_demodulator_chunk_invariant(cfg):
    bits = bits_for(cfg, 1.0)
    x = apply_audio_channel(modulate(bits, cfg), cfg.sample_rate_hz,
                            AudioChannelConfig(snr_db=15, ppm=150, seed=3))
    whole, _ = demodulate(x, cfg)
    dem = AudioDemodulator(cfg)
    cuts = np.sort(np.random.default_rng(4).integers(0, len(x), 60))
    parts = [dem.process(c) for c in np.split(x, cuts)] + [dem.flush()]
    assert np.array_equal(np.concatenate(parts), whole)


def test_demodulator_one_sample_at_a_time():
    cfg = AUDIO
    x = modulate(bits_for(cfg, 0.25), cfg, lead=500)
    whole, _ = demodulate(x, cfg)
    dem = AudioDemodulator(cfg)
    parts = [dem.process(x[i : i + 1]) for i in range(len(x))] + [dem.flush()]
    assert np.array_equal(np.concatenate(parts), whole)


AUDIO_CHANNELS = {
    "band_100_12k": (AudioChannelConfig(band_hz=(100.0, 12_000.0)), 0.0),
    "clock_+300ppm_drift": (AudioChannelConfig(ppm=300, drift_ppm=30, drift_period_s=4), 0.0),
    "clock_-300ppm_drift": (AudioChannelConfig(ppm=-300, drift_ppm=30, drift_period_s=4), 0.0),
    "noise_20dB": (AudioChannelConfig(snr_db=20, seed=5), 1e-4),
    "level_-30dBFS": (AudioChannelConfig(level_dbfs=-30, soft_clip=True), 0.0),
    "level_0dBFS_soft_clip": (AudioChannelConfig(level_dbfs=0, soft_clip=True), 0.02),
    "resample_44k1": (AudioChannelConfig(resample_44k1=True), 0.0),
    "all_but_codec": (AudioChannelConfig(resample_44k1=True, band_hz=(100.0, 12_000.0), snr_db=20, level_dbfs=0,
                                         soft_clip=True, ppm=-300, drift_ppm=30, seed=6), 0.03),
}


@pytest.mark.parametrize("name", AUDIO_CHANNELS)
def test_audio_survives(name):
    channel, max_ber = AUDIO_CHANNELS[name]
    bits = bits_for(AUDIO, 3)
    llr, stats = demodulate(apply_audio_channel(modulate(bits, AUDIO), 48_000.0, channel), AUDIO)
    assert ber(llr, bits) <= max_ber
    assert stats.acquisitions == 1 and stats.trainings_missed == 0


ROBUST_CHANNELS = {
    "band_300_3k_+300ppm": (AudioChannelConfig(band_hz=(300.0, 3_000.0), ppm=300, drift_ppm=30), 0.0),
    "noise_3dB_in_band": (AudioChannelConfig(band_hz=(300.0, 3_000.0), snr_db=3, snr_band_hz=(300.0, 3_000.0),
                                             ppm=-300, seed=7), 0.12),
}


@pytest.mark.parametrize("name", ROBUST_CHANNELS)
def test_robust_survives(name):
    channel, max_ber = ROBUST_CHANNELS[name]
    bits = bits_for(AUDIO_ROBUST, 12)
    llr, _ = demodulate(apply_audio_channel(modulate(bits, AUDIO_ROBUST), 48_000.0, channel), AUDIO_ROBUST)
    assert ber(llr, bits) <= max_ber


def test_clock_offset_is_reported():
    bits = bits_for(AUDIO, 3)
    # A receiver clock 300 ppm fast sees the sender 300 ppm slow.
    _, stats = demodulate(apply_audio_channel(modulate(bits, AUDIO), 48_000.0, AudioChannelConfig(ppm=300)), AUDIO)
    assert stats.clock_offset_ppm == pytest.approx(-300, abs=15)
    assert stats.level == pytest.approx(AUDIO.level_dbfs, abs=1.0)


def test_llrs_are_calibrated_at_low_snr():
    bits = bits_for(AUDIO_ROBUST, 20)
    x = apply_audio_channel(modulate(bits, AUDIO_ROBUST), 48_000.0,
                            AudioChannelConfig(snr_db=3, snr_band_hz=(300.0, 3_000.0), seed=8))
    llr, stats = demodulate(x, AUDIO_ROBUST)
    llr, sent = llr[2_000 : len(bits)], bits[2_000:]
    wrong = (llr < 0) != sent.astype(bool)
    a = np.abs(llr)
    for lo, hi in [(0.5, 1.5), (1.5, 3.0), (3.0, 5.0)]:
        m = (a >= lo) & (a < hi)
        predicted = float(np.mean(1 / (1 + np.exp(a[m]))))
        measured = float(np.mean(wrong[m]))
        assert predicted / 3 < measured < predicted * 1.5, (lo, hi, measured, predicted)
    assert -1.0 < stats.snr_db < 6.0


def test_keeps_lock_through_silence_and_relocks_on_a_new_transmission():
    cfg = AUDIO
    a, b = bits_for(cfg, 1.0, seed=10), bits_for(cfg, 1.0, seed=11)
    x = np.concatenate((modulate(a, cfg), np.zeros(30_011, np.float32), modulate(b, cfg, lead=0)))
    llr, stats = demodulate(x, cfg)
    hard = llr < 0
    # Both transmissions come out whole, in order, with (near-)erasures between them.
    assert np.array_equal(hard[: len(a)], a.astype(bool))
    step = cfg.bits_per_symbol
    starts = [i for i in range(0, len(hard) - len(b) + 1, step) if np.array_equal(hard[i : i + 500], b[:500])]
    assert len(starts) == 1 and np.array_equal(hard[starts[0] : starts[0] + len(b)], b.astype(bool))
    assert stats.acquisitions == 2
    gap = llr[len(a) + cfg.bits_per_period : len(a) + 3 * cfg.bits_per_period]
    assert np.mean(np.abs(gap)) < 1.0  # silence gives erasures, not confident garbage


def test_receiver_starting_mid_stream():
    cfg = AUDIO
    bits = bits_for(cfg, 2.0)
    x = modulate(bits, cfg)[40_123:]
    llr, stats = demodulate(x, cfg)
    hard = (llr < 0).astype(np.uint8)
    probe = hard[:2_000]
    starts = [i for i in range(0, len(bits) - 2_000, cfg.bits_per_symbol) if np.array_equal(bits[i : i + 2_000], probe)]
    assert len(starts) == 1
    lag = starts[0]
    n = min(len(hard), len(bits) - lag)
    assert np.array_equal(hard[:n], bits[lag : lag + n])


@pytest.mark.parametrize("kind", ["silence", "hum_50", "hum_60", "noise", "nan"])
def test_bad_input_gives_no_confident_bits(kind):
    n = 5 * 48_000
    t = np.arange(n) / 48_000
    x = {"silence": np.zeros(n), "hum_50": 0.5 * np.sin(2 * np.pi * 50 * t),
         "hum_60": 0.5 * np.sin(2 * np.pi * 60 * t) + 0.1 * np.sin(2 * np.pi * 180 * t),
         "noise": np.random.default_rng(1).standard_normal(n) * 0.2,
         "nan": np.full(n, np.nan)}[kind].astype(np.float32)
    for cfg in (AUDIO, AUDIO_ROBUST):
        llr, stats = demodulate(x, cfg)
        assert len(llr) == 0 or np.mean(np.abs(llr)) < 1.0
        if kind == "nan":
            assert stats.bad_samples == n


@pytest.mark.parametrize("sent,heard", [(AUDIO_ROBUST, AUDIO), (AUDIO, AUDIO_ROBUST)], ids=["robust-as-audio",
                                                                                           "audio-as-robust"])
def test_other_profile_gives_low_confidence(sent, heard):
    llr, stats = demodulate(modulate(bits_for(sent, 4), sent), heard)
    assert len(llr) == 0 or np.mean(np.abs(llr)) < 1.0


def test_clipped_samples_are_counted():
    x = modulate(bits_for(AUDIO, 0.5), AUDIO) * 8
    _, stats = demodulate(np.clip(x, -1, 1), AUDIO)
    assert stats.clipped_samples > 100


def test_repr_shows_config():
    assert "AudioConfig" in repr(AudioDemodulator(AUDIO)) and "fft_size=256" in repr(AudioModulator(AUDIO))
    assert dataclasses.is_dataclass(AudioDemodulator().stats)
