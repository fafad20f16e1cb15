"""``Serve`` on a simulated clock: builds by itself, puts each change on air at the next frame
boundary of every channel, rolls keys ahead of time, warns, and survives every fault the issue
names (a locked registry, a revocation during a full build, an output that disappears, a stop,
a restart), plus the freeze attack against a listening terminal."""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from center_helpers import NOW, OPERATOR, PASSPHRASE, make_home, root_of

from center.air.clock import SimClock, SystemClock
from center.air.plan import parse_plan
from center.air.serve import Serve, ServeRunningError
from center.air.status import status_path
from center.errors import SoundCardError, SoundCardOpenError
from center.registry import building
from center.registry.home import LOCK_FILE, REGISTRY_FILE, CenterHome
from crypto import BundleKind, TerminalKeys
from modem import InputKind
from receiver.payment.checks import check_card
from receiver.radio.pipeline import PipelineConfig, ReceivePipeline
from receiver.store.merge import BundleMerger
from receiver.store.store import TerminalStore

CARDS = [4_000_000_000_000_001, 4_000_000_000_000_002]
IR_CHANNEL = """
[[channels]]
name = "ir"
profile = "ir"
output = { kind = "ir-files", dir = "ir-out" }
"""


class Recorder:
    """An output that keeps every frame it is given, with its air time."""

    def __init__(self) -> None:
        self.blocks: list = []
        self.closed = False

    def write(self, block, air_s: float) -> None:
        self.blocks.append((air_s, block))

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.blocks.append((None, None))


@pytest.fixture
def center(tmp_path: Path):
    with make_home(tmp_path / "home") as home:
        home.revoke(CARDS, now=NOW - 10, by=OPERATOR)
        yield home


def serve_of(home_path: Path, text: str, *, start: float = NOW, openers=None,
             stream_factory=None) -> tuple[Serve, SimClock, list[dict]]:
    plan = parse_plan(text, "test.toml", home_path.parent)
    clock = SimClock(start)
    lines: list[dict] = []
    serve = Serve(plan, home_path, passphrase=lambda: PASSPHRASE, by=OPERATOR, clock=clock,
                  log=lines.append, openers=openers, stream_factory=stream_factory)
    return serve, clock, lines


def events(lines: list[dict], name: str, **match) -> list[dict]:
    return [line for line in lines if line.get("event") == name
            and all(line.get(k) == v for k, v in match.items())]


def run_for(serve: Serve, clock: SimClock, seconds: float) -> int:
    clock.at(clock.now() + seconds, lambda: serve.stop("test"))
    return serve.run()


def other_process_revokes(home_path: Path, card: int, clock: SimClock) -> None:
    """What `hotcast center revoke` run elsewhere does: its own connection, its own lock."""
    with CenterHome.open(home_path, PASSPHRASE) as other:
        other.revoke([card], now=int(clock.now()), by="elsewhere")


# -- building and airing ----------------------------------------------------------------------


def test_serve_builds_the_first_list_and_every_channel_airs_it(center, tmp_path: Path) -> None:
    ir, card = Recorder(), Recorder()
    serve, clock, lines = serve_of(center.path, IR_CHANNEL + """
[[channels]]
name = "line"
profile = "audio-robust"
output = { kind = "files", dir = "line-out" }
""", openers={"ir": lambda stop: ir, "line": lambda stop: card})
    assert run_for(serve, clock, 12.0) == 0
    (built,) = events(lines, "built")
    assert (built["kind"], built["seq"], built["entries"]) == ("full", 1, 2)
    assert "no list yet" in built["why"]
    for name, rec in (("ir", ir), ("line", card)):
        on = {(e["kind"], e["seq"]) for e in events(lines, "on_air", channel=name)}
        assert {("full", 1), ("key_set", 1), ("heartbeat", 1), ("announce", 1)} <= on
        assert rec.closed and all(b.frames == 1 for _, b in rec.blocks[:-1])
    status = json.loads(status_path(center.path).read_text())
    assert set(status) == {"updated_at", "pid", "started_at", "plan", "channels", "warnings"}
    ch = status["channels"][0]
    assert set(ch) == {"name", "profile", "output", "state", "on_air", "behind_s",
                       "last_error", "cycle_s", "worst_wait_s"}
    assert ch["state"] == "stopped" and {"kind": "full", "epoch": 1, "seq": 1} in ch["on_air"]
    assert ch["cycle_s"] > 0 and ch["worst_wait_s"] > 0 and status["warnings"] == []
    audit = [(r[3], r[7]) for r in center.audit_log(since=NOW) if r[3].startswith("serve-")]
    assert audit[0][0] == "serve-start" and "ir (ir to .ir files in" in audit[0][1]
    assert audit[-1] == ("serve-stop", "test")


