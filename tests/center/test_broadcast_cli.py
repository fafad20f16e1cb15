"""``hotcast center broadcast``: bad options exit 2, a file broadcast, the fake sound card (rate,
format, a decodable MPX), the PortAudio message, SoundCardSink's refusals, idling, a clean stop
on SIGINT, a named pipe written in place."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from center_helpers import NOW, OPERATOR

import framing
from center.air import sinks
from center.errors import SoundCardError
from center.registry.home import CenterHome
from center.air.sinks import SoundCardSink
from modem import FmSubcarrierConfig, SubcarrierDemodulator
from modem.formats import decode_samples

ROOT = Path(__file__).resolve().parents[2]


class FakeOutputStream:
    """Records what a sound card would play (sounddevice.OutputStream's shape)."""

    opened: list[FakeOutputStream] = []

    def __init__(self, **kwargs) -> None:
        self.kwargs = kwargs
        self.chunks: list[np.ndarray] = []
        self.calls: list[str] = []
        FakeOutputStream.opened.append(self)

    def start(self) -> None:
        self.calls.append("start")

    def write(self, data: np.ndarray) -> bool:
        assert data.dtype == np.float32 and data.ndim == 2 and data.shape[1] == 1
        self.chunks.append(data[:, 0].copy())
        return False

    def stop(self) -> None:
        self.calls.append("stop")

    def abort(self) -> None:
        self.calls.append("abort")

    def close(self) -> None:
        self.calls.append("close")


@pytest.fixture
def built(run, tmp_path: Path) -> bytes:
    assert run("init", "--universe", "0-999999999999999")[0] == 0
    with CenterHome.open(tmp_path / "home") as home:
        home.revoke([123_456_789, 987_654_321], now=NOW, by=OPERATOR)
    assert run("build", "--out", str(tmp_path / "b1"))[0] == 0
    return (tmp_path / "b1").read_bytes()


def bundles_in(mpx: np.ndarray, rate_hz: int) -> list[bytes]:
    dem = SubcarrierDemodulator(FmSubcarrierConfig(sample_rate_hz=float(rate_hz)))
    bits = np.concatenate([dem.process(mpx), dem.flush()])
    frames = framing.FrameSync(framing.frame_config("fm")).process(bits)
    return framing.Reassembler().process(frames)


@pytest.mark.parametrize("argv, message", [
    (["--out", "x.s16le", "--poll", "0"], "--poll"),
    (["--out", "x.s16le", "--duration", "-1"], "--duration"),
    (["--out", "x.s16le", "--rate", "96000"], "--rate"),
    (["--out", "-"], "sample format"),
    (["--out", "x.s16le", "--device", "3"], "--sound-card"),
    ([], "--out"),
    (["--sound-card", "--out", "x.s16le"], "--sound-card"),
    (["--sound-card", "--format", "f32le"], "--sound-card"),
    (["--sound-card", "--rate", "96000"], "--rate"),
    (["--sound-card", "--rate", "176400"], "--rate"),
    (["--out", "x.s16le", "--injection", "2"], "--injection"),
    (["--out", "nowhere/x.s16le"], "does not exist"),
    (["--out", "x.s16le"], "give --duration"),
])
def test_bad_options_exit_2(run, built, tmp_path, monkeypatch, argv, message) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sinks, "open_output_stream", FakeOutputStream)
    code, out, err = run("broadcast", "--profile", "fm", *argv)
    assert code == 2, err
    assert message in err and err.count("\n") == 1
    assert not list(tmp_path.glob("x.*"))


def test_missing_home_and_unknown_profile_exit_2(run, tmp_path) -> None:
    code, _, err = run("broadcast", "--profile", "fm", "--out", str(tmp_path / "x.s16le"),
                       "--duration", "5")
    assert code == 2 and "no center home" in err
    assert run("broadcast", "--profile", "ir", "--out", str(tmp_path / "x.s16le"))[0] == 2
    assert run("broadcast", "--profile", "ir", "--sound-card")[0] == 2


def test_broadcast_to_a_file_for_a_duration(run, built, tmp_path) -> None:
    path = tmp_path / "air.s16le"
    code, out, err = run("broadcast", "--profile", "fm", "--out", str(path), "--duration", "2")
    assert (code, err) == (0, "")
    lines = [json.loads(x) for x in out.splitlines()]
    assert lines[0]["event"] == "on_air" and lines[0]["at_frame"] == 0
    assert {(x["kind"], x["seq"]) for x in lines if x["event"] == "on_air"} >= {("full", 1),
                                                                             ("key_set", 1)}
    assert lines[-1]["event"] == "summary" and lines[-1]["stopped"] == "duration"
    mpx = decode_samples(path.read_bytes(), "s16le")
    assert mpx.size == 2 * 228_000
    assert built in bundles_in(mpx, 228_000)
    meta = json.loads((tmp_path / "air.s16le.sigmf-meta").read_text())
    assert meta["global"]["hotcast:live"] is True


