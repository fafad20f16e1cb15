"""``hotcast center`` end to end: JSON-lines output, exit statuses, nothing changed on bad input."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from center_helpers import NOW, OPERATOR, dump_home

from crypto import TerminalKeys, check_token, open_bundle
from framing import decode_list


def lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


@pytest.fixture
def populated(run, tmp_path: Path) -> Path:
    """A home with a universe, a few cards, one full bundle and one roll."""
    assert run("init", "--universe", "1000-1999,4000000000000000-4999999999999999")[0] == 0
    assert run("revoke", "1001", "1002", "4929123412341234")[0] == 0
    assert run("build", "--out", str(tmp_path / "b1.hcb"))[0] == 0
    assert run("rotate-master")[0] == 0
    return tmp_path / "home"


def test_the_operator_round(run, tmp_path: Path) -> None:
    code, out, err = run("init")
    assert code == 0 and "a production root belongs offline" in err
    assert lines(out) == [{"home": str(tmp_path / "home"), "universe": "0-9999999999999999999",
                           "keyset_request": str(tmp_path / "home" / "keyset-request.hcq"),
                           "trial_root": str(tmp_path / "home-root")}]
    assert run("revoke", "--reason", "lost", "4929123412341234", "17")[0] == 0
    csv = tmp_path / "cards.csv"
    csv.write_text("card_id,reason,expires\n5,fraud,2031-12\n17,other,\n")
    code, out, _ = run("import", str(csv))
    assert lines(out) == [{"rows": 2, "added": 1, "changed": 1, "unchanged": 0, "entries": 3}]
    code, out, _ = run("list")
    assert lines(out) == [
        {"card": "5", "reason": "fraud", "listed_at": NOW, "listed_by": OPERATOR, "expires": "2031-12"},
        {"card": "17", "reason": "other", "listed_at": NOW, "listed_by": OPERATOR, "expires": None},
        {"card": "4929123412341234", "reason": "lost", "listed_at": NOW, "listed_by": OPERATOR,
         "expires": None},
    ]
    code, out, _ = run("build", "--out", str(tmp_path / "full.hcb"), "--full")
    built = lines(out)[0]
    assert {k: built[k] for k in ("seq", "kind", "base", "entries")} == {
        "seq": 1, "kind": "full", "base": 0, "entries": 3}
    assert built["bytes"] == (tmp_path / "full.hcb").stat().st_size
    assert run("reinstate", "17")[0] == 0
    code, out, _ = run("build", "--out", str(tmp_path / "d.hcb"), "--delta-from", "1",
                       "--valid-hours", "2")
    delta = lines(out)[0]
    assert (delta["seq"], delta["kind"], delta["base"], delta["entries"]) == (2, "delta", 1, 2)
    assert (delta["added"], delta["removed"], delta["valid_until"]) == (0, 1, NOW + 7200)
    assert run("provision", "--out", str(tmp_path / "t.keys"))[0] == 0
    assert stat.S_IMODE(os.stat(tmp_path / "t.keys").st_mode) == 0o600
    keys = TerminalKeys.from_file((tmp_path / "t.keys").read_bytes())
    _, hot = decode_list(open_bundle((tmp_path / "full.hcb").read_bytes(), keys.trust, NOW).body)
    assert hot.ids.tolist() == [5, 17, 4929123412341234]
    code, out, _ = run("token", "4929123412341235", "--valid-until", "2026-12-31")
    token = lines(out)[0]
    assert token["card"] == "4929123412341235" and token["valid_until"] == 1798761599
    check_token(bytes.fromhex(token["token"]), 4929123412341235, NOW, keys.keyset)
    # A new signing key: the center asks, the offline root signs, the center imports.
    request = tmp_path / "req.hcq"
    assert run("request-keyset", "--out", str(request), "--new-signing-key")[0] == 0
    from center.root.home import RootHome
    signed = RootHome.open(tmp_path / "home-root", lambda: "test passphrase").sign_keyset(
        request.read_bytes())
    (tmp_path / "ks2.hcm").write_bytes(signed)
    code, out, _ = run("import-trust", str(tmp_path / "ks2.hcm"))
    assert lines(out)[0]["kind"] == "key_set" and lines(out)[0]["version"] == 2
    code, out, _ = run("history")
    assert [(h["seq"], h["kind"]) for h in lines(out)] == [(1, "full"), (2, "delta")]
    code, out, _ = run("carousel")
    assert [(c["kind"], c.get("seq", c.get("version"))) for c in lines(out)] == [
        ("key_set", 2), ("full", 1), ("delta", 2)]
    assert run("export", "1", "--out", str(tmp_path / "again.hcb"))[0] == 0
    assert (tmp_path / "again.hcb").read_bytes() == (tmp_path / "full.hcb").read_bytes()
    code, out, _ = run("audit")
    actions = [a["action"] for a in lines(out)]
    assert actions[:6] == ["init", "import-key-set", "revoke", "revoke", "import", "import-change"]
    assert {"build", "reinstate", "provision", "token", "request-keyset", "import-key-set",
            "export"} <= set(actions)
    assert all(a["by"] == OPERATOR and a["at"] == NOW for a in lines(out))


def test_home_flag_wins_over_environment(run, tmp_path: Path) -> None:
    other = tmp_path / "other"
    assert run("init", "--home", str(other))[0] == 0
    assert (other / "registry.sqlite").exists() and not (tmp_path / "home").exists()


def test_keys_never_reach_the_output(run, tmp_path: Path) -> None:
    outputs = [run("init"), run("provision", "--out", str(tmp_path / "t.keys")),
               run("rotate-master"), run("audit"), run("history")]
    secret = (tmp_path / "home" / "center.keys").read_bytes()
    text = "".join(o + e for _, o, e in outputs)
    for i in range(0, len(secret) - 16, 8):
        assert secret[i:i + 16].hex() not in text


BAD_INPUT = [
    (["revoke", "1001", "12345678901234567890"], "12345678901234567890"),
    (["revoke", "1001", "18446744073709551616"], "18446744073709551616"),
    (["revoke", "1001", "49x1"], "49x1"),
    (["revoke", "1001", "-5"], "-5"),
    (["revoke", "1003", "2000"], "2000"),
    (["revoke", "--reason", "borrowed", "1003"], "borrowed"),
    (["reinstate", "1001", "1500"], "1500"),
    (["reinstate", "abc"], "abc"),
    (["reinstate", "1001", "1.5"], "1.5"),
    (["revoke", "1001", ""], "''"),
    (["revoke", "1001", "0x10"], "0x10"),
    (["revoke", "--expires", "2020-01", "1001"], "2020-01 is in the past"),
    (["revoke", "--expires", "June", "1001"], "want YYYY-MM"),
    (["token", "abc", "--valid-until", "2026-12-31"], "abc"),
    (["token", "1001", "--valid-until", "2026-12-31"], "card 1001 is on the hot list (stolen)"),
    (["build", "--out", "OUT", "--delta-from", "9"], "9"),
    (["build", "--out", "OUT", "--delta-from", "2"], "epoch 1 has no list with that seq"),
    (["build", "--out", "OUT", "--delta-from", "x"], "'x'"),
    (["build", "--out", "OUT", "--valid-hours", "0"], "--valid-hours 0"),
    (["build", "--out", "MISSING/b.hcb"], "/no' of"),
    (["build", "--out", "OUT", "--full", "--delta-from", "1"], "--delta-from"),
    (["init"], "already initialised"),
    (["provision", "--out", "-"], "only to a file"),
    (["token", "1001", "--valid-until", "2026-02-30"], "2026-02-30"),
    (["token", "99999999999999999999", "--valid-until", "2026-12-31"], "99999999999999999999"),
    (["export", "42", "--out", "OUT"], "42"),
    (["export", "99999999999999999999", "--out", "OUT"], "'99999999999999999999'"),
    (["export", "9223372036854775808", "--out", "OUT"], "'9223372036854775808'"),
    (["build", "--out", "OUT", "--delta-from", "18446744073709551616"], "'18446744073709551616'"),
    (["build", "--out", "OUT", "--delta-from", "0"], "'0'"),
    (["build", "--out", "OUT", "--delta-from", "+1"], "'+1'"),
    (["import", "NOFILE.csv"], "nofile.csv': No such file"),
    (["frobnicate"], "frobnicate"),
]


@pytest.mark.parametrize("argv,named", BAD_INPUT, ids=[" ".join(a) for a, _ in BAD_INPUT])
def test_bad_input_exits_2_names_the_value_and_changes_nothing(run, populated, tmp_path,
                                                              argv, named) -> None:
    argv = [a.replace("OUT", str(tmp_path / "out.hcb")).replace("MISSING", str(tmp_path / "no"))
            .replace("NOFILE", str(tmp_path / "nofile")) for a in argv]
    before = dump_home(populated)
    code, out, err = run(*argv)
    assert code == 2
    assert out == ""
    assert named in err
    assert dump_home(populated) == before
    assert not (tmp_path / "out.hcb").exists()


CSV_BAD = [
    ("1500,stolen\n12a,stolen\n", 2, "12a"),
    ("1500,stolen\n12345678901234567890,lost\n", 2, "12345678901234567890"),
    ("1500,stolen\n18446744073709551616,lost\n", 2, "18446744073709551616"),
    ("card_id,reason\n1500,stolen\n2500,lost\n", 3, "2500"),
    ("1500,stolen\n1600,lost\n1500,fraud\n", 3, "1500"),
    ("1500,stolen\n1600,borrowed\n", 2, "borrowed"),
    ("1500,stolen\n1600,lost,2027-13\n", 2, "2027-13"),
    ("1500,stolen\n1600\n", 2, "1 fields"),
    ("1500,stolen\n1500,stolen\n", 2, "repeats line 1"),
    ("card_id,reason\n1500,stolen\n1600,lost\n1500,stolen\n", 4, "repeats line 2"),
    ("1500,stolen\n4929 1234,lost\n", 2, "4929 1234"),
    ("1500,stolen\n1e5,lost\n", 2, "1e5"),
    ("1500,stolen\n-1600,lost\n", 2, "-1600"),
    ("1500,stolen\n,lost\n", 2, "bad card ID ''"),
    ("1500,stolen\n1600,STOLEN!\n", 2, "STOLEN!"),
    ("1500,stolen\n1600,\n", 2, "unknown reason ''"),
]


@pytest.mark.parametrize("text,line,named", CSV_BAD)
def test_bad_csv_row_is_refused_by_line_and_nothing_is_imported(run, populated, tmp_path,
                                                                text, line, named) -> None:
    csv = tmp_path / "bad.csv"
    csv.write_text(text)
    before = dump_home(populated)
    code, out, err = run("import", str(csv))
    assert (code, out) == (2, "")
    assert f"line {line}:" in err and named in err
    assert len(err.splitlines()) == 1
    assert dump_home(populated) == before


def test_commands_on_a_missing_home_exit_2(run) -> None:
    code, _, err = run("list")
    assert code == 2 and "no center home" in err


def test_a_broken_registry_exits_1(run, populated) -> None:
    (populated / "registry.sqlite").write_bytes(b"not a database" * 100)
    code, _, err = run("list")
    assert code == 1 and "error" in err and len(err.splitlines()) == 1


def run_hotcast(args: list[str], home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "HOTCAST_HOME": str(home), "HOTCAST_NOW": str(NOW)}
    return subprocess.run([sys.executable, "-m", "hotcast", "center", *args],
                          capture_output=True, text=True, env=env, timeout=60)


def test_subprocess_round_trip(tmp_path: Path) -> None:
    home = tmp_path / "h"
    assert run_hotcast(["init"], home).returncode == 0
    assert run_hotcast(["revoke", "--reason", "fraud", "4929123412341234"], home).returncode == 0
    done = run_hotcast(["build", "--out", str(tmp_path / "b.hcb")], home)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["entries"] == 1
    listed = run_hotcast(["list"], home)
    assert json.loads(listed.stdout)["reason"] == "fraud"


def test_subprocess_bad_card_exits_2_and_changes_nothing(tmp_path: Path) -> None:
    home = tmp_path / "h"
    assert run_hotcast(["init"], home).returncode == 0
    before = dump_home(home)
    done = run_hotcast(["revoke", "5", "12345678901234567890"], home)
    assert done.returncode == 2
    assert "12345678901234567890" in done.stderr and done.stdout == ""
    assert dump_home(home) == before


def test_usage_errors_are_one_line(run, populated) -> None:
    for argv in (["revoke"], ["build"], ["revoke", "--reason", "borrowed", "5"], []):
        code, out, err = run(*argv)
        assert code == 2 and out == "" and len(err.splitlines()) == 1, (argv, err)


def test_token_for_a_past_day_is_refused(run, populated) -> None:
    before = dump_home(populated)
    code, _, err = run("token", "1001", "--valid-until", "2020-01-01")
    assert code == 2 and "2020-01-01 is in the past" in err
    assert dump_home(populated) == before


def test_revoke_with_an_expiry_and_token_with_a_note(run, populated) -> None:
    code, out, _ = run("revoke", "--expires", "2031-04", "--note", "desk 3", "1077")
    assert code == 0 and lines(out)[0]["added"] == 1
    code, out, _ = run("list")
    assert [e["expires"] for e in lines(out) if e["card"] == "1077"] == ["2031-04"]
    code, _, _ = run("token", "1003", "--valid-until", "2027-01-31", "--note", "renewal")
    code, out, _ = run("audit", "--action", "token")
    assert code == 0 and lines(out)[-1]["note"].endswith("; renewal")


def test_list_fast_path_matches_json_dumps(home, capsys) -> None:
    from center import cli_output

    home.import_csv('1,stolen,2030-01\n9999999999999999999,other\n', now=NOW, by='o"dd\\name')
    entries = list(home.list_entries())
    fast = list(cli_output.entry_lines(entries))
    assert fast == [json.dumps(cli_output.entry(e)) for e in entries]


def test_subprocess_import_from_standard_input(tmp_path: Path) -> None:
    home = tmp_path / "h"
    assert run_hotcast(["init"], home).returncode == 0
    env = {**os.environ, "HOTCAST_HOME": str(home), "HOTCAST_NOW": str(NOW)}
    done = subprocess.run([sys.executable, "-m", "hotcast", "center", "import", "-"],
                          input="1,lost\n2,fraud,2030-01\n", capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["added"] == 2


@pytest.mark.parametrize("value", ["yesterday", "-5", "99999999999999999999", "253402300800"])
def test_bad_hotcast_now_exits_2_and_changes_nothing(run, populated, monkeypatch, value) -> None:
    monkeypatch.setenv("HOTCAST_NOW", value)
    before = dump_home(populated)
    code, out, err = run("revoke", "7")
    assert (code, out) == (2, "") and repr(value) in err
    assert dump_home(populated) == before


@pytest.mark.parametrize("universe", ["", "5-3", "1-99999999999999999999", "a-b", "1-5,"])
def test_bad_universe_exits_2_and_makes_no_home(run, tmp_path, universe) -> None:
    code, out, err = run("init", "--universe", universe)
    assert (code, out) == (2, "") and "universe" in err
    assert not (tmp_path / "home").exists()
