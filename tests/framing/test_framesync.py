"""FrameSync on soft and hard streams: noise, rotations, bursts, chunking, garbage, bad input,
old frame versions."""

import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from framing.carousel import segment
from framing.frameformat import FRAME_BITS_V2, SYNC_BITS_V2, Block
from framing.frames import FrameGen
from framing.framesync import FrameStats, FrameSync, as_llr
from framing.v2detect import _STEP_TO_V2_BITS, _V2_MAX_ERRORS, V2Detector
from framing.profiles import frame_config

CFG = frame_config("fm")


def stream_of(nbytes=8000, seed=0, seq=5, cfg=CFG):
    rng = np.random.default_rng(seed)
    bundle = rng.integers(0, 256, nbytes, dtype=np.uint8).tobytes()
    blocks = segment(bundle, 1, seq, cfg)
    return bundle, blocks, FrameGen(cfg).process(blocks)


def qpsk_llr(bits, esn0_db, rng, rotation=0):
    """Bits as Gray QPSK symbols, rotated by quarter turns, through white noise -> LLRs."""
    s = ((1 - 2.0 * bits[0::2]) + 1j * (1 - 2.0 * bits[1::2])) / np.sqrt(2) * 1j**rotation
    sigma = np.sqrt(1 / (2 * 10 ** (esn0_db / 10)))
    r = s + sigma * (rng.standard_normal(s.size) + 1j * rng.standard_normal(s.size))
    out = np.empty(bits.size, dtype=np.float32)
    out[0::2], out[1::2] = r.real, r.imag
    return out * np.float32(np.sqrt(2) / sigma**2)


def run(x, chunks=None, cfg=CFG):
    sync = FrameSync(cfg)
    if chunks is None:
        return sync.process(x), sync.stats
    frames = []
    for piece in np.split(x, chunks):
        frames += sync.process(piece)
    return frames, sync.stats


def blocks_of(frames):
    return [f.block for f in frames]


def test_clean_round_trip_of_hard_bits():
    _, blocks, bits = stream_of()
    frames, stats = run(bits)
    assert blocks_of(frames) == blocks
    assert [f.start_bit for f in frames] == [i * CFG.frame_bits for i in range(len(blocks))]
    assert stats.payloads_ok == len(blocks) and stats.payloads_corrected == 0
    assert stats.headers_bad == 0 and stats.bits_in == bits.size
    assert stats.decoder_iterations == 0 and stats.ber_estimate == 0.0


@pytest.mark.parametrize("rotation", [0, 1, 2, 3])
def test_every_rotation_after_garbage(rotation):
    _, blocks, bits = stream_of(seed=1)
    rng = np.random.default_rng(1)
    llr = np.concatenate([rng.standard_normal(3000).astype(np.float32),
                          qpsk_llr(bits, 7.0, rng, rotation)])
    frames, stats = run(llr)
    assert blocks_of(frames) == blocks
    assert all(f.rotation == rotation for f in frames) and frames[0].start_bit == 3000
    assert stats.frames_rotated == (len(blocks) if rotation else 0)
    assert stats.frames_inverted == (len(blocks) if rotation == 2 else 0)


@pytest.mark.parametrize("profile,esn0_db", [("fm", 5.5), ("fm-robust", 2.5)])
def test_soft_noise_near_threshold(profile, esn0_db):
    cfg = frame_config(profile)
    _, blocks, bits = stream_of(nbytes=12_000, seed=2, cfg=cfg)
    rng = np.random.default_rng(2)
    frames, stats = run(qpsk_llr(bits, esn0_db, rng, 3), cfg=cfg)
    assert blocks_of(frames) == blocks
    assert stats.payloads_corrected == len(blocks) and stats.decoder_failures == 0
    assert 0.02 < stats.ber_estimate < 0.15


def test_bursts_of_3ms_in_every_frame_including_the_sync_word():
    _, blocks, bits = stream_of(seed=3)
    rng = np.random.default_rng(3)
    llr = qpsk_llr(bits, 8.0, rng)
    burst = 114  # 3 ms at 38 kbit/s
    for i in range(len(blocks)):
        start = i * CFG.frame_bits + (10 if i == 3 else int(rng.integers(64, CFG.frame_bits - burst)))
        llr[start:start + burst] = 5 * rng.standard_normal(burst)  # confident garbage
    frames, _ = run(llr)
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
    llr = np.concatenate([rng.standard_normal(778).astype(np.float32), qpsk_llr(bits, 6.0, rng, 1)])
    llr[4000:4040] *= -1
    whole, whole_stats = run(llr)
    assert len(whole) == len(blocks)
    for _ in range(3):
        cuts = np.sort(rng.choice(llr.size, size=int(rng.integers(1, 60)), replace=False))
        parts, part_stats = run(llr, cuts)
        assert parts == whole and part_stats == whole_stats


def test_one_llr_at_a_time_matches_one_block():
    _, blocks, bits = stream_of(nbytes=700, seed=6)
    llr = qpsk_llr(bits, 7.0, np.random.default_rng(6), 2)[:2 * CFG.frame_bits + 100]
    whole, whole_stats = run(llr)
    sync = FrameSync(CFG)
    ones = [f for x in llr for f in sync.process(np.array([x]))]
    assert ones == whole and sync.stats == whole_stats and len(whole) == 2


