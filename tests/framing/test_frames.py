"""Frame layer v3: sync words, presets, header codec and checks, one-frame LDPC encode/decode."""

import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from framing.crc import crc32c
from framing.errors import FrameError
from framing.frameformat import (
    HEADER_BYTES,
    SYNC_BITS,
    SYNC_WORDS,
    Block,
    FrameConfig,
    FrameHeader,
    check_header,
)
from framing.frames import FrameDecoder, FrameGen, FrameLayout, PayloadStatus, interleaver_stride
from framing.profiles import PROFILES, frame_config

CFG = frame_config("fm")


def make_block(rng, cfg=CFG, k=3, n=5, index=0, **changes):
    header = FrameHeader(stream=2, seq=41, digest=b"\x01" * 8, block_index=index, k=k, n=n,
                         bundle_bytes=k * cfg.block_bytes - 5, block_bytes=cfg.block_bytes)
    header = dataclasses.replace(header, **changes)
    return Block(header, rng.integers(0, 256, cfg.block_bytes, dtype=np.uint8).tobytes())


def complex_psl(bits: np.ndarray) -> float:
    """Largest |complex correlation| of the word against itself at any nonzero bit offset."""
    t = 1 - 2.0 * bits
    im = np.empty_like(t)
    im[0::2], im[1::2] = -t[1::2], t[0::2]
    pad = np.concatenate([np.zeros(t.size), t, np.zeros(t.size)])
    mag = np.hypot(np.correlate(pad, t, "valid"), np.correlate(pad, im, "valid"))
    mag[t.size] = 0
    return float(mag.max())


@pytest.mark.parametrize("length,psl", [(64, 22.0), (128, 43.1)])
def test_sync_word_sidelobes(length, psl):
    bits = np.array([int(c) for c in SYNC_WORDS[length]], dtype=np.uint8)
    assert bits.size == length
    assert complex_psl(bits) <= psl  # the figures stated in frameformat.py
    assert complex_psl(bits) < 0.6 * length * 0.6  # far below the detection threshold


def test_presets_geometry():
    assert set(PROFILES) == {"fm", "fm-robust", "audio", "audio-robust", "ir"}
    assert (CFG.block_bytes, CFG.frame_bits) == (680, 7800)
    assert CFG.efficiency == pytest.approx(5440 / 7800)
    robust = frame_config("fm-robust")
    assert (robust.block_bytes, robust.frame_bits, robust.shortened_bits) == (928, 15680, 0)
    for cfg in PROFILES.values():
        assert cfg.block_bytes % 8 == 0 and cfg.frame_bits % 2 == 0
        assert cfg.frame_bits == cfg.sync_word_bits + cfg.coded_bits
    with pytest.raises(ValueError, match="unknown framing profile 'xx'"):
        frame_config("xx")


@pytest.mark.parametrize("field,value", [
    ("ldpc_code", "rs-255"), ("codewords_per_frame", 0), ("block_bytes", 684),
    ("block_bytes", 4096), ("sync_word_bits", 32), ("phase_ambiguity", 3),
    ("sync_threshold", 1.0), ("flywheel_threshold", 0.9), ("max_iterations", 0),
    ("repair_ratio", 1.5), ("max_bundle_bytes", 10**10),
])
def test_config_refuses_bad_fields(field, value):
    with pytest.raises(ValueError):
        FrameConfig(**{field: value})


@given(st.integers(0, 255), st.integers(0, 2**64 - 1), st.binary(min_size=8, max_size=8),
       st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1),
       st.integers(0, 2**32 - 1), st.integers(0, 2**16 - 1), st.integers(0, 255))
def test_header_round_trip(stream, seq, digest, index, k, n, size, block, version):
    header = FrameHeader(stream, seq, digest, index, k, n, size, block, version)
    raw = header.to_bytes()
    assert len(raw) == HEADER_BYTES
    assert FrameHeader.from_bytes(raw) == header


