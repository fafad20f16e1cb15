"""WAV: every encoding, mono and I/Q, plain / extensible / RF64 headers, streamed in any cut."""

import struct

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from modem._wav import MAX_HEADER_BYTES
from modem.errors import SampleFormatError
from modem.formats import (
    WAV_ENCODINGS,
    WavDecoder,
    decode_wav,
    encode_wav,
    parse_wav_header,
)

ENCODINGS = sorted(WAV_ENCODINGS)
# One step of each encoding, the most a sample may move in an encode -> decode round trip.
LSB = {"u8": 1 / 128, "s16": 1 / 2**15, "s24": 1 / 2**23, "s32": 1 / 2**24, "f32": 0.0}
_BITS = {"u8": 8, "s16": 16, "s24": 24, "s32": 32, "f32": 32}
_GUID_TAIL = bytes.fromhex("000000001000800000aa00389b71")


def _chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in zip(edges, edges[1:])]


def _stream(data: bytes, cuts: list[int]) -> tuple[WavDecoder, np.ndarray]:
    dec = WavDecoder()
    parts = [dec.process(c) for c in _chunks(data, cuts)]
    return dec, np.concatenate(parts)


def _signal(n: int, channels: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, n)
    if channels == 2:
        x = x + 1j * rng.uniform(-1, 1, n)
    return x.astype(np.complex64 if channels == 2 else np.float32)


def _fmt_chunk(encoding: str, channels: int, rate: int = 48_000, extensible: bool = False) -> bytes:
    tag = 3 if encoding == "f32" else 1
    bits = _BITS[encoding]
    block = channels * bits // 8
    head = struct.pack("<HHIIHH", 0xFFFE if extensible else tag, channels, rate, rate * block, block, bits)
    if extensible:  # cbSize 22, valid bits, channel mask, SubFormat GUID
        head += struct.pack("<HHI", 22, bits, 3 if channels == 2 else 4) + struct.pack("<H", tag) + _GUID_TAIL
    return b"fmt " + struct.pack("<I", len(head)) + head


def _wav(body: bytes, fmt_chunk: bytes, before_data: bytes = b"", data_size: int | None = None,
         magic: bytes = b"RIFF") -> bytes:
    size = len(body) if data_size is None else data_size
    chunks = fmt_chunk + before_data + b"data" + struct.pack("<I", size) + body
    return magic + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


def _rf64(body: bytes, fmt_chunk: bytes) -> bytes:
    ds64 = b"ds64" + struct.pack("<IQQQI", 28, 0, len(body), 0, 0)  # no chunk-size table
    return _wav(body, fmt_chunk, data_size=0xFFFFFFFF, magic=b"RF64").replace(
        b"WAVE", b"WAVE" + ds64, 1)


@given(enc=st.sampled_from(ENCODINGS), channels=st.sampled_from([1, 2]), n=st.integers(0, 200),
       seed=st.integers(0, 1000), cuts=st.lists(st.integers(0, 5000), max_size=10))
def test_samples_round_trip_through_any_chunking(enc, channels, n, seed, cuts):
    x = _signal(n, channels, seed)
    data = encode_wav(x, 228_000, enc)
    info, whole = decode_wav(data)
    assert (info.sample_rate_hz, info.encoding, info.channels, info.is_iq) == (228_000, enc, channels, channels == 2)
    assert whole.dtype == (np.complex64 if channels == 2 else np.float32) and whole.size == n
    np.testing.assert_allclose(whole, x, atol=LSB[enc] * 1.01)
    dec, streamed = _stream(data, cuts)
    assert streamed.tobytes() == whole.tobytes() and dec.leftover_bytes == 0


def _body(data: bytes) -> bytes:
    info = parse_wav_header(data)  # a size of 0 (no samples) reads "to the end": none either
    return data[info.data_offset:][:info.data_bytes]


@given(enc=st.sampled_from(["u8", "s16", "s24", "f32"]), channels=st.sampled_from([1, 2]),
       frames=st.integers(0, 100), seed=st.integers(0, 2**32 - 1))
