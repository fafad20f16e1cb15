"""Fake devices that replay recorded or generated signals, for tests and demos.

``FakeRtlSdr`` has the part of ``rtlsdr.RtlSdr`` (pyrtlsdr 0.5) that hotcast uses, with
its behaviour where it matters: ``read_bytes`` returns a ctypes ``c_ubyte`` array of
exactly the size asked or raises ``IOError`` on a short read; setting a rate the
RTL2832U cannot do, or ``freq_correction`` to the value it already holds (librtlsdr's
-2), raises ``IOError``; ``sample_rate`` reads back the rate the 28.8 MHz crystal can
make, as pyrtlsdr computes it. ``FakeInputStream`` is a ``sounddevice.InputStream``
(mono float32) whose blocking ``read`` replays samples, then silence.
"""

from __future__ import annotations

from ctypes import c_ubyte

import numpy as np

__all__ = ["FakeInputStream", "FakeRtlSdr"]

# The RTL2832U's reference crystal; rates are 28.8 MHz * 2**22 / ratio, ratio a multiple
# of 4 (pyrtlsdr get_sample_rate mirrors librtlsdr).
CRYSTAL_FREQ_HZ = 28_800_000
# R820T tuner gains in tenths of dB (librtlsdr r82xx_gains).
R820T_GAINS_TENTHS_DB = (0, 9, 14, 27, 37, 77, 87, 125, 144, 157, 166, 197, 207, 229, 254,
                         280, 297, 328, 338, 364, 372, 386, 402, 421, 434, 439, 445, 480, 496)


class FakeRtlSdr:
    """Replays ``capture`` (cu8 bytes); with ``loop`` it starts over instead of running out."""

    def __init__(self, capture: bytes, device_index: int = 0, loop: bool = False) -> None:
        self.device_index = device_index
        self._capture = bytes(capture)
        self._pos = 0
        self._loop = loop
        self._rate_set = 2_048_000
        self._center_freq = 80_000_000
        self._corr_ppm = 0
        self._gain_tenths = 0
        self.agc = False
        self.closed = False
        self.settings: list[tuple[str, object]] = []

    # -- properties as pyrtlsdr names them ------------------------------------------
    @property
    def sample_rate(self) -> float:
        ratio = (CRYSTAL_FREQ_HZ * 2**22) // self._rate_set
        ratio &= ~3
        return CRYSTAL_FREQ_HZ * 2**22 / ratio

    @sample_rate.setter
    def sample_rate(self, rate: float) -> None:
        rate = int(rate)
        if rate <= 225_000 or rate > 3_200_000 or 300_000 < rate <= 900_000:
            raise OSError(f"Could not set sample rate to {rate} Hz")
        self._rate_set = rate
        self.settings.append(("sample_rate", rate))

    @property
    def center_freq(self) -> int:
        return self._center_freq

    @center_freq.setter
    def center_freq(self, freq: float) -> None:
        self._center_freq = int(freq)
        self.settings.append(("center_freq", int(freq)))

    @property
    def freq_correction(self) -> int:
        return self._corr_ppm

    @freq_correction.setter
    def freq_correction(self, ppm: int) -> None:
        if int(ppm) == self._corr_ppm:
            raise OSError(f"Could not set freq. offset to {int(ppm)} ppm")
        self._corr_ppm = int(ppm)
        self.settings.append(("freq_correction", int(ppm)))

    @property
    def gain(self) -> float:
        return self._gain_tenths / 10

    @gain.setter
    def gain(self, gain: float | str) -> None:
        if gain == "auto":
            self.agc = True
        else:
            self.agc = False
            self._gain_tenths = min(R820T_GAINS_TENTHS_DB, key=lambda g: abs(10 * gain - g))
        self.settings.append(("gain", gain))

    def get_gains(self) -> list[int]:
        return list(R820T_GAINS_TENTHS_DB)

    # -- reading ---------------------------------------------------------------------
    def read_bytes(self, num_bytes: int) -> c_ubyte:
        if self.closed:
            raise OSError("device is closed")
        num_bytes = int(num_bytes)
        out = bytearray()
        while len(out) < num_bytes:
            take = self._capture[self._pos:self._pos + num_bytes - len(out)]
            out += take
            self._pos += len(take)
            if len(out) < num_bytes:
                if not self._loop or not self._capture:
                    raise OSError(f"Short read, requested {num_bytes} bytes, received {len(out)}")
                self._pos = 0
        return (c_ubyte * num_bytes).from_buffer_copy(out)

    def read_samples(self, num_samples: int) -> np.ndarray:
        raw = np.frombuffer(bytes(self.read_bytes(2 * num_samples)), dtype=np.uint8)
        iq = raw.astype(np.float64) / 127.5 - 1.0
        return (iq[0::2] + 1j * iq[1::2]).astype(np.complex128)

    def close(self) -> None:
        self.closed = True


class FakeInputStream:
    """Replays float32 ``samples`` through ``read(frames) -> (array (frames, 1), overflowed)``.

    Reads whose index is in ``overflow_reads`` report an overrun. After the samples run
    out it returns silence, as a line-in with nothing playing does.
    """

    def __init__(self, samples: np.ndarray, overflow_reads: frozenset[int] = frozenset(),
                 **stream_kwargs: object) -> None:
        self._samples = np.asarray(samples, dtype=np.float32)
        self._pos = 0
        self._reads = 0
        self._overflow_reads = overflow_reads
        self.kwargs = stream_kwargs
        self.started = False
        self.closed = False

    def start(self) -> None:
        self.started = True

    def read(self, frames: int) -> tuple[np.ndarray, bool]:
        if not self.started or self.closed:
            raise OSError("stream is not started")
        out = np.zeros((frames, 1), dtype=np.float32)
        take = self._samples[self._pos:self._pos + frames]
        out[: take.size, 0] = take
        self._pos += take.size
        overflowed = self._reads in self._overflow_reads
        self._reads += 1
        return out, overflowed

    def stop(self) -> None:
        self.started = False

    def close(self) -> None:
        self.closed = True
