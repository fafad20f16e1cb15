"""LiveCarousel: urgent deltas at the next frame boundary, replacement, expiry, idle slots,
chunk independence, and equality with the fixed render when nothing changes."""

from __future__ import annotations

from crypto import BundleKind

from dataclasses import dataclass, replace

import numpy as np
import pytest

import framing
from center.air.live import LiveCarousel
from center.air.render import CarouselRenderer, RenderConfig
from modem import SubcarrierDemodulator, TxOptions

NOW = 1_790_000_000
DAY = 86_400
FULL_STREAM, DELTA_STREAM, MASTER_ROLL_STREAM = 1, 2, 3


@dataclass(frozen=True)
class FakeBundle:
    """What the live carousel needs of a BuiltBundle."""

    seq: int
    kind: BundleKind
    sealed: bytes
    created_at: int = NOW
    valid_until: int = NOW + DAY


def noisy_bytes(n: int, seed: int) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


FULL = FakeBundle(1, BundleKind.FULL, noisy_bytes(6_000, 1))  # 8 source + 2 repair blocks
DELTA = FakeBundle(2, BundleKind.DELTA, noisy_bytes(900, 2), created_at=NOW + 5)  # 2 + 2 blocks
FULL2 = FakeBundle(3, BundleKind.FULL, noisy_bytes(3_000, 3), created_at=NOW + 9)  # 4 + 2 blocks
ROLL = FakeBundle(4, BundleKind.MASTER_ROLL, noisy_bytes(400, 4))  # 1 + 2 blocks


def run_live(changes: dict[int, tuple[list, int]], frames: int, chunk: int,
             config: RenderConfig = RenderConfig()) -> tuple[LiveCarousel, list]:
    """Run ``frames`` frames in chunks of ``chunk``; ``changes[frame] = (bundles, now)`` is
    applied just before that frame. Returns the carousel and its blocks."""
    live = LiveCarousel("fm", config)
    out = []
    while live.next_frame < frames:
        if live.next_frame in changes:
            live.update(*changes[live.next_frame])
        out.append(live.process(min(chunk, frames - live.next_frame)))
    return live, out


def slots(blocks) -> list:
    return [s for b in blocks for s in b.slots]


def events(blocks) -> list:
    return [e for b in blocks for e in b.events]


def test_urgent_delta_goes_on_air_at_the_next_frame_boundary() -> None:
    live, blocks = run_live({0: ([FULL], NOW), 5: ([FULL, DELTA], NOW + 6)}, 12, chunk=1)
    air = slots(blocks)
    assert [s[:2] for s in air[:5]] == [(FULL_STREAM, 1)] * 5
    # frame 5 is the first frame after the change: all 4 delta blocks, back to back
    assert air[5:9] == [(DELTA_STREAM, 2, i) for i in range(4)]
    on = [e for e in events(blocks) if e.seq == 2]
    assert [(e.event, e.at_frame, e.urgent) for e in on] == [("on_air", 5, True)]
    assert on[0].at_s == pytest.approx((4_000 + 5 * live.frame_config.frame_bits) / 38_000)
    assert on[0].to_json() == {"event": "on_air", "seq": 2, "kind": "delta", "at_frame": 5,
                               "at_s": round(on[0].at_s, 6), "urgent": True}
    # then the delta joins the round-robin with its share: full 10 : delta 4
    assert live.on_air() == [(1, BundleKind.FULL), (2, BundleKind.DELTA)]


def test_urgent_delta_decodes_from_the_samples() -> None:
    live, blocks = run_live({0: ([FULL], NOW), 2: ([FULL, DELTA], NOW + 6)}, 6, chunk=2)
    mpx = np.concatenate([b.samples for b in blocks] + [live.flush()])
    dem = SubcarrierDemodulator(live.modem_profile.config)
    bits = np.concatenate([dem.process(mpx), dem.flush()])
    frames = framing.FrameSync(live.frame_config).process(bits)
    assert [(f.block.header.stream, f.block.header.seq) for f in frames][2:6] == [(DELTA_STREAM, 2)] * 4
    assert framing.Reassembler().process(frames) == [DELTA.sealed]


