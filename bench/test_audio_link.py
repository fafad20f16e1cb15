"""Benchmarks of profiles `audio` and `audio-robust`: net payload rate, frame error rate per
impairment and against SNR, receive speed on one core.

Run: PYTHONPATH=$PWD /work/main/.venv/bin/python -m pytest bench/test_audio_link.py --benchmark-only -q -s
(``-m "slow or not slow"`` adds the long FER runs; ``hotcast bench`` runs them all).

Net rate = raw x frame efficiency / (1 + repair ratio): the framing preset's block bytes per
frame bit (sync word, LDPC parity, header and CRCs) and the carousel's repair blocks.
FER: real frames (``tests/modem/link_frames.py``: the profile's framing preset, LDPC decoding,
CRCs) through the channel simulator, counted after tune-in (the frames of the first second,
three for audio-robust, are reported apart as ``tune_in_lost``). Each figure goes to
``extra_info`` (``hotcast bench``) and is printed.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

import framing
import modem
from framing.framesync import FrameSync
from modem import InputKind, TxChain, codec
from modem.impairments import AudioChannelConfig, apply_audio_channel
from tests.modem.link_frames import frame_loss

NEEDS_FFMPEG = pytest.mark.skipif(codec.ffmpeg_path() is None, reason="ffmpeg is not installed")
TUNE_IN_S = {"audio": 1.0, "audio-robust": 3.0}
RATED_SNR_DB = {"audio": 20, "audio-robust": 3}
BAND = {"audio": (100.0, 12_000.0), "audio-robust": (300.0, 3_000.0)}
TARGET_NET = {"audio": 12_000, "audio-robust": 1_200}
SPEED_TARGET = {"audio": 100.0}  # x real time on one core at 48 kHz (issue 9)


def net_rate(profile: str) -> tuple[float, float, float]:
    """(raw bit/s, frame efficiency, net payload bit/s) of a profile's presets."""
    raw = modem.modem_profile(profile).config.bits_per_second
    cfg = framing.frame_config(profile)
    return raw, cfg.efficiency, raw * cfg.efficiency / (1 + cfg.repair_ratio)


@pytest.mark.parametrize("profile", ["audio", "audio-robust"])
def test_net_payload_rate(benchmark, profile):
    """Timed: the transmit chain on one frame's bits."""
    raw, eff, net = net_rate(profile)
    bits = np.random.default_rng(1).integers(0, 2, framing.frame_config(profile).frame_bits).astype(np.uint8)
    benchmark(lambda: TxChain(modem.modem_profile(profile)).process(bits))
    benchmark.extra_info.update(raw_bit_s=round(raw), frame_efficiency=round(eff, 4), net_bit_s=round(net))
    print(f"\n{profile}: raw {raw:.0f} bit/s x efficiency {eff:.3f} / 1.1 = net {net:.0f} bit/s")
    assert net >= TARGET_NET[profile]



A, R = BAND["audio"], BAND["audio-robust"]
CASES = {
    "audio": {
        "band 100-12k": AudioChannelConfig(band_hz=A),
        "clock +300 ppm +-30 drift": AudioChannelConfig(ppm=300, drift_ppm=30, drift_period_s=10),
        "clock -300 ppm +-30 drift": AudioChannelConfig(ppm=-300, drift_ppm=30, drift_period_s=10),
        "noise 20 dB": AudioChannelConfig(snr_db=20, snr_band_hz=A, seed=3),
        "level -30 dBFS": AudioChannelConfig(level_dbfs=-30, soft_clip=True),
        "level 0 dBFS soft clip": AudioChannelConfig(level_dbfs=0, soft_clip=True),
        "resample 48-44.1-48k": AudioChannelConfig(resample_44k1=True),
        "mp3 128k": AudioChannelConfig(codec=codec.MP3_128),
        "all together": AudioChannelConfig(codec=codec.MP3_128, resample_44k1=True, band_hz=A, snr_db=20,
                                           snr_band_hz=A, level_dbfs=0, soft_clip=True, ppm=300, drift_ppm=30,
                                           drift_period_s=10, seed=4),
    },
    "audio-robust": {
        "band 300-3k": AudioChannelConfig(band_hz=R),
        "clock +300 ppm +-30 drift": AudioChannelConfig(ppm=300, drift_ppm=30, drift_period_s=10),
        "clock -300 ppm": AudioChannelConfig(ppm=-300),
        "noise 3 dB in band": AudioChannelConfig(band_hz=R, snr_db=3, snr_band_hz=R, seed=6),
        "opus 24k": AudioChannelConfig(codec=codec.OPUS_24),
        "all together +300 ppm": AudioChannelConfig(codec=codec.OPUS_24, band_hz=R, snr_db=3, snr_band_hz=R,
                                                    ppm=300, drift_ppm=30, drift_period_s=10, seed=7),
        "all together -300 ppm": AudioChannelConfig(codec=codec.OPUS_24, band_hz=R, snr_db=3, snr_band_hz=R,
                                                    ppm=-300, seed=8),
    },
}
FRAMES = {"audio": 300, "audio-robust": 150}  # 49 s and 160 s of signal


