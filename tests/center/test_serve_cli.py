"""``hotcast center serve`` and ``center status`` from the command line: the example and the
default plan, refusals before anything goes on air, a clean stop on SIGTERM, the status of a
running, stopped or vanished serve, and (slow) SIGKILL and restart."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from center_helpers import NOW, OPERATOR, dump_home, wait_for

from center.air.live import LiveCarousel
from center.air.plan import example_plan_text, parse_plan
from center.air.plan_toml import PlanError
from center.air.serve import Serve
from center.air.status import status_path, write_status
from center.registry.home import CenterHome

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def home(run, tmp_path: Path) -> Path:
    assert run("init", "--universe", "0-999999999999999")[0] == 0
    with CenterHome.open(tmp_path / "home") as h:
        h.revoke([111, 222], now=NOW, by=OPERATOR)
    return tmp_path / "home"


def test_the_example_plan_is_printed(run) -> None:
    code, out, _ = run("serve", "--example-plan")
    assert code == 0 and out == example_plan_text() and "[[channels]]" in out


@pytest.mark.parametrize("plan, words", [
    ('[[channels]]\nname = "a"\nprofile = "fm"\nouput = "sound-card"\n',
     "serve.toml:4: channels[0].ouput: unknown key"),
    ('[[channels]]\nname = "a"\nprofile = "fm"\n', "serve.toml:1: channels[0]: missing 'output'"),
    ('[[channels]]\nname = "a"\nprofile = "qam"\noutput = "sound-card"\n',
     "serve.toml:3: channels[0].profile: unknown profile 'qam'"),
    ('[serve]\npoll = "0s"\n[[channels]]\nname = "a"\nprofile = "fm"\noutput = "sound-card"\n',
     "serve.toml:2: serve.poll: must be more than 0 s"),
])
def test_a_bad_plan_refuses_to_start_and_changes_nothing(home, run, plan, words) -> None:
    (home / "serve.toml").write_text(plan)
    before = dump_home(home)
    code, _, err = run("serve")
    assert code == 2 and words in err, err
    assert dump_home(home) == before
    assert not status_path(home).exists()


def test_a_stream_to_a_regular_file_refuses_to_start(home, tmp_path: Path) -> None:
    plan = parse_plan('[[channels]]\nname = "a"\nprofile = "fm"\n'
                      'output = { kind = "stream" }\n', "serve.toml", home)
    before = dump_home(home)
    with open(tmp_path / "out.raw", "wb") as regular:
        serve = Serve(plan, home, passphrase=lambda: "test passphrase", by=OPERATOR,
                      log=lambda line: None, stdout=regular)
        with pytest.raises(PlanError) as err:
            serve.run()
    assert str(err.value) == ("serve.toml:4: channels[0].output: cannot open stream s16le to "
                              "standard output: standard output is a regular file: an endless "
                              "stream would fill the disk; use kind = \"files\"")
    assert dump_home(home) == before


def test_a_wrong_passphrase_refuses_to_start(home, run, monkeypatch) -> None:
    monkeypatch.setenv("HOTCAST_PASSPHRASE", "not it")
    code, _, err = run("serve")
    assert code == 2 and "cannot open the center keys" in err


def test_serve_with_the_default_plan_stops_cleanly_on_sigterm(home, run) -> None:
    timer = threading.Timer(2.5, lambda: os.kill(os.getpid(), signal.SIGTERM))
    timer.start()
    code, _, err = run("serve")
    timer.join()
    assert code == 0, err
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert lines[0]["event"] == "start" and lines[0]["plan"] == "<built-in default plan>"
    assert any(l["event"] == "built" and l["kind"] == "full" for l in lines)
    assert lines[-1] == {**lines[-1], "event": "stopped", "why": "SIGTERM"}
    air = sorted((home / "serve" / "air").glob("fm-*.wav"))
    assert [p.name for p in air] == ["fm-00000001.wav"]
    assert (home / "serve" / "air" / "fm-00000001.wav.sigmf-meta").exists()
    status = json.loads(status_path(home).read_text())
    assert status["channels"][0]["state"] == "stopped"
    code, out, _ = run("status")
    serve = json.loads(out)["serve"]
    assert not serve["running"] and serve["why"].startswith("serve stopped")


def _status_doc(pid: int, updated_at: float) -> dict:
    return {"updated_at": updated_at, "pid": pid, "started_at": int(updated_at) - 60,
            "plan": "/etc/hotcast/serve.toml",
            "channels": [{"name": "exciter", "profile": "fm", "output": "sound card 3",
                          "state": "retrying", "on_air": [{"kind": "full", "epoch": 1, "seq": 4}],
                          "behind_s": 0.25, "last_error": "writing: SoundCardError: unplugged",
                          "cycle_s": 12.5, "worst_wait_s": 9.75}],
            "warnings": ["key set v1 expires soon"]}


def test_center_status_shows_each_running_channel(home, run) -> None:
    (home / "serve").mkdir(mode=0o700)
    write_status(status_path(home), _status_doc(os.getpid(), NOW - 1))
    code, out, _ = run("status")
    serve = json.loads(out)["serve"]
    assert code == 0 and serve["running"] and serve["age_s"] == 1
    assert serve["channels"][0]["last_error"] == "writing: SoundCardError: unplugged"
    code, out, _ = run("status", "--table")
    assert "exciter" in out and "fm -> sound card 3: retrying, behind 0.25 s" in out
    assert "full 4" in out and "SoundCardError: unplugged" in out
    assert any(line.startswith("SERVE WARNING") and line.endswith("key set v1 expires soon")
               for line in out.splitlines())


def test_center_status_says_when_serve_is_not_running(home, run) -> None:
    code, out, _ = run("status")
    assert "no status file" in json.loads(out)["serve"]["why"]
    (home / "serve").mkdir(mode=0o700)
    write_status(status_path(home), _status_doc(os.getpid(), NOW - 30))
    serve = json.loads(run("status")[1])["serve"]
    assert not serve["running"] and "30 s old" in serve["why"]
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    write_status(status_path(home), _status_doc(gone.pid, NOW))
    serve = json.loads(run("status")[1])["serve"]
    assert not serve["running"] and f"pid {gone.pid} is gone" in serve["why"]
    status_path(home).write_text("{not json")
    serve = json.loads(run("status")[1])["serve"]
    assert not serve["running"] and "cannot read" in serve["why"]


# -- a real process, killed and restarted -----------------------------------------------------

PLAN = """
[serve]
poll = "100ms"
[lists]
heartbeat_every = "5s"
[[channels]]
name = "line"
profile = "audio-robust"
output = { kind = "files", dir = "air", file_seconds = 1 }
[[channels]]
name = "ir"
profile = "ir"
output = { kind = "ir-files", dir = "ir" }
"""


def _serve(home: Path, log: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOTCAST_PASSPHRASE": "test passphrase"}
    env.pop("HOTCAST_NOW", None)
    return subprocess.Popen([sys.executable, "-m", "hotcast", "center", "serve", "--home",
                             str(home)], stdout=subprocess.DEVNULL, stderr=open(log, "ab"),
                            env=env, cwd=ROOT)


def _lists(home: Path) -> list[dict]:
    with CenterHome.open(home) as h:
        return [r for r in h.history() if r["kind"] in ("full", "delta")]


@pytest.mark.slow
def test_sigkill_and_restart_resume_with_sequence_numbers_that_never_repeat(home, tmp_path) -> None:
    (home / "serve.toml").write_text(PLAN)
    log = tmp_path / "serve.log"
    cards = iter(range(1000, 2000))
    proc = _serve(home, log)
    try:
        wait_for(lambda: _lists(home))
        for _ in range(3):
            with CenterHome.open(home, "test passphrase") as h:
                h.revoke([next(cards)], now=int(time.time()), by="elsewhere")
            n = len(_lists(home))
            wait_for(lambda n=n: len(_lists(home)) > n)
        with CenterHome.open(home, "test passphrase") as h:  # and one that may be mid-build
            h.revoke([next(cards)], now=int(time.time()), by="elsewhere")
        time.sleep(0.12)
        proc.kill()
        assert proc.wait() == -signal.SIGKILL
        killed_with = sorted(p.name for p in (home / "air").iterdir())
        proc = _serve(home, log)
        wait_for(lambda: (json.loads(status_path(home).read_text())["pid"] == proc.pid
                           and (home / "air" / "line-00000001.wav").exists()))
        with CenterHome.open(home, "test passphrase") as h:
            h.revoke([next(cards)], now=int(time.time()), by="elsewhere")
            listed = h.count()
        wait_for(lambda: _lists(home)[-1]["entries"] == listed)
        time.sleep(1.5)  # a few more files
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    rows = _lists(home)
    assert [r["seq"] for r in rows] == list(range(1, len(rows) + 1))  # no repeat, no gap
    assert all(b["prev"] == a["sha256"] for a, b in zip(rows, rows[1:]))  # one chain
    assert rows[0]["kind"] == "full" and rows[-1]["entries"] == listed == 2 + 5
    names = sorted(p.name for p in (home / "air").iterdir())
    assert not [n for n in names if n.endswith(".part")]  # the killed run's part file is gone
    wavs = [n for n in names if n.endswith(".wav")]
    assert all(f"{w}.sigmf-meta" in names for w in wavs)
    assert len(wavs) > len([n for n in killed_with if n.endswith(".wav")])
    lines = [json.loads(l) for l in log.read_text().splitlines() if l.startswith("{")]
    assert [l["why"] for l in lines if l["event"] == "stopped"] == ["SIGTERM"]
    built = [(l["kind"], l["seq"]) for l in lines if l["event"] == "built"]
    assert len(set(built)) == len(built)


@pytest.mark.slow
def test_stream_to_standard_output_decodes_and_stops_at_a_frame_boundary(home, tmp_path) -> None:
    (home / "serve.toml").write_text('[[channels]]\nname = "sca"\nprofile = "fm"\n'
                                     'output = { kind = "stream", format = "s16le" }\n')
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOTCAST_PASSPHRASE": "test passphrase"}
    env.pop("HOTCAST_NOW", None)
    proc = subprocess.Popen([sys.executable, "-m", "hotcast", "center", "serve", "--home",
                             str(home)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            env=env)
    data = bytearray()

    def read() -> None:
        while chunk := proc.stdout.read1(1 << 16):
            data.extend(chunk)

    reader = threading.Thread(target=read)
    reader.start()
    wait_for(lambda: len(data) > 228_000 * 2 * 3)  # three seconds of MPX
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    reader.join()
    # lead-in, whole frames, then the modulator's tail: the stop came at a frame boundary
    live = LiveCarousel("fm")
    lead = round(live.frame_start_s(0) * 228_000)
    frame = round(live.frame_s * 228_000)
    live.process(1)
    tail = live.flush().size
    samples = len(data) // 2
    assert len(data) % 2 == 0 and (samples - lead - tail) % frame == 0
    mpx = tmp_path / "air.s16le"
    mpx.write_bytes(bytes(data))
    keys, term = tmp_path / "t.keys", tmp_path / "terminal"
    hc = [sys.executable, "-m", "hotcast"]
    subprocess.run(hc + ["center", "provision", "--home", str(home), "--out", str(keys)],
                   env=env, check=True, capture_output=True)
    subprocess.run(hc + ["terminal", "init", "--home", str(term), "--keys", str(keys)], env=env,
                   check=True, capture_output=True)
    out = subprocess.run(hc + ["receiver", "decode", "--home", str(term), "--profile", "fm",
                               "--format", "s16le", "--rate", "228000", "--input", str(mpx)],
                         env=env, check=True, capture_output=True, text=True).stdout
    events = [json.loads(line) for line in out.splitlines()]
    assert any(e["event"] == "bundle_applied" and e["kind"] == "full" for e in events)
    summary = events[-1]
    assert summary["frames_bad"] == 0 and summary["frames_ok"] >= 10
    check = subprocess.run(hc + ["terminal", "check", "--home", str(term), "111", "333"],
                           env=env, check=True, capture_output=True, text=True).stdout
    assert [json.loads(l)["verdict"] for l in check.splitlines()] == ["refuse", "accept"]