@given(st.binary(max_size=80))
def test_header_parser_never_crashes_and_checks_refuse_nonsense(raw):
    try:
        header = FrameHeader.from_bytes(raw)
    except FrameError:
        assert len(raw) != HEADER_BYTES
        return
    try:
        check_header(header, CFG)
    except FrameError as exc:
        assert "frame header" in str(exc)


@pytest.mark.parametrize("changes,word", [
    ({"k": 6, "n": 5}, "K="),
    ({"n": 2}, "N="),
    ({"n": 10**6}, "N="),
    ({"block_bytes": 700}, "block length"),
    ({"bundle_bytes": 0}, "bundle length"),
    ({"bundle_bytes": CFG.max_bundle_bytes + 1}, "bundle length"),
    ({"block_index": 5}, "block index"),
    ({"block_index": 1 << 24}, "block index"),
    ({"version": 2}, "version"),
])
def test_absurd_headers_are_refused(changes, word):
    block = make_block(np.random.default_rng(0))
    check_header(block.header, CFG)
    with pytest.raises(FrameError, match=word):
        check_header(dataclasses.replace(block.header, **changes), CFG)


def soft(bits: np.ndarray, esn0_db: float, rng) -> np.ndarray:
    """Bits as QPSK symbols through white noise at Es/N0 -> LLRs (2 A y / s^2)."""
    sigma = np.sqrt(1 / (2 * 10 ** (esn0_db / 10)))  # per rail, symbols (+-1 +-j) / sqrt 2
    y = (1 - 2.0 * bits) / np.sqrt(2) + sigma * rng.standard_normal(bits.size)
    return (np.sqrt(2) * y / sigma**2).astype(np.float32)


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_clean_frame_decodes_without_iterations(profile):
    cfg = frame_config(profile)
    block = make_block(np.random.default_rng(1), cfg)
    air = FrameGen(cfg).encode_frame(block)
    assert air.size == cfg.coded_bits
    got = FrameDecoder(cfg).decode(np.where(air == 1, -5.0, 5.0))
    assert (got.header, got.status, got.payload) == (block.header, PayloadStatus.OK, block.payload)
    assert got.iterations == 0 and got.failures == 0 and got.bit_errors == 0


@pytest.mark.parametrize("profile,esn0_db", [("fm", 6.0), ("fm-robust", 3.0), ("ir", 5.0)])
def test_noisy_frame_is_corrected(profile, esn0_db):
    cfg = frame_config(profile)
    rng = np.random.default_rng(2)
    block = make_block(rng, cfg)
    air = FrameGen(cfg).encode_frame(block)
    llr = soft(air, esn0_db, rng)
    got = FrameDecoder(cfg).decode(llr)
    assert (got.header, got.status, got.payload) == (block.header, PayloadStatus.CORRECTED,
                                                     block.payload)
    assert got.bit_errors == np.count_nonzero((llr < 0) != air.astype(bool)) > 0
    assert got.bits_checked == cfg.coded_bits


def test_too_much_noise_never_gives_wrong_data():
    rng = np.random.default_rng(3)
    block = make_block(rng)
    air = FrameGen(CFG).encode_frame(block)
    dec = FrameDecoder(CFG)
    for _ in range(4):
        got = dec.decode(soft(air, -1.0, rng))
        assert got.header in (None, block.header)
        assert got.status is PayloadStatus.BAD and got.payload == b""
        assert got.failures >= 1 and got.iterations <= CFG.codewords_per_frame * CFG.max_iterations


def test_zero_nan_and_infinite_llrs_are_safe():
    dec = FrameDecoder(CFG)
    for llr in (np.zeros(CFG.coded_bits), np.full(CFG.coded_bits, np.nan),
                np.full(CFG.coded_bits, np.inf), np.full(CFG.coded_bits, -np.inf)):
        got = dec.decode(llr.astype(np.float32))
        assert got.header is None and got.status is PayloadStatus.BAD


