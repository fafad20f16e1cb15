"""Bad input for the audio and ir links (issue 9's list), made from the reference captures and
decoded through the CLI in process: a clear message and exit 2 where the input itself is
unusable, exit 0 with counts where it is merely bad, and the store untouched unless a verified
bundle completes.

- silence, mains hum (50 Hz with harmonics, 60 Hz), for every audio-band profile and the ir
  detector input: no frames, a ``no_frames`` hint (``flat`` for silence), nothing applied;
- a stereo WAV for a sound profile is mixed to mono with a warning (and decodes, the signal on
  one channel or both); a rate no profile can carry: exit 2 naming the problem; an 8-bit WAV of a capture still decodes (8-bit quantisation
  leaves ~38 dB SNR at the profile's level);
- a wrong ``--rate`` for raw samples (48 kHz read as 44.1 kHz): no frames, nothing applied;
- a capture of one profile decoded as another: no frames, nothing applied;
- `.ir` text: two pulses in a row and an endless space are repaired and the lists still
  decode; a malformed line, a negative or a zero duration exit 2 naming the line (the file is
  read through first, so nothing is applied even after whole bundles).
"""

from __future__ import annotations

import json
import tomllib

import numpy as np
import pytest

from crypto import TerminalKeys
from hotcast.cli import main as hotcast_main
from modem.formats import decode_wav, encode_wav
from receiver.store.store import TerminalStore
from tests.receiver.test_pipeline_signal import ROOT

CAPTURES = ROOT / "captures"
MANIFEST = tomllib.loads((CAPTURES / "MANIFEST.toml").read_text())
BY_FILE = {c["file"]: c for c in MANIFEST["capture"] if "file" in c}
SERIES = next(c for c in MANIFEST["capture"] if "series" in c)


@pytest.fixture
def home(tmp_path):
    path = tmp_path / "t"
    keys = TerminalKeys.from_file((CAPTURES / MANIFEST["keys"]).read_bytes())
    TerminalStore.create(path, keys).close()
    return path


def decode(capsys, home, profile, path, *extra):
    status = hotcast_main(["receiver", "decode", "--home", str(home), "--profile", profile,
                           "--input", str(path), *[str(a) for a in extra]])
    out, err = capsys.readouterr()
    return status, [json.loads(x) for x in out.splitlines() if x.strip()], err


def store_seq(home) -> int:
    with TerminalStore.open(home) as store:
        return store.state().seq


def assert_nothing_found(status, events, home):
    assert status == 0
    summary = events[-1]
    assert summary["event"] == "summary" and summary["frames_ok"] == 0 and summary["bundles_applied"] == 0
    assert any(e.get("problem") == "no_frames" for e in events)
    assert store_seq(home) == 0


def wav(path, x, rate=48_000, encoding="s16"):
    x = np.asarray(x, dtype=np.complex64 if np.iscomplexobj(x) else np.float32)
    path.write_bytes(encode_wav(x, rate, encoding))
    return path


def hum(seconds, rate, mains_hz):
    t = np.arange(int(seconds * rate)) / rate
    return 0.3 * np.sin(2 * np.pi * mains_hz * t) + 0.1 * np.sin(2 * np.pi * 3 * mains_hz * t + 1.0)


@pytest.mark.parametrize("profile", ["audio", "audio-robust", "ir"])
@pytest.mark.parametrize("kind", ["silence", "hum_50", "hum_60"])
def test_silence_and_mains_hum_give_no_frames(capsys, home, tmp_path, profile, kind):
    rate = 48_000
    x = np.zeros(4 * rate) if kind == "silence" else hum(4, rate, 50 if kind == "hum_50" else 60)
    status, events, _ = decode(capsys, home, profile, wav(tmp_path / f"{kind}.wav", x, rate))
    assert_nothing_found(status, events, home)
    if kind == "silence":
        assert any(e.get("problem") == "flat" for e in events)


@pytest.mark.parametrize("right", ["same", "silent"])
def test_a_stereo_wav_is_mixed_to_mono_for_a_sound_profile(capsys, home, tmp_path, right):
    # A line-in records stereo: the signal on both channels, or on the left one only.
    capture = BY_FILE["audio-small.wav"]
    _, x = decode_wav((CAPTURES / capture["file"]).read_bytes())
    q = x if right == "same" else np.zeros_like(x)
    stereo = wav(tmp_path / "stereo.wav", x + 1j * q)  # 2 channels: I/Q to the WAV reader
    status, events, err = decode(capsys, home, "audio", stereo)
    assert status == 0, err
    assert "stereo.wav: a 2-channel WAV, read as stereo audio mixed to mono" in err
    assert store_seq(home) == capture["expect_list_seq"]


