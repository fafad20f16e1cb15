"""CarouselRenderer: the carousel plan, lengths, determinism, spectrum, programme, bit round trip."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import signal

import framing
from center.air.render import (
    CarouselRenderer,
    RenderConfig,
    render_summary,
)
from crypto import BundleKind
from modem import PROFILES, SubcarrierDemodulator, TxOptions
from modem.txchain import Programme, mpx_rate_for_iq
from modem.fmiq import FmIqDemodulator, FmIqDemodulatorConfig


@dataclass(frozen=True)
class FakeBundle:
    """What the renderer needs of a BuiltBundle."""

    seq: int
    kind: BundleKind
    sealed: bytes


def noisy_bytes(n: int, seed: int) -> bytes:
    """Sealed bundles look random (AES-GCM ciphertext, signatures)."""
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


# 15 100 B = 20 blocks of 760 B minus a little padding; a 2-block roll; N = 22 + 4 = 26 frames.
FULL = FakeBundle(1, BundleKind.FULL, noisy_bytes(15_100, 1))
ROLL = FakeBundle(2, BundleKind.MASTER_ROLL, noisy_bytes(1_500, 2))
LEAD_IN = PROFILES["fm"].lead_in_bits
_TX_KEYS = ("baseband_rate_hz", "iq_rate_hz", "level", "with_programme", "programme_seed")


def config(**kw) -> RenderConfig:
    """A RenderConfig from flat keywords (transmit options and render options together)."""
    tx = TxOptions(**{k: kw.pop(k) for k in _TX_KEYS if k in kw})
    return RenderConfig(tx=tx, **kw)


def decode_mpx(mpx: np.ndarray, renderer: CarouselRenderer, rate_hz: float) -> list[bytes]:
    """MPX -> bits -> frames -> bundles, as a terminal does."""
    dem = SubcarrierDemodulator(replace(PROFILES["fm"].config, sample_rate_hz=float(rate_hz)))
    bits = np.concatenate([dem.process(mpx), dem.flush()])
    frames = framing.FrameSync(renderer.frame_config).process(bits)
    return framing.Reassembler().process(frames)


def render(bundles, **kw) -> tuple[CarouselRenderer, np.ndarray]:
    r = CarouselRenderer("fm", bundles, config(**kw))
    return r, np.concatenate(list(r.blocks()))


def blocks_of(bundle: FakeBundle) -> tuple[int, int]:
    """(K, N) of a bundle on "fm": ceil(bytes / block) source blocks, 10 % repair, at least 2."""
    cfg = framing.frame_config("fm")
    k = -(-len(bundle.sealed) // cfg.block_bytes)
    return k, k + max(cfg.min_repair_blocks, -(-k * 10 // 100))


def test_one_cycle_sends_every_block_exactly_once_with_stream_by_kind() -> None:
    r = CarouselRenderer("fm", [FULL, ROLL])
    (kf, nf), (kr, nr) = blocks_of(FULL), blocks_of(ROLL)
    assert [(p.seq, p.kind, p.stream, p.source_blocks, p.blocks) for p in r.plan] == [
        (1, BundleKind.FULL, 1, kf, nf), (2, BundleKind.MASTER_ROLL, 3, kr, nr)]
    cycle = r.cycle()
    assert len(cycle) == r.cycle_frames == nf + nr
    assert sorted(cycle) == sorted([(1, 1, i) for i in range(nf)] + [(3, 2, i) for i in range(nr)])
    roll_at = [i for i, c in enumerate(cycle) if c[0] == 3]
    assert max(np.diff(roll_at)) <= 8  # the small bundle is spread over the cycle, not bunched


def test_cycle_length_and_stats() -> None:
    r, mpx = render([FULL, ROLL])
    frames = blocks_of(FULL)[1] + blocks_of(ROLL)[1]
    assert mpx.dtype == np.float32
    assert r.stats.frames == frames
    assert r.stats.bits_on_air == LEAD_IN + frames * r.frame_config.frame_bits
    # lead-in + frames at 38 kbit/s, plus the pulse tails (2 x 12 symbols)
    expect = r.stats.bits_on_air / 38_000 * r.chain.baseband_rate_hz
    assert expect <= mpx.size <= expect + 24 * 12 + 1
    assert r.payload_bytes == len(FULL.sealed) + len(ROLL.sealed)
    summary = render_summary(r)
    cycle_s = frames * r.frame_config.frame_bits / 38_000
    assert summary["net_kbit_per_s"] == pytest.approx(8 * 16_600 / cycle_s / 1000, rel=1e-3)


@pytest.mark.parametrize("kw, rate", [
    ({}, 228_000), ({"baseband_rate_hz": 240_000, "iq_rate_hz": 1_200_000}, 1_200_000)])
def test_duration_is_honoured_to_the_sample(kw, rate) -> None:
    r, x = render([FULL], duration_s=1.7, **kw)
    assert x.size == round(1.7 * rate)
    assert x.dtype == (np.complex64 if "iq_rate_hz" in kw else np.float32)


def test_blocks_are_bounded_and_output_is_deterministic() -> None:
    r = CarouselRenderer("fm", [FULL], config(duration_s=6.0, with_programme=True, frames_per_block=2))
    blocks = list(r.blocks())
    per_bit = 228_000 / 38_000
    lead_in = LEAD_IN * per_bit  # rides on the first block
    assert max(b.size for b in blocks) <= 2 * r.frame_config.frame_bits * per_bit + lead_in + 1_000
    again = np.concatenate(list(r.blocks()))
    assert np.array_equal(np.concatenate(blocks), again)


@settings(max_examples=8, deadline=None, derandomize=True)
@given(per_block=st.integers(1, 6), duration=st.floats(0.05, 2.5), programme=st.booleans())
def test_output_does_not_depend_on_block_size(per_block, duration, programme) -> None:
    _, ref = render([FULL, ROLL], duration_s=duration, with_programme=programme)
    _, x = render([FULL, ROLL], duration_s=duration, with_programme=programme,
                  frames_per_block=per_block)
    assert x.size == round(duration * 228_000)
    assert np.array_equal(x, ref)


def test_subcarrier_stays_in_62_to_90_khz() -> None:
    _, mpx = render([FULL], duration_s=3.0)
    f, p = signal.welch(mpx, fs=228_000, nperseg=4096)
    in_band = np.mean(p[(f >= 64_000) & (f <= 88_000)])  # the density in the occupied band
    outside = (f < 62_000) | (f > 90_000)  # the mask: 40 dB below it out there
    assert 10 * np.log10(np.max(p[outside]) / in_band) <= -40
    assert f[np.argmax(p)] == pytest.approx(76_000, abs=13_000)


def test_programme_adds_pilot_and_keeps_the_data_band() -> None:
    _, plain = render([FULL], duration_s=3.0)
    _, full = render([FULL], duration_s=3.0, with_programme=True)
    f, p = signal.welch(full, fs=228_000, nperseg=8192)
    pilot = p[np.argmin(abs(f - 19_000))]
    assert 10 * np.log10(pilot / np.median(p[(f > 16_000) & (f < 18_500)])) > 30
    assert np.max(np.abs(full)) <= 1.0  # within 100 % deviation
    assert np.max(np.abs(plain)) < 0.2


def test_programme_is_chunk_invariant_and_continuous_at_seams() -> None:
    a = Programme(228_000, 0.78, seed=3)
    b = Programme(228_000, 0.78, seed=3)
    whole = a.take(600_000)
    rng = np.random.default_rng(0)
    parts, n = [], 0
    while n < 600_000:
        k = int(min(rng.integers(1, 70_000), 600_000 - n))
        parts.append(b.take(k))
        n += k
    assert np.array_equal(whole, np.concatenate(parts))
    # The pilot continues phase-exact across the 1 s seams: its 19 kHz line is as clean as inside.
    seam = 228_000
    jump = np.max(np.abs(np.diff(whole[seam - 200:seam + 200])))
    inside = np.max(np.abs(np.diff(whole[seam // 2 - 200:seam // 2 + 200])))
    assert jump < 3 * inside


def test_mpx_render_decodes_to_the_sealed_bundles() -> None:
    r, mpx = render([FULL, ROLL], with_programme=True)
    assert sorted(decode_mpx(mpx, r, 228_000)) == sorted([FULL.sealed, ROLL.sealed])


def test_iq_render_decodes_through_the_fm_front_end() -> None:
    r, iq = render([FULL, ROLL], baseband_rate_hz=240_000, iq_rate_hz=1_200_000)
    front = FmIqDemodulator(FmIqDemodulatorConfig(iq_rate_hz=1_200_000))
    mpx = np.concatenate([front.process(iq), front.process(np.zeros(140_000, np.complex64))])
    assert sorted(decode_mpx(mpx, r, front.mpx_rate_hz)) == sorted([FULL.sealed, ROLL.sealed])


# The plaintext header of a real sealed delta (magic, kind 2, seq 2, base 1, times, key ids).
DELTA_HEADER = bytes.fromhex("484342010200000000000000020000000000000001000000006ab13b80000000006ab28d"
                             "0000000001000000010000001d")


def test_every_frame_of_a_small_real_looking_bundle_decodes() -> None:
    tiny = FakeBundle(2, BundleKind.DELTA, DELTA_HEADER + noisy_bytes(161, 3))
    r, mpx = render([FULL, tiny])
    dem = SubcarrierDemodulator(PROFILES["fm"].config)
    bits = np.concatenate([dem.process(mpx), dem.flush()])
    frames = framing.FrameSync(r.frame_config).process(bits)
    assert len(frames) == r.cycle_frames


def test_mpx_rate_for_iq() -> None:
    fm = PROFILES["fm"]
    assert [mpx_rate_for_iq(fm, r) for r in (1_200_000, 2_400_000, 2_048_000, 1_000_000, 240_000)] == [
        240_000, 240_000, 256_000, 250_000, 240_000]
    assert mpx_rate_for_iq(fm, 1_000_003) == 1_000_003  # a prime: rendered at its own rate


@pytest.mark.parametrize("kw", [
    {"baseband_rate_hz": 100_000}, {"baseband_rate_hz": 228_000.5}, {"iq_rate_hz": 3_000_000},
    {"level": 0.0}, {"level": 0.9}, {"duration_s": 0.0}, {"duration_s": float("inf")},
    {"frames_per_block": 0},
])
def test_bad_config_is_refused(kw) -> None:
    with pytest.raises(ValueError):
        CarouselRenderer("fm", [FULL], config(**kw))


def test_bad_profile_and_empty_carousel_are_refused() -> None:
    with pytest.raises(ValueError, match="no-such-profile"):
        CarouselRenderer("no-such-profile", [FULL])
    with pytest.raises(ValueError, match="no bundle"):
        CarouselRenderer("fm", [])
