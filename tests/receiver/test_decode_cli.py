"""`hotcast receiver profiles | decode | listen`: outputs, exit status, bad input with the
store untouched."""

from __future__ import annotations

import json
import signal
import sqlite3
import struct
import subprocess
import sys
import time

import numpy as np
import pytest
from test_pipeline_signal import (
    IQ_RATE_HZ, MPX_RATE_HZ, PASSPHRASE, ROOT, carousel_bits, cycle_frames, events_of,
    make_center, make_terminal, modulate, run_cli, to_iq, write_signal,
)

from center import CenterHome
from crypto import BundleKind
from framing import frame_config, segment
from framing.frames import FrameGen
from hotcast.cli import main as hotcast_main
from receiver.radio import cli as cli_receiver
from receiver.radio._device_fake import FakeInputStream, FakeRtlSdr
from receiver.store.store import TerminalStore


def receiver_main(argv: list[str]) -> int:
    return hotcast_main(["receiver", *argv])


FM = frame_config("fm")


@pytest.fixture(scope="module")
def sig(tmp_path_factory):
    d = tmp_path_factory.mktemp("sig")
    center = make_center(d / "center", entries=300)
    mpx = modulate(carousel_bits(center.bundles, cycle_frames(center) + 1))
    files = {
        "cu8": write_signal(d / "s.cu8", to_iq(mpx), IQ_RATE_HZ),
        "wav": write_signal(d / "s.wav", mpx, MPX_RATE_HZ),
        "s16le": write_signal(d / "s.s16le", mpx, MPX_RATE_HZ, meta=False),
    }
    return center, files, mpx


@pytest.fixture
def home(tmp_path, sig):
    return make_terminal(tmp_path / "t", sig[0])


def state(home):
    with TerminalStore.open(home) as s:
        return s.state()


def decode_in_process(capsys, *args):
    status = receiver_main(["decode", *[str(a) for a in args]])
    out, err = capsys.readouterr()
    return status, events_of(out), err


def assert_applied(events, center):
    applied = [e for e in events if e["event"] == "bundle_applied"]
    assert [(e["seq"], e["entries"]) for e in applied] == [(center.seqs[0], 300)]
    s = events[-1]
    assert s["event"] == "summary" and s["bundles_applied"] == 1 and s["frames_ok"] >= 5
    assert s["seconds_of_cpu"] > 0 and s["seconds_of_signal"] > 1


def test_profiles_prints_a_json_line_per_profile():
    r = run_cli("profiles")
    assert r.returncode == 0
    lines = {p["name"]: p for p in events_of(r.stdout)}
    assert {"fm", "fm-robust"} <= set(lines)
    assert lines["fm"]["raw_bit_rate_bps"] == 38_000
    assert all(p["net_bit_rate_bps"] < p["raw_bit_rate_bps"] and p["formats"]
               for p in lines.values())


def test_decode_cu8_file(sig, home):
    r = run_cli("decode", "--home", str(home), "--profile", "fm", "--input", str(sig[1]["cu8"]))
    assert r.returncode == 0, r.stderr
    events = events_of(r.stdout)
    assert events[0]["event"] == "start" and events[0]["is_iq"] is True
    assert_applied(events, sig[0])
    assert state(home).entries == 300


def test_decode_wav_from_stdin(sig, home):
    r = run_cli("decode", "--home", str(home), "--profile", "fm", "--input", "-",
                "--format", "wav", stdin=sig[1]["wav"].read_bytes())
    assert r.returncode == 0, r.stderr
    assert_applied(events_of(r.stdout), sig[0])


def test_decode_cu8_from_stdin_with_rate(sig, home):
    r = run_cli("decode", "--home", str(home), "--profile", "fm", "--input", "-",
                "--format", "cu8", "--rate", str(IQ_RATE_HZ), stdin=sig[1]["cu8"].read_bytes())
    assert r.returncode == 0, r.stderr
    assert_applied(events_of(r.stdout), sig[0])


