"""The peers themselves, where installed (they are in CI: .ci/run installs them from Debian)."""

import shutil
import sys

import pytest

from hotcast.bench import peer_tools as pt
from hotcast.bench import peers
from hotcast.bench.model import BenchContext


def _needs(tool: str, package: str):
    return pytest.mark.skipif(shutil.which(tool) is None,
                              reason=f"{tool} is not installed (apt-get install {package})")


def test_child_cpu_time_is_the_childs():
    burn = "s = 0\nfor i in range(3_000_000): s += i"
    run = pt.run_child([sys.executable, "-c", burn])
    idle = pt.run_child([sys.executable, "-c", "pass"])
    assert run.returncode == 0 and run.cpu_s > idle.cpu_s


def test_a_child_that_overruns_is_stopped():
    with pytest.raises(pt.PeerError, match="stopped"):
        pt.run_child([sys.executable, "-c", "import time; time.sleep(30)"], timeout_s=0.5)


@_needs("atest", "direwolf")
@_needs("gen_packets", "direwolf")
def test_direwolf_decodes_its_own_packets(tmp_path):
    sent = pt.ax25_messages(5)
    pt.gen_packets(sent, tmp_path / "a.wav")
    got, cpu = peers._peer_decode(peers.PEERS[0], tmp_path / "a.wav", sent, tmp_path)
    assert got == 5 and cpu > 0


@_needs("multimon-ng", "multimon-ng")
@_needs("gen_packets", "direwolf")
def test_multimon_decodes_direwolfs_packets(tmp_path):
    sent = pt.ax25_messages(5)
    pt.gen_packets(sent, tmp_path / "a.wav")
    got, _ = peers._peer_decode(peers.PEERS[1], tmp_path / "a.wav", sent, tmp_path)
    assert got >= 4  # multimon-ng may miss the first frame of a file while its filters settle


@_needs("minimodem", "minimodem")
def test_minimodem_round_trip(tmp_path):
    sent = pt.text_lines(4)
    pt.minimodem_tx(sent, tmp_path / "m.wav")
    got, _ = peers._peer_decode(peers.PEERS[3], tmp_path / "m.wav", sent, tmp_path)
    assert got == 4


@_needs("atest", "direwolf")
@_needs("gen_packets", "direwolf")
def test_noise_takes_packets_away(tmp_path):
    row = peers._peer_row(peers.PEERS[0], 5.0, 1, (-10.0, 30.0),
                          BenchContext(quick=True, out_dir=tmp_path), tmp_path)
    assert row.fer_by_snr[30.0] == 0.0 and row.fer_by_snr[-10.0] == 1.0
    assert row.got_bits == row.sent_bits > 0


@pytest.mark.slow
def test_quick_peers_section(tmp_path):
    section = peers.run(BenchContext(quick=True, out_dir=tmp_path))
    fig = {f.key: f.value for f in section.figures}
    assert fig["peers.hotcast.audio.bits_per_cpu_s"] > 0
    assert fig["peers.hotcast.audio.bits_per_cpu_s_after_startup"] > fig["peers.hotcast.audio.bits_per_cpu_s"]
    rows = section.tables[0].rows
    assert len(rows) == len(peers.PEERS) + 2
    assert [p.name for p in section.plots] == ["peers_bits_per_cpu_s.png"]
    for peer in peers.PEERS:
        if shutil.which(peer.tool):
            assert fig[f"peers.{peer.key}.bits_per_cpu_s"] > 0
