"""The streaming receive pipeline: samples in, completed sealed bundles and quality events out.

Chain for profile ``fm`` (each stage streams, keeps its own state and is chunk-invariant)::

    I/Q ──► FmIqDemodulator ──► MPX ──► SubcarrierDemodulator ──► bits ──► FrameSync
        ──► frames ──► Reassembler ──► sealed bundle bytes

``ReceivePipeline.process(samples) -> list[dict]`` returns events; a completed bundle is a
``{"event": "bundle_received", "data": bytes, ...}`` event that ``receiver.merge`` turns into
``bundle_applied`` / ``bundle_rejected`` / ``bundle_unchanged`` against a terminal store, so
this core never touches a store, a file or the clock.

The chain's configuration and the table of receivable profiles are ``pipeline_config.py``.

Invariants:
- Chunk invariance: input is cut into internal blocks of a fixed number of samples
  (``block_s`` of signal) and every event is made at a block end from state that depends
  only on the samples so far, so the events are identical however the caller chunks the
  input (``seconds_of_cpu`` is the CLI's, not ours).
- Constant memory: one internal block of input, the stages' bounded state (FrameSync about
  one frame of bits, the Reassembler at most ``max_partial_bytes``), a few counters.
- Positions: ``sample`` is the number of input samples consumed when the event was made (a
  block end; the chain adds well under a second of delay), ``t_s`` the same in seconds.
- Nothing here raises on bad samples: NaN, inf, silence, clipping and noise become counts
  and ``input_problem`` events (``no_frames`` at least once for an input without a frame);
  misuse (a rate the profile cannot use) is a ``ValueError`` at construction, naming the field.
"""

from __future__ import annotations

import math

import numpy as np

from framing import FrameSync, Reassembler, frame_config
from modem import FmSubcarrierConfig, SubcarrierDemodulator
from modem.errors import ModemError
from modem.fmiq import FmIqDemodulator, FmIqDemodulatorConfig

from .pipeline_config import PipelineConfig, receive_profiles

__all__ = ["PipelineConfig", "ReceivePipeline", "receive_profiles"]

# A sample whose magnitude (each of I and Q) reaches this is taken as clipped: cu8 / s16
# full scale is 1.0, and a real MPX at 1.0 is already 100 % deviation.
_CLIP_LEVEL = 0.999
# "Clipping" is reported when more than 1 % of a block's samples are clipped.
_CLIP_FRACTION = 0.01
# A block whose standard deviation is below this carries nothing (digital silence, a cu8
# stream stuck at one value: one cu8 step is 1 / 127.5 = 7.8e-3).
_FLAT_STD = 1e-4
# Reported once per quality period while no frame has been found, and at the end of an input
# that never gave one.
_NO_FRAMES = ("no_frames", "no frame found: no data subcarrier here (wrong station, profile "
                           "or --rate?) or too weak")


def _num(x: float | None, digits: int = 2) -> float | None:
    """A JSON-safe rounded number: None for None, NaN or infinity."""
    if x is None or not math.isfinite(x):
        return None
    return round(float(x), digits)


