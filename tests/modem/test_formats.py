"""Sample formats: round trips, streaming with random chunking, WAV and SigMF."""

import json
import struct

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from modem.errors import SampleFormatError
from modem.formats import (
    BYTES_PER_SAMPLE,
    SampleDecoder,
    SigmfMeta,
    WavDecoder,
    build_sigmf_meta,
    decode_samples,
    decode_wav,
    decoder_for,
    encode_samples,
    encode_wav,
    format_for_name,
    is_iq_format,
    parse_sigmf_meta,
    parse_wav_header,
)

RAW = sorted(BYTES_PER_SAMPLE)


def _chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in zip(edges, edges[1:])]


@given(fmt=st.sampled_from(RAW), n=st.integers(0, 300), seed=st.integers(0, 2**32 - 1),
       cuts=st.lists(st.integers(0, 10_000), max_size=12))
def test_raw_bytes_round_trip_through_any_chunking(fmt, n, seed, cuts):
    data = np.random.default_rng(seed).bytes(n * BYTES_PER_SAMPLE[fmt])
    whole = decode_samples(data, fmt)
    assert encode_samples(whole, fmt) == data  # bytes, so NaN payloads of floats compare too
    dec = SampleDecoder(fmt)
    parts = [dec.process(c) for c in _chunks(data, cuts)]
    streamed = np.concatenate(parts) if parts else whole[:0]
    assert streamed.tobytes() == whole.tobytes()
    assert dec.leftover_bytes == 0


def test_cu8_zero_is_127_5_and_scales_to_unit():
    x = decode_samples(bytes([0, 255, 127, 128]), "cu8")
    assert x.dtype == np.complex64
    np.testing.assert_allclose(x, [-1 + 1j, -0.5 / 127.5 + 0.5j / 127.5], rtol=1e-6)


def test_cs8_and_s16le_scales():
    assert decode_samples(bytes([0x80, 0x7F]), "cs8")[0] == np.complex64(-1 + 127j / 128)
    np.testing.assert_array_equal(decode_samples(struct.pack("<hh", -32768, 16384), "s16le"),
                                  [-1.0, 0.5])


def test_encoders_clip_out_of_range():
    assert decode_samples(encode_samples(np.array([3 - 3j]), "cu8"), "cu8")[0] == 1 - 1j
    assert decode_samples(encode_samples(np.array([2.0, -2.0]), "s16le"), "s16le")[0] == 32767 / 32768


def test_partial_sample_is_carried_and_reported():
    dec = SampleDecoder("cf32")
    assert dec.process(b"\0" * 7).size == 0 and dec.leftover_bytes == 7
    assert dec.process(b"\0" * 9).size == 2 and dec.leftover_bytes == 0
    with pytest.raises(SampleFormatError, match="not a whole number"):
        decode_samples(b"\0" * 3, "cs8")


@given(enc=st.sampled_from(["s16", "f32"]), n=st.integers(0, 200),
       seed=st.integers(0, 1000), cuts=st.lists(st.integers(0, 5000), max_size=10))
def test_wav_round_trip_with_header_split_anywhere(enc, n, seed, cuts):
    x = np.random.default_rng(seed).uniform(-1, 1, n).astype(np.float32)
    data = encode_wav(x, 228_000, enc)
    info, whole = decode_wav(data)
    assert info.sample_rate_hz == 228_000 and info.encoding == enc
    tol = 1 / 32768 if enc == "s16" else 0
    np.testing.assert_allclose(whole, x, atol=tol)
    dec = WavDecoder()
    streamed = np.concatenate([dec.process(c) for c in _chunks(data, cuts)] + [whole[:0]])
    np.testing.assert_array_equal(streamed, whole)


def _wav_header(tag=1, channels=1, rate=48_000, bits=16, extra_chunk=b""):
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * channels * bits // 8,
                      channels * bits // 8, bits)
    body = b"fmt " + struct.pack("<I", len(fmt)) + fmt + extra_chunk + b"data" + struct.pack("<I", 4)
    return b"RIFF" + struct.pack("<I", 4 + len(body) + 4) + b"WAVE" + body + b"\0" * 4


def test_stereo_wav_is_refused_naming_the_channels():
    with pytest.raises(SampleFormatError, match="2 channels; hotcast reads mono"):
        parse_wav_header(_wav_header(channels=2))


def test_8bit_wav_is_refused_naming_the_width():
    with pytest.raises(SampleFormatError, match="8-bit PCM"):
        WavDecoder().process(_wav_header(bits=8))


def test_wav_skips_unknown_chunks_and_odd_padding():
    info = parse_wav_header(_wav_header(extra_chunk=b"LIST" + struct.pack("<I", 3) + b"abc\0"))
    assert info.encoding == "s16" and info.data_bytes == 4


def test_streaming_wav_size_means_to_the_end():
    data = bytearray(encode_wav(np.zeros(10), 8000))
    data[40:44] = b"\xff\xff\xff\xff"
    info, x = decode_wav(bytes(data))
    assert info.data_bytes is None and x.size == 10


@pytest.mark.parametrize("data, match", [
    (b"RIFX\0\0\0\0WAVE", "RIFF"), (b"RIFF\0\0\0\0WAVEfmt ", "truncated"), (b"OggS", "RIFF"),
])
def test_bad_wav_headers(data, match):
    with pytest.raises(SampleFormatError, match=match):
        parse_wav_header(data)


def test_random_bytes_are_not_a_wav():
    with pytest.raises(SampleFormatError):
        WavDecoder().process(np.random.default_rng(1).bytes(4096))


@pytest.mark.parametrize("fmt", RAW)
def test_sigmf_round_trip(fmt):
    meta = SigmfMeta(fmt, 1_200_000.0, 89.1e6, "test", ({"core:sample_start": 0, "core:label": "x"},))
    text = build_sigmf_meta(meta)
    doc = json.loads(text)
    assert doc["global"]["core:version"] and doc["captures"][0]["core:frequency"] == 89.1e6
    assert parse_sigmf_meta(text) == meta


@pytest.mark.parametrize("doc, match", [
    ("{", "not JSON"), ("[]", "global"), ('{"global": {"core:datatype": "ci16_le"}}', "ci16_le"),
    ('{"global": {"core:datatype": "cu8", "core:sample_rate": -1}}', "sample_rate"),
])
def test_sigmf_errors_name_the_problem(doc, match):
    with pytest.raises(SampleFormatError, match=match):
        parse_sigmf_meta(doc)


def test_format_by_extension():
    assert format_for_name("cap.CU8") == "cu8" and is_iq_format("cu8")
    assert format_for_name("mpx.wav") == "wav" and not is_iq_format("wav")
    assert [is_iq_format(format_for_name(f"a.{e}")) for e in ("cs8", "cf32", "s16le", "f32le")] == [
        True, True, False, False]
    with pytest.raises(ValueError, match="extension"):
        format_for_name("capture.bin")


def test_decoder_for_each_format():
    assert isinstance(decoder_for("wav"), WavDecoder)
    for fmt in RAW:
        assert isinstance(decoder_for(fmt), SampleDecoder) and decoder_for(fmt).fmt == fmt
    with pytest.raises(ValueError, match="unknown"):
        decoder_for("mp3")