def test_absurd_header_with_valid_crc_is_counted_and_dropped():
    _, blocks, _ = stream_of(seed=7)
    bad = Block(dataclasses.replace(blocks[0].header, k=9, n=3), blocks[0].payload)
    frames, stats = run(FrameGen(CFG).process([blocks[0], bad, blocks[1]]))
    assert blocks_of(frames) == [blocks[0], blocks[1]]
    assert stats.headers_absurd == 1


@pytest.mark.parametrize("kind", ["noise", "zeros", "nan", "inf", "hard-noise", "hard-zeros"])
def test_noise_silence_and_nonsense_give_no_frames(kind):
    rng = np.random.default_rng(8)
    x = {"noise": rng.standard_normal(200_000).astype(np.float32) * 3,
         "zeros": np.zeros(100_000, dtype=np.float32),
         "nan": np.full(50_000, np.nan, dtype=np.float32),
         "inf": np.where(rng.random(50_000) < 0.5, np.inf, -np.inf).astype(np.float32),
         "hard-noise": rng.integers(0, 2, 200_000, dtype=np.uint8),
         "hard-zeros": np.zeros(100_000, dtype=np.uint8)}[kind]
    frames, stats = run(x)
    assert frames == [] and stats.headers_ok == 0 and stats.bits_in == x.size
    # false sync hits stay rare: P(rho > 0.6) ~ exp(-64 x 0.36 / 2) per position
    assert stats.sync_hits <= 10


def test_as_llr_sanitises():
    out = as_llr(np.array([np.nan, np.inf, -np.inf, 1e30, -3.0], dtype=np.float64))
    assert out.dtype == np.float32 and out.tolist() == [0.0, 100.0, -100.0, 100.0, -3.0]
    assert as_llr(np.array([0, 1, 1], dtype=np.uint8)).tolist() == [8.0, -8.0, -8.0]


def test_stuck_sync_costs_bounded_work_and_memory():
    """A periodic signal that is the sync word over and over: every position correlates, each
    try costs at most max_iterations per header codeword, none gives a frame, memory stays flat."""
    stuck = np.tile(CFG.sync_bits, 600)  # 38 400 bits, one sync hit every 64
    sync = FrameSync(CFG)
    for piece in np.split(stuck, 12):
        assert sync.process(piece) == []
        assert sync._buf.size <= CFG.frame_bits
    s = sync.stats
    assert s.headers_ok == 0 and s.sync_hits > 100
    assert s.decoder_iterations <= s.codewords_decoded * CFG.max_iterations


def test_noise_behind_real_sync_words_fails_every_frame_in_bounded_time():
    """Every frame has its sync word and pure noise after it: the decoder tries each one, fails
    to converge, counts it, and never spends more than max_iterations per codeword."""
    rng = np.random.default_rng(9)
    frames_n = 40
    body = rng.standard_normal((frames_n, CFG.coded_bits)).astype(np.float32) * 2
    sync = np.broadcast_to(np.where(CFG.sync_bits == 1, -8.0, 8.0), (frames_n, 64))
    x = np.concatenate([sync, body], axis=1).reshape(-1).astype(np.float32)
    fs = FrameSync(CFG)
    for piece in np.split(x, 20):
        assert fs.process(piece) == []
        assert fs._buf.size <= 2 * CFG.frame_bits
    s = fs.stats
    assert s.headers_bad == frames_n and s.decoder_failures == frames_n
    assert s.decoder_iterations == frames_n * CFG.max_iterations  # header codeword only


def test_memory_stays_bounded_and_reset_clears():
    sync = FrameSync(CFG)
    rng = np.random.default_rng(10)
    for _ in range(10):
        sync.process(rng.standard_normal(50_000).astype(np.float32))
        assert sync._buf.size <= CFG.frame_bits
    sync.reset()
    assert sync.stats == FrameStats() and sync._buf.size == 0
    assert "FrameSync(FrameConfig(" in repr(sync)


def test_refuses_2d_and_complex_input():
    with pytest.raises(ValueError):
        FrameSync(CFG).process(np.zeros((2, 2), dtype=np.float32))
    with pytest.raises(TypeError):
        FrameSync(CFG).process(np.zeros(5, dtype=np.complex64))
    assert FrameSync(CFG).process(np.zeros(5, dtype=bool)) == []


@pytest.mark.parametrize("flips,found", [(0, True), (10, True), (24, False)])
def test_sync_word_bit_errors_before_lock(flips, found):
    _, blocks, bits = stream_of(nbytes=700, seed=10)
    noisy = np.concatenate([np.random.default_rng(10).integers(0, 2, 500, dtype=np.uint8), bits])
    where = np.random.default_rng(flips).choice(64, flips, replace=False)
    noisy[500 + where] ^= 1
    frames, _ = run(noisy)
    assert (blocks_of(frames)[:1] == blocks[:1]) is found
    assert blocks_of(frames)[-1] == blocks[-1]


