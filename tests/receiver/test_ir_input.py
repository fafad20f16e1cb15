"""Infrared input on the terminal side (issue 9): `.ir` pulse text (ir-ctl / mode2) from a file
or standard input, a recorded detector output or the 38 kHz carrier as a WAV, and a detector on
a sound card's line-in, all through `hotcast receiver decode | listen --profile ir`.

The signals are what the center makes: a simulated center's list through the center's carousel
renderer, written with ``modem.irtext.write_ir_text`` or cut into ir-ctl transmissions by
``ir_carousel_files``.
"""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest
from test_sources_cli import OnAir, events_of, new_home, render, store_seq, without_input

from crypto import BundleKind
from hotcast.cli import main as hotcast_main
from modem.formats import encode_samples, encode_wav
from modem.irtext import ir_carousel_files, write_ir_text
from receiver.radio import cli as cli_receiver
from receiver.radio._device_fake import FakeInputStream
from receiver.store.store import TerminalStore
from tests.simcenter import NOW, SimCenter, make_hot

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]
# What ir-ctl leaves between two --send files, and what mode2 records there (FIELD-NOTES.md).
GAP_US = 125_000


@pytest.fixture(scope="module")
def center():
    """A simulated center's full list of 40 cards, and one carousel cycle of it as durations."""
    sim = SimCenter()
    sim.bundle = sim.full(make_hot(40, seed=5))
    durations = render("ir", [OnAir(BundleKind.FULL, 1, sim.bundle)])
    return sim, durations


@pytest.fixture
def clock(monkeypatch):
    monkeypatch.setenv("HOTCAST_NOW", str(NOW))


def decode(capsys, home, *args) -> tuple[int, list[dict], str]:
    status = hotcast_main(["receiver", "decode", "--home", str(home), *[str(a) for a in args]])
    out, err = capsys.readouterr()
    return status, events_of(out), err


def applied(events: list[dict]) -> list[tuple[int, int]]:
    return [(e["seq"], e["entries"]) for e in events if e["event"] == "bundle_applied"]


