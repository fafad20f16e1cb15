"""Benchmarks of the receive pipeline (issue 3 targets), numbers in benchmark.extra_info:

- decode speed, x real time on one core, from 1.2 MHz cu8 bytes (target >= 10) and from
  228 kHz s16le MPX bytes (target >= 50): bytes -> samples -> ReceivePipeline -> bundles;
- FER against Eb/N0 per payload bit, 4..12 dB, through the real modem and framing with white
  noise added to the MPX (target FER <= 1e-3 at 8 dB; the table is printed);
- net payload rate: bundle bits per second of air for a 1 MB bundle's carousel cycle;
- peak memory (VmHWM: see the test) of `receiver decode` fed 10 minutes of cu8 on stdin (< 300 MB),
  marked slow;
- issue 8: what `hotcast receiver decode` itself reports (``seconds_of_signal / seconds_of_cpu``
  of its summary, and the ``stages`` split) on 30 s captures with a stereo programme rendered by
  `hotcast center render`: >= 25x from 1.2 MHz cu8, >= 100x from a 228 kHz MPX WAV. The same
  command, the same process, the same numbers a user sees (start-up is reported beside it).

Run: .venv/bin/pytest bench/test_receiver.py --benchmark-only -q -s [-m "slow or not slow"]
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.receiver.test_pipeline_signal import (
    IQ_RATE_HZ, MPX_RATE_HZ, ROOT, carousel_bits, make_center, make_terminal,
    modulate, to_iq,
)
from framing import FrameSync, frame_config, segment
from framing.frames import FrameGen
from modem import FmSubcarrierConfig, SubcarrierDemodulator, SubcarrierModulator
from modem.formats import SampleDecoder, encode_samples
from receiver.radio.pipeline import PipelineConfig, ReceivePipeline

FM = frame_config("fm")
RAW_BPS = 38_000
PAYLOAD_BPS = RAW_BPS * FM.efficiency / (1 + FM.repair_ratio)
SECONDS = 8.0


@pytest.fixture(scope="module")
def air(tmp_path_factory):
    center = make_center(tmp_path_factory.mktemp("c") / "c", entries=300, delta_entries=10)
    frames = int(SECONDS * RAW_BPS / FM.frame_bits)
    mpx = modulate(carousel_bits(center.bundles, frames))
    return center, mpx


def decode_bytes(raw: bytes, dec: SampleDecoder, pipe: ReceivePipeline,
                 chunk: int = 256 * 1024) -> list:
    events = []
    for pos in range(0, len(raw), chunk):
        events += pipe.process(dec.process(raw[pos:pos + chunk]))
    return events + pipe.finish()


def _speed(benchmark, raw, fmt, is_iq, rate, seconds, center, label, target):
    """Steady-state speed: the pipeline is built before the clock starts (building it costs
    ~0.1 s once per process, mostly Reed-Solomon tables)."""
    def setup():
        return (raw, SampleDecoder(fmt), ReceivePipeline(PipelineConfig("fm", is_iq, rate))), {}

    events = benchmark.pedantic(decode_bytes, setup=setup, rounds=3, iterations=1,
                                warmup_rounds=1)
    got = {e["data"] for e in events if e["event"] == "bundle_received"}
    assert got == set(center.bundles)
    speed = seconds / benchmark.stats.stats.min
    benchmark.extra_info["x_real_time"] = round(speed, 1)
    benchmark.extra_info["target_x_real_time"] = target
    benchmark.extra_info["meets_target"] = speed >= target
    print(f"\nreceive pipeline from {label}: {speed:.0f}x real time (target >= {target}x)")
    # The target, measured here (best of 3 rounds); the margin is 2-3x on this machine.
    assert speed >= target


def test_decode_speed_cu8_1200k(benchmark, air):
    center, mpx = air
    raw = encode_samples(to_iq(mpx), "cu8")
    _speed(benchmark, raw, "cu8", True, IQ_RATE_HZ, len(raw) / 2 / IQ_RATE_HZ, center,
           "1.2 MHz cu8 bytes", 10)


def test_decode_speed_mpx_228k(benchmark, air):
    center, mpx = air
    raw = encode_samples(mpx, "s16le")
    _speed(benchmark, raw, "s16le", False, MPX_RATE_HZ, len(raw) / 2 / MPX_RATE_HZ, center,
           "228 kHz s16le MPX bytes", 50)


# Frames per Eb/N0 point: 3 000 at 8 dB (11.6 min of air: zero losses there put FER below
# 1e-3 with ~95 % confidence, since 0.999^3000 = 0.05), 1 200 at 7 and 9 dB, 300 elsewhere.
FER_POINTS_DB = (4, 5, 6, 7, 8, 9, 10, 11, 12)


def _frames_at(ebn0_db: float) -> int:
    return 3000 if ebn0_db == 8 else 1200 if 7 <= ebn0_db <= 9 else 300


def fer_at(ebn0_db: float, mpx_clean: np.ndarray, n_frames: int, seed: int) -> float:
    cfg = FmSubcarrierConfig()
    power = cfg.injection**2 / 2
    # Real white noise, one-sided density N0 = sigma^2 / (fs / 2); Eb = P / payload rate.
    sigma = np.sqrt(power / PAYLOAD_BPS / 10 ** (ebn0_db / 10) * cfg.sample_rate_hz / 2)
    rng = np.random.default_rng(seed)
    noisy = mpx_clean + rng.standard_normal(mpx_clean.size).astype(np.float32) * np.float32(sigma)
    dem, sync = SubcarrierDemodulator(cfg), FrameSync(FM)
    seen = set()
    for pos in range(0, noisy.size, 1 << 18):
        for f in sync.process(dem.process(noisy[pos:pos + (1 << 18)])):
            seen.add(f.block.header.block_index)
    for f in sync.process(dem.flush()):
        seen.add(f.block.header.block_index)
    return 1 - len(seen) / n_frames


def test_fer_curve_per_payload_bit(benchmark):
    rng = np.random.default_rng(5)
    bundle = rng.integers(0, 256, 3000 * FM.block_bytes, dtype=np.uint8).tobytes()
    all_blocks = segment(bundle, 0, 1, FM)
    lead = rng.integers(0, 2, 6000, dtype=np.uint8)
    table = {}

    def run():
        for i, ebn0 in enumerate(FER_POINTS_DB):
            n = _frames_at(ebn0)
            mod = SubcarrierModulator(FmSubcarrierConfig())
            bits = np.concatenate((lead, FrameGen(FM).process(all_blocks[:n]), lead))
            mpx = np.concatenate((mod.process(bits), mod.flush()))
            table[ebn0] = (fer_at(ebn0, mpx, n, seed=100 + i), n)

    benchmark.pedantic(run, rounds=1, iterations=1)
    print("\nFER vs Eb/N0 per payload bit (white noise on the MPX, real modem + framing)")
    print(" Eb/N0 dB   frames     FER")
    for ebn0, (fer, n) in table.items():
        benchmark.extra_info[f"fer_{ebn0}dB"] = fer
        benchmark.extra_info[f"frames_{ebn0}dB"] = n
        print(f"   {ebn0:4.1f}   {n:6d}   {fer:.2e}")
    benchmark.extra_info["target"] = "FER <= 1e-3 at 8 dB"
    benchmark.extra_info["meets_target"] = table[8][0] <= 1e-3
    assert table[8][0] <= 1e-3
    # The curve must fall: a flat one would mean the noise was not applied where it should be.
    assert table[4][0] > 0.5 and table[12][0] == 0.0


def test_net_payload_rate(benchmark):
    bundle = np.random.default_rng(6).integers(0, 256, 2**20, dtype=np.uint8).tobytes()
    blocks = benchmark.pedantic(segment, args=(bundle, 0, 1, FM), rounds=1, iterations=1)
    seconds = len(blocks) * FM.frame_bits / RAW_BPS
    net = 8 * len(bundle) / seconds
    benchmark.extra_info["net_kbit_s"] = round(net / 1000, 2)
    benchmark.extra_info["cycle_s_for_1MB"] = round(seconds, 1)
    benchmark.extra_info["target_kbit_s"] = 12
    print(f"\nnet payload: {net / 1000:.1f} kbit/s (1 MiB bundle: {len(blocks)} frames, "
          f"{seconds:.0f} s a cycle; target >= 12 kbit/s)")
    assert net >= 12_000


@pytest.mark.slow
def test_peak_memory_10_minutes_from_stdin(benchmark, air, tmp_path):
    center, mpx = air
    raw = encode_samples(to_iq(mpx), "cu8")  # ~8 s; repeated for 10 minutes
    repeats = int(np.ceil(600 * IQ_RATE_HZ * 2 / len(raw)))
    home = make_terminal(tmp_path / "t", center)
    args = ["decode", "--home", str(home), "--profile", "fm", "--input", "-", "--format", "cu8",
            "--rate", str(IQ_RATE_HZ)]
    # The decoder reports its own peak: ru_maxrss of a child forked from this (large) test
    # process would include the parent's image, copied at fork and counted until exec.
    # VmHWM is the peak RSS of the exec'ed image alone.
    code = ("import sys\nfrom hotcast.cli import main\n"
            f"status = main([\"receiver\", *{args!r}])\n"
            "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0]\n"
            "sys.stderr.write(hwm)\nsys.exit(status)\n")

    def run():
        proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
        t0 = time.monotonic()
        for _ in range(repeats):
            proc.stdin.write(raw)
        proc.stdin.close()
        err = proc.stderr.read().decode()
        proc.wait()
        hwm_kb = int(err.split("VmHWM:")[1].split()[0])
        return hwm_kb / 1024, time.monotonic() - t0, proc.returncode

    peak_mb, wall_s, code = benchmark.pedantic(run, rounds=1, iterations=1)
    assert code == 0
    benchmark.extra_info["peak_rss_mb"] = round(peak_mb, 1)
    benchmark.extra_info["seconds_of_signal"] = repeats * len(raw) / 2 / IQ_RATE_HZ
    benchmark.extra_info["wall_s"] = round(wall_s, 1)
    print(f"\n10 min of 1.2 MHz cu8 on stdin: peak RSS {peak_mb:.0f} MB (target < 300 MB), "
          f"{wall_s:.0f} s wall")
    assert peak_mb < 300


DECODE_TARGETS = {"cu8": 25.0, "wav": 100.0}  # issue 8, x real time as `receiver decode` reports
DECODE_SECONDS = 30


def _hotcast(*args, env: dict, cwd) -> str:
    done = subprocess.run([sys.executable, "-m", "hotcast", *map(str, args)], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """A center with 2 000 revoked cards, a provisioned terminal home, and the carousel rendered
    with a programme as 1.2 MHz cu8 and as a 228 kHz MPX WAV, all through the command line."""
    d = tmp_path_factory.mktemp("decode")
    env = {**os.environ, "HOTCAST_PASSPHRASE": "bench", "HOTCAST_OPERATOR": "bench",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    env.pop("HOTCAST_NOW", None)
    run = lambda *a, **kw: _hotcast(*a, env=env, cwd=d, **kw)  # noqa: E731
    run("center", "init", "--home", "c")
    subprocess.run([sys.executable, "-m", "hotcast", "center", "revoke", "--home", "c", "-"],
                   input="\n".join(str(10**12 + 7919 * i) for i in range(2000)), text=True,
                   env=env, cwd=d, check=True, capture_output=True)
    run("center", "build", "--home", "c", "--out", "b.hcb")
    run("center", "provision", "--home", "c", "--out", "t.keys")
    run("terminal", "init", "--home", "t0", "--keys", "t.keys")
    files = {"cu8": d / "prog.cu8", "wav": d / "prog.wav"}
    run("center", "render", "--home", "c", "--profile", "fm", "--out", files["cu8"],
        "--with-programme", "--duration", DECODE_SECONDS)
    run("center", "render", "--home", "c", "--profile", "fm", "--rate", "228k", "--out",
        files["wav"], "--with-programme", "--duration", DECODE_SECONDS)
    return d, env, files


@pytest.mark.parametrize("fmt", ["cu8", "wav"])
def test_receiver_decode_reports_its_speed_per_stage(benchmark, rendered, fmt):
    """`hotcast receiver decode --input prog.FMT` three times (a fresh terminal home each); the
    summary's own figure, best and median, with the stage split of the best run."""
    d, env, files = rendered
    summaries = []

    def run():
        for i in range(3):
            home = d / f"t-{fmt}-{i}"
            shutil.copytree(d / "t0", home)
            out = _hotcast("receiver", "decode", "--home", home, "--profile", "fm", "--input",
                           files[fmt], env=env, cwd=d)
            summaries.append(json.loads(out.splitlines()[-1]))

    benchmark.pedantic(run, rounds=1, iterations=1)
    assert all(s["event"] == "summary" and s["bundles_applied"] >= 1 for s in summaries)
    speeds = sorted(s["seconds_of_signal"] / s["seconds_of_cpu"] for s in summaries)
    best = max(summaries, key=lambda s: s["seconds_of_signal"] / s["seconds_of_cpu"])
    target = DECODE_TARGETS[fmt]
    info = benchmark.extra_info
    info.update(x_real_time_best=round(speeds[-1], 1), x_real_time_median=round(speeds[1], 1),
                target_x_real_time=target, seconds_of_signal=best["seconds_of_signal"],
                seconds_of_cpu=best["seconds_of_cpu"], meets_target=speeds[-1] >= target)
    info.update({f"cpu_s_{k}": v for k, v in best["stages"].items()})
    print(f"\nreceiver decode {fmt}: {speeds[-1]:.1f}x real time best, {speeds[1]:.1f}x median "
          f"(target >= {target:g}x); stages of the best: "
          + ", ".join(f"{k} {v:.3f} s" for k, v in best["stages"].items()))
    assert speeds[-1] >= target
