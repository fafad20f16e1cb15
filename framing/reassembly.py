"""Reassembly: blocks (from any cycle, in any order, with losses) -> whole bundles.

Partial bundles are keyed by (stream, seq, digest), so blocks of two different bundles that
share a sequence number never mix. A completed bundle is checked against the digest that
every one of its headers carries before it is returned; blocks whose K, N or lengths disagree
with the first block seen for that key are dropped and counted.

Memory is bounded: at most ``max_partial_bundles`` partial bundles holding at most
``max_partial_bytes`` of bundle length in total; the least recently fed one is evicted first,
and one not fed for ``stale_after_blocks`` blocks is evicted as stale. Completed keys are
remembered (``done_memory`` most recent) so later cycles of a bundle cost nothing, but only
for ``redeliver_after_blocks`` blocks: after that the bundle is rebuilt and returned again, so
a terminal that could not use it the first time (say, its key roll had not yet arrived) gets
another chance without any call back into this stage.

Invariants: the result depends only on the sequence of blocks pushed; no I/O, no clock.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

import raptorq

from framing.frameformat import Block, Frame, FrameHeader, bundle_digest


@dataclass(frozen=True)
class ReassemblyConfig:
    max_partial_bundles: int = 8
    max_partial_bytes: int = 64 * 2**20
    stale_after_blocks: int = 20_000  # ~ 80 min of frames at 4.3 frames/s on "fm"
    done_memory: int = 64
    redeliver_after_blocks: int = 1_000  # ~ 4 min of frames at 4.3 frames/s on "fm"

    def __post_init__(self) -> None:
        if self.max_partial_bundles < 1:
            raise ValueError("max_partial_bundles must be >= 1")
        if self.max_partial_bytes < 1:
            raise ValueError("max_partial_bytes must be >= 1")
        if self.stale_after_blocks < 1:
            raise ValueError("stale_after_blocks must be >= 1")
        if self.done_memory < 0:
            raise ValueError("done_memory must be >= 0")
        if self.redeliver_after_blocks < 1:
            raise ValueError("redeliver_after_blocks must be >= 1")


@dataclass
class ReassemblyStats:
    blocks_in: int = 0
    blocks_used: int = 0
    blocks_duplicate: int = 0  # block already held, or of a bundle already completed
    blocks_inconsistent: int = 0  # disagrees with the other blocks of its bundle
    blocks_refused: int = 0  # header impossible on its own (see _plausible), or bundle too big
    bundles_completed: int = 0
    bundles_bad_digest: int = 0
    bundles_evicted: int = 0


@dataclass
class _Partial:
    header: FrameHeader
    decoder: object
    seen: set[int] = field(default_factory=set)
    last_fed: int = 0


BundleKey = tuple[int, int, bytes]


class Reassembler:
    """Blocks or frames in, completed bundle bytes out."""

    def __init__(self, config: ReassemblyConfig | None = None) -> None:
        self.config = config if config is not None else ReassemblyConfig()
        self.reset()

    def __repr__(self) -> str:
        return f"Reassembler({self.config!r})"

    def reset(self) -> None:
        self.stats = ReassemblyStats()
        self._partials: OrderedDict[BundleKey, _Partial] = OrderedDict()
        self._done: OrderedDict[BundleKey, int] = OrderedDict()  # key -> block clock when done
        self._clock = 0  # blocks seen, the only notion of time here

    def pending(self) -> list[tuple[BundleKey, int, int]]:
        """(key, distinct blocks held, K) of each partial bundle, oldest first."""
        return [(key, len(p.seen), p.header.k) for key, p in self._partials.items()]

    def process(self, items: list[Block] | list[Frame]) -> list[bytes]:
        """Push blocks (or frames, whose blocks are used); return bundles completed by them."""
        done: list[bytes] = []
        for item in items:
            block = item.block if isinstance(item, Frame) else item
            bundle = self._push(block)
            if bundle is not None:
                done.append(bundle)
        return done

    def _push(self, block: Block) -> bytes | None:
        self._clock += 1
        self.stats.blocks_in += 1
        h = block.header
        key = h.bundle_key
        self._evict_stale()
        if not self._plausible(block):
            self.stats.blocks_refused += 1
            return None
        if key in self._done:
            if self._clock - self._done[key] <= self.config.redeliver_after_blocks:
                self.stats.blocks_duplicate += 1
                return None
            del self._done[key]
        partial = self._partials.get(key)
        if partial is None:
            partial = self._admit(h)
        elif (h.k, h.n, h.bundle_bytes, h.block_bytes) != (partial.header.k, partial.header.n,
                                                            partial.header.bundle_bytes,
                                                            partial.header.block_bytes):
            self.stats.blocks_inconsistent += 1
            return None
        if h.block_index in partial.seen:
            self.stats.blocks_duplicate += 1
            return None
        partial.seen.add(h.block_index)
        partial.last_fed = self._clock
        self._partials.move_to_end(key)
        self.stats.blocks_used += 1
        result = partial.decoder.decode(h.block_index.to_bytes(4, "big") + block.payload)
        if result is None:
            return None
        del self._partials[key]
        data = bytes(result)[:h.bundle_bytes]
        if bundle_digest(data) != h.digest:
            self.stats.bundles_bad_digest += 1
            return None
        self._remember_done(key)
        self.stats.bundles_completed += 1
        return data

    def _plausible(self, block: Block) -> bool:
        """Header facts the erasure decoder relies on (FrameSync's check_header implies them).

        Checked again here because blocks may come from elsewhere than FrameSync, and the
        RaptorQ library aborts (a Rust panic, not an Exception) on a source block number
        other than 0, which segment() never produces.
        """
        h = block.header
        return (len(block.payload) == h.block_bytes >= 8
                and 1 <= h.bundle_bytes <= self.config.max_partial_bytes
                and h.k == -(-h.bundle_bytes // h.block_bytes) <= h.n
                and h.block_index >> 24 == 0 and h.block_index < h.n)

    def _admit(self, h: FrameHeader) -> _Partial:
        cfg = self.config
        while self._partials and (
            len(self._partials) >= cfg.max_partial_bundles
            or sum(p.header.bundle_bytes for p in self._partials.values()) + h.bundle_bytes
            > cfg.max_partial_bytes
        ):
            self._partials.popitem(last=False)
            self.stats.bundles_evicted += 1
        partial = _Partial(h, raptorq.Decoder.with_defaults(h.bundle_bytes, h.block_bytes))
        self._partials[h.bundle_key] = partial
        return partial

    def _evict_stale(self) -> None:
        limit = self._clock - self.config.stale_after_blocks
        while self._partials:
            key, oldest = next(iter(self._partials.items()))
            if oldest.last_fed >= limit:
                break
            del self._partials[key]
            self.stats.bundles_evicted += 1

    def _remember_done(self, key: BundleKey) -> None:
        if self.config.done_memory == 0:
            return
        self._done[key] = self._clock
        while len(self._done) > self.config.done_memory:
            self._done.popitem(last=False)
