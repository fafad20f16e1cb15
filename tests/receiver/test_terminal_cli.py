"""``hotcast terminal ...`` through ``hotcast.cli.main`` (in process): JSON output, exit codes,
'bad input changes nothing', and the per-file rule of ``terminal apply`` (files sorted into the
order they need, each that verifies applied in its own transaction, each refused one reported,
exit 2 if any was refused, older or equal genuine lists unchanged)."""

import io
import json
import os
import stat

import pytest

from hotcast import cli
from receiver.store.store import TerminalStore
from terminal_helpers import DAY_S, NOW, full_dump, make_hot

HOT = make_hot(20, seed=51)
REASONS = ["stolen", "lost", "fraud", "other"]


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    """The simulated center's bundles are made at NOW: the CLI's clock is fixed there."""
    monkeypatch.setenv("HOTCAST_NOW", str(NOW))


@pytest.fixture
def keys_file(tmp_path, sim):
    path = tmp_path / "terminal.keys"
    path.write_bytes(sim.terminal_keys().to_file())
    return path


@pytest.fixture
def t_home(tmp_path, keys_file, capsys):
    home = tmp_path / "t"
    assert run(capsys, "terminal", "init", "--home", str(home), "--keys", str(keys_file))[0] == 0
    return home


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.fixture
def bundle_file(tmp_path, sim):
    return write(tmp_path, "seq3.hcb", sim.full(HOT, seq=3))


def apply(capsys, home, *paths):
    return run(capsys, "terminal", "apply", "--home", str(home), *map(str, paths))


# -- init ---------------------------------------------------------------------------------

def test_init_prints_the_trust_it_holds_and_refuses_a_second_init(tmp_path, keys_file, capsys):
    home = tmp_path / "t"
    code, lines, _ = run(capsys, "terminal", "init", "--home", str(home), "--keys", str(keys_file))
    assert code == 0
    assert {k: lines[0][k] for k in ("root_set", "key_set", "master_key_ids")} == {
        "root_set": 1, "key_set": 1, "master_key_ids": [1]}
    assert stat.S_IMODE(os.stat(home).st_mode) == 0o700
    before = full_dump(home)
    code, lines, err = run(capsys, "terminal", "init", "--home", str(home), "--keys",
                           str(keys_file))
    assert code == 2 and "already exists" in err and lines == []
    assert full_dump(home) == before


@pytest.mark.parametrize("content", [b"not a key file", b""])
def test_init_with_bad_key_file_exits_2(tmp_path, capsys, content):
    bad = write(tmp_path, "bad.keys", content)
    code, lines, err = run(capsys, "terminal", "init", "--home", str(tmp_path / "t"),
                           "--keys", str(bad))
    assert code == 2 and lines == [] and "key file" in err
    assert not (tmp_path / "t" / "terminal.sqlite").exists()


def test_init_from_standard_input(tmp_path, keys_file, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(keys_file.read_bytes())))
    code, lines, err = run(capsys, "terminal", "init", "--home", str(tmp_path / "t"),
                           "--keys", "-")
    assert code == 0, err
    assert lines[0]["key_set"] == 1 and (tmp_path / "t" / "terminal.sqlite").exists()


def test_home_defaults_to_env(tmp_path, keys_file, capsys, monkeypatch):
    monkeypatch.setenv("HOTCAST_HOME", str(tmp_path / "env-home"))
    assert run(capsys, "terminal", "init", "--keys", str(keys_file))[0] == 0
    assert (tmp_path / "env-home" / "terminal.sqlite").exists()


def test_a_home_of_another_role_is_refused(tmp_path, keys_file, capsys):
    center = tmp_path / "c"
    center.mkdir(mode=0o700)
    (center / "hotcast-role").write_text("center\n")
    code, lines, err = run(capsys, "terminal", "init", "--home", str(center), "--keys",
                           str(keys_file))
    assert code == 2 and lines == [] and "is a center home" in err
    assert sorted(os.listdir(center)) == ["hotcast-role"]


def test_a_home_others_can_read_is_refused(t_home, capsys):
    os.chmod(t_home, 0o755)
    code, lines, err = run(capsys, "terminal", "status", "--home", str(t_home))
    assert code == 2 and lines == [] and "chmod 700" in err


# -- apply, check, status -----------------------------------------------------------------

