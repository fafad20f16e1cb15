"""Real codec round trips through ffmpeg (skipped with the reason when ffmpeg is missing):
`audio` through MP3 128 kbit/s (alone and with every other impairment), `audio-robust` through
Opus 24 kbit/s, alone and (frames) with every other impairment of its rating."""

from __future__ import annotations

import numpy as np
import pytest

from modem import codec
from modem.audio import AUDIO, AUDIO_ROBUST, AudioDemodulator, AudioModulator
from modem.impairments import AudioChannelConfig, apply_audio_channel
from tests.modem.link_frames import frame_loss

pytestmark = pytest.mark.skipif(codec.ffmpeg_path() is None,
                                reason="ffmpeg is not installed (apt-get install ffmpeg): codec round trips need it")


def run(cfg, channel, seconds, seed=1):
    bits = np.random.default_rng(seed).integers(0, 2, int(cfg.bits_per_second * seconds)).astype(np.uint8)
    mod = AudioModulator(cfg)
    x = np.concatenate((np.zeros(3_000, np.float32), mod.process(bits), mod.flush()))
    dem = AudioDemodulator(cfg)
    y = apply_audio_channel(x, cfg.sample_rate_hz, channel)
    llr = np.concatenate((dem.process(y), dem.flush()))
    n = min(len(llr), len(bits))
    assert n > 0.95 * len(bits)
    return float(np.mean((llr[:n] < 0) != bits[:n].astype(bool))), dem.stats


def test_round_trip_keeps_a_tone():
    x = (0.3 * np.sin(2 * np.pi * 1_000 * np.arange(48_000) / 48_000)).astype(np.float32)
    for cfg in (codec.MP3_128, codec.OPUS_24):
        y = codec.round_trip(x, 48_000, cfg)
        assert abs(len(y) - len(x)) < 3_000
        assert np.std(y[5_000:40_000]) == pytest.approx(np.std(x), rel=0.1)
    with pytest.raises(ValueError):
        codec.round_trip(x, 44_000, codec.OPUS_24)


def test_audio_through_mp3_128():
    error, stats = run(AUDIO, AudioChannelConfig(codec=codec.MP3_128), 4)
    assert error < 1e-3 and stats.snr_db > 17


def test_audio_through_everything_together():
    channel = AudioChannelConfig(codec=codec.MP3_128, resample_44k1=True, band_hz=(100.0, 12_000.0), snr_db=20,
                                 level_dbfs=0, soft_clip=True, ppm=300, drift_ppm=30, seed=2)
    error, stats = run(AUDIO, channel, 4)
    assert error < 0.04 and stats.acquisitions == 1


def test_robust_through_opus_24():
    channel = AudioChannelConfig(codec=codec.OPUS_24, band_hz=(300.0, 3_000.0), ppm=-300)
    error, stats = run(AUDIO_ROBUST, channel, 12)
    assert error < 0.04


# audio-robust's rated channel, everything at once: 300 Hz-3 kHz, a sender clock 300 ppm off
# (with a slow drift), white noise at 3 dB SNR in that band, Opus at 24 kbit/s.
ROBUST_BAND = (300.0, 3_000.0)


def robust_all(ppm, seed):
    return AudioChannelConfig(codec=codec.OPUS_24, band_hz=ROBUST_BAND, snr_db=3, snr_band_hz=ROBUST_BAND,
                              ppm=ppm, drift_ppm=30 if ppm > 0 else 0, seed=seed)


def test_robust_frames_through_everything_together():
    """The fast variant: 10 frames (11 s of signal), none lost after tune-in."""
    loss = frame_loss("audio-robust", robust_all(300, 6), 10, tune_in_s=3.0)
    assert loss.frames >= 7 and loss.lost == ()


@pytest.mark.slow
@pytest.mark.parametrize("ppm,seed", [(300, 7), (-300, 8)])
def test_robust_frame_error_rate_through_everything_together(ppm, seed):
    """FER <= 1e-2 over ~200 frames (3.6 min of signal) after tune-in, each clock direction."""
    loss = frame_loss("audio-robust", robust_all(ppm, seed), 200, tune_in_s=3.0)
    assert loss.fer <= 1e-2, loss
    assert loss.tune_in_lost <= 3
