"""The modem's one table of profiles: what each link is, what it takes, and its twin chains.

A profile is one ``ModemProfile`` entry of ``PROFILES`` (its twin entry, frame and block sizes,
is ``framing.PROFILES``; a test checks both tables name the same profiles). Nothing above the
leaves names a profile or restates a rate: ``center`` and ``receiver`` ask this table.

An entry holds its name, its format version, what its baseband is (an FM multiplex, sound, or
infrared pulse timings), whether it also takes a complete FM signal as I/Q, its rates (the
internal rate its receive chain runs at, the baseband rates it accepts, the defaults), the level
its transmitter puts out, and two factories, ``make_modulator`` and ``make_demodulator``, that
build the profile's own stages for a given rate. ``modem.txchain.TxChain`` and
``modem.rxchain.RxChain`` compose those stages with what every profile of a baseband kind
shares (the programme and the FM I/Q modulator on the way out; the FM I/Q front end and the one
resampler to the internal rate on the way in), so a transmit chain and its receive chain are
built in one place each.

Invariants: every entry is checked at import (``__post_init__``): rates ordered and positive,
the default rate inside the accepted range, the level range sane; ``PROFILES`` is read-only.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from .audio_config import AUDIO, AUDIO_ROBUST, AudioConfig
from .fm import SubcarrierDemodulator, SubcarrierModulator
from .fm_config import FM, FM_ROBUST, FmSubcarrierConfig
from .ir import IrDemodulator, IrModulator
from .ir_config import IR, IrConfig
from .ir_wave import IrCarrierRenderer, IrDetectorConfig, IrEdgeDetector, IrRenderConfig
from .fmiq_config import MAX_IQ_RATE_HZ, MIN_IQ_RATE_HZ

if TYPE_CHECKING:  # imported by its factories: it loads scipy.signal, which FM receivers skip
    from .audio import AudioDemodulator, AudioModulator

__all__ = ["Baseband", "InputKind", "ModemProfile", "PROFILES", "modem_profile", "profile_names"]


class Baseband(enum.Enum):
    """What a profile's baseband signal is."""

    MPX = "mpx"  # an FM multiplex (float32, 1.0 = 75 kHz deviation) holding a data subcarrier
    AUDIO = "audio"  # sound for a line-in (float32, 1.0 = full scale)
    PULSES = "pulses"  # infrared pulse timings (signed microseconds) or a detector waveform


class InputKind(enum.Enum):
    """What a receive chain is fed."""

    IQ = "iq"  # a complete FM broadcast signal as complex I/Q
    BASEBAND = "baseband"  # real samples of the profile's baseband (MPX, sound, detector output)
    PULSES = "pulses"  # signed mark/space durations in microseconds (``.ir`` text)