def test_apply_check_status(t_home, bundle_file, capsys):
    code, lines, _ = apply(capsys, t_home, bundle_file)
    assert code == 0
    assert lines == [{"file": str(bundle_file), "event": "bundle_applied", "seq": 3,
                      "kind": "full", "entries": 20}]
    code, lines, _ = apply(capsys, t_home, bundle_file)
    assert code == 0 and lines == [{"file": str(bundle_file), "event": "bundle_unchanged",
                                    "seq": 3, "kind": "full", "entries": 20}]

    listed, reason = str(int(HOT.ids[0])), HOT.reasons[0]
    code, lines, _ = run(capsys, "terminal", "check", "--home", str(t_home), listed, "7")
    assert code == 0
    assert lines == [
        {"card": listed, "verdict": "refuse", "reason": REASONS[reason], "list_seq": 3,
         "stale": False},
        {"card": "7", "verdict": "accept", "reason": None, "list_seq": 3, "stale": False},
    ]
    code, lines, _ = run(capsys, "terminal", "status", "--home", str(t_home))
    (status,) = lines
    assert code == 0
    assert {k: status[k] for k in ("list_seq", "epoch", "entries", "stale", "kind", "following",
                                   "key_set", "root_set", "signing_key_ids", "master_key_ids")} \
        == {"list_seq": 3, "epoch": 1, "entries": 20, "stale": False, "kind": "full",
            "following": True, "key_set": 1, "root_set": 1, "signing_key_ids": [1],
            "master_key_ids": [1]}
    assert status["applied_at"] == NOW and status["valid_until"] == NOW + DAY_S


def test_check_echoes_card_ids_as_given(t_home, capsys):
    code, lines, _ = run(capsys, "terminal", "check", "--home", str(t_home), "0042", "42")
    assert code == 0 and [line["card"] for line in lines] == ["0042", "42"]
    assert all(line["stale"] is True and line["stale_why"] == "no list yet" for line in lines)


def test_check_reads_card_ids_from_standard_input(t_home, bundle_file, capsys, monkeypatch):
    apply(capsys, t_home, bundle_file)
    listed = str(int(HOT.ids[1]))
    monkeypatch.setattr("sys.stdin", io.StringIO(f"7, {listed}\n\n8\n"))
    code, lines, _ = run(capsys, "terminal", "check", "--home", str(t_home), "-")
    assert code == 0
    assert [(x["card"], x["verdict"]) for x in lines] == [("7", "accept"), (listed, "refuse"),
                                                          ("8", "accept")]


