"""Sound cards: the one thin adapter over ``sounddevice`` (PortAudio), for the line-in of a
terminal and the sound-card output of a center.

- ``list_sound_cards()`` -> ``SoundCard`` per device: index, name, host API, the most input
  and output channels, the default rate;
- ``open_input(...)`` -> ``InputStream``: blocking ``read(frames) -> (float32 (frames,
  channels), overflowed)``, or a ``callback(block, overflowed)`` called from PortAudio's
  thread;
- ``open_output(...)`` -> ``OutputStream``: blocking ``write(block) -> underflowed``, or a
  ``callback(frames) -> block`` that PortAudio calls for each buffer (short blocks are padded
  with silence);
- both streams: ``start()``, ``stop()`` (play out what is queued), ``abort()`` (drop it),
  ``close()``; context managers.

Every failure of PortAudio (``sounddevice.PortAudioError``, and the ``ValueError`` it raises for
an unknown device or a setting the device cannot take) becomes one ``SoundCardError`` that
names the device; a missing PortAudio library is a ``SoundCardError`` saying what to install.
``SoundCardError`` is an ``OSError``: a device failing is not bad input (``modem.errors`` is for
that), and callers that read devices already handle ``OSError``.

Invariants: importing this module loads neither ``sounddevice`` nor PortAudio (sounddevice
loads PortAudio when it is imported, and fails without it): that happens on the first call
that needs a device. Nothing else in ``modem`` imports this module. Test seam: every function
takes ``backend``, an object with sounddevice's ``query_devices``, ``query_hostapis``,
``InputStream``, ``OutputStream`` and ``PortAudioError``; None is the real library.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["InputStream", "OutputStream", "SoundCard", "SoundCardError", "list_sound_cards",
           "load_backend", "open_input", "open_output"]

# Debian's package of the PortAudio library that sounddevice loads.
PORTAUDIO_PACKAGE = "libportaudio2"
DTYPE = "float32"  # every stream carries float32 samples, 1.0 = full scale


class SoundCardError(OSError):
    """A sound card cannot be listed, opened, started, read or written; names the device."""


def load_backend() -> Any:
    """The ``sounddevice`` module, imported now; ``SoundCardError`` if PortAudio is missing."""
    try:
        import sounddevice
    except (ImportError, OSError) as exc:
        raise SoundCardError(f"sound card support needs PortAudio: apt-get install "
                             f"{PORTAUDIO_PACKAGE} ({exc})") from None
    return sounddevice


def _device_name(device: int | str | None, output: bool) -> str:
    if device is None:
        return "the default output" if output else "the default input"
    return f"sound card {device!r}"


def _errors(backend: Any) -> tuple[type[BaseException], ...]:
    return (backend.PortAudioError, ValueError)


@dataclass(frozen=True)
class SoundCard:
    """One device as PortAudio sees it (``max_*_channels`` 0: it has no such side)."""

    index: int
    name: str
    hostapi: str
    max_input_channels: int
    max_output_channels: int
    default_rate_hz: float


def list_sound_cards(backend: Any = None) -> list[SoundCard]:
    """Every device PortAudio sees, in its index order."""
    backend = load_backend() if backend is None else backend
    try:
        devices = list(backend.query_devices())
        hostapis = list(backend.query_hostapis())
    except _errors(backend) as exc:
        raise SoundCardError(f"cannot list the sound cards: {exc}") from None
    cards = []
    for index, dev in enumerate(devices):
        api = dev.get("hostapi")
        api_name = hostapis[api]["name"] if isinstance(api, int) and 0 <= api < len(hostapis) else str(api)
        cards.append(SoundCard(index=index, name=str(dev["name"]), hostapi=api_name,
                               max_input_channels=int(dev["max_input_channels"]),
                               max_output_channels=int(dev["max_output_channels"]),
                               default_rate_hz=float(dev["default_samplerate"])))
    return cards


class _Stream:
    """What both directions share: PortAudio calls made with errors named after the device."""

    def __init__(self, stream: Any, backend: Any, where: str) -> None:
        self._stream, self._backend, self.where = stream, backend, where

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.where})"

    def _call(self, method: str, *args: Any) -> Any:
        try:
            return getattr(self._stream, method)(*args)
        except _errors(self._backend) as exc:
            raise SoundCardError(f"{self.where}: {method} failed: {exc}") from None

    def start(self) -> None:
        self._call("start")

    def stop(self) -> None:
        """Stop after what is queued has played (output) or been captured."""
        self._call("stop")

    def abort(self) -> None:
        """Stop at once, dropping what is queued."""
        self._call("abort")

    def close(self) -> None:
        self._call("close")

    def __enter__(self) -> _Stream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class InputStream(_Stream):
    """A capture: ``read(frames)`` (blocking mode) or the callback given to ``open_input``."""

    def read(self, frames: int) -> tuple[np.ndarray, bool]:
        """(float32 samples of shape (frames, channels), whether the card overran first)."""
        data, overflowed = self._call("read", frames)
        return np.asarray(data, dtype=np.float32), bool(overflowed)


class OutputStream(_Stream):
    """A playback: ``write(block)`` (blocking mode) or the callback given to ``open_output``."""

    def write(self, block: np.ndarray) -> bool:
        """Queue float32 samples of shape (n, channels) (or (n,) for one channel); True if the
        card ran dry before them (an underflow)."""
        x = np.ascontiguousarray(block, dtype=np.float32)
        return bool(self._call("write", x.reshape(len(x), -1)))


def _stream_kwargs(device: int | str | None, rate_hz: float, channels: int,
                   block_frames: int) -> dict[str, Any]:
    if device is not None and (isinstance(device, bool) or not isinstance(device, (int, str))):
        raise ValueError(f"device must be an index, a name or None, got {device!r}")
    if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
        raise ValueError(f"channels must be a positive int, got {channels!r}")
    if isinstance(block_frames, bool) or not isinstance(block_frames, int) or block_frames < 0:
        raise ValueError(f"block_frames must be an int >= 0 (0: PortAudio chooses), got {block_frames!r}")
    if not (isinstance(rate_hz, (int, float)) and not isinstance(rate_hz, bool) and rate_hz > 0):
        raise ValueError(f"rate_hz must be a positive number of Hz, got {rate_hz!r}")
    return {"device": device, "samplerate": rate_hz, "channels": channels, "dtype": DTYPE,
            "blocksize": block_frames}


def open_input(device: int | str | None, rate_hz: float, channels: int = 1,
               block_frames: int = 0, callback: Callable[[np.ndarray, bool], None] | None = None,
               *, backend: Any = None) -> InputStream:
    """An input stream (not started). ``callback(block (frames, channels) float32, overflowed)``
    runs on PortAudio's thread for every buffer; without one, read with ``read``."""
    kwargs = _stream_kwargs(device, rate_hz, channels, block_frames)
    backend = load_backend() if backend is None else backend
    if callback is not None:
        def on_buffer(indata, frames, time, status):  # sounddevice's callback signature
            callback(np.array(indata, dtype=np.float32), bool(status.input_overflow))
        kwargs["callback"] = on_buffer
    where = f"{_device_name(device, output=False)} at {rate_hz:g} Hz"
    try:
        stream = backend.InputStream(**kwargs)
    except _errors(backend) as exc:
        raise SoundCardError(f"cannot open {where}: {exc}") from None
    return InputStream(stream, backend, where)


def open_output(device: int | str | None, rate_hz: float, channels: int = 1,
                block_frames: int = 0, callback: Callable[[int], np.ndarray] | None = None,
                *, backend: Any = None) -> OutputStream:
    """An output stream (not started). ``callback(frames) -> block`` runs on PortAudio's thread
    for every buffer: up to ``frames`` rows of float32 (fewer are padded with silence)."""
    kwargs = _stream_kwargs(device, rate_hz, channels, block_frames)
    backend = load_backend() if backend is None else backend
    if callback is not None:
        def on_buffer(outdata, frames, time, status):  # sounddevice's callback signature
            block = np.asarray(callback(frames), dtype=np.float32).reshape(-1, channels)[:frames]
            outdata[:len(block)] = block
            outdata[len(block):] = 0
        kwargs["callback"] = on_buffer
    where = f"{_device_name(device, output=True)} at {rate_hz:g} Hz"
    try:
        stream = backend.OutputStream(**kwargs)
    except _errors(backend) as exc:
        raise SoundCardError(f"cannot open {where}: {exc}") from None
    return OutputStream(stream, backend, where)
