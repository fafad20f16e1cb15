"""The two command lines meet: `hotcast center render` writes the carousel (the key set, the
latest full list, the delta after it, a heartbeat and an announcement), `hotcast receiver
decode` reads it into a fresh terminal (file and pipe), then `terminal check` refuses a card
and `terminal status` says the list is current."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.receiver.test_pipeline_signal import ROOT, events_of, run_cli

CARDS = [str(4_000_000_000_000_000 + 7919 * i) for i in range(200)]


ENV = {**os.environ, "HOTCAST_PASSPHRASE": "test"}  # of the center and its trial root


def hotcast(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "hotcast", *args], input=stdin, env=ENV,
                          capture_output=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    return proc


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    d = tmp_path_factory.mktemp("render")
    center = d / "center"
    hotcast("center", "init", "--home", str(center), "--by", "test")
    hotcast("center", "revoke", "--home", str(center), "--by", "test", *CARDS)
    hotcast("center", "build", "--home", str(center), "--by", "test", "--out", str(d / "b1"))
    hotcast("center", "revoke", "--home", str(center), "--by", "test", "--reason", "lost",
            "4999999999999999")
    hotcast("center", "build", "--home", str(center), "--by", "test", "--delta",
            "--out", str(d / "b2"))  # from the latest full list
    hotcast("center", "provision", "--home", str(center), "--by", "test", "--out", str(d / "keys"))
    hotcast("center", "render", "--home", str(center), "--by", "test", "--profile", "fm",
            "--out", str(d / "air.cu8"), "--duration", "3", "--with-programme")
    hotcast("center", "render", "--home", str(center), "--by", "test", "--profile", "fm",
            "--out", str(d / "air.wav"))
    return d


@pytest.mark.parametrize("name, via", [("air.cu8", "file"), ("air.wav", "stdin")])
def test_render_then_decode(rendered, tmp_path, name, via):
    home = tmp_path / "t"
    hotcast("terminal", "init", "--home", str(home), "--keys", str(rendered / "keys"))
    path = rendered / name
    if via == "file":
        r = run_cli("decode", "--home", str(home), "--profile", "fm", "--input", str(path))
    else:
        r = run_cli("decode", "--home", str(home), "--profile", "fm", "--input", "-",
                    "--format", "wav", stdin=path.read_bytes())
    assert r.returncode == 0, r.stderr
    events = events_of(r.stdout)
    merged = {(e["event"], e.get("kind"), e.get("seq")) for e in events
              if e["event"].startswith("bundle_")}
    assert {("bundle_unchanged", "key_set", 1), ("bundle_applied", "full", 1),
            ("bundle_applied", "delta", 2), ("bundle_applied", "heartbeat", 2)} <= merged, events
    assert not [e for e in events if e["event"] in ("bundle_rejected", "fork_detected")]
    assert events[-1]["bundles_applied"] == 3 and events[-1]["bundles_rejected"] == 0
    check = hotcast("terminal", "check", "--home", str(home), CARDS[0], "4999999999999999", "12")
    verdicts = [json.loads(line) for line in check.stdout.decode().splitlines()]
    assert [v["verdict"] for v in verdicts] == ["refuse", "refuse", "accept"]
    assert verdicts[0]["list_seq"] == 2 and not any(v["stale"] for v in verdicts)
    status = json.loads(hotcast("terminal", "status", "--home", str(home)).stdout)
    assert status["heartbeat"]["seq"] == 2 and status["stale_why"] is None
