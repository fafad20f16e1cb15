"""Raw sample formats: round trips, streaming with random chunking, names and decoders.

WAV is tested in test_wav.py, SigMF in test_formats_sigmf.py, rates in test_formats_rates.py.
"""

import struct

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from modem.errors import SampleFormatError
from modem.formats import (
    BYTES_PER_SAMPLE,
    IQ_FORMATS,
    SIGMF_DATATYPE,
    SampleDecoder,
    WavDecoder,
    decode_samples,
    decoder_for,
    encode_samples,
    format_for_name,
    is_iq_format,
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


def test_cs16_is_signed_16_bit_iq_scaled_to_unit():
    x = decode_samples(struct.pack("<hhhh", -32768, 16384, 32767, 0), "cs16")
    assert x.dtype == np.complex64
    np.testing.assert_array_equal(x, [-1 + 0.5j, 32767 / 32768])
    assert encode_samples(np.array([2 - 2j]), "cs16") == struct.pack("<hh", 32767, -32768)


def test_every_raw_format_has_a_sigmf_datatype_and_iq_formats_decode_complex():
    assert set(SIGMF_DATATYPE) == set(BYTES_PER_SAMPLE)
    for fmt in RAW:
        x = decode_samples(bytes(BYTES_PER_SAMPLE[fmt]), fmt)
        assert x.dtype == (np.complex64 if fmt in IQ_FORMATS else np.float32) and x.size == 1


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


def test_format_by_extension():
    assert format_for_name("cap.CU8") == "cu8" and is_iq_format("cu8")
    assert format_for_name("mpx.wav") == "wav" and not is_iq_format("wav")
    assert [is_iq_format(format_for_name(f"a.{e}")) for e in ("cs8", "cs16", "cf32", "s16le", "f32le")] == [
        True, True, True, False, False]
    with pytest.raises(ValueError, match="extension"):
        format_for_name("capture.bin")


def test_decoder_for_each_format():
    assert isinstance(decoder_for("wav"), WavDecoder)
    for fmt in RAW:
        assert isinstance(decoder_for(fmt), SampleDecoder) and decoder_for(fmt).fmt == fmt
    with pytest.raises(ValueError, match="unknown"):
        decoder_for("mp3")


@pytest.mark.parametrize("fmt", RAW)
def test_raw_decoder_fed_one_byte_at_a_time_equals_one_block(fmt):
    data = np.random.default_rng(7).bytes(37 * BYTES_PER_SAMPLE[fmt] + 1)  # ends mid-sample
    dec = SampleDecoder(fmt)
    streamed = np.concatenate([dec.process(data[i:i + 1]) for i in range(len(data))])
    whole = decode_samples(data[:-1], fmt)
    assert streamed.tobytes() == whole.tobytes() and dec.leftover_bytes == 1
