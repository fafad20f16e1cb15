"""modem/soundcard.py, the one adapter over sounddevice, against a fake PortAudio backend; and
the line-in source and `hotcast devices` listing on top of it."""

from __future__ import annotations

import subprocess
import sys
import types

import numpy as np
import pytest

from modem import soundcard
from modem.soundcard import SoundCardError
from receiver.radio._device_linein import LineInConfig, LineInSource, list_sound_cards
from receiver.radio.sources import SourceError


class PortAudioError(Exception):
    """What sounddevice raises."""


class Flags:
    def __init__(self, overflow: bool = False) -> None:
        self.input_overflow = overflow


class FakeStream:
    """sounddevice.InputStream / OutputStream: blocking read/write, or a callback run by
    ``pump`` as PortAudio's thread would run it."""

    def __init__(self, fail_on: str = "", **kwargs) -> None:
        if fail_on == "open":
            raise PortAudioError("Error opening InputStream: Invalid number of channels [PaErrorCode -9998]")
        self.kwargs, self.fail_on, self.calls, self.written = kwargs, fail_on, [], []
        self._n = 0

    def _do(self, name):
        self.calls.append(name)
        if self.fail_on == name:
            raise PortAudioError(f"Error {name}ing stream: Device unavailable [PaErrorCode -9985]")

    def start(self):
        self._do("start")

    def stop(self):
        self._do("stop")

    def abort(self):
        self._do("abort")

    def close(self):
        self._do("close")

    def read(self, frames):
        self._do("read")
        ch = self.kwargs["channels"]
        data = (np.arange(frames * ch, dtype=np.float32).reshape(frames, ch) + self._n) / 1e4
        self._n += frames * ch
        return data, self._n > 2 * frames * ch  # the third read overflows

    def write(self, data):
        self._do("write")
        self.written.append(np.array(data))
        return len(self.written) == 2

    def pump(self, frames: int, overflow: bool = False) -> np.ndarray:
        """One buffer through the callback: what the card captured or will play."""
        buf = np.full((frames, self.kwargs["channels"]), 0.25, np.float32)
        self.kwargs["callback"](buf, frames, None, Flags(overflow))
        return buf


def fake_backend(fail_on: str = "", devices=None) -> types.SimpleNamespace:
    made = []

    def stream(**kwargs):
        made.append(FakeStream(fail_on, **kwargs))
        return made[-1]

    def query_devices():
        if fail_on == "query":
            raise PortAudioError("Error querying device -1")
        return devices if devices is not None else [
            {"name": "HDA Intel PCH: ALC3246 Analog (hw:0,0)", "hostapi": 0, "max_input_channels": 2,
             "max_output_channels": 2, "default_samplerate": 44100.0},
            {"name": "USB Audio CODEC: - (hw:1,0)", "hostapi": 0, "max_input_channels": 2,
             "max_output_channels": 0, "default_samplerate": 48000.0},
            {"name": "pulse", "hostapi": 1, "max_input_channels": 32, "max_output_channels": 32,
             "default_samplerate": 44100.0},
        ]

    return types.SimpleNamespace(
        made=made, PortAudioError=PortAudioError, InputStream=stream, OutputStream=stream,
        query_devices=query_devices, query_hostapis=lambda: ({"name": "ALSA"}, {"name": "PulseAudio"}))


def test_listing_gives_channels_rates_and_host_apis():
    cards = soundcard.list_sound_cards(fake_backend())
    assert [(c.index, c.hostapi, c.max_input_channels, c.max_output_channels, c.default_rate_hz)
            for c in cards] == [(0, "ALSA", 2, 2, 44_100.0), (1, "ALSA", 2, 0, 48_000.0),
                                (2, "PulseAudio", 32, 32, 44_100.0)]
    assert cards[1].name == "USB Audio CODEC: - (hw:1,0)"
    assert list_sound_cards(fake_backend())[1] == {
        "index": 1, "name": "USB Audio CODEC: - (hw:1,0)", "hostapi": "ALSA", "inputs": 2, "outputs": 0,
        "default_rate_hz": 48_000.0}


def test_a_failing_listing_is_one_typed_error():
    with pytest.raises(SoundCardError, match=r"cannot list the sound cards: Error querying device -1"):
        soundcard.list_sound_cards(fake_backend("query"))
    with pytest.raises(SourceError, match=r"cannot list the sound cards"):
        list_sound_cards(fake_backend("query"))


def test_a_blocking_input_reads_float32_frames_and_reports_overruns():
    backend = fake_backend()
    with soundcard.open_input("USB", 48_000, channels=2, block_frames=480, backend=backend) as stream:
        stream.start()
        reads = [stream.read(100) for _ in range(3)]
    fake = backend.made[0]
    assert fake.kwargs == {"device": "USB", "samplerate": 48_000, "channels": 2, "dtype": "float32",
                           "blocksize": 480}
    assert [r[0].shape for r in reads] == [(100, 2)] * 3 and all(r[0].dtype == np.float32 for r in reads)
    assert [r[1] for r in reads] == [False, False, True]
    assert fake.calls == ["start", "read", "read", "read", "close"]


def test_an_input_callback_gets_each_buffer_and_its_overrun_flag():
    got = []
    backend = fake_backend()
    soundcard.open_input(None, 96_000, callback=lambda block, over: got.append((block, over)), backend=backend)
    fake = backend.made[0]
    buf = fake.pump(64)
    fake.pump(32, overflow=True)
    buf[:] = 0  # PortAudio reuses its buffer: the block handed over must be a copy
    assert [(b.shape, over) for b, over in got] == [((64, 1), False), ((32, 1), True)]
    assert np.all(got[0][0] == 0.25)


