"""Make the reference captures of captures/ and their MANIFEST.toml. Run by hand, never by tests:

    .venv/bin/python captures/make_captures.py [--seed 1]

What it does, with the project's own stages and command line (nothing else touches the samples):
1. a throw-away center home with a trial root beside it (temporary folder) asks its root for a
   key set valid for a century, revokes ENTRIES seeded random cards, builds a full list, revokes
   DELTA_ENTRIES more and builds the delta from it, both valid for a century (so the captures
   never expire), and provisions one terminal: its key file is ``terminal.keys`` here (test key
   material of a center that no longer exists);
2. ``hotcast center render`` writes one carousel cycle (key set, full list, delta, heartbeat,
   announcement) per capture: ``fm`` as RTL-SDR style cu8 at 1.2 MHz and as a 228 kHz MPX WAV
   (both with a simulated programme, pilot, stereo and RDS), ``audio`` and ``audio-robust`` as
   48 kHz WAVs, each with its ``.sigmf-meta``, and ``ir`` as the numbered series of ir-ctl
   transmissions ``ir-small/ir-small-0001.ir``, ... (``--out ir-small/ir-small.ir``);
3. the ``ir`` detector WAV is that series as a TSOP-type receiver module's output pin would be
   recorded: the files read back with the receiver's own `.ir` reader, played one after
   another with ir-ctl's 125 ms between them, marks stretched by 20-60 us and every edge
   jittered by up to +-10 us as such a module does (``modem.impairments.apply_ir_channel``,
   seeded), then sampled at 16 kHz by a DC-coupled recorder (``modem.ir_wave.detector_output``,
   active low) into a 16-bit WAV with its ``.sigmf-meta``.

The other captures are clean renders: the impairments (noise, offsets, codecs, IR timing) are
covered by the tests that generate signals and pass them through the channel simulators.
A series is decoded as ir-ctl --receive would hear it, the files one after another:
    cat captures/ir-small/ir-small-*.ir | hotcast receiver decode --home T --profile ir --format ir --input -
MANIFEST.toml records, per capture, how it was made and what it must decode to: the list
bundles' seq, kind, entry count and SHA-256, and the list seq and entry count a fresh
terminal holds after decoding the whole file.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from center.registry.home import REQUEST_FILE, CenterHome
from center.root.home import RootHome
from crypto import BundleKind
from hotcast.cli import main as hotcast
from modem.formats import SigmfMeta, build_sigmf_meta, encode_wav
from modem.impairments import IrChannelConfig, apply_ir_channel
from modem.ir_wave import detector_output
from modem.irtext import parse_ir_text

HERE = Path(__file__).resolve().parent
ENTRIES = 200
DELTA_ENTRIES = 10
CENTURY_S = 100 * 365 * 86_400
NOW = 1_795_000_000  # 2026-11-18: the captures' clock (HOTCAST_NOW while making them)
PASSPHRASE = "captures"
CAPTURES = (
    # file, profile, extra render arguments, about
    ("fm-cu8-small.cu8", "fm", ["--with-programme"],
     "RTL-SDR style FM I/Q at 1.2 MHz: programme + pilot + stereo + RDS + data subcarrier"),
    ("fm-mpx-small.wav", "fm", ["--with-programme", "--rate", "228k"],
     "228 kHz MPX (16-bit WAV) as from rtl_fm -s 228k: programme + pilot + stereo + RDS + data"),
    ("audio-small.wav", "audio", [], "the audio profile at 48 kHz, as into a line-in"),
    ("audio-robust-small.wav", "audio-robust", [], "the audio-robust profile at 48 kHz"),
    ("ir-small/ir-small.ir", "ir", [],
     "the ir profile as ir-ctl --send files (pulse/space lines, each <= 500 ms and 1023 values)"),
)
IR_FILE_GAP_US = 125_000  # what ir-ctl leaves between two files it sends (FIELD-NOTES.md)
DETECTOR = ("ir-detector-small.wav", 16_000,
            "the ir series as a TSOP-type module's output pin recorded at 16 kHz (active low, "
            "marks stretched 20-60 us, edges jittered +-10 us, 125 ms between the ir-ctl files)")


def make(seed: int) -> None:
    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory() as tmp:
        home_path = Path(tmp) / "center"
        root = RootHome.init(Path(tmp) / "root", passphrase=lambda: PASSPHRASE)
        home = CenterHome.init(home_path, root_pub=root.root_set_bytes(1), now=NOW, by="captures",
                               passphrase=PASSPHRASE)
        home.import_trust([root.sign_keyset((home_path / REQUEST_FILE).read_bytes())], now=NOW,
                          by="captures")
        request = home.request_keyset(now=NOW, by="captures", valid_days=36_500)
        home.import_trust([root.sign_keyset(request)], now=NOW, by="captures")
        cards = rng.choice(10**15, ENTRIES + DELTA_ENTRIES, replace=False) + 4 * 10**15
        home.revoke([int(c) for c in cards[:ENTRIES]], now=NOW, by="captures")
        bundles = [home.build(now=NOW, by="captures", valid_for_s=CENTURY_S)]
        home.revoke([int(c) for c in cards[ENTRIES:]], now=NOW, by="captures")
        bundles.append(home.build(BundleKind.DELTA, now=NOW, by="captures",
                                  valid_for_s=CENTURY_S))
        (HERE / "terminal.keys").write_bytes(home.provision(now=NOW, by="captures"))
        os.chmod(HERE / "terminal.keys", 0o600)
        home.close()
        os.environ.update(HOTCAST_NOW=str(NOW), HOTCAST_PASSPHRASE=PASSPHRASE,
                          HOTCAST_OPERATOR="captures")
        entries = []
        common = {"made_by": f"captures/make_captures.py --seed {seed}", "seed": seed,
                  "expect_list_seq": bundles[-1].seq, "expect_entries": ENTRIES + DELTA_ENTRIES,
                  "bundles": [{"seq": b.seq, "kind": b.kind.name.lower(), "entries": b.entries,
                               "bytes": len(b.sealed), "sha256": hashlib.sha256(b.sealed).hexdigest()}
                              for b in bundles]}
        for name, profile, extra, about in CAPTURES:
            made = render(home_path, profile, name, extra)
            if made["format"] == "ir":
                files = [Path(f) for f in made["files"]]
                data = b"".join(f.read_bytes() for f in files)
                # What the files hold: the carousel and a terminator pulse closing each file.
                held_us = sum(int(np.abs(parse_ir_text(f.read_text())[0]).sum()) for f in files)
                entries.append({"series": [str(f.relative_to(HERE)) for f in files], "format": "ir",
                                "profile": profile, "seconds": held_us / 1e6, "bytes": len(data),
                                "sha256": hashlib.sha256(data).hexdigest(), "about": about, **common})
                entries.append(detector_capture(files, seed, common))
                continue
            data = (HERE / name).read_bytes()
            entries.append({"file": name, "format": made["format"], "sample_rate_hz": made["rate"],
                            "profile": profile, "seconds": made["seconds"], "bytes": len(data),
                            "sha256": hashlib.sha256(data).hexdigest(), "about": about, **common})
    (HERE / "MANIFEST.toml").write_text(manifest(entries))


def render(home_path: Path, profile: str, name: str, extra: list[str]) -> dict:
    """``hotcast center render`` of one capture; -> its closing JSON line."""
    (HERE / name).parent.mkdir(exist_ok=True)
    for old in (HERE / name).parent.glob(Path(name).stem + "-*.ir"):
        old.unlink()  # a shorter series must not leave files of an earlier run
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = hotcast(["center", "render", "--home", str(home_path), "--profile", profile,
                        "--out", str(HERE / name), *extra])
    if code != 0:
        raise SystemExit(f"render of {name} failed ({code})")
    return json.loads(out.getvalue().splitlines()[-1])


def detector_capture(files: list[Path], seed: int, common: dict) -> dict:
    """The detector WAV of an `.ir` series (module docstring, step 3) and its MANIFEST entry."""
    name, rate, about = DETECTOR
    played = []
    for f in files:
        durations, _ = parse_ir_text(f.read_text())
        played += [durations, np.array([-IR_FILE_GAP_US], dtype=np.int32)]
    durations = np.concatenate(played[:-1])
    module = IrChannelConfig(jitter_us=10.0, stretch_us=(20.0, 60.0), seed=seed)
    samples = detector_output(apply_ir_channel(durations, module), rate)
    data = encode_wav(samples, rate)
    (HERE / name).write_bytes(data)
    meta = json.loads(build_sigmf_meta(SigmfMeta("s16le", rate, description=about)))
    meta["captures"][0]["core:header_bytes"] = 44
    (HERE / (name + ".sigmf-meta")).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return {"file": name, "format": "wav", "sample_rate_hz": rate, "profile": "ir",
            "seconds": round(len(samples) / rate, 6), "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(), "about": about, **common}


def manifest(entries: list[dict]) -> str:
    lines = ["# Reference captures: how each was made and what it must decode to.",
             "# Made by: .venv/bin/python captures/make_captures.py --seed 1",
             "# (see that script's docstring). Decode one with:",
             "#   hotcast terminal init --home T --keys captures/terminal.keys",
             "#   hotcast receiver decode --home T --profile PROFILE --input captures/FILE",
             "# and a `series` of .ir files (ir-ctl --send transmissions) as ir-ctl --receive hears them:",
             "#   cat captures/ir-small/ir-small-*.ir | hotcast receiver decode --home T --profile ir \\",
             "#       --format ir --input -", "",
             'keys = "terminal.keys"', ""]
    for e in entries:
        lines.append("[[capture]]")
        for k, v in e.items():
            if k != "bundles":
                lines.append(f"{k} = {json.dumps(v)}")
        for b in e["bundles"]:
            lines.append("[[capture.bundles]]")
            lines += [f"{k} = {json.dumps(v)}" for k, v in b.items()]
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    make(parser.parse_args().seed)
