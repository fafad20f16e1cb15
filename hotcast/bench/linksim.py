"""One seeded point of any profile's link, end to end, for the link bench: carousel frames ->
``FrameGen`` -> ``TxChain`` -> a channel -> ``RxChain`` -> ``FrameSync``; how many frames came
through, and the raw channel BER the frame layer saw.

The FM part is bench/fm_linksim.py's streaming loop (which stays with the pytest benches for
its echoes and CNR sweeps, and takes its carousel and rates from here) made general over every
profile and moved here, into the installed package, so that ``hotcast bench`` runs from an
installed hotcast too. Channels, by profile kind:

- every profile: ``ebn0_db``, white Gaussian noise per *payload* bit on its baseband
  (``modem.channel``: Eb = Ps / Rb with Rb the net payload rate, frame overhead and 10 %
  repair blocks counted). Ps is the data signal's own power: the subcarrier's for an MPX (the
  programme is not data), the whole sound for audio, and the 38 kHz carrier's mean power
  (bursts and silences) for ``ir``, whose carrier is rendered at 96 kHz and read back by the
  profile's own edge detector;
- MPX profiles: ``cnr_db``, complex noise on the complete FM signal at 1.2 MHz (the CNR at the
  dongle), with the tuner's ``freq_offset_hz`` and the receiver clock's ``ppm``;
- audio profiles: ``codec`` (an ffmpeg round trip, ``modem.codec``), ``freq_offset_hz`` (the
  whole sound shifted in frequency, as a mistuned SSB receiver does), ``ppm``;
- ``ir``: ``ir`` (``modem.impairments.IrChannelConfig``: edge jitter, burst drops, ...).

Frames count by their block: the bundle holds one block per frame (none goes out twice), and a
frame counts when its block comes out of FrameSync intact. All randomness is seeded.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np
from scipy import signal as sps

import modem
from framing.carousel import segment
from framing.frames import FrameGen
from framing.framesync import FrameSync
from framing.profiles import frame_config
from modem.channel import ChannelConfig, ChannelSimulator
from modem.codec import CodecConfig, round_trip
from modem.impairments import IrChannelConfig, apply_ir_channel
from modem.profiles import Baseband, InputKind
from modem.txchain import TxChain, TxOptions

IQ_RATE_HZ = 1_200_000
MPX_RATE_HZ = 228_000
IR_CARRIER_RATE_HZ = 96_000
LEAD_IN_BITS = 4_000  # random bits before the first frame and after the last, as on air
_CHUNK_S = 0.5


def payload_efficiency(profile: str) -> float:
    """Payload bits per channel bit: frame efficiency / (1 + repair ratio)."""
    cfg = frame_config(profile)
    return cfg.efficiency / (1 + cfg.repair_ratio)


def net_rate(profile: str) -> float:
    """Payload bit rate (bit/s)."""
    return modem.PROFILES[profile].bits_per_second * payload_efficiency(profile)


def frame_seconds(profile: str) -> float:
    return frame_config(profile).frame_bits / modem.PROFILES[profile].bits_per_second


@dataclass(frozen=True)
class LinkPoint:
    """One point of one link: ``frames`` frames through one channel (see the module docstring)."""

    profile: str
    frames: int
    ebn0_db: float | None = None
    cnr_db: float | None = None
    freq_offset_hz: float = 0.0
    ppm: float = 0.0
    with_programme: bool = False
    codec: CodecConfig | None = None
    ir: IrChannelConfig | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        kind = modem.modem_profile(self.profile).baseband  # ValueError naming the profiles
        if self.frames < 2:
            raise ValueError(f"frames must be >= 2, got {self.frames}")
        if self.ebn0_db is not None and self.cnr_db is not None:
            raise ValueError("give ebn0_db or cnr_db, not both")
        if self.cnr_db is not None and kind is not Baseband.MPX:
            raise ValueError(f"cnr_db is noise in the FM I/Q: profile {self.profile} has none")
        if self.freq_offset_hz and kind is Baseband.MPX and self.cnr_db is None:
            raise ValueError("a tuner offset needs the FM I/Q: give cnr_db")
        if self.freq_offset_hz and kind is Baseband.PULSES:
            raise ValueError("profile ir has no frequency offset to give")
        if self.codec is not None and kind is not Baseband.AUDIO:
            raise ValueError(f"a codec applies to sound, not to profile {self.profile}")
        if self.ir is not None and (kind is not Baseband.PULSES or self.ebn0_db is not None):
            raise ValueError("an IR pulse channel applies to profile ir's pulses, without ebn0_db")
        if self.with_programme and kind is not Baseband.MPX:
            raise ValueError(f"profile {self.profile} has no multiplex to carry a programme")


@dataclass(frozen=True)
class LinkResult:
    point: LinkPoint
    sent: int
    decoded: int
    raw_ber: float | None  # channel bit errors the decoder corrected, over decoded codewords
    codewords: int
    codeword_failures: int
    cpu_s: float  # process time of the receive side (RxChain + FrameSync)

    @property
    def fer(self) -> float:
        return 1.0 - self.decoded / self.sent


def carousel(profile: str, frames: int, seed: int) -> tuple[list, np.ndarray]:
    """(blocks, bits): lead-in bits, ``frames`` frames of one block each, tail bits."""
    cfg = frame_config(profile)
    rng = np.random.default_rng(seed)
    k = max(1, int(frames / (1 + cfg.repair_ratio)))  # K source + ceil(10 % K) repair >= frames
    bundle = rng.integers(0, 256, k * cfg.block_bytes - 7, dtype=np.uint8).tobytes()
    blocks = segment(bundle, 1, 7, cfg)[:frames]
    lead = rng.integers(0, 2, LEAD_IN_BITS).astype(np.uint8)
    tail = rng.integers(0, 2, LEAD_IN_BITS).astype(np.uint8)
    return blocks, np.concatenate([lead, FrameGen(cfg).process(blocks), tail])


def frequency_shift(x: np.ndarray, shift_hz: float, rate_hz: float) -> np.ndarray:
    """Real sound moved up by ``shift_hz`` (down if negative): the analytic signal times
    exp(j 2 pi f t), real part. Whole array; float32."""
    analytic = sps.hilbert(np.asarray(x, dtype=np.float64))
    t = np.arange(analytic.size) / rate_hz
    return np.real(analytic * np.exp(2j * np.pi * shift_hz * t)).astype(np.float32)


def _chains(point: LinkPoint):
    """(tx, rx kind, rx rate, channel config or None, whole-array effects wanted)."""
    profile = modem.PROFILES[point.profile]
    kind = profile.baseband
    noise = dict(ebn0_db=point.ebn0_db, payload_bit_rate_bps=net_rate(point.profile)
                 if point.ebn0_db is not None else None)
    if kind is Baseband.MPX and point.cnr_db is not None:
        tx = TxChain(profile, TxOptions(iq_rate_hz=IQ_RATE_HZ, with_programme=point.with_programme,
                                        programme_seed=point.seed))
        channel = ChannelConfig(cnr_db=point.cnr_db, signal_power=1.0,
                                freq_offset_hz=point.freq_offset_hz,
                                sample_rate_offset_ppm=point.ppm, seed=point.seed + 1)
        return tx, InputKind.IQ, IQ_RATE_HZ, channel
    if kind is Baseband.MPX:
        tx = TxChain(profile, TxOptions(baseband_rate_hz=MPX_RATE_HZ,
                                        with_programme=point.with_programme,
                                        programme_seed=point.seed))
        power = tx.level ** 2 / 2  # the subcarrier's: a sine of peak `level`
        return tx, InputKind.BASEBAND, MPX_RATE_HZ, ChannelConfig(
            **noise, signal_power=power, sample_rate_offset_ppm=point.ppm, seed=point.seed + 1)
    if kind is Baseband.AUDIO:
        tx = TxChain(profile, TxOptions())
        return tx, InputKind.BASEBAND, tx.baseband_rate_hz, ChannelConfig(
            **noise, sample_rate_offset_ppm=point.ppm, seed=point.seed + 1)
    if point.ebn0_db is not None:
        tx = TxChain(profile, TxOptions(baseband_rate_hz=IR_CARRIER_RATE_HZ))
        return tx, InputKind.BASEBAND, IR_CARRIER_RATE_HZ, ChannelConfig(**noise,
                                                                        seed=point.seed + 1)
    return TxChain(profile, TxOptions()), InputKind.PULSES, 0, None


def _on_air(tx: TxChain, bits: np.ndarray, step: int):
    """The transmitter's output in pieces of ``step`` bits, then its flush."""
    for i in range(0, bits.size, step):
        yield tx.process(bits[i:i + step])
    yield tx.flush()