class ReceivePipeline:
    """Samples (complex64 I/Q or float32 baseband, any block size) -> list of event dicts."""

    def __init__(self, config: PipelineConfig) -> None:
        if not isinstance(config, PipelineConfig):
            raise TypeError(f"config must be PipelineConfig, got {type(config).__name__}")
        self.config = config
        c = config
        if c.is_iq:
            try:
                self._iq = FmIqDemodulator(FmIqDemodulatorConfig(iq_rate_hz=round(c.sample_rate_hz)))
            except ModemError as exc:
                raise ValueError(f"sample_rate_hz: {exc}") from None
            mpx_rate = self._iq.mpx_rate_hz
        else:
            self._iq = None
            mpx_rate = c.sample_rate_hz
        self._sub_config = FmSubcarrierConfig(sample_rate_hz=float(mpx_rate))
        self._frame_config = frame_config(c.profile)
        self._block = c.block_samples
        self._quality_every = max(1, round(c.quality_period_s * c.sample_rate_hz))
        self.reset()

    def __repr__(self) -> str:
        return f"ReceivePipeline({self.config!r})"

    def reset(self) -> None:
        if self._iq is not None:
            self._iq.reset()
        self._demod = SubcarrierDemodulator(self._sub_config)
        self._sync = FrameSync(self._frame_config)
        self._reasm = Reassembler(self.config.reassembly)
        dtype = np.complex64 if self.config.is_iq else np.float32
        self._buf = np.zeros(self._block, dtype=dtype)
        self._fill = 0
        self._samples = 0
        self._bundles = 0
        self._next_quality = self._quality_every
        self._window_ok = 0
        self._window_bad = 0
        self._problems_reported: dict[str, int] = {}  # kind -> sample of last report
        self._finished = False

    # -- counts --------------------------------------------------------------------------
    @property
    def samples_in(self) -> int:
        """Input samples processed into events so far (whole internal blocks)."""
        return self._samples

    @property
    def frames_ok(self) -> int:
        s = self._sync.stats
        return s.payloads_ok + s.payloads_corrected

    @property
    def frames_bad(self) -> int:
        """Frames seen but lost: a header that failed its CRC or was absurd, a bad payload."""
        s = self._sync.stats
        return s.headers_bad + s.headers_absurd + s.payloads_bad

    # -- streaming -----------------------------------------------------------------------
    def process(self, samples: np.ndarray) -> list[dict]:
        """Push a block of samples (shape (n,)); return the events of every completed block."""
        if self._finished:
            raise ValueError("process() after finish(); call reset() to start again")
        x = np.asarray(samples)
        if x.ndim != 1:
            raise ValueError(f"samples must be 1-D, got shape {x.shape}")
        if self.config.is_iq != np.iscomplexobj(x) and x.size:
            want = "complex I/Q" if self.config.is_iq else "real baseband"
            raise TypeError(f"this pipeline takes {want} samples, got {x.dtype}")
        events: list[dict] = []
        pos = 0
        while pos < x.size:
            take = min(self._block - self._fill, x.size - pos)
            self._buf[self._fill:self._fill + take] = x[pos:pos + take]
            self._fill += take
            pos += take
            if self._fill == self._block:
                events += self._run_block(self._buf)
                self._fill = 0
        return events

    def finish(self) -> list[dict]:
        """End of input: run the partial block, flush the chain, return the last events and,
        last, a ``summary`` event with the pipeline's counts."""
        if self._finished:
            raise ValueError("finish() called twice; call reset() to start again")
        events = self._run_block(self._buf[:self._fill]) if self._fill else []
        self._fill = 0
        # The I/Q front end releases the under one internal frame (~55 ms) it holds; the
        # subcarrier demodulator then pushes its own pipeline out with zeros.
        if self._iq is not None:
            events += self._frames_to_events(self._sync.process(
                self._demod.process(self._iq.flush())))
        events += self._frames_to_events(self._sync.process(self._demod.flush()))
        if self.frames_ok == 0 and "no_frames" not in self._problems_reported:
            # Input shorter than a quality period: say so once, before the summary.
            events += self._report([_NO_FRAMES])
        self._finished = True
        s = self._sync.stats
        r = self._reasm.stats
        events.append({
            "event": "summary",
            "frames_ok": self.frames_ok,
            "frames_bad": self.frames_bad,
            "seconds_of_signal": round(self._samples / self.config.sample_rate_hz, 3),
            "samples": self._samples,
            "frames_corrected": s.payloads_corrected,
            "headers_bad": s.headers_bad,
            "headers_absurd": s.headers_absurd,
            "payloads_bad": s.payloads_bad,
            "lock_lost": s.lock_lost,
            "blocks_inconsistent": r.blocks_inconsistent,
            "bundles_bad_digest": r.bundles_bad_digest,
            "bundles_received": self._bundles,
            "ber": _num(s.ber_estimate, 6),
        })
        return events

    # -- one internal block --------------------------------------------------------------
    def _run_block(self, x: np.ndarray) -> list[dict]:
        self._samples += x.size
        events = self._check_input(x)
        if self._iq is not None:
            mpx = self._iq.process(x)
        else:
            mpx = x
        bits = self._demod.process(mpx)
        ok0, bad0 = self.frames_ok, self.frames_bad
        events += self._frames_to_events(self._sync.process(bits))
        self._window_ok += self.frames_ok - ok0
        self._window_bad += self.frames_bad - bad0
        if self._samples >= self._next_quality:
            self._next_quality += self._quality_every
            events.append(self._quality_event())
            if self.frames_ok == 0:
                events += self._report([_NO_FRAMES])
        return events

    def _frames_to_events(self, frames: list) -> list[dict]:
        events = []
        for data in self._reasm.process(frames):
            self._bundles += 1
            events.append({"event": "bundle_received", "data": data, **self._position(),
                           **self.quality()})
        return events

    def _position(self) -> dict:
        return {"sample": self._samples,
                "t_s": round(self._samples / self.config.sample_rate_hz, 3)}

    def quality(self) -> dict:
        """Signal quality now: ``snr_db`` (Es/N0 at the decisions), ``freq_offset_hz``
        (tuner error, I/Q input only), ``ber`` (raw bit error rate seen on sync words)."""
        d = self._demod.stats
        iq = self._iq.stats if self._iq is not None else None
        return {
            "snr_db": _num(d.snr_db),
            "freq_offset_hz": _num(iq.freq_offset_hz, 1) if iq is not None else None,
            "ber": _num(self._sync.stats.ber_estimate, 6),
        }

    def _quality_event(self) -> dict:
        d = self._demod.stats
        iq = self._iq.stats if self._iq is not None else None
        event = {"event": "quality", **self._position(), **self.quality(),
                 "level": _num(d.level, 4), "clock_offset_ppm": _num(d.clock_offset_ppm, 1),
                 "cnr_db": _num(iq.cnr_db, 1) if iq is not None else None,
                 "frames_ok": self._window_ok, "frames_bad": self._window_bad}
        self._window_ok = self._window_bad = 0
        return event

    def _check_input(self, x: np.ndarray) -> list[dict]:
        """input_problem events for this block: non-finite values, a flat input, clipping
        (each kind reported when it appears, then at most once per quality period)."""
        if not x.size:
            return []
        problems = []
        flat = x.view(np.float32) if self.config.is_iq else x
        finite = np.isfinite(flat)
        if not finite.all():
            problems.append(("not_finite", f"{int(flat.size - np.count_nonzero(finite))} "
                                           "NaN or infinite values (corrupt float input?)"))
            flat = np.where(finite, flat, 0.0)
        mag = np.abs(flat)
        if float(np.std(flat)) < _FLAT_STD:
            problems.append(("flat", "no signal: the input is flat (silence, or a device "
                                     "stuck at one value)"))
        elif np.count_nonzero(mag >= _CLIP_LEVEL) > _CLIP_FRACTION * flat.size:
            problems.append(("clipping", "more than 1 % of the samples are at full scale: "
                                         "lower the gain or level"))
        return self._report(problems)

    def _report(self, problems: list[tuple[str, str]]) -> list[dict]:
        """input_problem events for (kind, why) pairs not reported within a quality period."""
        events = []
        for kind, why in problems:
            last = self._problems_reported.get(kind)
            if last is None or self._samples - last >= self._quality_every:
                self._problems_reported[kind] = self._samples
                events.append({"event": "input_problem", "problem": kind, "why": why,
                               **self._position()})
        return events
