"""``center render --profile ir --out NAME.ir`` writes the carousel as a numbered series of
ir-ctl transmissions (each <= 500 ms and 1023 values, pulse first and last, `pulse N`/`space N`
lines); played one after another with gaps between them, a terminal decodes the lists."""

from __future__ import annotations

import json
import re

from center_helpers import NOW

from hotcast.cli import main as hotcast


def test_an_ir_series_plays_into_a_terminal(run, tmp_path, capsys, monkeypatch) -> None:
    assert run("init")[0] == 0
    assert run("revoke", "4929000012341234", "77")[0] == 0
    assert run("build", "--out", str(tmp_path / "l1.hcb"))[0] == 0
    assert run("provision", "--out", str(tmp_path / "t.keys"))[0] == 0
    code, out, err = run("render", "--profile", "ir", "--out", str(tmp_path / "car.ir"))
    assert code == 0, err
    made = json.loads(out.splitlines()[-1])
    files = made["files"]
    assert len(files) > 1 and files[0].endswith("car-0001.ir") and "ir-ctl --send" in made["play"]
    texts = []
    for name in files:
        lines = open(name).read().split("\n")
        lines = [x for x in lines if x]
        assert all(re.fullmatch(r"(pulse|space) [1-9]\d*", x) for x in lines)
        assert lines[0].startswith("pulse") and lines[-1].startswith("pulse")
        assert len(lines) <= 1023
        assert sum(int(x.split()[1]) for x in lines) <= 500_000
        texts.append("\n".join(lines))
    played = tmp_path / "played.ir"  # as a receiver hears the series: a gap between files
    played.write_text("\nspace 125000\n".join(texts) + "\n")
    monkeypatch.setenv("HOTCAST_NOW", str(NOW))
    assert hotcast(["terminal", "init", "--home", str(tmp_path / "t"), "--keys",
                    str(tmp_path / "t.keys")]) == 0
    assert hotcast(["receiver", "decode", "--home", str(tmp_path / "t"), "--profile", "ir",
                    "--input", str(played)]) == 0
    events = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    assert any(e.get("event") == "bundle_applied" and e["kind"] == "full" and e["entries"] == 2
               for e in events)


def test_an_ir_series_is_for_the_ir_profile_only(run, tmp_path) -> None:
    assert run("init")[0] == 0
    code, _, err = run("render", "--profile", "fm", "--out", str(tmp_path / "x.ir"))
    assert code == 2 and "ir profile only" in err
    code, _, err = run("render", "--profile", "ir", "--out", str(tmp_path / "x.ir"), "--rate", "96k")
    assert code == 2 and "--rate" in err
    assert not list(tmp_path.glob("x-*.ir"))


def _air_us(files) -> int:
    return sum(int(line.split()[1]) for name in files for line in open(name).read().split("\n")
               if line)


def test_an_ir_series_of_a_given_duration_ends_at_a_block_sync(run, tmp_path) -> None:
    # Pulse durations have no sample rate: --duration counts microseconds of air (it raised a
    # TypeError, the duration times a rate of None) and cuts only where a block's sync starts.
    assert run("init")[0] == 0
    assert run("build", "--out", str(tmp_path / "l1.hcb"))[0] == 0
    code, out, err = run("render", "--profile", "ir", "--out", str(tmp_path / "d.ir"),
                         "--duration", "5")
    assert code == 0, err
    made = json.loads(out.splitlines()[-1])
    air = _air_us(made["files"])
    one_cycle = _air_us(json.loads(run("render", "--profile", "ir", "--out",
                                       str(tmp_path / "c.ir"))[1].splitlines()[-1])["files"])
    assert 5_000_000 <= air < 5_000_000 + 400_000  # past 5 s by less than one block
    assert air != one_cycle
    assert abs(made["seconds"] - air / 1e6) < 0.01
