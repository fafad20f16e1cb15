"""Profile `ir`: the demodulator, signed burst durations (us) -> LLRs, 48 per block.

Per run of bursts without a silence longer than ``gap_us``:
- input values are merged into alternating marks and spaces (two marks in a row are counted
  and joined; zeros dropped), marks kept as (leading edge, width) in absolute us;
- per-burst estimates (lattice index, offset probabilities): ``ir_estimate.py``;
- a block runs from a sync burst to the next (or to the silence that ends the run). 16
  distances decode directly, unless the odds that a lost burst hides behind a spurious one
  say otherwise (``ir_suspect.py``); 15 or 17 by weighing where the lost or spurious burst
  was (``ir_blocks.py``); 13 or 14 (two or three lost) by weighing every alignment
  (``ir_align.py``); 16k as k blocks (a sync burst read as an ordinary one), 32 with no sync
  inside as a lost sync plus a spurious burst. A sync that leaves a count no decoder takes
  while the next one leaves one it does is read as a burst widened by a spurious pulse.
  Anything else is erased: a run of such spans as many blocks as its time holds, so the bit
  stream never shifts by a block. Bursts before the first sync of a run (a receiver starting
  mid-stream) are dropped.

Invariants: a block is decoded once every burst its estimates read is known (its own, the next
sync and ``phase_window_marks`` beyond, or the end of its run), from a fixed set of bursts, so
the LLRs depend only on the concatenated input, never on its chunking; 48 LLRs per block;
memory bounded by one run's unfinished block plus the window.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .ir_align import decode_aligned
from .ir_blocks import decode_lost_and_spurious, decode_lost_batch, decode_spurious, distance_probs, symbol_llrs
from .ir_config import BITS_PER_SYMBOL, IR, SYMBOL_VALUES, IrConfig, IrStats
from .ir_estimate import REACH, BurstEstimates, estimate_bursts
from .ir_suspect import decode_regular_blocks

# How often a block is read under the wrong hypothesis (a lost burst hidden by a spurious one
# with every distance legal, two lost and a spurious one, ...; ~1e-3 of blocks through all of
# issue 9's impairments at once): each symbol's posterior is mixed with a uniform one at this
# weight, so no bit is surer than the reading it rests on (|LLR| <= ln(2 / 3e-3) = 6.5). The
# sum-product LDPC decoder wants LLRs at their true scale: a misread block's bits at 30 sink a
# codeword that at 6.5 it corrects (all impairments, 16 seeds: non-shadow frames lost 14 -> 0).
_MISREAD = 3e-3


def whitening(config: IrConfig) -> np.ndarray:
    """The per-block whitening pattern (uint8 0/1, bits_per_block)."""
    return np.random.default_rng(config.whitening_seed).integers(0, 2, config.bits_per_block, dtype=np.uint8)


class IrDemodulator:
    """Signed durations (int, us; any chunking) -> float32 LLRs, 48 per block."""

    def __init__(self, config: IrConfig = IR):
        if not isinstance(config, IrConfig):
            raise TypeError(f"config must be IrConfig, got {type(config).__name__}")
        self.config = config
        self._white = whitening(config)
        self._flip = (1 - 2 * self._white.astype(np.float32))
        self.reset()

    def __repr__(self) -> str:
        return f"IrDemodulator({self.config!r})"

    @property
    def bits_per_second(self) -> float:
        return self.config.bits_per_second

    @property
    def stats(self) -> IrStats:
        return self._stats

    def reset(self) -> None:
        self._stats = IrStats()
        self._reset_chain()

    def _reset_chain(self) -> None:
        self._t = 0  # absolute time (us) where the open value starts
        self._open_sign = 0  # sign of the value still open (may continue), 0 = none
        self._open_len = 0
        self._lead = np.zeros(0, dtype=np.int64)  # bursts of the current run
        self._width = np.zeros(0, dtype=np.int64)
        self._done = 0  # bursts of the run already decoded (the next block's sync index)
        self._synced = False
        self._lost_from: int | None = None  # start (us) of a block cut by a silence
        self._erasing_from: int | None = None  # start (us) of the run of erased spans going on
        self._erased = 0  # blocks put out for that run

    # -- input ---------------------------------------------------------------------------

    def process(self, durations: np.ndarray) -> np.ndarray:
        """durations: integer (n,) signed us -> float32 (48 k,) LLRs."""
        d = np.asarray(durations)
        if d.ndim != 1 or not np.issubdtype(d.dtype, np.integer):
            raise TypeError(f"durations must be a 1-D integer array, got {d.dtype} shape {d.shape}")
        d = d.astype(np.int64)
        zeros = int(np.count_nonzero(d == 0))
        d = d[d != 0]
        if self._open_sign:
            d = np.concatenate(([self._open_sign * self._open_len], d))
        out: list[np.ndarray] = []
        irregular = zeros
        if len(d):
            sign = np.sign(d)
            starts = np.flatnonzero(np.concatenate(([True], sign[1:] != sign[:-1])))
            lengths = np.add.reduceat(np.abs(d), starts)
            irregular += len(d) - len(starts)
            signs = sign[starts]
            # The last run may continue in the next call: keep it open.
            self._open_sign, self._open_len = int(signs[-1]), int(lengths[-1])
            out += self._values(signs[:-1], lengths[:-1])
        if irregular:
            self._stats = dataclasses.replace(self._stats, irregular_values=self._stats.irregular_values + irregular)
        return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)

    def flush(self) -> np.ndarray:
        """Decode everything buffered (the end counts as a silence); then restart. Stats kept."""
        out = []
        if self._open_sign:
            out += self._values(np.array([self._open_sign]), np.array([self._open_len]))
            self._open_sign = 0
        out += self._end_run(gap_end=None)
        self._reset_chain()
        return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)

    def _values(self, signs: np.ndarray, lengths: np.ndarray) -> list[np.ndarray]:
        """Finished marks and spaces, in order -> LLRs of the blocks they complete."""
        c = self.config
        t = self._t + np.concatenate(([0], np.cumsum(lengths)))
        self._t = int(t[-1])
        is_mark = signs > 0
        lead, width = t[:-1][is_mark], lengths[is_mark]
        mark_pos = np.cumsum(is_mark) - 1  # index (in this call) of the last mark at each value
        gaps = np.flatnonzero(~is_mark & (lengths > c.gap_us))
        out: list[np.ndarray] = []
        first = 0
        s = self._stats
        self._stats = dataclasses.replace(s, marks=s.marks + int(len(lead)), gaps=s.gaps + len(gaps))
        for g in gaps:  # a run ends: decode it whole, start the next after the silence
            upto = int(mark_pos[g]) + 1
            self._append(lead[first:upto], width[first:upto])
            out += self._end_run(gap_end=int(t[g + 1]))
            first = upto
        self._append(lead[first:], width[first:])
        out += self._decode(closed=False)
        return out

    def _append(self, lead: np.ndarray, width: np.ndarray) -> None:
        if len(lead):
            self._lead = np.concatenate((self._lead, lead))
            self._width = np.concatenate((self._width, width))

    def _end_run(self, gap_end: int | None) -> list[np.ndarray]:
        out = self._decode(closed=True)
        self._lead = np.zeros(0, dtype=np.int64)
        self._width = np.zeros(0, dtype=np.int64)
        self._done = 0
        self._synced = False
        self._erasing_from = None
        if gap_end is None and self._lost_from is not None:  # the end: one block for the rest
            out.append(self._erase(1))
            self._lost_from = None
        return out

    # -- decoding ------------------------------------------------------------------------

    def _spans(self, sync: np.ndarray, n: int, closed: bool) -> list[tuple[int, int, bool]]:
        """Blocks (a, b, to_sync) ready to decode from self._done: bursts a..b-1, where b-1 is
        the next sync if to_sync. A sync that would leave fewer than k - 1 distances before it
        while the one after closes a whole block, or a count no decoder takes while the one
        after leaves one it does, is taken as an ordinary burst widened by a spurious pulse."""
        c = self.config
        k, w = c.symbols_per_block, REACH * c.phase_window_marks
        ends = [int(i) for i in sync if i > self._done]
        spans = []
        start = self._done
        i = 0
        while i < len(ends):
            e = ends[i]
            odd = e - start < k - 1 or not self._decodable(e - start)
            if odd and i + 1 == len(ends) and not closed:
                return spans  # an odd block: wait for the next sync to tell if this one is false
            if odd and i + 1 < len(ends):
                merged = ends[i + 1] - start
                if (k - 1 <= merged <= k + 1 and e - start < k - 1) or (
                        not self._decodable(e - start) and self._decodable(merged)):
                    i += 1  # a false sync inside the block
                    continue
            if e + w >= n and not closed:
                return spans
            spans.append((start, e + 1, True))
            start = e
            i += 1
        if closed and start < n:
            spans.append((start, n, False))
        return spans

    def _decodable(self, count: int) -> bool:
        """Can a span of ``count`` distances between two syncs be decoded (``_blocks``)?"""
        k = self.config.symbols_per_block
        return count > 0 and (count % k == 0 or count in (k - 3, k - 2, k - 1, k + 1, 2 * k - 3, 2 * k - 2, 2 * k - 1))

    def _decode(self, closed: bool) -> list[np.ndarray]:
        """Decode every block of the run whose bursts and window are all known."""
        c = self.config
        w = REACH * c.phase_window_marks
        n = len(self._lead)
        sync = np.flatnonzero(self._width > c.sync_threshold_us)
        sync = sync[sync >= self._done]
        out: list[np.ndarray] = []
        if not self._synced:  # a run (or a receiver) starts mid-block: wait for a sync
            if len(sync) == 0:
                self._done = max(self._done, n - w)  # nothing before here can matter
                self._trim()
                return out
            self._done = int(sync[0])
            self._synced = True
            if self._lost_from is not None:  # blocks lost in the silence before this sync
                blocks = int(round((self._lead[self._done] - self._lost_from) / c.mean_block_us))
                out.append(self._erase(max(1, blocks)))
                self._lost_from = None
        spans = self._spans(sync, n, closed)
        if spans:
            lo = max(0, spans[0][0] - w)
            hi = min(n, spans[-1][1] + w)
            est = estimate_bursts(self._lead[lo:hi], self._width[lo:hi], c)
            if est.snr_db is not None:
                self._stats = dataclasses.replace(self._stats, clock_offset_ppm=est.clock_offset_ppm,
                                                  level=est.stretch_us, snr_db=est.snr_db)
            out += self._blocks(spans, est, lo)
            self._done = spans[-1][1] - 1 if spans[-1][2] else n
        self._trim()
        return out

    def _trim(self) -> None:
        """Keep the bursts from the window's reach before the next block on."""
        keep = max(0, min(self._done, len(self._lead)) - REACH * self.config.phase_window_marks)
        if keep:
            self._lead = self._lead[keep:]
            self._width = self._width[keep:]
            self._done -= keep

    def _blocks(self, spans, est: BurstEstimates, lo: int) -> list[np.ndarray]:
        """Decode spans (see ``_spans``) from the per-burst estimates of bursts lo..: the
        regular ones (16 distances, or 16 j) all at once, those that lost a burst in one batch
        per length, and every posterior to LLRs in one call."""
        c = self.config
        k = c.symbols_per_block
        n, frac, sigma, p = est.n, est.frac, est.sigma, est.p
        # Every distance between consecutive bursts of the batch.
        delta = distance_probs(p[:-1], p[1:])
        d_hat = n[1:] - n[:-1]
        posts: list[np.ndarray | None] = []  # symbol posteriors, in output order
        parts: list[int | np.ndarray] = []  # an index into posts, or erased LLRs
        regular: list[tuple[int, int, int]] = []  # (slot, first distance, count)
        lost: dict[int, list[tuple[int, int]]] = {k - 1: [], 2 * k - 1: []}  # count -> (slot, i0)
        several: dict[int, list[tuple[int, int]]] = {k - 2: [], k - 3: [], 2 * k - 2: [], 2 * k - 3: []}
        repaired = 0
        for a, b, to_sync in spans:
            count = b - a - 1
            i0 = a - lo
            slot = len(posts)
            if count == 2 * k and self._width[a + k] <= c.sync_threshold_us:
                # Two blocks' worth of distances but no sync burst between them: the sync was
                # lost and a spurious burst took its count.
                sl = slice(i0, i0 + count + 1)
                posts.append(decode_lost_and_spurious(p[sl], n[sl], frac[sl], sigma[sl], self._c_full(count)))
            elif count > 0 and count % k == 0:
                regular.append((slot, i0, count))
                posts.append(None)
            elif count in lost:  # a burst lost; in 2k - 1 most likely the sync
                lost[count].append((slot, i0))
                posts.append(None)
            elif to_sync and count in several:  # two or three lost: every alignment weighed
                several[count].append((slot, i0))
                posts.append(None)
            elif count == k + 1:
                sl = slice(i0, i0 + count + 1)
                posts.append(decode_spurious(p[sl], n[sl], frac[sl], sigma[sl], c.sync_lattices, c.min_lattices, k))
            elif to_sync:  # erased: a run of such spans gets as many blocks as its time holds
                if self._erasing_from is None:
                    self._erasing_from, self._erased = int(self._lead[a]), 0
                total = int(round((self._lead[b - 1] - self._erasing_from) / c.mean_block_us))
                if total > self._erased:
                    parts.append(self._erase(total - self._erased))
                    self._erased = total
                continue
            else:  # cut short by a silence: erased once the next sync tells how much was lost
                self._lost_from = int(self._lead[a])
                continue
            self._erasing_from = None
            repaired += count % k != 0 or count == 2 * k and self._width[a + k] <= c.sync_threshold_us
            parts.append(slot)
        for count, todo in lost.items():
            if todo:
                rows = np.array([i0 for _, i0 in todo])[:, None] + np.arange(count)[None, :]
                batch = decode_lost_batch(delta[rows], d_hat[rows], self._c_full(count + 1))[0]
                for (slot, _), post in zip(todo, batch):
                    posts[slot] = post
        for count, todo in several.items():
            if todo:
                rows = np.array([i0 for _, i0 in todo])[:, None] + np.arange(count)[None, :]
                symbols = k * int(np.ceil(count / k))
                batch = decode_aligned(delta[rows], d_hat[rows], self._c_full(symbols), symbols - count + 1)
                for (slot, _), post in zip(todo, batch):
                    posts[slot] = post
        if regular:
            rows = np.concatenate([np.arange(i0, i0 + count) for _, i0, count in regular])
            post, hidden = decode_regular_blocks(rows, self._c_full(k), delta, d_hat, n, frac, sigma, p)
            repaired += hidden
            at = 0
            for slot, _, count in regular:
                posts[slot] = post[at : at + count]
                at += count
        s = self._stats
        self._stats = dataclasses.replace(s, blocks_repaired=s.blocks_repaired + int(repaired))
        if not posts:
            return [part for part in parts if not isinstance(part, int)]
        llr = self._llrs(np.concatenate(posts))
        bounds = np.cumsum([0] + [len(post) for post in posts]) * BITS_PER_SYMBOL
        return [llr[bounds[part] : bounds[part + 1]] if isinstance(part, int) else part for part in parts]

    def _c_full(self, symbols: int) -> np.ndarray:
        """The offset c of each of ``symbols`` positions from a sync on: c = 5 every 16th."""
        c = self.config
        c_full = np.full(symbols, c.min_lattices)
        c_full[:: c.symbols_per_block] = c.sync_lattices
        return c_full

    def _llrs(self, post: np.ndarray) -> np.ndarray:
        """(16 j, 8) symbol posteriors -> de-whitened LLRs, counted."""
        c = self.config
        post = (1 - _MISREAD) * post + _MISREAD / SYMBOL_VALUES
        llr = (symbol_llrs(post).reshape(-1, c.bits_per_block) * self._flip[None, :]).ravel()
        s = self._stats
        blocks = llr.size // c.bits_per_block
        self._stats = dataclasses.replace(s, blocks=s.blocks + blocks, symbols=s.symbols + blocks * c.symbols_per_block,
                                          bits=s.bits + llr.size)
        return llr

    def _erase(self, blocks: int) -> np.ndarray:
        s = self._stats
        llr = np.zeros(blocks * self.config.bits_per_block, dtype=np.float32)
        self._stats = dataclasses.replace(s, blocks=s.blocks + blocks, blocks_erased=s.blocks_erased + blocks,
                                          bits=s.bits + llr.size)
        return llr
