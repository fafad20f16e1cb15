"""Benchmarks of profile `ir`: rates, FER per impairment (LDPC stand-in), speed from pulse text.

Run: PYTHONPATH=. .venv/bin/python -m pytest bench/test_ir_link.py -q -s -p no:cacheprovider
FER: the demodulator's LLRs, aligned with the sent bits block by block (a shadow may shift
the stream by a block: the frame layer's sync word absorbs that, so each stretch between
shifts is aligned on its own), decoded in 1944-bit frames by the stand-in code.
"""

from __future__ import annotations

import time

import numpy as np

from bench.test_audio_ldpc_standin import frame_error_rate
from modem.impairments import IrChannelConfig, apply_ir_channel
from modem.ir import IR, IrDemodulator, IrModulator
from modem.irtext import IrTextDecoder, ir_carousel_files, write_ir_text

RATE = 0.5
SYNC_BITS, FRAME_BITS, REPAIR = 64, 1944, 0.10


def net_rate(raw: float, rate: float) -> float:
    return raw * rate * (1 - SYNC_BITS / FRAME_BITS) / (1 + REPAIR)


def sent(seconds, seed=3):
    bits = np.random.default_rng(seed).integers(0, 2, int(IR.bits_per_second * seconds)).astype(np.uint8)
    mod = IrModulator(IR)
    return bits, np.concatenate((mod.process(bits), mod.flush()))


def aligned(llr, bits):
    """Per 48-bit output block, the sent block it matches best (blocks shift after a shadow)."""
    per = IR.bits_per_block
    out_l, out_b = [], []
    blocks = len(llr) // per
    sent_blocks = bits[: len(bits) // per * per].reshape(-1, per).astype(bool)
    pos = None
    for i in range(blocks):
        got = llr[i * per : (i + 1) * per]
        if not np.any(got):
            continue  # an erased block: its place is unknown after a shadow
        hard = got < 0
        if pos is None or pos >= len(sent_blocks) or np.mean(hard != sent_blocks[pos]) > 0.2:
            cand = np.mean(hard[None, :] != sent_blocks, axis=1)
            pos = int(np.argmin(cand)) if cand.min() < 0.2 else None
            if pos is None:
                continue
        out_l.append(got)
        out_b.append(sent_blocks[pos])
        pos += 1
    return np.concatenate(out_l), np.concatenate(out_b).astype(np.uint8)


CASES = {
    "jitter +-100 us, stretch 20-60 us": IrChannelConfig(jitter_us=100, stretch_us=(20, 60), seed=1),
    "1 % of bursts lost": IrChannelConfig(drop_fraction=0.01, seed=2),
    "spurious 100-400 us, 4 /s": IrChannelConfig(spurious_per_s=4, seed=3),
    "half-second shadow": IrChannelConfig(shadows_s=((10.0, 0.5),), seed=4),
    "starts mid-stream": IrChannelConfig(start_s=7.777),
    "all together (+100 ppm)": IrChannelConfig(jitter_us=100, stretch_us=(20, 60), drop_fraction=0.01,
                                               spurious_per_s=4, shadows_s=((10.0, 0.5),), start_s=1.234, ppm=100,
                                               seed=5),
}


def test_rates():
    print(f"\nir: raw {IR.bits_per_second:.0f} bit/s continuous, {IR.bursts_per_second:.0f} bursts/s; "
          f"net at R={RATE}: {net_rate(IR.bits_per_second, RATE):.0f} bit/s, at R=2/3: "
          f"{net_rate(IR.bits_per_second, 2 / 3):.0f} bit/s")
    bits, d = sent(30)
    files = ir_carousel_files(d)
    on_air = np.sum(np.abs(d)) / 1e6 + 0.125 * len(files)
    print(f"ir-ctl carousel: {len(files)} files for 30 s of bits, raw {len(bits) / on_air:.0f} bit/s with 125 ms gaps")
    assert IR.bits_per_second >= 2_000 and net_rate(IR.bits_per_second, 2 / 3) >= 1_000


def test_fer_per_impairment():
    bits, d = sent(60)
    print(f"\nir, 60 s per case, stand-in LDPC:")
    for name, channel in CASES.items():
        dem = IrDemodulator(IR)
        llr = np.concatenate((dem.process(apply_ir_channel(d, channel)), dem.flush()))
        l, b = aligned(llr, bits)
        res = {r: frame_error_rate(l, b, r) for r in (0.5, 2 / 3)}
        s = dem.stats
        print(f"  {name:36s} BER {np.mean((l < 0) != b.astype(bool)):8.2e}  " +
              "  ".join(f"R={r:.2f}: FER {f.fer:.3f} ({f.frames} fr)" for r, f in res.items()) +
              f"  repaired {s.blocks_repaired} erased {s.blocks_erased} snr {s.snr_db:.1f} dB", flush=True)
        # A shadow erases ~21 blocks (~1000 bits): the frame it falls in is the carousel's to repair.
        allowed = 1 if channel.shadows_s else 0
        assert res[RATE].failed <= allowed + 0.01 * res[RATE].frames, name


def test_speed_from_pulse_text():
    bits, d = sent(120)
    d = apply_ir_channel(d, IrChannelConfig(jitter_us=100, stretch_us=(20, 60), drop_fraction=0.01, seed=9))
    text = write_ir_text(d)
    best = float("inf")
    for _ in range(3):
        t0 = time.process_time()
        dec, dem = IrTextDecoder(), IrDemodulator(IR)
        llr = np.concatenate((dem.process(dec.process(text)), dem.process(dec.flush()), dem.flush()))
        best = min(best, time.process_time() - t0)
    seconds = np.sum(np.abs(d)) / 1e6
    print(f"\nir from pulse text: {seconds / best:.0f}x real time, {len(llr) / best / 1e3:.0f} kbit/CPU-s (best of 3)")
    assert seconds / best >= 300
