"""The README's quick start runs literally, from an empty folder and from one shaped like the
repository root (folders named center/, receiver/, ... beside it), with the sample CSV the repo
ships. A changed command line that the README did not follow fails here."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def quickstart() -> str:
    text = (REPO / "README.md").read_text()
    match = re.search(r"<!-- quickstart -->\s*```\n(.*?)```\s*<!-- /quickstart -->", text, re.S)
    assert match, "README.md lost its quick-start block (<!-- quickstart --> markers)"
    return match.group(1)


def run_quickstart(where: Path) -> list[str]:
    script = quickstart()
    # The block sets repo= and hc= for a reader; point them at this checkout and at the hotcast
    # of the interpreter running the tests (the same code, whatever venv that is).
    hotcast = shutil.which("hotcast", path=str(Path(sys.executable).parent)) or ""
    assert hotcast, "no hotcast script beside the test interpreter"
    script = re.sub(r"^repo=.*$", f"repo={REPO}", script, count=1, flags=re.M)
    script = re.sub(r"^hc=.*$", f"hc={hotcast}", script, count=1, flags=re.M)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTCAST_")}
    env["PYTHONPATH"] = str(REPO)
    env["HOTCAST_PASSPHRASE"] = "quick start"
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=where, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def verdicts(lines: list[str]) -> dict[str, str]:
    out = {}
    for line in lines:
        obj = json.loads(line) if line.startswith("{") else {}
        if "verdict" in obj:
            out[obj["card"]] = obj["verdict"]
    return out


def check_outcome(lines: list[str]) -> None:
    assert verdicts(lines) == {"4929000012341234": "refuse", "4929000012349999": "accept",
                               "4929000055555555": "refuse"}
    applied = [json.loads(x) for x in lines if '"bundle_applied"' in x]
    assert any(e.get("kind") == "delta" and e.get("entries") == 8 for e in applied)


def test_quickstart_runs_in_an_empty_folder(tmp_path):
    check_outcome(run_quickstart(tmp_path))


def test_quickstart_runs_in_a_folder_shaped_like_the_repository_root(tmp_path):
    for entry in REPO.iterdir():
        if not entry.name.startswith("."):
            (tmp_path / entry.name).mkdir(exist_ok=True) if entry.is_dir() else \
                (tmp_path / entry.name).write_text("")
    check_outcome(run_quickstart(tmp_path))


def test_the_sample_csv_is_shipped_and_valid():
    rows = (REPO / "examples" / "lost-cards.csv").read_text().splitlines()
    assert rows[0].startswith("card_id,") and len(rows) > 1
    for row in rows[1:]:
        assert re.fullmatch(r"\d{1,19},(stolen|lost|fraud|other),(\d{4}-\d{2})?", row), row