def test_decode_s16le_with_tee_raw_keeps_a_replayable_capture(capsys, sig, home, tmp_path):
    tee = tmp_path / "tee.s16le"
    status, events, _ = decode_in_process(capsys, "--home", home, "--profile", "fm", "--input",
                                          sig[1]["s16le"], "--rate", MPX_RATE_HZ,
                                          "--tee-raw", tee)
    assert status == 0 and events[-1]["bundles_applied"] == 1
    assert tee.read_bytes() == sig[1]["s16le"].read_bytes()
    status, events, _ = decode_in_process(capsys, "--home", home, "--profile", "fm",
                                          "--input", tee)  # rate from the tee's .sigmf-meta
    assert status == 0 and events[-1]["bundles_unchanged"] == 1


DECODE_STAGES = ["startup", "input_read", "subcarrier_demod", "frame_sync", "inner_decode",
                 "erasure_decode", "verify_decrypt", "store_merge", "other"]


def test_summary_splits_the_cpu_by_stage(capsys, sig, home):
    status, events, err = decode_in_process(capsys, "--home", home, "--profile", "fm",
                                            "--input", sig[1]["wav"])
    s = events[-1]
    assert status == 0 and s["bundles_applied"] == 1 and err == ""  # stderr not a terminal
    stages = s["stages"]
    assert list(stages) == DECODE_STAGES  # pipeline order; no FM front end for the MPX
    assert all(v >= 0 for v in stages.values()) and stages["verify_decrypt"] > 0
    assert stages["subcarrier_demod"] > 0 and stages["inner_decode"] > 0
    # All but start-up is the decode loop, which seconds_of_cpu measures (rounding aside).
    loop = sum(v for k, v in stages.items() if k != "startup")
    assert loop == pytest.approx(s["seconds_of_cpu"], abs=2e-3)


def test_cu8_summary_has_the_fm_front_end_and_a_terminal_gets_one_line(capsys, monkeypatch,
                                                                       sig, home):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    status, events, err = decode_in_process(capsys, "--home", home, "--profile", "fm",
                                            "--input", sig[1]["cu8"])
    stages = events[-1]["stages"]
    assert status == 0 and list(stages)[:3] == ["startup", "input_read", "fm_demod"]
    assert stages["fm_demod"] > 0 and stages["input_read"] > 0
    (line,) = err.splitlines()
    assert line.startswith("hotcast receiver decode: decoded ") and "x real time" in line
    assert "fm_demod" in line and "inner_decode" in line


def wav_header(channels: int, bits: int, rate: int = MPX_RATE_HZ, frames: int = 1000) -> bytes:
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * block, block, bits)
    body = b"\x00" * (frames * block)
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(body)) + body
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


@pytest.mark.parametrize("case", [
    "missing_file", "unknown_format", "no_rate", "rate_too_low", "rate_not_a_number",
    "three_channel_wav", "12bit_wav", "random_bytes_wav", "unknown_profile", "empty_wav",
])
def test_unusable_input_exits_2_with_a_message_and_store_untouched(capsys, sig, home, tmp_path,
                                                                   case):
    raw = tmp_path / "raw.bin"
    raw.write_bytes(np.random.default_rng(2).integers(0, 256, 10_000, dtype=np.uint8).tobytes())
    args = {
        "missing_file": ["--input", tmp_path / "nope.cu8"],
        "unknown_format": ["--input", raw, "--format", "mp3", "--rate", 1e6],
        "no_rate": ["--input", raw, "--format", "cu8"],
        "rate_too_low": ["--input", sig[1]["s16le"], "--rate", 48_000],
        "rate_not_a_number": ["--input", sig[1]["cu8"], "--rate", "2.4X"],
        "three_channel_wav": ["--input", write_bytes(tmp_path / "c3.wav", wav_header(3, 16))],
        "12bit_wav": ["--input", write_bytes(tmp_path / "b12.wav", wav_header(1, 12))],
        "random_bytes_wav": ["--input", raw, "--format", "wav"],
        "unknown_profile": ["--input", sig[1]["cu8"], "--profile", "audio"],
        "empty_wav": ["--input", write_bytes(tmp_path / "e.wav", b"")],
    }[case]
    if "--profile" not in args:
        args = ["--profile", "fm", *args]
    status, events, err = decode_in_process(capsys, "--home", home, *args)
    assert status == 2, (case, events, err)
    assert err.startswith("hotcast receiver decode: ") and len(err.splitlines()) == 1
    assert events == []
    assert state(home).seq == 0


