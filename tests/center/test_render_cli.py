"""``hotcast center render``: files, metadata, stdout, errors (exit 2, nothing left), progress."""

from __future__ import annotations

import io
import json
import os
import struct
from dataclasses import replace
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from center_helpers import NOW, OPERATOR
from scipy import signal

import framing
from center.registry.home import CenterHome
from center.air.cli import Progress
from center.air.sinks import FileSink
from modem import FM, SubcarrierDemodulator
from modem.fmiq import FmIqDemodulator, FmIqDemodulatorConfig
from modem.formats import decode_samples, decode_wav, parse_sigmf_meta


@pytest.fixture
def built(run, tmp_path: Path) -> bytes:
    """A home with 3 000 cards and one full bundle (~15 KB, 20 blocks); returns its sealed bytes."""
    assert run("init", "--universe", "0-999999999999999")[0] == 0
    cards = np.random.default_rng(7).choice(10**15, 3_000, replace=False)
    with CenterHome.open(tmp_path / "home") as home:
        home.revoke([int(c) for c in cards], now=NOW, by=OPERATOR)
    assert run("build", "--out", str(tmp_path / "b.hcb"))[0] == 0
    return (tmp_path / "b.hcb").read_bytes()


def decode_to_bundles(mpx: np.ndarray, rate_hz: float) -> list[bytes]:
    dem = SubcarrierDemodulator(replace(FM, sample_rate_hz=float(rate_hz)))
    bits = np.concatenate([dem.process(mpx), dem.flush()])
    frames = framing.FrameSync(framing.frame_config("fm")).process(bits)
    return framing.Reassembler().process(frames)


def read_meta(path: Path) -> dict:
    text = (path.parent / (path.name + ".sigmf-meta")).read_text()
    parse_sigmf_meta(text)  # the receiver's parser accepts it
    return json.loads(text)