def test_bytes_round_trip_exactly_where_float32_holds_every_value(enc, channels, frames, seed):
    """decode -> encode gives the same bytes: these encodings fit float32's 24-bit mantissa
    (float32 bodies of any bit pattern, NaN payloads included)."""
    body = np.random.default_rng(seed).bytes(frames * channels * _BITS[enc] // 8)
    info, x = decode_wav(_wav(body, _fmt_chunk(enc, channels)))
    assert x.size == frames
    assert _body(encode_wav(x, 48_000, enc)) == body


def test_every_encoding_scales_its_extremes_to_unit():
    cases = {"u8": (bytes([0, 128, 255]), [-1, 0, 127 / 128]),
             "s16": (struct.pack("<3h", -32768, 0, 32767), [-1, 0, 32767 / 32768]),
             "s24": (b"\x00\x00\x80" + b"\x00\x00\x00" + b"\xff\xff\x7f", [-1, 0, (2**23 - 1) / 2**23]),
             "s32": (struct.pack("<3i", -2**31, 0, 2**30), [-1, 0, 0.5]),
             "f32": (struct.pack("<3f", -1, 0, 0.25), [-1, 0, 0.25])}
    for enc, (body, want) in cases.items():
        info, x = decode_wav(_wav(body, _fmt_chunk(enc, 1)))
        assert info.encoding == enc
        np.testing.assert_allclose(x, want, rtol=1e-7)


def test_stereo_is_iq_with_i_left_and_q_right():
    body = struct.pack("<4h", 16384, -16384, 0, 32767)  # frames (I, Q)
    info, x = decode_wav(_wav(body, _fmt_chunk("s16", 2)))
    assert info.is_iq and info.channels == 2 and info.frame_bytes == 4
    assert x.dtype == np.complex64
    np.testing.assert_array_equal(x, [0.5 - 0.5j, 1j * 32767 / 32768])


def test_8_bit_stereo_iq_as_sdr_sharp_records_it():
    info, x = decode_wav(_wav(bytes([128, 255, 0, 128]), _fmt_chunk("u8", 2)))
    assert info.is_iq
    np.testing.assert_array_equal(x, [127j / 128, -1])


@pytest.mark.parametrize("enc", ENCODINGS)
@pytest.mark.parametrize("channels", [1, 2])
def test_extensible_header_reads_like_the_plain_one(enc, channels):
    x = _signal(50, channels, 3)
    plain = encode_wav(x, 96_000, enc)
    body = decode_wav(plain)[0]
    data_at = body.data_offset
    ext = _wav(plain[data_at:data_at + body.data_bytes], _fmt_chunk(enc, channels, 96_000, extensible=True))
    info, y = decode_wav(ext)
    assert (info.encoding, info.channels, info.sample_rate_hz) == (enc, channels, 96_000)
    assert y.tobytes() == decode_wav(plain)[1].tobytes()


def test_extensible_with_a_foreign_subformat_is_refused():
    fmt = bytearray(_fmt_chunk("s16", 1, extensible=True))
    fmt[-1] ^= 1  # not the KSDATAFORMAT base GUID any more
    with pytest.raises(SampleFormatError, match="SubFormat"):
        parse_wav_header(_wav(b"", bytes(fmt)))


@pytest.mark.parametrize("cuts", [[], [1, 2, 3, 13, 50, 51, 70], list(range(200))])
def test_rf64_takes_its_data_size_from_ds64(cuts):
    x = _signal(40, 2, 5)
    body = encode_wav(x, 48_000, "s16")[44:]
    data = _rf64(body, _fmt_chunk("s16", 2)) + b"LIST" + struct.pack("<I", 4) + b"junk"
    dec, y = _stream(data, cuts)
    assert dec.info.data_bytes == len(body) and dec.info.is_iq
    np.testing.assert_allclose(y, x, atol=LSB["s16"])


def test_rf64_without_ds64_is_refused():
    with pytest.raises(SampleFormatError, match="ds64"):
        parse_wav_header(_wav(b"", _fmt_chunk("s16", 1), data_size=0xFFFFFFFF, magic=b"RF64"))


def test_wav_fed_one_byte_at_a_time_equals_one_block():
    data = encode_wav(_signal(30, 2, 9), 48_000, "s24") + b"\x01\x02"  # trailing bytes ignored
    dec, streamed = _stream(data, list(range(len(data))))
    assert streamed.tobytes() == decode_wav(data)[1].tobytes() and streamed.size == 30


def test_partial_frame_is_carried_and_reported():
    dec = WavDecoder()
    data = _wav(struct.pack("<4h", 1, 2, 3, 4), _fmt_chunk("s16", 2), data_size=0)
    assert dec.process(data[:-1]).size == 1 and dec.leftover_bytes == 3
    assert dec.process(data[-1:]).size == 1 and dec.leftover_bytes == 0


def test_unknown_chunks_and_odd_padding_are_skipped():
    junk = b"LIST" + struct.pack("<I", 3) + b"abc\0" + b"bext" + struct.pack("<I", 0)
    info = parse_wav_header(_wav(b"\0" * 4, _fmt_chunk("s16", 1), before_data=junk))
    assert info.encoding == "s16" and info.data_bytes == 4 and info.data_offset == 36 + len(junk) + 8


def test_streaming_data_size_means_to_the_end():
    data = bytearray(encode_wav(np.zeros(10), 8000))
    data[40:44] = b"\xff\xff\xff\xff"
    info, x = decode_wav(bytes(data))
    assert info.data_bytes is None and x.size == 10


def test_mono_s16_header_is_the_classic_44_bytes():
    data = encode_wav(np.zeros(3), 228_000)
    assert len(data) == 44 + 6 and data[36:40] == b"data"


@pytest.mark.parametrize("data, match", [
    (b"RIFX\0\0\0\0WAVE", "RIFF"), (b"RIFF\0\0\0\0WAVEfmt ", "truncated"), (b"OggS", "RIFF"),
    (_wav(b"", _fmt_chunk("s16", 1)[:8] + b"\0" * 8), "channels"),
    (_wav(b"", b""), "before any 'fmt '"),
])
def test_bad_wav_headers(data, match):
    with pytest.raises(SampleFormatError, match=match):
        parse_wav_header(data)


@pytest.mark.parametrize("tag, channels, bits, block, match", [
    (1, 3, 16, 6, "3 channels; hotcast reads 1 .baseband. or 2 .I/Q."),
    (1, 1, 12, 2, "12-bit PCM"),
    (6, 1, 8, 1, "encoding tag 6"),
    (3, 1, 64, 8, "encoding tag 3 with 64 bits"),
    (1, 2, 16, 2, "block align 2"),
])
def test_unreadable_formats_are_refused_naming_what_they_are(tag, channels, bits, block, match):
    head = struct.pack("<HHIIHH", tag, channels, 48_000, 48_000 * block, block, bits)
    with pytest.raises(SampleFormatError, match=match):
        parse_wav_header(_wav(b"", b"fmt " + struct.pack("<I", 16) + head))


def test_data_chunk_must_start_within_the_header_limit():
    big = b"JUNK" + struct.pack("<I", MAX_HEADER_BYTES) + b"\0" * MAX_HEADER_BYTES
    with pytest.raises(SampleFormatError, match="no WAV 'data' chunk"):
        WavDecoder().process(_wav(b"", _fmt_chunk("s16", 1), before_data=big)[:4096])


def test_random_bytes_are_not_a_wav():
    with pytest.raises(SampleFormatError):
        WavDecoder().process(np.random.default_rng(1).bytes(4096))


def test_encoder_refuses_misuse():
    with pytest.raises(ValueError, match="1-D"):
        encode_wav(np.zeros((2, 2)), 48_000)
    with pytest.raises(TypeError, match="int"):
        encode_wav(np.zeros(2), 48_000.5)
    with pytest.raises(ValueError, match="encoding"):
        encode_wav(np.zeros(2), 48_000, "s12")