def test_a_roll_is_urgent_but_a_new_full_is_not() -> None:
    changes = {0: ([FULL, DELTA], NOW), 4: ([FULL, DELTA, ROLL], NOW), 10: ([FULL2, ROLL], NOW + 9)}
    live, blocks = run_live(changes, 30, chunk=2)
    air = slots(blocks)
    assert air[4:7] == [(MASTER_ROLL_STREAM, 4, i) for i in range(3)]
    ev = [(e.event, e.seq, e.at_frame, e.why) for e in events(blocks) if e.at_frame >= 10]
    assert ("off_air", 1, 10, "superseded") in ev and ("off_air", 2, 10, "superseded") in ev
    full2 = [e for e in events(blocks) if e.seq == 3]
    assert len(full2) == 1 and full2[0].event == "on_air" and not full2[0].urgent
    assert all(s[1] in (3, 4) for s in air[10:])
    assert live.on_air() == [(3, BundleKind.FULL), (4, BundleKind.MASTER_ROLL)]


def test_initial_bundles_join_the_round_robin_not_urgent() -> None:
    _, blocks = run_live({0: ([FULL, DELTA], NOW)}, 14, chunk=7)
    assert all(not e.urgent for e in events(blocks))
    assert sorted(slots(blocks)) == sorted([(1, 1, i) for i in range(10)] + [(2, 2, i) for i in range(4)])


def test_expired_bundles_leave_and_empty_slots_are_idle() -> None:
    short = replace(DELTA, valid_until=NOW + 10)
    live = LiveCarousel("fm")
    live.update([FULL, short], NOW)
    first = live.process(2)
    live.expire(NOW + 11)
    assert live.on_air() == [(1, BundleKind.FULL)]
    live.update([replace(FULL, valid_until=NOW + 20)], NOW + 21)  # the full expired too
    block = live.process(3)
    assert [(e.event, e.seq, e.why) for e in block.events] == [
        ("off_air", 2, "expired"), ("off_air", 1, "expired")]
    assert block.idle == 3 and block.slots == (None, None, None)
    assert block.samples.size == pytest.approx(3 * live.frame_config.frame_bits * 6, abs=1)  # 6 samples a bit at 228 kHz
    assert first.idle == 0 and live.stats.idle_frames == 3


@pytest.mark.parametrize("config", [RenderConfig(),
                                    RenderConfig(tx=TxOptions(with_programme=True))])
def test_output_does_not_depend_on_chunking(config) -> None:
    changes = {0: ([FULL], NOW), 6: ([FULL, DELTA], NOW), 12: ([FULL2], NOW)}
    results = []
    for chunk in (1, 2, 3, 6):
        live, blocks = run_live(changes, 18, chunk, config)
        mpx = np.concatenate([b.samples for b in blocks] + [live.flush()])
        results.append((mpx, slots(blocks), [e.to_json() for e in events(blocks)]))
    for mpx, air, ev in results[1:]:
        np.testing.assert_array_equal(mpx, results[0][0])
        assert air == results[0][1] and ev == results[0][2]


def test_unchanged_live_carousel_equals_the_fixed_render() -> None:
    renderer = CarouselRenderer("fm", [FULL, DELTA])
    rendered = np.concatenate(list(renderer.blocks()))
    live, blocks = run_live({0: ([FULL, DELTA], NOW)}, renderer.cycle_frames, chunk=5)
    mpx = np.concatenate([b.samples for b in blocks] + [live.flush()])
    np.testing.assert_array_equal(mpx, rendered)
    assert [s for s in slots(blocks)] == renderer.cycle()


def test_iq_output_and_misuse() -> None:
    live = LiveCarousel("fm", RenderConfig(tx=TxOptions(baseband_rate_hz=240_000,
                                                        iq_rate_hz=1_200_000)))
    live.update([FULL], NOW)
    block = live.process(1)
    assert block.samples.dtype == np.complex64
    assert block.samples.size == pytest.approx((4_000 + live.frame_config.frame_bits) / 38_000 * 1_200_000, rel=0.01)
    with pytest.raises(ValueError, match="frames"):
        live.process(0)
    with pytest.raises(ValueError, match="profile"):
        LiveCarousel("no-such-profile")
    assert "LiveCarousel('fm'" in repr(live)