def simulate(point: LinkPoint) -> LinkResult:
    """Run ``point``; the receive side's process time is measured alone."""
    profile = modem.PROFILES[point.profile]
    cfg = frame_config(point.profile)
    blocks, bits = carousel(point.profile, point.frames, point.seed)
    tx, kind, rate, channel_cfg = _chains(point)
    step = max(2, int(_CHUNK_S * profile.bits_per_second) // 2 * 2)
    pieces = _on_air(tx, bits, step)
    whole = (point.codec is not None or (point.freq_offset_hz and kind is InputKind.BASEBAND)
             or kind is InputKind.PULSES or (channel_cfg is not None and channel_cfg.ebn0_db
                                             is not None and channel_cfg.signal_power is None))
    if whole:  # effects on the whole signal: codecs, the analytic shift, measured power
        x = np.concatenate(list(pieces))
        if point.codec is not None:
            x = round_trip(x, int(rate), point.codec)
        if point.freq_offset_hz and kind is InputKind.BASEBAND:
            x = frequency_shift(x, point.freq_offset_hz, rate)
        if kind is InputKind.PULSES and point.ir is not None:
            x = apply_ir_channel(x, point.ir)
        if channel_cfg is not None and channel_cfg.signal_power is None:
            power = float(np.mean(np.square(x, dtype=np.float64))) if x.size else 1.0
            channel_cfg = dataclasses.replace(channel_cfg, signal_power=power)
        chunk = max(1, int(_CHUNK_S * rate)) if rate else 4096
        pieces = (x[i:i + chunk] for i in range(0, max(x.size, 1), chunk))
    channel = (None if channel_cfg is None
               else ChannelSimulator(channel_cfg, rate, is_iq=kind is InputKind.IQ))
    rx = modem.RxChain(profile, kind, rate if rate else 1.0)
    sync = FrameSync(cfg)
    found, cpu = [], 0.0
    for piece in pieces:
        if channel is not None:
            piece = channel.process(piece)
        c0 = time.process_time()
        found += sync.process(rx.process(piece))
        cpu += time.process_time() - c0
    c0 = time.process_time()
    found += sync.process(rx.flush())
    cpu += time.process_time() - c0
    got = {f.block for f in found} & set(blocks)
    stats = sync.stats
    return LinkResult(point, len(blocks), len(got), stats.ber_estimate, stats.codewords_decoded,
                      stats.decoder_failures, cpu)
