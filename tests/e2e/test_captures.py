"""The reference captures of captures/ (fm I/Q and MPX, audio, audio-robust, the ir series of
ir-ctl files and the ir detector WAV) decode, through the CLI, to what MANIFEST.toml says.

An `.ir` series is decoded as the files come off an ir-ctl transmitter: one after another on
standard input (``cat DIR/NAME-*.ir | hotcast receiver decode --format ir --input -``), and the
receiver must not care what lies between two files: nothing (the files as given, so the last
pulse of one runs into the first of the next), a gap as ir-ctl --receive prints it (``-125000``
or ``space 125000``), or mode2's ``timeout`` line with comments around it."""

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
SERIES = next(c for c in MANIFEST["capture"] if "series" in c)


def _name(capture: dict) -> str:
    return capture.get("file") or capture["series"][0].rsplit("-", 1)[0] + "-*.ir"


def _terminal(tmp_path):
    home = tmp_path / "t"
    keys = TerminalKeys.from_file((CAPTURES / MANIFEST["keys"]).read_bytes())
    TerminalStore.create(home, keys).close()
    return home


def _decode(home, capture: dict, stdin: bytes | None = None) -> list[dict]:
    if stdin is None:
        r = run_cli("decode", "--home", str(home), "--profile", capture["profile"],
                    "--input", str(CAPTURES / capture["file"]))
    else:
        r = run_cli("decode", "--home", str(home), "--profile", capture["profile"],
                    "--format", "ir", "--input", "-", stdin=stdin)
    assert r.returncode == 0, r.stderr
    return events_of(r.stdout)


def _assert_decoded_to_manifest(home, capture: dict, events: list[dict]) -> None:
    applied = {e["seq"]: e for e in events
               if e["event"] == "bundle_applied" and e["kind"] in ("full", "delta")}
    for bundle in capture["bundles"]:
        assert applied[bundle["seq"]]["kind"] == bundle["kind"]
        assert applied[bundle["seq"]]["entries"] == bundle["entries"]
    assert events[-1]["event"] == "summary" and events[-1]["frames_bad"] == 0
    with TerminalStore.open(home) as store:
        state = store.state()
    assert (state.seq, state.entries) == (capture["expect_list_seq"], capture["expect_entries"])


def _series_texts(capture: dict) -> list[str]:
    return [(CAPTURES / f).read_text() for f in capture["series"]]


@pytest.mark.parametrize("capture", MANIFEST["capture"], ids=_name)
def test_capture_decodes_to_its_manifest(tmp_path, capture):
    if "series" in capture:
        texts = _series_texts(capture)
        data = "".join(texts).encode()
    else:
        data = (CAPTURES / capture["file"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == capture["sha256"], "capture changed: re-run make_captures.py"
    assert len(data) == capture["bytes"] < 10 * 2**20
    home = _terminal(tmp_path)
    events = _decode(home, capture, data if "series" in capture else None)
    start = events[0]
    assert start["format"] == capture["format"]
    if "series" not in capture:  # `.ir` text has no sample rate (its durations are us)
        assert start["sample_rate_hz"] == capture["sample_rate_hz"]
    summary = events[-1]
    assert summary["seconds_of_signal"] == pytest.approx(capture["seconds"], abs=0.01)
    _assert_decoded_to_manifest(home, capture, events)


def test_the_series_is_what_ir_ctl_sends():
    """Each file is one ir-ctl --send transmission: pulse/space lines only, pulse first and
    last, at most 500 ms and 1023 values (the kernel's limits)."""
    texts = _series_texts(SERIES)
    assert len(texts) > 1 and len(texts) == len(SERIES["series"])
    for text in texts:
        lines = text.splitlines()
        words = [line.split() for line in lines]
        assert all(len(w) == 2 and w[0] in ("pulse", "space") and w[1].isdigit() and int(w[1]) > 0
                   for w in words)
        assert words[0][0] == words[-1][0] == "pulse"
        assert all(a[0] != b[0] for a, b in zip(words, words[1:]))
        assert len(lines) <= 1023 and sum(int(w[1]) for w in words) <= 500_000


@pytest.mark.parametrize("gap", [
    pytest.param("-125000\n", id="ir-ctl-one-line", marks=pytest.mark.slow),
    pytest.param("space 125000\n", id="pulse-space", marks=pytest.mark.slow),
    pytest.param("# ir-ctl: next file\ntimeout 125000\n# mode2 prints this\n", id="mode2-timeout-comments"),
])
def test_the_series_decodes_whatever_lies_between_files(tmp_path, gap):
    data = gap.join(_series_texts(SERIES)).encode()
    home = _terminal(tmp_path)
    _assert_decoded_to_manifest(home, SERIES, _decode(home, SERIES, data))


def test_manifest_bundle_hashes_are_what_went_on_air(tmp_path):
    """The sha256 of each bundle in MANIFEST is the sha256 of the bytes a decoder rebuilds."""
    capture = next(c for c in MANIFEST["capture"] if c.get("file") == "fm-mpx-small.wav")
    with open_source(str(CAPTURES / capture["file"])) as source:
        kind = InputKind.IQ if source.is_iq else InputKind.BASEBAND
        pipe = ReceivePipeline(PipelineConfig("fm", kind, source.sample_rate_hz))
        events = [e for block in source for e in pipe.process(block)] + pipe.finish()
    got = {hashlib.sha256(e.data).hexdigest() for e in events if isinstance(e, BundleReceived)}
    assert {b["sha256"] for b in capture["bundles"]} <= got  # key set, heartbeat... beside them


@pytest.mark.slow
def test_the_series_in_ir_ctl_one_line_form_decodes(tmp_path):
    """ir-ctl --receive without --mode2 prints signed values, several to a line (`+290 -385`),
    and a gap as one more space; the same series in that form decodes to the same lists."""
    lines = []
    for text in _series_texts(SERIES):
        values = [("+" if w == "pulse" else "-") + n for w, n in (line.split() for line in text.splitlines())]
        lines += [" ".join(values[i : i + 8]) for i in range(0, len(values), 8)] + ["-125000"]
    home = _terminal(tmp_path)
    _assert_decoded_to_manifest(home, SERIES, _decode(home, SERIES, "\n".join(lines).encode()))