@dataclass(frozen=True)
class ModemProfile:
    """One link. Rates in Hz; ``level`` is the profile's transmit level (the subcarrier's
    injection as a fraction of 75 kHz for MPX profiles, peak amplitude for audio)."""

    name: str
    summary: str
    version: int  # profile format version: bumped when the waveform changes incompatibly
    baseband: Baseband
    takes_iq: bool  # also receivable (and renderable) as a complete FM I/Q signal
    config: Any  # the preset configuration of the profile's modem (has bits_per_second)
    band_hz: tuple[float, float]  # occupied band of the baseband signal
    internal_rate_hz: int  # baseband rate the receive chain runs at
    # True when the demodulator's own front end (mix down, low-pass, decimate) is the one
    # change of rate and takes any accepted rate: the chain then feeds it the input as it is.
    demodulates_any_rate: bool
    baseband_rates_hz: tuple[int, int]  # accepted baseband input / output rates, inclusive
    default_baseband_rate_hz: int
    default_level: float
    level_range: tuple[float, float]  # (exclusive low, inclusive high)
    lead_in_bits: int  # bits a receiver spends acquiring before its first frame can decode
    make_modulator: Callable[[Any, int, float], Any]  # (config, rate_hz, level) -> stage
    make_demodulator: Callable[[Any, int], Any]  # (config, rate_hz) -> stage
    input_formats: tuple[str, ...]  # sample formats its receive chain reads
    # Baseband rates a transmitter can put out (None: any of baseband_rates_hz). For pulse
    # profiles this is the carrier waveform for an emitter; pulses themselves have no rate.
    tx_rates_hz: tuple[int, ...] | None = None
    # Pulse profiles only: (durations -> carrier waveform at a rate) and (detector waveform at
    # a rate -> durations) stage factories: (rate_hz, level) and (rate_hz).
    make_pulse_renderer: Callable[[int, float], Any] | None = None
    make_edge_detector: Callable[[int], Any] | None = None

    def __post_init__(self) -> None:
        lo, hi = self.baseband_rates_hz
        if not 0 < lo <= hi:
            raise ValueError(f"{self.name}: baseband_rates_hz {self.baseband_rates_hz} must be 0 < lo <= hi")
        for field in ("default_baseband_rate_hz", "internal_rate_hz"):
            if not lo <= getattr(self, field) <= hi:
                raise ValueError(f"{self.name}: {field} {getattr(self, field)} is outside "
                                 f"baseband_rates_hz {self.baseband_rates_hz}")
        if self.baseband is not Baseband.PULSES and not (
                0 <= self.band_hz[0] < self.band_hz[1] < lo / 2):
            raise ValueError(f"{self.name}: band_hz {self.band_hz} must fit below half the "
                             f"lowest rate {lo}")
        if (self.baseband is Baseband.PULSES) != (self.make_pulse_renderer is not None
                                                  and self.make_edge_detector is not None):
            raise ValueError(f"{self.name}: pulse profiles, and they only, have a pulse renderer "
                             "and an edge detector")
        low, high = self.level_range
        if not low < self.default_level <= high:
            raise ValueError(f"{self.name}: default_level {self.default_level} outside level_range")
        if self.version < 1 or self.lead_in_bits < 0:
            raise ValueError(f"{self.name}: version must be >= 1 and lead_in_bits >= 0")

    @property
    def bits_per_second(self) -> float:
        """Raw channel bit rate."""
        return float(self.config.bits_per_second)

    @property
    def iq_rates_hz(self) -> tuple[int, int] | None:
        """Accepted FM I/Q rates, or None when the profile is not carried on an FM signal."""
        return (MIN_IQ_RATE_HZ, MAX_IQ_RATE_HZ) if self.takes_iq else None

    @property
    def input_kinds(self) -> tuple[InputKind, ...]:
        kinds = (InputKind.IQ,) if self.takes_iq else ()
        kinds += (InputKind.BASEBAND,)
        if self.baseband is Baseband.PULSES:
            kinds += (InputKind.PULSES,)
        return kinds

    def check_rate(self, kind: InputKind, rate_hz: float) -> float:
        """``rate_hz`` if this profile takes ``kind`` input at it, else ValueError naming both."""
        if kind not in self.input_kinds:
            raise ValueError(f"profile {self.name} takes no {kind.value} input "
                             f"(it takes {', '.join(k.value for k in self.input_kinds)})")
        if kind is InputKind.PULSES:
            return rate_hz
        lo, hi = self.iq_rates_hz if kind is InputKind.IQ else self.baseband_rates_hz
        if isinstance(rate_hz, bool) or not isinstance(rate_hz, (int, float)) or not (
                math.isfinite(rate_hz) and lo <= rate_hz <= hi):
            what = "FM I/Q" if kind is InputKind.IQ else f"{self.baseband.value} baseband"
            raise ValueError(f"{what} at {_hz(rate_hz)} is not a rate profile {self.name} can "
                             f"use: give {_hz(lo)} to {_hz(hi)}")
        return float(rate_hz)

    def check_tx_rate(self, rate_hz: float) -> int:
        """``rate_hz`` if a transmitter of this profile can put its baseband out at it."""
        self.check_rate(InputKind.BASEBAND, rate_hz)
        if self.tx_rates_hz is not None and rate_hz not in self.tx_rates_hz:
            rates = ", ".join(_hz(r) for r in self.tx_rates_hz)
            raise ValueError(f"profile {self.name} transmits at {rates}, not {_hz(rate_hz)}")
        return int(rate_hz)

    def check_level(self, level: float) -> float:
        low, high = self.level_range
        if not (isinstance(level, (int, float)) and math.isfinite(level) and low < level <= high):
            raise ValueError(f"level {level!r} of profile {self.name} must be above {low} and "
                             f"at most {high}")
        return float(level)

    def modulator(self, rate_hz: int | None, level: float | None = None) -> Any:
        """The profile's modulator: bits -> baseband samples at ``rate_hz`` (pulse profiles:
        None, bits -> signed microsecond durations)."""
        if rate_hz is not None and self.baseband is not Baseband.PULSES:
            self.check_tx_rate(rate_hz)
        return self.make_modulator(self.config, None if rate_hz is None else int(rate_hz),
                                   self.default_level if level is None else self.check_level(level))

    def demodulator(self, rate_hz: int) -> Any:
        """The profile's demodulator at baseband rate ``rate_hz``: samples -> soft bits."""
        self.check_rate(InputKind.BASEBAND, rate_hz)
        return self.make_demodulator(self.config, int(rate_hz))