def test_fake_sound_card_plays_mpx_at_its_rate(run, built, monkeypatch) -> None:
    FakeOutputStream.opened.clear()
    monkeypatch.setattr(sinks, "open_output_stream", FakeOutputStream)
    code, out, err = run("broadcast", "--profile", "fm", "--sound-card", "--device", "2",
                         "--duration", "1.5")
    assert code == 0, err
    (stream,) = FakeOutputStream.opened
    assert stream.kwargs == {"samplerate": 192_000, "channels": 1, "dtype": "float32", "device": 2}
    assert stream.calls == ["start", "stop", "close"]
    mpx = np.concatenate(stream.chunks)
    assert mpx.size == round(1.5 * 192_000)
    assert 0.1 < float(np.max(np.abs(mpx))) < 0.2  # 10 % injection, RRC peaks ~1.5 x
    assert built in bundles_in(mpx, 192_000)
    summary = json.loads(out.splitlines()[-1])
    assert summary["underflows"] == 0 and summary["seconds_of_signal"] == 1.5


def test_without_portaudio_the_message_says_what_to_install(monkeypatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_sounddevice(name, *args, **kwargs):
        if name == "sounddevice":
            raise OSError("PortAudio library not found")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_sounddevice)
    with pytest.raises(SoundCardError, match="needs PortAudio: apt-get install libportaudio2"):
        SoundCardSink("fm", 192_000)


def test_sound_card_sink_refuses_what_the_profile_cannot_play() -> None:
    for rate in (48_000, 176_400, 5_000_000, 192_000.0):
        with pytest.raises(ValueError, match="rate"):
            SoundCardSink("fm", rate, stream_factory=FakeOutputStream)
    with pytest.raises(ValueError, match="profile"):
        SoundCardSink("morse", 192_000, stream_factory=FakeOutputStream)
    with SoundCardSink("fm", 384_000, stream_factory=FakeOutputStream) as sink:
        with pytest.raises(TypeError, match="real samples"):
            sink.write(np.zeros(4, np.complex64))
        sink.write(np.zeros(10, np.float32))
        assert sink.samples == 10
    assert FakeOutputStream.opened[-1].calls == ["start", "abort", "close"]


def test_before_the_first_list_only_trust_goes_on_air(run, tmp_path) -> None:
    assert run("init")[0] == 0
    path = tmp_path / "trust.f32le"
    code, out, err = run("broadcast", "--profile", "fm", "--out", str(path), "--duration", "0.5")
    assert (code, err) == (0, "")
    lines = [json.loads(x) for x in out.splitlines()]
    assert {(x["kind"]) for x in lines if x["event"] == "on_air"} == {"key_set", "announce"}
    assert lines[-1]["event"] == "summary"
    assert path.stat().st_size == 4 * 114_000


def broadcast_process(home: Path, *argv: str) -> subprocess.Popen:
    env = {**os.environ, "HOTCAST_HOME": str(home), "HOTCAST_NOW": str(NOW)}
    return subprocess.Popen([sys.executable, "-m", "hotcast", "center", "broadcast", "--profile",
                             "fm", *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env, cwd=ROOT, text=True)


def test_sigint_stops_a_file_broadcast_cleanly(built, tmp_path) -> None:
    path = tmp_path / "air.s16le"
    proc = broadcast_process(tmp_path / "home", "--out", str(path), "--duration", "3600")
    try:
        part = tmp_path / "air.s16le.part"
        deadline = time.monotonic() + 30
        while not (part.exists() and part.stat().st_size > 500_000):
            assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read()
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert proc.returncode == 0, err
    summary = json.loads(out.splitlines()[-1])
    assert summary["stopped"] == "signal" and {"kind": "full", "seq": 1} in summary["on_air"]
    assert not part.exists() and path.stat().st_size % 2 == 0
    assert (tmp_path / "air.s16le.sigmf-meta").exists()
    mpx = decode_samples(path.read_bytes(), "s16le")
    assert built in bundles_in(mpx[:228_000 * 2], 228_000)


def test_a_named_pipe_is_written_in_place(built, tmp_path) -> None:
    fifo = tmp_path / "air.fifo"
    os.mkfifo(fifo)
    proc = broadcast_process(tmp_path / "home", "--out", str(fifo), "--format", "s16le",
                             "--duration", "1")
    try:
        with open(fifo, "rb") as reader:
            data = reader.read()
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert proc.returncode == 0, err
    assert len(data) == 2 * 228_000
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("air")) == ["air.fifo"]
    assert json.loads(out.splitlines()[-1])["stopped"] == "duration"
