"""``hotcast demo``: the main job end to end, over the air, on the embedded defaults.

A center with a universe of 10 million cards revokes 100 000 at random; it builds and seals a
full bundle and renders one carousel cycle as an FM broadcast I/Q signal (cu8 at 1.2 MHz, with a
simulated stereo programme, pilot and RDS in the multiplex). The signal goes through the channel
simulator (a CNR that leaves Eb/N0 = 10 dB per payload bit on the subcarrier, a 20 kHz tuner
offset, a 100 ppm sample-clock error). A fresh terminal decodes the file with the streaming
receiver and merges the bundle; then its purse and POS logic refuse all 100 000 listed cards and
accept 1 000 random unlisted ones, each with a center-signed validity token.

Everything lives in a temporary folder; ``--out DIR`` keeps the signal (with SigMF metadata),
the homes, and a PNG of the MPX spectrum. Exit 0 when every check came out as expected.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from center import CenterHome
from center.registry.home import REQUEST_FILE
from center.root.home import RootHome, trial_root_path
from center.air.render import CarouselRenderer, RenderConfig
from modem import InputKind, TxOptions
from center.air.sinks import FileSink
from crypto import BundleKind, TerminalKeys
from framing import Reason, Universe
from modem.channel import ChannelConfig, ChannelSimulator, cnr_for_subcarrier_ebn0
from modem.mpxsim import mpx_spectrum
from receiver.payment.card import ICCard
from receiver.events import BundleApplied, Event, Summary
from receiver.payment.checks import TerminalPolicy
from receiver.store.merge import BundleMerger
from receiver.radio.pipeline import PipelineConfig, ReceivePipeline
from receiver.payment.reader import SimulatedReader
from receiver.radio.sources import FileSource
from receiver.store.store import TerminalStore
from receiver.payment.terminal import PAID, REFUSED, PosTerminal, PurseTerminal

OPERATOR = "demo"
# The demo's homes are throwaway (or kept with --out to look at): their keys are encrypted
# under $HOTCAST_PASSPHRASE when set, else under this one, which the summary names.
DEMO_PASSPHRASE = "hotcast demo"
PROFILE = "fm"
ISSUER_LO = 4929_0000_0000_0000  # one issuer's range of 10 000 000 card numbers
UNIVERSE_SIZE = 10_000_000
IQ_RATE_HZ = 1_200_000  # CONTRACT's default I/Q rate for `center render`
MPX_RATE_HZ = 240_000  # 1.2 MHz / 5
# Reasons drawn at random with these weights (a plausible mix; entropy 1.37 bit per entry).
REASON_WEIGHTS = {Reason.STOLEN: 0.60, Reason.LOST: 0.30, Reason.FRAUD: 0.07, Reason.OTHER: 0.03}


@dataclass(frozen=True)
class DemoConfig:
    revoked: int = 100_000
    unlisted_checked: int = 1_000
    ebn0_db: float = 10.0
    freq_offset_hz: float = 20_000.0
    clock_offset_ppm: float = 100.0
    seed: int = 2026

    def __post_init__(self) -> None:
        if not 1 <= self.revoked <= UNIVERSE_SIZE // 2:
            raise ValueError(f"revoked must be in 1..{UNIVERSE_SIZE // 2}, got {self.revoked}")
        if not 1 <= self.unlisted_checked <= 100_000:
            raise ValueError(f"unlisted_checked must be in 1..100000, got {self.unlisted_checked}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", metavar="DIR", help="keep the signal, homes and spectrum PNG here")
    parser.add_argument("--revoked", type=int, default=DemoConfig.revoked,
                        help="cards revoked (default %(default)s)")
    parser.add_argument("--ebn0", type=float, default=DemoConfig.ebn0_db,
                        help="Eb/N0 per payload bit on the subcarrier, dB (default %(default)s)")
    parser.add_argument("--seed", type=int, default=DemoConfig.seed)


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _center(home: Path, cfg: DemoConfig, rng: np.random.Generator, now: int, passphrase: str):
    universe = Universe(((ISSUER_LO, ISSUER_LO + UNIVERSE_SIZE - 1),))
    root = RootHome.init(trial_root_path(home), passphrase=lambda: passphrase)
    center = CenterHome.init(home, universe, root_pub=root.root_set_bytes(1), now=now,
                             by=OPERATOR, passphrase=passphrase)
    center.import_trust([root.sign_keyset((home / REQUEST_FILE).read_bytes())], now=now,
                        by=OPERATOR)
    offsets = rng.choice(UNIVERSE_SIZE, size=cfg.revoked, replace=False)
    listed = (ISSUER_LO + offsets).astype(np.uint64)
    reasons = rng.choice(len(REASON_WEIGHTS), size=cfg.revoked, p=list(REASON_WEIGHTS.values()))
    for code, reason in enumerate(REASON_WEIGHTS):
        center.revoke([int(c) for c in listed[reasons == code]], reason, now=now, by=OPERATOR)
    built = center.build(BundleKind.FULL, now=now, by=OPERATOR)
    return center, listed, built


def _render(center: CenterHome, cfg: DemoConfig, out: Path, now: int) -> tuple[CarouselRenderer, float]:
    """One carousel cycle -> FM I/Q through the channel -> ``out`` (cu8 + .sigmf-meta)."""
    items = center.carousel(now)
    renderer = CarouselRenderer(PROFILE, items + center.air_extras(items, now), RenderConfig(
        tx=TxOptions(baseband_rate_hz=MPX_RATE_HZ, iq_rate_hz=IQ_RATE_HZ, with_programme=True)))
    injection = renderer.chain.level
    # Subcarrier power = injection^2 / 2 (a sine of that amplitude); Eb per *payload* bit.
    cnr_db = cnr_for_subcarrier_ebn0(cfg.ebn0_db, injection ** 2 / 2, renderer.net_bits_per_second)
    channel = ChannelSimulator(ChannelConfig(
        cnr_db=cnr_db, signal_power=1.0, freq_offset_hz=cfg.freq_offset_hz,  # unit-amplitude FM carrier
        sample_rate_offset_ppm=cfg.clock_offset_ppm, seed=cfg.seed), IQ_RATE_HZ, is_iq=True)
    with FileSink(str(out), "cu8", IQ_RATE_HZ) as sink:
        for block in renderer.blocks():
            sink.write(channel.process(block))
        sink.close({"profile": PROFILE, "demo_cnr_db": round(cnr_db, 2),
                    "demo_ebn0_db": cfg.ebn0_db, "freq_offset_hz": cfg.freq_offset_hz,
                    "clock_offset_ppm": cfg.clock_offset_ppm})
    return renderer, cnr_db


def _spectrum_png(center: CenterHome, path: Path, now: int) -> None:
    from hotcast.plots import plot_mpx_spectrum  # matplotlib only when a PNG is asked for

    renderer = CarouselRenderer(PROFILE, center.carousel(now), RenderConfig(
        tx=TxOptions(baseband_rate_hz=MPX_RATE_HZ, with_programme=True), duration_s=4.0))
    mpx = np.concatenate(list(renderer.blocks()))
    freqs, psd_db = mpx_spectrum(mpx, MPX_RATE_HZ)
    plot_mpx_spectrum(freqs, psd_db, str(path),
                      title="hotcast MPX: programme, pilot, L-R, RDS and the 76 kHz data subcarrier")


def _decode(store: TerminalStore, signal: Path, now: int) -> tuple[Summary, list[Event], float]:
    source = FileSource(str(signal))
    pipeline = ReceivePipeline(PipelineConfig(PROFILE, InputKind.IQ, source.sample_rate_hz))
    merger = BundleMerger(store)
    events: list[Event] = []
    cpu0 = time.process_time()
    with source:
        for block in source:
            events += merger.process(pipeline.process(block), now)
    events += merger.process(pipeline.finish(), now)
    cpu = time.process_time() - cpu0
    return events[-1], events, cpu


def _checks(store: TerminalStore, center: CenterHome, listed: np.ndarray, cfg: DemoConfig,
            rng: np.random.Generator, now: int) -> dict:
    purse, pos = PurseTerminal(store), PosTerminal(store, TerminalPolicy(floor_limit_minor=0))
    refused = locked = 0
    for card_id in listed.tolist():
        card = ICCard(card_id, balance_minor=5_000)
        reader = SimulatedReader()
        reader.insert(card)
        result = purse.insert(reader, now)
        refused += result.outcome == REFUSED
        locked += card.locked_out
    listed_set = set(listed.tolist())
    unlisted: dict[int, None] = {}  # insertion-ordered set
    while len(unlisted) < cfg.unlisted_checked:
        card_id = ISSUER_LO + int(rng.integers(UNIVERSE_SIZE))
        if card_id not in listed_set:
            unlisted[card_id] = None
    accepted = 0
    for card_id in unlisted:
        token = center.issue_token(card_id, now + 30 * 86_400, now=now, by=OPERATOR)
        reader = SimulatedReader()
        reader.insert(ICCard(card_id, balance_minor=5_000, token=token))
        accepted += pos.pay(reader, 1_250, now).outcome == PAID
    return {"listed": len(listed), "refused": refused, "locked_out": locked,
            "unlisted": len(unlisted), "accepted": accepted,
            "sales_total_minor": store.sales_summary()[1]}


def run_demo(cfg: DemoConfig, workdir: Path, spectrum_png: bool, now: int,
             passphrase: str = DEMO_PASSPHRASE) -> int:
    t0 = time.perf_counter()
    rng = np.random.default_rng(cfg.seed)
    _say(f"center: revoking {cfg.revoked:,} of {UNIVERSE_SIZE:,} cards, building a full bundle")
    center, listed, built = _center(workdir / "center", cfg, rng, now, passphrase)
    signal = workdir / "air.cu8"
    _say("center: rendering one carousel cycle as FM I/Q through the channel simulator")
    renderer, cnr_db = _render(center, cfg, signal, now)
    keys = TerminalKeys.from_file(center.provision(now=now, by=OPERATOR))
    store = TerminalStore.create(workdir / "terminal", keys)
    _say("terminal: decoding the capture")
    summary, events, cpu = _decode(store, signal, now)
    applied = [e for e in events if isinstance(e, BundleApplied)
               and e.kind in (BundleKind.FULL, BundleKind.DELTA)]
    _say(f"terminal: checking {cfg.revoked:,} listed and {cfg.unlisted_checked:,} unlisted cards")
    checks = _checks(store, center, listed, cfg, rng, now)
    if spectrum_png:
        _spectrum_png(center, workdir / "mpx-spectrum.png", now)
    seconds = summary.seconds_of_signal
    ok = (applied and applied[-1].seq == built.seq and applied[-1].entries == cfg.revoked
          and checks["refused"] == checks["locked_out"] == cfg.revoked
          and checks["accepted"] == cfg.unlisted_checked)
    rows = [
        ("cards revoked / universe", f"{cfg.revoked:,} / {UNIVERSE_SIZE:,}"),
        ("sealed bundle", f"{len(built.sealed):,} B ({8 * len(built.sealed) / cfg.revoked:.2f} bit/card)"),
        ("bits on air (one cycle)", f"{renderer.stats.bits_on_air:,}"),
        ("seconds on air", f"{seconds:.1f} s"),
        ("net payload rate", f"{renderer.net_bits_per_second / 1e3:.1f} kbit/s"),
        ("channel", f"Eb/N0 {cfg.ebn0_db:g} dB (CNR {cnr_db:.1f} dB), "
                    f"{cfg.freq_offset_hz / 1e3:g} kHz offset, {cfg.clock_offset_ppm:g} ppm"),
        ("frames ok / bad", f"{summary.frames_ok} / {summary.frames_bad}"),
        ("decode speed", f"{seconds / cpu:.1f}x real time ({cpu:.1f} s CPU)"),
        ("bundle applied", f"seq {applied[-1].seq}, {applied[-1].entries:,} entries"
                           if applied else "NONE"),
        ("purse: listed refused", f"{checks['refused']:,} (locked out {checks['locked_out']:,})"),
        ("POS: unlisted accepted", f"{checks['accepted']:,} of {checks['unlisted']:,}"),
        ("total time", f"{time.perf_counter() - t0:.1f} s"),
        ("result", "OK" if ok else "FAILED"),
    ]
    width = max(len(k) for k, _ in rows)
    print("\nhotcast demo: hot-card list over an FM data subcarrier")
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")
    center.close()
    store.close()
    return 0 if ok else 1


def run(args: argparse.Namespace, ctx) -> int:
    try:
        cfg = DemoConfig(revoked=args.revoked, ebn0_db=args.ebn0, seed=args.seed)
    except ValueError as exc:
        _say(f"hotcast demo: {exc}")
        return 2
    if args.out:
        out = Path(args.out)
        if out.exists() and any(out.iterdir()):
            _say(f"hotcast demo: --out {out} exists and is not empty")
            return 2
        out.mkdir(parents=True, exist_ok=True)
        passphrase = ctx.environ.get("HOTCAST_PASSPHRASE") or DEMO_PASSPHRASE
        code = run_demo(cfg, out, spectrum_png=True, now=ctx.now(), passphrase=passphrase)
        print(f"  kept in {out}: air.cu8 (+ .sigmf-meta), mpx-spectrum.png, center/, "
              "center-root/ (a trial root), terminal/")
        if passphrase == DEMO_PASSPHRASE:
            print(f"  their keys are encrypted under the passphrase {DEMO_PASSPHRASE!r}")
        return code
    tmp = Path(tempfile.mkdtemp(prefix="hotcast-demo-"))
    try:
        return run_demo(cfg, tmp, spectrum_png=False, now=ctx.now())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
