"""The one command runner: exit statuses, the same error form in every group, --version and help,
homes that hold one role, a closed stdout, a full disk, Ctrl-C, card IDs from standard input."""

from __future__ import annotations

import errno
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hotcast import cli
from hotcast.runner import Context, run_parsed

ROOT = Path(__file__).resolve().parents[1]
NOW = 1_790_000_000


@pytest.fixture
def env(monkeypatch, tmp_path):
    monkeypatch.setenv("HOTCAST_NOW", str(NOW))
    monkeypatch.setenv("HOTCAST_OPERATOR", "tester")
    monkeypatch.delenv("HOTCAST_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_version_and_help(env, capsys) -> None:
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.startswith("hotcast 0.")
    code, out, _ = run(capsys, "help")
    assert code == 0 and "center" in out and "receiver" in out and "root" in out
    code, out, _ = run(capsys, "help", "terminal")
    assert code == 0 and "apply" in out and "check" in out
    code, _, err = run(capsys, "help", "nothing")
    assert code == 2 and "no group 'nothing'" in err


@pytest.mark.parametrize("argv", [
    ["center", "revoke"], ["terminal", "check"], ["receiver", "decode"], ["root", "sign-keyset"],
    ["center", "frobnicate"], ["center", "build", "--ou", "x"],
])
def test_usage_errors_are_one_line_naming_the_command(env, capsys, argv) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == "" and len(err.splitlines()) == 1
    assert err.startswith("hotcast ") and "(see `hotcast" in err


def test_no_abbreviated_options(env, capsys) -> None:
    code, _, err = run(capsys, "center", "init", "--univ", "1-5")
    assert code == 2 and "unrecognized arguments: --univ" in err


def test_a_home_of_another_role_is_refused(env, capsys) -> None:
    assert run(capsys, "center", "init", "--home", "c")[0] == 0
    assert run(capsys, "center", "provision", "--home", "c", "--out", "t.keys")[0] == 0
    code, _, err = run(capsys, "terminal", "init", "--home", "c", "--keys", "t.keys")
    assert code == 2 and "c is a center home" in err and "needs a terminal home" in err
    assert run(capsys, "terminal", "init", "--home", "t", "--keys", "t.keys")[0] == 0
    code, _, err = run(capsys, "center", "revoke", "--home", "t", "5")
    assert code == 2 and "t is a terminal home" in err
    code, _, err = run(capsys, "root", "status", "--home", "t")
    assert code == 2 and "t is a terminal home" in err


def test_a_home_others_can_read_is_refused(env, capsys) -> None:
    assert run(capsys, "center", "init", "--home", "c")[0] == 0
    os.chmod("c", 0o755)
    code, _, err = run(capsys, "center", "list", "--home", "c")
    assert code == 2 and "mode 0755" in err and "chmod 700 c" in err


def test_card_ids_from_standard_input_are_echoed_as_given(env, capsys, monkeypatch) -> None:
    assert run(capsys, "center", "init", "--home", "c")[0] == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO("0000017\n 18, 19\n"))
    assert run(capsys, "center", "revoke", "--home", "c", "-")[0] == 0
    assert run(capsys, "center", "build", "--home", "c", "--out", "l.hcb")[0] == 0
    assert run(capsys, "center", "provision", "--home", "c", "--out", "t.keys")[0] == 0
    assert run(capsys, "terminal", "init", "--home", "t", "--keys", "t.keys")[0] == 0
    assert run(capsys, "terminal", "apply", "--home", "t", "l.hcb")[0] == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO("017\n20\n"))
    code, out, _ = run(capsys, "terminal", "check", "--home", "t", "-", "19")
    lines = [json.loads(x) for x in out.splitlines()]
    assert [(x["card"], x["verdict"]) for x in lines] == [
        ("017", "refuse"), ("20", "accept"), ("19", "refuse")]


def test_the_same_bad_card_id_message_in_every_group(env, capsys) -> None:
    assert run(capsys, "center", "init", "--home", "c")[0] == 0
    assert run(capsys, "center", "provision", "--home", "c", "--out", "t.keys")[0] == 0
    assert run(capsys, "terminal", "init", "--home", "t", "--keys", "t.keys")[0] == 0
    _, _, center_err = run(capsys, "center", "revoke", "--home", "c", "12x")
    _, _, terminal_err = run(capsys, "terminal", "check", "--home", "t", "12x")
    wording = "bad card ID '12x': a card ID is 1 to 19 decimal digits"
    assert wording in center_err and wording in terminal_err


