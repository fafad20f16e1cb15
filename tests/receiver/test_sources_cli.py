"""`hotcast receiver decode | listen` over the new inputs: a stereo WAV is I/Q and decodes as
cf32 does, a flag that overrides a .sigmf-meta is a warning, and --rate / --freq take what SDR
users type (228k, 2.4M, 1.2e6), refusing a bad one by name with nothing changed.

Signals come from one simulated center (tests/simcenter.py) through the center's own carousel
renderer; the clock is the simulator's (HOTCAST_NOW)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from center.air.render import CarouselRenderer, RenderConfig
from crypto import BundleKind
from hotcast.cli import main as hotcast_main
from modem import TxOptions
from modem.formats import SigmfMeta, build_sigmf_meta, encode_samples, encode_wav
from receiver.radio import cli as cli_receiver
from receiver.radio._device_fake import FakeRtlSdr
from receiver.store.store import TerminalStore
from tests.simcenter import NOW, SimCenter, make_hot

IQ_RATE_HZ = 480_000  # a cheap complete FM signal (240 kHz, the lowest I/Q rate, does not render)


@dataclass(frozen=True)
class OnAir:
    """A bundle as the carousel renderer takes it."""

    kind: BundleKind
    seq: int
    sealed: bytes


def render(profile: str, bundles: list[OnAir], **tx) -> np.ndarray:
    """One whole carousel cycle of ``bundles`` through the center's renderer."""
    renderer = CarouselRenderer(profile, bundles, RenderConfig(tx=TxOptions(**tx)))
    return np.concatenate(list(renderer.blocks()))


