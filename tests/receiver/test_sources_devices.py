"""RTL-SDR and line-in adapters against fake devices, and --tee-raw over every source."""

import io
import json
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from modem.formats import decode_samples, encode_samples, encode_wav
from receiver.radio._device_base import ReaderThread
from receiver.radio._device_fake import FakeInputStream, FakeRtlSdr
from receiver.radio._device_rtlsdr import RTL_RATE_RANGES_HZ
from receiver.radio.sources import (
    FileSource, LineInConfig, LineInSource, RtlSdrConfig, RtlSdrSource, SourceConfigError,
    SourceError, StdinSource, TeeRaw, open_source,
)


def iq_capture(n: int, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-0.9, 0.9, size=(n, 2)).astype(np.float32)
    return encode_samples(x[:, 0] + 1j * x[:, 1], "cu8")


def concat(source) -> np.ndarray:
    return np.concatenate(list(source))


# -- RTL-SDR --------------------------------------------------------------------------
def fake_factory(capture: bytes, made: list, **kwargs):
    def factory(index: int) -> FakeRtlSdr:
        made.append(FakeRtlSdr(capture, index, **kwargs))
        return made[-1]
    return factory


def test_rtlsdr_replays_the_capture_as_cu8():
    capture = iq_capture(300_000, seed=1)
    made = []
    cfg = RtlSdrConfig(89.1e6, max_samples=150_000, block_bytes=64 * 1024)
    with RtlSdrSource(cfg, fake_factory(capture, made)) as src:
        got = concat(src)
        assert src.is_iq and src.fmt == "cu8" and src.frequency_hz == 89.1e6
        assert src.sample_rate_hz == 1_200_000.0  # 28.8 MHz * 2**22 / 100663296 exactly
        assert max(b.size for b in RtlSdrSource(cfg, fake_factory(capture, []))) == 32 * 1024
        np.testing.assert_array_equal(got, decode_samples(capture[:300_000], "cu8"))
        assert src.seconds_delivered == pytest.approx(0.125)
    assert made[0].closed


def test_rtlsdr_settings_reach_the_device_and_zero_ppm_is_not_set():
    made = []
    RtlSdrSource(RtlSdrConfig(100e6, 2_400_000, gain_db=20, max_samples=0),
                 fake_factory(b"", made)).close()
    assert made[0].settings == [("sample_rate", 2_400_000), ("center_freq", 100_000_000),
                                ("gain", 20)]
    assert made[0].gain == 19.7 and not made[0].agc  # nearest R820T gain
    made = []
    RtlSdrSource(RtlSdrConfig(100e6, freq_correction_ppm=-41, device_index=1),
                 fake_factory(b"", made)).close()
    assert ("freq_correction", -41) in made[0].settings and made[0].agc
    assert made[0].device_index == 1


def test_rtlsdr_reports_the_rate_the_crystal_makes():
    with RtlSdrSource(RtlSdrConfig(100e6, 1_000_000), fake_factory(b"", [])) as src:
        assert src.sample_rate_hz == pytest.approx(1_000_000, abs=1)
        assert src.sample_rate_hz != 1e6


@pytest.mark.parametrize("rate", [225_000, 300_001, 900_000, 3_200_001, 48_000, 1.2e6])
def test_rtlsdr_refuses_rates_the_chip_cannot_do(rate):
    with pytest.raises(SourceConfigError, match=r"225001-300000 or 900001-3200000"):
        RtlSdrConfig(100e6, rate)


@pytest.mark.parametrize("rate", [r for pair in RTL_RATE_RANGES_HZ for r in pair])
def test_rtlsdr_accepts_the_edges_of_its_ranges(rate):
    assert RtlSdrConfig(100e6, rate).sample_rate_hz == rate


@pytest.mark.parametrize("kwargs,field", [
    ({"center_freq_hz": 0}, "center_freq_hz"), ({"center_freq_hz": 5e9}, "center_freq_hz"),
    ({"gain_db": "high"}, "gain_db"), ({"gain_db": float("nan")}, "gain_db"),
    ({"freq_correction_ppm": 1.5}, "freq_correction_ppm"), ({"device_index": -1}, "device_index"),
    ({"block_bytes": 1000}, "block_bytes"), ({"max_samples": -1}, "max_samples"),
])
def test_rtlsdr_config_names_the_bad_field(kwargs, field):
    args = {"center_freq_hz": 100e6, **kwargs}
    with pytest.raises(ValueError, match=field):
        RtlSdrConfig(**args)


def test_rtlsdr_end_of_device_data_is_an_error_naming_the_device():
    src = RtlSdrSource(RtlSdrConfig(100e6, block_bytes=1024), fake_factory(iq_capture(600), []))
    assert src.read_block().size == 512
    with pytest.raises(SourceError, match=r"RTL-SDR #0 at 100\.0000 MHz: read failed: Short"):
        src.read_block()


def test_rtlsdr_loop_replays_endlessly():
    capture = iq_capture(1000)
    src = RtlSdrSource(RtlSdrConfig(100e6, block_bytes=1536, max_samples=5_000),
                       fake_factory(capture, [], loop=True))
    got = concat(src)
    np.testing.assert_array_equal(got, np.tile(decode_samples(capture, "cu8"), 5))


