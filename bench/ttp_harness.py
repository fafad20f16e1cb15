"""Time to protection: from a revocation (a shell's or an HTTP report's) to a terminal refusing
the card.

``run_ttp(TtpConfig(profile=...), workdir)`` runs, in one process and on a simulated clock
(``center.air.clock.SimClock``), the very ``center.air.serve.Serve`` loop that ``hotcast center
serve`` runs: its scheduler (registry watch every 0.1 s, delta build and seal, heartbeat and
announcement) and one channel of the profile with the real modem (``LiveCarousel`` ->
``modem.TxChain``), rendered ``ahead`` of its air clock as for a file output. Its output is a
terminal: the channel simulator (noise, clock offset, pulse jitter and loss), the streaming
``ReceivePipeline``, the ``BundleMerger`` into a ``TerminalStore``, and ``check_card`` after
every list it applies. Cards are revoked at random times (Poisson, mean gap ``mean_gap_s``) once
the terminal holds the first full list, from one of two sources:

* ``shell``: ``CenterHome.revoke`` in the harness, as ``hotcast center revoke`` from another
  process does; the clock starts when the revocation has reached the registry (its commit is
  not counted).
* ``http``: a report over HTTP, ``PUT /v1/cards/{card}`` with an operator's bearer token, to the
  center service (``center.service.start_http``: the ASGI app on uvicorn, on a loopback socket,
  as ``hotcast center serve --http`` runs it) over a keep-alive connection, as a card issuer's
  system sends them. The clock starts when the request is sent; the request's wall time (HTTP,
  authentication, rate limit, the registry's commit) is charged to the simulated clock before
  the scheduler's next tick can see the card.

What the clock charges: simulated seconds of air (every frame, the lead-in, the frame in
progress, the render-ahead, the pipeline's 0.1 s blocks) plus the measured wall time of every
scheduler tick (building and sealing the delta), which ``Serve`` adds to the simulated clock
before the new carousel reaches the channel, plus (``http``) each report's wall time.

``measure_ttp(profile, n, source="http"|"shell", quick=False)`` is the door for other benches
(``hotcast bench``): one run, its figures as a dict.

Run one profile, both sources, and print the distributions:

    .venv/bin/python bench/ttp_harness.py --profile fm --source shell --source http
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from center.air.clock import SimClock  # noqa: E402
from center.air.plan import parse_plan  # noqa: E402
from center.air.serve import Serve  # noqa: E402
from center.registry.home import REQUEST_FILE, CenterHome  # noqa: E402
from center.root.home import RootHome  # noqa: E402
from crypto import BundleKind, TerminalKeys  # noqa: E402
from center.service import start_http  # noqa: E402
from framing import Universe  # noqa: E402
from modem import InputKind, modem_profile  # noqa: E402
from modem.channel import ChannelConfig, ChannelSimulator  # noqa: E402
from modem.impairments import IrChannelConfig, add_noise, apply_ir_channel  # noqa: E402
from receiver.events import BundleApplied  # noqa: E402
from receiver.payment.checks import check_card  # noqa: E402
from receiver.radio.pipeline import PipelineConfig, ReceivePipeline  # noqa: E402
from receiver.store.merge import BundleMerger  # noqa: E402
from receiver.store.store import TerminalStore  # noqa: E402

START = 1_790_000_000  # 2026-09-21 UTC
PASSPHRASE = "ttp harness"
UNIVERSE = Universe(((4_000_000_000_000_000, 4_999_999_999_999_999),))
PROFILES = ("fm", "fm-robust", "audio", "audio-robust", "ir")
SOURCES = ("shell", "http")
TARGETS_P99_S = {"fm": 2.0, "audio": 5.0}  # issue 10
# The channel between center and terminal, per profile: a clean but real link.
# fm, fm-robust: Eb/N0 per payload bit on the subcarrier (12 dB; fm-robust 6 dB, ~5 dB more
# sensitive), receiver clock +80 ppm. audio: 25 dB SNR in the band; audio-robust: 12 dB.
# ir: +-50 us edge jitter, marks stretched 20-60 us, 0.1 % of bursts lost.
EBN0_DB = {"fm": 12.0, "fm-robust": 6.0}
SNR_DB = {"audio": 25.0, "audio-robust": 12.0}
IR_LINK = IrChannelConfig(jitter_us=50.0, stretch_us=(20.0, 60.0), drop_fraction=0.001)
CLOCK_PPM = 80.0


@dataclass(frozen=True)
class TtpConfig:
    profile: str
    revocations: int = 100
    mean_gap_s: float = 6.0
    listed: int = 2_000  # cards on the list before the first revocation
    seed: int = 10
    ahead_s: float = 0.5
    poll_s: float = 0.1
    max_sim_s: float = 4_000.0
    source: str = "shell"  # "shell" or "http" (module docstring)

    def __post_init__(self) -> None:
        modem_profile(self.profile)
        if not 1 <= self.revocations <= 10_000 or self.mean_gap_s <= 0:
            raise ValueError("revocations must be 1..10000 and mean_gap_s > 0")
        if self.source not in SOURCES:
            raise ValueError(f"source {self.source!r}: want one of {', '.join(SOURCES)}")


@dataclass
class TtpResult:
    profile: str
    source: str = "shell"
    latencies_s: list[float] = field(default_factory=list)
    missing: int = 0
    builds: int = 0
    build_wall_s: list[float] = field(default_factory=list)
    report_wall_s: list[float] = field(default_factory=list)  # http: each request's wall time
    sim_seconds: float = 0.0

    def figures(self) -> dict:
        x = np.array(self.latencies_s) if self.latencies_s else np.array([np.nan])
        report = {} if not self.report_wall_s else {
            "report_wall_p50_s": round(float(np.percentile(self.report_wall_s, 50)), 4),
            "report_wall_p99_s": round(float(np.percentile(self.report_wall_s, 99)), 4)}
        return {"profile": self.profile, "source": self.source, "n": len(self.latencies_s),
                "missing": self.missing,
                "p50_s": round(float(np.percentile(x, 50)), 3),
                "p90_s": round(float(np.percentile(x, 90)), 3),
                "p99_s": round(float(np.percentile(x, 99)), 3),
                "max_s": round(float(np.max(x)), 3), "min_s": round(float(np.min(x)), 3),
                "mean_s": round(float(np.mean(x)), 3), "deltas_built": self.builds,
                "build_wall_p99_s": round(float(np.percentile(self.build_wall_s or [0], 99)), 4),
                "sim_seconds": round(self.sim_seconds, 1), **report}


class _Link:
    """What the channel's air does to the signal on its way to the terminal (streaming)."""

    def __init__(self, profile: str, rate_hz: int | None, seed: int) -> None:
        self.profile, self.rate, self.seed = profile, rate_hz, seed
        entry = modem_profile(profile)
        self.pulses = rate_hz is None
        self._n = 0
        self._fm = None
        if profile in EBN0_DB:
            from framing import frame_config
            cfg = frame_config(profile)
            net = entry.bits_per_second * cfg.efficiency / (1 + cfg.repair_ratio)
            self._fm = ChannelSimulator(ChannelConfig(
                ebn0_db=EBN0_DB[profile], payload_bit_rate_bps=net,
                signal_power=entry.default_level ** 2 / 2, sample_rate_offset_ppm=CLOCK_PPM,
                seed=seed), rate_hz, is_iq=False)
        self._band = entry.band_hz
        self._power = 10 ** (entry.default_level / 10)  # audio level is RMS dBFS

    def process(self, x: np.ndarray) -> np.ndarray:
        self._n += 1
        if self._fm is not None:
            return self._fm.process(x)
        if self.pulses:
            total = int(np.sum(np.abs(x)))
            y = apply_ir_channel(x, dataclasses.replace(IR_LINK, seed=self.seed + self._n))
            left = total - int(np.sum(np.abs(y)))  # the channel ends a chunk on its last mark
            return np.concatenate((y, [-left])).astype(np.int32) if left > 0 else y
        return add_noise(x, self.rate, SNR_DB[self.profile], self._band, self.seed + self._n,
                         signal_power=self._power)


