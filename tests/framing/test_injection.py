"""Injected frames on the carousel: an attacker with a transmitter sends frames with valid CRCs,
made-up digests, absurd K, N and sizes, in 10 % and 30 % of the airtime. The genuine bundles
still complete, the reassembly state stays bounded, and no library exception escapes."""

from __future__ import annotations

import numpy as np
import pytest

from framing import AnnouncedBundle, Block, FrameHeader, Reassembler, ReassemblyConfig, segment
from framing.frameformat import bundle_digest
from framing.frames import FrameGen
from framing.framesync import FrameSync
from framing.profiles import frame_config

CFG = frame_config("fm")
GENUINE = np.random.default_rng(1).integers(0, 256, 1_500_000, dtype=np.uint8).tobytes()


def announce_of(bundle: bytes, stream: int = 1, seq: int = 7) -> list[AnnouncedBundle]:
    return [AnnouncedBundle(stream, seq, bundle_digest(bundle), len(bundle))]


def forged_blocks(count: int, rng: np.random.Generator, repeats: int = 1) -> list[Block]:
    """Blocks that pass every header check a frame gets: valid sizes for the profile, K
    matching the claimed length, a made-up digest; ``repeats`` blocks per made-up bundle (an
    attacker trying to build up progress)."""
    out = []
    while len(out) < count:
        size = int(rng.integers(1, 4_000_000))
        k = -(-size // CFG.block_bytes)
        digest = rng.integers(0, 256, 8, dtype=np.uint8).tobytes()
        seq = int(rng.integers(0, 2**32))
        for _ in range(repeats):
            index = int(rng.integers(0, k + 2))
            header = FrameHeader(1, seq, digest, index, k, k + 2, size, CFG.block_bytes)
            out.append(Block(header, rng.integers(0, 256, CFG.block_bytes, dtype=np.uint8).tobytes()))
    return out[:count]


def interleave(genuine: list[Block], forged: list[Block], rng) -> list[Block]:
    items = genuine + forged
    order = rng.permutation(len(items))
    # keep the genuine blocks in carousel order, spread the forged ones among them
    slots = sorted(order[:len(genuine)])
    out: list[Block | None] = [None] * len(items)
    for pos, block in zip(slots, genuine):
        out[pos] = block
    rest = iter(forged)
    return [b if b is not None else next(rest) for b in out]


@pytest.mark.parametrize("share, repeats", [(0.10, 1), (0.30, 1), (0.30, 3)])
def test_injected_frames_do_not_stop_an_announced_bundle(share, repeats):
    rng = np.random.default_rng(int(share * 100) + repeats)
    genuine = segment(GENUINE, 1, 7, CFG)
    forged = forged_blocks(int(len(genuine) * share / (1 - share)), rng, repeats)
    r = Reassembler()
    r.announce(announce_of(GENUINE))
    done = r.process(interleave(genuine, forged, rng))
    assert done == [GENUINE]
    assert r.stats.bundles_evicted + r.stats.blocks_strangers_dropped > 0  # strangers went
    assert len(r.pending()) <= r.config.max_partial_bundles


def test_one_block_strangers_cannot_evict_progress_even_without_an_announcement():
    """Before any announcement (a receiver without keys), strangers of one block replace each
    other, never a bundle that has gathered blocks."""
    rng = np.random.default_rng(3)
    genuine = segment(GENUINE, 1, 7, CFG)
    forged = forged_blocks(int(len(genuine) * 0.3 / 0.7), rng, repeats=1)
    r = Reassembler()
    assert r.process(interleave(genuine, forged, rng)) == [GENUINE]


def test_strangers_building_up_progress_are_held_to_their_pool():
    """With an announcement heard, made-up bundles that gather several blocks each can fill
    only the stranger pool; the announced bundle keeps its room."""
    rng = np.random.default_rng(4)
    genuine = segment(GENUINE, 1, 7, CFG)
    forged = forged_blocks(len(genuine), rng, repeats=4)  # 50 % of the air
    r = Reassembler(ReassemblyConfig(max_stranger_bundles=3))
    r.announce(announce_of(GENUINE))
    assert r.process(interleave(genuine, forged, rng)) == [GENUINE]
    strangers = [key for key, _, _ in r.pending() if key[2] != bundle_digest(GENUINE)]
    assert len(strangers) <= 3


def test_a_stranger_named_later_by_an_announcement_keeps_its_blocks():
    blocks = segment(GENUINE[:50_000], 2, 9, CFG)
    r = Reassembler()
    r.announce(announce_of(b"another bundle", 1, 1))
    assert r.process(blocks[:5]) == []
    r.announce(announce_of(GENUINE[:50_000], 2, 9))
    assert r.process(blocks[5:]) == [GENUINE[:50_000]]


def test_an_announced_bundle_with_another_length_is_not_gathered():
    blocks = segment(GENUINE[:50_000], 2, 9, CFG)
    r = Reassembler()
    r.announce([AnnouncedBundle(2, 9, bundle_digest(GENUINE[:50_000]), 40_000)])
    assert r.process(blocks) == []
    assert r.stats.blocks_inconsistent == len(blocks)


@pytest.mark.parametrize("block_bytes", [13, 8, 0, 7, 65_535])
def test_block_sizes_the_erasure_library_would_panic_on_are_refused(block_bytes):
    """A block size that is not a multiple of 8 made the RaptorQ library panic (a Rust panic:
    a BaseException) and would have ended a listening receiver."""
    r = Reassembler()
    size = 1_000
    k = -(-size // max(block_bytes, 1))
    header = FrameHeader(1, 1, b"\x01" * 8, 0, k, k + 2, size, block_bytes)
    assert r.process([Block(header, bytes(block_bytes))]) == []
    assert r.stats.blocks_refused + r.stats.library_errors + r.stats.blocks_used >= 1


def test_frames_with_valid_crcs_and_absurd_headers_are_dropped_by_frame_sync():
    """The same attack one layer down: forged frames on the bit stream, with absurd K, N and
    sizes, cost a counter each and the genuine frames still come through."""
    rng = np.random.default_rng(5)
    small = GENUINE[:30_000]
    genuine = segment(small, 1, 7, CFG)
    absurd = []
    for i in range(len(genuine) // 3):
        header = FrameHeader(1, 9, rng.integers(0, 256, 8, dtype=np.uint8).tobytes(),
                             2**24 + i, 2**31, 2**31 + 5, 2**32 - 1, CFG.block_bytes)
        absurd.append(Block(header, bytes(CFG.block_bytes)))
    gen = FrameGen(CFG)
    bits = gen.process(interleave(genuine, absurd, rng))
    sync = FrameSync(CFG)
    frames = sync.process(bits)
    assert sync.stats.headers_absurd == len(absurd)
    r = Reassembler()
    assert r.process(frames) == [small]
