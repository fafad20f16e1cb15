"""Live I/Q from an RTL-SDR dongle through pyrtlsdr (``rtlsdr.RtlSdr``), as cu8 blocks.

The adapter is thin: it sets rate, centre frequency, ppm correction and gain, then a
``ReaderThread`` calls ``read_bytes`` in fixed blocks (so the dongle is read while the
receiver demodulates; between synchronous reads its small FIFO would overflow) and
``modem.formats`` decodes them as cu8 (8-bit unsigned I/Q, zero at 127.5). The device
comes from an injectable factory, so tests run it against
``receiver.radio._device_fake.FakeRtlSdr``, which replays a capture.

Invariants: ``import rtlsdr`` happens only inside the default factory (it loads
librtlsdr at import time and fails without it); every device failure becomes a
``SourceError`` naming the device; ``freq_correction`` is left alone when it is 0,
because librtlsdr answers "invalid parameter" (-2) when asked to set the value it
already holds, and a fresh device holds 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from receiver.radio._device_base import DEFAULT_CHUNK_BYTES, ReaderThread, Source
from receiver.errors import SourceConfigError, SourceError

__all__ = ["RTL_RATE_RANGES_HZ", "RtlSdrConfig", "RtlSdrSource", "open_rtlsdr"]

# Rates the RTL2832U resampler accepts (librtlsdr rtlsdr_set_sample_rate refuses
# rate <= 225 000, 300 000 < rate <= 900 000 and rate > 3 200 000 with -EINVAL).
# Above about 2.4 MHz most USB hosts drop samples.
RTL_RATE_RANGES_HZ = ((225_001, 300_000), (900_001, 3_200_000))
# libusb bulk transfers come in 512-byte packets; rtlsdr_read_sync wants whole ones.
USB_PACKET_BYTES = 512
# librtlsdr takes the centre frequency as uint32 Hz.
MAX_CENTER_FREQ_HZ = 2**32 - 1

DeviceFactory = Callable[[int], Any]


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


@dataclass(frozen=True)
class RtlSdrConfig:
    """Settings of one RTL-SDR capture.

    ``gain_db``: a tuner gain in dB (the nearest the tuner offers is used) or ``"auto"``
    (tuner AGC). ``block_bytes``: bytes a read, 2 per cu8 sample; the default 256 KiB is
    131 072 samples = 0.11 s at 1.2 MHz. ``queue_blocks``: blocks read ahead at most;
    16 x 256 KiB = 4 MiB = 1.7 s at 1.2 MHz of slack for a slow moment of the receiver.
    ``max_samples``: stop after that many samples (None: run until closed).
    """

    center_freq_hz: float
    sample_rate_hz: int = 1_200_000
    gain_db: float | str = "auto"
    freq_correction_ppm: int = 0
    device_index: int = 0
    block_bytes: int = DEFAULT_CHUNK_BYTES
    queue_blocks: int = 16
    max_samples: int | None = None

    def __post_init__(self) -> None:
        f = self.center_freq_hz
        if not _is_number(f) or not 0 < f <= MAX_CENTER_FREQ_HZ:
            raise SourceConfigError(
                f"center_freq_hz must be a frequency in Hz up to {MAX_CENTER_FREQ_HZ}, got {f!r}"
            )
        r = self.sample_rate_hz
        if not _is_int(r) or not any(
            lo <= r <= hi for lo, hi in RTL_RATE_RANGES_HZ
        ):
            ranges = " or ".join(f"{lo}-{hi}" for lo, hi in RTL_RATE_RANGES_HZ)
            raise SourceConfigError(
                f"sample_rate_hz {r!r} is not a rate the RTL2832U can do; use an integer "
                f"in {ranges} Hz (1200000 is the default)"
            )
        g = self.gain_db
        if g != "auto" and not (_is_number(g) and math.isfinite(g)):
            raise SourceConfigError(f"gain_db must be a number of dB or 'auto', got {g!r}")
        for name in ("freq_correction_ppm", "device_index"):
            v = getattr(self, name)
            if not _is_int(v):
                raise SourceConfigError(f"{name} must be an int, got {v!r}")
        if self.device_index < 0:
            raise SourceConfigError(f"device_index must be >= 0, got {self.device_index}")
        b = self.block_bytes
        if not _is_int(b) or b < USB_PACKET_BYTES or b % USB_PACKET_BYTES:
            raise SourceConfigError(
                f"block_bytes must be a positive multiple of {USB_PACKET_BYTES}, got {b!r}"
            )
        q = self.queue_blocks
        if not _is_int(q) or q < 1:
            raise SourceConfigError(f"queue_blocks must be an int >= 1, got {q!r}")
        m = self.max_samples
        if m is not None and (not _is_int(m) or m < 0):
            raise SourceConfigError(f"max_samples must be None or an int >= 0, got {m!r}")


def open_rtlsdr(device_index: int) -> Any:
    """The default device factory: ``rtlsdr.RtlSdr(device_index)``, imported only now."""
    try:
        from rtlsdr import RtlSdr
    except (ImportError, OSError, AttributeError) as exc:
        # AttributeError: a librtlsdr older than pyrtlsdr expects (Debian's 0.6 lacks
        # rtlsdr_set_dithering); the pyrtlsdrlib package, a dependency, ships a current one.
        raise SourceError(
            f"RTL-SDR support needs pyrtlsdr with a current librtlsdr: "
            f"pip install pyrtlsdr pyrtlsdrlib ({exc})"
        ) from None
    try:
        return RtlSdr(device_index=device_index)
    except OSError as exc:
        raise SourceError(
            f"cannot open RTL-SDR device #{device_index}: {exc} (is it plugged in, and not "
            f"held by another program or by the dvb_usb_rtl28xxu kernel driver?)"
        ) from None


class RtlSdrSource(Source):
    """cu8 blocks from an RTL-SDR; ``sample_rate_hz`` is the rate the device reports."""

    def __init__(self, config: RtlSdrConfig,
                 device_factory: DeviceFactory | None = None) -> None:
        self.config = config
        name = f"RTL-SDR #{config.device_index} at {config.center_freq_hz / 1e6:.4f} MHz"
        self._device = (device_factory or open_rtlsdr)(config.device_index)
        try:
            self._device.sample_rate = config.sample_rate_hz
            self._device.center_freq = int(round(config.center_freq_hz))
            if config.freq_correction_ppm != 0:
                self._device.freq_correction = config.freq_correction_ppm
            self._device.gain = config.gain_db
            rate = float(self._device.sample_rate)
        except OSError as exc:
            self._device.close()
            raise SourceError(f"{name}: cannot configure the device: {exc}") from None
        self._setup(name, "cu8", rate, float(config.center_freq_hz))
        self._remaining = config.max_samples
        self._waits_at_close = 0
        self._reader: ReaderThread | None = ReaderThread(
            self._read_device, config.queue_blocks, name=f"hotcast {name}"
        )

    def __repr__(self) -> str:
        return f"RtlSdrSource({self.config!r})"

    def _read_device(self) -> bytes:
        # Runs in the reader thread; bytes() copies out of pyrtlsdr's reused buffer.
        return bytes(self._device.read_bytes(self.config.block_bytes))

    @property
    def overflows(self) -> int:
        """Times the read-ahead queue was full: the receiver fell behind real time."""
        return self._reader.full_waits if self._reader is not None else self._waits_at_close

    def read_raw(self) -> bytes | None:
        if self._remaining == 0 or self._reader is None:
            self._stop_reader()
            return None
        try:
            raw = self._reader.get()
        except OSError as exc:
            raise SourceError(f"{self.name}: read failed: {exc}") from None
        if self._remaining is not None:
            raw = raw[: 2 * self._remaining]  # 2 bytes per cu8 sample
            self._remaining -= len(raw) // 2
        return raw

    def _stop_reader(self) -> None:
        if self._reader is not None:
            self._reader.stop()
            self._waits_at_close = self._reader.full_waits
            self._reader = None

    def close(self) -> None:
        """Stop the reader thread (it ends its read under way), then close the device."""
        self._stop_reader()
        if self._device is not None:
            self._device.close()
            self._device = None


def list_rtlsdr(library: Any | None = None) -> list[dict]:
    """The RTL-SDR dongles plugged in: index, name, USB manufacturer, product and serial.

    ``library`` is pyrtlsdr's ``librtlsdr`` ctypes object (the test seam); the default loads it
    now. A missing library is a ``SourceError`` naming what to install.
    """
    if library is None:
        try:
            from rtlsdr.librtlsdr import librtlsdr as library
        except (ImportError, OSError, AttributeError) as exc:
            raise SourceError(f"RTL-SDR support needs pyrtlsdr with a current librtlsdr: "
                              f"pip install pyrtlsdr pyrtlsdrlib ({exc})") from None
    import ctypes

    out = []
    for index in range(int(library.rtlsdr_get_device_count())):
        strings = [ctypes.create_string_buffer(256) for _ in range(3)]
        library.rtlsdr_get_device_usb_strings(index, *strings)
        name = library.rtlsdr_get_device_name(index)
        out.append({"index": index, "name": name.decode(errors="replace") if name else "",
                    "manufacturer": strings[0].value.decode(errors="replace"),
                    "product": strings[1].value.decode(errors="replace"),
                    "serial": strings[2].value.decode(errors="replace")})
    return out