def _hz(rate: object) -> str:
    """A rate for people: ``1.2 MHz``, ``228 kHz``, ``48 kHz``."""
    if not isinstance(rate, (int, float)) or not math.isfinite(rate):
        return repr(rate)
    for unit, scale in (("MHz", 1e6), ("kHz", 1e3)):
        if abs(rate) >= scale:
            return f"{rate / scale:.6g} {unit}"
    return f"{rate:.6g} Hz"


# -- fm: the data subcarrier in the FM multiplex -------------------------------------------------


def _fm_modulator(config: FmSubcarrierConfig, rate_hz: int, level: float) -> SubcarrierModulator:
    return SubcarrierModulator(dataclasses.replace(config, sample_rate_hz=float(rate_hz),
                                                   injection=level))


def _fm_demodulator(config: FmSubcarrierConfig, rate_hz: int) -> SubcarrierDemodulator:
    return SubcarrierDemodulator(dataclasses.replace(config, sample_rate_hz=float(rate_hz)))


def _mpx_rate_floor(config: FmSubcarrierConfig) -> int:
    """First MPX rate that holds the subcarrier's top edge below Nyquist (the modem's own check:
    2 x top < rate)."""
    return math.floor(2 * (config.carrier_hz + config.bandwidth_hz / 2)) + 1


# Sound cards top out at 192 kHz; SDR tools resample MPX up to a few MHz; the modem takes 20 MHz.
_MPX_MAX_RATE_HZ = 2_400_000
_MPX_FORMATS = ("cu8", "cs8", "cf32", "wav", "s16le", "f32le")

def _audio_modulator(config: AudioConfig, rate_hz: int, level: float) -> AudioModulator:
    from .audio import AudioModulator

    return AudioModulator(dataclasses.replace(config, sample_rate_hz=float(rate_hz),
                                              level_dbfs=level))


def _audio_demodulator(config: AudioConfig, rate_hz: int) -> AudioDemodulator:
    from .audio import AudioDemodulator

    return AudioDemodulator(dataclasses.replace(config, sample_rate_hz=float(rate_hz)))


def _audio_profile(name: str, summary: str, config: AudioConfig) -> ModemProfile:
    """A sound profile: OFDM at 48 kHz; other input rates are resampled to it at the edge."""
    return ModemProfile(
        name=name,
        summary=summary,
        version=1,
        baseband=Baseband.AUDIO,
        takes_iq=False,
        config=config,
        band_hz=(config.band_low_hz, config.band_high_hz),
        # The OFDM carrier spacing is rate / FFT size: the waveform exists at one rate only,
        # 48 kHz; a 44.1 kHz (or 96 kHz) card is resampled to it once, at the source edge.
        internal_rate_hz=48_000,
        demodulates_any_rate=False,
        # From the lowest rate that holds the band's top below Nyquist (a card at 8 kHz cannot
        # carry an 11 kHz band) up to 192 kHz cards.
        baseband_rates_hz=(max(8_000, math.floor(2 * config.band_high_hz) + 1), 192_000),
        default_baseband_rate_hz=48_000,
        default_level=config.level_dbfs,  # RMS level, dBFS
        level_range=(-60.0, 0.0),
        lead_in_bits=0,  # the modulator opens every transmission with training symbols
        make_modulator=_audio_modulator,
        make_demodulator=_audio_demodulator,
        input_formats=("wav", "s16le", "f32le"),
        tx_rates_hz=(48_000,),
    )


def _ir_modulator(config: IrConfig, rate_hz: int | None, level: float) -> IrModulator:
    return IrModulator(config)


def _ir_demodulator(config: IrConfig, rate_hz: int) -> IrDemodulator:
    return IrDemodulator(config)


def _ir_renderer(rate_hz: int, level: float) -> IrCarrierRenderer:
    return IrCarrierRenderer(IrRenderConfig(sample_rate_hz=int(rate_hz), amplitude=level))


def _ir_detector(rate_hz: int) -> IrEdgeDetector:
    return IrEdgeDetector(IrDetectorConfig(sample_rate_hz=float(rate_hz)))