class TerminalOutput:
    """A serve output that is a terminal listening through the channel (paced by the clock)."""

    def __init__(self, profile: str, rate_hz: int | None, store: TerminalStore, seed: int,
                 on_applied) -> None:
        kind = InputKind.PULSES if rate_hz is None else InputKind.BASEBAND
        self.pipeline = ReceivePipeline(PipelineConfig(profile, kind, float(rate_hz or 1e6)),
                                        lambda data: store.vet_announcement(data, self._now))
        self.merger = BundleMerger(store)
        self.link = _Link(profile, rate_hz, seed)
        self.t_first: float | None = None
        self._now = START
        self._on_applied = on_applied

    def write(self, block, air_s: float) -> None:
        if self.t_first is None:
            self.t_first = air_s
        for event in self.pipeline.process(self.link.process(block.samples)):
            t = self.t_first + event.at.t_s
            self._now = int(t)
            for out in self.merger.process([event], int(t)):
                if isinstance(out, BundleApplied) and out.kind in (BundleKind.FULL, BundleKind.DELTA):
                    self._on_applied(out, t)

    def close(self) -> None:
        """Nothing to finish: the terminal keeps what it applied."""

    def abort(self) -> None:
        """Nothing to drop."""


def _plan_text(cfg: TtpConfig) -> str:
    return f"""
[serve]
poll = {cfg.poll_s}
[policy]
ahead = {cfg.ahead_s}
[[channels]]
name = "air"
profile = "{cfg.profile}"
output = {{ kind = "{'ir-files' if cfg.profile == 'ir' else 'files'}", dir = "unused" }}
"""