def test_a_stereo_wav_of_noise_applies_nothing(capsys, home, tmp_path):
    rng = np.random.default_rng(3)
    noise = rng.normal(0, 0.1, 96_000) + 1j * rng.normal(0, 0.1, 96_000)
    status, events, err = decode(capsys, home, "audio", wav(tmp_path / "n.wav", noise))
    assert status == 0 and "mixed to mono" in err, err
    assert not any(e.get("event") == "bundle_applied" for e in events)
    assert store_seq(home) == 0


def test_an_8_bit_wav_of_a_capture_still_decodes(capsys, home, tmp_path):
    capture = BY_FILE["audio-small.wav"]
    _, x = decode_wav((CAPTURES / capture["file"]).read_bytes())
    status, events, err = decode(capsys, home, "audio", wav(tmp_path / "u8.wav", x, encoding="u8"))
    assert status == 0, err
    assert store_seq(home) == capture["expect_list_seq"]


@pytest.mark.parametrize("profile,rate", [("audio", "8k"), ("audio-robust", "4k")])
def test_a_rate_the_profile_cannot_carry_is_refused(capsys, home, tmp_path, profile, rate):
    raw = tmp_path / "x.s16le"
    raw.write_bytes(np.zeros(8_000, np.int16).tobytes())
    status, events, err = decode(capsys, home, profile, raw, "--rate", rate)
    assert status == 2 and events == [] and "x.s16le" in err, err
    assert store_seq(home) == 0


def test_a_wrong_rate_for_raw_samples_finds_nothing(capsys, home, tmp_path):
    """audio-small.wav's samples as raw s16le at 44.1 kHz: the receiver resamples them to
    48 kHz as told, every carrier lands 8.8 % low, and nothing decodes."""
    data = (CAPTURES / "audio-small.wav").read_bytes()
    raw = tmp_path / "audio.s16le"
    raw.write_bytes(data[44:])  # the classic 44-byte header of a 16-bit mono WAV
    status, events, _ = decode(capsys, home, "audio", raw, "--rate", "44.1k")
    assert_nothing_found(status, events, home)
    status, events, _ = decode(capsys, home, "audio", raw, "--rate", "48k")  # the right rate does
    assert status == 0 and store_seq(home) == BY_FILE["audio-small.wav"]["expect_list_seq"]


@pytest.mark.parametrize("file,profile", [
    ("audio-small.wav", "audio-robust"), ("audio-robust-small.wav", "audio"),
    ("ir-detector-small.wav", "audio-robust"), ("audio-small.wav", "ir"), ("audio-robust-small.wav", "ir"),
])
def test_a_capture_of_one_profile_decoded_as_another_finds_nothing(capsys, home, file, profile):
    status, events, _ = decode(capsys, home, profile, CAPTURES / file)
    assert_nothing_found(status, events, home)


@pytest.mark.parametrize("file", ["ir-detector-small.wav", "fm-mpx-small.wav"])
def test_a_capture_at_a_rate_the_other_profile_cannot_use_is_refused(capsys, home, file):
    """A 16 kHz detector WAV cannot hold audio's 11 kHz band, a 228 kHz MPX is above any sound
    card: the message names the file, its rate and the rates that would do."""
    status, events, err = decode(capsys, home, "audio", CAPTURES / file)
    assert status == 2 and events == [] and file in err and "give 22.501 kHz to 192 kHz" in err, err
    assert store_seq(home) == 0


def series_text(gap: str) -> str:
    return gap.join((CAPTURES / f).read_text() for f in SERIES["series"])


def test_two_pulses_in_a_row_and_an_endless_space_are_repaired(capsys, home, tmp_path):
    """Each file's first pulse doubled (two pulses in a row), and LIRC's endless space
    (16777215 us: nothing received) between files: the reader joins and shortens them, and
    the lists still decode."""
    text = series_text("space 16777215\n").replace("pulse 737\n", "pulse 300\npulse 437\n")
    assert "pulse 300\npulse 437\n" in text
    path = tmp_path / "odd.ir"
    path.write_text("space 16777215\n" + text)
    status, events, err = decode(capsys, home, "ir", path)
    assert status == 0, err
    assert store_seq(home) == SERIES["expect_list_seq"] and events[-1]["frames_bad"] == 0


@pytest.mark.parametrize("bad,why", [
    ("pulse -290", "'pulse' needs one positive integer"), ("space 0", "duration must be > 0"),
    ("+290 -0", "duration must be > 0"), ("pulse 290 385", "'pulse' needs one positive integer"),
    ("puls 290", "cannot read 'puls'"),
])
def test_a_malformed_negative_or_zero_duration_is_refused_naming_its_line(capsys, home, tmp_path, bad, why):
    good = series_text("space 125000\n")
    path = tmp_path / "bad.ir"
    path.write_text(good + bad + "\n")
    status, events, err = decode(capsys, home, "ir", path)
    line = good.count("\n") + 1
    assert status == 2 and events == [] and f"bad.ir: line {line}: {why}" in err, err
    assert store_seq(home) == 0
