"""``hotcast center serve --http ADDR:PORT``: the center service runs beside the scheduler in
one process; a card reported over HTTP lands in the registry and the scheduler builds the
delta that puts it on air, with no `center build` by hand; a bad listen address is refused
before anything goes on air."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx2
from center_helpers import NOW, OPERATOR, wait_for

from center.registry.home import CenterHome

ROOT = Path(__file__).resolve().parents[2]
PASS = "test passphrase"


def _env() -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOTCAST_PASSPHRASE": PASS}
    env.pop("HOTCAST_NOW", None)
    return env


def _listening(log: Path) -> str | None:
    for line in log.read_text().splitlines():
        if line.startswith("{") and '"http_listening"' in line:
            return json.loads(line)["url"]
    return None


def test_a_card_reported_over_http_is_built_into_a_delta_by_serve(run, tmp_path) -> None:
    assert run("init", "--universe", "0-999999999999999")[0] == 0
    home = tmp_path / "home"
    with CenterHome.open(home, PASS) as h:
        h.revoke([111], now=NOW, by=OPERATOR)
        token = h.add_operator("desk", "operator", now=NOW, by=OPERATOR)
    log = tmp_path / "serve.log"
    proc = subprocess.Popen([sys.executable, "-m", "hotcast", "center", "serve", "--home",
                             str(home), "--http", "127.0.0.1:0"], stdout=subprocess.DEVNULL,
                            stderr=open(log, "ab"), env=_env(), cwd=ROOT)
    try:
        url = wait_for(lambda: _listening(log))
        with CenterHome.open(home) as h:
            wait_for(lambda: any(r["kind"] == "full" for r in h.history()))
        r = httpx2.put(f"{url}/v1/cards/424242", json={"reason": "stolen", "note": "caller"},
                      headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert r.status_code == 200, r.text

        def built_with_it() -> bool:
            with CenterHome.open(home) as h:
                rows = [x for x in h.history() if x["kind"] in ("full", "delta")]
                return rows[-1]["entries"] == 2 and rows[-1]["kind"] == "delta"
        wait_for(built_with_it)
        refused = httpx2.put(f"{url}/v1/cards/424243", json={}, timeout=30)
        assert refused.status_code == 401
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    with CenterHome.open(home) as h:
        assert sorted(e.card_id for e in h.list_entries()) == [111, 424242]


def test_a_bad_listen_address_refuses_to_start(run, tmp_path) -> None:
    assert run("init", "--universe", "0-999999999999999")[0] == 0
    done = subprocess.run([sys.executable, "-m", "hotcast", "center", "serve", "--home",
                           str(tmp_path / "home"), "--http", "localhost:http"],
                          capture_output=True, text=True, env=_env(), cwd=ROOT, timeout=120)
    assert done.returncode == 2 and "--http localhost:http" in done.stderr
