"""What a frame is: its layout, its geometry per profile, its header and the values it carries.

Layout of a frame (sizes for the "fm" preset, see ``profiles.py``)::

    sync word        64 bits   SYNC_WORD, sent as is (no coding)
    then, interleaved column-wise (``interleave.py``) and whitened (``frames.py``):
      header codeword  72 B    36 B header + CRC-32C(4) + 32 RS parity  (RS(72,40), t = 16)
      body codewords   4 x 255 B, each 191 data + 64 parity         (RS(255,191), t = 32)
                       the 764 data bytes = 760 B block + CRC-32C(4)

    frame = 64 + 8 * (72 + 4 * 255) = 8800 bits; payload 760 B = 6080 bits
    efficiency 6080 / 8800 = 0.691 payload bits per bit on air.

Header (big-endian, 36 bytes): version u8, stream u8, seq u64, digest 8 B (BLAKE2b-64 of the
whole bundle, so blocks of two bundles with one sequence number never mix), block index u32
(the RFC 6330 payload id: source block number << 24 | encoding symbol id), K u32 (source
blocks), N u32 (distinct blocks in one carousel cycle), bundle length u32, block length u16.

The coding of these bytes on air (CRC, Reed-Solomon, interleaving, whitening) is ``frames.py``.

Invariants: every ``FrameConfig`` gives a block of 16..65535 bytes, a multiple of 8, that one
RFC 6330 source block can hold; ``check_header`` refuses absurd fields, naming the field.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

import numpy as np

from framing.errors import FrameError

FRAME_VERSION = 2  # 2: whitened after the sync word
# 64-bit sync word found by a seeded randomised bit-flip search for low aperiodic
# autocorrelation: peak sidelobe level PSL = 5 against a main lobe of 64 (the best known
# for length 64 is 4; an m-sequence of length 63 has PSL ~ 7). tests check the PSL.
SYNC_WORD = "0010111101100111010101110110100110100111000011001000111101111010"
SYNC_BITS = np.array([int(c) for c in SYNC_WORD], dtype=np.uint8)
DIGEST_BYTES = 8  # BLAKE2b-64 of the bundle: identifies, does not authenticate (crypto does)
HEADER_FORMAT = ">BBQ8sIIIIH"
HEADER_BYTES = struct.calcsize(HEADER_FORMAT)  # 36 = 1 + 1 + 8 + 8 + 4 * 4 + 2
CRC_BYTES = 4
# RFC 6330 section 5.1.2: a source block holds at most K'max = 56403 source symbols.
MAX_SOURCE_BLOCKS = 56403


@dataclass(frozen=True)
class FrameConfig:
    """Frame geometry and limits of one profile (see ``profiles.py``)."""

    rs_codeword_bytes: int = 255
    rs_parity_bytes: int = 64
    codewords_per_frame: int = 4
    header_parity_bytes: int = 32
    repair_ratio: float = 0.10
    min_repair_blocks: int = 2
    max_bundle_bytes: int = 40 * 2**20
    sync_max_bit_errors: int = 8
    flywheel_max_bit_errors: int = 20

    def __post_init__(self) -> None:
        if not 2 <= self.rs_codeword_bytes <= 255:
            raise ValueError("rs_codeword_bytes must be in 2..255 (GF(256) Reed-Solomon)")
        if not 2 <= self.rs_parity_bytes < self.rs_codeword_bytes or self.rs_parity_bytes % 2:
            raise ValueError("rs_parity_bytes must be even and below rs_codeword_bytes")
        if not 1 <= self.codewords_per_frame <= 16:
            raise ValueError("codewords_per_frame must be in 1..16")
        if not 2 <= self.header_parity_bytes <= 255 - HEADER_BYTES - CRC_BYTES or self.header_parity_bytes % 2:
            raise ValueError("header_parity_bytes must be even and leave room for the header")
        if not 0.0 <= self.repair_ratio <= 1.0:
            raise ValueError("repair_ratio must be in [0, 1]")
        if self.min_repair_blocks < 0:
            raise ValueError("min_repair_blocks must be >= 0")
        if not 16 <= self.block_bytes <= 65535 or self.block_bytes % 8:
            # RaptorQ symbols are aligned to 8 bytes (RFC 6330 Al = 8 in the library's defaults)
            raise ValueError("rs_* and codewords_per_frame give a block outside 16..65535 bytes "
                             "or not a multiple of 8")
        if not 1 <= self.max_bundle_bytes <= min(MAX_SOURCE_BLOCKS * self.block_bytes, 2**32 - 1):
            raise ValueError("max_bundle_bytes must fit one RFC 6330 source block (56403 blocks)")
        if not 0 <= self.sync_max_bit_errors <= self.flywheel_max_bit_errors < len(SYNC_WORD) // 2:
            raise ValueError("need 0 <= sync_max_bit_errors <= flywheel_max_bit_errors < 32")

    @property
    def block_bytes(self) -> int:
        """Carousel block carried by one frame: body data bytes minus its CRC-32C."""
        return self.codewords_per_frame * (self.rs_codeword_bytes - self.rs_parity_bytes) - CRC_BYTES

    @property
    def header_codeword_bytes(self) -> int:
        return HEADER_BYTES + CRC_BYTES + self.header_parity_bytes

    @property
    def frame_bits(self) -> int:
        """Sync word plus all codewords, in bits."""
        body = self.codewords_per_frame * self.rs_codeword_bytes
        return len(SYNC_WORD) + 8 * (self.header_codeword_bytes + body)

    @property
    def efficiency(self) -> float:
        """Block payload bits per bit on air (before carousel repair overhead)."""
        return 8 * self.block_bytes / self.frame_bits

    def max_blocks(self, k: int) -> int:
        """Largest N the header may claim for K source blocks (anything above is absurd)."""
        return 2 * k + max(16, self.min_repair_blocks)


@dataclass(frozen=True)
class FrameHeader:
    stream: int
    seq: int
    digest: bytes
    block_index: int
    k: int
    n: int
    bundle_bytes: int
    block_bytes: int
    version: int = FRAME_VERSION

    def to_bytes(self) -> bytes:
        return struct.pack(HEADER_FORMAT, self.version, self.stream, self.seq, self.digest,
                           self.block_index, self.k, self.n, self.bundle_bytes, self.block_bytes)

    @classmethod
    def from_bytes(cls, data: bytes) -> FrameHeader:
        if len(data) != HEADER_BYTES:
            raise FrameError(f"frame header must be {HEADER_BYTES} bytes, got {len(data)}")
        version, stream, seq, digest, index, k, n, size, block = struct.unpack(HEADER_FORMAT, data)
        return cls(stream, seq, digest, index, k, n, size, block, version)

    @property
    def bundle_key(self) -> tuple[int, int, bytes]:
        """(stream, seq, digest): what identifies one bundle on air."""
        return (self.stream, self.seq, self.digest)


def check_header(header: FrameHeader, cfg: FrameConfig) -> FrameHeader:
    """Return ``header`` if its fields make sense for ``cfg``, else raise FrameError naming the field."""
    if header.version != FRAME_VERSION:
        raise FrameError(f"frame header version {header.version}, expected {FRAME_VERSION}")
    if header.block_bytes != cfg.block_bytes:
        raise FrameError(f"frame header block length {header.block_bytes}, profile has {cfg.block_bytes}")
    if not 1 <= header.bundle_bytes <= cfg.max_bundle_bytes:
        raise FrameError(f"frame header bundle length {header.bundle_bytes} outside 1..{cfg.max_bundle_bytes}")
    if header.k != -(-header.bundle_bytes // header.block_bytes):
        raise FrameError(f"frame header K={header.k} does not match length {header.bundle_bytes}")
    if not header.k <= header.n <= cfg.max_blocks(header.k):
        raise FrameError(f"frame header N={header.n} absurd for K={header.k}")
    if header.block_index >> 24 != 0 or header.block_index >= header.n:
        raise FrameError(f"frame header block index {header.block_index} outside 0..N-1 (N={header.n})")
    return header


def bundle_digest(bundle: bytes) -> bytes:
    """BLAKE2b-64 of a whole bundle, as carried in every frame header."""
    return hashlib.blake2b(bundle, digest_size=DIGEST_BYTES).digest()


@dataclass(frozen=True)
class Block:
    """One erasure-coded block of a bundle with its header; ``payload`` is block_bytes long."""

    header: FrameHeader
    payload: bytes


@dataclass(frozen=True)
class Frame:
    """A frame found on the bit stream: its block, where it started, how it was received."""

    block: Block
    start_bit: int  # absolute index of the first sync bit in the stream fed to FrameSync
    inverted: bool  # stream polarity was inverted
    corrected: bool  # Reed-Solomon had to correct the payload
