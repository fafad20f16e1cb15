"""Frame layer: sync word, header codec and sanity checks, one-frame encode/decode with RS."""

import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import framing.frames as frames_mod
from framing.errors import FrameError
from framing.frameformat import HEADER_BYTES, SYNC_BITS, Block, FrameConfig, FrameHeader, check_header
from framing.frames import FrameDecoder, FrameGen, PayloadStatus
from framing.profiles import PROFILES, frame_config

CFG = frame_config("fm")


def make_block(rng, k=3, n=5, index=0, **changes):
    header = FrameHeader(stream=2, seq=41, digest=b"\x01" * 8, block_index=index, k=k, n=n,
                         bundle_bytes=k * CFG.block_bytes - 5, block_bytes=CFG.block_bytes)
    header = dataclasses.replace(header, **changes)
    return Block(header, rng.integers(0, 256, CFG.block_bytes, dtype=np.uint8).tobytes())


def test_sync_word_sidelobes():
    s = 2 * SYNC_BITS.astype(int) - 1
    acf = np.correlate(s, s, mode="full")
    assert s.size == 64
    assert acf[63] == 64
    assert np.abs(acf[:63]).max() == 5  # peak sidelobe level stated in frameformat.py


def test_fm_preset_geometry():
    assert CFG.block_bytes == 760
    assert CFG.header_codeword_bytes == 72
    assert CFG.frame_bits == 8800
    assert CFG.efficiency == pytest.approx(6080 / 8800)
    assert "fm" in PROFILES
    with pytest.raises(ValueError, match="unknown framing profile 'xx'"):
        frame_config("xx")


@pytest.mark.parametrize("field,value", [
    ("rs_parity_bytes", 63), ("rs_codeword_bytes", 300), ("codewords_per_frame", 0),
    ("repair_ratio", 1.5), ("max_bundle_bytes", 10**10), ("sync_max_bit_errors", 40),
    ("header_parity_bytes", 3),
])
def test_config_refuses_bad_fields(field, value):
    with pytest.raises(ValueError):
        FrameConfig(**{field: value})


@given(st.integers(0, 255), st.integers(0, 2**64 - 1), st.binary(min_size=8, max_size=8),
       st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1),
       st.integers(0, 2**32 - 1), st.integers(0, 2**16 - 1))
def test_header_round_trip(stream, seq, digest, index, k, n, size, block):
    header = FrameHeader(stream, seq, digest, index, k, n, size, block)
    raw = header.to_bytes()
    assert len(raw) == HEADER_BYTES
    assert FrameHeader.from_bytes(raw) == header


def test_header_from_wrong_length_is_frame_error():
    with pytest.raises(FrameError):
        FrameHeader.from_bytes(b"\x00" * 10)


@pytest.mark.parametrize("changes,word", [
    ({"k": 6, "n": 5}, "K="),  # K > N: also wrong for the length
    ({"n": 2}, "N="),  # N < K
    ({"n": 10**6}, "N="),
    ({"block_bytes": 700}, "block length"),
    ({"bundle_bytes": 0}, "bundle length"),
    ({"bundle_bytes": CFG.max_bundle_bytes + 1}, "bundle length"),
    ({"block_index": 5}, "block index"),
    ({"block_index": 1 << 24}, "block index"),
    ({"version": 9}, "version"),
])
def test_absurd_headers_are_refused(changes, word):
    block = make_block(np.random.default_rng(0))
    check_header(block.header, CFG)  # the unchanged one is fine
    with pytest.raises(FrameError, match=word):
        check_header(dataclasses.replace(block.header, **changes), CFG)


def corrupt_codeword_bytes(air, codeword, count, rng):
    """Flip ``count`` distinct bytes of one codeword inside interleaved frame bytes."""
    dec = FrameDecoder(CFG)
    il = dec._codecs.interleaver
    owner = il.interleave(np.repeat(np.arange(5), il.codeword_lengths_bytes).astype(np.uint8))
    where = rng.choice(np.flatnonzero(owner == codeword), count, replace=False)
    out = air.copy()
    out[where] ^= rng.integers(1, 256, count, dtype=np.uint8)
    return out


def test_clean_frame_decodes_without_rs():
    rng = np.random.default_rng(1)
    block = make_block(rng)
    air = FrameGen(CFG).encode_frame(block)
    dec = FrameDecoder(CFG)
    dec._codecs = dataclasses.replace(dec._codecs, header=_Forbidden(), body=_Forbidden())
    assert dec.decode_header(air) == block.header
    assert dec.decode_payload(air) == (PayloadStatus.OK, block.payload, 0)


class _Forbidden:
    def decode(self, *args, **kwargs):
        raise AssertionError("RS decoder called on a frame whose CRC checks")


def test_errors_within_t_are_corrected():
    rng = np.random.default_rng(2)
    block = make_block(rng)
    air = FrameGen(CFG).encode_frame(block)
    bad = corrupt_codeword_bytes(air, 0, 16, rng)
    for cw in range(1, 5):
        bad = corrupt_codeword_bytes(bad, cw, 32, rng)
    dec = FrameDecoder(CFG)
    assert dec.decode_header(bad) == block.header
    assert dec.decode_payload(bad) == (PayloadStatus.CORRECTED, block.payload, 4 * 32)


def test_too_many_errors_never_give_wrong_data():
    rng = np.random.default_rng(3)
    block = make_block(rng)
    air = FrameGen(CFG).encode_frame(block)
    dec = FrameDecoder(CFG)
    for trial in range(5):
        bad = corrupt_codeword_bytes(air, 0, 40, rng)
        bad = corrupt_codeword_bytes(bad, 1 + trial % 4, 80, rng)
        assert dec.decode_header(bad) in (None, block.header)
        status, payload, corrected = dec.decode_payload(bad)
        assert status is PayloadStatus.BAD and payload == b"" and corrected == 0


def test_framegen_layout_and_block_size_check():
    rng = np.random.default_rng(4)
    blocks = [make_block(rng, index=i) for i in range(3)]
    bits = FrameGen(CFG).process(blocks)
    assert bits.dtype == np.uint8 and bits.size == 3 * CFG.frame_bits
    assert set(np.unique(bits)) <= {0, 1}
    for i in range(3):
        assert np.array_equal(bits[i * CFG.frame_bits:i * CFG.frame_bits + 64], SYNC_BITS)
    assert FrameGen(CFG).process([]).size == 0
    with pytest.raises(ValueError, match="760"):
        FrameGen(CFG).process([Block(blocks[0].header, b"short")])
    assert "FrameGen(FrameConfig(" in repr(FrameGen(CFG))


def test_rs_backend_is_named():
    assert frames_mod.RS_BACKEND in ("creedsolo", "reedsolo")


def test_whitening_breaks_runs_of_zero_bytes():
    """A block of zeros must not go on air as a long run of identical bits (the modem's timing
    recovery needs transitions): after whitening the longest run stays short."""
    cfg = frame_config("fm")
    header = FrameHeader(stream=2, seq=7, digest=bytes(8), block_index=0, k=1, n=3,
                         bundle_bytes=200, block_bytes=cfg.block_bytes)
    bits = FrameGen(cfg).process([Block(header, bytes(cfg.block_bytes))])
    edges = np.flatnonzero(np.diff(bits.astype(np.int8)) != 0)
    assert np.diff(edges).max() < 40
