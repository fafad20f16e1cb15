"""What a frame is: its layout, its geometry per profile, its header and the values it carries.

Frame version 3 (soft-decision LDPC). Layout on air, for the "fm" preset (``profiles.py``)::

    sync word        64 bits   SYNC_WORDS[64], sent as is (32 QPSK symbols)
    coded bits       7776 - 40 = 7736 bits: 4 LDPC codewords (802.11n, 1944 bits, rate 3/4)
                     minus the 40 shortened bits, permuted by the frame interleaver and
                     whitened (``frames.py``)
    the 4 x 1458 = 5832 information bits carry, in order:
        header 36 B + CRC-32C 4 B | block 680 B + CRC-32C 4 B | 5 B shortened (known zeros,
        never sent: the decoder knows them)

    frame = 64 + 7736 = 7800 bits; payload 680 B = 5440 bits; efficiency 5440 / 7800 = 0.697.

The header sits in the first codeword's information bits, so it has exactly the payload's code
(the issue asks for at least as well), and its own CRC lets a frame whose header decodes but
whose payload does not be counted as such. The whole frame is one CRC-checked unit for the
payload: a codeword the decoder wrongly converges on is caught by the block's CRC-32C.

Header (big-endian, 36 bytes): version u8, stream u8, seq u64, digest 8 B (BLAKE2b-64 of the
whole bundle, so blocks of two bundles with one sequence number never mix), block index u32
(the RFC 6330 payload id: source block number << 24 | encoding symbol id), K u32 (source
blocks), N u32 (distinct blocks in one carousel cycle), bundle length u32, block length u16.

Version 2 (hotcast before the soft decoder): 64-bit sync word ``SYNC_WORD_V2``, RS(72,40)
header and RS(255,191) body over differentially encoded QPSK. A receiver of version 3 does not
decode it but recognises its sync word (``framesync.py``) and says so.

Invariants: every ``FrameConfig`` gives a block of 16..65535 bytes, a multiple of 8, that one
RFC 6330 source block can hold and that its codewords can carry; ``check_header`` refuses
absurd fields, naming the field.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

import numpy as np

from framing.errors import FrameError
from framing.ldpc import CODE_NAMES, ldpc_code

FRAME_VERSION = 3  # 3: LDPC (802.11n) with soft decisions; 2: RS + whitening; 1: RS
LEGACY_VERSION = 2  # what a v2 sync word on the differentially decoded stream reveals
# Sync words, one per length: QPSK symbol pairs (bit 2i on I, 2i+1 on Q) found by a seeded
# random search with greedy bit flips for low aperiodic sidelobes of the complex correlation
# that FrameSync computes (every bit offset, any of the four rotations): the peak sidelobe is
# 22 of 64 and 43 of 128 (tests check it), below the detection thresholds of 0.6 x length
# even before noise.
SYNC_WORDS = {
    64: "1111111110110000101011101001100010100010101010000001010100001111",
    128: "1010000111111011111110001111111000000000101011100001001000000000"
         "1010101001001011110101010110110101101001010111100101111010111101",
}
SYNC_BITS = np.array([int(c) for c in SYNC_WORDS[64]], dtype=np.uint8)
# The v2 sync word (frames of hotcast before version 3), kept to recognise old captures.
SYNC_WORD_V2 = "0010111101100111010101110110100110100111000011001000111101111010"
SYNC_BITS_V2 = np.array([int(c) for c in SYNC_WORD_V2], dtype=np.uint8)
FRAME_BITS_V2 = 8800  # 64 + 8 * (72 + 4 * 255): the v2 "fm" frame
DIGEST_BYTES = 8  # BLAKE2b-64 of the bundle: identifies, does not authenticate (crypto does)
HEADER_FORMAT = ">BBQ8sIIIIH"
HEADER_BYTES = struct.calcsize(HEADER_FORMAT)  # 36 = 1 + 1 + 8 + 8 + 4 * 4 + 2
CRC_BYTES = 4
# RFC 6330 section 5.1.2: a source block holds at most K'max = 56403 source symbols.
MAX_SOURCE_BLOCKS = 56403


@dataclass(frozen=True)
class FrameConfig:
    """Frame geometry, code and sync limits of one profile (see ``profiles.py``).

    ldpc_code: a name from ``framing.ldpc.CODE_NAMES``; codewords_per_frame of it per frame.
    block_bytes: carousel block per frame (multiple of 8); what the codewords' information bits
    hold beyond header, block and two CRCs is shortened (known zeros, not sent).
    sync_word_bits: 64 or 128. phase_ambiguity: rotations of the bit stream the demodulator
    may leave (4: coherent QPSK, quarter turns; 2: polarity; 1: none), resolved on the sync word.
    sync_threshold: normalised soft correlation (cosine, 0..1) for a sync hit while searching;
    flywheel_threshold: the bar above which a flywheel position's own correlation sets the
    rotation (below it the last frame's rotation is kept).
    max_iterations: decoder iteration bound per codeword (bounded time on noise).
    """

    ldpc_code: str = "80211n-1944-3/4"
    codewords_per_frame: int = 4
    block_bytes: int = 680
    sync_word_bits: int = 64
    phase_ambiguity: int = 4
    sync_threshold: float = 0.6
    flywheel_threshold: float = 0.3
    max_iterations: int = 30
    repair_ratio: float = 0.10
    min_repair_blocks: int = 2
    max_bundle_bytes: int = 32 * 2**20  # 32 MiB: within 56403 blocks of >= 600 bytes

    def __post_init__(self) -> None:
        if self.ldpc_code not in CODE_NAMES:
            raise ValueError(f"ldpc_code {self.ldpc_code!r} unknown (known: {', '.join(CODE_NAMES)})")
        if not 1 <= self.codewords_per_frame <= 32:
            raise ValueError("codewords_per_frame must be in 1..32")
        if not 16 <= self.block_bytes <= 65535 or self.block_bytes % 8:
            # RaptorQ symbols are aligned to 8 bytes (RFC 6330 Al = 8 in the library's defaults)
            raise ValueError("block_bytes must be a multiple of 8 in 16..65535")
        if self.shortened_bits < 0:
            raise ValueError(f"block_bytes {self.block_bytes} does not fit {self.codewords_per_frame} "
                             f"codewords of {self.ldpc_code} (room for {self.info_bits // 8 - 2 * CRC_BYTES - HEADER_BYTES} B)")
        if HEADER_BYTES * 8 + 8 * CRC_BYTES > self.code.k - -(-self.shortened_bits // self.codewords_per_frame):
            raise ValueError("the header must fit the first codeword")
        if self.sync_word_bits not in SYNC_WORDS:
            raise ValueError(f"sync_word_bits must be one of {sorted(SYNC_WORDS)}")
        if self.phase_ambiguity not in (1, 2, 4):
            raise ValueError("phase_ambiguity must be 1, 2 or 4")
        if not 0.0 < self.flywheel_threshold <= self.sync_threshold < 1.0:
            raise ValueError("need 0 < flywheel_threshold <= sync_threshold < 1")
        if not 1 <= self.max_iterations <= 200:
            raise ValueError("max_iterations must be in 1..200")
        if not 0.0 <= self.repair_ratio <= 1.0:
            raise ValueError("repair_ratio must be in [0, 1]")
        if self.min_repair_blocks < 0:
            raise ValueError("min_repair_blocks must be >= 0")
        if not 1 <= self.max_bundle_bytes <= min(MAX_SOURCE_BLOCKS * self.block_bytes, 2**32 - 1):
            raise ValueError("max_bundle_bytes must fit one RFC 6330 source block (56403 blocks)")

    @property
    def code(self):
        return ldpc_code(self.ldpc_code)

    @property
    def info_bits(self) -> int:
        """Information bits of all codewords of a frame."""
        return self.codewords_per_frame * self.code.k

    @property
    def message_bits(self) -> int:
        """Header, block and their CRCs: the information bits that carry something."""
        return 8 * (HEADER_BYTES + CRC_BYTES + self.block_bytes + CRC_BYTES)

    @property
    def shortened_bits(self) -> int:
        """Information bits set to zero and not sent (the decoder knows them)."""
        return self.info_bits - self.message_bits

    @property
    def coded_bits(self) -> int:
        """Bits sent after the sync word: all codewords less the shortened bits."""
        return self.codewords_per_frame * self.code.n - self.shortened_bits

    @property
    def frame_bits(self) -> int:
        """Sync word plus coded bits, in bits."""
        return self.sync_word_bits + self.coded_bits

    @property
    def sync_bits(self) -> np.ndarray:
        return np.array([int(c) for c in SYNC_WORDS[self.sync_word_bits]], dtype=np.uint8)

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
    """A frame found on the bit stream: its block, where it started, how it was received.

    rotation: quarter turns the stream was rotated by (0..3; 2 is an inverted polarity);
    corrected: the decoder changed at least one hard decision; iterations: decoder iterations
    summed over the frame's codewords (0 when every hard decision already checked).
    """

    block: Block
    start_bit: int  # absolute index of the first sync bit in the stream fed to FrameSync
    inverted: bool  # stream polarity was inverted (rotation 2)
    corrected: bool
    rotation: int = 0
    iterations: int = 0
