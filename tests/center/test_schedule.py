"""``schedule_rows`` and ``hotcast center schedule --show``: what goes on air when, per channel."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from center_helpers import NOW, OPERATOR, dump_home, make_home, root_of

from center.air.plan import parse_plan
from center.air.schedule import schedule_rows
from center.air.serve_cli import schedule_table
from crypto import BundleKind

PLAN = """
[lists]
full_every = "6h"
heartbeat_every = "10m"
[keys]
lead = "1h"
roll_master_every = "2d"
[[channels]]
name = "exciter"
profile = "fm"
output = { kind = "sound-card" }
[channels.policy]
full_every = "5m"
[[channels]]
name = "counter"
profile = "ir"
output = { kind = "ir-files", dir = "ir" }
"""


@pytest.fixture
def home(tmp_path: Path):
    with make_home(tmp_path / "home") as h:
        h.revoke([4_000_000_000_000_000 + i for i in range(500)], now=NOW, by=OPERATOR)
        h.build(BundleKind.FULL, now=NOW, by=OPERATOR)
        h.revoke([4_100_000_000_000_000], now=NOW + 5, by=OPERATOR)
        h.build(BundleKind.DELTA, now=NOW + 5, by=OPERATOR)
        yield h


def plan_of(tmp_path: Path, text: str = PLAN):
    return parse_plan(text, "plan.toml", tmp_path)


def test_rows_per_channel_now_and_ahead(home, tmp_path: Path) -> None:
    now = NOW + 60
    rows = schedule_rows(plan_of(tmp_path), home, now, 49)
    assert [r["at"] for r in rows] == sorted(r["at"] for r in rows)
    assert all({"channel", "at", "what", "kind", "seq"} <= set(r) for r in rows)
    for name in ("exciter", "counter"):
        mine = [r for r in rows if r["channel"] == name]
        (cycle,) = [r for r in mine if r["kind"] == "cycle"]
        assert cycle["at"] == now and cycle["cycle_s"] > 0 and cycle["worst_wait_s"] > 0
        on_air = {(r["kind"], r["seq"]) for r in mine if r["at"] == now and "period_s" in r}
        assert on_air == {("full", 1), ("delta", 2), ("key_set", 1), ("heartbeat", 2),
                          ("announce", 1)}
        (rule,) = [r for r in mine if r["kind"] == "delta" and r["seq"] is None]
        assert rule["wait_s"] > 0 and "next frame boundary" in rule["what"]
        beats = [r for r in mine if r["kind"] == "heartbeat" and "period_s" not in r]
        assert len(beats) == 49 * 6 + 1 and beats[1]["at"] - beats[0]["at"] == 600
        fulls = [r["at"] for r in mine if r["kind"] == "full" and r["seq"] is None]
        assert fulls[:3] == [NOW + 6 * 3600, NOW + 12 * 3600, NOW + 18 * 3600]
        (roll,) = [r for r in mine if r["kind"] == "master_roll" and "period_s" not in r]
        assert roll["at"] == NOW + 2 * 86_400 and roll["seq"] == 2
        assert NOW + 2 * 86_400 + 3600 in fulls  # re-sealed when the roll takes effect
    fm = {r["kind"]: r for r in rows if r["channel"] == "exciter" and "period_s" in r}
    ir = {r["kind"]: r for r in rows if r["channel"] == "counter" and "period_s" in r}
    assert fm["full"]["period_s"] == pytest.approx(300.0, rel=0.02)  # full_every 5m
    # the rest of fm's air repeats the small items: the delta far more often than on ir
    assert fm["delta"]["period_s"] * 10 < ir["delta"]["period_s"]


def test_a_key_set_imported_ahead_is_scheduled_lead_before(home, tmp_path: Path) -> None:
    valid_from = NOW + 10 * 3600
    request = home.request_keyset(now=valid_from, by=OPERATOR)
    home.import_trust([root_of(home).sign_keyset(request)], now=NOW + 60, by=OPERATOR)
    rows = schedule_rows(plan_of(tmp_path), home, NOW + 60, 12)
    (ks,) = [r for r in rows if r["channel"] == "counter" and r["kind"] == "key_set"
             and "period_s" not in r]
    assert ks["at"] == valid_from - 3600 and ks["seq"] == 2
    assert any(r["kind"] == "full" and r["at"] == valid_from and "key set v2" in r["what"]
               for r in rows)
    later = schedule_rows(plan_of(tmp_path), home, valid_from - 1800, 1)
    assert ("key_set", 2) in {(r["kind"], r["seq"]) for r in later if "period_s" in r}


def test_nothing_built_yet(tmp_path: Path) -> None:
    with make_home(tmp_path / "bare", with_keyset=False) as bare:
        rows = schedule_rows(plan_of(tmp_path), bare, NOW, 1)
    assert {r["kind"] for r in rows} == {"cycle", "warning"}
    with pytest.raises(ValueError, match="hours"):
        schedule_rows(plan_of(tmp_path), bare, NOW, 0)


def test_schedule_show_prints_json_lines_in_a_pipe(home, run, tmp_path: Path) -> None:
    (tmp_path / "home" / "serve.toml").write_text(PLAN)
    before = dump_home(tmp_path / "home")
    code, out, err = run("schedule", "--show", "--hours", "2")
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows and all(r["at_utc"].endswith("Z") for r in rows)
    assert {r["channel"] for r in rows} == {"exciter", "counter"}
    assert dump_home(tmp_path / "home") == before  # showing changes nothing
    code, out, err = run("schedule", "--show", "--json", "--config", str(tmp_path / "x.toml"))
    assert code == 2 and "cannot read the plan" in err


@pytest.mark.parametrize("argv, words", [
    (["schedule"], "--show"),
    (["schedule", "--show", "--hours", "0"], "--hours"),
    (["schedule", "--show", "--hours", "nan"], "--hours"),
])
def test_schedule_bad_usage(home, run, argv, words) -> None:
    code, _, err = run(*argv)
    assert code == 2 and words in err


def test_the_table_has_one_line_per_row(home, tmp_path: Path) -> None:
    rows = schedule_rows(plan_of(tmp_path), home, NOW + 60, 1)
    text = schedule_table(rows)
    lines = text.splitlines()
    assert lines[0].split()[:2] == ["time", "(UTC)"] and len(lines) == len(rows) + 1
    assert "exciter" in lines[1] and lines[1].startswith("2026-09-21T")
