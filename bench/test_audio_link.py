"""Benchmarks of profiles `audio` and `audio-robust`: net rate, FER per impairment and against
SNR (LDPC stand-in of bench/test_audio_ldpc_standin.py), demodulator speed on one core.

Run: PYTHONPATH=. .venv/bin/python -m pytest bench/test_audio_link.py -q -s -p no:cacheprovider
Net rate = raw x R x (1 - 64 / 1944) / 1.1: an LDPC of rate R, a 64-bit sync word per
1944-bit frame, 10 % carousel repair blocks. FER: frames of 1944 bits decoded by min-sum BP
(coset decoding of the sent bits), the first frame (acquisition) left out; the uncoded
column is the pessimistic bound (frames with no raw error at all).
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from bench.test_audio_ldpc_standin import frame_error_rate
from modem import codec
from modem.audio import AUDIO, AUDIO_ROBUST, AudioDemodulator, AudioModulator
from modem.impairments import AudioChannelConfig, apply_audio_channel

SYNC_BITS, FRAME_BITS, REPAIR = 64, 1944, 0.10
# Code rates recommended per profile (measured below): `audio` survives every impairment at 3/4;
# `audio-robust` needs 0.4 at 3 dB SNR (1/2 is at the edge of FER 1e-2 there).
RATE = {"audio": 0.75, "audio-robust": 0.4}
NEEDS_FFMPEG = pytest.mark.skipif(codec.ffmpeg_path() is None, reason="ffmpeg is not installed")


def net_rate(raw: float, rate: float) -> float:
    return raw * rate * (1 - SYNC_BITS / FRAME_BITS) / (1 + REPAIR)


def link(cfg, channel, seconds, seed=5):
    bits = np.random.default_rng(seed).integers(0, 2, int(cfg.bits_per_second * seconds)).astype(np.uint8)
    mod = AudioModulator(cfg)
    x = np.concatenate((np.zeros(3_000, np.float32), mod.process(bits), mod.flush()))
    dem = AudioDemodulator(cfg)
    llr = np.concatenate((dem.process(apply_audio_channel(x, cfg.sample_rate_hz, channel)), dem.flush()))
    n = min(len(llr), len(bits))
    return llr[FRAME_BITS:n], bits[FRAME_BITS:n], dem.stats


def test_net_rates():
    for name, cfg in (("audio", AUDIO), ("audio-robust", AUDIO_ROBUST)):
        print(f"\n{name}: raw {cfg.bits_per_second:.0f} bit/s, net at R={RATE[name]:.2f}: "
              f"{net_rate(cfg.bits_per_second, RATE[name]):.0f} bit/s")
    assert net_rate(AUDIO.bits_per_second, RATE["audio"]) >= 12_000
    assert net_rate(AUDIO_ROBUST.bits_per_second, RATE["audio-robust"]) >= 1_200


BAND = (100.0, 12_000.0)
AUDIO_CASES = {
    "band 100-12k": AudioChannelConfig(band_hz=BAND),
    "clock +300 ppm +-30 drift": AudioChannelConfig(ppm=300, drift_ppm=30, drift_period_s=10),
    "clock -300 ppm +-30 drift": AudioChannelConfig(ppm=-300, drift_ppm=30, drift_period_s=10),
    "noise 20 dB": AudioChannelConfig(snr_db=20, seed=3),
    "level -30 dBFS": AudioChannelConfig(level_dbfs=-30, soft_clip=True),
    "level 0 dBFS tanh": AudioChannelConfig(level_dbfs=0, soft_clip=True),
    "resample 44.1k": AudioChannelConfig(resample_44k1=True),
    "mp3 128k": AudioChannelConfig(codec=codec.MP3_128),
    "all together": AudioChannelConfig(codec=codec.MP3_128, resample_44k1=True, band_hz=BAND, snr_db=20,
                                       level_dbfs=0, soft_clip=True, ppm=300, drift_ppm=30, drift_period_s=10, seed=4),
}
ROBUST_BAND = (300.0, 3_000.0)
ROBUST_CASES = {
    "band 300-3k +300 ppm": AudioChannelConfig(band_hz=ROBUST_BAND, ppm=300, drift_ppm=30),
    "noise 3 dB (band, -300 ppm)": AudioChannelConfig(band_hz=ROBUST_BAND, snr_db=3, snr_band_hz=ROBUST_BAND,
                                                      ppm=-300, seed=6),
    "opus 24k (band, +300 ppm)": AudioChannelConfig(codec=codec.OPUS_24, band_hz=ROBUST_BAND, ppm=300),
}


def _fer_rows(cfg, cases, seconds, rates):
    rows = []
    for name, channel in cases.items():
        if channel.codec is not None and codec.ffmpeg_path() is None:
            continue
        llr, bits, stats = link(cfg, channel, seconds)
        fers = {r: frame_error_rate(llr, bits, r) for r in rates}
        ber = float(np.mean((llr < 0) != bits.astype(bool)))
        rows.append((name, ber, stats.snr_db, fers))
        print(f"  {name:30s} BER {ber:8.2e}  SNR {stats.snr_db:5.1f} dB  " +
              "  ".join(f"R={r:.2f}: FER {f.fer:.4f} ({f.frames} fr, uncoded {f.fer_uncoded:.2f})" for r, f in fers.items()),
              flush=True)
    return rows


def test_audio_fer_per_impairment():
    print("\naudio, 20 s per case:")
    rows = _fer_rows(AUDIO, AUDIO_CASES, 20, (0.5, 2 / 3, 0.75))
    for name, _, _, fers in rows:
        assert fers[RATE["audio"]].fer <= 1e-2, name


def test_robust_fer_per_impairment():
    print("\naudio-robust, 120 s per case:")
    rows = _fer_rows(AUDIO_ROBUST, ROBUST_CASES, 120, (0.4, 0.5))
    for name, _, _, fers in rows:
        assert fers[RATE["audio-robust"]].fer <= 1e-2, name


@pytest.mark.parametrize("name,cfg,seconds", [("audio", AUDIO, 6), ("audio-robust", AUDIO_ROBUST, 40)])
def test_fer_against_snr(name, cfg, seconds):
    band = BAND if cfg is AUDIO else ROBUST_BAND
    print(f"\n{name}: FER against SNR in {band[0]:.0f}-{band[1]:.0f} Hz (white noise), R = {RATE[name]}")
    fer = {}
    for snr in (-3, 0, 3, 6, 10, 15, 20, 25, 30):
        llr, bits, stats = link(cfg, AudioChannelConfig(snr_db=snr, snr_band_hz=band, seed=snr + 100), seconds)
        r = frame_error_rate(llr, bits, RATE[name])
        fer[snr] = r.fer
        print(f"  {snr:3d} dB: BER {np.mean((llr < 0) != bits.astype(bool)):8.2e}  FER {r.fer:.3f} ({r.frames} frames)"
              f"  est. SNR {stats.snr_db:5.1f} dB", flush=True)
    rated = 20 if cfg is AUDIO else 3
    assert all(fer[s] <= 2e-2 for s in fer if s >= rated)
    assert fer[-3] > 0.5  # the table spans the cliff


@pytest.mark.parametrize("name,cfg", [("audio", AUDIO), ("audio-robust", AUDIO_ROBUST)])
def test_demodulator_speed(name, cfg):
    seconds = 60
    bits = np.random.default_rng(1).integers(0, 2, int(cfg.bits_per_second * seconds)).astype(np.uint8)
    mod = AudioModulator(cfg)
    x = apply_audio_channel(np.concatenate((mod.process(bits), mod.flush())), cfg.sample_rate_hz,
                            AudioChannelConfig(snr_db=25, ppm=100, seed=1))
    best = float("inf")
    for _ in range(3):
        t0 = time.process_time()
        dem = AudioDemodulator(cfg)
        llr = np.concatenate((dem.process(x), dem.flush()))
        best = min(best, time.process_time() - t0)
    speed = len(x) / cfg.sample_rate_hz / best
    print(f"\n{name} demodulator: {speed:.0f}x real time, {len(llr) / best / 1e6:.2f} Mbit/CPU-s (best of 3)")
    if cfg is AUDIO:
        assert speed >= 100