def test_a_revocation_elsewhere_is_on_every_channel_at_its_next_frame_boundary(center) -> None:
    recs = {"ir": Recorder(), "line": Recorder()}
    serve, clock, lines = serve_of(center.path, IR_CHANNEL + """
[[channels]]
name = "line"
profile = "audio"
output = { kind = "files", dir = "line-out" }
""", openers={k: (lambda stop, r=r: r) for k, r in recs.items()})
    new = 4_000_000_000_000_777
    clock.at(NOW + 20.0, lambda: other_process_revokes(center.path, new, clock))
    run_for(serve, clock, 30.0)
    delta = events(lines, "built", kind="delta")
    assert len(delta) == 1 and delta[0]["seq"] == 2 and delta[0]["added"] == 1
    assert NOW + 20.0 <= delta[0]["t"] <= NOW + 20.0 + 1.0  # the next poll (ticks cost time)
    for name in recs:
        (ann,) = [e for e in events(lines, "on_air", channel=name, kind="announce")
                  if e["t"] > NOW + 20]
        (on,) = events(lines, "on_air", channel=name, kind="delta", seq=2)
        frame_s = serve.channels[[c.name for c in serve.channels].index(name)].live.frame_s
        # urgent: the first frame after the ahead window, whatever else is on the carousel
        # (the tick's wall time, mostly the build, passes on the simulated clock first): the
        # announcement that names the delta, then the delta
        ready = delta[0]["t"] + delta[0]["took_s"]
        assert ann["urgent"] and ann["at"] - ready <= 0.5 + frame_s + 0.1
        assert on["urgent"] and on["at"] == pytest.approx(ann["at"] + frame_s, abs=1e-3)
    assert not events(lines, "built", kind="full")[1:]  # no needless full rebuild


def test_a_revocation_during_a_full_build_goes_out_in_the_next_delta(center, monkeypatch) -> None:
    late = 4_000_000_000_000_999
    real = building.build_list
    started: list[threading.Thread] = []

    def slow_full_build(reg, keys, keyset, universe, kind, base_seq, now, valid_for_s):
        if kind is BundleKind.FULL and not started:  # a revocation arrives mid-build
            t = threading.Thread(target=other_process_revokes,
                                 args=(center.path, late, SimClock(now)))
            t.start()
            started.append(t)
            time.sleep(0.3)  # the revoke waits for the build's lock meanwhile
        return real(reg, keys, keyset, universe, kind, base_seq, now, valid_for_s)

    monkeypatch.setattr(building, "build_list", slow_full_build)
    rec = Recorder()
    serve, clock, lines = serve_of(center.path, IR_CHANNEL, openers={"ir": lambda stop: rec})
    run_for(serve, clock, 8.0)
    started[0].join()
    built = events(lines, "built")
    assert [(b["kind"], b["seq"]) for b in built] == [("full", 1), ("delta", 2)]
    assert built[0]["entries"] == 2 and built[1]["entries"] == 3 and built[1]["added"] == 1
    with CenterHome.open(center.path) as home:
        seqs = [r["seq"] for r in home.history() if r["kind"] in ("full", "delta")]
        assert seqs == [1, 2]
    assert events(lines, "on_air", channel="ir", kind="delta", seq=2)


