"""Segmentation, reassembly from any K (+2) blocks, bundles that must not mix, the scheduler."""

import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from framing.carousel import CarouselScheduler, segment
from framing.frameformat import Block, FrameHeader, bundle_digest
from framing.frames import FrameGen
from framing.framesync import FrameSync
from framing.profiles import frame_config
from framing.reassembly import ReassemblyConfig, Reassembler

CFG = frame_config("fm")


def random_bundle(nbytes, seed):
    return np.random.default_rng(seed).integers(0, 256, nbytes, dtype=np.uint8).tobytes()


def test_segment_headers_and_systematic_blocks():
    bundle = random_bundle(10_000, 1)
    blocks = segment(bundle, 3, 99, CFG)
    k = -(-10_000 // 680)
    assert k == 15 and len(blocks) == k + 2  # ceil(15 * 0.1) = 2 repair blocks
    for i, b in enumerate(blocks):
        h = b.header
        assert (h.stream, h.seq, h.block_index, h.k, h.n) == (3, 99, i, k, k + 2)
        assert h.bundle_bytes == 10_000 and h.block_bytes == 680 and len(b.payload) == 680
        assert h.digest == bundle_digest(bundle)
    assert b"".join(b.payload for b in blocks[:k])[:10_000] == bundle


def test_segment_repair_ratio_on_100k():
    blocks = segment(random_bundle(100_000, 2), 0, 1, CFG)
    assert blocks[0].header.k == 148 and len(blocks) == 148 + 15


@pytest.mark.parametrize("bad", [dict(bundle=b""), dict(stream=256), dict(seq=-1), dict(seq=2**64)])
def test_segment_refuses_bad_arguments(bad):
    args = dict(bundle=b"x", stream=0, seq=0)
    args.update(bad)
    with pytest.raises(ValueError):
        segment(args["bundle"], args["stream"], args["seq"], CFG)


@given(st.integers(1, 30_000), st.integers(0, 2**32 - 1))
def test_any_k_plus_2_blocks_rebuild_the_bundle(nbytes, seed):
    bundle = random_bundle(nbytes, seed)
    blocks = segment(bundle, 0, 7, CFG)
    rng = np.random.default_rng(seed)
    k = blocks[0].header.k
    chosen = rng.choice(len(blocks), size=min(k + 2, len(blocks)), replace=False)
    out = Reassembler().process([blocks[i] for i in chosen])
    assert out == [bundle]


def test_fewer_than_k_blocks_never_complete():
    bundle = random_bundle(50_000, 3)
    blocks = segment(bundle, 0, 7, CFG)
    k = blocks[0].header.k
    r = Reassembler()
    assert r.process(blocks[-(k - 1):]) == []
    assert r.pending()[0][1:] == (k - 1, k)


def test_tuning_in_mid_cycle_with_lost_frames_needs_little_more_than_k():
    bundle = random_bundle(100_000, 4)
    blocks = segment(bundle, 0, 7, CFG)
    k = blocks[0].header.k
    rng = np.random.default_rng(4)
    on_air = (blocks * 3)[57:]
    received = [b for b in on_air if rng.random() > 0.2]
    r = Reassembler()
    got = []
    for used, b in enumerate(received, 1):
        got += r.process([b])
        if got:
            break
    assert got == [bundle]
    assert r.stats.blocks_used <= k * 1.05  # margin of at most 5 %


def test_two_bundles_with_the_same_seq_do_not_mix():
    a, b = random_bundle(20_000, 5), random_bundle(20_000, 6)
    blocks_a, blocks_b = segment(a, 0, 42, CFG), segment(b, 0, 42, CFG)
    mixed = [x for pair in zip(blocks_a, blocks_b) for x in pair]
    out = Reassembler().process(mixed)
    assert sorted(out) == sorted([a, b])


def test_forged_block_is_caught_by_the_digest():
    bundle = random_bundle(5_000, 7)
    blocks = segment(bundle, 0, 1, CFG)
    forged = Block(blocks[0].header, bytes(680))
    r = Reassembler()
    assert r.process([forged] + blocks[1:]) == []
    assert r.stats.bundles_bad_digest == 1
    assert r.process(blocks) == [bundle]  # a clean cycle afterwards still works


def test_inconsistent_blocks_are_counted_and_dropped():
    bundle = random_bundle(5_000, 8)
    blocks = segment(bundle, 0, 1, CFG)
    odd = Block(dataclasses.replace(blocks[1].header, n=blocks[1].header.n + 1), blocks[1].payload)
    r = Reassembler()
    assert r.process([blocks[0], odd]) == []
    assert r.stats.blocks_inconsistent == 1
    assert r.process(blocks) == [bundle]


def test_completed_bundle_is_reported_once():
    bundle = random_bundle(3_000, 9)
    blocks = segment(bundle, 0, 1, CFG)
    r = Reassembler()
    assert r.process(blocks + blocks) == [bundle]
    assert r.stats.bundles_completed == 1 and r.stats.blocks_duplicate >= len(blocks)


def test_memory_is_bounded_by_count_and_staleness():
    r = Reassembler(ReassemblyConfig(max_partial_bundles=3, stale_after_blocks=50))
    for seq in range(10):
        r.process(segment(random_bundle(4_000, seq), 0, seq, CFG)[:2])
        assert len(r.pending()) <= 3
    assert r.stats.bundles_evicted == 7
    keep = segment(random_bundle(4_000, 100), 1, 100, CFG)
    r.process(keep[:1] * 60)  # duplicates still advance the block clock
    assert [key[1] for key, _, _ in r.pending()] == [100]


def test_memory_is_bounded_by_bytes():
    r = Reassembler(ReassemblyConfig(max_partial_bytes=10_000))
    for seq in range(4):
        r.process(segment(random_bundle(4_000, seq), 0, seq, CFG)[:1])
    assert sum(1 for _ in r.pending()) == 2
    with pytest.raises(ValueError):
        ReassemblyConfig(max_partial_bundles=0)


def test_scheduler_urgent_goes_on_air_at_the_next_frame():
    full = segment(random_bundle(30_000, 10), 0, 10, CFG)
    delta = segment(random_bundle(1_000, 11), 0, 11, CFG)
    sched = CarouselScheduler(CFG)
    sched.put(full)
    assert sched.next_frames(5) == full[:5]
    sched.put(delta, share=0.5, urgent=True)
    assert sched.next_frames(len(delta)) == delta
    nxt = sched.next_frames(30)
    assert sum(b.header.seq == 11 for b in nxt) == 10  # share 0.5 of 1.5 -> a third of 30
    assert [b for b in nxt if b.header.seq == 10] == full[5:25]


def test_scheduler_shares_remove_and_replace():
    sched = CarouselScheduler(CFG)
    assert sched.next_frames(3) == []
    a = segment(random_bundle(8_000, 12), 0, 1, CFG)
    b = segment(random_bundle(8_000, 13), 1, 1, CFG)
    sched.put(a, share=3.0)
    sched.put(b, share=1.0)
    out = sched.next_frames(400)
    assert sum(x.header.stream == 0 for x in out) == 300
    sched.remove(0, 1)
    assert all(x.header.stream == 1 for x in sched.next_frames(10))
    b2 = segment(random_bundle(8_000, 14), 1, 1, CFG)
    sched.put(b2, urgent=True)
    assert sched.keys() == [(1, 1)]
    assert sched.next_frames(len(b2)) == b2
    with pytest.raises(ValueError):
        sched.put(a + b)
    with pytest.raises(ValueError):
        sched.put(a, share=0)


def test_carousel_over_a_noisy_bit_stream():
    """Scheduler -> frames -> bits with errors, a lost stretch and inversion -> bundles."""
    full, delta = random_bundle(40_000, 15), random_bundle(2_000, 16)
    sched = CarouselScheduler(CFG)
    sched.put(segment(full, 0, 20, CFG))
    blocks = sched.next_frames(10)
    sched.put(segment(delta, 0, 21, CFG), share=0.3, urgent=True)
    blocks += sched.next_frames(90)
    bits = FrameGen(CFG).process(blocks)
    rng = np.random.default_rng(17)
    bits ^= (rng.random(bits.size) < 3e-3).astype(np.uint8)
    cut = 20 * CFG.frame_bits + 1234
    bits = np.concatenate([bits[:cut], bits[cut + 5 * CFG.frame_bits:] ^ 1])  # dropout, then inverted
    sync, reasm = FrameSync(CFG), Reassembler()
    out = []
    for piece in np.array_split(bits, 37):
        out += reasm.process(sync.process(piece))
    assert out == [delta, full]


@pytest.mark.parametrize("changes", [
    dict(block_index=1 << 24),  # another RFC 6330 source block: would abort the Rust decoder
    dict(block_index=10**6), dict(k=1), dict(n=1), dict(bundle_bytes=10**9), dict(block_bytes=8),
])
def test_reassembler_refuses_impossible_headers(changes):
    blocks = segment(random_bundle(3_000, 18), 0, 1, CFG)
    odd = Block(dataclasses.replace(blocks[0].header, **changes), blocks[0].payload)
    r = Reassembler()
    assert r.process([odd]) == []
    assert r.stats.blocks_refused == 1 and r.pending() == []
    assert r.process(blocks) == [random_bundle(3_000, 18)]


@given(st.lists(st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 40), st.integers(0, 40),
                          st.integers(0, 40_000), st.sampled_from([8, 760, 761])),
                min_size=1, max_size=30))
