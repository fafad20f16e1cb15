"""Segmentation of bundles into erasure-coded blocks, and the carousel that schedules them.

Erasure code: RaptorQ (RFC 6330) through the ``raptorq`` package (Rust, cberner/raptorq).
Why it and not zfec: zfec is an exact K-of-N code but N <= 256, so a bundle of a few MB
(thousands of 760-byte blocks) would need independent groups, and a receiver would need K_g
blocks of *every* group: "any K of the N" would no longer hold. RaptorQ handles up to 56403
source symbols in one source block (RFC 6330 5.1.2: 42 MB at 760 B), decodes from K received
symbols with probability ~99 % and from K + 2 with ~1 - 1e-6 (RFC 6330 Annex B), i.e. a
margin far below 5 % for any K above 40, and decodes at hundreds of MB/s.

A bundle of L bytes becomes K = ceil(L / block_bytes) source blocks (the code is systematic:
block i < K is bytes [i*B, (i+1)*B) of the bundle, zero-padded) plus
R = max(min_repair_blocks, ceil(K * repair_ratio)) repair blocks; N = K + R blocks make one
carousel cycle of that bundle.

The scheduler interleaves the bundles on air by smooth weighted round-robin on their
``share`` of airtime (the center decides: e.g. the full list 1.0, each delta 0.3, key rolls
0.2); within a bundle it cycles its blocks in order, source blocks first. A bundle put with
``urgent=True`` goes on air at the next frame boundary and keeps the air until one whole
cycle of its N blocks has gone out, then joins the round-robin.

Invariants: segment() is deterministic; next_frames() output depends only on the sequence
of calls; no I/O, no clock.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import raptorq

from framing.frameformat import Block, FrameConfig, FrameHeader, bundle_digest


def segment(bundle: bytes, stream: int, seq: int, cfg: FrameConfig) -> list[Block]:
    """Cut one sealed bundle into N blocks (K source + R repair) with their headers."""
    if not 0 <= stream <= 255:
        raise ValueError(f"stream must be in 0..255, got {stream}")
    if not 0 <= seq < 2**64:
        raise ValueError(f"seq must be a u64, got {seq}")
    if not 1 <= len(bundle) <= cfg.max_bundle_bytes:
        raise ValueError(f"bundle length {len(bundle)} outside 1..{cfg.max_bundle_bytes} bytes")
    size = cfg.block_bytes
    k = -(-len(bundle) // size)
    repair = max(cfg.min_repair_blocks, math.ceil(k * cfg.repair_ratio))
    packets = raptorq.Encoder.with_defaults(bytes(bundle), size).get_encoded_packets(repair)
    # guards on the library's choices: one source block, symbols of exactly block_bytes
    if len(packets) != k + repair or any(len(p) != 4 + size for p in packets):
        raise ValueError(f"erasure coder made {len(packets)} blocks, expected {k + repair} of {size} B")
    digest = bundle_digest(bytes(bundle))
    blocks = []
    for packet in packets:
        index = int.from_bytes(packet[:4], "big")  # RFC 6330 payload id: SBN (8 bits) | ESI (24 bits)
        header = FrameHeader(stream, seq, digest, index, k, k + repair, len(bundle), size)
        blocks.append(Block(header, bytes(packet[4:])))
    return blocks


@dataclass
class _OnAir:
    blocks: list[Block]
    share: float
    credit: float = 0.0
    cursor: int = 0


class CarouselScheduler:
    """Which block goes into each next frame. Keys are (stream, seq) of the bundles."""

    def __init__(self, config: FrameConfig) -> None:
        self.config = config
        self.reset()

    def __repr__(self) -> str:
        return f"CarouselScheduler({self.config!r}, on_air={self.keys()!r})"

    def reset(self) -> None:
        """Take everything off air."""
        self._bundles: dict[tuple[int, int], _OnAir] = {}
        self._urgent: deque[Block] = deque()

    def put(self, blocks: list[Block], share: float = 1.0, urgent: bool = False) -> tuple[int, int]:
        """Put one segmented bundle on air (replacing one with the same key); return its key."""
        if not blocks:
            raise ValueError("put() needs the blocks of one bundle, got none")
        if not share > 0 or math.isinf(share):
            raise ValueError(f"share must be a positive finite number, got {share}")
        key = (blocks[0].header.stream, blocks[0].header.seq)
        if any((b.header.stream, b.header.seq, b.header.digest) != key + (blocks[0].header.digest,)
               for b in blocks):
            raise ValueError("put() takes the blocks of exactly one bundle")
        self.remove(*key)
        self._bundles[key] = _OnAir(list(blocks), float(share))
        if urgent:
            self._urgent.extend(blocks)
        return key

    def remove(self, stream: int, seq: int) -> None:
        """Take a bundle off air (no-op if absent), including any urgent blocks still queued."""
        if self._bundles.pop((stream, seq), None) is not None:
            self._urgent = deque(b for b in self._urgent if (b.header.stream, b.header.seq) != (stream, seq))

    def keys(self) -> list[tuple[int, int]]:
        return list(self._bundles)

    def next_frames(self, count: int) -> list[Block]:
        """The blocks of the next ``count`` frames (empty when nothing is on air)."""
        if count < 0:
            raise ValueError("count must be >= 0")
        out: list[Block] = []
        while len(out) < count and (self._urgent or self._bundles):
            if self._urgent:
                out.append(self._urgent.popleft())
                continue
            out.append(self._next_round_robin())
        return out

    def _next_round_robin(self) -> Block:
        # Smooth weighted round-robin: every bundle earns its share, the richest sends and
        # pays the total; ties go to the bundle put first (dict order), so it is deterministic.
        total = 0.0
        best: _OnAir | None = None
        for entry in self._bundles.values():
            entry.credit += entry.share
            total += entry.share
            if best is None or entry.credit > best.credit:
                best = entry
        assert best is not None
        best.credit -= total
        block = best.blocks[best.cursor]
        best.cursor = (best.cursor + 1) % len(best.blocks)
        return block