class HttpReporter:
    """Reports cards to the center service on a loopback socket, as a card issuer's system does:
    one keep-alive connection, an operator's bearer token, ``PUT /v1/cards/{card}``."""

    def __init__(self, home: CenterHome, clock: SimClock) -> None:
        import httpx2  # the service's HTTP client (a test and bench dependency)

        token = home.add_operator("ttp-desk", "operator", now=int(clock.now()), by="ttp")
        self.service = start_http(home.path, "127.0.0.1:0", passphrase=PASSPHRASE,
                                  clock=lambda: int(clock.now()))
        self.client = httpx2.Client(base_url=self.service.url, timeout=30.0,
                                    headers={"Authorization": f"Bearer {token}"})

    def report(self, card: int) -> float:
        """Report ``card`` stolen; the request's wall time (s). A refusal is an error."""
        started = time.perf_counter()
        r = self.client.put(f"/v1/cards/{card}", json={"reason": "stolen", "note": "ttp"})
        took = time.perf_counter() - started
        if r.status_code != 200 or r.json().get("added") != 1:
            raise RuntimeError(f"the service refused report {card}: {r.status_code} {r.text}")
        return took

    def close(self) -> None:
        self.client.close()
        self.service.stop()


def _center(workdir: Path, listed: list[int]) -> CenterHome:
    root = RootHome.init(workdir / "root", passphrase=lambda: PASSPHRASE)
    home = CenterHome.init(workdir / "center", UNIVERSE, root_pub=root.root_set_bytes(1),
                           now=START - 60, by="ttp", passphrase=PASSPHRASE)
    home.import_trust([root.sign_keyset((workdir / "center" / REQUEST_FILE).read_bytes())],
                      now=START - 60, by="ttp")
    home.revoke(listed, now=START - 60, by="ttp")
    return home


