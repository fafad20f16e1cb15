"""Reading the peers' outputs (recorded from direwolf 1.6 atest, multimon-ng 1.2, minimodem
0.24 and hotcast receiver decode), matching what came back to what was sent, and the table."""

import pytest

import modem
from framing import frame_config

from hotcast.bench import peer_ours, peers
from hotcast.bench import peer_tools as pt

SENT = pt.ax25_messages(3)

ATEST = (
    "\x1b[48;2;255;255;255m\x1b[0J\x1b[38;2;0;0;0m22050 samples per second.  16 bits per sample.\n"
    "\x1b[38;2;0;192;0mChannel 0: 1200 baud, AFSK 1200 & 2200 Hz, E, 22050 sample rate.\n"
    "DECODED[1] 0:00.884 N0CALL-1 audio level = 50(26/25)     \n"
    f"\x1b[38;2;0;192;0m[0] N0CALL-1>APRS,WIDE1-1:{SENT[0]}<0x0a>\n"
    "DECODED[2] 0:01.777 N0CALL-1 audio level = 50(26/26)     \n"
    f"\x1b[38;2;0;192;0m[0.3] N0CALL-1>APRS,WIDE1-1:{SENT[2]}<0x0a>\n"
    f"\x1b[38;2;0;192;0m[0] N0CALL-1>APRS,WIDE1-1:{SENT[2]}<0x0a>\n"  # the same frame twice
    "\n2 from afsk.wav\n2 packets decoded in 0.793 seconds.  113.6 x realtime\n"
)
MULTIMON = (
    "Enabled demodulators: AFSK1200\n"
    "AFSK1200: fm N0CALL-1 to APRS-0 via WIDE1-1 UI  pid=F0\n"
    f"{SENT[1]}.\n"
    "AFSK1200: fm N0CALL-1 to APRS-0 via WIDE1-1 UI  pid=F0\n"
    f"{SENT[0][:-3]}xyQ.\n"  # a frame whose text came back wrong counts for nothing
)


def test_atest_frames_are_read_with_escapes_undone():
    found = pt.parse_atest(ATEST)
    assert found == [SENT[0] + "\n", SENT[2] + "\n", SENT[2] + "\n"]
    assert pt.recovered(found, SENT) == {0, 2}


def test_multimon_frames_are_read_and_checked_against_what_was_sent():
    found = pt.parse_multimon(MULTIMON)
    assert len(found) == 2
    assert pt.recovered(found, SENT) == {1}


def test_minimodem_lines_count_only_when_whole():
    sent = pt.text_lines(3)
    out = f"{sent[0]}\n{sent[1][:-2]}\n{sent[2]}\n### NOCARRIER\n"
    assert pt.recovered(out.splitlines(), sent) == {0, 2}


def test_messages_are_numbered_and_of_one_length():
    assert len({len(m) for m in pt.ax25_messages(120)}) == 1
    assert pt.recovered(["hotcast pkt 99999 nothing"], SENT) == set()


def test_receiver_summary_is_found_among_the_events():
    out = ('{"event": "start", "profile": "audio"}\n{"event": "quality", "snr_db": 20}\n'
           '{"event": "summary", "frames_ok": 123, "frames_bad": 0}\n')
    assert peer_ours.parse_summary(out)["frames_ok"] == 123
    assert peer_ours.parse_summary("not json\n{broken\n") is None


def test_our_payload_per_frame_and_frames_on_air():
    # audio-robust: 192-byte blocks, 10 % repair.
    assert peer_ours.payload_bits_per_frame("audio-robust") == pytest.approx(192 * 8 / 1.1)
    # Whole frames only: the count for 20 s fits in 20 s after the lead-in, one more does not.
    entry = modem.PROFILES["audio-robust"]
    frame_s = frame_config("audio-robust").frame_bits / entry.bits_per_second
    lead_s = entry.lead_in_bits / entry.bits_per_second
    n = peer_ours.frames_on_air("audio-robust", 20.0)
    assert n >= 1
    assert lead_s + n * frame_s <= 20.0 < lead_s + (n + 1) * frame_s
    assert peer_ours.frames_on_air("audio-robust", lead_s / 2) == 0


def test_a_missing_peer_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setattr(pt, "installed", lambda tool: False)
    ctx = peers.BenchContext(quick=True, out_dir=tmp_path)
    row = peers._peer_row(peers.PEERS[0], 5.0, 1, (), ctx, tmp_path)
    assert row.missing == "not installed: apt-get install direwolf"
    table = peers._table([row], ())
    assert table.rows[0][2] == "not installed: apt-get install direwolf"
    assert peers._figures([row]) == []


def test_rates_and_ratio_figures():
    wolf = peers.Row("direwolf.afsk1200", "direwolf", "AFSK", 10.0, 1000.0, 1000.0, [0.01, 0.012, 0.011])
    ours = peers.Row("hotcast.audio", "hotcast", "audio", 10.0, 9e5, 9e5, [3.0, 3.1, 3.0],
                     [1.0, 1.0, 0.9])
    assert wolf.rate() == pytest.approx(1000 / 0.011)
    assert wolf.loop_rate() is None and wolf.startup_s is None
    assert ours.loop_rate() == pytest.approx(9e5)
    assert ours.startup_s == pytest.approx(2.1)
    fig = {f.key: f for f in peers._figures([wolf, ours])}
    assert fig["peers.hotcast.audio.bits_per_cpu_s_after_startup"].value == pytest.approx(9e5)
    assert fig["peers.hotcast.audio.over_direwolf_afsk1200"].value == pytest.approx(
        (9e5 / 3.0) / (1000 / 0.011), rel=1e-3)
    assert fig["peers.direwolf.afsk1200.bits_per_cpu_s"].repeats == 3
    assert 0 < fig["peers.direwolf.afsk1200.bits_per_cpu_s"].rel_spread < 0.2
