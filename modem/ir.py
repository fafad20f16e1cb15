"""Profile `ir`: bits <-> signed burst durations (us; + mark, - space) for 38 kHz IR links.

The code (numbers in ``ir_config.py``): blocks of 16 symbols of 3 bits, each symbol the
distance (c + s) x 225 us from one burst's leading edge to the next; a block opens with a
737 us sync burst. Bits are whitened per block with a fixed pseudo-random pattern.

Modulator: whole blocks as soon as 48 bits are in; ``flush`` fills the last block with the
pattern's own bits (zeros after whitening... any fill works: the frame layer drops it) and ends
with a terminator burst where the next sync would start, so the last distance is measurable
and the stream ends with a mark (as ir-ctl wants). Between two flushed transmissions the sink
puts a silence (a space), as ir-ctl does between files.

Demodulator: ``ir_demod.py`` (re-exported here).
"""

from __future__ import annotations

import numpy as np

from .ir_blocks import SYMBOL_OF_LABEL
from .ir_config import BITS_PER_SYMBOL, IR, IrConfig, IrStats
from .ir_demod import IrDemodulator, whitening

__all__ = ["IR", "IrConfig", "IrDemodulator", "IrModulator", "IrStats"]


class IrModulator:
    """Bits (uint8 0/1) -> int32 signed durations in us (+ mark, - space, alternating)."""

    def __init__(self, config: IrConfig = IR):
        if not isinstance(config, IrConfig):
            raise TypeError(f"config must be IrConfig, got {type(config).__name__}")
        self.config = config
        self._white = whitening(config)
        c = config
        self._marks = np.full(c.symbols_per_block, c.mark_us, dtype=np.int64)
        self._marks[0] = c.sync_mark_us
        self._offsets = np.full(c.symbols_per_block, c.min_lattices, dtype=np.int64)
        self._offsets[0] = c.sync_lattices
        self.reset()

    def __repr__(self) -> str:
        return f"IrModulator({self.config!r})"

    @property
    def bits_per_second(self) -> float:
        return self.config.bits_per_second

    def reset(self) -> None:
        self._pending = np.zeros(0, dtype=np.uint8)
        self._started = False

    def process(self, bits: np.ndarray) -> np.ndarray:
        """bits: uint8 (n,) of 0/1 -> int32 (32 per whole block,) durations."""
        b = np.asarray(bits)
        if b.ndim != 1 or not (np.issubdtype(b.dtype, np.integer) or b.dtype == np.bool_):
            raise TypeError(f"bits must be a 1-D integer array of 0/1, got {b.dtype} shape {b.shape}")
        if b.size and (b.min() < 0 or b.max() > 1):
            raise ValueError("bits must hold only 0 and 1")
        b = np.concatenate((self._pending, b.astype(np.uint8)))
        per = self.config.bits_per_block
        n = len(b) // per
        self._pending = b[n * per :]
        return self._blocks(b[: n * per].reshape(n, per))

    def flush(self) -> np.ndarray:
        """-> int32: the last block (filled) and a terminator burst; then resets."""
        if not self._started and len(self._pending) == 0:
            return np.zeros(0, dtype=np.int32)
        per = self.config.bits_per_block
        out = []
        if len(self._pending):
            fill = self._white[len(self._pending) :]  # whitens to zeros
            out.append(self._blocks(np.concatenate((self._pending, fill)).reshape(1, per)))
        out.append(np.array([self.config.mark_us], dtype=np.int32))
        self.reset()
        return np.concatenate(out)

    def _blocks(self, bits: np.ndarray) -> np.ndarray:
        """(n, 48) bits -> (n * 32,) durations."""
        c = self.config
        if len(bits) == 0:
            return np.zeros(0, dtype=np.int32)
        self._started = True
        w = bits ^ self._white[None, :]
        labels = w.reshape(len(bits), c.symbols_per_block, BITS_PER_SYMBOL) @ np.array([4, 2, 1])
        s = SYMBOL_OF_LABEL[labels]
        distance = (self._offsets[None, :] + s) * c.lattice_us
        out = np.empty((len(bits), 2 * c.symbols_per_block), dtype=np.int64)
        out[:, 0::2] = self._marks[None, :]
        out[:, 1::2] = -(distance - self._marks[None, :])
        return out.ravel().astype(np.int32)
