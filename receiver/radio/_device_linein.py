"""Live baseband from a sound card's line-in, through ``modem.soundcard`` (PortAudio).

The adapter is thin: one mono float32 input stream read in fixed blocks with the blocking
``read()``. Its raw bytes are the samples as f32le, so ``TeeRaw`` keeps them as a capture
that ``FileSource`` reads back. The stream comes from an injectable factory (called with
``sounddevice.InputStream``'s keyword arguments), so tests run it against
``receiver.radio._device_fake.FakeInputStream``; the default one is
``modem.soundcard.open_input``.

Invariants: nothing here imports ``sounddevice`` (``modem.soundcard`` loads it, and with it
PortAudio, only when a stream is opened); an overrun (samples the card dropped before we read
them) is counted in ``overflows``, never raised; any stream failure (``OSError``, which
``modem.soundcard.SoundCardError`` is) becomes a ``SourceError`` naming the device.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from modem import soundcard
from receiver.errors import SourceConfigError, SourceError
from receiver.radio._device_base import Source

__all__ = ["LineInConfig", "LineInSource", "list_sound_cards", "open_input_stream"]

StreamFactory = Callable[..., Any]


@dataclass(frozen=True)
class LineInConfig:
    """Settings of one line-in capture.

    ``device``: a PortAudio device index or name substring (None: the default input).
    ``block_frames``: samples a read; 4 800 = 0.1 s at 48 kHz. ``max_samples``: stop
    after that many samples (None: run until closed).
    """

    sample_rate_hz: int = 48_000
    device: int | str | None = None
    block_frames: int = 4_800
    max_samples: int | None = None

    def __post_init__(self) -> None:
        for name in ("sample_rate_hz", "block_frames"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise SourceConfigError(f"{name} must be a positive int, got {v!r}")
        if self.device is not None and (
            isinstance(self.device, bool) or not isinstance(self.device, (int, str))
        ):
            raise SourceConfigError(f"device must be an index, a name or None, got {self.device!r}")
        m = self.max_samples
        if m is not None and (isinstance(m, bool) or not isinstance(m, int) or m < 0):
            raise SourceConfigError(f"max_samples must be None or an int >= 0, got {m!r}")


def open_input_stream(*, device: int | str | None, samplerate: float, channels: int, dtype: str,
                      blocksize: int) -> soundcard.InputStream:
    """The default stream factory: ``modem.soundcard.open_input`` with sounddevice's keyword
    arguments (the shape of the factories tests inject)."""
    if dtype != soundcard.DTYPE:
        raise ValueError(f"the line-in reads {soundcard.DTYPE} samples, not {dtype}")
    return soundcard.open_input(device, samplerate, channels, blocksize)


class LineInSource(Source):
    """float32 blocks (format f32le) from a sound card input, mono."""

    def __init__(self, config: LineInConfig,
                 stream_factory: StreamFactory | None = None) -> None:
        self.config = config
        device = "default input" if config.device is None else repr(config.device)
        name = f"line-in {device} at {config.sample_rate_hz} Hz"
        try:
            self._stream = (stream_factory or open_input_stream)(
                device=config.device, samplerate=config.sample_rate_hz, channels=1,
                dtype=soundcard.DTYPE, blocksize=config.block_frames,
            )
        except OSError as exc:
            raise SourceError(f"{name}: {exc}") from None
        try:
            self._stream.start()
        except OSError as exc:
            self._stream.close()
            raise SourceError(f"{name}: cannot start the stream: {exc}") from None
        self._setup(name, "f32le", config.sample_rate_hz)
        self._remaining = config.max_samples
        self._overflows = 0

    def __repr__(self) -> str:
        return f"LineInSource({self.config!r})"

    @property
    def overflows(self) -> int:
        return self._overflows

    def read_raw(self) -> bytes | None:
        frames = self.config.block_frames
        if self._remaining is not None:
            if self._remaining == 0:
                return None
            frames = min(frames, self._remaining)
        try:
            data, overflowed = self._stream.read(frames)
        except OSError as exc:
            raise SourceError(f"{self.name}: read failed: {exc}") from None
        if overflowed:
            self._overflows += 1
        mono = np.asarray(data, dtype=np.float32).reshape(len(data), -1)[:, 0]
        if self._remaining is not None:
            self._remaining -= mono.size
        return mono.astype("<f4").tobytes()

    def close(self) -> None:
        if self._stream is not None:
            try:
                self._stream.stop()
                self._stream.close()
            except OSError:
                pass  # closing a stream that already failed: nothing left to release
            self._stream = None


def list_sound_cards(backend: Any = None) -> list[dict]:
    """The sound cards PortAudio sees (``modem.soundcard.list_sound_cards``) as ``hotcast
    devices`` prints them: index, name, host API, input and output channels, default rate.
    ``backend`` is the test seam (see ``modem.soundcard``); a missing PortAudio is a
    ``SourceError`` naming what to install."""
    try:
        cards = soundcard.list_sound_cards(backend)
    except OSError as exc:
        raise SourceError(str(exc)) from None
    return [{"index": c.index, "name": c.name, "hostapi": c.hostapi, "inputs": c.max_input_channels,
             "outputs": c.max_output_channels, "default_rate_hz": c.default_rate_hz} for c in cards]