@pytest.mark.parametrize("lock", ["flock", "sqlite"])
def test_registry_locked_by_another_writer_postpones_builds_not_the_air(center, lock) -> None:
    rec = Recorder()
    serve, clock, lines = serve_of(center.path, IR_CHANNEL, openers={"ir": lambda stop: rec})
    held = {}

    def take() -> None:
        other_process_revokes(center.path, 4_000_000_000_000_555, clock)
        if lock == "flock":
            fd = os.open(center.path / LOCK_FILE, os.O_RDWR)
            fcntl.flock(fd, fcntl.LOCK_EX)
            held["release"] = lambda: os.close(fd)
        else:
            conn = sqlite3.connect(center.path / REGISTRY_FILE, isolation_level=None)
            conn.execute("BEGIN IMMEDIATE")
            held["release"] = lambda: (conn.execute("ROLLBACK"), conn.close())

    status_during = {}

    def peek() -> None:
        status_during.update(serve.status(clock.now()))

    clock.at(NOW + 10.0, take)
    clock.at(NOW + 25.0, peek)
    clock.at(NOW + 30.0, lambda: held["release"]())
    run_for(serve, clock, 40.0)
    delta = events(lines, "built", kind="delta")
    assert len(delta) == 1 and delta[0]["t"] >= NOW + 30.0  # built once the lock went
    (warned,) = [w for w in events(lines, "warning") if "registry busy" in w["warning"]]
    assert NOW + 10.0 <= warned["t"] < NOW + 11.0 and "delta waits" in warned["warning"]
    assert any("registry busy" in w for w in status_during["warnings"])
    assert status_during["channels"][0]["state"] == "on_air"
    # the air went on all along: frames for every frame time while locked
    airs = [air for air, _ in rec.blocks if air is not None and NOW + 10 < air < NOW + 30]
    assert len(airs) >= int(20 / serve.channels[0].live.frame_s) - 1
    assert events(lines, "on_air", channel="ir", kind="delta", seq=2)


# -- outputs ----------------------------------------------------------------------------------


class DisappearingCard:
    """A sound card stream that dies after ``ok_writes`` and refuses to open until told."""

    def __init__(self) -> None:
        self.present = True
        self.ok_writes = 20
        self.played: list[int] = []
        self.opened = 0

    def __call__(self, **kwargs):
        if not self.present:
            raise SoundCardOpenError(f"no such device {kwargs.get('device')!r}")
        self.opened += 1
        card = self

        class Stream:
            def start(self) -> None: ...

            def write(self, data: np.ndarray) -> bool:
                if card.ok_writes <= 0:
                    card.present = False
                    raise SoundCardError("sound card output failed in write(): device unplugged")
                card.ok_writes -= 1
                card.played.append(len(data))
                return False

            def stop(self) -> None: ...

            def abort(self) -> None: ...

            def close(self) -> None: ...

        return Stream()


