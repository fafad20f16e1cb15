"""End to end on a real socket: an operator reports a card over HTTP, the center builds (as
the scheduler would), and a POS with a network line pulls it with ``hotcast terminal pull``
and refuses the card; a second pull of nothing new is a 304."""

from __future__ import annotations

import json

import httpx2
import pytest
from center_helpers import NOW, PASSPHRASE
from service_helpers import CARD, make_env, home_template  # noqa: F401  (fixture)

from center.registry.home import CenterHome
from center.service import start_http
from crypto import BundleKind
from hotcast import cli


def _hotcast(capsys, *argv) -> tuple[int, list[dict], str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


@pytest.fixture
def world(tmp_path, home_template, monkeypatch):
    monkeypatch.setenv("HOTCAST_NOW", str(NOW))
    env = make_env(tmp_path, template=home_template)
    with CenterHome.open(env.home_path, PASSPHRASE) as home:
        home.revoke(["4000000000000001"], "lost", now=NOW, by="desk")
        home.build(BundleKind.FULL, now=NOW, by="desk")
        (tmp_path / "t.keys").write_bytes(home.provision(now=NOW, by="desk"))
    (tmp_path / "token").write_text(env.tokens["terminal"] + "\n")
    service = start_http(env.home_path, "127.0.0.1:0", passphrase=PASSPHRASE, clock=env.clock,
                         operators=env.operators)
    yield env, service, tmp_path
    service.stop()


def test_a_card_reported_over_http_reaches_a_pulling_pos(world, capsys, monkeypatch):
    env, service, tmp = world
    terminal = str(tmp / "pos")
    assert _hotcast(capsys, "terminal", "init", "--home", terminal, "--keys",
                    str(tmp / "t.keys"))[0] == 0
    pull = ("terminal", "pull", "--home", terminal, service.url, "--token-file",
            str(tmp / "token"))
    code, lines, err = _hotcast(capsys, *pull)
    assert code == 0, err
    assert lines[-1]["event"] == "pull_done" and lines[-1]["list_seq"] == 1

    with httpx2.Client(base_url=service.url, headers=env.auth("operator")) as desk:
        r = desk.put(f"/v1/cards/{CARD}", json={"reason": "stolen", "note": "phone call"})
        assert r.status_code == 200
    env.clock.now = NOW + 30
    monkeypatch.setenv("HOTCAST_NOW", str(NOW + 30))
    with CenterHome.open(env.home_path, PASSPHRASE) as home:
        home.build(BundleKind.DELTA, now=NOW + 30, by="scheduler")
    code, lines, err = _hotcast(capsys, *pull)
    assert code == 0, err
    assert [(ln["event"], ln.get("kind")) for ln in lines] == [
        ("bundle_applied", "delta"), ("bundle_applied", "heartbeat"), ("pull_done", None)]
    code, lines, _ = _hotcast(capsys, "terminal", "check", "--home", terminal, CARD)
    assert lines[0]["verdict"] == "refuse" and lines[0]["reason"] == "stolen"
    assert lines[0]["list_seq"] == 2 and lines[0]["stale"] is False

    code, lines, _ = _hotcast(capsys, *pull)
    assert code == 0 and [ln["event"] for ln in lines] == ["pull_unchanged"]


def test_a_pos_with_an_operators_token_pulls_too_but_a_wrong_token_does_not(world, capsys):
    env, service, tmp = world
    terminal = str(tmp / "pos")
    _hotcast(capsys, "terminal", "init", "--home", terminal, "--keys", str(tmp / "t.keys"))
    (tmp / "bad").write_text("hc_wrong\n")
    code, lines, err = _hotcast(capsys, "terminal", "pull", "--home", terminal, service.url,
                                "--token-file", str(tmp / "bad"))
    assert code == 2 and "401" in err and "unknown or revoked" in err and lines == []
    code, _, err = _hotcast(capsys, "terminal", "pull", "--home", terminal, service.url)
    assert code == 2 and "no bearer token" in err
