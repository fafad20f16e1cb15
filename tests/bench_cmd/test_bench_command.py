"""``hotcast bench`` end to end on fake sections (fast): JSON on stdout only, --out, --compare,
bad usage."""

from __future__ import annotations

import json
import types

import pytest

from hotcast import cli
from hotcast.bench import command
from hotcast.bench.model import Figure, Section


def _fake_loader(speed_value: float):
    def load(name):
        if name in ("link", "peers"):
            return None
        module = types.ModuleType(name)

        def run(ctx):
            ctx.progress(f"{name} step")
            if name == "memory":
                raise RuntimeError("no memory today")
            return Section(name, name.title(), figures=[
                Figure(f"{name}.fm.x_realtime", speed_value, "x", f"{name} fm", "higher",
                       0.01, 3)])

        module.run = run
        return module
    return load


@pytest.fixture
def fake_sections(monkeypatch):
    monkeypatch.setattr(command, "LOADER", _fake_loader(20.0))
    return monkeypatch


def test_json_is_one_document_on_stdout_and_nothing_on_stderr(fake_sections, capsys):
    code = cli.main(["bench", "--json", "--only", "speed,stages,memory,link"])
    out, err = capsys.readouterr()
    doc = json.loads(out)
    assert code == 1  # memory failed: reported, and the exit status says so
    assert err == ""  # not a terminal: no progress line
    assert [(s["name"], s["status"]) for s in doc["sections"]] == [
        ("speed", "ok"), ("stages", "ok"), ("memory", "failed"), ("acquisition", "skipped"),
        ("ttp", "skipped"), ("link", "missing"), ("peers", "skipped"), ("suite", "skipped")]
    assert doc["options"]["only"] == ["speed", "stages", "memory", "link"]
    for key in ("machine", "versions", "git", "date", "duration_s"):
        assert key in doc
    assert doc["machine"]["cores"] >= 1 and doc["versions"]["numpy"]


def test_quick_leaves_out_the_suite(fake_sections, capsys):
    cli.main(["bench", "--json", "--quick"])
    doc = json.loads(capsys.readouterr().out)
    status = {s["name"]: s["status"] for s in doc["sections"]}
    assert status["suite"] == "skipped" and status["speed"] == "ok"


def test_suite_option_runs_the_suite_alone(fake_sections, capsys):
    cli.main(["bench", "--json", "--suite"])
    doc = json.loads(capsys.readouterr().out)
    assert [s["name"] for s in doc["sections"] if s["status"] != "skipped"] == ["suite"]


def test_out_writes_the_report_and_compare_flags_a_slowdown(fake_sections, tmp_path, capsys,
                                                              monkeypatch):
    cli.main(["bench", "--only", "speed", "--out", str(tmp_path / "old")])
    capsys.readouterr()
    assert {p.name for p in (tmp_path / "old").iterdir()} >= {"results.json", "report.md",
                                                              "report.html"}
    monkeypatch.setattr(command, "LOADER", _fake_loader(15.0))  # 25 % slower
    code = cli.main(["bench", "--only", "speed", "--compare",
                     str(tmp_path / "old" / "results.json")])
    out = capsys.readouterr().out
    assert code == 0
    assert "WORSE  speed fm: 20 -> 15 x (-25.0%" in out
    code = cli.main(["bench", "--json", "--only", "speed", "--compare",
                     str(tmp_path / "old" / "results.json")])
    doc = json.loads(capsys.readouterr().out)
    assert doc["compare"]["changes"][0]["verdict"] == "worse"


@pytest.mark.parametrize("argv, message", [
    (["--only", "speed,warp"], "unknown section(s) warp"),
    (["--suite", "--only", "speed"], "not both"),
    (["--compare", "/no/such/old.json"], "cannot read it"),
])
def test_bad_usage_exits_2_and_runs_nothing(fake_sections, capsys, argv, message):
    assert cli.main(["bench", *argv]) == 2
    out, err = capsys.readouterr()
    assert out == "" and message in err


def test_compare_refuses_a_file_that_is_not_a_bench_result(fake_sections, tmp_path, capsys):
    bad = tmp_path / "x.json"
    bad.write_text('{"hello": 1}')
    assert cli.main(["bench", "--compare", str(bad)]) == 2
    assert "not a hotcast bench result" in capsys.readouterr().err
    bad.write_text("{nope")
    assert cli.main(["bench", "--compare", str(bad)]) == 2
    assert "not JSON" in capsys.readouterr().err


def test_out_that_is_a_file_is_refused(fake_sections, tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("x")
    assert cli.main(["bench", "--out", str(f)]) == 2
    assert "not a folder" in capsys.readouterr().err