def events_of(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def decode(capsys, home: Path, *args) -> tuple[int, list[dict], str]:
    status = hotcast_main(["receiver", "decode", "--home", str(home), *[str(a) for a in args]])
    out, err = capsys.readouterr()
    return status, events_of(out), err


def store_seq(home: Path) -> int:
    with TerminalStore.open(home) as s:
        return s.state().seq


def without_input(events: list[dict]) -> list[dict]:
    """Events less what names the file (input, format)."""
    skip = ("input", "format", "seconds_of_cpu", "stages")
    return [{k: v for k, v in e.items() if k not in skip} for e in events]


@pytest.fixture
def clock(monkeypatch):
    monkeypatch.setenv("HOTCAST_NOW", str(NOW))


@pytest.fixture(scope="module")
def fm_capture():
    """A simulated center's full list of 40 cards as one fm carousel cycle of FM I/Q."""
    sim = SimCenter()
    bundle = sim.full(make_hot(40, seed=3))
    iq = render("fm", [OnAir(BundleKind.FULL, 1, bundle)], iq_rate_hz=IQ_RATE_HZ)
    return sim, iq


def new_home(tmp_path: Path, sim: SimCenter, name: str = "t") -> Path:
    home = tmp_path / name
    TerminalStore.create(home, sim.terminal_keys()).close()
    return home


def test_a_stereo_wav_of_iq_decodes_as_the_same_cf32_does(tmp_path, capsys, clock, fm_capture):
    sim, iq = fm_capture
    cf32 = tmp_path / "capture.cf32"
    cf32.write_bytes(encode_samples(iq, "cf32"))
    (tmp_path / "capture.cf32.sigmf-meta").write_text(build_sigmf_meta(SigmfMeta("cf32", IQ_RATE_HZ)))
    wav = tmp_path / "sdrsharp.wav"
    wav.write_bytes(encode_wav(iq, IQ_RATE_HZ, "f32"))
    status, by_cf32, _ = decode(capsys, new_home(tmp_path, sim, "a"), "--profile", "fm", "--input", cf32)
    assert status == 0
    status, by_wav, err = decode(capsys, new_home(tmp_path, sim, "b"), "--profile", "fm", "--input", wav)
    assert status == 0 and err == ""
    assert by_wav[0]["format"] == "wav" and by_wav[0]["is_iq"] is True
    assert without_input(by_wav) == without_input(by_cf32)
    assert [(e["seq"], e["entries"]) for e in by_wav if e["event"] == "bundle_applied"] == [(1, 40)]


def test_a_16_bit_stereo_wav_of_iq_decodes(tmp_path, capsys, clock, fm_capture):
    sim, iq = fm_capture
    wav = tmp_path / "sdrpp.wav"
    wav.write_bytes(encode_wav(iq * np.float32(0.7), IQ_RATE_HZ, "s16"))
    home = new_home(tmp_path, sim)
    status, events, _ = decode(capsys, home, "--profile", "fm", "--input", wav)
    assert status == 0 and events[-1]["bundles_applied"] == 1 and store_seq(home) == 1


def test_a_stereo_wav_is_mixed_to_mono_for_a_profile_without_iq(tmp_path, capsys, clock,
                                                                 fm_capture):
    # An I/Q recording given to a sound profile is read as stereo audio (no I/Q there): it
    # carries no audio frames, so nothing applies, and the warning says how it was read.
    sim, iq = fm_capture
    wav = tmp_path / "iq.wav"
    wav.write_bytes(encode_wav(iq[:48_000], 48_000, "s16"))
    home = new_home(tmp_path, sim)
    status, events, err = decode(capsys, home, "--profile", "audio", "--input", wav)
    assert status == 0 and events[-1]["frames_ok"] == 0 and store_seq(home) == 0
    assert "iq.wav: a 2-channel WAV, read as stereo audio mixed to mono for profile audio" in err


def test_a_rate_flag_over_a_sigmf_meta_is_used_with_a_warning(tmp_path, capsys, clock, fm_capture):
    """The metadata says 500 kHz, the capture is 480 kHz: --rate 480k wins, and says so."""
    sim, iq = fm_capture
    path = tmp_path / "capture.cs16"
    path.write_bytes(encode_samples(iq * np.float32(0.7), "cs16"))
    meta = tmp_path / "capture.cs16.sigmf-meta"
    meta.write_text(build_sigmf_meta(SigmfMeta("cs16", 500_000)))
    home = new_home(tmp_path, sim)
    status, events, err = decode(capsys, home, "--profile", "fm", "--input", path, "--rate", "480k")
    assert status == 0
    assert err == (f"hotcast receiver decode: warning: {path}: --rate 480 kHz overrides 500 kHz in "
                   f"{meta}\n")
    assert events[0]["sample_rate_hz"] == IQ_RATE_HZ and events[-1]["bundles_applied"] == 1


def test_a_format_flag_over_a_sigmf_meta_is_used_with_a_warning(tmp_path, capsys, clock, fm_capture):
    sim, iq = fm_capture
    path = tmp_path / "capture.sigmf-data"
    path.write_bytes(encode_samples(iq, "cf32"))
    meta = tmp_path / "capture.sigmf-meta"
    meta.write_text(build_sigmf_meta(SigmfMeta("cs16", IQ_RATE_HZ)))
    status, events, err = decode(capsys, new_home(tmp_path, sim), "--profile", "fm", "--input", path,
                                 "--format", "cf32")
    assert status == 0 and events[-1]["bundles_applied"] == 1
    assert "warning: " in err and "--format cf32 overrides core:datatype ci16_le (cs16)" in err


@pytest.mark.parametrize("text", ["228k", "228K", "228 kHz", "2.28e5", "0.228M", "228000"])
def test_rate_suffixes_give_the_same_decode(tmp_path, capsys, clock, text):
    """A raw MPX file decoded with the rate written every way SDR users write it."""
    sim = SimCenter()
    mpx = tmp_path / "mpx.s16le"
    mpx.write_bytes(encode_samples(np.random.default_rng(1).normal(0, 0.1, 22_800).astype(np.float32), "s16le"))
    status, events, err = decode(capsys, new_home(tmp_path, sim), "--profile", "fm", "--input", mpx,
                                 "--rate", text)
    assert status == 0, err
    assert events[0]["sample_rate_hz"] == 228_000
    assert events[-1]["event"] == "summary" and events[-1]["seconds_of_signal"] == pytest.approx(0.1)


@pytest.mark.parametrize("text, why", [
    ("2.4X", r"'2\.4X' is not a number of Hz"),
    ("-228k", r"'-228k' is negative"),
    ("0", r"'0' is zero"),
    ("1e400", r"'1e400' is above 1000 GHz"),
    ("1e99999", r"'1e99999' is not a sensible number of Hz"),
    ("2e12", r"'2e12' is above 1000 GHz"),
    ("nan", r"'nan' is not a number of Hz"),
])
def test_a_bad_rate_is_refused_naming_it_and_nothing_changes(tmp_path, capsys, clock, text, why):
    sim = SimCenter()
    home = new_home(tmp_path, sim)
    before = (home / "store.sqlite").read_bytes() if (home / "store.sqlite").exists() else None
    mpx = tmp_path / "mpx.s16le"
    mpx.write_bytes(b"\0" * 100)
    status, events, err = decode(capsys, home, "--profile", "fm", "--input", mpx, f"--rate={text}")
    assert status == 2 and events == []
    assert err.startswith("hotcast receiver decode: error: argument --rate: ")
    assert __import__("re").search(why, err), err
    assert store_seq(home) == 0
    if before is not None:
        assert (home / "store.sqlite").read_bytes() == before


def test_listen_takes_freq_and_rate_with_suffixes(tmp_path, capsys, clock, monkeypatch, fm_capture):
    sim, _ = fm_capture
    made = []

    def factory(index):
        made.append(FakeRtlSdr(b"\x80" * 20_000, index, loop=True))
        return made[-1]

    monkeypatch.setitem(cli_receiver.DEVICE_FACTORIES, "rtl_sdr", factory)
    status = hotcast_main(["receiver", "listen", "--home", str(new_home(tmp_path, sim)), "--profile", "fm",
                           "--rtl-sdr", "--freq", "89.1M", "--rate", "1.2M", "--duration", "0.005"])
    out, err = capsys.readouterr()
    assert status == 0, err
    assert ("center_freq", 89_100_000) in made[0].settings and ("sample_rate", 1_200_000) in made[0].settings
    assert events_of(out)[0]["sample_rate_hz"] == pytest.approx(1_200_000, abs=1)


def test_listen_refuses_a_bad_freq_by_name(tmp_path, capsys, clock, fm_capture):
    sim, _ = fm_capture
    status = hotcast_main(["receiver", "listen", "--home", str(new_home(tmp_path, sim)), "--profile", "fm",
                           "--rtl-sdr", "--freq", "89.1Q"])
    _, err = capsys.readouterr()
    assert status == 2 and "argument --freq: '89.1Q' is not a number of Hz" in err
    status = hotcast_main(["receiver", "listen", "--home", str(new_home(tmp_path, sim, "u")), "--profile",
                           "fm", "--rtl-sdr", "--freq", "120M"])
    _, err = capsys.readouterr()
    assert status == 2 and "--freq 120 MHz is outside the FM broadcast band (76 MHz - 108 MHz)" in err
