"""Frame layer throughput and overheads on the "fm" preset.

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
    # independent bit errors at 1e-2 give FER ~1e-2 (frames.py docstring); else all frames
    assert len(frames) >= len(BLOCKS) * (0.95 if ber >= 1e-2 else 1.0)
    _rate(benchmark, bits.size)
    benchmark.extra_info["payloads_corrected"] = stats.payloads_corrected
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


def _dqpsk_hard_bits(bits: np.ndarray, ebn0_payload_db: float, efficiency: float,
                     rng: np.random.Generator) -> np.ndarray:
    """An ideal coherent modem: Gray QPSK, differentially encoded, AWGN, hard decisions.

    Eb/N0 is per payload bit; per channel bit it is lower by ``efficiency`` (payload bits per
    bit on air), and Es = 2 Eb per channel bit.
    """
    gray_to_q = np.array([0, 1, 3, 2])  # bit pair 00, 01, 10, 11 -> phase steps 0, 1, 3, 2
    q_to_gray = np.argsort(gray_to_q)
    pairs = bits.reshape(-1, 2)
    steps = gray_to_q[2 * pairs[:, 0] + pairs[:, 1]]
    phase = np.cumsum(steps) % 4
    sym = np.exp(1j * (np.pi / 4 + np.pi / 2 * phase))
    esn0 = 2 * efficiency * 10 ** (ebn0_payload_db / 10)
    sigma = np.sqrt(1 / (2 * esn0))
    rx = sym + sigma * (rng.standard_normal(sym.size) + 1j * rng.standard_normal(sym.size))
    est = np.floor(np.mod(np.angle(rx), 2 * np.pi) / (np.pi / 2)).astype(int) % 4
    dq = np.diff(np.concatenate(([0], est))) % 4
    g = q_to_gray[dq]
    return np.stack([g >> 1, g & 1], axis=1).reshape(-1).astype(np.uint8)


@pytest.mark.parametrize("ebn0_db", [4, 5, 6, 7, 8, 10, 12])
def test_fer_curve_ideal_dqpsk(benchmark, ebn0_db):
    """FER of the frame layer alone over an ideal coherent DE-QPSK link, 3 cycles (438 frames)."""
    bits = np.concatenate([BITS] * 3)
    eff = 8 * len(BUNDLE) / (len(BLOCKS) * CFG.frame_bits)  # cycle efficiency, repair included
    rx = _dqpsk_hard_bits(bits, ebn0_db, eff, np.random.default_rng(ebn0_db))

    def run():
        sync = FrameSync(CFG)
        return sync.process(rx)

    frames = benchmark.pedantic(run, rounds=1, iterations=1)
    sent = 3 * len(BLOCKS)
    info = benchmark.extra_info
    info["ber"] = float(np.mean(rx != bits))
    info["frames_sent"], info["frames_ok"] = sent, len(frames)
    info["fer"] = round(1 - len(frames) / sent, 4)