def run_ttp(cfg: TtpConfig, workdir: Path, log=None) -> TtpResult:
    """Run the harness for ``cfg`` in ``workdir`` (module docstring)."""
    workdir = Path(workdir)
    rng = np.random.default_rng(cfg.seed)
    lo = UNIVERSE.ranges[0][0]
    cards = (lo + rng.choice(10**15, cfg.listed + cfg.revocations, replace=False)).tolist()
    home = _center(workdir, cards[:cfg.listed])
    keys = TerminalKeys.from_file(home.provision(now=START - 60, by="ttp"))
    store = TerminalStore.create(workdir / "terminal", keys)
    plan = parse_plan(_plan_text(cfg), "<ttp plan>", workdir)
    clock = SimClock(START)
    result = TtpResult(cfg.profile, cfg.source)
    revoked: dict[int, float] = {}
    to_revoke = cards[cfg.listed:]
    reporter = HttpReporter(home, clock) if cfg.source == "http" else None

    def revoke(card: int) -> None:
        if reporter is None:
            home.revoke([card], now=int(clock.now()), by="ttp")
            revoked[card] = clock.now()
            return
        revoked[card] = clock.now()  # the request is sent now...
        took = reporter.report(card)
        result.report_wall_s.append(took)
        clock.advance(took)  # ...and nothing can see the card before its answer

    def on_applied(event, t: float) -> None:
        if not to_revoke_scheduled:
            gaps = rng.exponential(cfg.mean_gap_s, cfg.revocations)
            for card, at in zip(to_revoke, t + 1.0 + np.cumsum(gaps)):
                clock.at(float(at), lambda card=card: revoke(card))
            to_revoke_scheduled.append(True)
        for card, since in list(revoked.items()):
            if check_card(store, card, int(t)).verdict == "refuse":
                result.latencies_s.append(t - since)
                del revoked[card]
        if len(result.latencies_s) == cfg.revocations:
            serve.stop("done")

    to_revoke_scheduled: list[bool] = []

    def scheduler_log(line: dict) -> None:
        if line.get("event") == "built" and line.get("kind") == "delta":
            result.builds += 1
            result.build_wall_s.append(line["took_s"])
        if log is not None:
            log(line)

    rate = plan.channels[0].output.rate_hz if cfg.profile != "ir" else None

    def opener(stopping):
        return TerminalOutput(cfg.profile, rate, store, cfg.seed, on_applied)

    serve = Serve(plan, workdir / "center", passphrase=lambda: PASSPHRASE, by="ttp",
                  clock=clock, log=scheduler_log, openers={"air": opener})
    clock.at(START + cfg.max_sim_s, lambda: serve.stop("time limit"))
    try:
        serve.run()
    finally:
        if reporter is not None:
            reporter.close()
    result.sim_seconds = clock.now() - START
    result.missing = cfg.revocations - len(result.latencies_s)
    store.close()
    home.close()
    return result


# Quick runs (``hotcast bench --quick``): a smaller list and denser revocations, so that a run
# of a few revocations takes seconds; the figures are the same kind, only noisier.
QUICK = {"listed": 200, "mean_gap_s": 3.0}


def measure_ttp(profile: str, n: int = 100, source: str = "http", quick: bool = False, *,
                seed: int = 10, workdir: Path | None = None) -> dict:
    """One harness run of ``n`` revocations on ``profile`` from ``source`` ("http" or
    "shell"); its figures (``TtpResult.figures``: p50_s, p90_s, p99_s, max_s, ..., missing).
    ``workdir`` None: a temporary folder, removed after."""
    cfg = TtpConfig(profile, revocations=n, seed=seed, source=source,
                    **(QUICK if quick else {}))
    if workdir is not None:
        return run_ttp(cfg, Path(workdir)).figures()
    with tempfile.TemporaryDirectory(prefix="hotcast-ttp-") as tmp:
        return run_ttp(cfg, Path(tmp)).figures()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", choices=PROFILES, action="append",
                        help="profile(s) to run (default: all)")
    parser.add_argument("--source", choices=SOURCES, action="append",
                        help="where revocations start (default: both)")
    parser.add_argument("--revocations", type=int, default=100)
    parser.add_argument("--seed", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="a short list, denser revocations")
    args = parser.parse_args(argv)
    for profile in args.profile or PROFILES:
        for source in args.source or SOURCES:
            figures = measure_ttp(profile, args.revocations, source, args.quick, seed=args.seed)
            print(json.dumps(figures), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
