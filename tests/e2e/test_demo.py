"""``hotcast demo`` end to end on a small list: it must come out OK and keep what --out promises."""

import json
from pathlib import Path

import pytest

from hotcast.cli import main


def test_small_demo_keeps_signal_and_spectrum(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--revoked", "2000", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "result" in printed and "OK" in printed and "2,000 / 10,000,000" in printed
    assert (out / "air.cu8").stat().st_size > 0
    meta = json.loads(Path(str(out / "air.cu8") + ".sigmf-meta").read_text())
    assert meta["global"]["core:datatype"] == "cu8"
    assert (out / "mpx-spectrum.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_demo_refuses_a_non_empty_out_dir(tmp_path, capsys):
    (tmp_path / "x").write_text("keep me")
    assert main(["demo", "--out", str(tmp_path)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert (tmp_path / "x").read_text() == "keep me"