def test_check_of_an_empty_standard_input_exits_2(t_home, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    code, lines, err = run(capsys, "terminal", "check", "--home", str(t_home), "-")
    assert code == 2 and lines == [] and "no card IDs" in err


@pytest.mark.parametrize("bad", ["abc", "-1", "12345678901234567890", ""])
def test_bad_card_id_exits_2_naming_it(t_home, capsys, bad):
    before = full_dump(t_home)
    code, lines, err = run(capsys, "terminal", "check", "--home", str(t_home), "123", bad)
    assert code == 2 and lines == [] and repr(bad) in err
    assert full_dump(t_home) == before


def test_a_stale_terminal_says_why_in_every_verdict(t_home, bundle_file, capsys, monkeypatch):
    apply(capsys, t_home, bundle_file)
    monkeypatch.setenv("HOTCAST_NOW", str(NOW + DAY_S + 1))
    code, lines, _ = run(capsys, "terminal", "check", "--home", str(t_home),
                         str(int(HOT.ids[0])), "7")
    assert code == 0 and [x["verdict"] for x in lines] == ["refuse", "accept"]
    assert all(x["stale"] and x["stale_why"] == f"the list expired at {NOW + DAY_S}"
               for x in lines)
    _, (status,), _ = run(capsys, "terminal", "status", "--home", str(t_home))
    assert status["stale"] is True and "expired" in status["stale_why"]


# -- the per-file rule of apply -----------------------------------------------------------

def test_a_rejected_bundle_gives_a_line_and_exit_2(t_home, bundle_file, tmp_path, capsys):
    bad = write(tmp_path, "bad.hcb", bundle_file.read_bytes()[:-1])
    before = full_dump(t_home)
    code, lines, err = apply(capsys, t_home, bad)
    assert code == 2 and lines[0]["event"] == "bundle_rejected" and lines[0]["why"]
    assert "1 of 1 file(s) refused" in err and "bad.hcb" in err
    assert full_dump(t_home) == before


def test_apply_keeps_every_file_that_verifies_and_reports_each_refused_one(
        t_home, tmp_path, sim, capsys):
    full = write(tmp_path, "a-full.hcb", sim.full(make_hot(30, seed=52)))
    junk = write(tmp_path, "b-junk.hcb", b"junk")
    forged = bytearray(sim.delta(make_hot(31, seed=53), base=1))
    forged[-10] ^= 1
    forged = write(tmp_path, "c-forged.hcb", bytes(forged))
    code, lines, err = apply(capsys, t_home, junk, full, forged)
    assert code == 2
    events = {line["file"]: line["event"] for line in lines}
    assert events == {str(full): "bundle_applied", str(junk): "bundle_rejected",
                      str(forged): "bundle_rejected"}
    assert "2 of 3 file(s) refused" in err and "keeps what the others applied" in err
    with TerminalStore.open(t_home) as store:
        assert store.state().seq == 1 and store.state().entries == 30


def test_apply_sorts_files_into_the_order_they_need(t_home, tmp_path, sim, capsys):
    """A master roll, a full list sealed under the new key, two cumulative deltas and a
    heartbeat, given newest first: applied in the order they chain, every one."""
    roll = sim.roll_master()
    lists = [make_hot(40, seed=54), make_hot(41, seed=55), make_hot(42, seed=56)]
    files = [write(tmp_path, "1-full.hcb", sim.full(lists[0])),
             write(tmp_path, "2-delta.hcb", sim.delta(lists[1], base=1)),
             write(tmp_path, "3-delta.hcb", sim.delta(lists[2], base=1))]
    beat = write(tmp_path, "beat.hcb", sim.heartbeat())
    roll = write(tmp_path, "roll.hcb", roll)
    code, lines, err = apply(capsys, t_home, beat, *reversed(files), roll)
    assert code == 0, err
    assert [(x["file"], x["event"], x["kind"], x["seq"]) for x in lines] == [
        (str(roll), "bundle_applied", "master_roll", 2),
        (str(files[0]), "bundle_applied", "full", 1),
        (str(files[1]), "bundle_applied", "delta", 2),
        (str(files[2]), "bundle_applied", "delta", 3),
        (str(beat), "bundle_applied", "heartbeat", 3)]
    with TerminalStore.open(t_home) as store:
        assert store.hot_list().equals(lists[2]) and not store.state().is_stale(NOW)


def test_older_or_equal_genuine_lists_are_unchanged_not_errors(t_home, tmp_path, sim, capsys):
    old = write(tmp_path, "seq1.hcb", sim.full(make_hot(10, seed=57)))
    new = write(tmp_path, "seq2.hcb", sim.full(make_hot(11, seed=58)))
    assert apply(capsys, t_home, new)[0] == 0
    before = full_dump(t_home)
    code, lines, err = apply(capsys, t_home, old, new)
    assert code == 0, err
    assert [(x["file"], x["event"], x["seq"]) for x in lines] == [
        (str(old), "bundle_unchanged", 1), (str(new), "bundle_unchanged", 2)]
    assert "already past it" in lines[0]["why"]
    assert full_dump(t_home) == before


def test_missing_bundle_file_changes_nothing(t_home, bundle_file, capsys):
    before = full_dump(t_home)
    code, lines, err = apply(capsys, t_home, bundle_file, "/nonexistent/x.hcb")
    assert code == 2 and lines == [] and "/nonexistent/x.hcb" in err
    assert full_dump(t_home) == before


def test_apply_a_master_roll_file(t_home, tmp_path, sim, capsys):
    path = write(tmp_path, "roll.hcb", sim.roll_master())
    code, lines, _ = apply(capsys, t_home, path)
    assert code == 0 and lines[0]["event"] == "bundle_applied"
    assert (lines[0]["kind"], lines[0]["seq"]) == ("master_roll", 2)
    _, (status,), _ = run(capsys, "terminal", "status", "--home", str(t_home))
    assert status["master_key_ids"] == [1, 2] and status["list_seq"] == 0


# -- the rest -----------------------------------------------------------------------------

def test_uninitialised_home_exits_2(tmp_path, capsys):
    code, _, err = run(capsys, "terminal", "status", "--home", str(tmp_path / "nothing"))
    assert code == 2 and "terminal init" in err


def test_usage_errors_exit_2(capsys):
    assert cli.main([]) == 2
    assert cli.main(["nonsense"]) == 2
    assert cli.main(["terminal"]) == 2
    assert cli.main(["terminal", "check"]) == 2
    assert cli.main(["terminal", "apply", "--hom", "x", "f"]) == 2  # no abbreviated options
    assert cli.main(["terminal", "--help"]) == 0


def test_status_shows_sales(t_home, capsys):
    with TerminalStore.open(t_home) as store:
        store.record_sale(NOW, 42, 150, 0, True)
        store.record_sale(NOW, 43, 50, 0, True)
    _, lines, _ = run(capsys, "terminal", "status", "--home", str(t_home))
    assert (lines[0]["sales"], lines[0]["sales_total_minor"]) == (2, 200)
    assert lines[0]["stale"] is True and lines[0]["list_seq"] == 0