def test_an_output_device_that_disappears_mid_cycle_is_retried_and_stalls_no_other(center) -> None:
    card, rec = DisappearingCard(), Recorder()
    serve, clock, lines = serve_of(center.path, IR_CHANNEL + """
[[channels]]
name = "card"
profile = "audio-robust"
output = { kind = "sound-card", device = "hw:7" }
""", openers={"ir": lambda stop: rec}, stream_factory=card)
    seen = {}

    def back() -> None:
        seen["during"] = serve.status(clock.now())
        card.present, card.ok_writes = True, 10**6

    clock.at(NOW + 40.0, back)
    run_for(serve, clock, 60.0)
    (error, *more) = events(lines, "output_error", channel="card")
    assert "device unplugged" in error["error"] and error["retry_in_s"] == 0.5
    assert all("opening" in e["error"] and "no such device" in e["error"] for e in more)
    assert [e["retry_in_s"] for e in more][:4] == [1.0, 2.0, 4.0, 8.0]  # backing off
    (restored,) = events(lines, "output_restored", channel="card")
    assert restored["t"] >= NOW + 40.0 and card.opened == 2
    during = {c["name"]: c for c in seen["during"]["channels"]}
    assert during["card"]["state"] == "retrying" and "no such device" in during["card"]["last_error"]
    assert during["ir"]["state"] == "on_air" and during["ir"]["last_error"] is None
    # the ir channel never missed a frame
    starts = [air for air, b in rec.blocks if b is not None and b.frames]
    assert np.allclose(np.diff(starts)[1:], serve.channels[0].live.frame_s, atol=1e-6)
    assert starts[-1] > NOW + 58.0 - 2.0
    # after it came back the card plays the carousel afresh (frames from 0 again)
    assert len(card.played) > 20
    assert serve.channels[1].live.next_frame < (NOW + 60 - restored["t"]) / serve.channels[1].live.frame_s + 2


def test_a_hung_output_stalls_no_other_channel(center, tmp_path: Path) -> None:
    """Real clock, real threads: one output blocks in its write for good; the other goes on."""
    hang = threading.Event()

    class HungOutput:
        def write(self, block, air_s):
            hang.wait(30)

        def close(self) -> None: ...

        def abort(self) -> None: ...

    plan = parse_plan(IR_CHANNEL + """
[[channels]]
name = "stuck"
profile = "ir"
output = { kind = "ir-files", dir = "stuck-out" }
""", "test.toml", tmp_path)
    lines: list[dict] = []
    serve = Serve(plan, center.path, passphrase=lambda: PASSPHRASE, by=OPERATOR,
                  clock=SystemClock(), log=lines.append, openers={"stuck": lambda stop: HungOutput()})
    timer = threading.Timer(2.0, serve.stop)
    timer.start()
    try:
        assert serve.run() == 0
    finally:
        hang.set()
    files = sorted((tmp_path / "ir-out").glob("ir-*.ir"))
    assert len(files) >= 2  # the ir channel wrote on (a frame is 1.96 s, ahead 0.5 s)
    assert events(lines, "error", what="stop", channel="stuck")  # abandoned, reported


def test_stop_is_at_a_frame_boundary_and_leaves_whole_files(center, tmp_path: Path) -> None:
    serve, clock, lines = serve_of(center.path, """
[[channels]]
name = "line"
profile = "audio-robust"
output = { kind = "files", dir = "line-out", file_seconds = 4 }
""")
    run_for(serve, clock, 13.3)
    folder = tmp_path / "line-out"
    wavs = sorted(folder.glob("line-*.wav"))
    assert [p.name for p in wavs][:2] == ["line-00000001.wav", "line-00000002.wav"]
    assert not list(folder.glob("*.part")) and len(wavs) == 4
    frame_s = serve.channels[0].live.frame_s
    total, frames = 0.0, 0
    for wav in wavs:
        meta = json.loads(Path(str(wav) + ".sigmf-meta").read_text())
        total += meta["global"]["hotcast:seconds"]
        frames += meta["global"]["hotcast:frames"]
        assert meta["global"]["hotcast:channel"] == "line"
        assert meta["captures"][0]["core:datetime"].endswith("Z")
    # whole frames: 13.3 s of clock, 0.5 s rendered ahead, the frame in progress; then the
    # modulator's tail (the end of its last symbol), shorter than a frame
    assert 13.3 <= frames * frame_s <= 13.3 + 0.5 + frame_s
    assert frames * frame_s < total < (frames + 1) * frame_s
    (stopped,) = events(lines, "stopped")
    assert stopped["why"] == "test"


