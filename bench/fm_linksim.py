"""The FM link end to end as a stream, for the benches: carousel frames -> TxChain (programme,
FM I/Q) -> ChannelSimulator (CNR at the dongle, tuner offset, ppm, echoes; or Eb/N0 on the
MPX) -> RxChain -> FrameSync, in chunks of half a second, so that runs of thousands of frames
(15 minutes of air for fm-robust) keep constant memory.

``simulate(LinkRun(...)) -> LinkResult``; ``python -m bench.fm_linksim PROFILE CNR SECONDS
[key=value ...]`` runs one point from the command line (one JSON line out), used to sweep
thresholds in subprocesses.

Frames are counted by their block: the bundle is sized so that one carousel cycle holds every
frame sent (no block goes out twice), and a frame counts as decoded when its block comes out
of FrameSync intact. All randomness is seeded.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass, field

import modem
from framing.framesync import FrameStats, FrameSync
from framing.profiles import frame_config
from hotcast.bench import linksim
from hotcast.bench.linksim import IQ_RATE_HZ, LEAD_IN_BITS, MPX_RATE_HZ, net_rate
from modem.channel import ChannelConfig, ChannelSimulator
from modem.txchain import TxChain, TxOptions

__all__ = ["IQ_RATE_HZ", "LEAD_IN_BITS", "MPX_RATE_HZ", "LinkResult", "LinkRun", "carousel",
           "net_rate", "simulate"]


@dataclass(frozen=True)
class LinkRun:
    """One point of the link. cnr_db: noise in the FM I/Q (iq=True); ebn0_db: white noise per
    payload bit on the MPX (iq=False, no FM at all)."""

    profile: str
    seconds: float
    cnr_db: float | None = None
    ebn0_db: float | None = None
    freq_offset_hz: float = 0.0
    ppm: float = 0.0
    echoes: tuple[tuple[float, float], ...] = ()
    with_programme: bool = True
    iq: bool = True
    seed: int = 0


@dataclass
class LinkResult:
    run: LinkRun
    sent: int
    decoded: int
    lost_at_s: list[float] = field(default_factory=list)  # air time of each lost frame's start
    ber: float | None = None
    snr_db: float = float("nan")
    cpu_s: float = 0.0
    stats: dict = field(default_factory=dict)

    @property
    def fer(self) -> float:
        return 1.0 - self.decoded / self.sent if self.sent else float("nan")


def carousel(profile: str, seconds: float, seed: int):
    """(blocks, bits): a lead-in, then frames for ``seconds`` of air, one block each, none twice
    (``hotcast.bench.linksim.carousel`` with the frame count that fills ``seconds``)."""
    frames = max(2, int(seconds * modem.PROFILES[profile].bits_per_second
                        / frame_config(profile).frame_bits))
    return linksim.carousel(profile, frames, seed)


def simulate(run: LinkRun, chunk_s: float = 0.5) -> LinkResult:
    profile = modem.PROFILES[run.profile]
    cfg = frame_config(run.profile)
    blocks, bits = carousel(run.profile, run.seconds, run.seed)
    if run.iq:
        tx = TxChain(profile, TxOptions(iq_rate_hz=IQ_RATE_HZ, with_programme=run.with_programme,
                                        programme_seed=run.seed))
        channel = ChannelSimulator(ChannelConfig(
            cnr_db=run.cnr_db, signal_power=1.0, freq_offset_hz=run.freq_offset_hz,
            sample_rate_offset_ppm=run.ppm, echoes=run.echoes, seed=run.seed + 1),
            IQ_RATE_HZ, is_iq=True)
        rx = modem.RxChain(profile, modem.InputKind.IQ, IQ_RATE_HZ)
    else:
        tx = TxChain(profile, TxOptions(baseband_rate_hz=MPX_RATE_HZ,
                                        with_programme=run.with_programme, programme_seed=run.seed))
        channel = ChannelSimulator(ChannelConfig(
            ebn0_db=run.ebn0_db, payload_bit_rate_bps=net_rate(run.profile),
            signal_power=tx.level**2 / 2, sample_rate_offset_ppm=run.ppm, seed=run.seed + 1),
            MPX_RATE_HZ, is_iq=False)
        rx = modem.RxChain(profile, modem.InputKind.BASEBAND, MPX_RATE_HZ)
    sync = FrameSync(cfg)
    step = int(chunk_s * profile.bits_per_second) // 2 * 2
    found = []
    cpu = 0.0
    for i in range(0, bits.size + step, step):
        piece = bits[i:i + step]
        signal = channel.process(tx.process(piece) if piece.size else tx.flush())
        c0 = time.process_time()
        found += sync.process(rx.process(signal))
        cpu += time.process_time() - c0
        if not piece.size:
            break
    c0 = time.process_time()
    found += sync.process(rx.flush())
    cpu += time.process_time() - c0
    sent = {b: i for i, b in enumerate(blocks)}
    got = {f.block for f in found} & sent.keys()
    frame_s = cfg.frame_bits / profile.bits_per_second
    lost = [round((LEAD_IN_BITS / profile.bits_per_second) + i * frame_s, 3)
            for b, i in sent.items() if b not in got]
    quality = rx.quality
    stats: FrameStats = sync.stats
    return LinkResult(run, len(blocks), len(got), lost, stats.ber_estimate, quality.snr_db, cpu,
                      {k: v for k, v in asdict(stats).items() if isinstance(v, int)})


def main(argv: list[str]) -> None:
    profile, cnr, seconds = argv[0], float(argv[1]), float(argv[2])
    extra = {}
    for item in argv[3:]:
        key, value = item.split("=", 1)
        extra[key] = json.loads(value)
    if "echoes" in extra:
        extra["echoes"] = tuple(tuple(e) for e in extra["echoes"])
    iq = extra.get("iq", True)
    run = LinkRun(profile, seconds, cnr_db=cnr if iq else None,
                  ebn0_db=None if iq else cnr, **extra)
    res = simulate(run)
    out = {"profile": profile, "point_db": cnr, "sent": res.sent, "decoded": res.decoded,
           "fer": res.fer, "ber": res.ber, "snr_db": res.snr_db, "cpu_s": round(res.cpu_s, 2),
           "lost_at_s": res.lost_at_s[:50], **{k: v for k, v in extra.items()}, **res.stats}
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
