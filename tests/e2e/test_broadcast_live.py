"""Live on air: `hotcast center broadcast --out -` piped into `hotcast receiver decode --input -`.

While both run, a card is revoked and `center build --delta` records a delta; the broadcast
must put it on air at the next frame boundary after its poll, and the terminal must apply it
and refuse the card. The carousel also carries the key set, heartbeats and an announcement. Then SIGTERM stops the broadcast cleanly (exit 0, summary), the
decoder sees the end of its input and exits 0. Every wait is bounded; a hang fails the test.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.receiver.test_pipeline_signal import ROOT

RATE = "228000"
CARD = "4000000000000003"


ENV = {**os.environ, "HOTCAST_PASSPHRASE": "test"}  # of the center and its trial root
ENV.pop("HOTCAST_NOW", None)  # the broadcast runs live, on the clock


def hotcast(*args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "hotcast", *args], capture_output=True,
                          cwd=ROOT, timeout=60, text=True, env=ENV)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def lines_of(stream, into: queue.Queue) -> threading.Thread:
    """Read JSON lines from ``stream`` into ``into`` on a daemon thread (None at the end)."""
    def pump() -> None:
        for line in stream:
            if line.strip():
                into.put(json.loads(line))
        into.put(None)

    t = threading.Thread(target=pump, daemon=True)
    t.start()
    return t


def wait_for(events: queue.Queue, seen: list, match, timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        left = deadline - time.monotonic()
        assert left > 0, f"timed out; saw {seen[-5:]}"
        try:
            event = events.get(timeout=left)
        except queue.Empty:
            continue
        assert event is not None, f"stream ended; saw {seen[-5:]}"
        seen.append(event)
        if match(event):
            return event


@pytest.mark.slow
def test_a_delta_built_while_on_air_reaches_a_listening_terminal(tmp_path: Path) -> None:
    center, term = str(tmp_path / "c"), str(tmp_path / "t")
    hotcast("center", "init", "--home", center, "--by", "test")
    hotcast("center", "revoke", "--home", center, "--by", "test", "4000000000000001")
    hotcast("center", "build", "--home", center, "--by", "test", "--out", str(tmp_path / "b1"))
    hotcast("center", "provision", "--home", center, "--by", "test", "--out", str(tmp_path / "k"))
    hotcast("terminal", "init", "--home", term, "--keys", str(tmp_path / "k"))
    env = ENV
    tx = subprocess.Popen(
        [sys.executable, "-m", "hotcast", "center", "broadcast", "--home", center, "--profile",
         "fm", "--out", "-", "--format", "s16le", "--rate", RATE, "--poll", "0.2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, env=env)
    rx = subprocess.Popen(
        [sys.executable, "-m", "hotcast", "receiver", "decode", "--home", term, "--profile", "fm",
         "--input", "-", "--format", "s16le", "--rate", RATE],
        stdin=tx.stdout, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, env=env,
        text=True)
    tx.stdout.close()  # the decoder holds the read end now
    tx_events, rx_events = queue.Queue(), queue.Queue()
    tx_seen, rx_seen = [], []
    lines_of(rx.stdout, rx_events)
    lines_of(open(tx.stderr.fileno(), encoding="utf-8", closefd=False), tx_events)
    try:
        wait_for(rx_events, rx_seen, lambda e: e.get("event") == "bundle_applied"
                 and e["kind"] == "full", 60)
        t_report = time.time()
        hotcast("center", "revoke", "--home", center, "--by", "test", CARD)
        hotcast("center", "build", "--home", center, "--by", "test", "--delta",
                "--out", str(tmp_path / "b2"))
        applied = wait_for(rx_events, rx_seen, lambda e: e.get("event") == "bundle_applied"
                           and e["kind"] == "delta", 60)
        t_applied = time.time()
        assert applied["kind"] == "delta" and applied["entries"] == 2
        on_air = wait_for(tx_events, tx_seen, lambda e: e.get("seq") == 2
                          and e.get("kind") == "delta", 10)
        assert on_air["event"] == "on_air" and on_air["urgent"] is True
        assert 0 <= on_air["latency_s"] < 10
        tx.send_signal(signal.SIGTERM)
        assert tx.wait(timeout=30) == 0
        summary = wait_for(tx_events, tx_seen, lambda e: e.get("event") == "summary", 10)
        assert summary["stopped"] == "signal" and set(summary["on_air"]) == {1, 2}
        assert rx.wait(timeout=60) == 0  # end of input after the broadcast's tail
        last = wait_for(rx_events, rx_seen, lambda e: e.get("event") == "summary", 10)
        assert last["bundles_applied"] >= 2 and last["frames_bad"] == 0
        assert last["bundles_rejected"] == 0 and last["bundles_held"] == 0
        assert not [e for e in rx_seen if e["event"] in ("bundle_rejected", "fork_detected")]
    finally:
        for proc in (tx, rx):
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
    verdict = json.loads(hotcast("terminal", "check", "--home", term, CARD))
    assert (verdict["verdict"], verdict["list_seq"]) == ("refuse", 2)
    assert t_applied - t_report < 30  # generous: the pipe runs faster than real time