def test_a_blocking_output_takes_mono_arrays_and_reports_underflows():
    backend = fake_backend()
    stream = soundcard.open_output(2, 192_000, backend=backend)
    stream.start()
    assert stream.write(np.zeros(100)) is False
    assert stream.write(np.ones((50, 1))) is True
    stream.stop()
    stream.close()
    fake = backend.made[0]
    assert [w.shape for w in fake.written] == [(100, 1), (50, 1)] and fake.written[0].dtype == np.float32
    assert fake.calls == ["start", "write", "write", "stop", "close"]


def test_an_output_callback_fills_each_buffer_and_pads_a_short_block_with_silence():
    blocks = iter([np.full(64, 0.5, np.float32), np.full(10, -0.5, np.float32)])
    backend = fake_backend()
    soundcard.open_output(None, 48_000, block_frames=64, callback=lambda frames: next(blocks), backend=backend)
    fake = backend.made[0]
    first, second = fake.pump(64), fake.pump(64)
    assert np.all(first == 0.5)
    assert np.all(second[:10] == -0.5) and np.all(second[10:] == 0)


@pytest.mark.parametrize("fail_on, call, message", [
    ("open", None, r"cannot open sound card 'USB' at 48000 Hz: Error opening InputStream: Invalid number"),
    ("start", "start", r"sound card 'USB' at 48000 Hz: start failed: .*Device unavailable"),
    ("read", "read", r"sound card 'USB' at 48000 Hz: read failed: .*Device unavailable"),
    ("abort", "abort", r"sound card 'USB' at 48000 Hz: abort failed"),
])
def test_every_portaudio_failure_is_one_error_naming_the_device(fail_on, call, message):
    backend = fake_backend(fail_on)
    with pytest.raises(SoundCardError, match=message) as caught:
        stream = soundcard.open_input("USB", 48_000, backend=backend)
        getattr(stream, call)(*((10,) if call == "read" else ()))
    assert isinstance(caught.value, OSError)


def test_an_unknown_device_is_named_as_opened_for_output():
    backend = fake_backend()

    def refuse(**kwargs):
        raise ValueError("No output device matching 'Focusrite'")

    backend.OutputStream = refuse
    with pytest.raises(SoundCardError, match=r"cannot open sound card 'Focusrite' at 192000 Hz: No output "
                                             r"device matching 'Focusrite'"):
        soundcard.open_output("Focusrite", 192_000, backend=backend)
    backend.OutputStream = refuse
    with pytest.raises(SoundCardError, match=r"cannot open the default output at 96000 Hz"):
        soundcard.open_output(None, 96_000, backend=backend)


@pytest.mark.parametrize("kwargs", [{"device": 1.5}, {"channels": 0}, {"block_frames": -1}, {"rate_hz": 0},
                                    {"device": True}])
def test_misuse_is_a_value_error_before_any_device_is_touched(kwargs):
    args = {"device": None, "rate_hz": 48_000, **kwargs}
    backend = fake_backend()
    with pytest.raises(ValueError):
        soundcard.open_input(args.pop("device"), args.pop("rate_hz"), backend=backend, **args)
    assert backend.made == []


def test_a_missing_portaudio_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sounddevice", None)
    for call in (soundcard.load_backend, soundcard.list_sound_cards,
                 lambda: soundcard.open_output(None, 48_000)):
        with pytest.raises(SoundCardError, match=r"needs PortAudio: apt-get install libportaudio2"):
            call()


def test_this_machine_either_has_portaudio_or_is_told_what_to_install():
    """sounddevice is a dependency; PortAudio (libportaudio2) may or may not be installed."""
    try:
        import sounddevice  # noqa: F401
    except OSError:
        with pytest.raises(SoundCardError, match=r"apt-get install libportaudio2 \(PortAudio library not found"):
            soundcard.load_backend()
    else:
        assert soundcard.load_backend() is sys.modules["sounddevice"]


def test_importing_the_adapter_loads_no_portaudio():
    code = "import modem.soundcard, receiver.radio._device_linein, sys; print('sounddevice' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         timeout=60).stdout
    assert out.strip() == "False"


def test_the_line_in_opens_through_the_adapter_and_names_the_device_when_it_fails(monkeypatch):
    backend = fake_backend()
    monkeypatch.setattr(soundcard, "load_backend", lambda: backend)
    with LineInSource(LineInConfig(44_100, device=1, block_frames=200, max_samples=500)) as src:
        blocks = list(src)
        assert src.overflows == 1  # the fake's third read
    assert [b.size for b in blocks] == [200, 200, 100]
    assert backend.made[0].kwargs == {"device": 1, "samplerate": 44_100, "channels": 1, "dtype": "float32",
                                      "blocksize": 200}
    broken = fake_backend("open")
    monkeypatch.setattr(soundcard, "load_backend", lambda: broken)
    with pytest.raises(SourceError, match=r"line-in 'USB' at 48000 Hz: cannot open sound card 'USB' at "
                                          r"48000 Hz: Error opening InputStream"):
        LineInSource(LineInConfig(device="USB"))
    failing = fake_backend("read")
    monkeypatch.setattr(soundcard, "load_backend", lambda: failing)
    src = LineInSource(LineInConfig(device=3))
    with pytest.raises(SourceError, match=r"line-in 3 at 48000 Hz: read failed: sound card 3 at 48000 Hz: "
                                          r"read failed: .*Device unavailable"):
        src.read_block()
