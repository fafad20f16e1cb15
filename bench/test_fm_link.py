"""The soft-decision FM link end to end (issue 8), each test asserting its target:

- FER and raw BER against Eb/N0 per payload bit, 2..10 dB (white noise on the MPX), for fm and
  fm-robust, beside the old Reed-Solomon frame's FER (v2, theory) and coherent QPSK's BER;
  fm's FER at 4.5 dB over 1200 frames;
- CNR thresholds through noise in the FM I/Q (CNR at the dongle, stereo programme, pilot and
  RDS on air, the receiver's +-160 kHz front end, 20 kHz tuner offset, +-100 ppm): fm at 18 dB
  and fm-robust at 13 dB, >= 1000 frames each (FER <= 1e-3), and a sweep around them;
- two-ray multipath (3 us -10 dB, 8 us -15 dB) at CNR 25 dB;
- decode speed per stage from 1.2 MHz cu8 (>= 25x real time) and from 228 kHz MPX (>= 100x),
  on >= 20 s of signal with a stereo programme, one core (process time);
- acquisition: from a random start, the first frame decoded within two frame durations;
- peak memory of the modem + framing stack on 10 minutes of cu8 (VmHWM of a subprocess,
  < 300 MB).

Run: PYTHONPATH=$PWD .venv/bin/python -m pytest bench/test_fm_link.py --benchmark-only -q -s
(about 25 minutes on one core: the thresholds run 1000 frames a point; fm-robust frames last
0.71 s, so 12 minutes of air a point). Figures print as tables and go to extra_info.
The link runs as a stream (bench/fm_linksim.py), so memory stays flat whatever the length.
"""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest
from scipy import special

import modem
from bench.fm_linksim import IQ_RATE_HZ, LinkRun, carousel, net_rate, simulate
from framing.framesync import FrameSync
from framing.profiles import frame_config
from modem.channel import ECHO_3US, ECHO_8US, ChannelConfig, ChannelSimulator
from modem.fmiq import FmIqDemodulator, FmIqDemodulatorConfig
from modem.formats import SampleDecoder, encode_samples
from modem.txchain import TxChain, TxOptions

THRESHOLDS_DB = {"fm": 18.0, "fm-robust": 13.0}  # issue 8: CNR at the dongle
THRESHOLD_FRAMES = 1000


def _air_s(profile: str, frames: int) -> float:
    """Seconds of air that hold ``frames`` frames."""
    return frames * frame_config(profile).frame_bits / modem.PROFILES[profile].bits_per_second + 0.5


# The v2 `fm` frame: 760 payload bytes in 64 + 8 x (72 + 4 x 255) = 8800 bits, 10 % repair.
V2_EFFICIENCY = 8 * 760 / 8800 / 1.1


def theory_fer_rs(ebn0_db: float) -> float:
    """The v2 frame (RS(255,191) x 4, t = 32, on hard DE-QPSK, byte error ~ 5 x BER) at Eb/N0
    per payload bit: the old code's curve (the same for both profiles: v2 had one frame)."""
    esn0 = 2 * V2_EFFICIENCY * 10 ** (ebn0_db / 10)
    p = 0.5 * special.erfc(np.sqrt(esn0 / 2))
    ber = 2 * p * (1 - p)  # differential decoding doubles the symbol's bit errors
    pbyte = min(1.0, 5 * ber)
    k = np.arange(33, 256)  # a codeword fails with more than t = 32 byte errors
    fail = min(1.0, float(np.sum(special.comb(255, k) * pbyte**k * (1 - pbyte) ** (255 - k))))
    return float(-np.expm1(4 * np.log1p(-fail))) if fail < 1 else 1.0


def theory_ber_qpsk(ebn0_db: float, efficiency: float) -> float:
    """Coherent Gray QPSK per channel bit at the Es/N0 that ``ebn0_db`` per payload bit gives."""
    return float(0.5 * special.erfc(np.sqrt(efficiency * 10 ** (ebn0_db / 10))))


