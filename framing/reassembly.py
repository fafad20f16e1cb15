"""Reassembly: blocks (from any cycle, in any order, with losses) -> whole bundles.

Partial bundles are keyed by (stream, seq, digest), so blocks of two different bundles that
share a sequence number never mix. A completed bundle is checked against the digest that
every one of its headers carries before it is returned; blocks whose K, N or lengths disagree
with the first block seen for that key are dropped and counted.

Who gets room. A verified carousel announcement (``announce``; see ``framing.announce``) names
the bundles on air. Blocks of an announced bundle are always admitted and its progress is never
evicted by anything but staleness. Every other bundle is a *stranger* (an attacker's frames
with valid CRCs and made-up digests, a neighbour's carousel, or a genuine bundle not announced
yet): strangers share a small pool (``max_stranger_bundles`` partials, ``max_stranger_bytes`` of
claimed length once any announcement has been heard), and a new stranger may only replace the
stranger with the least progress, and only if that one holds a single block. So injected frames
(10 % or 30 % of the airtime, made-up digests, absurd K, N and sizes) cost a few counters and
never the genuine bundles. A stranger that a later announcement names becomes announced, with
the blocks it already holds. Before any announcement (a receiver without keys, ``monitor``)
every bundle is a stranger and the pool may use the whole ``max_partial_bytes``.

Memory is bounded: at most ``max_partial_bytes`` of claimed bundle length in partials; a
partial not fed for ``stale_after_blocks`` blocks is evicted. Completed keys are remembered
(``done_memory`` most recent) so later cycles of a bundle cost nothing, but only for
``redeliver_after_blocks`` blocks: after that the bundle is rebuilt and returned again, so a
terminal that could not use it the first time (say, its key roll had not yet arrived) gets
another chance without any call back into this stage.

Third-party code: the RaptorQ library (Rust) aborts with a ``pyo3_runtime.PanicException`` (a
``BaseException``) on inputs it does not expect. Every header fact it relies on is checked first
(``_plausible``), and any exception it still raises is caught here, at the stage boundary,
counted in ``library_errors``, and only that partial bundle is dropped: a receiver never ends.

Invariants: the result depends only on the sequence of blocks and announcements pushed; no
I/O, no clock.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

import raptorq

from framing.announce import AnnouncedBundle
from framing.frameformat import Block, Frame, FrameHeader, bundle_digest

# RFC 6330 section 4.4.1.2 (the library's defaults): symbols of Al = 8 bytes alignment, and one
# source block of at most 56 403 symbols.
_SYMBOL_ALIGN = 8
_MAX_SOURCE_SYMBOLS = 56_403


@dataclass(frozen=True)
class ReassemblyConfig:
    max_partial_bundles: int = 24
    max_partial_bytes: int = 64 * 2**20
    max_stranger_bundles: int = 6
    max_stranger_bytes: int = 8 * 2**20  # once announcements are heard
    stale_after_blocks: int = 20_000  # ~ 80 min of frames at 4.9 frames/s on "fm"
    done_memory: int = 64
    redeliver_after_blocks: int = 1_000  # ~ 3.4 min of frames on "fm"
    announcement_memory: int = 2  # announcements whose bundles stay announced (the last ones)

    def __post_init__(self) -> None:
        for name in ("max_partial_bundles", "max_partial_bytes", "max_stranger_bundles",
                     "max_stranger_bytes", "stale_after_blocks", "redeliver_after_blocks",
                     "announcement_memory"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")
        if self.done_memory < 0:
            raise ValueError("done_memory must be >= 0")


@dataclass
class ReassemblyStats:
    blocks_in: int = 0
    blocks_used: int = 0
    blocks_duplicate: int = 0  # block already held, or of a bundle already completed
    blocks_inconsistent: int = 0  # disagrees with the other blocks of its bundle or its announcement
    blocks_refused: int = 0  # header impossible on its own (see _plausible), or bundle too big
    blocks_strangers_dropped: int = 0  # of unannounced bundles, no room in the stranger pool
    bundles_completed: int = 0
    bundles_bad_digest: int = 0
    bundles_evicted: int = 0
    library_errors: int = 0  # exceptions the erasure decoder raised (partial dropped)
    announcements: int = 0


@dataclass
class _Partial:
    header: FrameHeader
    decoder: object
    announced: bool
    seen: set[int] = field(default_factory=set)
    last_fed: int = 0


BundleKey = tuple[int, int, bytes]


def _is_library_panic(exc: BaseException) -> bool:
    """A Rust panic surfaced by pyo3 (``pyo3_runtime.PanicException``, a BaseException)."""
    return type(exc).__module__ == "pyo3_runtime"


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
        self._announcements: list[dict[BundleKey, int]] = []  # newest last: key -> bytes
        self._clock = 0  # blocks seen, the only notion of time here

    def pending(self) -> list[tuple[BundleKey, int, int]]:
        """(key, distinct blocks held, K) of each partial bundle, oldest first."""
        return [(key, len(p.seen), p.header.k) for key, p in self._partials.items()]

    @property
    def announced(self) -> dict[BundleKey, int]:
        """Every bundle the remembered announcements name -> its length in bytes."""
        out: dict[BundleKey, int] = {}
        for table in self._announcements:
            out.update(table)
        return out

    def announce(self, entries: tuple[AnnouncedBundle, ...] | list[AnnouncedBundle]) -> None:
        """A verified announcement: its bundles get room from now on (strangers it names are
        promoted with what they hold)."""
        table = {e.key: e.bundle_bytes for e in entries}
        self._announcements.append(table)
        del self._announcements[:-self.config.announcement_memory]
        self.stats.announcements += 1
        announced = self.announced
        for key, partial in list(self._partials.items()):
            size = announced.get(key)
            if size is None:
                continue
            if size != partial.header.bundle_bytes:
                del self._partials[key]  # what we gathered is not the announced bundle
                self.stats.bundles_evicted += 1
            else:
                partial.announced = True

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
            if partial is None:
                return None
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
        try:
            result = partial.decoder.decode(h.block_index.to_bytes(4, "big") + block.payload)
        except Exception:
            return self._library_error(key)
        except BaseException as exc:
            if not _is_library_panic(exc):
                raise
            return self._library_error(key)
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

    def _library_error(self, key: BundleKey) -> None:
        self._partials.pop(key, None)
        self.stats.library_errors += 1
        return None

    def _plausible(self, block: Block) -> bool:
        """Header facts the erasure decoder relies on (FrameSync's check_header implies most).

        Checked again here because blocks may come from elsewhere than FrameSync, and the
        RaptorQ library panics on a symbol size that is not a multiple of 8, on a source block
        number other than 0 (segment() makes one source block), and on more source symbols
        than RFC 6330 allows.
        """
        h = block.header
        return (len(block.payload) == h.block_bytes >= _SYMBOL_ALIGN
                and h.block_bytes % _SYMBOL_ALIGN == 0
                and 1 <= h.bundle_bytes <= self.config.max_partial_bytes
                and h.k == -(-h.bundle_bytes // h.block_bytes) <= h.n
                and h.k <= _MAX_SOURCE_SYMBOLS
                and h.block_index >> 24 == 0 and h.block_index < h.n)

    def _admit(self, h: FrameHeader) -> _Partial | None:
        """A new partial for ``h``'s bundle, or None when it gets no room (counted)."""
        cfg = self.config
        announced = self.announced
        size = announced.get(h.bundle_key)
        if size is not None and size != h.bundle_bytes:
            self.stats.blocks_inconsistent += 1
            return None
        is_announced = size is not None
        if not is_announced and not self._room_for_stranger(h):
            self.stats.blocks_strangers_dropped += 1
            return None
        # The whole budget: strangers go first (least progress first), then, for an announced
        # bundle only, the oldest announced partials.
        while self._partials and (
                len(self._partials) >= cfg.max_partial_bundles
                or self._claimed() + h.bundle_bytes > cfg.max_partial_bytes):
            victim = self._weakest_stranger()
            if victim is None:
                if not is_announced:
                    self.stats.blocks_strangers_dropped += 1
                    return None
                victim = next(iter(self._partials))
            del self._partials[victim]
            self.stats.bundles_evicted += 1
        try:
            decoder = raptorq.Decoder.with_defaults(h.bundle_bytes, h.block_bytes)
        except Exception:
            self.stats.library_errors += 1
            return None
        except BaseException as exc:
            if not _is_library_panic(exc):
                raise
            self.stats.library_errors += 1
            return None
        partial = _Partial(h, decoder, is_announced)
        self._partials[h.bundle_key] = partial
        return partial

    def _claimed(self, strangers_only: bool = False) -> int:
        return sum(p.header.bundle_bytes for p in self._partials.values()
                   if not (strangers_only and p.announced))

    def _weakest_stranger(self) -> BundleKey | None:
        strangers = [(len(p.seen), p.last_fed, key) for key, p in self._partials.items()
                     if not p.announced]
        return min(strangers)[2] if strangers else None

    def _room_for_stranger(self, h: FrameHeader) -> bool:
        """Make room in the stranger pool for ``h``'s bundle if the rules allow; say whether."""
        cfg = self.config
        if not self._announcements:
            return True  # no announcement yet: every bundle is a stranger, the whole budget
        if h.bundle_bytes > cfg.max_stranger_bytes:
            return False
        while True:
            strangers = [p for p in self._partials.values() if not p.announced]
            full = (len(strangers) >= min(cfg.max_stranger_bundles, cfg.max_partial_bundles)
                    or self._claimed(True) + h.bundle_bytes > cfg.max_stranger_bytes)
            if not full:
                return True
            victim = self._weakest_stranger()
            if victim is None or len(self._partials[victim].seen) > 1:
                return False  # strangers with progress keep their place against a newcomer
            del self._partials[victim]
            self.stats.bundles_evicted += 1

    def _evict_stale(self) -> None:
        limit = self._clock - self.config.stale_after_blocks
        for key in [k for k, p in self._partials.items() if p.last_fed < limit]:
            del self._partials[key]
            self.stats.bundles_evicted += 1

    def _remember_done(self, key: BundleKey) -> None:
        if self.config.done_memory == 0:
            return
        self._done[key] = self._clock
        while len(self._done) > self.config.done_memory:
            self._done.popitem(last=False)