def test_rtlsdr_configuration_failure_closes_the_device():
    class NoTune(FakeRtlSdr):
        @property
        def center_freq(self):
            return 0

        @center_freq.setter
        def center_freq(self, freq):
            raise OSError("Could not set center_freq to 80000000 Hz")

    made = []
    with pytest.raises(SourceError, match=r"cannot configure the device: Could not set center"):
        RtlSdrSource(RtlSdrConfig(80e6), lambda i: made.append(NoTune(b"")) or made[-1])
    assert made[0].closed


def test_rtlsdr_without_librtlsdr_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "rtlsdr", None)  # import fails as without librtlsdr
    with pytest.raises(SourceError, match=r"needs pyrtlsdr with a current librtlsdr: pip install"):
        RtlSdrSource(RtlSdrConfig(100e6))


def test_the_real_pyrtlsdr_loads_and_names_a_missing_dongle():
    """The real library, not a fake: pyrtlsdr imports with the librtlsdr that pyrtlsdrlib
    ships, its RtlSdr has every attribute the adapter uses, and with no dongle attached (as
    on every test machine) opening device 0 is a SourceError that says what to check."""
    from rtlsdr import RtlSdr

    for name in ("read_bytes", "close", "sample_rate", "center_freq", "gain", "freq_correction"):
        assert hasattr(RtlSdr, name), name
    with pytest.raises(SourceError, match=r"cannot open RTL-SDR device #0: .*plugged in"):
        RtlSdrSource(RtlSdrConfig(100e6))


def test_importing_sources_loads_no_device_library():
    code = ("import sys, receiver.radio.sources\n"
            "print(any(m in sys.modules for m in ('rtlsdr', 'sounddevice')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True,
                         text=True, timeout=60).stdout
    assert out.strip() == "False"


def test_fake_rtlsdr_read_samples_matches_pyrtlsdr_scaling():
    fake = FakeRtlSdr(bytes([0, 255, 128, 127]))
    want = [-1 + 1j, complex(1 / 255, -1 / 255)]
    np.testing.assert_allclose(fake.read_samples(2), want, atol=1e-9)


class Counter:
    """A device read that returns b'0', b'1', ... and fails with OSError after ``stop_at``."""

    def __init__(self, stop_at: int = 10**9) -> None:
        self.calls = 0
        self.stop_at = stop_at

    def __call__(self) -> bytes:
        if self.calls == self.stop_at:
            raise OSError("Short read, requested 512 bytes, received 0")
        self.calls += 1
        return str(self.calls - 1).encode()


def wait_for(cond) -> None:
    while not cond():  # the test's timeout bounds this
        time.sleep(0.001)


@pytest.mark.timeout(30)
def test_reader_thread_waits_when_full_and_loses_nothing():
    reader = ReaderThread(Counter(), max_blocks=2, name="t")
    wait_for(lambda: reader.full_waits >= 1)
    got = [reader.get() for _ in range(50)]
    reader.stop()
    assert got == [str(i).encode() for i in range(50)]
    assert not reader._thread.is_alive()


@pytest.mark.timeout(30)
def test_reader_thread_error_comes_after_the_blocks_read_before_it():
    reader = ReaderThread(Counter(stop_at=3), max_blocks=8, name="t")
    assert [reader.get() for _ in range(3)] == [b"0", b"1", b"2"]
    for _ in range(2):
        with pytest.raises(OSError, match="Short read"):
            reader.get()
    reader.stop()


@pytest.mark.timeout(30)
def test_closing_rtlsdr_stops_its_reader_thread_first():
    made = []
    src = RtlSdrSource(RtlSdrConfig(123.4e6, block_bytes=512, queue_blocks=1),
                       fake_factory(iq_capture(1000), made, loop=True))
    src.read_block()
    wait_for(lambda: src.overflows >= 1)
    src.close()
    assert made[0].closed and src.overflows >= 1
    names = [t.name for t in threading.enumerate()]
    assert not [n for n in names if n.startswith("hotcast RTL-SDR #0 at 123.4")]
    assert src.read_block() is None


# -- line-in --------------------------------------------------------------------------
def test_linein_replays_and_passes_stream_settings():
    x = np.random.default_rng(2).uniform(-1, 1, 10_000).astype(np.float32)
    made = []

    def factory(**kwargs):
        made.append(FakeInputStream(x, frozenset({1, 3}), **kwargs))
        return made[-1]

    cfg = LineInConfig(44_100, device="USB", block_frames=1_024, max_samples=9_000)
    with LineInSource(cfg, factory) as src:
        got = concat(src)
        assert src.fmt == "f32le" and not src.is_iq and src.sample_rate_hz == 44_100
        assert src.overflows == 2 and src.stats.overflows == 2
    np.testing.assert_array_equal(got, x[:9_000])
    assert made[0].kwargs == {"device": "USB", "samplerate": 44_100, "channels": 1,
                              "dtype": "float32", "blocksize": 1_024}
    assert made[0].closed


