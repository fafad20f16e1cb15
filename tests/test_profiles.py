"""The profile table: twin entries in modem and framing, one seeded loopback over every profile
(payload -> transmit chain -> channel -> receive chain -> frames -> bundle), and proof that a
new profile needs entries in the two preset tables and nowhere else."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

import numpy as np
import pytest

import framing
import framing.profiles
import modem
import modem.profiles
from center.air.render import CarouselRenderer, RenderConfig
from crypto import BundleKind
from framing.frames import FrameGen
from framing.framesync import FrameSync
from modem import InputKind, TxChain, TxOptions
from modem.impairments import AudioChannelConfig, IrChannelConfig, apply_audio_channel, apply_ir_channel
from receiver.events import BundleReceived
from receiver.radio.pipeline import PipelineConfig, ReceivePipeline


def test_modem_and_framing_know_the_same_profiles() -> None:
    assert list(modem.PROFILES) == list(framing.profiles.PROFILES)
    assert set(modem.profile_names()) == {"fm", "fm-robust", "audio", "audio-robust", "ir"}


def _channel(name: str, x: np.ndarray, rate: float | None, seed: int) -> np.ndarray:
    """Each profile's own weakness at a level it must survive (seeded)."""
    if name in ("fm", "fm-robust"):
        noise = np.random.default_rng(seed).normal(0, 0.01, x.size).astype(np.float32)
        return x + noise  # the subcarrier at 10 % injection: ~17 dB in its band
    if name == "audio":
        return apply_audio_channel(x, rate, AudioChannelConfig(
            snr_db=25.0, band_hz=(100.0, 12_000.0), ppm=150.0, seed=seed))
    if name == "audio-robust":
        return apply_audio_channel(x, rate, AudioChannelConfig(
            snr_db=8.0, snr_band_hz=(300.0, 3_000.0), band_hz=(300.0, 3_000.0), ppm=-200.0,
            seed=seed))
    return apply_ir_channel(x, IrChannelConfig(jitter_us=60.0, stretch_us=(20.0, 60.0),
                                               drop_fraction=0.005, seed=seed))


@pytest.mark.parametrize("name", ["fm", "fm-robust", "audio", "audio-robust", "ir"])
def test_a_seeded_loopback_over_every_profile(name: str) -> None:
    entry, cfg = modem.modem_profile(name), framing.frame_config(name)
    rng = np.random.default_rng(7)
    bundle = rng.integers(0, 256, 2_500, dtype=np.uint8).tobytes()
    blocks = framing.segment(bundle, 1, 1, cfg)
    lead = rng.integers(0, 2, entry.lead_in_bits, dtype=np.uint8)
    bits = np.concatenate([lead, FrameGen(cfg).process(blocks + blocks)])
    tx = TxChain(entry)
    x = _channel(name, np.concatenate([tx.process(bits), tx.flush()]), tx.output_rate_hz, 3)
    kind = InputKind.PULSES if tx.pulses else InputKind.BASEBAND
    rx = modem.RxChain(entry, kind, tx.output_rate_hz or 1e6)
    frames = FrameSync(cfg).process(np.concatenate([rx.process(x), rx.flush()]))
    assert framing.Reassembler().process(frames) == [bundle]


def _test_profile() -> tuple[modem.ModemProfile, framing.FrameConfig]:
    """A sixth profile made of table entries only: the fm waveform moved to 67 kHz at a lower
    symbol rate, with its own frame geometry."""
    fm = modem.modem_profile("fm")
    config = dataclasses.replace(fm.config, carrier_hz=67_000.0, symbol_rate_baud=9_500.0)
    entry = dataclasses.replace(
        fm, name="fm-test", summary="a test profile", config=config,
        band_hz=(config.carrier_hz - config.bandwidth_hz / 2,
                 config.carrier_hz + config.bandwidth_hz / 2))
    frame = dataclasses.replace(framing.frame_config("fm"), codewords_per_frame=2, block_bytes=304,
                                max_bundle_bytes=8 * 2**20)
    return entry, frame


def test_a_new_profile_needs_entries_only_in_the_two_preset_tables(monkeypatch) -> None:
    entry, frame = _test_profile()
    monkeypatch.setattr(modem.profiles, "PROFILES",
                        MappingProxyType({**modem.profiles.PROFILES, "fm-test": entry}))
    monkeypatch.setattr(framing.profiles, "PROFILES",
                        MappingProxyType({**framing.profiles.PROFILES, "fm-test": frame}))

    @dataclasses.dataclass(frozen=True)
    class Item:
        kind: BundleKind
        seq: int
        sealed: bytes

    sealed = np.random.default_rng(9).integers(0, 256, 1_800, dtype=np.uint8).tobytes()
    renderer = CarouselRenderer("fm-test", [Item(BundleKind.FULL, 1, sealed)],
                                RenderConfig(tx=TxOptions(baseband_rate_hz=192_000)))
    mpx = np.concatenate(list(renderer.blocks()))
    pipeline = ReceivePipeline(PipelineConfig("fm-test", InputKind.BASEBAND, 192_000))
    events = pipeline.process(mpx) + pipeline.finish()
    assert [e.data for e in events if isinstance(e, BundleReceived)] == [sealed]
    from receiver.radio.pipeline_config import receive_profiles

    assert "fm-test" in [p["name"] for p in receive_profiles()]
