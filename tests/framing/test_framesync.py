"""FrameSync on bit streams: noise, bursts, polarity, chunking, garbage and absurd headers."""

import dataclasses

import numpy as np
import pytest

from framing.carousel import segment
from framing.frameformat import Block
from framing.frames import FrameGen
from framing.framesync import FrameStats, FrameSync
from framing.profiles import frame_config

CFG = frame_config("fm")


def stream_of(nbytes=8000, seed=0, seq=5):
    rng = np.random.default_rng(seed)
    bundle = rng.integers(0, 256, nbytes, dtype=np.uint8).tobytes()
    blocks = segment(bundle, 1, seq, CFG)
    return bundle, blocks, FrameGen(CFG).process(blocks)


def run(bits, chunks=None):
    sync = FrameSync(CFG)
    if chunks is None:
        return sync.process(bits), sync.stats
    frames = []
    for piece in np.split(bits, chunks):
        frames += sync.process(piece)
    return frames, sync.stats


def blocks_of(frames):
    return [f.block for f in frames]


def test_clean_round_trip():
    _, blocks, bits = stream_of()
    frames, stats = run(bits)
    assert blocks_of(frames) == blocks
    assert [f.start_bit for f in frames] == [i * CFG.frame_bits for i in range(len(blocks))]
    assert stats.payloads_ok == len(blocks) and stats.payloads_corrected == 0
    assert stats.headers_bad == 0 and stats.bits_in == bits.size


def test_inverted_stream_after_garbage():
    _, blocks, bits = stream_of()
    rng = np.random.default_rng(1)
    noisy = np.concatenate([rng.integers(0, 2, 3001, dtype=np.uint8), bits ^ 1])
    frames, stats = run(noisy)
    assert blocks_of(frames) == blocks
    assert all(f.inverted for f in frames)
    assert frames[0].start_bit == 3001
    assert stats.frames_inverted == len(blocks)


@pytest.mark.parametrize("ber", [1e-3, 1e-2])
def test_random_bit_errors(ber):
    _, blocks, bits = stream_of(seed=2)
    rng = np.random.default_rng(int(ber * 1e4))
    noisy = bits ^ (rng.random(bits.size) < ber).astype(np.uint8)
    frames, stats = run(noisy)
    assert blocks_of(frames) == blocks
    assert stats.payloads_corrected > 0 and stats.payloads_bad == 0


def test_bursts_of_3ms_in_every_frame_including_the_sync_word():
    _, blocks, bits = stream_of(seed=3)
    rng = np.random.default_rng(3)
    noisy = bits.copy()
    burst = 114  # 3 ms at 38 kbit/s
    for i in range(len(blocks)):
        # frame 3's burst covers its sync word: the flywheel must still take it
        start = i * CFG.frame_bits + (10 if i == 3 else int(rng.integers(64, CFG.frame_bits - burst)))
        noisy[start:start + burst] = rng.integers(0, 2, burst, dtype=np.uint8)
    frames, stats = run(noisy)
    assert blocks_of(frames) == blocks


def test_lost_frames_are_skipped():
    _, blocks, bits = stream_of(seed=4)
    fb = CFG.frame_bits
    keep = [i for i in range(len(blocks)) if i % 4 != 1]
    cut = np.concatenate([bits[i * fb:(i + 1) * fb] for i in keep])
    frames, _ = run(cut)
    assert blocks_of(frames) == [blocks[i] for i in keep]


def test_output_independent_of_chunking():
    _, blocks, bits = stream_of(seed=5)
    rng = np.random.default_rng(5)
    noisy = np.concatenate([rng.integers(0, 2, 777, dtype=np.uint8), bits])
    noisy ^= (rng.random(noisy.size) < 5e-3).astype(np.uint8)
    noisy[4000:4100] ^= 1
    whole, whole_stats = run(noisy)
    for trial in range(4):
        cuts = np.sort(rng.choice(noisy.size, size=int(rng.integers(1, 60)), replace=False))
        parts, part_stats = run(noisy, cuts)
        assert parts == whole
        assert part_stats == whole_stats


def test_tiny_chunks_match_one_block():
    _, blocks, bits = stream_of(nbytes=1500, seed=6)
    stream = np.concatenate([bits[:2 * CFG.frame_bits] ^ 1, bits[2 * CFG.frame_bits:]])
    whole, whole_stats = run(stream)
    sizes = np.random.default_rng(6).integers(1, 40, stream.size)
    cuts = np.cumsum(sizes)
    parts, part_stats = run(stream, cuts[cuts < stream.size])
    assert parts == whole and part_stats == whole_stats and len(whole) == len(blocks)


