"""``center render`` and ``center broadcast`` take rates as SDR users write them (the same
``modem.rates.hz_argument`` as the receiver): ``228k``, ``1.2M``; a bad one is a usage error
naming it, and nothing is written."""

from __future__ import annotations

import json

import pytest


@pytest.mark.parametrize("text,hz", [("228k", 228_000), ("228000", 228_000), ("0.228M", 228_000)])
def test_render_takes_a_rate_with_a_suffix(run, tmp_path, text, hz) -> None:
    assert run("init")[0] == 0
    assert run("revoke", "4929000012341234")[0] == 0
    assert run("build", "--out", str(tmp_path / "list.hcb"))[0] == 0
    out = tmp_path / "mpx.wav"
    code, printed, err = run("render", "--profile", "fm", "--out", str(out), "--rate", text,
                             "--duration", "0.5")
    assert code == 0, err
    assert json.loads(printed.splitlines()[-1])["rate"] == hz and out.exists()


@pytest.mark.parametrize("command", ["render", "broadcast"])
def test_a_rate_that_is_not_hz_is_refused_naming_it(run, tmp_path, command) -> None:
    assert run("init")[0] == 0
    out = tmp_path / "x.wav"
    code, _, err = run(command, "--profile", "fm", "--out", str(out), "--rate", "228q")
    assert code == 2 and "'228q'" in err and not out.exists()
