"""Streaming rational resampler (polyphase FIR), shared by the FM I/Q modulator and the channel
simulator's sample-rate offset.

Invariants:
- Output sample m sits at input time m * down / up (in input samples), delayed by the filter's
  group delay of (taps_per_phase - 1) / 2 input samples; the first output uses zero history.
- ``process`` output depends only on the concatenated input, never on how it was chunked: each
  output is computed from an integer position counter and the last ``taps_per_phase`` inputs.
- No per-sample Python loop: outputs are gathered as (M, taps_per_phase) windows and reduced
  with one einsum per chunk of at most ``_CHUNK_OUTPUTS`` outputs (bounded memory).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from modem.dsp import kaiser_beta, kaiser_lowpass

# 32 768 outputs x 64 taps x 8 bytes (complex64) = 16 MiB of gathered windows at most.
_CHUNK_OUTPUTS = 32_768
_FINE = 8  # ArbitraryResampler: table rows per branch


@dataclass(frozen=True)
class ResamplerConfig:
    """Output rate = input rate * up / down.

    ``cutoff_fraction`` is the filter's -6 dB edge as a fraction of the lower of the two Nyquist
    rates; ``taps_per_phase`` sets the transition width: a Kaiser design of N = up * L taps at
    attenuation A dB has a transition of about (A - 7.95) / (14.36 L) of the lower rate, e.g.
    62 / (14.36 * 48) = 0.09 for L = 48, A = 70.
    """

    up: int
    down: int
    taps_per_phase: int = 32
    cutoff_fraction: float = 0.92
    stopband_db: float = 70.0
    complex_samples: bool = False

    def __post_init__(self) -> None:
        if self.up < 1 or self.down < 1:
            raise ValueError(f"up and down must be >= 1, got up={self.up} down={self.down}")
        if self.taps_per_phase < 2:
            raise ValueError(f"taps_per_phase must be >= 2, got {self.taps_per_phase}")
        if not 0.0 < self.cutoff_fraction <= 1.0:
            raise ValueError(f"cutoff_fraction must be in (0, 1], got {self.cutoff_fraction}")


class RationalResampler:
    """Streaming polyphase resampler; ``process(block) -> block`` (float32 or complex64)."""

    def __init__(self, config: ResamplerConfig) -> None:
        self.config = config
        up, down, taps = config.up, config.down, config.taps_per_phase
        n_taps = up * taps
        # Prototype lowpass at the upsampled rate up * fs_in; its cutoff, relative to that rate's
        # Nyquist, is cutoff_fraction / max(up, down) (the lower Nyquist of the two rates).
        beta = kaiser_beta(config.stopband_db)
        proto = kaiser_lowpass(n_taps, config.cutoff_fraction / max(up, down), beta)
        proto *= up  # each phase then has unit DC gain
        # phases[p, k]: tap applied to window element k (oldest first) for output phase p.
        self._phases = proto.reshape(taps, up).T[:, ::-1].astype(np.float32).copy()
        self._dtype = np.complex64 if config.complex_samples else np.float32
        self.reset()

    def reset(self) -> None:
        taps = self.config.taps_per_phase
        self._buf = np.zeros(taps - 1, dtype=self._dtype)
        # Position of the next output in the upsampled time of self._buf (units of 1/up input).
        self._pos = (taps - 1) * self.config.up

    def __repr__(self) -> str:
        return f"RationalResampler({self.config!r})"

    def process(self, block: np.ndarray) -> np.ndarray:
        """Resample one block; returns every output whose inputs have all arrived."""
        up, down, taps = self.config.up, self.config.down, self.config.taps_per_phase
        buf = np.concatenate([self._buf, np.asarray(block, dtype=self._dtype)])
        limit = len(buf) * up  # outputs at positions < limit have their newest input in buf
        n_out = max(0, -(-(limit - self._pos) // down))
        out = np.empty(n_out, dtype=self._dtype)
        if down == 1 and n_out >= up:
            # Pure interpolation: the outputs of phase p are every up-th one, and their windows
            # advance one input at a time, so each phase is one correlation over the input
            # (the FM modulator's 240 kHz -> 1.2 MHz: 5 correlations of 24 taps instead of
            # gathering 1.2 M windows, ~6x faster).
            q0, r0 = divmod(self._pos, up)
            for p in range(up):
                first = (p - r0) % up
                count = len(range(first, n_out, up))
                if count:
                    w0 = q0 + (r0 + first) // up - (taps - 1)
                    seg = buf[w0:w0 + count + taps - 1]
                    if self._dtype == np.complex64:
                        out.real[first::up] = np.correlate(seg.real, self._phases[p], "valid")
                        out.imag[first::up] = np.correlate(seg.imag, self._phases[p], "valid")
                    else:
                        out[first::up] = np.correlate(seg, self._phases[p], "valid")
            n_done = n_out
        else:
            n_done = 0
        windows = sliding_window_view(buf, taps) if n_out > n_done else None
        for start in range(n_done, n_out, _CHUNK_OUTPUTS):
            stop = min(n_out, start + _CHUNK_OUTPUTS)
            pos = self._pos + down * np.arange(start, stop, dtype=np.int64)
            newest, phase = np.divmod(pos, up)
            out[start:stop] = np.einsum(
                "ij,ij->i", windows[newest - (taps - 1)], self._phases[phase]
            )
        self._pos += down * n_out
        drop = len(buf) - (taps - 1)
        self._pos -= drop * up
        self._buf = buf[drop:].copy()
        return out


@dataclass(frozen=True)
class ArbitraryResamplerConfig:
    """Output rate = input rate * ``ratio`` (any float in [0.5, 2], e.g. 1 + 37.5e-6).

    ``phases`` branches of ``taps_per_phase`` taps; ``cutoff_fraction`` and ``stopband_db`` as
    in ``ResamplerConfig``. With 512 branches the interpolation error is below -90 dB for
    signals under 0.45 of the rate.
    """

    ratio: float
    taps_per_phase: int = 48
    phases: int = 512
    cutoff_fraction: float = 0.92
    stopband_db: float = 70.0
    complex_samples: bool = False

    def __post_init__(self) -> None:
        if not 0.5 <= self.ratio <= 2.0:
            raise ValueError(f"ratio must be in [0.5, 2], got {self.ratio}")
        if self.taps_per_phase < 2:
            raise ValueError(f"taps_per_phase must be >= 2, got {self.taps_per_phase}")
        if self.phases < 1:
            raise ValueError(f"phases must be >= 1, got {self.phases}")
        if not 0.0 < self.cutoff_fraction <= 1.0:
            raise ValueError(f"cutoff_fraction must be in (0, 1], got {self.cutoff_fraction}")


class ArbitraryResampler:
    """Streaming resampler for any ratio: polyphase bank of ``phases`` branches with linear
    interpolation between neighbouring branches; ``process(block) -> block``.

    Output m sits at input time m / ratio (float64 from the integer m, so chunking cannot
    change it), delayed by (taps_per_phase - 1) / 2 input samples.
    """

    def __init__(self, config: ArbitraryResamplerConfig) -> None:
        self.config = config
        ratio, taps_per_phase, phases = config.ratio, config.taps_per_phase, config.phases
        cutoff_fraction, stopband_db = config.cutoff_fraction, config.stopband_db
        self.ratio = ratio
        self._taps = taps_per_phase
        beta = kaiser_beta(stopband_db)
        n_taps = phases * taps_per_phase
        # Prototype at phases x the input rate; cutoff at the lower of the two Nyquist rates.
        proto = kaiser_lowpass(n_taps + 1, cutoff_fraction * min(1.0, ratio) / phases,
                               beta) * phases
        # bank[p, k]: weight of window element k (oldest first) at fractional delay p / phases;
        # row ``phases`` (one whole sample later) makes the linear interpolation total.
        idx = np.arange(phases + 1)[:, None] + phases * np.arange(taps_per_phase)[None, :]
        bank = proto[idx][:, ::-1]
        # The linear interpolation between branches, tabulated _FINE times finer and read at
        # the nearest row (delay error <= 1 / (2 _FINE phases) sample, 1.2e-4 at 512 branches:
        # -79 dB at 0.15 of the rate), so each output is one dot product.
        fine = np.arange(phases * _FINE + 1) / _FINE
        lo = np.minimum(fine.astype(np.int64), phases - 1)
        a = (fine - lo)[:, None]
        self._table = ((1 - a) * bank[lo] + a * bank[lo + 1]).astype(np.float32)
        self._phases = phases
        self._dtype = np.complex64 if config.complex_samples else np.float32
        self.reset()

    def reset(self) -> None:
        self._buf = np.zeros(self._taps - 1, dtype=self._dtype)
        self._buf_start = -(self._taps - 1)  # global input index of self._buf[0]
        self._next_out = 0

    def __repr__(self) -> str:
        return f"ArbitraryResampler({self.config!r})"

    def process(self, block: np.ndarray) -> np.ndarray:
        taps = self._taps
        buf = np.concatenate([self._buf, np.asarray(block, dtype=self._dtype)])
        end = self._buf_start + len(buf)  # global index one past the newest input
        # Output m needs inputs up to floor(m / ratio), i.e. m < end * ratio.
        n_out = max(0, int(np.ceil(end * self.ratio)) - self._next_out)
        while n_out and np.floor((self._next_out + n_out - 1) / self.ratio) >= end:
            n_out -= 1
        out = np.empty(n_out, dtype=self._dtype)
        parts = (buf.real, buf.imag) if self._dtype == np.complex64 else (buf,)
        windows = [sliding_window_view(x, taps) for x in parts] if n_out else []
        for start in range(0, n_out, _CHUNK_OUTPUTS):
            m = np.arange(self._next_out + start, self._next_out + min(n_out, start + _CHUNK_OUTPUTS))
            t = m / self.ratio
            whole = np.floor(t)
            row = np.rint((t - whole) * (self._phases * _FINE)).astype(np.int64)
            coef = self._table[row]
            # Window of taps inputs ending at sample floor(t): y(t) = sum_q x[i-q] h(frac + q).
            first = whole.astype(np.int64) - (taps - 1) - self._buf_start
            # Runs of consecutive windows (one input per output: a ratio near 1 slips a sample
            # only every 1 / |ratio - 1| outputs) are views, not gathered copies.
            step = np.flatnonzero(np.diff(first) != 1) + 1
            for a, b in zip(np.concatenate(([0], step)), np.concatenate((step, [m.size]))):
                rows = slice(first[a], first[a] + (b - a)) if b - a > 1 and first[b - 1] - first[a] == b - a - 1 \
                    else first[a:b]
                dots = [np.einsum("ij,ij->i", w[rows], coef[a:b]) for w in windows]
                out[start + a:start + b] = dots[0] if len(dots) == 1 else dots[0] + 1j * dots[1]
        self._next_out += n_out
        keep = min(taps, len(buf))  # >= taps - 1: the next output's window is all in here
        self._buf_start = end - keep
        self._buf = buf[len(buf) - keep:].copy()
        return out