@pytest.mark.parametrize("profile", ["fm", "fm-robust"])
def test_fer_and_ber_against_ebn0(benchmark, profile):
    """FER and raw BER per Eb/N0 per payload bit (net: frame overhead and 10 % repair counted),
    2..10 dB, 300 frames a point, beside v2's RS code (theory) and uncoded QPSK (theory)."""
    eff = frame_config(profile).efficiency / (1 + frame_config(profile).repair_ratio)
    rows = []

    def run():
        rows.clear()
        for eb in range(2, 11):
            res = simulate(LinkRun(profile, _air_s(profile, 300), ebn0_db=float(eb), iq=False,
                                   with_programme=False, seed=100 + eb))
            rows.append((eb, res))

    benchmark.pedantic(run, rounds=1, iterations=1)
    print(f"\n{profile}: Eb/N0 per payload bit | FER v3 (LDPC) | frames | raw BER | QPSK BER "
          "(theory) | FER v2 RS (theory)")
    for eb, res in rows:
        ber = "-" if res.ber is None else f"{res.ber:.2e}"
        print(f"{eb:>4} dB | {res.fer:.4f} | {res.decoded}/{res.sent} | {ber} | "
              f"{theory_ber_qpsk(eb, eff):.2e} | {theory_fer_rs(eb):.2e}")
        benchmark.extra_info[f"fer_{eb}dB"] = res.fer
        benchmark.extra_info[f"ber_{eb}dB"] = res.ber
    fer = {eb: res.fer for eb, res in rows}
    # Every frame from 5 dB up for fm (4.5 dB: test_fm_fer_at_4_5_db), from 3 dB for fm-robust.
    assert all(fer[eb] == 0.0 for eb in fer if eb >= (5 if profile == "fm" else 3))


def test_fm_fer_at_4_5_db(benchmark):
    """Issue 8: fm FER <= 1e-3 at Eb/N0 = 4.5 dB per payload bit: 1200 frames, at most one lost."""
    res = benchmark.pedantic(lambda: simulate(LinkRun("fm", _air_s("fm", 1200), ebn0_db=4.5,
                                                      iq=False, with_programme=False, seed=45)),
                             rounds=1, iterations=1)
    benchmark.extra_info.update(frames=res.sent, lost=res.sent - res.decoded, ber=res.ber)
    print(f"\nfm at 4.5 dB: {res.sent - res.decoded} of {res.sent} frames lost, raw BER {res.ber:.3f}")
    assert res.sent >= 1200 and res.sent - res.decoded <= 1


@pytest.mark.parametrize("profile", ["fm", "fm-robust"])
@pytest.mark.parametrize("impairment", ["+20kHz+100ppm", "-100ppm"])
def test_cnr_threshold_through_iq_noise(benchmark, profile, impairment):
    """Issue 8: fm decodes at CNR 18 dB, fm-robust at 13 dB at the dongle, with programme, pilot
    and RDS on air, the +-160 kHz front end, a 20 kHz tuner offset and +100 ppm (or -100 ppm):
    >= 1000 frames, FER <= 1e-3 (at most one lost)."""
    extra = ({"freq_offset_hz": 20_000.0, "ppm": 100.0} if impairment.startswith("+")
             else {"ppm": -100.0})
    res = benchmark.pedantic(lambda: simulate(LinkRun(
        profile, _air_s(profile, THRESHOLD_FRAMES), cnr_db=THRESHOLDS_DB[profile], seed=21,
        **extra)), rounds=1, iterations=1)
    lost = res.sent - res.decoded
    print(f"\n{profile} CNR {THRESHOLDS_DB[profile]} dB {impairment}: {lost} of {res.sent} lost "
          f"(at {res.lost_at_s} s), raw BER {res.ber:.3f}, Es/N0 {res.snr_db:.2f} dB")
    benchmark.extra_info.update(frames=res.sent, lost=lost, ber=res.ber, esn0_db=res.snr_db)
    assert res.sent >= THRESHOLD_FRAMES and lost <= res.sent // 1000


