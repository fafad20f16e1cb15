"""The shape every sample source shares: raw bytes in, decoded sample blocks out.

A source is split in two halves so that a wrapper (``TeeRaw``) can sit between them:
``read_raw() -> bytes | None`` fetches the next chunk of raw input exactly as it arrived
(None at the end), and ``decode(raw) -> samples`` turns raw bytes into samples through
the ``modem.formats`` streaming decoders, counting what it delivers.

Invariants: a source holds at most one raw chunk plus a partial sample or line (constant
memory on endless input); the concatenation of its blocks never depends on how the raw
input was cut; blocks are complex64 for I/Q input (I/Q formats, a 2-channel WAV), float32
for baseband and int32 microseconds for `.ir` pulse text (``kind`` says which); a stream
that ends mid-sample or mid-line is not an error (``leftover_bytes`` counts the orphaned
bytes).
"""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from modem import InputKind
from modem.errors import SampleFormatError
from modem.formats import SampleDecoder, WavDecoder, decoder_for, is_iq_format
from modem.irtext import IrTextDecoder, IrTextError
from modem.rates import MAX_HZ, format_hz

from receiver.errors import SourceConfigError, SourceError

__all__ = [
    "DEFAULT_CHUNK_BYTES", "ReaderThread", "Source", "SourceConfigError", "SourceError",
    "SourceStats", "IrTextBytesDecoder", "check_rate_hz", "decoder_for_format", "kind_of_format",
]

# 256 KiB a read: 131 072 cu8 samples = 0.11 s at 1.2 MHz, 0.57 s of s16le at 228 kHz;
# big enough that per-call overhead vanishes, small enough to keep memory flat.
DEFAULT_CHUNK_BYTES = 256 * 1024


@dataclass(frozen=True)
class SourceStats:
    """What a source has delivered so far.

    ``leftover_bytes``: raw bytes held that do not make a whole sample (after the end of
    the input, a truncated final sample). ``overflows``: blocks a live device reported
    as overrun (samples lost before we read them); always 0 for files.
    """

    bytes_read: int
    samples_delivered: int
    seconds_delivered: float
    leftover_bytes: int
    overflows: int


def check_rate_hz(rate_hz: float, what: str) -> float:
    """``rate_hz`` as a float if it is a positive finite number of Hz (at most
    ``modem.rates.MAX_HZ``), else ``SourceConfigError``."""
    if isinstance(rate_hz, bool) or not isinstance(rate_hz, (int, float)):
        raise SourceConfigError(f"{what} must be a number of Hz, got {rate_hz!r}")
    if not (math.isfinite(rate_hz) and 0 < rate_hz <= MAX_HZ):
        raise SourceConfigError(f"{what} must be a positive number of Hz up to {format_hz(MAX_HZ)}, "
                                f"got {rate_hz!r}")
    return float(rate_hz)


# `.ir` text: the longest line read. ir-ctl's one-line form puts a whole transmission (at most
# 1023 values of at most 7 characters) on one line: ~8 KiB; 64 KiB more is not `.ir` text.
MAX_IR_LINE_BYTES = 64 * 1024
# Durations are microseconds: pulse input runs on a 1 MHz clock (``sample_rate_hz``).
PULSE_CLOCK_HZ = 1_000_000