def test_wav_render_round_trips_to_the_sealed_bundle(run, built, tmp_path: Path) -> None:
    out_path = tmp_path / "air.wav"
    code, out, err = run("render", "--profile", "fm", "--out", str(out_path))
    assert (code, err) == (0, "")
    line = json.loads(out)
    assert (line["file"], line["format"], line["rate"]) == (str(out_path), "wav", 228_000)
    cfg = framing.frame_config("fm")
    k = -(-len(built) // cfg.block_bytes)
    on_air = {b["kind"]: b for b in line["bundles"]}
    assert sorted(on_air) == ["announce", "full", "heartbeat", "key_set"]
    assert on_air["full"] == {"seq": 1, "kind": "full", "bytes": len(built), "source_blocks": k,
                              "blocks": k + max(2, -(-k // 10)), "stream": 1}
    assert line["payload_bytes"] == sum(b["bytes"] for b in line["bundles"])
    frames = sum(b["blocks"] for b in line["bundles"])
    assert line["bits_on_air"] == 4_000 + frames * cfg.frame_bits
    assert 16 < line["net_kbit_per_s"] < 27
    info, mpx = decode_wav(out_path.read_bytes())
    assert info.sample_rate_hz == 228_000 and info.encoding == "s16"
    assert mpx.size == round(line["seconds"] * 228_000)
    meta = read_meta(out_path)
    glob = meta["global"]
    assert (glob["core:datatype"], glob["core:sample_rate"]) == ("ri16_le", 228_000)
    assert (glob["hotcast:profile"], glob["hotcast:signal"]) == ("fm", "mpx")
    assert {"kind": "full", "seq": 1} in glob["hotcast:bundles"]
    assert glob["hotcast:seconds"] == pytest.approx(line["seconds"])
    assert meta["captures"][0]["core:header_bytes"] == 44
    f, p = signal.welch(mpx, fs=228_000, nperseg=4096)
    band = (f >= 62_000) & (f <= 90_000)
    assert np.sum(p[band]) > 0.99 * np.sum(p)  # the subcarrier alone, in 62-90 kHz
    decoded = decode_to_bundles(mpx, 228_000)
    assert built in decoded and len(decoded) == len(line["bundles"])
    assert sorted(os.listdir(tmp_path)) == ["air.wav", "air.wav.sigmf-meta", "b.hcb", "home",
                                            "home-root"]


def test_cu8_render_round_trips_through_the_fm_front_end(run, built, tmp_path: Path) -> None:
    out_path = tmp_path / "air.cu8"
    code, out, _ = run("render", "--profile", "fm", "--out", str(out_path))
    assert code == 0
    line = json.loads(out)
    assert (line["format"], line["rate"]) == ("cu8", 1_200_000)
    data = out_path.read_bytes()
    assert len(data) == 2 * round(line["seconds"] * 1_200_000)
    glob = read_meta(out_path)["global"]
    assert (glob["core:datatype"], glob["core:sample_rate"], glob["hotcast:signal"]) == (
        "cu8", 1_200_000, "fm-iq")
    iq = decode_samples(data, "cu8")
    # a constant-envelope FM carrier at -3 dBFS, never on the converter's rails
    assert abs(np.mean(np.abs(iq)) - 10 ** (-3 / 20)) < 0.01
    raw = np.frombuffer(data, np.uint8)
    assert raw.min() > 10 and raw.max() < 245
    front = FmIqDemodulator(FmIqDemodulatorConfig(iq_rate_hz=1_200_000))
    mpx = np.concatenate([front.process(iq), front.process(np.zeros(140_000, np.complex64))])
    assert built in decode_to_bundles(mpx, front.mpx_rate_hz)


def test_with_programme_duration_and_rate(run, built, tmp_path: Path) -> None:
    out_path = tmp_path / "prog.f32le"
    code, out, _ = run("render", "--profile", "fm", "--out", str(out_path), "--duration", "1.5",
                       "--rate", "192000", "--with-programme", "--injection", "0.08")
    assert code == 0
    line = json.loads(out)
    assert (line["rate"], line["seconds"]) == (192_000, 1.5)
    mpx = decode_samples(out_path.read_bytes(), "f32le")
    assert mpx.size == 288_000
    f, p = signal.welch(mpx, fs=192_000, nperseg=8192)
    pilot = p[np.argmin(np.abs(f - 19_000))]
    assert 10 * np.log10(pilot / np.median(p[(f > 16_000) & (f < 18_500)])) > 30
    assert np.max(np.abs(mpx)) <= 1.0
    assert read_meta(out_path)["global"]["hotcast:with_programme"] is True


def _cli(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HOTCAST_HOME": str(tmp_path / "home"), "HOTCAST_NOW": str(NOW)}
    return subprocess.run([sys.executable, "-m", "hotcast", "center", "render", "--profile", "fm", *argv],
                          capture_output=True, env=env, cwd=tmp_path, timeout=120)


def test_raw_to_stdout_and_streaming_wav(built, tmp_path: Path) -> None:
    raw = _cli(tmp_path, "--out", "-", "--format", "s16le", "--duration", "0.5")
    assert raw.returncode == 0
    assert len(raw.stdout) == 2 * 114_000
    assert json.loads(raw.stderr)["file"] == "-"  # the summary goes to stderr, no progress in a pipe
    wav = _cli(tmp_path, "--out", "-", "--format", "wav", "--duration", "0.5")
    assert wav.returncode == 0
    assert struct.unpack_from("<I", wav.stdout, 4)[0] == 0xFFFFFFFF  # streaming header
    info, mpx = decode_wav(wav.stdout)
    assert info.data_bytes is None and mpx.size == 114_000
    assert np.allclose(mpx, decode_samples(raw.stdout, "s16le"))
    assert sorted(os.listdir(tmp_path)) == ["b.hcb", "home", "home-root"]


@pytest.mark.parametrize("argv, message", [
    (["--profile", "no-such", "--out", "x.wav"], "invalid choice: 'no-such'"),
    (["--profile", "fm", "--out", "x.bin"], "cannot tell the sample format"),
    (["--profile", "fm", "--out", "x.wav", "--rate", "100000"], "give 177.651 kHz to 2.4 MHz"),
    (["--profile", "fm", "--out", "x.cu8", "--rate", "3000000"], "give 240 kHz to 2.4 MHz"),
    (["--profile", "fm", "--out", "x.cu8", "--rate", "1200000.5"], "whole number"),
    (["--profile", "fm", "--out", "x.wav", "--format", "cu8"], "contradicts"),
    (["--profile", "fm", "--out", "x.wav", "--duration", "0"], "--duration"),
    (["--profile", "fm", "--out", "x.wav", "--injection", "0.9"], "--injection"),
    (["--profile", "fm", "--out", "-"], "--format"),
    (["--profile", "fm", "--out", "nowhere/x.wav"], "does not exist"),
])
def test_bad_render_input_exits_2_and_writes_nothing(run, built, tmp_path: Path, argv, message) -> None:
    before = sorted(os.listdir(tmp_path))
    code, out, err = run("render", *argv)
    assert (code, out) == (2, "")
    assert message in err and err.count("\n") == 1
    assert sorted(os.listdir(tmp_path)) == before


def test_empty_carousel_says_build_a_bundle_first(run, tmp_path: Path) -> None:
    assert run("init")[0] == 0
    code, out, err = run("render", "--profile", "fm", "--out", str(tmp_path / "x.wav"))
    assert (code, out) == (2, "")
    assert "build a bundle first" in err
    assert sorted(os.listdir(tmp_path)) == ["home", "home-root"]


def test_missing_home_exits_2(run, tmp_path: Path) -> None:
    code, _, err = run("render", "--profile", "fm", "--out", str(tmp_path / "x.wav"))
    assert code == 2 and "no center home" in err
    assert not (tmp_path / "x.wav").exists()


def test_an_interrupted_render_leaves_no_partial_file(tmp_path: Path) -> None:
    path = tmp_path / "x.cu8"
    with pytest.raises(KeyboardInterrupt), FileSink(str(path), "cu8", 1_200_000) as sink:
        sink.write(np.ones(1000, np.complex64))
        assert (tmp_path / "x.cu8.part").exists()
        raise KeyboardInterrupt
    assert os.listdir(tmp_path) == []


def test_sink_refuses_samples_of_the_wrong_kind(tmp_path: Path) -> None:
    with FileSink(str(tmp_path / "x.wav"), "wav", 228_000) as sink, pytest.raises(TypeError):
        sink.write(np.ones(10, np.complex64))
    assert os.listdir(tmp_path) == []


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_only_on_a_terminal() -> None:
    tty, pipe = _Tty(), io.StringIO()
    for stream in (tty, pipe):
        bar = Progress(10.0, stream=stream, interval_s=0.0)
        bar.update(2.5)
        bar.finish(10.0)
    assert pipe.getvalue() == ""
    text = tty.getvalue()
    assert text.startswith("\rrender  25.0%") and "real time" in text and "100.0%" in text
    assert text.endswith("\n")