@pytest.mark.parametrize("profile,points", [("fm", (17.0, 17.5)), ("fm-robust", (12.0, 12.5))])
def test_cnr_sweep_below_threshold(benchmark, profile, points):
    """FER against CNR below the targets (1000 frames a point, +20 kHz, +100 ppm): where the
    link actually stops. Asserts only that the curve falls with CNR (the targets are tested
    above); the table is printed."""
    rows = []

    def run():
        rows.clear()
        for cnr in points:
            rows.append(simulate(LinkRun(profile, _air_s(profile, THRESHOLD_FRAMES), cnr_db=cnr,
                                         freq_offset_hz=20_000.0, ppm=100.0, seed=31)))

    benchmark.pedantic(run, rounds=1, iterations=1)
    print(f"\n{profile}: CNR dB | FER | lost / frames | raw BER | Es/N0 dB")
    for res in rows:
        print(f"{res.run.cnr_db:>5} | {res.fer:.4f} | {res.sent - res.decoded}/{res.sent} | "
              f"{res.ber:.3f} | {res.snr_db:.2f}")
        benchmark.extra_info[f"fer_{res.run.cnr_db}dB"] = res.fer
    fers = [res.fer for res in rows]
    assert fers == sorted(fers, reverse=True) and fers[0] > 0  # falls with CNR; stops below


@pytest.mark.parametrize("profile", ["fm", "fm-robust"])
@pytest.mark.parametrize("echo", ["3us", "8us"])
def test_two_ray_multipath_at_cnr_25(benchmark, profile, echo):
    """Issue 8: an echo 3 us late at -10 dB, or 8 us late at -15 dB, at CNR 25 dB with the
    programme, +20 kHz and +100 ppm: every frame of 300 decodes."""
    res = benchmark.pedantic(lambda: simulate(LinkRun(
        profile, _air_s(profile, 300), cnr_db=25.0, echoes=ECHO_3US if echo == "3us" else ECHO_8US,
        freq_offset_hz=20_000.0, ppm=100.0, seed=41)), rounds=1, iterations=1)
    print(f"\n{profile} echo {echo} CNR 25 dB: {res.decoded}/{res.sent}, Es/N0 {res.snr_db:.1f} dB")
    benchmark.extra_info.update(frames=res.sent, lost=res.sent - res.decoded, esn0_db=res.snr_db)
    assert res.decoded == res.sent


def _capture(profile: str, seconds: float, seed: int, iq: bool):
    """(blocks, samples): ``seconds`` of carousel with a stereo programme, as cu8 bytes at
    1.2 MHz (CNR 30 dB) or as a 228 kHz float32 MPX (white noise 50 dB below full scale)."""
    blocks, bits = carousel(profile, seconds, seed)
    options = (TxOptions(iq_rate_hz=IQ_RATE_HZ, with_programme=True, programme_seed=seed) if iq
               else TxOptions(baseband_rate_hz=228_000, with_programme=True, programme_seed=seed))
    tx = TxChain(modem.PROFILES[profile], options)
    x = np.concatenate([tx.process(bits), tx.flush()])
    if iq:
        x = ChannelSimulator(ChannelConfig(cnr_db=30.0, signal_power=1.0, seed=seed), IQ_RATE_HZ,
                             is_iq=True).process(x)
        return blocks, encode_samples(x * 0.7, "cu8")
    rng = np.random.default_rng(seed)
    return blocks, (x + 0.003 * rng.standard_normal(x.size)).astype(np.float32)


def _stage_times(profile: str, cu8: bytes):
    """Per-stage process time over the capture, read in 256 k-sample pieces as a source does."""
    t = dict.fromkeys(("cu8", "fm_demod", "subcarrier", "framesync"), 0.0)
    dec = SampleDecoder("cu8")
    front = FmIqDemodulator(FmIqDemodulatorConfig(iq_rate_hz=IQ_RATE_HZ))
    dem = modem.PROFILES[profile].demodulator(int(front.mpx_rate_hz))
    sync = FrameSync(frame_config(profile))
    frames = []
    step = 2 * 262_144
    for i in range(0, len(cu8) + step, step):
        c0 = time.process_time()
        x = dec.process(cu8[i:i + step])
        c1 = time.process_time()
        m = front.process(x) if i < len(cu8) else front.flush()
        c2 = time.process_time()
        llr = dem.process(m) if i < len(cu8) else np.concatenate((dem.process(m), dem.flush()))
        c3 = time.process_time()
        frames += sync.process(llr)
        c4 = time.process_time()
        for key, a, b in (("cu8", c0, c1), ("fm_demod", c1, c2), ("subcarrier", c2, c3),
                          ("framesync", c3, c4)):
            t[key] += b - a
    return t, frames