def test_linein_gives_silence_after_the_replay():
    src = LineInSource(LineInConfig(block_frames=100, max_samples=250),
                       lambda **k: FakeInputStream(np.ones(120), **k))
    got = concat(src)
    assert got.size == 250 and got[:120].all() and not got[120:].any()


def test_linein_read_failure_names_the_device():
    class Broken(FakeInputStream):
        def read(self, frames):
            raise OSError("Input overflowed badly")

    src = LineInSource(LineInConfig(device=3), lambda **k: Broken(np.zeros(1), **k))
    with pytest.raises(SourceError, match=r"line-in 3 at 48000 Hz: read failed"):
        src.read_block()


def test_linein_without_portaudio_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sounddevice", None)
    with pytest.raises(SourceError, match=r"needs PortAudio: apt-get install libportaudio2"):
        LineInSource(LineInConfig())


@pytest.mark.parametrize("kwargs", [{"sample_rate_hz": 0}, {"block_frames": 0},
                                    {"device": 1.5}, {"max_samples": -2}])
def test_linein_config_refuses_bad_values(kwargs):
    with pytest.raises(ValueError):
        LineInConfig(**kwargs)


# -- --tee-raw ------------------------------------------------------------------------
def test_tee_copies_every_byte_and_the_copy_reads_back(tmp_path):
    data = iq_capture(20_000, seed=4) + b"\x80"  # and a truncated final sample
    (tmp_path / "in.cu8").write_bytes(data)
    tee = tmp_path / "copy.cu8"
    with open_source(str(tmp_path / "in.cu8"), rate_hz=1_200_000, tee_raw=str(tee),
                     chunk_bytes=777) as src:
        got = concat(src)
        assert src.leftover_bytes == 1 and src.seconds_delivered == pytest.approx(20_000 / 1.2e6)
    assert tee.read_bytes() == data
    meta = json.loads((tmp_path / "copy.cu8.sigmf-meta").read_text())
    assert meta["global"]["core:datatype"] == "cu8"
    assert meta["global"]["core:sample_rate"] == 1_200_000
    np.testing.assert_array_equal(concat(FileSource(tee)), got)


def test_tee_of_a_wav_on_stdin_is_the_wav_itself(tmp_path):
    data = encode_wav(np.linspace(-0.5, 0.5, 5_000), 48_000)
    tee = tmp_path / "copy.wav"
    src = TeeRaw(StdinSource("wav", stream=io.BytesIO(data), chunk_bytes=100), tee)
    got = concat(src)
    assert tee.read_bytes() == data and not (tmp_path / "copy.wav.sigmf-meta").exists()
    np.testing.assert_array_equal(concat(FileSource(tee)), got)


def test_tee_of_rtlsdr_keeps_frequency_and_sigmf_data_naming(tmp_path):
    capture = iq_capture(4_000)
    src = RtlSdrSource(RtlSdrConfig(89.1e6, block_bytes=1024, max_samples=3_000),
                       fake_factory(capture, []))
    tee = tmp_path / "field.sigmf-data"
    with TeeRaw(src, tee) as t:
        got = concat(t)
    assert tee.read_bytes() == capture[:6_000]
    meta = json.loads((tmp_path / "field.sigmf-meta").read_text())
    assert meta["captures"][0]["core:frequency"] == 89.1e6
    again = FileSource(tee)
    assert again.frequency_hz == 89.1e6 and again.sample_rate_hz == 1_200_000
    np.testing.assert_array_equal(concat(again), got)


def test_tee_of_linein_is_an_f32le_capture(tmp_path):
    x = np.random.default_rng(5).uniform(-1, 1, 3_000).astype(np.float32)
    src = LineInSource(LineInConfig(block_frames=700, max_samples=3_000),
                       lambda **k: FakeInputStream(x, **k))
    tee = tmp_path / "line.f32le"
    with TeeRaw(src, tee) as t:
        concat(t)
    np.testing.assert_array_equal(concat(FileSource(tee)), x)


def test_tee_onto_the_input_itself_is_refused(tmp_path):
    path = tmp_path / "x.cu8"
    path.write_bytes(iq_capture(10))
    with pytest.raises(SourceConfigError, match=r"is the input itself"):
        open_source(str(path), rate_hz=1_200_000, tee_raw=str(path))
    assert path.read_bytes() == iq_capture(10)


def test_tee_into_a_missing_folder_is_named(tmp_path):
    (tmp_path / "x.cu8").write_bytes(b"")
    with pytest.raises(SourceError, match=r"cannot write --tee-raw .*no/such/c\.cu8"):
        open_source(str(tmp_path / "x.cu8"), rate_hz=1_200_000,
                    tee_raw=str(tmp_path / "no" / "such" / "c.cu8"))


def test_tee_named_for_another_format_is_refused(tmp_path):
    (tmp_path / "x.cu8").write_bytes(b"")
    with pytest.raises(SourceConfigError, match=r"extension says s16le but the raw input is cu8"):
        open_source(str(tmp_path / "x.cu8"), rate_hz=1_200_000,
                    tee_raw=str(tmp_path / "copy.s16le"))
