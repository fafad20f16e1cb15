"""The JSON document, the Markdown and the self-contained HTML page, the progress line."""

from __future__ import annotations

import io
import json
import re

from hotcast.bench import report
from hotcast.bench.machine import cpu_model, git_state, versions
from hotcast.bench.model import Figure, Section, Table
from hotcast.bench.progress import Progress
from hotcast.bench.runner import Result

# The smallest valid PNG (1 x 1, grey).
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010800000000"
                    "3a7e9b550000000a4944415478da63f80f00010101001b8d5b8c0000000049454e44ae426082")


def results(tmp_path):
    (tmp_path / "s.png").write_bytes(PNG)
    ok = Section("speed", "Speed", figures=[Figure("speed.fm.x", 12.5, "x", "fm x", "higher",
                                                   0.02, 3),
                                            Figure("speed.fm.nan", float("nan"), "x", "nan")],
                 tables=[Table("T", ["profile", "x"], [["fm", 12.5], ["ir | text", None]],
                               "a note")],
                 plots=[tmp_path / "s.png"], notes=["something to know"])
    return [Result("speed", "ok", ok, 1.0),
            Result("link", "missing", Section("link", "link", notes=["not in this build"])),
            Result("suite", "skipped", Section("suite", "suite"))]


META = {"date": "2026-01-01T00:00:00+00:00", "command": "hotcast bench --quick",
        "options": {"quick": True}, "machine": {"cpu": "Test CPU", "cores": 2,
                                                "blas": {"name": "openblas"}},
        "versions": {"python": "3.11", "numpy": "2.0"}, "git": None}


def test_document_carries_meta_and_every_section_as_strict_json(tmp_path):
    doc = report.document(results(tmp_path), tmp_path, meta=META)
    text = report.dumps(doc)
    back = json.loads(text)  # strict: NaN became null
    assert back["schema"] == report.SCHEMA
    assert [s["name"] for s in back["sections"]] == ["speed", "link", "suite"]
    speed = back["sections"][0]
    assert speed["status"] == "ok" and speed["plots"] == ["s.png"]
    assert speed["figures"][0] == {"key": "speed.fm.x", "value": 12.5, "unit": "x",
                                   "label": "fm x", "better": "higher", "rel_spread": 0.02,
                                   "repeats": 3}
    assert speed["figures"][1]["value"] is None
    assert back["sections"][1]["status"] == "missing"


def test_write_makes_three_files_and_the_html_page_needs_no_network(tmp_path):
    doc = report.document(results(tmp_path), tmp_path, meta=META)
    paths = report.write(doc, tmp_path)
    assert sorted(p.name for p in paths) == ["report.html", "report.md", "results.json"]
    page = (tmp_path / "report.html").read_text()
    assert "data:image/png;base64," in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "ir | text" in page and "something to know" in page
    md = (tmp_path / "report.md").read_text()
    assert "| profile | x |" in md and "ir \\| text" in md
    assert "![s](s.png)" in md
    assert "max(10%" in md  # the compare rule is stated in the report
    assert "suite" not in md.split("## ")[-1]  # a skipped section is left out


def test_text_report_lists_tables_notes_and_status(tmp_path):
    doc = report.document(results(tmp_path), tmp_path, meta=META)
    out = report.text(doc)
    assert "== Speed [ok" in out and "note: not in this build" in out
    assert "Test CPU" in out and "(not a git checkout)" in out
    assert "plot: s.png" in out and "plot:" not in report.text(doc, plots=False)


def test_progress_is_quiet_in_a_pipe():
    stream = io.StringIO()  # isatty() is False
    bar = Progress(3, stream)
    bar.start_section("speed")
    bar.step("fm")
    bar.close()
    assert stream.getvalue() == ""


def test_progress_draws_on_a_terminal():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    stream = Tty()
    bar = Progress(2, stream)
    bar.start_section("speed")
    bar.start_section("stages")
    bar.step("fm")
    assert "\r[" in stream.getvalue() and "1/2 stages: fm" in stream.getvalue()


def test_cpu_model_reads_cpuinfo(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: Fancy CPU 9000\n")
    assert cpu_model(info) == "Fancy CPU 9000"
    assert cpu_model(tmp_path / "absent")  # falls back, never empty


def test_versions_name_numpy_and_python():
    found = versions()
    assert found["numpy"] and found["python"]
    assert "creedsolo" in found and "reedsolo" in found


def test_git_state_sees_a_dirty_checkout(tmp_path):
    import subprocess

    assert git_state(tmp_path) is None
    run = lambda *a: subprocess.run(["git", "-C", str(tmp_path), *a], check=True,  # noqa: E731
                                    capture_output=True)
    run("init", "-q")
    (tmp_path / "f").write_text("1")
    run("add", "f")
    run("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    state = git_state(tmp_path)
    assert len(state["commit"]) == 40 and state["dirty"] is False
    (tmp_path / "f").write_text("2")
    assert git_state(tmp_path)["dirty"] is True