def _mpx_times(profile: str, mpx: np.ndarray):
    chain = modem.RxChain(modem.PROFILES[profile], modem.InputKind.BASEBAND, 228_000)
    sync = FrameSync(frame_config(profile))
    frames, t = [], [0.0, 0.0]
    for i in range(0, mpx.size, 65_536):
        c0 = time.process_time()
        llr = chain.process(mpx[i:i + 65_536])
        c1 = time.process_time()
        frames += sync.process(llr)
        t[0] += c1 - c0
        t[1] += time.process_time() - c1
    frames += sync.process(chain.flush())
    return t, frames


@pytest.mark.parametrize("profile", ["fm", "fm-robust"])
def test_decode_speed_per_stage(benchmark, profile):
    """Issue 8: fm >= 25x real time from 1.2 MHz cu8 on one core end to end, >= 100x from
    228 kHz MPX; 21 s captures with a stereo programme; best of 3, per stage in extra_info.
    fm-robust is reported beside it (no target of its own)."""
    seconds = 21.0
    blocks, cu8 = _capture(profile, seconds, 7, iq=True)
    mpx_blocks, mpx = _capture(profile, seconds, 8, iq=False)
    air = len(cu8) / 2 / IQ_RATE_HZ
    best: dict = {}

    def run():
        for _ in range(3):
            t, frames = _stage_times(profile, cu8)
            if not best or sum(t.values()) < sum(best["iq"].values()):
                best.update(iq=t, frames=frames)
            t, frames = _mpx_times(profile, mpx)
            if "mpx" not in best or sum(t) < sum(best["mpx"]):
                best.update(mpx=t, mpx_frames=frames)

    benchmark.pedantic(run, rounds=1, iterations=1)
    split, mpx_t = best["iq"], best["mpx"]
    total = air / sum(split.values())
    from_mpx = (mpx.size / 228_000) / sum(mpx_t)
    info = benchmark.extra_info
    for key, value in split.items():
        info[f"x_real_time_{key}"] = round(air / max(value, 1e-9), 1)
    info.update(x_real_time_total=round(total, 1), x_real_time_from_228k_mpx=round(from_mpx, 1),
                x_real_time_228k_demod=round(mpx.size / 228_000 / mpx_t[0], 1),
                x_real_time_228k_framesync=round(mpx.size / 228_000 / mpx_t[1], 1))
    print(f"\n{profile} from cu8: {total:.1f}x real time; per stage "
          + ", ".join(f"{k} {air / max(v, 1e-9):.0f}x" for k, v in split.items())
          + f"; from 228 kHz MPX {from_mpx:.1f}x (demod {info['x_real_time_228k_demod']}x, "
          f"sync {info['x_real_time_228k_framesync']}x)")
    assert len({f.block for f in best["frames"]} & set(blocks)) == len(blocks)
    assert len({f.block for f in best["mpx_frames"]} & set(mpx_blocks)) == len(mpx_blocks)
    if profile == "fm":
        assert total >= 25.0 and from_mpx >= 100.0