def test_restart_resumes_with_sequence_numbers_that_never_go_back(center, tmp_path: Path) -> None:
    text = """
[[channels]]
name = "line"
profile = "audio-robust"
output = { kind = "files", dir = "line-out", file_seconds = 3 }
"""
    serve, clock, lines = serve_of(center.path, text)
    clock.at(NOW + 5, lambda: other_process_revokes(center.path, 4_000_000_000_000_101, clock))
    run_for(serve, clock, 8)
    folder = tmp_path / "line-out"
    # a serve killed mid-file leaves its part file; the next one removes it and goes on
    (folder / "line-00000009.wav.part").write_bytes(b"half a file")
    before = sorted(p.name for p in folder.glob("line-*.wav"))
    serve, clock, lines2 = serve_of(center.path, text, start=NOW + 20)
    clock.at(NOW + 25, lambda: other_process_revokes(center.path, 4_000_000_000_000_102, clock))
    run_for(serve, clock, 8)
    assert not list(folder.glob("*.part"))
    after = sorted(p.name for p in folder.glob("line-*.wav"))
    assert after[:len(before)] == before and after[len(before)] > before[-1]
    built = [(b["kind"], b["seq"]) for b in events(lines, "built") + events(lines2, "built")]
    assert built == [("full", 1), ("delta", 2), ("delta", 3)]
    with CenterHome.open(center.path) as home:
        rows = [r for r in home.history() if r["kind"] in ("full", "delta")]
        assert [r["seq"] for r in rows] == [1, 2, 3]
        assert all(b["prev"] == a["sha256"] for a, b in zip(rows, rows[1:]))


def test_a_second_serve_on_one_home_is_refused(center, tmp_path: Path) -> None:
    serve, clock, _ = serve_of(center.path, IR_CHANNEL)
    inner = {}

    def second() -> None:
        other, _, _ = serve_of(center.path, IR_CHANNEL)
        with pytest.raises(ServeRunningError, match="already runs"):
            other.run()
        inner["ok"] = True

    clock.at(NOW + 1, second)
    run_for(serve, clock, 2)
    assert inner["ok"]


def test_an_output_that_does_not_open_refuses_the_start(center, tmp_path: Path) -> None:
    card = DisappearingCard()
    card.present = False
    serve, clock, lines = serve_of(center.path, IR_CHANNEL + """
[[channels]]
name = "card"
profile = "fm"
output = { kind = "sound-card", device = "hw:9" }
""", stream_factory=card)
    with pytest.raises(Exception) as err:
        serve.run()
    assert str(err.value).startswith("test.toml:10: channels[1].output: cannot open sound card hw:9")
    assert not events(lines, "built")  # nothing went on air or was built


# -- keys and freshness -------------------------------------------------------------------------


def test_a_master_roll_goes_on_air_lead_before_it_takes_effect(center) -> None:
    rec = Recorder()
    serve, clock, lines = serve_of(center.path, IR_CHANNEL + """
[keys]
roll_master_every = "1h"
lead = "30s"
""", start=NOW + 3600 - 20, openers={"ir": lambda stop: rec})
    run_for(serve, clock, 80)
    (rolled,) = events(lines, "rolled")
    assert NOW + 3600 <= rolled["t"] < NOW + 3600 + 1.0
    assert rolled["takes_effect_at"] == NOW + 3600 + 30
    (roll_on,) = events(lines, "on_air", kind="master_roll")
    assert roll_on["urgent"] and roll_on["at"] - rolled["t"] < 0.5 + 2 * 1.97
    fulls = events(lines, "built", kind="full")
    assert [f["seq"] for f in fulls] == [1, 2]
    assert fulls[1]["t"] >= NOW + 3600 + 30 and "takes effect" in fulls[1]["why"]
    assert json.loads(status_path(center.path).read_text())["warnings"] == []


