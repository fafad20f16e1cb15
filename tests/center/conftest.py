"""Fixtures for center tests: fresh homes and an in-process CLI runner."""

from __future__ import annotations

from pathlib import Path

import pytest
from center_helpers import NOW, OPERATOR, make_home

from hotcast import cli as hotcast_cli


@pytest.fixture
def home(tmp_path: Path):
    with make_home(tmp_path / "home") as h:
        yield h


@pytest.fixture
def run(monkeypatch, capsys, tmp_path: Path):
    """Call ``hotcast center`` in-process with --home defaulting to tmp_path/home."""
    monkeypatch.setenv("HOTCAST_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HOTCAST_NOW", str(NOW))
    monkeypatch.setenv("HOTCAST_OPERATOR", OPERATOR)

    def _run(*argv: str) -> tuple[int, str, str]:
        code = hotcast_cli.main(["center", *argv])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return _run
