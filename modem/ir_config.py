"""Profile `ir`: the pulse-distance code for 38 kHz TSOP-type receivers (``IrConfig``, preset
``IR``) and what its demodulator reports (``IrStats``).

Code: every burst (mark) starts on a lattice of pitch ``lattice_us``; the distance from one
burst's leading edge to the next is (c + s) lattices, s in 0..7 carrying 3 bits (Gray), c = 3
(c = 5 after the longer sync burst that opens each block of 16 symbols). Only leading edges and
the sync burst's width (737 vs 290 us: far apart after any stretch) carry information, so the
module's mark stretch of tens of us changes nothing; the receiver estimates the stretch and
uses the trailing edge as a second, independent look at each burst's position.

Derived numbers for ``IR`` (lattice 225 us, 38 kHz carrier, 26.3 us per cycle):
- burst 290 us = 11 cycles (>= 10), sync burst 737 us = 28 cycles; shortest gap
  3 x 225 - 290 = 385 us = 14.6 cycles and 5 x 225 - 737 = 388 us (>= 14 for older parts).
- block: 16 symbols, 48 bit; mean length (5 + 15 x 3 + 16 x 3.5) x 225 = 106 x 225 us =
  23.85 ms -> raw 48 / 23.85 ms = 2 013 bit/s and 16 / 23.85 ms = 671 bursts/s (<= 800).
  Data are whitened per block, so long runs of one symbol (all-short: 1 481 bursts/s) need
  the data to match the whitening pattern.
- decisions: an edge off by less than half a lattice (112 us) lands on the right lattice
  point; jitter of +-100 us per edge, averaged over the two edges of a burst, stays inside.
- ir-ctl files (<= 500 ms, <= 1023 values) hold ~20 blocks and are sent 125 ms apart:
  1 610 bit/s raw over a carousel of files; a WAV has no gaps.

Invariant: a config that constructs keeps every burst >= 10 cycles, every gap >= 14 cycles and
the mean burst rate <= 800 /s; otherwise ``ValueError`` naming the field.
"""

from __future__ import annotations

from dataclasses import dataclass

BITS_PER_SYMBOL = 3
SYMBOL_VALUES = 8


@dataclass(frozen=True)
class IrConfig:
    """Pulse-distance IR code. Times in microseconds, carrier in Hz."""

    carrier_hz: float = 38_000.0
    lattice_us: int = 225
    mark_us: int = 290
    sync_mark_us: int = 737
    min_lattices: int = 3  # c: shortest burst-to-burst distance, in lattices
    sync_lattices: int = 5  # c after a sync burst
    symbols_per_block: int = 16
    whitening_seed: int = 0x1EC7
    # Receiver: marks this many on each side estimate the lattice phase; a space longer than
    # gap_us ends a run of bursts (a file gap, a shadow, the end of a transmission): 8 ms is
    # above two joined longest distances (22 x 225 = 4 950 us) and below ir-ctl's 125 ms.
    phase_window_marks: int = 32
    gap_us: int = 8_000

    def __post_init__(self) -> None:
        cycle = 1e6 / self.carrier_hz
        if not 30_000 <= self.carrier_hz <= 60_000:
            raise ValueError(f"carrier_hz must be in 30..60 kHz, got {self.carrier_hz}")
        if self.mark_us < 10 * cycle:
            raise ValueError(f"mark_us {self.mark_us} is under 10 carrier cycles ({10 * cycle:.0f} us)")
        if self.sync_mark_us < self.mark_us + 400:
            raise ValueError(f"sync_mark_us must exceed mark_us by >= 400 us, got {self.sync_mark_us}")
        if self.min_lattices * self.lattice_us - self.mark_us < 14 * cycle:
            raise ValueError(f"min_lattices x lattice_us - mark_us must be >= 14 cycles ({14 * cycle:.0f} us)")
        if self.sync_lattices * self.lattice_us - self.sync_mark_us < 14 * cycle:
            raise ValueError(f"sync_lattices x lattice_us - sync_mark_us must be >= 14 cycles")
        if not 2 <= self.symbols_per_block <= 64:
            raise ValueError(f"symbols_per_block must be in [2, 64], got {self.symbols_per_block}")
        if self.bursts_per_second > 800:
            raise ValueError(f"mean burst rate {self.bursts_per_second:.0f}/s exceeds 800/s")
        if self.phase_window_marks < 4:
            raise ValueError(f"phase_window_marks must be >= 4, got {self.phase_window_marks}")
        # A lost burst joins two distances: a silence must be longer than two of the longest.
        longest = (self.sync_lattices + self.min_lattices + 2 * (SYMBOL_VALUES - 1)) * self.lattice_us
        if self.gap_us < longest + 3 * self.lattice_us:
            raise ValueError(f"gap_us must exceed two joined distances ({longest} us) by 3 lattices")

    @property
    def bits_per_block(self) -> int:
        return BITS_PER_SYMBOL * self.symbols_per_block

    @property
    def mean_block_us(self) -> float:
        """Mean block length: distances c + s with s uniform over 0..7 (mean 3.5)."""
        extra = self.sync_lattices - self.min_lattices
        mean = self.min_lattices + (SYMBOL_VALUES - 1) / 2
        return (self.symbols_per_block * mean + extra) * self.lattice_us

    @property
    def bits_per_second(self) -> float:
        """Raw bit rate of a continuous stream."""
        return self.bits_per_block / (self.mean_block_us * 1e-6)

    @property
    def bursts_per_second(self) -> float:
        return self.symbols_per_block / (self.mean_block_us * 1e-6)

    @property
    def sync_threshold_us(self) -> float:
        """Received width that tells a sync burst: midway, plus the typical 40 us stretch."""
        return (self.mark_us + self.sync_mark_us) / 2 + 40


# 2 013 bit/s raw, 671 bursts/s (derivation in the module docstring).
IR = IrConfig()


@dataclass(frozen=True)
class IrStats:
    """What the IR demodulator saw, over its last batch, and running counts.

    snr_db: 20 log10 of half a lattice over the rms distance of the bursts from their lattice
    points (0 dB: decisions are coin flips; 10 dB: rms error 16 % of a lattice); level: mean
    received mark stretch in us (the IR analogue of a level: it grows with irradiance);
    clock_offset_ppm: the sender's clock against ours (+: sender fast); symbols, bits: put out;
    blocks: blocks put out; blocks_repaired: blocks with bursts lost (up to three) or a spurious
    burst, or a lost one hidden by a spurious one, decoded by weighing every position they
    could be at (counted when the burst count or an impossible distance tells, not when only
    the odds do); blocks_erased: blocks put out as
    erasures (LLR 0); marks: bursts received; gaps: silences longer than ``gap_us``;
    irregular_values: input oddities merged or dropped (two marks or spaces in a row, zeros).
    """

    snr_db: float = float("nan")
    level: float = 0.0
    clock_offset_ppm: float = 0.0
    symbols: int = 0
    bits: int = 0
    blocks: int = 0
    blocks_repaired: int = 0
    blocks_erased: int = 0
    marks: int = 0
    gaps: int = 0
    irregular_values: int = 0