def test_framegen_layout_and_block_size_check():
    rng = np.random.default_rng(4)
    blocks = [make_block(rng, index=i) for i in range(3)]
    bits = FrameGen(CFG).process(blocks)
    assert bits.dtype == np.uint8 and bits.size == 3 * CFG.frame_bits
    assert set(np.unique(bits)) <= {0, 1}
    for i in range(3):
        assert np.array_equal(bits[i * CFG.frame_bits:i * CFG.frame_bits + 64], SYNC_BITS)
    assert FrameGen(CFG).process([]).size == 0
    with pytest.raises(ValueError, match="680"):
        FrameGen(CFG).process([Block(blocks[0].header, b"short")])
    assert "FrameGen(FrameConfig(" in repr(FrameGen(CFG))


def test_header_and_payload_carry_their_crcs():
    block = make_block(np.random.default_rng(5))
    lay = FrameLayout.of(CFG)
    code = CFG.code
    air = FrameGen(CFG).encode_frame(block)
    coded = np.empty_like(air)
    coded[lay.order] = air ^ lay.whitening
    words = np.zeros(CFG.codewords_per_frame * code.n, dtype=np.uint8)
    words[lay.sent_pos] = coded
    info = words.reshape(-1, code.n)[:, :code.k].reshape(-1)
    msg = np.packbits(info[lay.message_pos]).tobytes()
    head = block.header.to_bytes()
    assert msg == (head + crc32c(head).to_bytes(4, "big") + block.payload
                   + crc32c(block.payload).to_bytes(4, "big"))


def test_interleaver_spreads_a_burst_over_every_codeword():
    """A burst of 57 symbols (3 ms at 19 kBd) on air is shared by all four codewords, none
    taking more than about a quarter of it (31 of 114 measured), and lands in 81-bit circulants
    far apart."""
    lay = FrameLayout.of(CFG)
    owner = np.repeat(np.arange(CFG.codewords_per_frame), CFG.code.n)[lay.sent_pos][lay.order]
    burst = 114
    worst = max(np.bincount(owner[s:s + burst], minlength=4).max()
                for s in range(0, owner.size - burst, 7))
    assert worst <= 32
    stride = interleaver_stride(CFG.coded_bits)
    assert np.unique(lay.order).size == CFG.coded_bits and 0.3 < stride / CFG.coded_bits < 0.45


def test_whitening_breaks_runs_of_zero_bytes():
    header = FrameHeader(stream=2, seq=7, digest=bytes(8), block_index=0, k=1, n=3,
                         bundle_bytes=200, block_bytes=CFG.block_bytes)
    bits = FrameGen(CFG).process([Block(header, bytes(CFG.block_bytes))])
    edges = np.flatnonzero(np.diff(bits.astype(np.int8)) != 0)
    assert np.diff(edges).max() < 40


@pytest.mark.parametrize("missing,decoded", [(0.08, True), (0.5, False)])
def test_a_frame_cut_off_by_the_end_of_a_capture(missing, decoded):
    """The demodulator hands the bits past the end of its input over as LLR 0 (erasures): a
    frame missing its last 8 % is decoded from what arrived; one missing half is refused
    without iterating on the codewords that cannot be solved."""
    rng = np.random.default_rng(7)
    block = make_block(rng)
    air = FrameGen(CFG).encode_frame(block)
    llr = np.where(air == 1, -5.0, 5.0).astype(np.float32)
    llr[int((1 - missing) * llr.size):] = 0.0
    got = FrameDecoder(CFG).decode(llr)
    if decoded:
        assert (got.header, got.status, got.payload) == (block.header, PayloadStatus.CORRECTED,
                                                         block.payload)
    else:
        assert got.status is PayloadStatus.BAD and got.payload == b""
        assert got.iterations < CFG.max_iterations  # the hopeless codewords were not iterated
