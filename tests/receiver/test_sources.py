"""File and standard-input sources: every format, any chunking, SigMF, every bad input."""

import io
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modem.formats import (
    SigmfMeta, build_sigmf_meta, decode_samples, decode_wav, encode_samples, encode_wav,
)
from receiver.radio.sources import (
    FileSource, SourceConfigError, SourceError, StdinSource, open_source,
)

RAW_FORMATS = ["cu8", "cs8", "cf32", "s16le", "f32le"]
IQ = {"cu8", "cs8", "cf32"}
RATE = 228_000


def signal(fmt: str, n: int, seed: int = 0) -> np.ndarray:
    """n samples, |x| < 0.9 so nothing clips: complex for I/Q formats, real otherwise."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-0.9, 0.9, size=(n, 2)).astype(np.float32)
    return x[:, 0] + 1j * x[:, 1] if fmt in IQ else x[:, 0]


def raw_bytes(fmt: str, n: int, seed: int = 0) -> bytes:
    if fmt == "wav":
        return encode_wav(signal("s16le", n, seed), 48_000)
    return encode_samples(signal(fmt, n, seed), fmt)


def reference(fmt: str, data: bytes) -> np.ndarray:
    return decode_wav(data)[1] if fmt == "wav" else decode_samples(data, fmt)


def write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def read_all(source) -> np.ndarray:
    blocks = list(source)
    dtype = np.complex64 if source.is_iq else np.float32
    return np.concatenate(blocks) if blocks else np.zeros(0, dtype)


@pytest.mark.parametrize("fmt", RAW_FORMATS)
def test_raw_file_gives_the_samples_written(tmp_path, fmt):
    data = raw_bytes(fmt, 5_000, seed=1)
    with FileSource(write(tmp_path, f"x.{fmt}", data), rate_hz=RATE) as src:
        got = read_all(src)
        assert src.fmt == fmt and src.is_iq == (fmt in IQ)
        assert got.dtype == (np.complex64 if fmt in IQ else np.float32)
        np.testing.assert_array_equal(got, reference(fmt, data))
        assert src.samples_delivered == 5_000
        assert src.seconds_delivered == pytest.approx(5_000 / RATE)
        assert src.stats.bytes_read == len(data) and src.stats.leftover_bytes == 0
        assert src.read_block() is None


@pytest.mark.parametrize("encoding", ["s16", "f32"])
def test_wav_file_gives_its_samples_and_rate(tmp_path, encoding):
    data = encode_wav(signal("s16le", 3_000, seed=2), 44_100, encoding)
    with FileSource(write(tmp_path, "x.WAV", data)) as src:
        assert src.sample_rate_hz == 44_100 and src.fmt == "wav" and not src.is_iq
        np.testing.assert_array_equal(read_all(src), decode_wav(data)[1])


def test_blocks_stay_within_one_chunk(tmp_path):
    data = raw_bytes("cf32", 10_000)
    src = FileSource(write(tmp_path, "x.cf32", data), rate_hz=RATE, chunk_bytes=4096)
    assert max(b.size for b in src) <= 4096 // 8


@pytest.mark.parametrize("fmt", ["cu8", "cf32", "s16le"])
def test_aligned_reads_give_whole_blocks_and_the_same_samples(tmp_path, fmt):
    data = raw_bytes(fmt, 10_000, seed=4)
    path = write(tmp_path, f"x.{fmt}", data)
    with FileSource(path, rate_hz=RATE, chunk_bytes=5000) as src:
        src.align_reads(700)
        blocks = list(src)
    assert all(b.size % 700 == 0 for b in blocks[:-1]) and blocks[0].size >= 700
    np.testing.assert_array_equal(np.concatenate(blocks), reference(fmt, data))


def test_aligned_reads_leave_a_wav_as_it_was(tmp_path):
    data = encode_wav(signal("s16le", 3_000, seed=2), 44_100, "s16")
    with FileSource(write(tmp_path, "x.wav", data), chunk_bytes=1000) as src:
        src.align_reads(700)
        assert src._chunk == 1000
        np.testing.assert_array_equal(read_all(src), decode_wav(data)[1])


@settings(max_examples=40, deadline=None)
@given(fmt=st.sampled_from(RAW_FORMATS + ["wav"]), n=st.integers(0, 700),
       chunk=st.integers(1, 3000), seed=st.integers(0, 2**16))
def test_any_chunk_size_gives_identical_samples(tmp_path_factory, fmt, n, chunk, seed):
    data = raw_bytes(fmt, n, seed)
    path = write(tmp_path_factory.mktemp("c"), f"x.{fmt}", data)
    with FileSource(path, rate_hz=None if fmt == "wav" else RATE, chunk_bytes=chunk) as src:
        np.testing.assert_array_equal(read_all(src), reference(fmt, data))


class ShortReads(io.RawIOBase):
    """A pipe-like stream whose read1 returns a seeded random number of bytes (>= 1)."""

    def __init__(self, data: bytes, seed: int) -> None:
        self._data, self._pos = data, 0
        self._rng = np.random.default_rng(seed)

    def read1(self, n: int = -1) -> bytes:
        take = int(self._rng.integers(1, max(2, n + 1)))
        out = self._data[self._pos:self._pos + min(n, take)]
        self._pos += len(out)
        return out


@pytest.mark.parametrize("fmt", RAW_FORMATS + ["wav"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_stdin_short_reads_give_identical_samples(fmt, seed):
    data = raw_bytes(fmt, 2_000, seed)
    src = StdinSource(fmt, None if fmt == "wav" else RATE, stream=ShortReads(data, seed),
                      chunk_bytes=512)
    np.testing.assert_array_equal(read_all(src), reference(fmt, data))


@pytest.mark.parametrize("fmt,extra", [("cu8", 1), ("cf32", 5), ("s16le", 1), ("f32le", 3)])
def test_truncated_final_sample_is_counted_not_raised(tmp_path, fmt, extra):
    data = raw_bytes(fmt, 100) + b"\x01" * extra
    src = FileSource(write(tmp_path, f"x.{fmt}", data), rate_hz=RATE)
    assert read_all(src).size == 100
    assert src.leftover_bytes == extra and src.stats.leftover_bytes == extra


def test_truncated_wav_data_gives_what_is_there(tmp_path):
    data = encode_wav(signal("s16le", 100), 48_000)[:-51]  # 25.5 samples short
    src = FileSource(write(tmp_path, "x.wav", data))
    assert read_all(src).size == 74 and src.leftover_bytes == 1


def meta_text(fmt: str, rate: float, freq: float | None = None) -> str:
    return build_sigmf_meta(SigmfMeta(fmt, rate, freq))


def test_sigmf_meta_beside_a_file_gives_rate_and_frequency(tmp_path):
    data = raw_bytes("cu8", 1_000)
    path = write(tmp_path, "x.cu8", data)
    (tmp_path / "x.cu8.sigmf-meta").write_text(meta_text("cu8", 1_200_000, 89.1e6))
    src = FileSource(path)
    assert src.sample_rate_hz == 1_200_000 and src.frequency_hz == 89.1e6
    np.testing.assert_array_equal(read_all(src), decode_samples(data, "cu8"))


def test_sigmf_data_and_meta_pair_gives_format_and_rate(tmp_path):
    data = raw_bytes("cs8", 1_000)
    path = write(tmp_path, "rec.sigmf-data", data)
    (tmp_path / "rec.sigmf-meta").write_text(meta_text("cs8", 2_400_000))
    src = FileSource(path)
    assert (src.fmt, src.sample_rate_hz, src.is_iq) == ("cs8", 2_400_000, True)
    np.testing.assert_array_equal(read_all(src), decode_samples(data, "cs8"))


def test_sigmf_data_without_meta_needs_format_and_rate(tmp_path):
    path = write(tmp_path, "rec.sigmf-data", raw_bytes("cf32", 10))
    with pytest.raises(SourceError, match=r"rec\.sigmf-meta.*--format"):
        FileSource(path)
    assert FileSource(path, "cf32", RATE).fmt == "cf32"


def test_rate_agreeing_with_sigmf_is_quiet_and_a_conflicting_one_wins_with_a_warning(tmp_path):
    path = write(tmp_path, "x.s16le", raw_bytes("s16le", 10))
    (tmp_path / "x.s16le.sigmf-meta").write_text(meta_text("s16le", 228_000))
    agreeing = FileSource(path, rate_hz=228_000.0001)  # within 1 ppm: the same rate
    assert agreeing.sample_rate_hz == 228_000.0001 and agreeing.warnings == ()
    src = FileSource(path, rate_hz=171_000)
    assert src.sample_rate_hz == 171_000
    (warning,) = src.warnings
    assert warning.endswith("x.s16le: --rate 171 kHz overrides 228 kHz in "
                            f"{tmp_path / 'x.s16le.sigmf-meta'}")


def test_sigmf_datatype_conflicting_with_extension_is_refused_and_format_settles_it(tmp_path):
    data = raw_bytes("cu8", 10)
    path = write(tmp_path, "x.cu8", data)
    (tmp_path / "x.cu8.sigmf-meta").write_text(meta_text("cs8", 1_200_000))
    with pytest.raises(SourceConfigError, match=r"describes cs8 samples but the file extension "
                                                r"says cu8; give --format"):
        FileSource(path)
    src = FileSource(path, "cu8")
    assert src.fmt == "cu8" and src.sample_rate_hz == 1_200_000
    assert src.warnings == (f"{path}: --format cu8 overrides core:datatype ci8 (cs8) in "
                            f"{tmp_path / 'x.cu8.sigmf-meta'}",)
    np.testing.assert_array_equal(read_all(src), decode_samples(data, "cu8"))


def test_wav_with_sigmf_meta_must_agree(tmp_path):
    path = write(tmp_path, "x.wav", encode_wav(signal("s16le", 10), 48_000))
    meta = tmp_path / "x.wav.sigmf-meta"
    meta.write_text(meta_text("s16le", 48_000))
    assert FileSource(path).sample_rate_hz == 48_000
    meta.write_text(meta_text("s16le", 44_100))
    with pytest.raises(SourceConfigError, match=r"WAV header says 48 kHz but .*sigmf-meta says "
                                                r"44\.1 kHz"):
        FileSource(path)
    with pytest.raises(SourceConfigError, match=r"WAV header says 48 kHz but --rate says 44\.1 kHz"):
        FileSource(path, rate_hz=44_100)  # the flag wins over the meta, not over the header
    meta.write_text(meta_text("cu8", 48_000))
    with pytest.raises(SourceConfigError, match=r"describes cu8 samples but the WAV header says 1 "
                                                r"channel\(s\) \(real\)"):
        FileSource(path)


def test_bad_sigmf_meta_names_the_meta_file(tmp_path):
    path = write(tmp_path, "x.cu8", raw_bytes("cu8", 10))
    (tmp_path / "x.cu8.sigmf-meta").write_text("{not json")
    with pytest.raises(SourceError, match=r"x\.cu8\.sigmf-meta: SigMF metadata is not JSON"):
        FileSource(path)


def wav_header(channels: int, bits: int, tag: int = 1, rate: int = 48_000) -> bytes:
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * block, block, bits)
    body = b"\0" * 64
    chunks = b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", 64) + body
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


@pytest.mark.parametrize("header,why", [
    (wav_header(3, 16), r"WAV has 3 channels; hotcast reads 1 \(baseband\) or 2 \(I/Q\)"),
    (wav_header(1, 12), r"WAV is 12-bit PCM; hotcast reads 8, 16, 24 or 32-bit PCM"),
    (wav_header(1, 24, tag=6), r"encoding tag 6"),
    (b"\x07" * 300, r"not a WAV file"),
    (encode_wav(np.zeros(10), 48_000)[:30], r"WAV header is truncated"),
    (b"", r"WAV header is truncated"),
])
def test_unusable_wav_is_refused_naming_file_and_problem(tmp_path, header, why):
    path = write(tmp_path, "bad.wav", header)
    with pytest.raises(SourceError, match=rf"bad\.wav: .*{why}"):
        FileSource(path)


def test_wav_rate_conflicting_with_rate_option_is_refused(tmp_path):
    path = write(tmp_path, "x.wav", encode_wav(signal("s16le", 10), 48_000))
    with pytest.raises(SourceConfigError, match=r"x\.wav: the WAV header says 48 kHz "
                                                r"but --rate says 44\.1 kHz; drop --rate"):
        FileSource(path, rate_hz=44_100)
    assert FileSource(path, rate_hz=48_000).sample_rate_hz == 48_000


def test_unknown_extension_needs_format(tmp_path):
    data = raw_bytes("s16le", 50)
    path = write(tmp_path, "capture.bin", data)
    with pytest.raises(SourceConfigError, match=r"capture\.bin: cannot tell .*--format"):
        FileSource(path, rate_hz=RATE)
    src = FileSource(path, "s16le", RATE)
    assert src.format_origin == "--format"
    np.testing.assert_array_equal(read_all(src), decode_samples(data, "s16le"))


def test_format_option_overrides_extension(tmp_path):
    data = raw_bytes("cs8", 50)
    src = FileSource(write(tmp_path, "x.cu8", data), "cs8", RATE)
    np.testing.assert_array_equal(read_all(src), decode_samples(data, "cs8"))


@pytest.mark.parametrize("fmt", RAW_FORMATS)
def test_raw_file_without_rate_names_the_rate_option(tmp_path, fmt):
    path = write(tmp_path, f"x.{fmt}", raw_bytes(fmt, 10))
    with pytest.raises(SourceConfigError, match=rf"x\.{fmt}: .*unknown; give --rate HZ"):
        FileSource(path)


@pytest.mark.parametrize("rate", [0, -1, float("nan"), float("inf"), "228k", True])
def test_bad_rate_is_refused(tmp_path, rate):
    path = write(tmp_path, "x.cu8", raw_bytes("cu8", 10))
    with pytest.raises(SourceConfigError, match=r"--rate must be"):
        FileSource(path, rate_hz=rate)


def test_unknown_format_option_is_refused(tmp_path):
    path = write(tmp_path, "x.cu8", raw_bytes("cu8", 10))
    with pytest.raises(SourceConfigError, match=r"unknown --format 'u8'"):
        FileSource(path, "u8", RATE)
    with pytest.raises(ValueError):  # a config error is also a ValueError
        StdinSource("ir", RATE, stream=io.BytesIO())


def test_missing_file_is_named(tmp_path):
    with pytest.raises(SourceError, match=r"cannot open .*nope\.cu8: No such file"):
        FileSource(tmp_path / "nope.cu8", rate_hz=RATE)


def test_empty_raw_file_gives_no_samples(tmp_path):
    src = FileSource(write(tmp_path, "x.cu8", b""), rate_hz=RATE)
    assert read_all(src).size == 0 and src.seconds_delivered == 0


def test_stdin_needs_a_format():
    with pytest.raises(SourceConfigError, match=r"standard input .*give --format"):
        StdinSource(None, RATE, stream=io.BytesIO(b""))
    with pytest.raises(SourceConfigError, match=r"standard input: .*give --rate"):
        StdinSource("s16le", None, stream=io.BytesIO(b""))


@pytest.mark.timeout(20)
def test_stdin_pipe_streams_before_eof():
    """A block comes out as soon as bytes are in the pipe, with the writer still open."""
    r, w = os.pipe()
    with os.fdopen(r, "rb") as reader:
        src = StdinSource("s16le", RATE, stream=reader)
        first = raw_bytes("s16le", 100)
        os.write(w, first)
        np.testing.assert_array_equal(src.read_block(), decode_samples(first, "s16le"))
        os.write(w, b"\0\0\0")
        os.close(w)
        assert read_all(src).size == 1 and src.leftover_bytes == 1


def test_stdin_of_a_real_process(tmp_path):
    data = raw_bytes("s16le", 50_000, seed=3)
    code = ("from receiver.radio.sources import open_source\n"
            "s = open_source('-', 's16le', 228000)\n"
            "print(sum(b.size for b in s))\n")
    out = subprocess.run([sys.executable, "-c", code], input=data, capture_output=True,
                         check=True, timeout=60).stdout
    assert int(out) == 50_000


def test_open_source_picks_file_or_stdin(tmp_path, monkeypatch):
    path = write(tmp_path, "x.cf32", raw_bytes("cf32", 10))
    assert isinstance(open_source(str(path), rate_hz=RATE), FileSource)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw_bytes("cu8", 10))))
    src = open_source("-", "cu8", RATE)
    assert isinstance(src, StdinSource) and read_all(src).size == 10


def test_memory_stays_flat_on_a_long_file(tmp_path):
    """40 MB of cu8 (17 s at 1.2 MHz) read with at most a few chunks' worth held at once.
    Measured in a fresh interpreter: tracemalloc counts every thread's allocations, and a
    thread another test left behind must not count here."""
    path = tmp_path / "long.cu8"
    block = raw_bytes("cu8", 1 << 20)
    with open(path, "wb") as f:
        for _ in range(20):
            f.write(block)
    code = (
        "import sys, tracemalloc\n"
        "from receiver.radio.sources import FileSource\n"
        "tracemalloc.start()\n"
        "with FileSource(sys.argv[1], rate_hz=1_200_000) as src:\n"
        "    n = sum(b.size for b in src)\n"
        "print(n, tracemalloc.get_traced_memory()[1])\n"
    )
    repo = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(repo)}, timeout=120)
    assert done.returncode == 0, done.stderr
    n, peak = map(int, done.stdout.split())
    assert n == 20 << 20
    # One 256 KiB chunk -> 1 MiB of float32 -> complex64 view; allow a few at once.
    assert peak < 8 << 20


def test_stem_sigmf_meta_is_found_too(tmp_path):
    data = raw_bytes("s16le", 100)
    path = write(tmp_path, "mpx.s16le", data)
    (tmp_path / "mpx.sigmf-meta").write_text(meta_text("s16le", 171_000))
    assert FileSource(path).sample_rate_hz == 171_000
    (tmp_path / "mpx.s16le.sigmf-meta").write_text(meta_text("s16le", 228_000))
    assert FileSource(path).sample_rate_hz == 228_000  # FILE.sigmf-meta comes first
