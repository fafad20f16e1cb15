"""The section runner: order, failures kept as notes, missing modules, skipped sections."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

from hotcast.bench import runner
from hotcast.bench.model import BenchContext, Figure, Section


def ctx(tmp_path: Path) -> BenchContext:
    return BenchContext(quick=True, out_dir=tmp_path)


def fake(name: str, behaviour: str):
    module = types.ModuleType(f"fake_{name}")

    def run(c: BenchContext):
        if behaviour == "raise":
            raise RuntimeError("boom in " + name)
        if behaviour == "partial":
            exc = RuntimeError("half done")
            exc.section = Section(name, name.title(), figures=[Figure(f"{name}.x", 1.0, "x", "x")])
            raise exc
        if behaviour == "wrong":
            return {"not": "a section"}
        return Section(name, name.title(), figures=[Figure(f"{name}.x", 2.0, "x", "x")])

    module.run = run
    return module


def loader(table: dict):
    return lambda name: None if table[name] == "missing" else fake(name, table[name])


def test_sections_run_in_order_and_failures_become_notes(tmp_path):
    table = {"a": "ok", "b": "raise", "c": "missing", "d": "ok"}
    started = []
    results = runner.run_sections(list(table), ctx(tmp_path), loader=loader(table),
                                  on_start=started.append)
    assert [r.name for r in results] == ["a", "b", "c", "d"]
    assert [r.status for r in results] == ["ok", "failed", "missing", "ok"]
    assert started == ["a", "b", "c", "d"]
    assert "boom in b" in results[1].section.notes[0]
    assert "not in this build" in results[2].section.notes[0]
    assert results[3].section.figures[0].value == 2.0


def test_a_failed_section_keeps_what_it_measured(tmp_path):
    results = runner.run_sections(["p"], ctx(tmp_path), loader=loader({"p": "partial"}))
    assert results[0].status == "failed"
    assert results[0].section.figures[0].key == "p.x"
    assert "half done" in results[0].section.notes[-1]


def test_a_section_returning_no_section_fails(tmp_path):
    results = runner.run_sections(["w"], ctx(tmp_path), loader=loader({"w": "wrong"}))
    assert results[0].status == "failed"
    assert "not a Section" in results[0].section.notes[0]


def test_unwanted_sections_are_skipped_not_run(tmp_path):
    table = {"a": "raise", "b": "ok"}
    results = runner.run_sections(list(table), ctx(tmp_path), wanted=["b"], loader=loader(table))
    assert [r.status for r in results] == ["skipped", "ok"]


def test_parse_only_keeps_section_order_and_names_unknown_ones():
    assert runner.parse_only("ttp,speed") == ["speed", "ttp"]
    assert runner.parse_only(None) == runner.SECTIONS
    with pytest.raises(ValueError, match="nope"):
        runner.parse_only("speed,nope")
    with pytest.raises(ValueError):
        runner.parse_only(" , ")


def test_a_missing_module_is_none_but_a_broken_one_raises(tmp_path, monkeypatch):
    pkg = tmp_path / "fakebench"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "good.py").write_text("def run(ctx):\n    return None\n")
    (pkg / "broken.py").write_text("import no_such_module_anywhere\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(runner, "PACKAGE", "fakebench")
    try:
        assert runner.load_section("good") is not None
        assert runner.load_section("absent") is None
        with pytest.raises(ModuleNotFoundError):
            runner.load_section("broken")
    finally:
        for name in [m for m in sys.modules if m.startswith("fakebench")]:
            del sys.modules[name]


def test_every_listed_section_that_exists_has_a_run_function():
    for name in runner.SECTIONS:
        module = runner.load_section(name)
        if module is not None:
            assert callable(module.run), name
