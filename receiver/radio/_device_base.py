"""The shape every sample source shares: raw bytes in, decoded sample blocks out.

A source is split in two halves so that a wrapper (``TeeRaw``) can sit between them:
``read_raw() -> bytes | None`` fetches the next chunk of raw input exactly as it arrived
(None at the end), and ``decode(raw) -> samples`` turns raw bytes into samples through
the ``modem.formats`` streaming decoders, counting what it delivers.

Invariants: a source holds at most one raw chunk plus a partial sample (constant memory
on endless input); the concatenation of its blocks never depends on how the raw input
was cut; blocks are complex64 for I/Q formats and float32 for baseband ones; a stream
that ends mid-sample is not an error (``leftover_bytes`` counts the orphaned bytes).
"""

from __future__ import annotations

import math
import os
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from modem.errors import SampleFormatError
from modem.formats import SampleDecoder, WavDecoder, decoder_for, is_iq_format

from receiver.errors import SourceConfigError, SourceError

__all__ = [
    "DEFAULT_CHUNK_BYTES", "ReaderThread", "Source", "SourceConfigError", "SourceError",
    "SourceStats", "check_rate_hz", "sigmf_meta_candidates", "sigmf_meta_path",
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
    """``rate_hz`` as a float if it is a positive finite number, else ``SourceConfigError``."""
    if isinstance(rate_hz, bool) or not isinstance(rate_hz, (int, float)):
        raise SourceConfigError(f"{what} must be a number of Hz, got {rate_hz!r}")
    if not (math.isfinite(rate_hz) and rate_hz > 0):
        raise SourceConfigError(f"{what} must be a positive number of Hz, got {rate_hz!r}")
    return float(rate_hz)


def sigmf_meta_path(path: str) -> str:
    """Where hotcast writes the SigMF metadata of a recording: ``X.sigmf-data`` ->
    ``X.sigmf-meta``, anything else -> ``FILE.sigmf-meta`` beside it (CONTRACT.md)."""
    if path.endswith(".sigmf-data"):
        return path[: -len(".sigmf-data")] + ".sigmf-meta"
    return path + ".sigmf-meta"


def sigmf_meta_candidates(path: str) -> list[str]:
    """Where to look for a recording's metadata, best first: ``sigmf_meta_path(path)``,
    then ``STEM.sigmf-meta`` with the extension replaced (``x.wav`` -> ``x.sigmf-meta``),
    the SigMF spec's own pairing, which other tools write."""
    first = sigmf_meta_path(path)
    stem, ext = os.path.splitext(path)
    if ext and ext != ".sigmf-data" and os.path.basename(stem):
        return [first, stem + ".sigmf-meta"]
    return [first]


class Source:
    """Base of every sample source. Subclasses call ``_setup`` and implement ``read_raw``.

    Public face: ``name``, ``fmt`` (cu8 cs8 cf32 s16le f32le wav), ``is_iq``,
    ``sample_rate_hz``, ``frequency_hz`` (RF centre if known, else None), ``read_block()``,
    iteration over non-empty blocks, ``stats``, ``seconds_delivered``, ``close()``.
    """

    def _setup(self, name: str, fmt: str, sample_rate_hz: float,
               frequency_hz: float | None = None) -> None:
        self.name = name
        self.fmt = fmt
        self.is_iq = is_iq_format(fmt)
        self.sample_rate_hz = float(sample_rate_hz)
        self.frequency_hz = frequency_hz
        self._decoder: SampleDecoder | WavDecoder = decoder_for(fmt)
        self._bytes_read = 0
        self._samples = 0
        self._ended = False

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(name={self.name!r}, fmt={self.fmt!r}, "
                f"sample_rate_hz={self.sample_rate_hz!r})")

    # -- the two halves -------------------------------------------------------------
    def read_raw(self) -> bytes | None:
        """The next chunk of raw input bytes (may be short), or None at the end."""
        raise NotImplementedError

    def decode(self, raw: bytes) -> np.ndarray:
        """Raw bytes -> samples: complex64 (I/Q) or float32 (baseband), shape (n,)."""
        self._bytes_read += len(raw)
        try:
            block = self._decoder.process(raw)
        except SampleFormatError as exc:
            raise SourceError(f"{self.name}: {exc}") from None
        self._samples += block.size
        return block

    # -- what callers use -----------------------------------------------------------
    def read_block(self) -> np.ndarray | None:
        """The next block of samples (possibly empty), or None once the input has ended."""
        if self._ended:
            return None
        raw = self.read_raw()
        if raw is None:
            self._ended = True
            self._finish()
            return None
        return self.decode(raw)

    def __iter__(self) -> Iterator[np.ndarray]:
        while (block := self.read_block()) is not None:
            if block.size:
                yield block

    def _finish(self) -> None:
        """Called once at the end of the input; a WAV that never gave a header is bad."""
        if isinstance(self._decoder, WavDecoder) and self._decoder.info is None:
            raise SourceError(
                f"{self.name}: WAV header is truncated (input ended after "
                f"{self._bytes_read} bytes, before the 'data' chunk)"
            )

    @property
    def overflows(self) -> int:
        return 0

    @property
    def samples_delivered(self) -> int:
        return self._samples

    @property
    def seconds_delivered(self) -> float:
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
