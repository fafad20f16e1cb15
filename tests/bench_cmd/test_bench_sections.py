"""The sections' own parts: the world's captures, the in-process decode and its stage split,
acquisition on a real capture, the memory stream, the gap text; and one real
``hotcast bench --quick --only speed --json`` (slow)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hotcast.bench import acquisition, speed, stages, ttp
from hotcast.bench.decoding import CliRun, InProcessRun, run_cli, run_in_process
from hotcast.bench.memory import streamer
from hotcast.bench.model import BenchContext
from hotcast.bench.world import BenchWorld, entries_for

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def audio_world(tmp_path_factory):
    w = BenchWorld(tmp_path_factory.mktemp("world"), seconds=2.0, seed=3, entries=100)
    return w, w.capture("audio", "wav")


def test_entries_scale_with_the_net_rate():
    assert entries_for("fm", 20) > entries_for("audio-robust", 20) >= 100


def test_in_process_decode_merges_and_splits_its_cpu(audio_world):
    w, cap = audio_world
    run = run_in_process(w, cap)
    assert run.frames_ok > 0 and run.bundles_applied >= 1
    assert run.seconds_of_signal == pytest.approx(cap.seconds, rel=0.01)
    assert run.cpu_s == pytest.approx(run.read_cpu_s + run.pipeline_cpu_s + run.merge_cpu_s)
    assert {"subcarrier_demod", "frame_sync", "input_read", "verify_decrypt",
            "store_merge", "other"} <= set(run.stages)
    pipeline_parts = sum(v for k, v in run.stages.items()
                         if k not in ("input_read", "verify_decrypt", "store_merge"))
    assert pipeline_parts == pytest.approx(run.pipeline_cpu_s, rel=0.05)
    assert "fm_demod" not in run.stages or run.stages["fm_demod"] == 0


def test_each_decode_starts_from_an_empty_terminal(audio_world):
    w, cap = audio_world
    assert run_in_process(w, cap).bundles_applied == run_in_process(w, cap).bundles_applied >= 1


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_peak_memory_is_the_decoders_own_not_this_process(audio_world):
    """ru_maxrss of a child counts the parent's pages at the fork: with 400 MB resident here
    it would say 400+ MB. The child's own high-water mark stays what the decoder uses."""
    import numpy as np
    w, cap = audio_world
    ballast = np.ones(400 * 2**20 // 8)  # resident: every page written
    run = run_cli(w, cap)
    assert ballast.sum() > 0 and run.frames_ok > 0
    assert 20 < run.maxrss_mb < 250


def test_acquisition_finds_a_frame_within_two_frames_and_a_block(audio_world):
    w, cap = audio_world
    frame_s = acquisition.frame_seconds("audio")
    t = acquisition.first_frame_s(cap, 0.37, cap.seconds - 0.37)
    assert t is not None
    assert frame_s <= t <= 2 * frame_s + 2 * acquisition.BLOCK_S + 0.2  # + the chain's delay


def test_stage_split_is_per_second_of_signal_and_drops_empty_stages():
    per = stages.split([{"fm_demod": 0.2, "frame_sync": 0.0, "startup": 3.0, "new_stage": 0.1},
                        {"fm_demod": 0.4, "frame_sync": 0.0, "new_stage": 0.1}], [10.0, 10.0])
    assert per == {"fm_demod": [20.0, 40.0], "new_stage": [10.0, 10.0]}


def test_streamer_repeats_the_data_up_to_the_total():
    sink = io.BytesIO()
    sink.close = lambda: None
    streamer(b"abcdef", 20)(sink)
    assert sink.getvalue() == b"abcdefabcdefabcdefab"


def _runs(bench_cpu, cli_cpu):
    b = InProcessRun(10.0, bench_cpu, 0.1, bench_cpu - 0.2, 0.1, 5, 1)
    c = CliRun(10.0, cli_cpu, cli_cpu + 2.0, 200.0, 5, 0, 1)
    return speed.Measured("fm", speed.inputs("fm")[0], None, [b], [c])


def test_gap_within_twenty_percent_agrees_and_a_larger_one_is_explained():
    gap, why = speed._gap_text(_runs(1.0, 1.1))
    assert gap == pytest.approx(0.1) and why == "agree"
    m = _runs(1.0, 1.5)
    m.capture = type("C", (), {"seconds": 10.0})()
    gap, why = speed._gap_text(m)
    assert gap == pytest.approx(0.5) and "first use in a fresh process" in why
    m.cli = [CliRun(10.0, 1.5, 3.5, 200.0, 5, 0, 1, {"fm_demod": 0.5, "other": 0.4,
                                                     "startup": 2.0})]
    m.bench = [InProcessRun(10.0, 1.0, 0.1, 0.8, 0.1, 5, 1, {"fm_demod": 0.45})]
    gap, why = speed._gap_text(m)
    assert why.startswith("decode +0.50 s CPU: other (events, JSON output) +0.40 s, "
                          "fm_demod +0.05 s")


def test_every_profile_has_inputs_and_quick_keeps_one_of_each():
    for profile in speed.PROFILES:
        ins = speed.inputs(profile)
        assert ins and ins[0].quick
    assert [i.name for i in speed.inputs("fm")] == ["iq-cu8", "iq-cf32", "mpx-wav", "stdin-cu8"]


def test_ttp_without_a_bench_folder_says_so(tmp_path):
    section = ttp.run(BenchContext(quick=True, out_dir=tmp_path),
                      harness_path=tmp_path / "bench" / "ttp_harness.py")
    assert not section.figures
    assert "plain pip install" in section.notes[0]


@pytest.mark.slow
def test_bench_quick_speed_json_end_to_end():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "hotcast", "bench", "--quick", "--only",
                           "speed", "--json"], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # a pipe: no progress line
    doc = json.loads(done.stdout)
    speed_section = next(s for s in doc["sections"] if s["name"] == "speed")
    assert speed_section["status"] == "ok"
    keys = {f["key"]: f for f in speed_section["figures"]}
    for profile in speed.PROFILES:
        f = keys[f"speed.{profile}.{speed.inputs(profile)[0].name}.x_realtime"]
        assert f["value"] > 1 and f["repeats"] == 2 and f["rel_spread"] is not None
    assert keys["speed.fm.iq-cu8.decode_x_realtime"]["value"] > 1
    assert keys["speed.fm.stdin-cu8.decode_x_realtime"]["value"] > 1
