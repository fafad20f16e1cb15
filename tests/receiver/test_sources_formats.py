"""File sources over the sample formats of modem.formats: a stereo WAV is I/Q, 8/24/32-bit and
float WAV, WAVE_FORMAT_EXTENSIBLE, RF64, cs16, and the SigMF rules (the flag wins over the
metadata with a warning; the WAV header is never overridden)."""

import io
import json
import struct

import numpy as np
import pytest

from modem import InputKind
from modem.formats import SigmfMeta, build_sigmf_meta, decode_samples, decode_wav, encode_samples, encode_wav
from receiver.radio.sources import FileSource, SourceConfigError, SourceError, StdinSource, TeeRaw


def iq(n: int, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).uniform(-0.9, 0.9, size=(n, 2)).astype(np.float32)
    return (x[:, 0] + 1j * x[:, 1]).astype(np.complex64)


def real(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-0.9, 0.9, n).astype(np.float32)


def worst_error(got: np.ndarray, want: np.ndarray) -> float:
    """Largest error of one component (I, Q or a real sample)."""
    diff = (got - want).astype(np.complex64 if np.iscomplexobj(got) else np.float32)
    return float(np.max(np.abs(diff.view(np.float32))))


def read_all(source) -> np.ndarray:
    blocks = list(source)
    return np.concatenate(blocks) if blocks else np.zeros(0, np.complex64 if source.is_iq else np.float32)


def write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_a_stereo_float_wav_is_iq_and_gives_what_a_cf32_file_gives(tmp_path):
    x = iq(5_000, seed=1)
    wav = write(tmp_path, "sdrsharp.wav", encode_wav(x, 240_000, "f32"))
    cf32 = write(tmp_path, "same.cf32", encode_samples(x, "cf32"))
    with FileSource(wav) as w, FileSource(cf32, rate_hz=240_000) as c:
        assert (w.fmt, w.is_iq, w.kind, w.sample_rate_hz) == ("wav", True, InputKind.IQ, 240_000)
        got = read_all(w)
        assert got.dtype == np.complex64
        np.testing.assert_array_equal(got, read_all(c))
        np.testing.assert_array_equal(got, x)


@pytest.mark.parametrize("encoding, step", [("u8", 1 / 128), ("s16", 2**-15), ("s24", 2**-23),
                                            ("s32", 2**-23), ("f32", 0)])
@pytest.mark.parametrize("channels", [1, 2])
def test_every_wav_encoding_reads_within_its_quantisation(tmp_path, encoding, step, channels):
    x = iq(3_000, seed=2) if channels == 2 else real(3_000, seed=2)
    path = write(tmp_path, f"x-{encoding}.wav", encode_wav(x, 96_000, encoding))
    with FileSource(path, chunk_bytes=1_001) as src:  # chunks cut samples in odd places
        got = read_all(src)
        assert src.is_iq == (channels == 2) and src.sample_rate_hz == 96_000
        assert src.kind is (InputKind.IQ if channels == 2 else InputKind.BASEBAND)
    assert got.size == 3_000
    np.testing.assert_array_equal(got, decode_wav(path.read_bytes())[1])
    assert worst_error(got, x) <= step / 2 + 1e-7


def _extensible_s24(samples: np.ndarray, rate: int) -> bytes:
    """A mono 24-bit WAV with WAVE_FORMAT_EXTENSIBLE (SubFormat PCM) and a LIST chunk first."""
    plain = encode_wav(samples, rate, "s24")
    fmt = struct.pack("<HHIIHHHHIH", 0xFFFE, 1, rate, rate * 3, 3, 24, 22, 24, 4, 1)
    fmt += bytes.fromhex("000000001000800000aa00389b71")
    chunks = b"LIST" + struct.pack("<I", 4) + b"INFO" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    chunks += plain[36:]  # the 'data' chunk of the plain file
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


