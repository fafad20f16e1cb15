"""Fuzz inputs for framing's parsers: list and delta bodies, frame headers, blocks, frame bits.

Seeds are valid outputs of the encoders (``encode_list``, ``segment``, ``FrameGen``);
generators make what an attacker sends on purpose: a list body that claims the most entries
its size allows (one bit each), and blocks of a forged bundle whose K agrees with its
claimed lengths so they pass the plausibility checks. ``blocks_of`` is the wire form the
reassembly target reads: records of (36-byte frame header, payload of its block length).
"""

from __future__ import annotations

import functools
import random
import struct

import numpy as np
from fuzz_engine import Field, Seed

from center.registry.home import DEFAULT_UNIVERSE
from framing import (
    AnnouncedBundle,
    PROFILES as FRAME_PROFILES,
    Block,
    FrameConfig,
    FrameHeader,
    HotList,
    ListDelta,
    Universe,
    encode_delta,
    encode_list,
    encode_announcement,
    segment,
)
from framing.frameformat import HEADER_BYTES as FRAME_HEADER_BYTES
from framing.frameformat import bundle_digest as frame_digest
from framing.frames import FrameGen

def _leb128(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


INT_TOKENS = tuple(_leb128(v) for v in (0, 1, 2**26, 2**26 + 1, 2**32 - 1, 2**63, 2**64 - 1, 2**70)) + (
    b"\x80" * 10 + b"\x01", b"\xff" * 12)


_LIST_UNIVERSE = Universe(((0, 999), (10**15, 10**16 - 1), (2**64 - 2**20, 2**64 - 1)))


def _hot_list(rng: random.Random, n: int, universe: Universe) -> HotList:
    ranks = np.unique(np.array([rng.randrange(universe.size) for _ in range(n)], np.uint64))
    ids = universe.unrank(ranks)
    reasons = np.array([rng.randrange(4) for _ in range(ids.size)], np.uint8)
    expiry = np.array([rng.choice((0, 1, 300, 65535)) for _ in range(ids.size)], np.uint16)
    return HotList(ids, reasons, expiry)


@functools.cache
def list_seeds(kind: str) -> list[Seed]:
    rng = random.Random(3)
    seeds = []
    for n, universe in ((0, DEFAULT_UNIVERSE), (1, DEFAULT_UNIVERSE), (40, _LIST_UNIVERSE),
                        (500, DEFAULT_UNIVERSE)):
        hot = _hot_list(rng, n, universe)
        if kind == "list":
            data = encode_list(hot, universe)
        else:
            removed = _hot_list(rng, n // 2, universe).ids
            removed = removed[~np.isin(removed, hot.ids)]
            data = encode_delta(ListDelta(hot, removed), universe)
        seeds.append(Seed(data, (Field(3, 1), Field(4, 1), Field(5, 1))))
    return seeds


def dense_list(kind: str, rng: random.Random) -> bytes:
    """A list (or a delta adding) n consecutive IDs, all one reason: about one bit an entry on
    the wire, the most entries a body of a given size can claim (issue 6: 8 MiB -> 3.1 GiB)."""
    return _dense_body(kind, rng.choice((1, 100, 10_000, 200_000, 1_000_000, 2_000_000)))


@functools.cache
def _dense_body(kind: str, n: int) -> bytes:
    """Encoded once per size: encoding 2 M entries takes longer than decoding them."""
    hot = HotList(np.arange(n, dtype=np.uint64), np.zeros(n, np.uint8), np.zeros(n, np.uint16))
    if kind == "list":
        return encode_list(hot, DEFAULT_UNIVERSE)
    return encode_delta(ListDelta(hot, np.zeros(0, np.uint64)), DEFAULT_UNIVERSE)


# A small frame geometry (24-byte blocks, one rate-1/2 codeword) next to the profiles', so
# seeds hold many blocks.
_SMALL_FRAMES = FrameConfig(ldpc_code="80211n-1944-1/2", codewords_per_frame=1, block_bytes=24,
                            phase_ambiguity=1, max_bundle_bytes=1 << 20)
HEADER_FIELDS = (Field(0, 1), Field(1, 1), Field(2, 8), Field(18, 4), Field(22, 4), Field(26, 4),
                  Field(30, 4), Field(34, 2))


def _blocks_bytes(blocks: list[Block]) -> bytes:
    return b"".join(b.header.to_bytes() + b.payload for b in blocks)


@functools.cache
def frame_header_seeds() -> list[Seed]:
    seeds = []
    for cfg in (*FRAME_PROFILES.values(), _SMALL_FRAMES):
        for size in (1, 1000, 50_000):
            seeds += [Seed(b.header.to_bytes(), HEADER_FIELDS) for b in segment(bytes(size), 1, 5, cfg)[:2]]
    return seeds


@functools.cache
def reassembly_seeds() -> list[Seed]:
    """Blocks of three bundles; the last one also behind an announcement that names it (the
    announced path: blocks of a named bundle always get room)."""
    seeds = []
    for cfg, size in ((_SMALL_FRAMES, 100), (_SMALL_FRAMES, 1000), (FRAME_PROFILES["fm"], 2000)):
        bundle = random.Random(size).randbytes(size)
        blocks = segment(bundle, 1, 3, cfg)
        record = FRAME_HEADER_BYTES + cfg.block_bytes
        fields = tuple(Field(i * record + f.offset, f.size) for i in range(len(blocks)) for f in HEADER_FIELDS)
        seeds.append(Seed(_blocks_bytes(blocks), fields))
    announcement = encode_announcement([AnnouncedBundle(1, 3, frame_digest(bundle), len(bundle))])
    shifted = tuple(Field(f.offset + len(announcement), f.size) for f in fields)
    seeds.append(Seed(announcement + _blocks_bytes(blocks), (Field(4, 1), Field(26, 4), *shifted)))
    return seeds


def split_announcement(data: bytes) -> tuple[bytes | None, bytes]:
    """(announcement body or None, the rest): a reassembly input may open with the body of an
    ANNOUNCE bundle (b"HCA", version, count, then count 21-byte entries)."""
    if data[:3] != b"HCA" or len(data) < 5:
        return None, data
    end = 5 + 21 * data[4]
    return data[:end], data[end:]


def blocks_of(data: bytes, max_blocks: int = 64) -> list[Block]:
    """Records of (36-byte frame header, payload of the header's block length) -> blocks; a
    short last payload is padded with zeros, so every block is as long as its header says."""
    blocks, pos = [], 0
    while pos + FRAME_HEADER_BYTES <= len(data) and len(blocks) < max_blocks:
        header = FrameHeader.from_bytes(data[pos:pos + FRAME_HEADER_BYTES])
        pos += FRAME_HEADER_BYTES
        payload = data[pos:pos + header.block_bytes]
        pos += len(payload)
        blocks.append(Block(header, payload.ljust(header.block_bytes, b"\0")))
    return blocks


def forged_blocks(rng: random.Random) -> bytes:
    """Blocks an attacker injects (issue 6): a made-up digest, any block length (not only
    multiples of 8), K consistent with the claimed bundle length so they pass the
    plausibility checks, N up to 2K + 16, indices anywhere below N."""
    block = rng.choice((8, 9, 12, 16, 24, 100, 760, 761, rng.randrange(8, 2048)))
    size = rng.randrange(1, 40 * block)
    k = -(-size // block)
    n = rng.randrange(k, 2 * k + 17)
    stream, digest, seq = rng.randrange(256), rng.randbytes(8), rng.randrange(2**64)
    # Half the time repair blocks only (indices K..N-1): the decoder's other path.
    indices = range(k, n) if n > k and rng.random() < 0.5 else range(n)
    out = b""
    for index in rng.sample(indices, min(len(indices), k + rng.randrange(4))):
        header = FrameHeader(stream, seq, digest, index, k, n, size, block)
        out += header.to_bytes() + rng.randbytes(block)
        if len(out) > 1 << 16:
            break
    return out


def consistent_k(data: bytes) -> bytes:
    """Recompute each record's K from its bundle and block lengths after a mutation, so
    mutated lengths get past the plausibility check instead of being refused at once."""
    out, pos = bytearray(data), 0
    while pos + FRAME_HEADER_BYTES <= len(out):
        size, block = struct.unpack_from(">IH", out, pos + 30)
        if block:
            struct.pack_into(">I", out, pos + 22, -(-size // block) % 2**32)
        pos += FRAME_HEADER_BYTES + block
    return bytes(out)


# Profiles the frame_sync target picks with its first byte: fm (QPSK, four rotations, the v2
# detector) and ir (no rotation, shorter frames).
FRAME_SYNC_PROFILES = ("fm", "ir")
LLR_SCALE = 8  # a clean bit as an int8 LLR: the HARD_LLR of framing.framesync
FRAME_SYNC_MAX_LLRS = 9_000


def _llr_bytes(bits: np.ndarray, rng: np.random.Generator, noise: float = 0.0,
               quarter_turns: int = 0) -> bytes:
    """Bits -> int8 LLRs (positive = 0) with Gaussian noise of ``noise`` x LLR_SCALE, the
    QPSK symbols (llr[2i] + j llr[2i+1]) turned by ``quarter_turns``."""
    llr = (1.0 - 2.0 * bits.astype(np.float64)) * LLR_SCALE
    llr = llr + rng.normal(0.0, noise * LLR_SCALE, llr.size)
    z = (llr[0::2] + 1j * llr[1::2]) * 1j ** quarter_turns
    llr = np.stack((z.real, z.imag), axis=1).reshape(-1)
    return np.clip(np.rint(llr), -128, 127).astype(np.int8).tobytes()


@functools.cache
def frame_sync_llr_seeds() -> list[Seed]:
    """First byte: the profile (index into FRAME_SYNC_PROFILES); then int8 LLRs: for ir two
    frames (the flywheel), for fm one frame and the start of the next (7 800 LLRs a frame:
    inputs stay under 9 000 bytes, so the traced decoder runs a few inputs a second); clean,
    noisy, rotated by a quarter turn (fm), and starting mid-frame."""
    rng = np.random.default_rng(7)
    seeds = []
    for index, name in enumerate(FRAME_SYNC_PROFILES):
        cfg = FRAME_PROFILES[name]
        blocks = segment(bytes(range(256)) * 4, 2, 8, cfg)
        bits = FrameGen(cfg).process(blocks[:2])[:FRAME_SYNC_MAX_LLRS // 2 * 2]
        head = bytes([index])
        seeds += [Seed(head + _llr_bytes(bits, rng)), Seed(head + _llr_bytes(bits, rng, noise=0.6)),
                  Seed(head + _llr_bytes(bits[cfg.frame_bits // 2 * 2 - 100:][:cfg.frame_bits + 200], rng))]
        if cfg.phase_ambiguity == 4:
            seeds.append(Seed(head + _llr_bytes(bits, rng, quarter_turns=1)))
    return seeds


@functools.cache
def announcement_seeds() -> list[Seed]:
    """Announcements of 1, 3 and 16 bundles (stream, seq, digest, length per 21-byte entry)."""
    rng = random.Random(5)
    seeds = []
    for n in (1, 3, 16):
        entries = [AnnouncedBundle(rng.randrange(4), rng.randrange(2**40), rng.randbytes(8),
                                   rng.randrange(1, 2**20)) for _ in range(n)]
        fields = (Field(3, 1), Field(4, 1)) + tuple(
            f for i in range(n) for f in (Field(5 + 21 * i, 1), Field(6 + 21 * i, 8), Field(22 + 21 * i, 4)))
        seeds.append(Seed(encode_announcement(entries), fields))
    return seeds