class IrTextBytesDecoder:
    """`.ir` text as bytes (ir-ctl / mode2, see ``modem.irtext``) -> int32 signed durations in
    microseconds, streaming: ``process(chunk) -> durations``, ``flush()``, ``reset()``.

    Complete lines go to ``modem.irtext.IrTextDecoder`` (a newline byte never sits inside a
    UTF-8 sequence, so lines are cut on bytes; bytes that are not UTF-8 become U+FFFD, which
    no token accepts outside a comment). The last line, with no newline, waits for one; at
    ``flush`` it is read if it can be, else it is a truncated line: dropped and counted in
    ``leftover_bytes``, not an error. ``IrTextError`` names the line of anything unusable
    (a line longer than ``MAX_IR_LINE_BYTES`` included). ``microseconds``: signal so far.
    """

    def __init__(self) -> None:
        self.reset()

    def __repr__(self) -> str:
        return "IrTextBytesDecoder()"

    def reset(self) -> None:
        self._text = IrTextDecoder()
        self._tail = b""  # bytes after the last newline: the line being read
        self._dropped = 0
        self.microseconds = 0

    @property
    def leftover_bytes(self) -> int:
        """Bytes of an unfinished line (after ``flush``: of a truncated one, dropped)."""
        return len(self._tail) + self._dropped

    @property
    def lines(self) -> int:
        return self._text.stats.lines

    def process(self, chunk: bytes) -> np.ndarray:
        data = self._tail + bytes(chunk) if self._tail else bytes(chunk)
        cut = data.rfind(b"\n") + 1
        self._tail = data[cut:]
        ends = np.flatnonzero(np.frombuffer(data, np.uint8) == 0x0A)
        lengths = np.diff(np.concatenate(([-1], ends, [len(data)]))) - 1
        too_long = np.flatnonzero(lengths > MAX_IR_LINE_BYTES)
        if too_long.size:  # read the lines before it, so the error is the same however cut
            first = int(too_long[0])
            start = int(ends[first - 1]) + 1 if first else 0
            if start:
                self._text.process(data[:start].decode("utf-8", "replace"))
            self._tail = b""
            raise IrTextError(f"line {self.lines + 1}: longer than {MAX_IR_LINE_BYTES} bytes, "
                              "not `.ir` text")
        if not cut:
            return np.zeros(0, dtype=np.int32)
        return self._count(self._text.process(data[:cut].decode("utf-8", "replace")))

    def flush(self) -> np.ndarray:
        """End of input: the last line if it reads, then the value held back."""
        parts = []
        if self._tail.strip():
            try:
                parts.append(self._text.process(self._tail.decode("utf-8", "replace") + "\n"))
            except IrTextError:
                self._dropped = len(self._tail)  # cut off mid-line: a truncated file
        self._tail = b""
        parts.append(self._text.flush())
        return self._count(np.concatenate(parts).astype(np.int32))

    def _count(self, durations: np.ndarray) -> np.ndarray:
        self.microseconds += int(np.abs(durations.astype(np.int64)).sum())
        return durations


def kind_of_format(fmt: str, is_iq: bool | None = None) -> InputKind:
    """What a receive chain is fed from a format: ``ir`` gives pulse durations, an I/Q format
    (or a WAV whose header says I/Q: ``is_iq``) a complete FM signal, anything else baseband."""
    if fmt == "ir":
        return InputKind.PULSES
    if fmt == "wav":
        return InputKind.IQ if is_iq else InputKind.BASEBAND
    return InputKind.IQ if is_iq_format(fmt) else InputKind.BASEBAND


def decoder_for_format(fmt: str) -> SampleDecoder | WavDecoder | IrTextBytesDecoder:
    """The streaming decoder of a format: ``modem.formats.decoder_for``, or the `.ir` reader."""
    return IrTextBytesDecoder() if fmt == "ir" else decoder_for(fmt)


