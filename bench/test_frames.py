"""Frame layer throughput and overheads on the "fm" preset (v3: LDPC; FER curves of the soft
decoder are bench/test_fm_link.py).

Run: .venv/bin/pytest bench/test_frames.py --benchmark-only -q
Targets (issue 3): FrameSync + decode >= 2 Mbit/s of input bits on one core on a clean
stream (the receiver must run >= 50x real time at 38 kbit/s); overall efficiency for a 100 kB
bundle reported in extra_info (payload bytes / bits on air, and net kbit/s at 38 kbit/s raw).
"""

import numpy as np
import pytest

from framing.carousel import segment
from framing.frames import FrameGen
from framing.framesync import FrameSync
from framing.profiles import frame_config
from framing.reassembly import Reassembler

CFG = frame_config("fm")
RAW_BIT_RATE = 38_000  # modem "fm": 19 000 baud x 2 bit/symbol
BUNDLE = np.random.default_rng(0).integers(0, 256, 100_000, dtype=np.uint8).tobytes()
BLOCKS = segment(BUNDLE, 0, 1, CFG)
BITS = FrameGen(CFG).process(BLOCKS)


def _rate(benchmark, nbits):
    benchmark.extra_info["input_bits"] = int(nbits)
    benchmark.extra_info["mbit_per_s"] = round(nbits / benchmark.stats.stats.median / 1e6, 2)
    benchmark.extra_info["x_real_time_at_38k"] = round(nbits / benchmark.stats.stats.median / RAW_BIT_RATE)


@pytest.mark.parametrize("ber", [0.0, 1e-3, 5e-3, 1e-2])
def test_framesync_decode(benchmark, ber):
    rng = np.random.default_rng(1)
    bits = BITS ^ (rng.random(BITS.size) < ber).astype(np.uint8)

    def run():
        sync = FrameSync(CFG)
        return sync.process(bits), sync.stats

    frames, stats = benchmark.pedantic(run, rounds=3, iterations=1)
    # hard bits with independent errors up to 1e-2: the rate-3/4 code fixes every frame
    assert len(frames) == len(BLOCKS)
    _rate(benchmark, bits.size)
    benchmark.extra_info["payloads_corrected"] = stats.payloads_corrected
    benchmark.extra_info["iterations_per_codeword"] = stats.decoder_iterations / stats.codewords_decoded
    benchmark.extra_info["frames_lost"] = len(BLOCKS) - len(frames)


def test_framesync_decode_in_4096_bit_chunks(benchmark):
    """The receiver's usage: clean stream pushed in modem-sized chunks."""
    pieces = [BITS[i:i + 4096] for i in range(0, BITS.size, 4096)]

    def run():
        sync = FrameSync(CFG)
        return [f for p in pieces for f in sync.process(p)]

    assert len(benchmark.pedantic(run, rounds=3, iterations=1)) == len(BLOCKS)
    _rate(benchmark, BITS.size)


def test_framegen(benchmark):
    bits = benchmark.pedantic(FrameGen(CFG).process, args=(BLOCKS,), rounds=3, iterations=1)
    _rate(benchmark, bits.size)


def test_segment_and_reassemble_100k(benchmark):
    def run():
        return Reassembler().process(segment(BUNDLE, 0, 1, CFG)[14:])

    assert benchmark.pedantic(run, rounds=5, iterations=1) == [BUNDLE]


def test_efficiency_100k(benchmark):
    """Whole pipeline for one cycle; the overhead figures go in extra_info."""
    def run():
        sync, reasm = FrameSync(CFG), Reassembler()
        return reasm.process(sync.process(FrameGen(CFG).process(segment(BUNDLE, 0, 1, CFG))))

    assert benchmark.pedantic(run, rounds=3, iterations=1) == [BUNDLE]
    k, n = BLOCKS[0].header.k, BLOCKS[0].header.n
    info = benchmark.extra_info
    info["k"], info["n"], info["frame_bits"] = k, n, CFG.frame_bits
    info["frame_efficiency"] = round(CFG.efficiency, 4)
    info["cycle_efficiency"] = round(8 * len(BUNDLE) / (n * CFG.frame_bits), 4)
    info["net_kbit_s_cycle_at_38k"] = round(RAW_BIT_RATE * info["cycle_efficiency"] / 1e3, 2)
    info["seconds_per_cycle_at_38k"] = round(n * CFG.frame_bits / RAW_BIT_RATE, 2)