def test_a_full_disk_is_named_and_exits_1(env, capsys) -> None:
    def full(args, ctx):
        raise OSError(errno.ENOSPC, "No space left on device", "out.wav")

    args = cli.build_parser().parse_args(["center", "list"])
    stderr = io.StringIO()
    assert run_parsed(args, Context("hotcast center list", stderr=stderr), full) == 1
    assert "disk full writing 'out.wav'" in stderr.getvalue()


def test_ctrl_c_exits_130_with_one_line(env) -> None:
    def interrupted(args, ctx):
        raise KeyboardInterrupt

    args = cli.build_parser().parse_args(["center", "list"])
    stderr = io.StringIO()
    assert run_parsed(args, Context("hotcast center list", stderr=stderr), interrupted) == 130
    assert stderr.getvalue() == "hotcast center list: interrupted\n"


def test_a_closed_stdout_stops_the_printing_not_the_command(env) -> None:
    subprocess.run([sys.executable, "-m", "hotcast", "center", "init", "--home", "c"],
                   check=True, capture_output=True, cwd=env)
    cards = "\n".join(str(i) for i in range(1, 5001)).encode()
    subprocess.run([sys.executable, "-m", "hotcast", "center", "revoke", "--home", "c", "-"],
                   input=cards, check=True, capture_output=True, cwd=env)
    done = subprocess.run(f"{sys.executable} -m hotcast center list --home c | head -n 2",
                          shell=True, capture_output=True, cwd=env, text=True)
    assert len(done.stdout.splitlines()) == 2 and "Traceback" not in done.stderr
    assert "BrokenPipe" not in done.stderr


def test_subprocess_sigint_exits_130(env) -> None:
    """A long decode from a pipe that never ends: Ctrl-C stops it with the summary, exit 0 (the
    contract: an interrupted decode read its input as far as it went); other commands 130."""
    proc = subprocess.Popen([sys.executable, "-c",
                             "import time, sys\n"
                             "from hotcast import cli\n"
                             "from hotcast.runner import Context, run_parsed\n"
                             "args = cli.build_parser().parse_args(['center', 'list'])\n"
                             "def slow(a, c):\n"
                             "    print('ready', flush=True); time.sleep(60)\n"
                             "sys.exit(run_parsed(args, Context('hotcast center list'), slow))\n"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, text=True)
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and err == "hotcast center list: interrupted\n"


def test_audit_filters_by_card_time_and_action(env, capsys) -> None:
    assert run(capsys, "center", "init", "--home", "c")[0] == 0
    assert run(capsys, "center", "revoke", "--home", "c", "5", "6")[0] == 0
    assert run(capsys, "center", "reinstate", "--home", "c", "5")[0] == 0
    code, out, _ = run(capsys, "center", "audit", "--home", "c", "--card", "5")
    rows = [json.loads(x) for x in out.splitlines()]
    assert [(r["action"], r["card"]) for r in rows] == [("revoke", "5"), ("reinstate", "5")]
    assert rows[0]["at_utc"] == "2026-09-21T14:13:20Z"
    code, out, _ = run(capsys, "center", "audit", "--home", "c", "--action", "init")
    assert [json.loads(x)["action"] for x in out.splitlines()] == ["init"]
    code, out, _ = run(capsys, "center", "audit", "--home", "c", "--since", "2027-01-01")
    assert out == ""
    code, _, err = run(capsys, "center", "audit", "--home", "c", "--since", "soon")
    assert code == 2 and "bad time 'soon'" in err


def test_center_status_says_what_is_on_air_and_warns(env, capsys) -> None:
    assert run(capsys, "center", "init", "--home", "c")[0] == 0
    code, out, err = run(capsys, "center", "status", "--home", "c", "--no-table")
    status = json.loads(out)
    assert status["full_seq"] is None and "no full list built yet" in err
    assert run(capsys, "center", "revoke", "--home", "c", "--reason", "lost", "5")[0] == 0
    assert run(capsys, "center", "build", "--home", "c", "--out", "l.hcb", "--valid-hours",
               "0.5")[0] == 0
    code, out, err = run(capsys, "center", "status", "--home", "c", "--no-table")
    status = json.loads(out)
    assert status["entries_by_reason"] == {"lost": 1} and status["full_seq"] == 1
    assert status["full_expires_in_s"] == 1800 and "expires in 1800 s" in err
    assert {b["kind"] for b in status["on_air"]} == {"key_set", "full"}
    assert 0 < status["cycle_s"] < 5 and status["now_utc"] == "2026-09-21T14:13:20Z"
    code, out, _ = run(capsys, "center", "status", "--home", "c", "--table")
    assert "full list" in out and "WARNING" in out
