"""Channel simulator for tests and benches: what a real link does to MPX or I/Q samples.

Effects, applied in this order (the physical order: path, then receiver):
 1. multipath: taps (delay in samples, gain) and     5. additive white Gaussian noise
    echoes (delay in seconds, gain in dB; fractional delays by windowed sinc)
 2. level steps in dB (gain changes at given times)  6. dropouts (zeroed or noise-only spans)
 3. carrier frequency offset (I/Q only)              7. clipping (receiver ADC / line-in)
 4. sample-rate offset in ppm (the receiver's clock; noise, dropouts and clipping then count
    in received samples, so the noise stays white)

Noise is given either as Eb/N0 per payload bit (real MPX or audio) or as CNR (I/Q):

- Eb/N0: with signal power Ps and payload bit rate Rb, Eb = Ps / Rb. Real white noise of
  variance s^2 at rate fs spreads over the one-sided band fs/2, so its one-sided density is
  N0 = s^2 / (fs/2), hence  s^2 = (Ps / Rb) / 10^(EbN0/10) * fs / 2  (``noise_std_for_ebn0``).
- CNR: carrier power C over the noise in CNR_REFERENCE_BANDWIDTH_HZ (200 kHz, about one FM
  channel). Complex noise of variance s^2 at rate fs has density s^2/fs, so
  s^2 = C / 10^(CNR/10) * fs / B_ref (``noise_std_for_cnr``), split equally over I and Q.

CNR at the dongle: with ``cnr_db`` on an I/Q channel the noise is complex and added to the FM
I/Q, before any discriminator, so near the FM threshold (~10 dB in the ±160 kHz channel) the
receiver's own discriminator makes the clicks a real one makes; nothing is added to the MPX.

Echo models (ECHO_3US, ECHO_8US; the issue's two-ray tests): a reflection arriving 3 µs late at
-10 dB, or 8 µs late at -15 dB, beside the direct path. At 1.2 MHz they are 3.6 and 9.6 samples:
fractional, so each echo is a 33-tap Kaiser-windowed sinc (beta 8: flat to 0.4 fs within 0.01 dB
for an FM signal oversampled >= 2.4x) centred on its delay; the direct path is delayed by the
same 16 samples so the two stay aligned.

Invariants: every random draw comes from one ``numpy.random.Generator`` seeded by the config, so
a config and an input give the same output every run; the input array is never modified.
``ChannelSimulator`` streams (output independent of chunking); ``apply_to_mpx`` and
``apply_to_iq`` are its whole-array forms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from modem._resample import ArbitraryResampler, ArbitraryResamplerConfig
from modem.fmiq_config import CNR_REFERENCE_BANDWIDTH_HZ, DEVIATION_HZ

ECHO_3US = ((3e-6, -10.0),)  # two-ray: echo 3 µs late, 10 dB down
ECHO_8US = ((8e-6, -15.0),)  # two-ray: echo 8 µs late, 15 dB down
_ECHO_HALF_TAPS = 16  # each echo: 2 x 16 + 1 taps of windowed sinc (see the docstring)


def echo_taps(echoes: tuple[tuple[float, float], ...], sample_rate_hz: float) -> np.ndarray:
    """FIR of the direct path (delayed _ECHO_HALF_TAPS samples) plus each (delay_s, gain_db)
    echo as a windowed sinc centred _ECHO_HALF_TAPS + delay_s * rate samples in. float64."""
    h = _ECHO_HALF_TAPS
    length = 2 * h + 1 + int(np.ceil(max((d for d, _ in echoes), default=0.0) * sample_rate_hz))
    taps = np.zeros(length)
    taps[h] = 1.0
    n = np.arange(length)
    for delay_s, gain_db in echoes:
        centre = h + delay_s * sample_rate_hz
        x = n - centre
        window = np.where(np.abs(x) <= h, np.i0(8.0 * np.sqrt(np.clip(1 - (x / h) ** 2, 0, 1))) / np.i0(8.0), 0)
        taps += 10 ** (gain_db / 20) * np.sinc(x) * window
    return taps


def noise_std_for_ebn0(
    signal_power: float, payload_bit_rate_bps: float, ebn0_db: float, sample_rate_hz: float
) -> float:
    """Std of real white noise giving ``ebn0_db`` per payload bit (derivation in the docstring)."""
    if signal_power <= 0 or payload_bit_rate_bps <= 0 or sample_rate_hz <= 0:
        raise ValueError("signal_power, payload_bit_rate_bps and sample_rate_hz must be > 0")
    eb = signal_power / payload_bit_rate_bps
    n0 = eb / 10 ** (ebn0_db / 10)
    return math.sqrt(n0 * sample_rate_hz / 2)


def noise_std_for_cnr(carrier_power: float, cnr_db: float, sample_rate_hz: float) -> float:
    """Std (total, |n|^2) of complex white noise giving ``cnr_db`` in the reference bandwidth."""
    if carrier_power <= 0 or sample_rate_hz <= 0:
        raise ValueError("carrier_power and sample_rate_hz must be > 0")
    return math.sqrt(
        carrier_power / 10 ** (cnr_db / 10) * sample_rate_hz / CNR_REFERENCE_BANDWIDTH_HZ
    )


def cnr_for_subcarrier_ebn0(
    ebn0_db: float,
    subcarrier_power: float,
    payload_bit_rate_bps: float,
    subcarrier_hz: float = 76_000.0,
    deviation_hz: float = DEVIATION_HZ,
) -> float:
    """CNR (dB, in CNR_REFERENCE_BANDWIDTH_HZ) that leaves ``ebn0_db`` per payload bit on an MPX
    subcarrier after the FM discriminator.

    Above threshold, complex noise of density N0 next to a carrier of power C gives phase noise
    N0 / (2C) two-sided, so frequency noise N0 f^2 / C one-sided (Hz^2/Hz), i.e. MPX noise
    density N0 f^2 / (C dev^2) at frequency f (the FM "triangle"; tests/modem/test_fmiq.py
    measures it). With Eb = Ps / Rb and C / N0 = CNR * B_ref:
        Eb/N0 = (Ps / Rb) * CNR * B_ref * dev^2 / f^2.
    For a band rather than a tone, pass the rms frequency sqrt(mean f^2) of the band.
    """
    if min(subcarrier_power, payload_bit_rate_bps, subcarrier_hz, deviation_hz) <= 0:
        raise ValueError("subcarrier_power, payload_bit_rate_bps, subcarrier_hz, deviation_hz > 0")
    eb = subcarrier_power / payload_bit_rate_bps
    scale = eb * CNR_REFERENCE_BANDWIDTH_HZ * deviation_hz**2 / subcarrier_hz**2
    return ebn0_db - 10 * math.log10(scale)


@dataclass(frozen=True)
class ChannelConfig:
    """A channel; every field defaults to "no effect". Times in seconds (gain steps on the sent
    signal, dropouts on the received one: they differ only by the ppm offset).

    signal_power: Ps for Eb/N0 or C for CNR; None = measure mean |x|^2 of the input.
    gain_steps_db: ((start_s, gain_db), ...): from start_s on, the level is gain_db.
    multipath_taps: ((delay_samples, gain), ...) added to the direct path (gain 1 at delay 0).
    echoes: ((delay_s, gain_db), ...) reflections at any delay (ECHO_3US, ECHO_8US).
    dropouts_s: ((start_s, duration_s), ...); dropout_noise_only keeps the noise in them.
    clip_level: |sample| limit (I and Q clipped separately), None = no clipping.
    resampler_taps_per_phase: cost/fidelity of the ppm resampler; None = 48 for a real MPX
    (flat to 0.41 fs) and 16 for I/Q (flat to ~0.3 fs: an FM signal oversampled at >= 1 MHz).
    """

    ebn0_db: float | None = None
    payload_bit_rate_bps: float | None = None
    cnr_db: float | None = None
    signal_power: float | None = None
    freq_offset_hz: float = 0.0
    sample_rate_offset_ppm: float = 0.0
    gain_steps_db: tuple[tuple[float, float], ...] = ()
    multipath_taps: tuple[tuple[int, complex], ...] = ()
    echoes: tuple[tuple[float, float], ...] = ()
    dropouts_s: tuple[tuple[float, float], ...] = ()
    dropout_noise_only: bool = False
    clip_level: float | None = None
    resampler_taps_per_phase: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.ebn0_db is not None and self.cnr_db is not None:
            raise ValueError("give ebn0_db or cnr_db, not both")
        if self.ebn0_db is not None and not (self.payload_bit_rate_bps or 0) > 0:
            raise ValueError("ebn0_db needs payload_bit_rate_bps > 0")
        if self.signal_power is not None and self.signal_power <= 0:
            raise ValueError(f"signal_power must be > 0, got {self.signal_power}")
        if abs(self.sample_rate_offset_ppm) > 10_000:
            raise ValueError(f"sample_rate_offset_ppm out of range: {self.sample_rate_offset_ppm}")
        for delay, _ in self.multipath_taps:
            if int(delay) != delay or delay < 1:
                raise ValueError(f"multipath_taps delays must be integers >= 1, got {delay}")
        for delay_s, _ in self.echoes:
            if not 0 < delay_s <= 1e-3:
                raise ValueError(f"echoes delays must be in (0, 1 ms], got {delay_s}")
        for start, duration in self.dropouts_s:
            if start < 0 or duration < 0:
                raise ValueError(f"dropouts_s entries must be >= 0, got {(start, duration)}")
        if self.clip_level is not None and self.clip_level <= 0:
            raise ValueError(f"clip_level must be > 0, got {self.clip_level}")


def _ppm_resampler(ppm: float, taps: int, complex_samples: bool) -> ArbitraryResampler:
    # A receiver clock fast by ppm takes (1 + ppm 1e-6) samples per transmitted sample.
    # Transition ~ (70 - 8) / (14.36 taps) of fs (see ResamplerConfig): 0.09 fs for 48 taps.
    return ArbitraryResampler(ArbitraryResamplerConfig(1 + ppm * 1e-6, taps_per_phase=taps,
                                                       complex_samples=complex_samples))


class ChannelSimulator:
    """Streaming form of the channel: ``process(block) -> block`` over consecutive blocks.

    Output is identical whatever the chunking (position counters, carried multipath history
    and resampler state; noise drawn as one sequential stream). ``signal_power`` must be given
    when noise is asked for, since a stream cannot be measured ahead.
    """

    def __init__(self, config: ChannelConfig, sample_rate_hz: float, is_iq: bool) -> None:
        if sample_rate_hz <= 0:
            raise ValueError(f"sample_rate_hz must be > 0, got {sample_rate_hz}")
        if not is_iq and (config.freq_offset_hz or config.cnr_db is not None):
            raise ValueError("freq_offset_hz and cnr_db apply to I/Q, not to a real MPX")
        if is_iq and config.ebn0_db is not None:
            raise ValueError("give I/Q noise as cnr_db; ebn0_db is for a real MPX")
        if (config.ebn0_db is not None or config.cnr_db is not None) and not config.signal_power:
            raise ValueError("signal_power is needed to set the noise level of a stream")
        self.config = config
        self.sample_rate_hz = sample_rate_hz
        self.is_iq = is_iq
        self._dtype = np.complex64 if is_iq else np.float32
        fs = sample_rate_hz
        if config.ebn0_db is not None:
            self._std = noise_std_for_ebn0(config.signal_power, config.payload_bit_rate_bps,
                                           config.ebn0_db, fs)
        elif config.cnr_db is not None:
            self._std = noise_std_for_cnr(config.signal_power, config.cnr_db, fs)
        else:
            self._std = 0.0
        self._steps = sorted((int(round(t * fs)), 10 ** (g / 20)) for t, g in config.gain_steps_db)
        self._drops = [(int(round(t * fs)), int(round((t + d) * fs))) for t, d in config.dropouts_s]
        self._taps = [(int(d), g if is_iq else float(np.real(g))) for d, g in config.multipath_taps]
        self._history = max((d for d, _ in self._taps), default=0)
        self._echo = echo_taps(config.echoes, fs).astype(np.float32) if config.echoes else None
        self.reset()

    def reset(self) -> None:
        self._rng = np.random.default_rng(self.config.seed)
        self._pos = 0
        self._out_pos = 0
        self._past = np.zeros(self._history, dtype=self._dtype)
        self._echo_tail = np.zeros(0 if self._echo is None else self._echo.size - 1, dtype=self._dtype)
        ppm = self.config.sample_rate_offset_ppm
        taps = self.config.resampler_taps_per_phase or (16 if self.is_iq else 48)
        self._resampler = _ppm_resampler(ppm, taps, self.is_iq) if ppm else None

    def __repr__(self) -> str:
        return f"ChannelSimulator({self.config!r}, sample_rate_hz={self.sample_rate_hz})"

    def process(self, block: np.ndarray) -> np.ndarray:
        x = np.asarray(block, dtype=self._dtype)
        n, p0 = x.size, self._pos
        y = x.copy()
        if self._taps:
            ext = np.concatenate([self._past, x])
            for delay, gain in self._taps:
                y += (gain * ext[self._history - delay:self._history - delay + n]).astype(
                    self._dtype)
            self._past = ext[ext.size - self._history:]
        if self._echo is not None:
            ext = np.concatenate([self._echo_tail, y])
            self._echo_tail = ext[n:]
            if self.is_iq:
                y = (np.convolve(ext.real, self._echo, "valid")
                     + 1j * np.convolve(ext.imag, self._echo, "valid")).astype(self._dtype)
            else:
                y = np.convolve(ext, self._echo, "valid").astype(self._dtype)
        if self._steps:
            idx = np.arange(p0, p0 + n)
            level = np.ones(n, dtype=np.float32)
            for start, gain in self._steps:
                level[idx >= start] = gain
            y *= level
        if self.is_iq and self.config.freq_offset_hz:
            y *= self._rotation(p0, n)
        self._pos += n
        if self._resampler is not None:  # the receiver's clock: from here on, output samples
            y = self._resampler.process(y)
        q0, m = self._out_pos, y.size
        self._out_pos += m
        noise = self._draw(m)
        for a, b in self._drops:
            lo, hi = max(a - q0, 0), min(b - q0, m)
            if lo < hi:
                y[lo:hi] = 0
                if not self.config.dropout_noise_only and noise is not None:
                    noise[lo:hi] = 0
        if noise is not None:
            y += noise
        c = self.config.clip_level
        if c is not None:
            if self.is_iq:
                y = (np.clip(y.real, -c, c) + 1j * np.clip(y.imag, -c, c)).astype(self._dtype)
            else:
                y = np.clip(y, -c, c)
        return y.astype(self._dtype, copy=False)

    def _rotation(self, p0: int, n: int) -> np.ndarray:
        """exp(j w k) for k in [p0, p0 + n): per 4096-sample block one exact exponential times
        a shared ramp, so the value of sample k does not depend on p0 (chunking)."""
        w = 2 * np.pi * self.config.freq_offset_hz / self.sample_rate_hz
        b0, b1 = p0 // 4096, -(-(p0 + n) // 4096)
        ramp = np.exp(1j * w * np.arange(4096)).astype(np.complex64)
        rot = np.exp(1j * w * 4096 * np.arange(b0, b1, dtype=np.float64)).astype(np.complex64)
        full = (rot[:, None] * ramp[None, :]).ravel()
        return full[p0 - b0 * 4096:p0 - b0 * 4096 + n]

    def _draw(self, n: int) -> np.ndarray | None:
        if not self._std:
            return None
        if self.is_iq:  # one interleaved real stream: the same draws whatever the chunking
            pairs = self._rng.standard_normal(2 * n, dtype=np.float32)
            return pairs.view(np.complex64) * np.float32(self._std / math.sqrt(2))
        return self._rng.standard_normal(n, dtype=np.float32) * np.float32(self._std)


def _measured(x: np.ndarray, config: ChannelConfig) -> ChannelConfig:
    if config.signal_power is not None:
        return config
    power = float(np.mean(np.abs(x) ** 2)) if np.size(x) else 1.0
    return replace(config, signal_power=max(power, 1e-30))


def apply_to_mpx(mpx: np.ndarray, sample_rate_hz: float, config: ChannelConfig) -> np.ndarray:
    """Real baseband (MPX, audio, detector output) through the channel -> float32.

    Without ``signal_power`` the noise is set from the mean power of ``mpx`` itself.
    """
    if np.iscomplexobj(mpx):
        raise ValueError("apply_to_mpx takes a real array; use apply_to_iq for I/Q")
    return ChannelSimulator(_measured(mpx, config), sample_rate_hz, is_iq=False).process(mpx)


def apply_to_iq(iq: np.ndarray, sample_rate_hz: float, config: ChannelConfig) -> np.ndarray:
    """Complex I/Q through the channel -> complex64; noise as ``cnr_db``."""
    return ChannelSimulator(_measured(iq, config), sample_rate_hz, is_iq=True).process(iq)