def test_a_key_set_imported_ahead_goes_on_air_lead_before_it_takes_effect(center) -> None:
    valid_from = NOW + 7200
    request = center.request_keyset(now=valid_from, by=OPERATOR)
    center.import_trust([root_of(center).sign_keyset(request)], now=NOW, by=OPERATOR)
    rec = Recorder()
    serve, clock, lines = serve_of(center.path, IR_CHANNEL + """
[keys]
lead = "1h"
""", start=valid_from - 3600 - 30, openers={"ir": lambda stop: rec})
    seen = {}
    clock.at(valid_from - 3600 - 20, lambda: seen.update(before=serve.status(clock.now())))
    clock.at(valid_from - 3600 + 10, lambda: seen.update(after=serve.status(clock.now())))
    run_for(serve, clock, 50)
    on = lambda s: {(b["kind"], b["seq"]) for b in s["channels"][0]["on_air"]}  # noqa: E731
    assert ("key_set", 2) not in on(seen["before"]) and ("key_set", 1) in on(seen["before"])
    assert ("key_set", 2) in on(seen["after"])
    (went,) = events(lines, "on_air", kind="key_set", seq=2)
    assert valid_from - 3600 <= went["at"] <= valid_from - 3600 + 1.0 + 0.5 + 2 * 1.97


def test_key_material_near_its_end_warns_in_log_and_status(center) -> None:
    serve, clock, lines = serve_of(center.path, IR_CHANNEL + """
[keys]
warn_before = "400d"
""", openers={"ir": lambda stop: Recorder()})
    run_for(serve, clock, 3)
    warned = [w["warning"] for w in events(lines, "warning")]
    assert any(w.startswith("key set v1 expires") and "no later key set" in w for w in warned)
    assert any("signing keys of key set v1" in w for w in warned)
    status = json.loads(status_path(center.path).read_text())
    assert len(status["warnings"]) >= 2


def test_changes_are_batched_per_channel(center) -> None:
    recs = {"fast": Recorder(), "slow": Recorder()}
    serve, clock, lines = serve_of(center.path, """
[[channels]]
name = "fast"
profile = "ir"
output = { kind = "ir-files", dir = "a" }
[channels.policy]
delta_batch = "3s"
[[channels]]
name = "slow"
profile = "ir"
output = { kind = "ir-files", dir = "b" }
[channels.policy]
delta_batch = "20s"
""", openers={k: (lambda stop, r=r: r) for k, r in recs.items()})
    t0 = NOW + 10.0
    clock.at(t0, lambda: other_process_revokes(center.path, 4_000_000_000_000_201, clock))
    clock.at(t0 + 2, lambda: other_process_revokes(center.path, 4_000_000_000_000_202, clock))
    run_for(serve, clock, 45)
    (delta,) = events(lines, "built", kind="delta")  # both edits in one delta
    assert t0 + 3 <= delta["t"] <= t0 + 4.0 and delta["added"] == 2
    (fast,) = events(lines, "on_air", channel="fast", kind="delta")
    (slow,) = events(lines, "on_air", channel="slow", kind="delta")
    assert fast["at"] < t0 + 4.0 + 0.5 + 2 * 1.97
    assert slow["at"] >= t0 + 20


class Terminal:
    """A listening terminal behind the channel; the channel can be jammed or replayed."""

    def __init__(self, store: TerminalStore) -> None:
        self.store = store
        self.pipeline = ReceivePipeline(PipelineConfig("ir", InputKind.PULSES, 1e6))
        self.merger = BundleMerger(store)
        self.mode = "live"
        self.recorded: list[np.ndarray] = []
        self._replay = 0
        self.t_first: float | None = None
        self.fed = 0.0

    def write(self, block, air_s: float) -> None:
        if self.mode == "jammed":
            return
        if self.mode == "replay":  # an old, genuine carousel played back
            samples = self.recorded[self._replay % len(self.recorded)]
            self._replay += 1
        else:
            samples = block.samples
            if air_s < NOW + 40:
                self.recorded.append(samples)
        if self.t_first is None:
            self.t_first = air_s
        self.fed += np.abs(samples).sum() / 1e6
        for event in self.pipeline.process(samples):
            self.merger.process([event], int(self.t_first + event.at.t_s))

    def close(self) -> None: ...

    def abort(self) -> None: ...


