"""The reference captures of captures/ (fm I/Q and MPX, audio, audio-robust) decode, through the
CLI, to what MANIFEST.toml says."""

from __future__ import annotations

import hashlib
import tomllib

import pytest

from tests.receiver.test_pipeline_signal import ROOT, events_of, run_cli
from crypto import TerminalKeys
from modem import InputKind
from receiver.events import BundleReceived
from receiver.radio.pipeline import PipelineConfig, ReceivePipeline
from receiver.radio.sources import open_source
from receiver.store.store import TerminalStore

CAPTURES = ROOT / "captures"
MANIFEST = tomllib.loads((CAPTURES / "MANIFEST.toml").read_text())
@pytest.mark.parametrize("capture", MANIFEST["capture"], ids=lambda c: c["file"])
def test_capture_decodes_to_its_manifest(tmp_path, capture):
    path = CAPTURES / capture["file"]
    data = path.read_bytes()
    assert hashlib.sha256(data).hexdigest() == capture["sha256"], "capture changed: re-run make_captures.py"
    assert len(data) < 10 * 2**20
    home = tmp_path / "t"
    keys = TerminalKeys.from_file((CAPTURES / MANIFEST["keys"]).read_bytes())
    TerminalStore.create(home, keys).close()

    r = run_cli("decode", "--home", str(home), "--profile", capture["profile"], "--input", str(path))
    assert r.returncode == 0, r.stderr
    events = events_of(r.stdout)
    start = events[0]
    assert start["format"] == capture["format"] and start["sample_rate_hz"] == capture["sample_rate_hz"]
    applied = {e["seq"]: e for e in events
               if e["event"] == "bundle_applied" and e["kind"] in ("full", "delta")}
    for bundle in capture["bundles"]:
        assert applied[bundle["seq"]]["kind"] == bundle["kind"]
        assert applied[bundle["seq"]]["entries"] == bundle["entries"]
    summary = events[-1]
    assert summary["event"] == "summary"
    assert summary["seconds_of_signal"] == pytest.approx(capture["seconds"], abs=0.01)
    with TerminalStore.open(home) as store:
        state = store.state()
    assert (state.seq, state.entries) == (capture["expect_list_seq"], capture["expect_entries"])


def test_manifest_bundle_hashes_are_what_went_on_air(tmp_path):
    """The sha256 of each bundle in MANIFEST is the sha256 of the bytes a decoder rebuilds."""
    capture = next(c for c in MANIFEST["capture"] if c["file"] == "fm-mpx-small.wav")
    with open_source(str(CAPTURES / capture["file"])) as source:
        kind = InputKind.IQ if source.is_iq else InputKind.BASEBAND
        pipe = ReceivePipeline(PipelineConfig("fm", kind, source.sample_rate_hz))
        events = [e for block in source for e in pipe.process(block)] + pipe.finish()
    got = {hashlib.sha256(e.data).hexdigest() for e in events if isinstance(e, BundleReceived)}
    assert {b["sha256"] for b in capture["bundles"]} <= got  # key set, heartbeat... beside them