def test_reassembler_never_raises_on_arbitrary_blocks(specs):
    r = Reassembler()
    blocks = []
    for index, k, n, size, block_bytes in specs:
        header = FrameHeader(0, 1, b"\x00" * 8, index, k, n, size, block_bytes)
        blocks.append(Block(header, bytes(block_bytes)))
    r.process(blocks)
    assert r.stats.blocks_in == len(blocks)


def test_completed_bundle_is_delivered_again_after_a_while():
    bundle = random_bundle(3_000, 19)
    blocks = segment(bundle, 0, 1, CFG)
    r = Reassembler(ReassemblyConfig(redeliver_after_blocks=20))
    out = r.process(blocks * 6)  # 6 cycles of 6 blocks
    assert out == [bundle, bundle]
    assert r.stats.bundles_completed == 2


def test_a_3_mb_bundle_from_k_plus_2_of_its_blocks():
    bundle = random_bundle(3_000_000, 20)
    blocks = segment(bundle, 0, 3, CFG)
    k = blocks[0].header.k
    assert k == 4412 and len(blocks) == k + 442
    rng = np.random.default_rng(20)
    chosen = rng.choice(len(blocks), size=k + 2, replace=False)
    assert Reassembler().process([blocks[i] for i in chosen]) == [bundle]