def _fm_profile(name: str, summary: str, config: FmSubcarrierConfig) -> ModemProfile:
    """An FM-multiplex subcarrier profile: the same chains, rates and level for every config."""
    return ModemProfile(
        name=name,
        summary=summary,
        version=2,  # 2: coherent QPSK with soft decisions (LDPC frames); 1 was DE-QPSK with RS
        baseband=Baseband.MPX,
        takes_iq=True,
        config=config,
        band_hz=(config.carrier_hz - config.bandwidth_hz / 2,
                 config.carrier_hz + config.bandwidth_hz / 2),
        # 228 kHz = 12 x 19 kHz pilot: the rate `rtl_fm -s 228k` pipes and darc2json use.
        internal_rate_hz=228_000,
        # The subcarrier demodulator mixes 76 kHz down and decimates to 4-5 samples a symbol
        # from any MPX rate; resampling a 192 kHz line-in to 228 kHz first would need a
        # ~120-tap filter (the band reaches 88.8 kHz of the 96 kHz Nyquist) and ran at 9x real
        # time, against 63x for the demodulator alone (measured, one core).
        demodulates_any_rate=True,
        baseband_rates_hz=(_mpx_rate_floor(config), _MPX_MAX_RATE_HZ),
        default_baseband_rate_hz=228_000,
        default_level=0.10,  # 10 % injection = 7.5 kHz, DARC's figure
        level_range=(0.0, 0.5),  # 0.5 x peak factor 1.6 = 0.8 of the deviation at most
        # The demodulator spends ~2 000 bits acquiring timing and carrier: 4 000 bits (an even
        # number: frames start on a symbol) = 0.105 s at 38 kbit/s.
        lead_in_bits=4_000,
        make_modulator=_fm_modulator,
        make_demodulator=_fm_demodulator,
        input_formats=_MPX_FORMATS,
    )


PROFILES: Mapping[str, ModemProfile] = MappingProxyType({
    "fm": _fm_profile("fm", "data subcarrier at 76 kHz in the FM multiplex, above RDS: "
                      "19 kBd QPSK, 38 kbit/s raw", FM),
    "fm-robust": _fm_profile("fm-robust", "the same 76 kHz slot at 11 kBd with a rate-1/2 "
                             "code: ~5 dB more sensitive, 9.5 kbit/s net", FM_ROBUST),
    "audio": _audio_profile("audio", "OFDM 16-QAM on 58 carriers, 560 Hz-11.25 kHz, for a line-in "
                             "fed by a dedicated audio channel or cable: 36 kbit/s raw", AUDIO),
    "audio-robust": _audio_profile("audio-robust", "OFDM QPSK on 53 carriers, 420 Hz-2.9 kHz, for "
                                   "a telephone-grade path or a poor radio: 3.9 kbit/s raw",
                                   AUDIO_ROBUST),
    "ir": ModemProfile(
        name="ir",
        summary="38 kHz infrared, pulse-distance code for TSOP-type receiver modules: 2 kbit/s raw",
        version=1,
        baseband=Baseband.PULSES,
        takes_iq=False,
        config=IR,
        band_hz=(IR.carrier_hz - 1_000, IR.carrier_hz + 1_000),
        # A detector waveform (WAV of a TSOP's output) is read at any rate from 8 kHz (125 us
        # edges, well inside the 225 us lattice) up; the edge detector is its one rate change.
        internal_rate_hz=48_000,
        demodulates_any_rate=True,
        baseband_rates_hz=(8_000, 1_000_000),
        default_baseband_rate_hz=48_000,
        default_level=0.9,  # carrier amplitude of an emitter's WAV, of full scale
        level_range=(0.0, 1.0),
        lead_in_bits=0,  # each block opens with a sync burst: no acquisition lead needed
        make_modulator=_ir_modulator,
        make_demodulator=_ir_demodulator,
        input_formats=("ir", "wav", "s16le", "f32le"),
        tx_rates_hz=(96_000, 192_000),  # the carrier needs > 2 x 38 kHz
        make_pulse_renderer=_ir_renderer,
        make_edge_detector=_ir_detector,
    ),
})


def profile_names() -> tuple[str, ...]:
    """The names of the table's profiles, in table order (read at call time)."""
    return tuple(PROFILES)


def modem_profile(name: str) -> ModemProfile:
    """The entry of ``name``; ValueError naming the known profiles otherwise."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r} (known: {', '.join(PROFILES)})") from None