@pytest.mark.parametrize("tail", ["random", "zeros"])
def test_end_of_transmission_is_lock_lost_not_a_bad_frame(tail):
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
    ruined[fb + 64:2 * fb] = np.random.default_rng(11).integers(0, 2, fb - 64, dtype=np.uint8)
    frames, stats = run(ruined)
    assert blocks_of(frames) == [blocks[0]] + blocks[2:]
    assert (stats.headers_bad, stats.lock_lost) == (1, 0)


def v2_coherent_bits(n_frames, rng):
    """What the v3 demodulator makes of a v2 transmission: v2 frames (sync word + whitened
    bytes) differentially encoded as v2's modulator did, seen as absolute Gray quadrants."""
    frames = []
    for _ in range(n_frames):
        frames += [SYNC_BITS_V2, rng.integers(0, 2, FRAME_BITS_V2 - 64).astype(np.uint8)]
    old = np.concatenate(frames)
    steps = np.array([0, 1, 3, 2])[old[0::2] * 2 + old[1::2]]  # v2 DIBIT_TO_STEP
    q = np.cumsum(steps) % 4  # phase pi/4 + q pi/2
    gray = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=np.uint8)  # quadrant -> (I, Q) bits
    return gray[q].reshape(-1)


def test_old_frame_version_is_recognised_and_reported():
    rng = np.random.default_rng(12)
    coherent = v2_coherent_bits(6, rng)
    llr = qpsk_llr(coherent, 8.0, rng, rotation=1)
    frames, stats = run(llr)
    assert frames == [] and stats.headers_ok == 0
    assert stats.old_version_frames == 6 and stats.old_version == 2
    assert "frame format v2 from an older hotcast; this receiver decodes v3" in stats.old_version_reason
    chunked, chunked_stats = run(llr, np.arange(977, llr.size, 977))
    assert chunked_stats == stats
    assert FrameStats().old_version_reason is None


def reference_v2_starts(llr):
    """Symbol indices where a v2 sync word (or its complement) ends within _V2_MAX_ERRORS, by
    the definition: the angle of each step rounded to quarter turns, its Gray dibit, the
    64 bits compared one by one."""
    z = llr[0:llr.size // 2 * 2:2].astype(np.float64) + 1j * llr[1:llr.size // 2 * 2:2]
    prev = np.concatenate(([0j], z[:-1]))
    step = np.round(np.angle(z * np.conj(prev)) / (np.pi / 2)).astype(np.int64) & 3
    bits = _STEP_TO_V2_BITS[step].reshape(-1)
    found = []
    for k in range(0, bits.size - 63, 2):
        wrong = int(np.count_nonzero(bits[k:k + 64] != SYNC_BITS_V2))
        if wrong <= _V2_MAX_ERRORS or wrong >= 64 - _V2_MAX_ERRORS:
            found.append(k // 2)
    return found


@given(st.integers(0, 2**32 - 1), st.lists(st.integers(1, 900), min_size=1, max_size=6),
       st.floats(0.0, 12.0))
def test_v2_detector_counts_what_the_definition_counts(seed, sizes, esn0_db):
    """The packed-integer detector against a bit-by-bit reference: v2 words planted in noise
    (some with up to 10 wrong bits), found at the same places whatever the chunking."""
    rng = np.random.default_rng(seed)
    coherent = v2_coherent_bits(2, rng)
    flips = rng.choice(coherent.size, size=int(rng.integers(0, 40)), replace=False)
    coherent[flips] ^= 1
    llr = qpsk_llr(coherent, esn0_db, rng, rotation=int(rng.integers(0, 4)))
    starts = reference_v2_starts(llr)
    expected, quiet = 0, 0
    for k in starts:  # one hit per v2 frame, as the detector counts them
        if k >= quiet:
            expected, quiet = expected + 1, k + FRAME_BITS_V2 // 4
    det = V2Detector()
    cuts = np.cumsum(sizes)
    got = sum(det.process(piece) for piece in np.split(llr, cuts[cuts < llr.size]))
    assert got == expected == det.hits


def test_current_frames_are_not_taken_for_old_ones():
    _, _, bits = stream_of(nbytes=30_000, seed=13)
    _, stats = run(bits)
    assert stats.old_version_frames == 0 and stats.old_version is None


@given(st.lists(st.integers(1, 3000), min_size=1, max_size=12), st.integers(0, 3))
def test_fuzzed_chunking_and_rotation_never_change_the_result(sizes, rotation):
    _, blocks, bits = stream_of(nbytes=1500, seed=14)
    llr = qpsk_llr(bits, 6.0, np.random.default_rng(14), rotation)
    whole, whole_stats = run(llr)
    cuts = np.cumsum(sizes)
    parts, part_stats = run(llr, cuts[cuts < llr.size])
    assert parts == whole and part_stats == whole_stats and blocks_of(whole) == blocks


@given(st.binary(min_size=0, max_size=20_000))
def test_fuzzed_garbage_never_crashes(raw):
    x = np.frombuffer(raw[:len(raw) // 4 * 4], dtype=np.float32)
    frames, stats = run(x)
    assert frames == [] and stats.bits_in == x.size
