"""Frame synchronisation on a soft-bit stream: LLRs in, frames out, stateful across chunks.

Input: float LLRs (log P(0)/P(1), positive = 0), or hard bits (uint8/bool 0/1) taken as
confident LLRs of +-HARD_LLR. NaN counts as 0 (no information); +-inf and anything larger is
clipped to +-LLR_CLIP, so no input can poison a sum.

Detection: the sync word s (L bits, L/2 QPSK symbols z = llr[2i] + j llr[2i+1]) is
correlated as a complex sequence, c = sum z conj(s), at every candidate start; its cosine
rho = |c| / sqrt(L sum llr^2) is 1 for a clean word whatever its rotation by quarter turns,
and angle(c) / (pi/2) gives that rotation (phase_ambiguity 4; with 2 only the real part and
its sign count, with 1 only the real part). On noise rho^2 L / 2 is about exponential with
mean 1, so P(rho > t) ~ exp(-L t^2 / 2): for L = 64, t = 0.6, 1e-5 per position (a false hit
costs one header codeword decode, bounded by max_iterations); for L = 128, 1e-10. A clean
word at the fm threshold (Es/N0 ~ 4.8 dB, per-bit LLR mean 6, variance 12) gives
rho ~ 6 / sqrt(48) = 0.87. With phase_ambiguity 4, frames start on symbol boundaries: only
even stream positions are tried (the modem's stream starts on a symbol).

Cost: the search correlation is computed only for positions that may be tried, so while the
flywheel holds the lock (frame after frame) only each expected position's own correlation is
computed, and frame sync costs little beyond the decoder (~290x real time for fm on one core,
against ~175x when every position was correlated).

Flywheel: after a good frame the next one is expected right behind it, and that position is
tried whatever its correlation; the frame's CRCs decide. Its rotation is the correlation's if
rho >= flywheel_threshold, else the previous frame's. A failed flywheel try drops the lock.
It counts as a bad header if the sync word was there (rho >= flywheel_threshold), else as
``lock_lost`` (the transmission ended or faded).

Old frames: a frame of version 2 (differentially encoded QPSK, 64-bit SYNC_WORD_V2) is
recognised on the differential decoding of the same stream (``framing.v2detect``); it is
counted in ``old_version_frames`` and ``old_version_reason`` says what to do, never decoded as
noise.

Timing: ``stage_seconds`` is the process CPU seconds spent so far in ``"frame_sync"`` (LLR
conditioning, the sync search, the v2 detector, bookkeeping) and ``"inner_decode"`` (the frame
decoder: the LDPC codewords, header included since it shares the first codeword, and the CRCs),
read around each ``process`` call and each frame decode.

Invariants: the output (frames and stats) depends only on the concatenated input, never on
how it was chunked (every decision waits until all the LLRs it needs are present); memory is
bounded by about one frame of LLRs plus its correlation values, and the decoder's time per
tried position is bounded by max_iterations.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from framing.errors import FrameError
from framing.frameformat import (
    FRAME_VERSION,
    LEGACY_VERSION,
    Block,
    Frame,
    FrameConfig,
    check_header,
)
from framing.frames import FrameDecoder, PayloadStatus
from framing.ldpc import clean_llr
from framing.v2detect import V2Detector

# Hard bits as LLRs: log odds 8 (P(error) 3e-4). Sum-product takes it as the channel's
# reliability: over-confident for a hard stream with 1e-2 errors, which the rate-3/4 code still
# clears with room to spare (bench/test_frames.py: every frame at 1e-2).
HARD_LLR = 8.0


@dataclass
class FrameStats:
    """What the channel lost, counted (mutable: the stage updates it as it goes)."""

    bits_in: int = 0
    sync_hits: int = 0  # positions tried as a frame start (sync hits and flywheel tries)
    headers_ok: int = 0
    headers_bad: int = 0  # header CRC failed after decoding: noise, false sync hit
    lock_lost: int = 0  # flywheel try with neither sync word nor header: the signal went
    headers_absurd: int = 0  # CRC good but fields out of range: dropped, never trusted
    payloads_ok: int = 0  # every hard decision already satisfied the code
    payloads_corrected: int = 0  # the decoder had to iterate, and the CRC checks
    payloads_bad: int = 0
    frames_inverted: int = 0  # rotation 2 (polarity)
    frames_rotated: int = 0  # any rotation 1..3
    codewords_decoded: int = 0
    decoder_iterations: int = 0  # summed over codewords
    decoder_failures: int = 0  # codewords that hit max_iterations without converging
    channel_bits_checked: int = 0  # sent bits of converged codewords of good headers
    channel_bit_errors: int = 0  # of those, hard decisions the decoder corrected
    old_version_frames: int = 0  # sync words of an older frame format seen
    old_version: int | None = None  # that format's version

    @property
    def ber_estimate(self) -> float | None:
        """Raw channel bit error rate: hard decisions against decoded codewords (None before any)."""
        if not self.channel_bits_checked:
            return None
        return self.channel_bit_errors / self.channel_bits_checked

    @property
    def old_version_reason(self) -> str | None:
        """Why frames were refused as an older format (None if none was seen)."""
        if self.old_version is None:
            return None
        return (f"frame format v{self.old_version} from an older hotcast; this receiver "
                f"decodes v{FRAME_VERSION}: update the transmitter (or replay the capture with "
                "the hotcast that made it)")


def as_llr(chunk: np.ndarray) -> np.ndarray:
    """Soft or hard bits -> float32 LLRs (hard 0/1 -> +-HARD_LLR; NaN -> 0; clipped)."""
    x = np.asarray(chunk)
    if x.ndim != 1:
        raise ValueError(f"FrameSync wants a 1-D array of LLRs or bits, got shape {x.shape}")
    if x.dtype.kind in "biu":
        return np.where(x.astype(np.uint8) & 1, -HARD_LLR, HARD_LLR).astype(np.float32)
    if x.dtype.kind != "f":
        raise TypeError(f"FrameSync wants float LLRs or integer/bool bits, got {x.dtype}")
    return clean_llr(x)


class FrameSync:
    """LLRs (float, any chunk size) or hard bits -> list[Frame]."""

    def __init__(self, config: FrameConfig) -> None:
        self.config = config
        self._decoder = FrameDecoder(config)
        sync = 1.0 - 2.0 * config.sync_bits.astype(np.float32)
        self._len = sync.size
        self._re_t = sync
        im = np.empty_like(sync)
        im[0::2], im[1::2] = -sync[1::2], sync[0::2]
        self._im_t = im
        self._step = 2 if config.phase_ambiguity == 4 else 1
        self._frame_bits = config.frame_bits  # a derived property: read once
        self._legacy = config.phase_ambiguity == 4
        self.reset()

    def __repr__(self) -> str:
        return f"FrameSync({self.config!r})"

    def reset(self) -> None:
        self.stats = FrameStats()
        self._buf = np.zeros(0, dtype=np.float32)
        self._rho = np.zeros(0, dtype=np.float32)  # search cosine at buf positions computed so far
        self._rot = np.zeros(0, dtype=np.int8)
        self._buf_start = 0  # absolute stream index of _buf[0]
        self._expected: int | None = None  # absolute start of the next frame when locked
        self._rotation = 0  # rotation of the last good header
        self._v2 = V2Detector()
        self._total_s = 0.0  # process CPU seconds in process()
        self._decode_s = 0.0  # ... of which in the frame decoder

    @property
    def stage_seconds(self) -> dict[str, float]:
        """Process CPU seconds so far: ``frame_sync`` (all but decoding), ``inner_decode``."""
        return {"frame_sync": self._total_s - self._decode_s, "inner_decode": self._decode_s}

    def process(self, llr: np.ndarray) -> list[Frame]:
        """Push a chunk of LLRs (shape (n,), float) or hard bits; return the frames it completed."""
        t0 = time.process_time()
        try:
            return self._process(llr)
        finally:
            self._total_s += time.process_time() - t0

    def _process(self, llr: np.ndarray) -> list[Frame]:
        chunk = as_llr(llr)
        if not chunk.size:
            return []
        self.stats.bits_in += chunk.size
        if self._legacy:
            self.stats.old_version_frames += self._v2.process(chunk)
            if self._v2.hits and self.stats.old_version is None:
                self.stats.old_version = LEGACY_VERSION
        buf = np.concatenate((self._buf, chunk)) if self._buf.size else chunk
        frames: list[Frame] = []
        pos = self._scan(buf, frames)
        self._buf = buf[pos:].copy() if pos < buf.size else np.zeros(0, dtype=np.float32)
        self._rho = self._rho[pos:].copy()
        self._rot = self._rot[pos:].copy()
        self._buf_start += pos
        return frames

    def _correlate(self, buf: np.ndarray, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """(cosine rho, rotation) of the sync word at buffer positions start .. stop - 1 (rho 0
        at odd absolute positions when frames start on symbols)."""
        count = stop - start
        rho = np.zeros(count, dtype=np.float32)
        rot = np.zeros(count, dtype=np.int8)
        first = start + (start + self._buf_start) % self._step  # first position to try
        seg = buf[first:stop + self._len - 1]
        if seg.size < self._len:
            return rho, rot
        c = np.concatenate(([0.0], np.cumsum(seg.astype(np.float64) ** 2)))
        energy = (c[self._len:] - c[:-self._len])[::self._step]
        norm = np.sqrt(np.maximum(self._len * energy, 1e-30))
        amb = self.config.phase_ambiguity
        if amb == 4:  # symbols z = llr[2i] + j llr[2i+1] against the word's, every symbol
            z = seg[0:seg.size // 2 * 2].reshape(-1, 2)
            zr, zi = z[:, 0], z[:, 1]
            sr, si = self._re_t[0::2], self._re_t[1::2]
            re = np.correlate(zr, sr, "valid") + np.correlate(zi, si, "valid")
            im = np.correlate(zi, sr, "valid") - np.correlate(zr, si, "valid")
            got = np.hypot(re, im) / norm[:re.size]
            turn = (np.round(np.arctan2(im, re) / (np.pi / 2)).astype(np.int64) % 4).astype(np.int8)
        else:
            re = np.correlate(seg, self._re_t, mode="valid")
            got = (np.abs(re) if amb == 2 else re) / norm
            turn = (np.where(re < 0, 2, 0) if amb == 2 else np.zeros(re.size)).astype(np.int8)
        at = slice(first - start, first - start + self._step * got.size, self._step)
        rho[at], rot[at] = got, turn
        return rho, rot

    def _search(self, buf: np.ndarray, pos: int, n_corr: int) -> None:
        """Make the search correlation cover buffer positions pos .. n_corr - 1 (positions
        skipped inside decoded frames are never computed: while locked, searching costs nothing)."""
        have = self._rho.size
        if have >= n_corr:
            return
        start = max(have, pos)
        rho, rot = self._correlate(buf, start, n_corr)
        gap = start - have
        self._rho = np.concatenate((self._rho, np.zeros(gap, np.float32), rho))
        self._rot = np.concatenate((self._rot, np.zeros(gap, np.int8), rot))

    def _scan(self, buf: np.ndarray, frames: list[Frame]) -> int:
        """Try frame starts in order; return the first buffer position still undecided."""
        frame_bits = self._frame_bits
        n_corr = max(buf.size - self._len + 1, 0)
        pos = 0
        while True:
            if self._expected is not None and self._expected - self._buf_start == pos:
                if pos + frame_bits > buf.size:
                    return pos  # wait for the rest of the locked frame
                pos = self._try_frame(buf, pos, frames, flywheel=True)
                continue
            if pos >= n_corr:
                return pos
            self._search(buf, pos, n_corr)
            hits = np.flatnonzero(self._rho[pos:n_corr] >= self.config.sync_threshold)
            if hits.size == 0:
                return n_corr
            cand = pos + int(hits[0])
            if cand + frame_bits > buf.size:
                return cand  # wait for the rest of this frame
            pos = self._try_frame(buf, cand, frames, flywheel=False)

    def _try_frame(self, buf: np.ndarray, cand: int, frames: list[Frame], flywheel: bool) -> int:
        """Decode the frame starting at buffer position ``cand``; return where to go on."""
        cfg, stats = self.config, self.stats
        stats.sync_hits += 1
        if flywheel:
            rho, rot = self._correlate(buf, cand, cand + 1)
            rho, rot = float(rho[0]), int(rot[0])
        else:
            rho, rot = float(self._rho[cand]), int(self._rot[cand])
        seen = rho >= cfg.flywheel_threshold
        rotation = rot if seen or not flywheel else self._rotation
        body = _derotate(buf[cand + self._len:cand + self._frame_bits], rotation)
        t0 = time.process_time()
        got = self._decoder.decode(body)
        self._decode_s += time.process_time() - t0
        stats.codewords_decoded += got.codewords
        stats.decoder_iterations += got.iterations
        stats.decoder_failures += got.failures
        if got.header is None:
            if flywheel and not seen:
                stats.lock_lost += 1
            else:
                stats.headers_bad += 1
            self._expected = None
            return cand + self._step
        try:
            check_header(got.header, cfg)
        except FrameError:
            stats.headers_absurd += 1
            self._expected = None
            return cand + self._step
        stats.headers_ok += 1
        stats.channel_bits_checked += got.bits_checked
        stats.channel_bit_errors += got.bit_errors
        end = cand + self._frame_bits
        self._expected = self._buf_start + end
        self._rotation = rotation
        if got.status is PayloadStatus.BAD:
            stats.payloads_bad += 1
            return end
        if got.status is PayloadStatus.OK:
            stats.payloads_ok += 1
        else:
            stats.payloads_corrected += 1
        stats.frames_inverted += rotation == 2
        stats.frames_rotated += rotation != 0
        frames.append(Frame(Block(got.header, got.payload), self._buf_start + cand, rotation == 2,
                            got.status is PayloadStatus.CORRECTED, rotation, got.iterations))
        return end


def _derotate(llr: np.ndarray, rotation: int) -> np.ndarray:
    """Undo ``rotation`` quarter turns of the symbols (llr[2i] + j llr[2i+1]): multiply by j^-r."""
    if rotation == 0:
        return llr
    if rotation == 2:
        return -llr
    pairs = llr.reshape(-1, 2)
    out = np.empty_like(pairs)
    if rotation == 1:  # (a + jb)(-j) = b - ja
        out[:, 0], out[:, 1] = pairs[:, 1], -pairs[:, 0]
    else:  # (a + jb)(j) = -b + ja
        out[:, 0], out[:, 1] = -pairs[:, 1], pairs[:, 0]
    return out.reshape(-1)