def write_bytes(path, data):
    path.write_bytes(data)
    return path


def test_no_store_exits_2(capsys, sig, tmp_path):
    status, _, err = decode_in_process(capsys, "--home", tmp_path / "none", "--profile", "fm",
                                       "--input", sig[1]["cu8"])
    assert status == 2 and "no terminal store" in err


@pytest.mark.parametrize("kind", ["random_cu8", "silence_cu8", "noise_wav", "wrong_rate"])
def test_merely_bad_input_exits_0_with_counts(capsys, sig, home, tmp_path, kind):
    rng = np.random.default_rng(11)
    if kind == "wrong_rate":  # plausible but wrong: the subcarrier lands at 83 kHz
        path, extra = sig[1]["s16le"], ["--rate", 250_000]
    elif kind == "random_cu8":
        path = write_bytes(tmp_path / "r.cu8", rng.integers(0, 256, 600_000, dtype=np.uint8).tobytes())
        extra = ["--rate", IQ_RATE_HZ]
    elif kind == "silence_cu8":
        path = write_bytes(tmp_path / "z.cu8", b"\x80" * 600_000)
        extra = ["--rate", IQ_RATE_HZ]
    else:
        path = write_signal(tmp_path / "n.wav", rng.normal(0, 0.2, MPX_RATE_HZ), MPX_RATE_HZ)
        extra = []
    status, events, _ = decode_in_process(capsys, "--home", home, "--profile", "fm",
                                          "--input", path, *extra)
    assert status == 0
    assert events[-1]["event"] == "summary" and events[-1]["bundles_applied"] == 0
    assert events[-1]["frames_ok"] == 0
    if kind == "silence_cu8":
        assert any(e.get("problem") == "flat" for e in events)
    # The hint that nothing was found (and why that might be), before the summary.
    assert [e["problem"] for e in events if e.get("problem") == "no_frames"] == ["no_frames"]
    assert state(home).seq == 0


