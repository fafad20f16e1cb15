"""Test signals for the receive pipeline: a small center, its carousel, its MPX and FM I/Q.

Helpers (imported by the pipeline, CLI and e2e tests as ``tests.receiver.test_pipeline_signal``)
plus a check that they make what they say. Everything is seeded; a cycle of a 300-entry
list is K = 3 source + 2 repair blocks = 5 frames x 8800 bits / 38 000 bit/s = 1.16 s.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from center import CenterHome
from center.registry.home import REQUEST_FILE
from center.root.home import RootHome, trial_root_path
from crypto import BundleKind, TerminalKeys, read_unverified_header
from framing import CarouselScheduler, Universe, frame_config, segment
from framing.frames import FrameGen
from modem import FmSubcarrierConfig, SubcarrierModulator
from modem.formats import (
    SigmfMeta, build_sigmf_meta, encode_samples, encode_wav, format_for_name,
)
from modem.fmiq import FmIqModulator, FmIqModulatorConfig
from receiver.store.store import TerminalStore

ROOT = Path(__file__).resolve().parents[2]
MPX_RATE_HZ = 228_000
IQ_RATE_HZ = 1_200_000
FM = frame_config("fm")
LEAD_BITS = 6_000  # random bits before the first frame: the demodulator acquires on them
VALID_S = 100 * 365 * 86_400  # captures stay valid for a century


PASSPHRASE = "test"  # of the center's and trial root's key files (scrypt: ~0.12 s an open)


@dataclass(frozen=True)
class Center:
    home: Path
    root: Path  # the trial root home beside it
    keys: bytes  # terminal key file (TerminalKeys.to_file())
    keyset: bytes  # the key set in force, as the root signed it (it goes on air too)
    bundles: tuple[bytes, ...]  # sealed lists, in seq order
    seqs: tuple[int, ...]
    entries: tuple[int, ...]


def make_center(path: Path, entries: int = 300, seed: int = 1, now: int | None = None,
                delta_entries: int = 0) -> Center:
    """A real center home (``CenterHome``) trusting a trial root (``RootHome``, beside it, as
    ``center init`` without ``--root-pub`` makes one) that signed its first key set, with
    ``entries`` random cards revoked and a full list built; with ``delta_entries`` more revoked
    afterwards and a delta built from the full one."""
    now = int(time.time()) if now is None else now
    rng = np.random.default_rng(seed)
    cards = rng.choice(10**15, size=entries + delta_entries, replace=False) + 4 * 10**15
    home, keyset = init_center(path, now=now)
    with home:
        home.revoke([int(c) for c in cards[:entries]], now=now, by="test")
        full = home.build(BundleKind.FULL, now=now, by="test", valid_for_s=VALID_S)
        built = [full]
        if delta_entries:
            home.revoke([int(c) for c in cards[entries:]], now=now, by="test")
            built.append(home.build(BundleKind.DELTA, full.seq, now=now, by="test",
                                    valid_for_s=VALID_S))
        keys = home.provision(now=now, by="test")
    return Center(path, trial_root_path(path), keys, keyset, tuple(b.sealed for b in built),
                  tuple(b.seq for b in built), tuple(b.entries for b in built))


def init_center(path: Path, universe: Universe | None = None, *, now: int
                ) -> tuple[CenterHome, bytes]:
    """What `hotcast center init` without ``--root-pub`` makes: a trial root home beside
    ``path`` (``trial_root_path``; open it with ``trial_root``) and a center home trusting it,
    whose first key set the root has signed and the center imported, so lists can be built at
    once. -> (the open center home: close it, the signed key set)."""
    root = RootHome.init(trial_root_path(path), passphrase=lambda: PASSPHRASE)
    home = CenterHome.init(path, universe, root_pub=root.root_set_bytes(1), now=now, by="test",
                           passphrase=PASSPHRASE)
    keyset = root.sign_keyset((path / REQUEST_FILE).read_bytes())
    home.import_trust([keyset], now=now, by="test")
    return home, keyset


def trial_root(center_path: Path) -> RootHome:
    """The trial root home beside the center home at ``center_path``."""
    return RootHome.open(trial_root_path(center_path), lambda: PASSPHRASE)


def make_terminal(path: Path, center: Center) -> Path:
    TerminalStore.create(path, TerminalKeys.from_file(center.keys)).close()
    return path


def carousel_bits(bundles: list[bytes] | tuple[bytes, ...], frames: int, seed: int = 0,
                  lead_bits: int = LEAD_BITS, seqs: list[int] | None = None) -> np.ndarray:
    """Random lead bits then ``frames`` frames of the carousel of ``bundles`` (equal shares)."""
    sched = CarouselScheduler(FM)
    for i, data in enumerate(bundles):
        seq = seqs[i] if seqs else _seq_of(data)
        sched.put(segment(data, 0, seq, FM))
    bits = FrameGen(FM).process(sched.next_frames(frames))
    lead = np.random.default_rng(seed).integers(0, 2, lead_bits, dtype=np.uint8)
    return np.concatenate((lead, bits))


def _seq_of(data: bytes) -> int:
    return read_unverified_header(data).seq


def modulate(bits: np.ndarray, rate_hz: float = MPX_RATE_HZ, tail_s: float = 0.2) -> np.ndarray:
    """Bits -> float32 MPX holding the subcarrier alone, plus ``tail_s`` of silence."""
    mod = SubcarrierModulator(FmSubcarrierConfig(sample_rate_hz=float(rate_hz)))
    mpx = np.concatenate((mod.process(bits), mod.flush()))
    return np.concatenate((mpx, np.zeros(int(tail_s * rate_hz), np.float32))).astype(np.float32)


def to_iq(mpx: np.ndarray, iq_rate_hz: int = IQ_RATE_HZ, mpx_rate_hz: int = MPX_RATE_HZ,
          amplitude: float = 0.7) -> np.ndarray:
    """MPX -> FM complex64 I/Q of constant ``amplitude`` (0.7: a cu8 file is not clipped)."""
    iq = FmIqModulator(FmIqModulatorConfig(mpx_rate_hz=mpx_rate_hz, iq_rate_hz=iq_rate_hz)
                       ).process(mpx)
    return (iq * np.float32(amplitude)).astype(np.complex64)


def cycle_frames(center: Center) -> int:
    """Frames in one carousel cycle of all the center's bundles."""
    return sum(len(segment(b, 0, s, FM)) for b, s in zip(center.bundles, center.seqs))