def test_absurd_header_with_valid_crc_is_counted_and_dropped():
    _, blocks, _ = stream_of(seed=7)
    bad = Block(dataclasses.replace(blocks[0].header, k=9, n=3), blocks[0].payload)
    bits = FrameGen(CFG).process([blocks[0], bad, blocks[1]])
    frames, stats = run(bits)
    assert blocks_of(frames) == [blocks[0], blocks[1]]
    assert stats.headers_absurd == 1


def test_noise_and_silence_give_no_frames():
    rng = np.random.default_rng(8)
    frames, stats = run(rng.integers(0, 2, 300_000, dtype=np.uint8))
    assert frames == [] and stats.headers_ok == 0
    frames, stats = run(np.zeros(100_000, dtype=np.uint8))
    assert frames == [] and stats.headers_ok == 0 and stats.bits_in == 100_000


def test_memory_stays_bounded_and_reset_clears():
    sync = FrameSync(CFG)
    rng = np.random.default_rng(9)
    for _ in range(20):
        sync.process(rng.integers(0, 2, 50_000, dtype=np.uint8))
        assert sync._buf.size <= CFG.frame_bits
    sync.reset()
    assert sync.stats == FrameStats() and sync._buf.size == 0
    assert "FrameSync(FrameConfig(" in repr(sync)


def test_refuses_2d_and_soft_input():
    with pytest.raises(ValueError):
        FrameSync(CFG).process(np.zeros((2, 2), dtype=np.uint8))
    with pytest.raises(TypeError):
        FrameSync(CFG).process(np.zeros(5, dtype=np.float32))
    assert FrameSync(CFG).process(np.zeros(5, dtype=bool)) == []


@pytest.mark.parametrize("flips,found", [(0, True), (8, True), (12, False)])
def test_sync_word_bit_errors_before_lock(flips, found):
    _, blocks, bits = stream_of(nbytes=700, seed=10)
    noisy = np.concatenate([np.random.default_rng(10).integers(0, 2, 500, dtype=np.uint8), bits])
    where = np.random.default_rng(flips).choice(64, flips, replace=False)
    noisy[500 + where] ^= 1
    frames, _ = run(noisy)
    assert (blocks_of(frames)[:1] == blocks[:1]) is found
    assert blocks_of(frames)[-1] == blocks[-1]  # the next frame is found either way


def test_ber_estimate_from_sync_words_and_rs_corrections():
    _, blocks, bits = stream_of(nbytes=20_000, seed=11)
    rng = np.random.default_rng(11)
    noisy = bits ^ (rng.random(bits.size) < 0.01).astype(np.uint8)
    frames, stats = run(noisy ^ 1)
    assert len(frames) == len(blocks)
    assert stats.sync_bits_checked == 64 * len(blocks)
    assert 0.002 < stats.ber_estimate < 0.03
    assert stats.bytes_corrected > 0
    assert FrameStats().ber_estimate is None


@pytest.mark.parametrize("tail", ["random", "zeros"])
def test_end_of_transmission_is_lock_lost_not_a_bad_frame(tail):
    """After the last frame the flywheel tries the next position; with no sync word there it
    is the signal ending, not a frame lost."""
    _, blocks, bits = stream_of(seed=10)
    rng = np.random.default_rng(10)
    after = (rng.integers(0, 2, 2 * CFG.frame_bits, dtype=np.uint8) if tail == "random"
             else np.zeros(2 * CFG.frame_bits, dtype=np.uint8))
    frames, stats = run(np.concatenate((bits, after)))
    assert blocks_of(frames) == blocks
    assert (stats.headers_bad, stats.lock_lost) == (0, 1)


def test_frame_with_its_sync_word_but_a_ruined_header_is_bad():
    _, blocks, bits = stream_of(seed=11)
    fb = CFG.frame_bits
    ruined = bits.copy()
    rng = np.random.default_rng(11)
    ruined[fb + 64:2 * fb] = rng.integers(0, 2, fb - 64, dtype=np.uint8)  # frame 1 after its sync
    frames, stats = run(ruined)
    assert blocks_of(frames) == [blocks[0]] + blocks[2:]
    assert (stats.headers_bad, stats.lock_lost) == (1, 0)
