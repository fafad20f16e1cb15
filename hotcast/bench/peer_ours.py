"""Our side of the peers comparison: a real carousel (a center's signed, sealed bundle, its
heartbeat and announcement) rendered as sound by the audio profiles, and ``hotcast receiver
decode`` run on it as a child process, measured exactly as the peers' decoders are.

A center with a trial root revokes a few thousand cards and builds a full bundle (as
``hotcast demo`` does); the carousel is rendered for the asked number of seconds to a 48 kHz
WAV through ``center.air``; a terminal provisioned by that center decodes it. Its payload is
the blocks of the frames it decoded, net of the 10 % RaptorQ repair blocks:
frames_ok x block_bytes x 8 / (1 + repair_ratio).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from center import CenterHome
from center.air.render import CarouselRenderer, RenderConfig
from center.air.sinks import FileSink
from center.registry.home import REQUEST_FILE
from center.root.home import RootHome, trial_root_path
from crypto import BundleKind, TerminalKeys
from framing import Reason, Universe
from framing.profiles import frame_config
from hotcast.bench.decoding import child_env, hotcast_command
from hotcast.bench.peer_tools import PeerError, run_child
import modem
from modem import TxOptions
from receiver.store.store import TerminalStore

PASSPHRASE = "hotcast bench"
OPERATOR = "bench"
NOW = 1_790_000_000  # a fixed clock (2026-09-21): homes, bundles and decodes agree on it
_LO, _SIZE = 4929_0000_0000_0000, 10_000_000


@dataclass(frozen=True)
class Homes:
    center: Path
    terminal: Path


def make_homes(work: Path, revoked: int, seed: int) -> Homes:
    """A center that revoked ``revoked`` random cards and built a full bundle, and a terminal
    it provisioned."""
    home = work / "center"
    root = RootHome.init(trial_root_path(home), passphrase=lambda: PASSPHRASE)
    center = CenterHome.init(home, Universe(((_LO, _LO + _SIZE - 1),)),
                             root_pub=root.root_set_bytes(1), now=NOW, by=OPERATOR,
                             passphrase=PASSPHRASE)
    try:
        center.import_trust([root.sign_keyset((home / REQUEST_FILE).read_bytes())], now=NOW,
                            by=OPERATOR)
        cards = _LO + np.random.default_rng(seed).choice(_SIZE, size=revoked, replace=False)
        center.revoke([int(c) for c in cards], Reason.STOLEN, now=NOW, by=OPERATOR)
        center.build(BundleKind.FULL, now=NOW, by=OPERATOR)
        keys = TerminalKeys.from_file(center.provision(now=NOW, by=OPERATOR))
    finally:
        center.close()
    TerminalStore.create(work / "terminal", keys).close()
    return Homes(home, work / "terminal")


def render_wav(homes: Homes, profile: str, seconds: float, path: Path) -> float:
    """``seconds`` of the carousel on ``profile`` -> a 48 kHz WAV; the seconds written."""
    center = CenterHome.open(homes.center, passphrase=PASSPHRASE)
    try:
        items = center.carousel(NOW)
        renderer = CarouselRenderer(profile, items + center.air_extras(items, NOW),
                                    RenderConfig(tx=TxOptions(), duration_s=seconds))
        rate = renderer.output_rate_hz
        samples = 0
        with FileSink(str(path), "wav", rate) as sink:
            for block in renderer.blocks():
                sink.write(block)
                samples += block.size
            sink.close({"profile": profile})
    finally:
        center.close()
    return samples / rate


def payload_bits_per_frame(profile: str) -> float:
    """Net payload of one decoded frame: its block, less the repair blocks' share."""
    cfg = frame_config(profile)
    return cfg.block_bytes * 8 / (1 + cfg.repair_ratio)


def frames_on_air(profile: str, seconds: float) -> int:
    """Whole frames in ``seconds`` of a rendered carousel (after the profile's lead-in)."""
    entry = modem.PROFILES[profile]
    bits = seconds * entry.bits_per_second - entry.lead_in_bits
    return max(0, int(bits // frame_config(profile).frame_bits))


def decode(homes: Homes, profile: str, path: Path, timeout_s: float = 600.0):
    """``hotcast receiver decode`` as a child: (payload bits, child CPU s, summary dict)."""
    run = run_child(hotcast_command() + ["receiver", "decode", "--home", str(homes.terminal),
                                         "--profile", profile, "--input", str(path)],
                    timeout_s=timeout_s, env=child_env(NOW))
    summary = parse_summary(run.stdout)
    if run.returncode != 0 or summary is None:
        raise PeerError(f"hotcast receiver decode exited {run.returncode} without a summary")
    return summary["frames_ok"] * payload_bits_per_frame(profile), run.cpu_s, summary


def parse_summary(stdout: str) -> dict | None:
    """The ``summary`` event of ``receiver decode``'s JSON lines (None when absent)."""
    for line in reversed(stdout.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            if event.get("event") == "summary":
                return event
    return None