def detector_output(durations: np.ndarray, rate_hz: int, active_low: bool = True,
                    noise: float = 0.02, seed: int = 0) -> np.ndarray:
    """What a TSOP-type module's pin gives for ``durations``: low during marks (active low),
    high otherwise, with a little noise and 10 ms of idle on either side."""
    edges = np.concatenate(([0], np.cumsum(np.abs(durations.astype(np.int64)))))
    edges = np.rint(edges * rate_hz / 1e6).astype(np.int64)
    active = np.repeat((durations > 0).astype(np.float32), np.diff(edges))
    pad = np.zeros(rate_hz // 100, np.float32)
    active = np.concatenate((pad, active, pad))
    level = 1.0 - active if active_low else active
    rng = np.random.default_rng(seed)
    return (0.8 * level - 0.4 + rng.normal(0, noise, level.size)).astype(np.float32)


def test_profiles_list_the_ir_input_formats(capsys):
    assert hotcast_main(["receiver", "profiles"]) == 0
    (ir,) = [p for p in events_of(capsys.readouterr().out) if p["name"] == "ir"]
    assert ir["formats"] == ["ir", "wav", "s16le", "f32le"]
    assert ir["input_kinds"] == ["baseband", "pulses"]


def test_an_ir_file_from_the_center_decodes_and_applies(tmp_path, capsys, clock, center):
    sim, durations = center
    path = tmp_path / "carousel.ir"
    path.write_text(write_ir_text(durations))
    home = new_home(tmp_path, sim)
    status, events, err = decode(capsys, home, "--profile", "ir", "--input", path)
    assert status == 0, err
    start, summary = events[0], events[-1]
    assert (start["event"], start["format"], start["is_iq"]) == ("start", "ir", False)
    assert applied(events) == [(1, 40)] and store_seq(home) == 1
    assert summary["event"] == "summary" and summary["bundles_applied"] == 1
    assert summary["seconds_of_signal"] == pytest.approx(np.abs(durations).sum() / 1e6, abs=1e-3)
    assert summary["samples"] == durations.size


def test_the_ir_ctl_transmissions_recorded_with_their_gaps_decode(tmp_path, capsys, clock, center):
    """ir_carousel_files cuts the carousel into ir-ctl --send files (<= 500 ms, <= 1023 values,
    pulse first and last); mode2 records them with the gap between and its own header."""
    sim, durations = center
    files = ir_carousel_files(durations)
    assert len(files) > 5 and all(f.startswith("pulse ") for f in files)
    recorded = ("# mode2 -d /dev/lirc1\nspace 16777215\ncarrier 38000\n"
                + f"space {GAP_US}\n".join(files))
    path = tmp_path / "mode2.ir"
    path.write_text(recorded)
    status, events, err = decode(capsys, new_home(tmp_path, sim), "--profile", "ir", "--input", path)
    assert status == 0, err
    assert applied(events) == [(1, 40)]


class ShortReads(io.RawIOBase):
    """A pipe: read1 returns a seeded random number of bytes (1 .. n)."""

    def __init__(self, data: bytes, seed: int) -> None:
        self._data, self._pos = data, 0
        self._rng = np.random.default_rng(seed)

    def readable(self) -> bool:
        return True

    def read1(self, n: int = -1) -> bytes:
        take = int(self._rng.integers(1, max(2, min(n, 4_000) + 1)))
        out = self._data[self._pos:self._pos + take]
        self._pos += len(out)
        return out


class Stdin:
    def __init__(self, data: bytes, seed: int) -> None:
        self.buffer = ShortReads(data, seed)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_same_text_on_stdin_in_random_chunks_gives_the_same_events(tmp_path, capsys, clock, center,
                                                                        monkeypatch, seed):
    sim, durations = center
    text = write_ir_text(durations).encode()
    path = tmp_path / "carousel.ir"
    path.write_bytes(text)
    _, by_file, _ = decode(capsys, new_home(tmp_path, sim, "a"), "--profile", "ir", "--input", path)
    monkeypatch.setattr(sys, "stdin", Stdin(text, seed))
    status, by_stdin, err = decode(capsys, new_home(tmp_path, sim, "b"), "--profile", "ir", "--input", "-",
                                   "--format", "ir")
    assert status == 0, err
    assert by_stdin[0]["input"] == "standard input"
    assert without_input(by_stdin) == without_input(by_file)


def test_ir_text_through_a_real_pipe(tmp_path, center):
    sim, durations = center
    home = new_home(tmp_path, sim)
    proc = subprocess.run(
        [sys.executable, "-m", "hotcast", "receiver", "decode", "--home", str(home), "--profile", "ir",
         "--input", "-", "--format", "ir"],
        input=write_ir_text(durations).encode(), capture_output=True, timeout=120, cwd=ROOT,
        env={**__import__("os").environ, "HOTCAST_NOW": str(NOW)})
    assert proc.returncode == 0, proc.stderr.decode()
    assert applied(events_of(proc.stdout.decode())) == [(1, 40)]


@pytest.mark.parametrize("bad, line, why", [
    ("space abc", 4, r"'space' needs one positive integer, got 'space abc'"),
    ("pulse 0", 4, r"duration must be > 0, got 0"),
    ("+560 -560 x12", 4, r"cannot read 'x12'"),
    ("blink 560", 4, r"cannot read 'blink'"),
])
def test_a_malformed_line_is_refused_naming_its_number_and_nothing_changes(tmp_path, capsys, clock,
                                                                           center, bad, line, why):
    """The file is read through before anything is decoded: even a bad line after a whole
    bundle leaves the store as it was."""
    sim, durations = center
    text = "pulse 9000\nspace 4500\n# header above\n" + bad + "\n" + write_ir_text(durations)
    path = tmp_path / "bad.ir"
    path.write_text(text)
    home = new_home(tmp_path, sim)
    status, events, err = decode(capsys, home, "--profile", "ir", "--input", path)
    assert status == 2 and events == []
    assert __import__("re").search(rf"bad\.ir: line {line}: {why}", err), err
    late = tmp_path / "late.ir"
    late.write_text(write_ir_text(durations) + "space 100\nbad line\n")
    status, events, err = decode(capsys, home, "--profile", "ir", "--input", late)
    lines = write_ir_text(durations).count("\n") + 2
    assert status == 2 and events == [] and f"late.ir: line {lines}: cannot read 'bad'" in err
    assert store_seq(home) == 0


def test_a_malformed_line_on_stdin_stops_the_run_naming_it(tmp_path, capsys, clock, center, monkeypatch):
    """Standard input cannot be read twice: what came before the bad line is decoded (and
    applied), then the run stops with the line named and exit 1."""
    sim, durations = center
    text = write_ir_text(durations) + "space 100\npulse -5\n"
    monkeypatch.setattr(sys, "stdin", Stdin(text.encode(), 3))
    home = new_home(tmp_path, sim)
    status, events, err = decode(capsys, home, "--profile", "ir", "--input", "-", "--format", "ir")
    lines = write_ir_text(durations).count("\n") + 2
    assert status == 1
    assert f"standard input: line {lines}: 'pulse' needs one positive integer, got 'pulse -5'" in err
    assert applied(events) == [(1, 40)] and events[-1]["event"] == "summary"


@pytest.mark.parametrize("cut", [0.999, 0.75, 0.5])
def test_a_truncated_file_ends_cleanly_with_a_summary(tmp_path, capsys, clock, center, cut):
    """Cut anywhere (mid-word included): the last partial line is dropped and reported."""
    sim, durations = center
    text = write_ir_text(durations).encode()
    end = int(len(text) * cut)
    while text[end - 1:end + 1].count(b"\n") or text[end - 1:end] == b" ":
        end -= 1  # inside a word, not at a line end
    path = tmp_path / "cut.ir"
    path.write_bytes(text[:end])
    status, events, err = decode(capsys, new_home(tmp_path, sim), "--profile", "ir", "--input", path)
    assert status == 0, err
    assert events[0]["event"] == "start" and events[-1]["event"] == "summary"
    partial = text[text.rfind(b"\n", 0, end) + 1:end]
    if not partial.split()[-1].isdigit():  # "pul", "space": not a value, dropped
        problems = [e for e in events if e["event"] == "input_problem"]
        assert any(p["problem"] == "truncated" and f"{len(partial)} byte(s)" in p["why"] for p in problems)
    if cut > 0.99:
        assert applied(events) == [(1, 40)]


def test_an_empty_ir_file_ends_cleanly(tmp_path, capsys, clock, center):
    sim, _ = center
    path = tmp_path / "empty.ir"
    path.write_text("# nothing was received\n")
    status, events, _ = decode(capsys, new_home(tmp_path, sim), "--profile", "ir", "--input", path)
    assert status == 0 and events[-1]["event"] == "summary" and events[-1]["samples"] == 0
    assert any(e.get("problem") == "no_frames" for e in events)


def test_ir_text_with_a_rate_or_another_profile_is_refused(tmp_path, capsys, clock, center):
    sim, durations = center
    path = tmp_path / "x.ir"
    path.write_text(write_ir_text(durations[:50]))
    home = new_home(tmp_path, sim)
    status, _, err = decode(capsys, home, "--profile", "ir", "--input", path, "--rate", "48k")
    assert status == 2 and "x.ir: --rate does not apply to `.ir` pulse text" in err
    status, _, err = decode(capsys, home, "--profile", "fm", "--input", path)
    assert status == 2 and "x.ir: profile fm takes no pulses input" in err
    status, _, err = decode(capsys, home, "--profile", "ir", "--input", "-")
    assert status == 2 and "give --format (one of cu8, cs8, cs16, cf32, s16le, f32le, wav, ir)" in err


@pytest.mark.parametrize("rate", [48_000, 96_000])
def test_a_recorded_detector_output_decodes(tmp_path, capsys, clock, center, rate):
    sim, durations = center
    path = tmp_path / "tsop.wav"
    path.write_bytes(encode_wav(detector_output(durations, rate), rate))
    home = new_home(tmp_path, sim)
    status, events, err = decode(capsys, home, "--profile", "ir", "--input", path)
    assert status == 0, err
    assert events[0]["sample_rate_hz"] == rate and applied(events) == [(1, 40)]


def test_an_active_high_photodiode_recording_as_raw_floats_decodes(tmp_path, capsys, clock, center):
    sim, durations = center
    path = tmp_path / "diode.f32le"
    path.write_bytes(encode_samples(detector_output(durations, 44_100, active_low=False), "f32le"))
    status, events, err = decode(capsys, new_home(tmp_path, sim), "--profile", "ir", "--input", path,
                                 "--rate", "44.1k")
    assert status == 0, err
    assert applied(events) == [(1, 40)]


@pytest.mark.parametrize("rate", [96_000, 192_000])
def test_the_carrier_the_center_plays_decodes(tmp_path, capsys, clock, center, rate):
    """What `center render --profile ir --rate 96k|192k` writes for an emitter: the 38 kHz
    carrier itself, recorded back (a photodiode on a fast sound card)."""
    sim, _ = center
    carrier = render("ir", [OnAir(BundleKind.FULL, 1, sim.bundle)], baseband_rate_hz=rate)
    path = tmp_path / "carrier.wav"
    path.write_bytes(encode_wav(carrier, rate))
    status, events, err = decode(capsys, new_home(tmp_path, sim), "--profile", "ir", "--input", path)
    assert status == 0, err
    assert applied(events) == [(1, 40)]


def test_a_detector_on_the_line_in_is_heard_live(tmp_path, capsys, clock, center, monkeypatch):
    """The detector's pin on a sound card's input: `listen --profile ir --line-in` at the
    profile's default rate (48 kHz), through the line-in device path."""
    sim, durations = center
    wave = detector_output(durations, 48_000)
    made = []

    def factory(**kwargs):
        made.append(FakeInputStream(wave, **kwargs))
        return made[-1]

    monkeypatch.setitem(cli_receiver.DEVICE_FACTORIES, "line_in", factory)
    home = new_home(tmp_path, sim)
    seconds = wave.size / 48_000 + 0.5
    status = hotcast_main(["receiver", "listen", "--home", str(home), "--profile", "ir", "--line-in",
                           "--duration", f"{seconds:.2f}"])
    out, err = capsys.readouterr()
    assert status == 0, err
    events = events_of(out)
    assert made[0].kwargs["samplerate"] == 48_000 and made[0].kwargs["channels"] == 1
    assert applied(events) == [(1, 40)] and all("utc" in e for e in events)
    with TerminalStore.open(home) as s:
        assert s.state().entries == 40


def test_tee_raw_keeps_the_ir_text_as_it_came(tmp_path, capsys, clock, center, monkeypatch):
    """`--tee-raw copy.ir` of standard input is the text itself, and decodes again the same."""
    sim, durations = center
    text = ("# mode2\r\n" + write_ir_text(durations)).encode()
    monkeypatch.setattr(sys, "stdin", Stdin(text, 4))
    copy = tmp_path / "copy.ir"
    status, first, err = decode(capsys, new_home(tmp_path, sim, "a"), "--profile", "ir", "--input", "-",
                                "--format", "ir", "--tee-raw", copy)
    assert status == 0, err
    assert copy.read_bytes() == text and not (tmp_path / "copy.ir.sigmf-meta").exists()
    _, again, _ = decode(capsys, new_home(tmp_path, sim, "b"), "--profile", "ir", "--input", copy)
    assert without_input(again) == without_input(first) and applied(again) == [(1, 40)]
