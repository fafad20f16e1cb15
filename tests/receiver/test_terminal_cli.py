"""``hotcast terminal ...`` through ``hotcast.cli.main``: JSON output, exit codes, and
'bad input changes nothing'."""

import json
import time

import pytest

from crypto import provision
from hotcast import cli
from terminal_helpers import DAY_S, full_bundle, full_dump, make_hot

HOT = make_hot(20, seed=51)


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


@pytest.fixture
def keys_file(tmp_path, center):
    path = tmp_path / "terminal.keys"
    path.write_bytes(provision(center).to_bytes())
    return path


@pytest.fixture
def t_home(tmp_path, keys_file, capsys):
    home = tmp_path / "t"
    assert run(capsys, "terminal", "init", "--home", str(home), "--keys", str(keys_file))[0] == 0
    return home


@pytest.fixture
def bundle_file(tmp_path, center):
    now = int(time.time())  # the CLI reads the clock, so these bundles must be live
    path = tmp_path / "seq3.bundle"
    path.write_bytes(full_bundle(center, HOT, seq=3, created_at=now - 60, valid_until=now + DAY_S))
    return path


def test_init_prints_key_ids_and_refuses_second_init(tmp_path, keys_file, capsys, center):
    home = tmp_path / "t"
    code, lines, _ = run(capsys, "terminal", "init", "--home", str(home), "--keys", str(keys_file))
    assert code == 0 and lines[0]["master_key_ids"] == [m.key_id for m in center.master_keys]
    code, lines, err = run(capsys, "terminal", "init", "--home", str(home), "--keys", str(keys_file))
    assert code == 2 and "already exists" in err and lines == []


def test_init_with_bad_key_file_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.keys"
    bad.write_bytes(b"not a key file")
    code, _, err = run(capsys, "terminal", "init", "--home", str(tmp_path / "t"), "--keys", str(bad))
    assert code == 2 and err
    assert not (tmp_path / "t" / "terminal.sqlite").exists()


def test_home_defaults_to_env(tmp_path, keys_file, capsys, monkeypatch):
    monkeypatch.setenv("HOTCAST_HOME", str(tmp_path / "env-home"))
    assert run(capsys, "terminal", "init", "--keys", str(keys_file))[0] == 0
    assert (tmp_path / "env-home" / "terminal.sqlite").exists()


def test_apply_check_status(t_home, bundle_file, capsys):
    code, lines, _ = run(capsys, "terminal", "apply", "--home", str(t_home), str(bundle_file))
    assert code == 0
    assert lines == [{"file": str(bundle_file), "event": "bundle_applied", "seq": 3,
                      "kind": "full", "entries": 20}]
    code, lines, _ = run(capsys, "terminal", "apply", "--home", str(t_home), str(bundle_file))
    assert code == 0 and lines[0]["event"] == "bundle_unchanged"

    listed, reason = str(int(HOT.ids[0])), HOT.reasons[0]
    code, lines, _ = run(capsys, "terminal", "check", "--home", str(t_home), listed, "7")
    assert code == 0
    names = ["stolen", "lost", "fraud", "other"]
    assert lines == [
        {"card": listed, "verdict": "refuse", "reason": names[reason], "list_seq": 3, "stale": False},
        {"card": "7", "verdict": "accept", "reason": None, "list_seq": 3, "stale": False},
    ]
    code, lines, _ = run(capsys, "terminal", "status", "--home", str(t_home))
    status = lines[0]
    assert code == 0 and len(lines) == 1
    assert (status["list_seq"], status["entries"], status["stale"], status["kind"]) == (3, 20, False, "full")
    assert status["applied_at"] and status["valid_until"] and status["master_key_ids"]


def test_check_leading_zeros_keep_the_canonical_form(t_home, capsys):
    code, lines, _ = run(capsys, "terminal", "check", "--home", str(t_home), "0042")
    assert code == 0 and lines[0]["card"] == "42" and lines[0]["stale"] is True


@pytest.mark.parametrize("bad", ["abc", "-1", "12345678901234567890", ""])
def test_bad_card_id_exits_2_naming_it(t_home, capsys, bad):
    before = full_dump(t_home)
    code, lines, err = run(capsys, "terminal", "check", "--home", str(t_home), "123", bad)
    assert code == 2 and lines == [] and repr(bad) in err
    assert full_dump(t_home) == before


def test_rejected_bundle_gives_a_line_and_exit_2(t_home, bundle_file, tmp_path, capsys):
    bad = tmp_path / "bad.bundle"
    bad.write_bytes(bundle_file.read_bytes()[:-1])
    before = full_dump(t_home)
    code, lines, err = run(capsys, "terminal", "apply", "--home", str(t_home), str(bad))
    assert code == 2 and lines[0]["event"] == "bundle_rejected" and lines[0]["why"]
    assert "rejected" in err and "bad.bundle" in err and full_dump(t_home) == before


def test_apply_of_several_files_is_all_or_nothing(t_home, bundle_file, tmp_path, capsys):
    bad = tmp_path / "bad.bundle"
    bad.write_bytes(b"junk")
    before = full_dump(t_home)
    code, lines, err = run(capsys, "terminal", "apply", "--home", str(t_home), str(bundle_file),
                           str(bad))
    assert code == 2 and "none of the 2 files applied" in err and "bad.bundle" in err
    assert [line["event"] for line in lines] == ["bundle_rejected"]
    assert full_dump(t_home) == before


def test_missing_bundle_file_changes_nothing(t_home, bundle_file, capsys):
    before = full_dump(t_home)
    code, lines, err = run(capsys, "terminal", "apply", "--home", str(t_home), str(bundle_file),
                           "/nonexistent/x.bundle")
    assert code == 2 and lines == [] and "/nonexistent/x.bundle" in err
    assert full_dump(t_home) == before


def test_uninitialised_home_exits_2(tmp_path, capsys):
    code, _, err = run(capsys, "terminal", "status", "--home", str(tmp_path / "nothing"))
    assert code == 2 and "terminal init" in err


def test_usage_errors_exit_2(capsys):
    assert cli.main([]) == 2
    assert cli.main(["nonsense"]) == 2
    assert cli.main(["terminal"]) == 2
    assert cli.main(["terminal", "check"]) == 2
    assert cli.main(["terminal", "--help"]) == 0


def test_apply_key_roll_file(t_home, tmp_path, center, capsys):
    from crypto import roll_master_key
    now = int(time.time())
    rolled, roll = roll_master_key(center, 99, now - 60, now + DAY_S)
    path = tmp_path / "roll.bundle"
    path.write_bytes(roll)
    code, lines, _ = run(capsys, "terminal", "apply", "--home", str(t_home), str(path))
    assert code == 0 and lines[0]["event"] == "bundle_applied" and lines[0]["kind"] == "master_roll"
    _, lines, _ = run(capsys, "terminal", "status", "--home", str(t_home))
    assert rolled.current_master_id in lines[0]["master_key_ids"] and lines[0]["list_seq"] == 0


def test_status_shows_sales(t_home, capsys):
    from receiver.store.store import TerminalStore
    with TerminalStore.open(t_home) as store:
        store.record_sale(int(time.time()), 42, 150, 0, True)
        store.record_sale(int(time.time()), 43, 50, 0, True)
    _, lines, _ = run(capsys, "terminal", "status", "--home", str(t_home))
    assert (lines[0]["sales"], lines[0]["sales_total_minor"]) == (2, 200)
    assert lines[0]["stale"] is True and lines[0]["list_seq"] == 0
