"""Frame synchronisation on a hard-bit stream: bits in, frames out, stateful across chunks.

Detection: the 64-bit sync word is correlated (as +-1) against every bit position; a
position whose correlation magnitude is at least 64 - 2 * sync_max_bit_errors is a hit, with
the sign giving the stream's polarity (an inverted stream correlates at -64). With 8 bit
errors allowed, a random 64-bit window passes with probability
2 * sum_{e<=8} C(64, e) / 2**64 ~ 5e-10 per position: at 38 kbit/s, one false hit every ~15 h,
and a false hit costs one header check, nothing more.

Flywheel: after a good frame the next one is expected right behind it, and that position is
tried whatever its correlation, because the header's own RS code and CRC (and the field
checks) decide whether it really is a frame; a burst that wipes out the sync word then loses
nothing while the stream stays frame-aligned. The polarity there is the correlation's sign
if at most flywheel_max_bit_errors sync bits are wrong, else the previous frame's. A failed
flywheel try drops the lock and the search goes on bit by bit. It counts as a bad header only
if the sync word was there (at most flywheel_max_bit_errors wrong, the bar for a frame "seen"
at a flywheel position); with no sync word and no header it is ``lock_lost``: the
transmission ended or faded, and a clean recording that ends after its last frame reports no
bad frame.

A header is trusted only if its CRC-32C checks (after RS correction if needed) and its fields
pass ``check_header``; otherwise it is dropped and counted, and the search goes on from the
next bit. Payloads are RS-decoded only when their CRC fails.

Invariants: the output (frames and stats) depends only on the concatenated input, never on
how it was chunked (every decision waits until all the bits it needs are present);
memory is bounded by about one frame of bits plus its correlation values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from framing.errors import FrameError
from framing.frameformat import SYNC_BITS, Block, Frame, FrameConfig, check_header
from framing.frames import FrameDecoder, PayloadStatus

_SYNC_PM = (2.0 * SYNC_BITS - 1.0).astype(np.float32)


@dataclass
class FrameStats:
    """What the channel lost, counted (mutable: the stage updates it as it goes)."""

    bits_in: int = 0
    sync_hits: int = 0  # positions tried as a frame start (sync hits and flywheel tries)
    headers_ok: int = 0
    headers_bad: int = 0  # CRC failed even after RS: noise, false sync hit
    lock_lost: int = 0  # flywheel try with neither sync word nor header: the signal went
    headers_absurd: int = 0  # CRC good but fields out of range: dropped, never trusted
    payloads_ok: int = 0
    payloads_corrected: int = 0
    payloads_bad: int = 0
    frames_inverted: int = 0
    bytes_corrected: int = 0  # by RS in payloads that then checked
    sync_bits_checked: int = 0  # sync-word bits of frames whose header checked
    sync_bit_errors: int = 0  # of those, how many were wrong

    @property
    def ber_estimate(self) -> float | None:
        """Raw channel bit error rate seen on sync words of good frames (None before any)."""
        return self.sync_bit_errors / self.sync_bits_checked if self.sync_bits_checked else None


class FrameSync:
    """Bits (uint8 0/1, any chunk size) -> list[Frame]."""

    def __init__(self, config: FrameConfig) -> None:
        self.config = config
        self._decoder = FrameDecoder(config)
        self._sync_len = SYNC_BITS.size
        self._strong = self._sync_len - 2 * config.sync_max_bit_errors
        self._weak = self._sync_len - 2 * config.flywheel_max_bit_errors
        self.reset()

    def __repr__(self) -> str:
        return f"FrameSync({self.config!r})"

    def reset(self) -> None:
        self.stats = FrameStats()
        self._buf = np.zeros(0, dtype=np.uint8)
        self._corr = np.zeros(0, dtype=np.float32)  # correlation at buf positions computed so far
        self._buf_start = 0  # absolute stream index of _buf[0]
        self._expected: int | None = None  # absolute start of the next frame when locked
        self._inverted = False  # polarity of the last good header

    def process(self, bits: np.ndarray) -> list[Frame]:
        """Push a chunk of hard bits (shape (n,), uint8 0/1); return the frames it completed."""
        chunk = np.asarray(bits)
        if chunk.ndim != 1:
            raise ValueError(f"FrameSync wants a 1-D bit array, got shape {chunk.shape}")
        if chunk.dtype.kind not in "biu":
            raise TypeError(f"FrameSync wants hard bits (bool or integer 0/1), got {chunk.dtype}")
        chunk = chunk.astype(np.uint8, copy=False) & 1
        self.stats.bits_in += chunk.size
        buf = np.concatenate((self._buf, chunk)) if self._buf.size else chunk
        n_corr = max(buf.size - self._sync_len + 1, 0)
        if n_corr > self._corr.size:
            start = self._corr.size
            seg = (2.0 * buf[start:].astype(np.float32) - 1.0)
            self._corr = np.concatenate((self._corr, np.correlate(seg, _SYNC_PM, mode="valid")))
        frames: list[Frame] = []
        pos = self._scan(buf, n_corr, frames)
        self._buf = buf[pos:].copy() if pos < buf.size else np.zeros(0, dtype=np.uint8)
        self._corr = self._corr[pos:].copy() if pos < self._corr.size else np.zeros(0, dtype=np.float32)
        self._buf_start += pos
        return frames

    def _scan(self, buf: np.ndarray, n_corr: int, frames: list[Frame]) -> int:
        """Try frame starts in order; return the first buffer position still undecided."""
        corr = self._corr
        frame_bits = self.config.frame_bits
        hits = np.flatnonzero(np.abs(corr[:n_corr]) >= self._strong)
        hi = 0
        pos = 0
        while True:
            cand = None
            flywheel = self._expected is not None and self._expected - self._buf_start == pos
            if flywheel:
                if pos >= n_corr:
                    return pos  # cannot read the flywheel position's polarity yet
                cand = pos
            else:
                while hi < hits.size and hits[hi] < pos:
                    hi += 1
                if hi == hits.size:
                    return n_corr
                cand = int(hits[hi])
            if cand + frame_bits > buf.size:
                return cand  # wait for the rest of this frame
            pos = self._try_frame(buf, cand, frames, flywheel)

    def _try_frame(self, buf: np.ndarray, cand: int, frames: list[Frame], flywheel: bool) -> int:
        """Decode the frame starting at buffer position ``cand``; return where to go on."""
        stats = self.stats
        stats.sync_hits += 1
        corr = self._corr[cand]
        if flywheel and abs(corr) < self._weak:
            inverted = self._inverted
        else:
            inverted = bool(corr < 0)
        body = buf[cand + self._sync_len:cand + self.config.frame_bits]
        if inverted:
            body = body ^ np.uint8(1)
        air = np.packbits(body)
        header = self._decoder.decode_header(air)
        if header is None:
            if flywheel and abs(corr) < self._weak:
                stats.lock_lost += 1
            else:
                stats.headers_bad += 1
            self._expected = None
            return cand + 1
        try:
            check_header(header, self.config)
        except FrameError:
            stats.headers_absurd += 1
            self._expected = None
            return cand + 1
        stats.headers_ok += 1
        stats.sync_bits_checked += self._sync_len
        agreement = -corr if inverted else corr  # +-1 correlation = agreeing - disagreeing bits
        stats.sync_bit_errors += int(self._sync_len - agreement) // 2
        end = cand + self.config.frame_bits
        self._expected = self._buf_start + end
        self._inverted = inverted
        status, payload, corrected = self._decoder.decode_payload(air)
        stats.bytes_corrected += corrected
        if status is PayloadStatus.BAD:
            stats.payloads_bad += 1
            return end
        if status is PayloadStatus.OK:
            stats.payloads_ok += 1
        else:
            stats.payloads_corrected += 1
        stats.frames_inverted += inverted
        frames.append(Frame(Block(header, payload), self._buf_start + cand, inverted,
                            status is PayloadStatus.CORRECTED))
        return end
