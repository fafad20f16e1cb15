"""The seeded loopback of the audio profiles at the frame layer: random carousel blocks ->
frames -> the profile's transmit chain -> a channel -> its receive chain -> frame sync, and
which frames did not come back. Shared by tests/modem/test_audio_codec.py and
bench/test_audio_link.py.

Frame error rate here is what the issue asks for: whole frames (sync word, LDPC codewords,
header and block CRCs) lost, counted after tune-in (the frames that start within the first
``tune_in_s`` of signal, while the receiver acquires and its channel estimate settles, are
counted apart). 0.5 s of silence follows the transmission, as in any recording that goes on,
so the channel simulator's filter tails do not cut the closing training.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import framing
import modem
from framing.frames import FrameGen
from framing.framesync import FrameSync
from modem import InputKind, TxChain
from modem.impairments import AudioChannelConfig, apply_audio_channel

LEAD_S = 0.0625  # silence before the transmission: the receiver must find its start
TAIL_S = 0.5
TUNE_IN_S = 3.0


@dataclass(frozen=True)
class FrameLoss:
    frames: int  # frames sent after tune-in
    lost: tuple[int, ...]  # their indices (from 0 = the first frame on air) not received
    tune_in_lost: int  # frames lost among those that start within the tune-in time
    seconds: float  # of signal

    @property
    def fer(self) -> float:
        return len(self.lost) / self.frames if self.frames else float("nan")


def frame_loss(profile: str, channel: AudioChannelConfig, n_frames: int, seed: int = 1,
               tune_in_s: float = TUNE_IN_S) -> FrameLoss:
    entry, cfg = modem.modem_profile(profile), framing.frame_config(profile)
    rng = np.random.default_rng(seed)
    bundle = rng.integers(0, 256, cfg.block_bytes * n_frames * 10 // 11, dtype=np.uint8).tobytes()
    blocks = framing.segment(bundle, 1, 1, cfg)[:n_frames]
    tx = TxChain(entry)
    rate = tx.output_rate_hz
    on_air = np.concatenate([tx.process(FrameGen(cfg).process(blocks)), tx.flush()])
    x = np.concatenate([np.zeros(int(LEAD_S * rate), np.float32), on_air,
                        np.zeros(int(TAIL_S * rate), np.float32)])
    y = apply_audio_channel(x, rate, channel)
    rx = modem.RxChain(entry, InputKind.BASEBAND, rate)
    got = {f.block.payload for f in FrameSync(cfg).process(np.concatenate([rx.process(y), rx.flush()]))}
    frame_s = len(on_air) / rate / len(blocks)
    first = int(np.ceil(tune_in_s / frame_s))
    lost = [i for i, b in enumerate(blocks) if b.payload not in got]
    return FrameLoss(frames=len(blocks) - first, lost=tuple(i for i in lost if i >= first),
                     tune_in_lost=sum(1 for i in lost if i < first), seconds=len(x) / rate)
