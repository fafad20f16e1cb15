"""Make the reference captures of captures/ and their MANIFEST.toml. Run by hand, never by tests:

    .venv/bin/python captures/make_captures.py [--seed 1]

What it does, with the project's own stages (nothing else touches the samples):
1. a center home (temporary) with a universe of 10**19 card IDs revokes ENTRIES seeded random
   cards, builds a full bundle, revokes DELTA_ENTRIES more and builds a delta from it, both
   valid for VALID_S (a century, so the captures never expire), and provisions a terminal:
   its key file is ``terminal.keys`` here (test key material of a throw-away center);
2. each bundle is cut by ``framing.segment`` (stream = bundle kind: full 1, delta 2), the
   ``framing.CarouselScheduler`` interleaves them (shares = block counts: one cycle sends
   every block once), ``FrameGen`` makes the bits, preceded by LEAD_BITS seeded random bits;
   the air starts FRAME_OFFSET frames into a cycle (the receiver tunes in mid-cycle);
3. ``modem.SubcarrierModulator`` (76 kHz, 10 % injection) plus ``modem.mpxsim`` programme,
   pilot, stereo and RDS make the MPX; for I/Q, ``FmIqModulator`` makes the FM signal at
   amplitude 0.7 (a cu8 file then never clips);
4. ``modem.channel.ChannelSimulator`` adds what each capture's ``channel`` says; then
   ``modem.formats`` writes the file and a ``.sigmf-meta`` beside it.

MANIFEST.toml records, per capture, all of the above (seed, channel, rates, format) and
what it must decode to: every bundle's seq, kind, entry count and SHA-256, and the list
seq and entry count a fresh terminal holds after decoding the whole file.
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
import time
from pathlib import Path

import numpy as np

from center import CenterHome
from crypto import BundleKind, read_unverified_header
from framing import CarouselScheduler, frame_config, segment
from framing.frames import FrameGen
from modem import FmSubcarrierConfig, SubcarrierModulator
from modem.channel import ChannelConfig, ChannelSimulator, cnr_for_subcarrier_ebn0
from modem.fmiq import FmIqModulator, FmIqModulatorConfig
from modem.formats import SigmfMeta, build_sigmf_meta, encode_samples, encode_wav
from modem.mpxsim import MpxSimConfig, simulate_mpx

HERE = Path(__file__).resolve().parent
ENTRIES = 200  # full bundle: ~1.4 kB sealed, K = 2 blocks, N = 4
DELTA_ENTRIES = 10  # delta: K = 1, N = 3; one cycle = 7 frames x 8800 bit / 38 kbit/s = 1.62 s
VALID_S = 100 * 365 * 86_400
LEAD_BITS = 4_000  # the demodulator acquires on these (~2 000 bits needed)
FRAME_OFFSET = 3  # tune in 3 frames into the cycle
MPX_RATE_HZ = 228_000
IQ_RATE_HZ = 1_200_000
IQ_AMPLITUDE = 0.7
INJECTION = 0.10
PROGRAMME_PEAK = 0.72  # 1 - pilot 0.09 - RDS 0.03 - 1.6 x injection (data peaks), see mpxsim
# Payload rate for Eb/N0 per payload bit: 38 kbit/s x 6080 / 8800 / 1.1 (10 % repair blocks).
PAYLOAD_BPS = 38_000 * 6080 / 8800 / 1.1


def make_center(path: Path, seed: int) -> tuple[list, bytes]:
    now = int(time.time())
    rng = np.random.default_rng(seed)
    cards = [int(c) for c in rng.choice(10**15, ENTRIES + DELTA_ENTRIES, replace=False) + 4 * 10**15]
    with CenterHome.init(path, now=now, by="make_captures") as home:
        home.revoke(cards[:ENTRIES], now=now, by="make_captures")
        full = home.build(BundleKind.FULL, now=now, by="make_captures", valid_for_s=VALID_S)
        home.revoke(cards[ENTRIES:], now=now, by="make_captures")
        delta = home.build(BundleKind.DELTA, full.seq, now=now, by="make_captures", valid_for_s=VALID_S)
        keys = home.provision(now=now, by="make_captures")
    return [full, delta], keys


def air_bits(bundles: list, seconds: float, seed: int) -> np.ndarray:
    cfg = frame_config("fm")
    sched = CarouselScheduler(cfg)
    for b in bundles:
        header = read_unverified_header(b.sealed)
        blocks = segment(b.sealed, int(header.kind), b.seq, cfg)
        sched.put(blocks, share=float(len(blocks)))
    n_frames = int(seconds * 38_000 / cfg.frame_bits) + 2
    blocks = sched.next_frames(FRAME_OFFSET + n_frames)[FRAME_OFFSET:]
    lead = np.random.default_rng(seed).integers(0, 2, LEAD_BITS, dtype=np.uint8)
    return np.concatenate((lead, FrameGen(cfg).process(blocks)))


def make_mpx(bits: np.ndarray, seconds: float, seed: int) -> np.ndarray:
    n = int(seconds * MPX_RATE_HZ)
    mod = SubcarrierModulator(FmSubcarrierConfig(sample_rate_hz=float(MPX_RATE_HZ), injection=INJECTION))
    data = np.concatenate((mod.process(bits), mod.flush()))[:n]
    programme = simulate_mpx(n, MpxSimConfig(programme_peak=PROGRAMME_PEAK, seed=seed))
    programme[: data.size] += data
    return programme


def write(path: Path, samples: np.ndarray, fmt: str, rate: int, description: str) -> None:
    if fmt == "wav":
        path.write_bytes(encode_wav(samples, rate))
        meta = SigmfMeta("s16le", float(rate), description=description)
    else:
        path.write_bytes(encode_samples(samples, fmt))
        meta = SigmfMeta(fmt, float(rate), description=description)
    Path(str(path) + ".sigmf-meta").write_text(build_sigmf_meta(meta))


CAPTURES = [
    {
        "file": "fm-cu8-small.cu8", "format": "cu8", "seconds": 2.0, "iq": True,
        "ebn0_db": 12.0, "freq_offset_hz": 20_000.0, "ppm": 100.0,
        "about": "RTL-SDR style FM I/Q at 1.2 MHz: programme + pilot + stereo + RDS + data "
                 "subcarrier, CNR for Eb/N0 12 dB per payload bit, +20 kHz tuner offset, "
                 "+100 ppm sample clock",
    },
    {
        "file": "fm-mpx-small.wav", "format": "wav", "seconds": 4.0, "iq": False,
        "ebn0_db": 12.0, "freq_offset_hz": 0.0, "ppm": -50.0,
        "about": "228 kHz MPX (16-bit WAV) as from rtl_fm -s 228k: programme + pilot + stereo "
                 "+ RDS + data subcarrier, white noise for Eb/N0 12 dB per payload bit, "
                 "-50 ppm sample clock, a -3 dB level step at 2 s (9 dB after it)",
    },
]


def channel_for(spec: dict, seed: int) -> ChannelConfig:
    if spec["iq"]:
        power = IQ_AMPLITUDE**2
        cnr = cnr_for_subcarrier_ebn0(spec["ebn0_db"], INJECTION**2 / 2, PAYLOAD_BPS)
        return ChannelConfig(cnr_db=cnr, signal_power=power, freq_offset_hz=spec["freq_offset_hz"],
                             sample_rate_offset_ppm=spec["ppm"], seed=seed)
    return ChannelConfig(ebn0_db=spec["ebn0_db"], payload_bit_rate_bps=PAYLOAD_BPS,
                         signal_power=INJECTION**2 / 2, sample_rate_offset_ppm=spec["ppm"],
                         gain_steps_db=((2.0, -3.0),), seed=seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    seed = parser.parse_args().seed
    with tempfile.TemporaryDirectory() as tmp:
        bundles, keys = make_center(Path(tmp) / "center", seed)
    (HERE / "terminal.keys").write_bytes(keys)
    lines = [
        "# Reference captures: how each was made and what it must decode to.",
        "# Made by: .venv/bin/python captures/make_captures.py --seed " + str(seed),
        "# (see that script's docstring). Decode one with:",
        "#   hotcast terminal init --home T --keys captures/terminal.keys",
        "#   hotcast receiver decode --home T --profile fm --input captures/FILE",
        "",
        'keys = "terminal.keys"',
        "",
    ]
    for i, spec in enumerate(CAPTURES):
        rate = IQ_RATE_HZ if spec["iq"] else MPX_RATE_HZ
        mpx = make_mpx(air_bits(bundles, spec["seconds"], seed + i), spec["seconds"], seed + i)
        channel = channel_for(spec, seed + i)
        if spec["iq"]:
            iq = FmIqModulator(FmIqModulatorConfig(MPX_RATE_HZ, IQ_RATE_HZ)).process(mpx)
            samples = ChannelSimulator(channel, rate, True).process(iq * np.float32(IQ_AMPLITUDE))
        else:
            samples = ChannelSimulator(channel, rate, False).process(mpx)
        path = HERE / spec["file"]
        write(path, samples, spec["format"], rate, spec["about"])
        data = path.read_bytes()
        lines += [
            "[[capture]]",
            f'file = "{spec["file"]}"',
            f'format = "{spec["format"]}"',
            f"sample_rate_hz = {rate}",
            'profile = "fm"',
            f"seconds = {len(samples) / rate:.6f}",
            f"bytes = {len(data)}",
            f'sha256 = "{hashlib.sha256(data).hexdigest()}"',
            f'made_by = "captures/make_captures.py --seed {seed}"',
            f"seed = {seed + i}",
            f'about = "{spec["about"]}"',
            f"channel = {{ ebn0_db_per_payload_bit = {spec['ebn0_db']}, "
            f"cnr_db = {channel.cnr_db if channel.cnr_db is not None else 'nan'}, "
            f"freq_offset_hz = {spec['freq_offset_hz']}, sample_rate_offset_ppm = {spec['ppm']}, "
            f"gain_steps_db = {[list(g) for g in channel.gain_steps_db]} }}",
            f"injection = {INJECTION}",
            f"programme_peak = {PROGRAMME_PEAK}",
            f"tune_in_frame = {FRAME_OFFSET}",
            f"expect_list_seq = {bundles[-1].seq}",
            f"expect_entries = {bundles[-1].entries}",
        ]
        for b in bundles:
            lines += [
                "[[capture.bundles]]",
                f"seq = {b.seq}",
                f'kind = "{b.kind}"',
                f"entries = {b.entries}",
                f"bytes = {len(b.sealed)}",
                f'sha256 = "{hashlib.sha256(b.sealed).hexdigest()}"',
            ]
        lines.append("")
        print(f"{spec['file']}: {len(data)} bytes, {len(samples) / rate:.2f} s")
    (HERE / "MANIFEST.toml").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