def write_signal(path: Path, samples: np.ndarray, rate_hz: int, meta: bool = True) -> Path:
    """Write ``samples`` in the format of ``path``'s extension (.wav: 16-bit PCM), with a
    ``.sigmf-meta`` beside raw formats when ``meta``."""
    fmt = format_for_name(str(path))
    if fmt == "wav":
        path.write_bytes(encode_wav(samples, rate_hz))
        return path
    path.write_bytes(encode_samples(samples, fmt))
    if meta:
        Path(str(path) + ".sigmf-meta").write_text(build_sigmf_meta(SigmfMeta(fmt, float(rate_hz))))
    return path


def run_cli(*args: str, stdin: bytes | None = None, timeout: float = 120
            ) -> subprocess.CompletedProcess:
    """``hotcast receiver ARGS`` in a subprocess; stdout is text."""
    cmd = [sys.executable, "-m", "hotcast", "receiver", *args]
    proc = subprocess.run(cmd, input=stdin, capture_output=True, timeout=timeout, cwd=ROOT)
    return subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout.decode(),
                                       proc.stderr.decode())


def events_of(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_center_cycle_is_short(tmp_path):
    c = make_center(tmp_path / "c", entries=300)
    assert c.entries == (300,)
    assert cycle_frames(c) <= 6  # ~1.2 s of air at 38 kbit/s
    bits = carousel_bits(c.bundles, 5)
    assert bits.size == LEAD_BITS + 5 * FM.frame_bits