def _fer_params():
    for profile, cases in CASES.items():
        for name, channel in cases.items():
            marks = [pytest.mark.slow] if profile == "audio-robust" or channel.codec is not None else []
            if channel.codec is not None:
                marks.append(NEEDS_FFMPEG)
            yield pytest.param(profile, name, marks=marks, id=f"{profile}:{name}")


@pytest.mark.parametrize("profile,case", list(_fer_params()))
def test_fer_per_impairment(benchmark, profile, case):
    loss = benchmark.pedantic(lambda: frame_loss(profile, CASES[profile][case], FRAMES[profile], seed=5,
                                                 tune_in_s=TUNE_IN_S[profile]), rounds=1, iterations=1)
    benchmark.extra_info.update(frames=loss.frames, lost=len(loss.lost), fer=loss.fer,
                                tune_in_lost=loss.tune_in_lost)
    print(f"\n{profile} {case}: FER {loss.fer:.4f} ({len(loss.lost)} of {loss.frames} frames, "
          f"{loss.tune_in_lost} lost at tune-in)")
    assert loss.fer <= 1e-2, loss


SNRS_DB = (-3, 0, 3, 6, 10, 15, 20, 25, 30)


@pytest.mark.slow
@pytest.mark.parametrize("profile,frames", [("audio", 100), ("audio-robust", 40)])
def test_fer_against_snr(benchmark, profile, frames):
    """White noise in the profile's band (no other impairment), -3 to 30 dB."""
    band = BAND[profile]

    def sweep():
        return {snr: frame_loss(profile, AudioChannelConfig(snr_db=snr, snr_band_hz=band, seed=100 + snr), frames,
                                seed=snr + 10, tune_in_s=TUNE_IN_S[profile]) for snr in SNRS_DB}

    losses = benchmark.pedantic(sweep, rounds=1, iterations=1)
    print(f"\n{profile}: FER against SNR in {band[0]:.0f}-{band[1]:.0f} Hz ({frames} frames a point)")
    for snr, loss in losses.items():
        benchmark.extra_info[f"fer_{snr}dB"] = loss.fer
        print(f"  {snr:3d} dB: FER {loss.fer:.3f} ({len(loss.lost)} of {loss.frames})")
    assert all(loss.fer <= 1e-2 for snr, loss in losses.items() if snr >= RATED_SNR_DB[profile])
    assert losses[-3].fer > 0.5  # the table spans the cliff


@pytest.mark.parametrize("profile", ["audio", "audio-robust"])
def test_receive_speed(benchmark, profile):
    """60 s of signal at 48 kHz (25 dB SNR, +100 ppm) through the receive chain (demodulator)
    and frame sync (LDPC decoding, CRCs): x real time on one core (CPU time, best of 3)."""
    entry, cfg = modem.modem_profile(profile), framing.frame_config(profile)
    bits = np.random.default_rng(1).integers(0, 2, int(entry.config.bits_per_second * 60)).astype(np.uint8)
    tx = TxChain(entry)
    x = apply_audio_channel(np.concatenate((tx.process(bits), tx.flush())), 48_000.0,
                            AudioChannelConfig(snr_db=25, snr_band_hz=BAND[profile], ppm=100, seed=1))
    seconds = len(x) / 48_000
    best = {"chain": float("inf"), "with_frames": float("inf")}

    def run():
        t0 = time.process_time()
        rx = modem.RxChain(entry, InputKind.BASEBAND, 48_000)
        llr = np.concatenate((rx.process(x), rx.flush()))
        t1 = time.process_time()
        FrameSync(cfg).process(llr)
        t2 = time.process_time()
        best["chain"] = min(best["chain"], t1 - t0)
        best["with_frames"] = min(best["with_frames"], t2 - t0)

    benchmark.pedantic(run, rounds=3, iterations=1)
    speed = {k: seconds / v for k, v in best.items()}
    benchmark.extra_info.update(x_real_time=round(speed["with_frames"], 1),
                                x_real_time_demodulator=round(speed["chain"], 1))
    print(f"\n{profile}: receive {speed['with_frames']:.0f}x real time with frame sync, "
          f"{speed['chain']:.0f}x the demodulator alone (one core, best of 3)")
    if profile in SPEED_TARGET:
        assert speed["with_frames"] >= SPEED_TARGET[profile]