class Source:
    """Base of every sample source. Subclasses call ``_setup`` and implement ``read_raw``.

    Public face: ``name``, ``fmt`` (cu8 cs8 cs16 cf32 s16le f32le wav ir), ``kind`` (the
    ``modem.InputKind`` a receive chain is fed), ``is_iq``, ``sample_rate_hz`` (1 MHz for
    pulse durations, which are microseconds), ``frequency_hz`` (RF centre if known, else
    None), ``warnings`` (what the caller should tell the user, e.g. a flag that overrode a
    ``.sigmf-meta``), ``read_block()``, iteration over non-empty blocks, ``stats``,
    ``seconds_delivered``, ``close()``.
    """

    warnings: tuple[str, ...] = ()

    def _setup(self, name: str, fmt: str, sample_rate_hz: float,
               frequency_hz: float | None = None, is_iq: bool | None = None) -> None:
        self.name = name
        self.fmt = fmt
        self.kind = kind_of_format(fmt, is_iq)
        self.is_iq = self.kind is InputKind.IQ
        self.sample_rate_hz = float(sample_rate_hz)
        self.frequency_hz = frequency_hz
        self._decoder = decoder_for_format(fmt)
        self._bytes_read = 0
        self._samples = 0
        self._ended = False
        self._downmix = False

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(name={self.name!r}, fmt={self.fmt!r}, "
                f"sample_rate_hz={self.sample_rate_hz!r})")

    def downmix_to_mono(self) -> None:
        """Read a 2-channel WAV as stereo audio mixed to mono, (left + right) / 2, float32
        baseband, instead of I/Q: a sound card's line-in records stereo, and a profile that
        takes no I/Q would otherwise refuse the file. Call before the first block."""
        if not (self.fmt == "wav" and self.is_iq):
            raise ValueError(f"{self.name}: only a 2-channel WAV is mixed to mono")
        self.kind, self.is_iq, self._downmix = InputKind.BASEBAND, False, True

    # -- the two halves -------------------------------------------------------------
    def read_raw(self) -> bytes | None:
        """The next chunk of raw input bytes (may be short), or None at the end."""
        raise NotImplementedError

    def decode(self, raw: bytes) -> np.ndarray:
        """Raw bytes -> samples: complex64 (I/Q), float32 (baseband) or int32 durations in
        microseconds (pulses), shape (n,)."""
        self._bytes_read += len(raw)
        try:
            block = self._decoder.process(raw)
        except SampleFormatError as exc:
            raise SourceError(f"{self.name}: {exc}") from None
        except IrTextError as exc:
            raise SourceError(f"{self.name}: {exc}") from None
        self._samples += block.size
        if self._downmix:
            return ((block.real + block.imag) * np.float32(0.5)).astype(np.float32, copy=False)
        return block

    # -- what callers use -----------------------------------------------------------
    def read_block(self) -> np.ndarray | None:
        """The next block of samples (possibly empty), or None once the input has ended."""
        if self._ended:
            return None
        raw = self.read_raw()
        if raw is None:
            self._ended = True
            return self._finish()
        return self.decode(raw)

    def __iter__(self) -> Iterator[np.ndarray]:
        while (block := self.read_block()) is not None:
            if block.size:
                yield block

    def _finish(self) -> np.ndarray | None:
        """Called once at the end of the input: what the decoder still holds (the last line
        of `.ir` text), or None; a WAV that never gave a header is bad."""
        if isinstance(self._decoder, WavDecoder) and self._decoder.info is None:
            raise SourceError(
                f"{self.name}: WAV header is truncated (input ended after "
                f"{self._bytes_read} bytes, before the 'data' chunk)"
            )
        if isinstance(self._decoder, IrTextBytesDecoder):
            try:
                tail = self._decoder.flush()
            except IrTextError as exc:
                raise SourceError(f"{self.name}: {exc}") from None
            self._samples += tail.size
            return tail if tail.size else None
        return None

    @property
    def overflows(self) -> int:
        return 0

    @property
    def samples_delivered(self) -> int:
        return self._samples

    @property
    def seconds_delivered(self) -> float:
        if isinstance(self._decoder, IrTextBytesDecoder):
            return self._decoder.microseconds / PULSE_CLOCK_HZ
        return self._samples / self.sample_rate_hz

    @property
    def leftover_bytes(self) -> int:
        return self._decoder.leftover_bytes

    @property
    def stats(self) -> SourceStats:
        return SourceStats(self._bytes_read, self._samples, self.seconds_delivered,
                           self.leftover_bytes, self.overflows)

    def close(self) -> None:
        """Release the file or device; idempotent."""

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ReaderThread:
    """Keeps a live device read while the receiver works on earlier blocks.

    A thread calls ``read()`` (raw bytes of one block) in a loop and queues the results,
    at most ``max_blocks`` of them (constant memory). ``get()`` returns them in order;
    an ``OSError`` from ``read`` comes out of ``get()`` after the blocks read before it.
    When the queue is full the thread waits, and each such wait is counted in
    ``full_waits``: a consumer slower than real time, so the device is likely dropping
    samples in its own buffer. Data is never reordered or dropped here.
    """

    _POLL_S = 0.1  # how often a waiting thread looks for stop()

    def __init__(self, read: Callable[[], bytes], max_blocks: int, name: str) -> None:
        if max_blocks < 1:
            raise ValueError(f"max_blocks must be >= 1, got {max_blocks}")
        self._read = read
        self._queue: queue.Queue[bytes | OSError] = queue.Queue(maxsize=max_blocks)
        self._stop = threading.Event()
        self.full_waits = 0
        self._error: OSError | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _put(self, item: bytes | OSError) -> None:
        if self._queue.full():
            self.full_waits += 1
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=self._POLL_S)
                return
            except queue.Full:
                continue

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                raw = self._read()
            except OSError as exc:
                self._put(exc)
                return
            self._put(raw)

    def get(self) -> bytes:
        """The next block, in the order read; raises the device's ``OSError`` in its turn."""
        if self._error is not None:
            raise self._error
        item = self._queue.get()
        if isinstance(item, OSError):
            self._error = item
            raise item
        return item

    def stop(self, timeout_s: float = 5.0) -> None:
        """Ask the thread to end and wait for it (it finishes the read under way)."""
        self._stop.set()
        while True:  # free a thread waiting on a full queue
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._thread.join(timeout_s)
