"""Live baseband from a sound card's line-in through sounddevice (PortAudio).

The adapter is thin: one mono float32 ``InputStream`` read in fixed blocks with the
blocking ``read()``. Its raw bytes are the samples as f32le, so ``TeeRaw`` keeps them as a
capture that ``FileSource`` reads back. The stream comes from an injectable factory, so
tests run it against ``receiver.radio._device_fake.FakeInputStream``.

Invariants: ``import sounddevice`` happens only inside the default factory (it loads
PortAudio at import time and fails without it); an overrun (samples the card dropped
before we read them) is counted in ``overflows``, never raised; any other stream failure
becomes a ``SourceError`` naming the device.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from receiver.radio._device_base import Source
from receiver.errors import SourceConfigError, SourceError

__all__ = ["LineInConfig", "LineInSource", "open_input_stream"]

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


class _PortAudioStream:
    """Wraps ``sounddevice.InputStream`` so its errors arrive as ``OSError``."""

    def __init__(self, stream: Any, error: type[Exception]) -> None:
        self._stream = stream
        self._error = error

    def _call(self, method: str, *args: Any) -> Any:
        try:
            return getattr(self._stream, method)(*args)
        except self._error as exc:
            raise OSError(str(exc)) from None

    def start(self) -> None:
        self._call("start")

    def read(self, frames: int) -> tuple[np.ndarray, bool]:
        return self._call("read", frames)

    def stop(self) -> None:
        self._call("stop")

    def close(self) -> None:
        self._call("close")


def open_input_stream(**kwargs: Any) -> _PortAudioStream:
    """The default stream factory: ``sounddevice.InputStream(**kwargs)``, imported only now."""
    try:
        import sounddevice
    except (ImportError, OSError) as exc:
        raise SourceError(
            f"line-in support needs PortAudio: apt-get install libportaudio2 ({exc})"
        ) from None
    try:
        stream = sounddevice.InputStream(**kwargs)
    except (sounddevice.PortAudioError, ValueError) as exc:
        raise SourceError(
            f"cannot open line-in device {kwargs.get('device')!r}: {exc}"
        ) from None
    return _PortAudioStream(stream, sounddevice.PortAudioError)


class LineInSource(Source):
    """float32 blocks (format f32le) from a sound card input, mono."""

    def __init__(self, config: LineInConfig,
                 stream_factory: StreamFactory | None = None) -> None:
        self.config = config
        device = "default input" if config.device is None else repr(config.device)
        name = f"line-in {device} at {config.sample_rate_hz} Hz"
        self._stream = (stream_factory or open_input_stream)(
            device=config.device, samplerate=config.sample_rate_hz, channels=1,
            dtype="float32", blocksize=config.block_frames,
        )
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


def list_sound_cards(query: Callable[[], Any] | None = None) -> list[dict]:
    """The sound cards PortAudio sees: index, name, host API, input and output channels, default
    rate. ``query`` is ``sounddevice.query_devices`` (the test seam); a missing PortAudio is a
    ``SourceError`` naming what to install."""
    if query is None:
        try:
            import sounddevice
        except (ImportError, OSError) as exc:
            raise SourceError(
                f"sound card support needs PortAudio: apt-get install libportaudio2 ({exc})"
            ) from None
        query = sounddevice.query_devices
    out = []
    for index, dev in enumerate(query()):
        out.append({"index": index, "name": dev["name"], "hostapi": dev.get("hostapi"),
                    "inputs": int(dev["max_input_channels"]),
                    "outputs": int(dev["max_output_channels"]),
                    "default_rate_hz": float(dev["default_samplerate"])})
    return out