@pytest.mark.parametrize("profile", ["fm", "fm-robust"])
def test_acquisition_from_a_random_start(benchmark, profile):
    """Issue 8: from a random start in the carousel, at the threshold CNR (+20 kHz), the first
    frame decodes within two frame durations of signal (plus the ~0.1 s the front end and the
    recovery windows take to lock). 40 random starts; the distribution goes to extra_info."""
    cfg, rate = frame_config(profile), modem.PROFILES[profile].bits_per_second
    frame_s = cfg.frame_bits / rate
    blocks, bits = carousel(profile, 40 * frame_s, 51)
    tx = TxChain(modem.PROFILES[profile], TxOptions(iq_rate_hz=IQ_RATE_HZ, with_programme=True,
                                                    programme_seed=51))
    iq = np.concatenate([tx.process(bits), tx.flush()])
    rx = ChannelSimulator(ChannelConfig(cnr_db=THRESHOLDS_DB[profile], signal_power=1.0, seed=52,
                                        freq_offset_hz=20_000.0), IQ_RATE_HZ, is_iq=True).process(iq)
    starts = np.random.default_rng(53).uniform(0.2, rx.size / IQ_RATE_HZ - 4 * frame_s, 40)
    waits = []

    def run():
        waits.clear()
        for s in starts:
            a = int(s * IQ_RATE_HZ)
            chain = modem.RxChain(modem.PROFILES[profile], modem.InputKind.IQ, IQ_RATE_HZ)
            sync = FrameSync(cfg)
            piece = rx[a:a + int(3.5 * frame_s * IQ_RATE_HZ)]
            frames = []
            for i in range(0, piece.size, 131_072):
                frames += sync.process(chain.process(piece[i:i + 131_072]))
            frames += sync.process(chain.flush())
            # Signal until the end of the first decoded frame, in frame durations.
            waits.append((frames[0].start_bit + cfg.frame_bits) / rate / frame_s if frames
                         else np.inf)

    benchmark.pedantic(run, rounds=1, iterations=1)
    w = np.sort(np.array(waits))
    benchmark.extra_info.update(frame_s=frame_s, median_frames=float(np.median(w)),
                                p90_frames=float(np.percentile(w, 90)), max_frames=float(w[-1]))
    print(f"\n{profile} acquisition at CNR {THRESHOLDS_DB[profile]} dB: first frame after "
          f"median {np.median(w):.2f}, 90 % {np.percentile(w, 90):.2f}, max {w[-1]:.2f} frame "
          f"durations (frame {frame_s:.3f} s); all: {np.round(w, 2).tolist()}")
    assert w[-1] <= 2.0 + 0.1 / frame_s


_MEMORY_SCRIPT = """
import sys
import modem
from framing.framesync import FrameSync
from framing.profiles import frame_config
from framing.reassembly import Reassembler
from modem.formats import SampleDecoder
path, minutes = sys.argv[1], float(sys.argv[2])
dec = SampleDecoder("cu8")
chain = modem.RxChain(modem.PROFILES["fm"], modem.InputKind.IQ, 1_200_000)
sync, reasm = FrameSync(frame_config("fm")), Reassembler()
fed, frames, hwm = 0, 0, []
with open(path, "rb") as source:  # read as a source would: 256 k samples at a time, looped
    while fed < minutes * 60 * 1_200_000 * 2:
        raw = source.read(2 * 262_144)
        if not raw:
            source.seek(0)
            hwm.append(int([l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]))
            continue
        fed += len(raw)
        found = sync.process(chain.process(dec.process(raw)))
        frames += len(found)
        reasm.process(found)
print(hwm[0], hwm[len(hwm) // 2], hwm[-1], frames)
"""


def test_peak_memory_on_an_endless_stream(benchmark, tmp_path):
    """Issue 8: peak memory (VmHWM) < 300 MB decoding 10 minutes of 1.2 MHz cu8 through the
    modem and framing stack (a 20 s capture fed over and over, in 256 k-sample reads, in a
    fresh process); the high-water mark must also stop growing after the first pass."""
    _, cu8 = _capture("fm", 20.0, 9, iq=True)
    path = tmp_path / "air.cu8"
    path.write_bytes(cu8)

    def run():
        out = subprocess.run([sys.executable, "-c", _MEMORY_SCRIPT, str(path), "10"],
                             capture_output=True, text=True, check=True)
        return [int(v) for v in out.stdout.split()]

    first, middle, last, frames = benchmark.pedantic(run, rounds=1, iterations=1)
    benchmark.extra_info.update(vmhwm_mb_first_pass=first / 1024, vmhwm_mb=last / 1024,
                                frames=frames)
    print(f"\nfm, 10 min of cu8: VmHWM {first / 1024:.0f} MB after the first 20 s, "
          f"{middle / 1024:.0f} MB at 5 min, {last / 1024:.0f} MB at 10 min; {frames} frames")
    assert last < 300 * 1024 and last - middle < 8 * 1024