def _rf64(wav: bytes) -> bytes:
    """The classic WAV ``wav`` rewritten as RF64 (EBU Tech 3306): sizes 0xFFFFFFFF, the real
    ones in a 'ds64' chunk before 'fmt '."""
    data_size = struct.unpack_from("<I", wav, 40)[0]
    ds64 = b"ds64" + struct.pack("<IQQQI", 28, len(wav) + 28, data_size, data_size // 2, 0)
    return (b"RF64\xff\xff\xff\xffWAVE" + ds64 + wav[12:40] + b"\xff\xff\xff\xff" + wav[44:])


def test_a_24_bit_extensible_wav_reads(tmp_path):
    x = real(2_000, seed=3)
    path = write(tmp_path, "studio.wav", _extensible_s24(x, 192_000))
    with FileSource(path) as src:
        assert src.sample_rate_hz == 192_000 and not src.is_iq
        got = read_all(src)
    assert worst_error(got, x) <= 2**-23


def test_an_rf64_wav_reads_to_its_ds64_data_size(tmp_path):
    x = real(4_000, seed=4)
    plain = encode_wav(x, 228_000)
    path = write(tmp_path, "long.wav", _rf64(plain) + b"trailing junk after the data")
    with FileSource(path, chunk_bytes=333) as src:
        assert src.sample_rate_hz == 228_000
        got = read_all(src)
    np.testing.assert_array_equal(got, decode_wav(plain)[1])
    assert src.leftover_bytes == 0


def test_an_rf64_wav_on_stdin_with_unknown_size_reads_to_the_end():
    """A tool streaming RF64 to a pipe writes data size 0 in 'ds64': read to the end."""
    x = real(1_000, seed=5)
    plain = encode_wav(x, 48_000)
    rf64 = bytearray(_rf64(plain))
    struct.pack_into("<Q", rf64, 20, 0)  # ds64 data size: unknown
    src = StdinSource("wav", stream=io.BytesIO(bytes(rf64)), chunk_bytes=64)
    np.testing.assert_array_equal(read_all(src), decode_wav(plain)[1])


@pytest.mark.parametrize("chunk", [1, 3, 4, 4096])
def test_cs16_gives_its_iq_at_any_chunking(tmp_path, chunk):
    x = iq(2_500, seed=6)
    data = encode_samples(x, "cs16")
    path = write(tmp_path, "airspy.cs16", data + b"\x01\x02\x03")  # and 3 bytes of a sample
    with FileSource(path, rate_hz=2.5e6, chunk_bytes=chunk) as src:
        assert (src.fmt, src.is_iq, src.kind) == ("cs16", True, InputKind.IQ)
        got = read_all(src)
        assert src.leftover_bytes == 3
    np.testing.assert_array_equal(got, decode_samples(data, "cs16"))
    assert worst_error(got, x) <= 2**-16 + 1e-7


def test_cs16_rate_and_format_come_from_sigmf(tmp_path):
    x = iq(100, seed=7)
    path = write(tmp_path, "rec.sigmf-data", encode_samples(x, "cs16"))
    (tmp_path / "rec.sigmf-meta").write_text(build_sigmf_meta(SigmfMeta("cs16", 2_048_000, 89.1e6)))
    with FileSource(path) as src:
        assert (src.fmt, src.sample_rate_hz, src.frequency_hz, src.warnings) == ("cs16", 2_048_000, 89.1e6, ())


def test_a_stereo_wav_with_sigmf_meta_must_be_complex_there_too(tmp_path):
    path = write(tmp_path, "x.wav", encode_wav(iq(10), 240_000, "s16"))
    meta = tmp_path / "x.sigmf-meta"  # STEM.sigmf-meta, as other tools write it
    meta.write_text(build_sigmf_meta(SigmfMeta("cs16", 240_000)))
    assert FileSource(path).is_iq
    meta.write_text(build_sigmf_meta(SigmfMeta("s16le", 240_000)))
    with pytest.raises(SourceConfigError, match=r"x\.sigmf-meta describes s16le samples but the WAV "
                                                r"header says 2 channel\(s\) \(I/Q\)"):
        FileSource(path)


def test_rate_and_format_flags_win_over_sigmf_with_one_warning_each(tmp_path):
    data = encode_samples(iq(64), "cs16")
    path = write(tmp_path, "rec.sigmf-data", data)
    meta = tmp_path / "rec.sigmf-meta"
    meta.write_text(build_sigmf_meta(SigmfMeta("cf32", 240_000)))
    with FileSource(path, "cs16", 1_200_000) as src:
        assert (src.fmt, src.sample_rate_hz) == ("cs16", 1_200_000)
        assert src.warnings == (
            f"{path}: --format cs16 overrides core:datatype cf32_le (cf32) in {meta}",
            f"{path}: --rate 1.2 MHz overrides 240 kHz in {meta}",
        )
        np.testing.assert_array_equal(read_all(src), decode_samples(data, "cs16"))


def test_a_tee_keeps_the_warnings_and_the_iq_of_a_stereo_wav(tmp_path):
    x = iq(300, seed=8)
    src = FileSource(write(tmp_path, "in.wav", encode_wav(x, 240_000, "f32")))
    with TeeRaw(src, tmp_path / "copy.wav") as tee:
        assert tee.is_iq and tee.kind is InputKind.IQ
        np.testing.assert_array_equal(read_all(tee), x)
    assert (tmp_path / "copy.wav").read_bytes() == (tmp_path / "in.wav").read_bytes()
    data = tmp_path / "c.cu8"
    data.write_bytes(encode_samples(x, "cu8"))
    (tmp_path / "c.cu8.sigmf-meta").write_text(build_sigmf_meta(SigmfMeta("cu8", 240_000)))
    with TeeRaw(FileSource(data, rate_hz=250_000), tmp_path / "c2.cu8") as tee:
        assert len(tee.warnings) == 1 and "--rate 250 kHz overrides 240 kHz" in tee.warnings[0]
    written = json.loads((tmp_path / "c2.cu8.sigmf-meta").read_text())
    assert written["global"]["core:sample_rate"] == 250_000  # the rate the copy was read at


@pytest.mark.parametrize("rate", [1e13, float("inf")])
def test_a_rate_beyond_any_sdr_is_refused(tmp_path, rate):
    path = write(tmp_path, "x.cs16", b"")
    with pytest.raises(SourceConfigError, match=r"--rate must be a positive number of Hz up to 1000 GHz"):
        FileSource(path, rate_hz=rate)


def test_a_wav_truncated_in_its_header_is_still_refused(tmp_path):
    path = write(tmp_path, "x.wav", _rf64(encode_wav(real(10), 48_000))[:40])
    with pytest.raises(SourceError, match=r"x\.wav: WAV header is truncated"):
        FileSource(path)
