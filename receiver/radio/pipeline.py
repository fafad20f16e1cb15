"""The streaming receive pipeline: samples in, completed sealed bundles and quality events out.

Chain for any profile (each stage streams, keeps its own state and is chunk-invariant)::

    samples ──► RxChain (the profile's receive chain: FM I/Q front end or one resampler, then
    its demodulator) ──► soft bits ──► FrameSync ──► frames ──► Reassembler ──► bundle bytes

``ReceivePipeline.process(samples) -> list[Event]`` returns typed events (``receiver.events``);
a completed bundle is a ``BundleReceived`` that ``receiver.store.merge`` turns into
``BundleApplied`` / ``BundleHeld`` / ``BundleRejected`` / ... against a terminal store, so this
core never touches a store, a file or the clock.

Invariants:
- Chunk invariance: input is cut into internal blocks of a fixed number of samples
  (``block_s`` of signal) and every event is made at a block end from state that depends
  only on the samples so far, so the events are identical however the caller chunks the
  input (``seconds_of_cpu`` is the CLI's, not ours).
- Constant memory: one internal block of input, the stages' bounded state (FrameSync about
  one frame of bits, the Reassembler at most ``max_partial_bytes``), a few counters.
- Timing: ``stage_seconds`` is the process CPU seconds spent so far per stage, in pipeline
  order: ``fm_demod`` (I/Q front end and discriminator; I/Q input only), ``subcarrier_demod``
  (resampler if any, the profile's demodulator to soft bits), ``frame_sync`` (sync search,
  bookkeeping), ``inner_decode`` (LDPC codewords with the header, CRCs), ``erasure_decode``
  (reassembly); ``receiver.radio.stages`` names the CLI's further stages. A call to an
  announcement vetter is not counted here (the caller times its own).
- Positions: ``sample`` is the number of input samples consumed when the event was made (a
  block end; the chain adds well under a second of delay), ``t_s`` the same in seconds.
- Nothing here raises on bad samples: NaN, inf, silence, clipping and noise become counts
  and ``InputProblem`` events (``no_frames`` at least once for an input without a frame);
  misuse (a rate the profile cannot use) is a ``ValueError`` at construction, naming the field.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from crypto import BundleKind
from framing import AnnouncedBundle
from framing import FrameSync, Reassembler, frame_config
from modem import InputKind, RxChain
from modem.errors import ModemError
from receiver.events import (
    BundleReceived,
    Event,
    InputProblem,
    Position,
    Quality,
    Summary,
    number,
)
from receiver.radio.pipeline_config import PipelineConfig, receive_profiles
from receiver.radio.stages import StageTimer

__all__ = ["PipelineConfig", "ReceivePipeline", "receive_profiles"]

_ANNOUNCE_KIND_BYTE = int(BundleKind.ANNOUNCE)  # offset 4 of a bundle: its kind (crypto.envelope)


def _is_announcement(data: bytes) -> bool:
    return len(data) > 4 and data[:3] == b"HCB" and data[4] == _ANNOUNCE_KIND_BYTE

# Pulse input (infrared durations) is cut into blocks of this many durations (~0.3 s of a
# 1 kbit/s stream): events are made at their ends.
_PULSE_BLOCK = 512
# A sample whose magnitude (each of I and Q) reaches this is taken as clipped: cu8 / s16
# full scale is 1.0, and a real MPX at 1.0 is already 100 % deviation.
_CLIP_LEVEL = 0.999
# "Clipping" is reported when more than 1 % of a block's samples are clipped.
_CLIP_FRACTION = 0.01
# A block whose standard deviation is below this carries nothing (digital silence, a cu8
# stream stuck at one value: one cu8 step is 1 / 127.5 = 7.8e-3).
_FLAT_STD = 1e-4
# "Flat" is reported once the input has stayed flat this long (or when the whole input was
# flat): an ir detector's output rests at one level in the gaps between ir-ctl transmissions
# (125 ms), and a carrier that pauses between files is not a dead input.
_FLAT_MIN_S = 1.0
_FLAT = ("flat", "no signal: the input is flat (silence, or a device stuck at one value)")
# Reported once per quality period while no frame has been found, and at the end of an input
# that never gave one.
_NO_FRAMES = ("no_frames", "no frame found: no data subcarrier here (wrong station, profile "
                           "or --rate?) or too weak")


def _is_flat(x: np.ndarray, lo: float, hi: float) -> bool:
    """std(x) < _FLAT_STD, given x's extremes (see ``ReceivePipeline._check_input``)."""
    if hi - lo < 2 * _FLAT_STD:
        return True
    head = min(x.size // 16, 2048)
    # n var >= n_head var_head: the head's spread proves the block's (1 % margin for rounding).
    if head >= 64 and float(np.std(x[:head])) >= 1.01 * _FLAT_STD * math.sqrt(x.size / head):
        return False
    return float(np.std(x)) < _FLAT_STD


class ReceivePipeline:
    """Samples (complex64 I/Q, float32 baseband, or int durations; any block size) -> events."""

    def __init__(self, config: PipelineConfig,
                 vet_announcement: Callable[[bytes], Sequence[AnnouncedBundle] | None] | None = None
                 ) -> None:
        """``vet_announcement(bundle bytes)`` -> the bundles a genuine carousel announcement
        names, or None: given a terminal's trust (``TerminalStore.vet_announcement``), the
        reassembler keeps room for the announced bundles that injected frames cannot take.
        It is called synchronously when an announcement completes, so the events stay
        independent of chunking."""
        if not isinstance(config, PipelineConfig):
            raise TypeError(f"config must be PipelineConfig, got {type(config).__name__}")
        self.config = config
        self._vet = vet_announcement
        c = config
        try:
            self._chain = RxChain(c.modem_profile, c.kind, c.sample_rate_hz)
        except (ModemError, ValueError) as exc:
            raise ValueError(f"sample_rate_hz: {exc}") from None
        self._frame_config = frame_config(c.profile)
        self._pulses = c.kind is InputKind.PULSES
        self._block = _PULSE_BLOCK if self._pulses else c.block_samples
        self._quality_every = round(c.quality_period_s * (1e6 if self._pulses else c.sample_rate_hz))
        self._dtype = {InputKind.IQ: np.complex64, InputKind.BASEBAND: np.float32,
                       InputKind.PULSES: np.int64}[c.kind]
        self.reset()

    def __repr__(self) -> str:
        return f"ReceivePipeline({self.config!r})"

    def reset(self) -> None:
        self._chain.reset()
        self._sync = FrameSync(self._frame_config)
        self._reasm = Reassembler(self.config.reassembly)
        self._timer = StageTimer()
        self._buf = np.zeros(self._block, dtype=self._dtype)
        self._fill = 0
        self._samples = 0  # input values made into events (samples, or pulse durations)
        self._clock = 0  # where those end: samples, or microseconds of pulses
        self._bundles = 0
        self._next_quality = self._quality_every
        self._window_ok = 0
        self._window_bad = 0
        self._problems_reported: dict[str, int] = {}  # kind -> clock of last report
        self._flat_run = 0  # samples in the current run of flat blocks
        self._finished = False

    # -- counts --------------------------------------------------------------------------
    @property
    def samples_in(self) -> int:
        """Input values processed into events so far (whole internal blocks)."""
        return self._samples

    @property
    def seconds_of_signal(self) -> float:
        return self._clock / (1e6 if self._pulses else self.config.sample_rate_hz)

    @property
    def frames_ok(self) -> int:
        s = self._sync.stats
        return s.payloads_ok + s.payloads_corrected

    @property
    def frames_bad(self) -> int:
        """Frames seen but lost: a header that failed its checks or was absurd, a bad payload."""
        s = self._sync.stats
        return s.headers_bad + s.headers_absurd + s.payloads_bad

    @property
    def stage_seconds(self) -> dict[str, float]:
        """Process CPU seconds so far per stage, in pipeline order (see the module docstring)."""
        out = dict(self._chain.stage_seconds)
        out.update(self._sync.stage_seconds)
        out["erasure_decode"] = self._timer.seconds.get("erasure_decode", 0.0)
        return out

    @property
    def frame_stats(self):
        """The frame layer's running counts (``framing.FrameStats``)."""
        return self._sync.stats

    # -- streaming -----------------------------------------------------------------------
    def process(self, samples: np.ndarray) -> list[Event]:
        """Push a block of input (shape (n,)); return the events of every completed block."""
        if self._finished:
            raise ValueError("process() after finish(); call reset() to start again")
        x = np.asarray(samples)
        if x.ndim != 1:
            raise ValueError(f"samples must be 1-D, got shape {x.shape}")
        if x.size and self.config.is_iq != np.iscomplexobj(x):
            want = "complex I/Q" if self.config.is_iq else "real"
            raise TypeError(f"this pipeline takes {want} samples, got {x.dtype}")
        events: list[Event] = []
        pos = 0
        direct = x.dtype == self._dtype and x.flags.c_contiguous
        while pos < x.size:
            if direct and self._fill == 0 and x.size - pos >= self._block:
                # A whole block in the caller's array: used where it is (no copy).
                events += self._run_block(x[pos:pos + self._block])
                pos += self._block
                continue
            take = min(self._block - self._fill, x.size - pos)
            self._buf[self._fill:self._fill + take] = x[pos:pos + take]
            self._fill += take
            pos += take
            if self._fill == self._block:
                events += self._run_block(self._buf)
                self._fill = 0
        return events

    def finish(self) -> list[Event]:
        """End of input: run the partial block, flush the chain, return the last events and,
        last, a ``Summary`` with the pipeline's counts."""
        if self._finished:
            raise ValueError("finish() called twice; call reset() to start again")
        events = self._run_block(self._buf[:self._fill]) if self._fill else []
        self._fill = 0
        events += self._frames_to_events(self._sync.process(self._chain.flush()))
        if (self._samples and self._flat_run == self._samples
                and "flat" not in self._problems_reported):
            events += self._report([_FLAT])  # the whole input, shorter than _FLAT_MIN_S, was flat
        if self.frames_ok == 0 and "no_frames" not in self._problems_reported:
            # Input shorter than a quality period: say so once, before the summary.
            events += self._report([_NO_FRAMES])
        events += self._report(self._format_problems())
        self._finished = True
        s = self._sync.stats
        r = self._reasm.stats
        events.append(Summary(
            at=self.position(), frames_ok=self.frames_ok, frames_bad=self.frames_bad,
            seconds_of_signal=self.seconds_of_signal, samples=self._samples,
            frames_corrected=s.payloads_corrected, headers_bad=s.headers_bad,
            headers_absurd=s.headers_absurd, payloads_bad=s.payloads_bad,
            lock_lost=s.lock_lost, blocks_inconsistent=r.blocks_inconsistent,
            bundles_bad_digest=r.bundles_bad_digest, bundles_received=self._bundles,
            ber=number(s.ber_estimate, 6)))
        return events

    # -- one internal block --------------------------------------------------------------
    def _run_block(self, x: np.ndarray) -> list[Event]:
        self._samples += x.size
        self._clock += int(np.abs(x).sum()) if self._pulses else x.size
        events = self._check_input(x)
        ok0, bad0 = self.frames_ok, self.frames_bad
        events += self._frames_to_events(self._sync.process(self._chain.process(x)))
        self._window_ok += self.frames_ok - ok0
        self._window_bad += self.frames_bad - bad0
        if self._clock >= self._next_quality:
            self._next_quality += self._quality_every * max(
                1, (self._clock - self._next_quality) // self._quality_every + 1)
            events.append(self._quality_event())
            if self.frames_ok == 0:
                events += self._report([_NO_FRAMES])
            events += self._report(self._format_problems())
        return events

    def _frames_to_events(self, frames: list) -> list[Event]:
        events: list[Event] = []
        done = self._timer.call("erasure_decode", self._reasm.process, frames) if frames else []
        for data in done:
            self._bundles += 1
            if self._vet is not None and _is_announcement(data):
                entries = self._vet(data)
                if entries:
                    self._timer.call("erasure_decode", self._reasm.announce, list(entries))
            q = self._chain.quality
            events.append(BundleReceived(at=self.position(), data=data,
                                         snr_db=number(q.snr_db),
                                         freq_offset_hz=number(q.freq_offset_hz, 1),
                                         ber=number(self._sync.stats.ber_estimate, 6)))
        return events

    def position(self) -> Position:
        return Position(self._samples, self.seconds_of_signal)

    def quality(self) -> Quality:
        """Signal quality now (frame counts since the last quality event)."""
        q = self._chain.quality
        return Quality(
            at=self.position(), snr_db=q.snr_db, freq_offset_hz=q.freq_offset_hz,
            ber=number(self._sync.stats.ber_estimate, 6), level=q.level,
            clock_offset_ppm=q.clock_offset_ppm, cnr_db=q.cnr_db,
            frames_ok=self._window_ok, frames_bad=self._window_bad)

    def _quality_event(self) -> Quality:
        event = self.quality()
        self._window_ok = self._window_bad = 0
        return event

    def _format_problems(self) -> list[tuple[str, str]]:
        """Frames of a format this receiver does not decode (an older hotcast), if seen."""
        stats = self._sync.stats
        if not stats.old_version_frames:
            return []
        return [("old_format", f"{stats.old_version_frames} frame(s) seen: "
                               f"{stats.old_version_reason}")]

    def _check_input(self, x: np.ndarray) -> list[Event]:
        """InputProblem events for this block: non-finite values, a flat input, clipping
        (each kind reported when it appears, then at most once per quality period).

        Cheap on ordinary input (a few ms per second of 1.2 MHz I/Q would be a tenth of the
        decode): the extremes decide most cases (a NaN or inf shows in them; no value at full
        scale means no clipping; a range under 2 x _FLAT_STD means flat, as std <= range / 2),
        and a real signal shows its spread in the block's first few thousand values (n var >=
        n_sub var_sub for any subset, so std_sub >= sqrt(n / n_sub) _FLAT_STD proves std >=
        _FLAT_STD); only otherwise is the whole block's std computed."""
        if not x.size or self._pulses:
            return []
        problems = []
        flat = x.view(np.float32) if self.config.is_iq else x
        lo, hi = float(flat.min()), float(flat.max())
        if not (np.isfinite(lo) and np.isfinite(hi)):
            finite = np.isfinite(flat)
            problems.append(("not_finite", f"{int(flat.size - np.count_nonzero(finite))} "
                                           "NaN or infinite values (corrupt float input?)"))
            flat = np.where(finite, flat, 0.0)
            lo, hi = float(flat.min()), float(flat.max())
        flat_now = _is_flat(flat, lo, hi)
        self._flat_run = self._flat_run + x.size if flat_now else 0
        if flat_now:
            if self._flat_run >= _FLAT_MIN_S * self.config.sample_rate_hz:
                problems.append(_FLAT)
        elif max(hi, -lo) >= _CLIP_LEVEL and np.count_nonzero(
                np.abs(flat) >= _CLIP_LEVEL) > _CLIP_FRACTION * flat.size:
            problems.append(("clipping", "more than 1 % of the samples are at full scale: "
                                         "lower the gain or level"))
        return self._report(problems)

    def _report(self, problems: list[tuple[str, str]]) -> list[Event]:
        """InputProblem events for (kind, why) pairs not reported within a quality period."""
        events: list[Event] = []
        for kind, why in problems:
            last = self._problems_reported.get(kind)
            if last is None or self._clock - last >= self._quality_every:
                self._problems_reported[kind] = self._clock
                events.append(InputProblem(at=self.position(), problem=kind, why=why))
        return events
