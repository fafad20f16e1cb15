"""The seeded loopback of the audio and ir profiles at the frame layer: random carousel blocks
-> frames -> the profile's transmit chain -> a channel -> its receive chain -> frame sync, and
which frames did not come back. Shared by the tests in tests/modem and bench/test_audio_link.py,
bench/test_ir_link.py.

Frame error rate here is what the issue asks for: whole frames (sync word, LDPC codewords,
header and block CRCs) lost, counted after tune-in: the frames that start within the first
``tune_in_s`` of signal (the receiver acquires, its channel estimate settles), or before the
channel's own start (an ir receiver that starts mid-stream), are counted apart. A sound profile
gets silence before (the receiver must find the start) and 0.5 s after (a recording goes on,
so the channel simulator's filter tails do not cut the closing training); ``.ir`` durations are
sent as they are (``pulse_text``: through ``write_ir_text`` / ``IrTextDecoder`` on the way).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

import framing
import modem
from framing.frames import FrameGen
from framing.framesync import FrameSync
from modem import InputKind, TxChain
from modem.impairments import AudioChannelConfig, IrChannelConfig, apply_audio_channel, apply_ir_channel
from modem.irtext import IrTextDecoder, write_ir_text

LEAD_S = 0.0625
TAIL_S = 0.5
TUNE_IN_S = 1.0  # audio-robust takes ~3 s (its trainings are 181 ms apart): callers say so


@dataclass(frozen=True)
class FrameLoss:
    frames: int  # frames sent after tune-in
    lost: tuple[int, ...]  # their indices (0 = the first frame on air) that did not come back
    tune_in_lost: int  # frames lost among those before tune-in
    seconds: float  # of signal received
    rx_cpu_s: float  # CPU time of the receive side (chain and frame sync), this process

    @property
    def fer(self) -> float:
        return len(self.lost) / self.frames if self.frames else float("nan")

    @property
    def speed(self) -> float:
        """Receive side as x real time on one core."""
        return self.seconds / self.rx_cpu_s if self.rx_cpu_s > 0 else float("inf")


def frame_loss(profile: str, channel: AudioChannelConfig | IrChannelConfig, n_frames: int, seed: int = 1,
               tune_in_s: float = TUNE_IN_S, pulse_text: bool = False) -> FrameLoss:
    entry, cfg = modem.modem_profile(profile), framing.frame_config(profile)
    rng = np.random.default_rng(seed)
    bundle = rng.integers(0, 256, cfg.block_bytes * n_frames * 10 // 11, dtype=np.uint8).tobytes()
    blocks = framing.segment(bundle, 1, 1, cfg)[:n_frames]
    tx = TxChain(entry)
    on_air = np.concatenate([tx.process(FrameGen(cfg).process(blocks)), tx.flush()])
    if tx.pulses:
        frame_s = float(np.sum(np.abs(on_air))) / 1e6 / len(blocks)
        first = int(np.ceil((tune_in_s + getattr(channel, "start_s", 0.0)) / frame_s))
        y = apply_ir_channel(on_air, channel)
        seconds = float(np.sum(np.abs(y))) / 1e6
        kind, rate = InputKind.PULSES, 1e6
        if pulse_text:
            y = write_ir_text(y)
    else:
        rate = tx.output_rate_hz
        frame_s = len(on_air) / rate / len(blocks)
        first = int(np.ceil(tune_in_s / frame_s))
        x = np.concatenate([np.zeros(int(LEAD_S * rate), np.float32), on_air,
                            np.zeros(int(TAIL_S * rate), np.float32)])
        y = apply_audio_channel(x, rate, channel)
        seconds = len(y) / rate
        kind = InputKind.BASEBAND
    t0 = time.process_time()
    rx = modem.RxChain(entry, kind, rate)
    if isinstance(y, str):
        reader = IrTextDecoder()
        y = np.concatenate([reader.process(y), reader.flush()])
    frames = FrameSync(cfg).process(np.concatenate([rx.process(y), rx.flush()]))
    cpu = time.process_time() - t0
    got = {f.block.payload for f in frames}
    lost = [i for i, b in enumerate(blocks) if b.payload not in got]
    return FrameLoss(frames=len(blocks) - first, lost=tuple(i for i in lost if i >= first),
                     tune_in_lost=sum(1 for i in lost if i < first), seconds=seconds, rx_cpu_s=cpu)