def test_truncated_capture_decodes_what_is_there(capsys, sig, home, tmp_path):
    data = sig[1]["cu8"].read_bytes()
    cut = write_bytes(tmp_path / "cut.cu8", data[: (len(data) // 3) | 1])  # odd: ends mid-sample
    status, events, _ = decode_in_process(capsys, "--home", home, "--profile", "fm",
                                          "--input", cut, "--rate", IQ_RATE_HZ)
    assert status == 0
    assert any(e.get("problem") == "truncated" for e in events)
    assert events[-1]["event"] == "summary" and events[-1]["bundles_applied"] == 0
    assert state(home).seq == 0  # a third of a cycle: no bundle completed, store untouched


def test_truncated_capture_still_applies_a_bundle_it_holds_whole(capsys, sig, home, tmp_path):
    data = sig[1]["cu8"].read_bytes()  # a cycle, a frame (0.23 s) and 0.2 s of tail
    cut = write_bytes(tmp_path / "cut.cu8", data[: len(data) - 2 * 3 * IQ_RATE_HZ // 10 - 1])
    status, events, _ = decode_in_process(capsys, "--home", home, "--profile", "fm",
                                          "--input", cut, "--rate", IQ_RATE_HZ)
    assert status == 0
    assert any(e.get("problem") == "truncated" for e in events)
    assert_applied(events, sig[0])
    assert state(home).entries == 300


def test_sigterm_stops_cleanly_with_the_summary(sig, home):
    cmd = [sys.executable, "-m", "hotcast", "receiver", "decode", "--home", str(home),
           "--profile", "fm", "--input", "-", "--format", "s16le", "--rate", str(MPX_RATE_HZ)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=ROOT)
    proc.stdin.write(sig[1]["s16le"].read_bytes())
    proc.stdin.flush()  # stdin stays open: the receiver waits for more
    first = proc.stdout.readline()  # "start": the handlers are installed
    assert json.loads(first)["event"] == "start"
    deadline = time.monotonic() + 60
    lines = []
    while time.monotonic() < deadline:  # wait for the bundle, then stop it
        lines.append(json.loads(proc.stdout.readline()))
        if lines[-1]["event"] == "bundle_applied":
            break
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    proc.stdin.close()
    events = lines + events_of(out.decode())
    assert proc.returncode == 0, err
    assert events[-1]["event"] == "summary" and events[-1]["stopped"] == "signal"
    assert events[-1]["bundles_applied"] == 1


def test_listen_rtl_sdr_against_fake_device(capsys, monkeypatch, sig, home):
    capture = sig[1]["cu8"].read_bytes()
    made = []

    def factory(index):
        made.append(FakeRtlSdr(capture, index, loop=True))
        return made[-1]

    monkeypatch.setitem(cli_receiver.DEVICE_FACTORIES, "rtl_sdr", factory)
    status = receiver_main(["listen", "--home", str(home), "--profile", "fm", "--rtl-sdr",
                            "--freq", "89.1e6", "--gain", "20", "--ppm", "3", "--duration", "3"])
    events = events_of(capsys.readouterr().out)
    assert status == 0
    assert_applied(events, sig[0])
    assert ("center_freq", 89_100_000) in made[0].settings and made[0].closed
    assert events[-1]["seconds_of_signal"] == pytest.approx(3, abs=0.15)  # the capture, looped


def test_listen_line_in_against_fake_stream(capsys, monkeypatch, sig, home):
    # A 192 kHz sound card: the carousel resampled by modulating at that rate.
    mpx = modulate(carousel_bits(sig[0].bundles, cycle_frames(sig[0]) + 1), rate_hz=192_000)
    monkeypatch.setitem(cli_receiver.DEVICE_FACTORIES, "line_in",
                        lambda **kw: FakeInputStream(mpx, frozenset({3}), **kw))
    status = receiver_main(["listen", "--home", str(home), "--profile", "fm", "--line-in",
                            "--duration", str(mpx.size / 192_000)])
    events = events_of(capsys.readouterr().out)
    assert status == 0
    assert_applied(events, sig[0])
    assert any(e.get("problem") == "overrun" for e in events)


def test_listen_usage_errors(capsys, home):
    assert receiver_main(["listen", "--home", str(home), "--profile", "fm", "--rtl-sdr"]) == 2
    assert "--freq" in capsys.readouterr().err
    assert receiver_main(["listen", "--home", str(home), "--profile", "fm", "--line-in",
                          "--rate", "48000"]) == 2
    assert "48 kHz" in capsys.readouterr().err
    assert receiver_main(["listen", "--home", str(home), "--profile", "fm", "--rtl-sdr",
                          "--freq", "1e8", "--rate", "500000"]) == 2
    assert "RTL2832U" in capsys.readouterr().err



def air_file(path, blocks):
    lead = np.random.default_rng(12).integers(0, 2, 6000, dtype=np.uint8)
    return write_signal(path, modulate(np.concatenate((lead, FrameGen(FM).process(blocks)))),
                        MPX_RATE_HZ)


def test_forged_bundle_on_air_is_rejected_and_store_untouched(capsys, sig, home, tmp_path):
    forged = bytearray(sig[0].bundles[0])
    forged[len(forged) // 2] ^= 0x40
    blocks = segment(bytes(forged), 1, sig[0].seqs[0], FM)
    status, events, _ = decode_in_process(capsys, "--home", home, "--profile", "fm", "--input",
                                          air_file(tmp_path / "forged.wav", blocks + blocks))
    assert status == 0
    rejected = [e for e in events if e["event"] == "bundle_rejected"]
    assert len(rejected) == 1 and "Error" in rejected[0]["why"]
    assert events[-1]["bundles_applied"] == 0 and events[-1]["bundles_rejected"] == 1
    assert state(home).seq == 0


def test_genuine_and_forged_bundle_with_one_seq_never_mix(capsys, sig, home, tmp_path):
    seq = sig[0].seqs[0]
    genuine = segment(sig[0].bundles[0], 1, seq, FM)
    forged = bytearray(sig[0].bundles[0])
    forged[-100] ^= 0x01
    fake = segment(bytes(forged), 1, seq, FM)
    mixed = [b for pair in zip(fake, genuine) for b in pair]
    status, events, _ = decode_in_process(capsys, "--home", home, "--profile", "fm", "--input",
                                          air_file(tmp_path / "mixed.wav", mixed))
    assert status == 0
    assert [e["seq"] for e in events if e["event"] == "bundle_applied"] == [seq]
    assert len([e for e in events if e["event"] == "bundle_rejected"]) == 1
    assert events[-1]["blocks_inconsistent"] == 0 and events[-1]["bundles_bad_digest"] == 0
    assert state(home).entries == 300


def test_a_delta_heard_before_its_full_list_is_held_then_applied(capsys, sig, home, tmp_path):
    """A terminal that tunes in after the full list went by keeps the delta (``bundle_held``)
    and applies it as soon as the full list comes round (``bundle_applied``, ``held``)."""
    center = sig[0]
    now = int(time.time())
    with CenterHome.open(center.home, PASSPHRASE) as c:
        c.revoke(["4999999999999999"], now=now, by="test")
        delta = c.build(BundleKind.DELTA, now=now, by="test")
    blocks = segment(delta.sealed, 1, delta.seq, FM) + segment(center.bundles[0], 2,
                                                                center.seqs[0], FM)
    status, events, _ = decode_in_process(capsys, "--home", home, "--profile", "fm", "--input",
                                          air_file(tmp_path / "late.wav", blocks))
    assert status == 0
    merged = [(e["event"], e.get("seq"), e.get("held")) for e in events
              if e["event"].startswith("bundle_")]
    assert merged == [("bundle_held", delta.seq, None), ("bundle_applied", center.seqs[0], False),
                      ("bundle_applied", delta.seq, True)]
    assert "DeltaBaseError" in events[[e["event"] for e in events].index("bundle_held")]["why"]
    assert events[-1]["bundles_held"] == 1 and events[-1]["bundles_applied"] == 2
    assert state(home).entries == 301


def v2_frame_bits(n_frames: int, seed: int) -> np.ndarray:
    """A v2 transmission (64-bit v2 sync word + random bytes, differentially encoded QPSK) as
    the bits that make the same symbols on today's absolute Gray QPSK modulator."""
    from framing.frameformat import FRAME_BITS_V2, SYNC_BITS_V2

    rng = np.random.default_rng(seed)
    old = np.concatenate([np.concatenate((SYNC_BITS_V2, rng.integers(
        0, 2, FRAME_BITS_V2 - 64).astype(np.uint8))) for _ in range(n_frames)])
    steps = np.array([0, 1, 3, 2])[old[0::2] * 2 + old[1::2]]  # v2's dibit -> phase step
    gray = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=np.uint8)  # quadrant -> (I, Q)
    return gray[np.cumsum(steps) % 4].reshape(-1)


def test_frames_of_an_older_hotcast_are_named_as_such(capsys, home, tmp_path):
    """A capture made by a hotcast of frame format v2: nothing applied, exit 0, and a hint
    that says what it is (not just "no frames")."""
    lead = np.random.default_rng(13).integers(0, 2, 6000, dtype=np.uint8)
    path = write_signal(tmp_path / "v2.wav", modulate(np.concatenate((lead, v2_frame_bits(8, 14)))),
                        MPX_RATE_HZ)
    status, events, _ = decode_in_process(capsys, "--home", home, "--profile", "fm",
                                          "--input", path)
    assert status == 0
    (old,) = [e for e in events if e.get("problem") == "old_format"]
    assert "frame format v2 from an older hotcast" in old["why"] and old["why"].startswith("8 ")
    assert events[-1]["frames_ok"] == 0 and state(home).seq == 0


def test_a_store_whose_key_file_is_broken_is_refused_before_any_input(capsys, sig, home):
    """The terminal's keys are parsed at start-up: a damaged key file is named at once (exit 2)
    and nothing is read or changed."""
    path = home / "terminal.sqlite"
    conn = sqlite3.connect(path)
    with conn:
        (blob,) = conn.execute("SELECT blob FROM keys").fetchone()
        conn.execute("UPDATE keys SET blob = ?", (bytes(blob)[:-7],))
    conn.close()
    before = path.read_bytes()
    status, events, err = decode_in_process(capsys, "--home", home, "--profile", "fm",
                                            "--input", sig[1]["wav"])
    assert status == 2 and events == []
    assert "key file is corrupted" in err and str(path) in err
    assert path.read_bytes() == before