def test_freeze_attack_jammed_or_replayed_channel_makes_the_terminal_stale(center, tmp_path: Path) -> None:
    """TUF's freeze attack: the terminal's list is genuine but old. Jamming the channel, then
    replaying an old recording of it, never makes the terminal take the old list for current:
    once no fresh heartbeat came for its max age, every verdict says stale."""
    keys = TerminalKeys.from_file(center.provision(now=NOW, by=OPERATOR))
    store = TerminalStore.create(tmp_path / "terminal", keys, heartbeat_max_age_s=30)
    terminal = Terminal(store)
    serve, clock, lines = serve_of(center.path, IR_CHANNEL + """
[lists]
heartbeat_every = "10s"
""", openers={"ir": lambda stop: terminal})
    stolen = 4_000_000_000_000_666
    verdicts = {}

    def check(name: str) -> None:
        verdicts[name] = (check_card(store, CARDS[0], int(clock.now())),
                          check_card(store, stolen, int(clock.now())))

    clock.at(NOW + 38, lambda: check("live"))
    clock.at(NOW + 40, lambda: setattr(terminal, "mode", "jammed"))
    clock.at(NOW + 45, lambda: other_process_revokes(center.path, stolen, clock))
    clock.at(NOW + 80, lambda: check("jammed"))
    clock.at(NOW + 80, lambda: setattr(terminal, "mode", "replay"))
    clock.at(NOW + 120, lambda: check("replayed"))
    clock.at(NOW + 120, lambda: setattr(terminal, "mode", "live"))
    clock.at(NOW + 150, lambda: check("restored"))
    run_for(serve, clock, 151)
    listed, unlisted = verdicts["live"]
    assert listed.verdict == "refuse" and not listed.stale and not unlisted.stale
    for phase in ("jammed", "replayed"):
        listed, stolen_card = verdicts[phase]
        assert stolen_card.verdict == "accept"  # it cannot know...
        assert stolen_card.stale and listed.stale  # ...and says it cannot
        assert "no heartbeat" in stolen_card.stale_why
    assert terminal._replay > 5  # the replay really went through the receiver
    listed, stolen_card = verdicts["restored"]
    assert stolen_card.verdict == "refuse" and not stolen_card.stale
    store.close()


def test_a_fifo_reader_that_goes_away_is_waited_for_again(center, tmp_path: Path) -> None:
    """Real clock, real threads: the transmitter program reading the FIFO restarts."""
    fifo = tmp_path / "tx.fifo"
    os.mkfifo(fifo)
    plan = parse_plan('[[channels]]\nname = "tx"\nprofile = "audio-robust"\n'
                      'output = { kind = "stream", path = "tx.fifo", format = "s16le" }\n',
                      "test.toml", tmp_path)
    lines: list[dict] = []
    serve = Serve(plan, center.path, passphrase=lambda: PASSPHRASE, by=OPERATOR,
                  clock=SystemClock(), log=lines.append)
    got: list[int] = []

    def transmitter() -> None:
        for _ in range(2):  # reads a while, quits; is started again
            with open(fifo, "rb") as f:
                got.append(len(f.read(48_000 * 2)))
            time.sleep(0.5)
        serve.stop()

    reader = threading.Thread(target=transmitter)
    reader.start()
    assert serve.run() == 0
    reader.join()
    assert got == [96_000, 96_000]
    # Each time the transmitter quit, one broken pipe; while it is away, a retry may also
    # find no reader on the FIFO (a race of the two threads), reported and retried as well.
    reported = events(lines, "output_error", channel="tx")
    errors = [e for e in reported if "BrokenPipeError" in e["error"]]
    assert len(errors) == 2
    assert all("no reader" in e["error"] for e in reported if e not in errors)
    (restored,) = events(lines, "output_restored", channel="tx")
    assert errors[0]["t"] < restored["t"] < errors[1]["t"]
