"""Center and terminal together, through the real command line (``hotcast.cli.main``):
key rotation in the field, stale lists, key files that stay private and unprinted.

The scenario of issue 2: the center rolls a key and builds with the new one; a terminal that
applied the roll opens the new bundles, one that missed it refuses them naming the key id it
lacks, and recovers as soon as it hears the roll.
"""

import json
import os
import stat

import pytest

from crypto import CenterKeys, TerminalKeys
from framing import Reason
from hotcast import cli as hotcast_cli
from terminal_helpers import DAY_S, NOW, full_dump

CARDS = ["4929123412341234", "4000000000000002", "17"]


def run(capsys, *argv):
    code = hotcast_cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


@pytest.fixture
def world(tmp_path, capsys, monkeypatch):
    """A center with three cards listed and full bundle seq 1, and two terminals that hold it."""
    monkeypatch.setenv("HOTCAST_NOW", str(NOW))
    monkeypatch.setenv("HOTCAST_OPERATOR", "tester")
    c = str(tmp_path / "center")

    def center(*argv):
        code, lines, err = run(capsys, "center", *argv, "--home", c)
        assert code == 0, err
        return lines

    def terminal(name, *argv):
        return run(capsys, "terminal", *argv, "--home", str(tmp_path / name))

    center("init")
    center("revoke", "--reason", "lost", *CARDS)
    center("build", "--out", str(tmp_path / "seq1.hcb"))
    center("provision", "--out", str(tmp_path / "t.keys"))
    for name in ("a", "b"):
        assert terminal(name, "init", "--keys", str(tmp_path / "t.keys"))[0] == 0
        assert terminal(name, "apply", str(tmp_path / "seq1.hcb"))[0] == 0
    return tmp_path, center, terminal


def test_master_rotation_end_to_end(world):
    tmp_path, center, terminal = world
    (roll,) = center("rotate-master", "--out", str(tmp_path / "roll.hcb"))
    assert (roll["seq"], roll["kind"], roll["new_key_id"]) == (2, "master_roll", 2)
    center("revoke", "--reason", "fraud", "555")
    (built,) = center("build", "--out", str(tmp_path / "seq3.hcb"))
    assert built["seq"] == 3

    # Terminal a hears the roll first, then the list sealed under master key 2.
    code, lines, err = terminal("a", "apply", str(tmp_path / "roll.hcb"), str(tmp_path / "seq3.hcb"))
    assert code == 0, err
    assert [(x["event"], x["kind"]) for x in lines] == [("bundle_applied", "master_roll"),
                                                        ("bundle_applied", "full")]
    _, (status,), _ = terminal("a", "status")
    assert status["master_key_ids"] == [1, 2] and status["list_seq"] == 3
    _, (verdict,), _ = terminal("a", "check", "555")
    assert (verdict["verdict"], verdict["reason"], verdict["list_seq"]) == ("refuse", "fraud", 3)

    # Terminal b missed the roll: it says which key id it lacks and keeps its list.
    home_b = tmp_path / "b"
    before = full_dump(home_b)
    code, lines, err = terminal("b", "apply", str(tmp_path / "seq3.hcb"))
    assert code == 2 and "lacks master key id 2" in err
    assert lines[0]["event"] == "bundle_rejected" and "master key id 2" in lines[0]["why"]
    assert full_dump(home_b) == before
    _, (verdict,), _ = terminal("b", "check", "555")
    assert (verdict["verdict"], verdict["list_seq"]) == ("accept", 1)

    # ... and recovers when the roll comes round on the carousel again.
    code, _, err = terminal("b", "apply", str(tmp_path / "roll.hcb"), str(tmp_path / "seq3.hcb"))
    assert code == 0, err
    _, (verdict,), _ = terminal("b", "check", "555")
    assert verdict["verdict"] == "refuse"


def test_signer_rotation_end_to_end(world):
    tmp_path, center, terminal = world
    (roll,) = center("rotate-signing", "--out", str(tmp_path / "sroll.hcb"))
    assert (roll["kind"], roll["new_key_id"]) == ("signer_roll", 2)
    center("build", "--out", str(tmp_path / "seq3.hcb"))

    code, _, err = terminal("a", "apply", str(tmp_path / "seq3.hcb"))
    assert code == 2 and "lacks signing key id 2" in err
    code, _, err = terminal("a", "apply", str(tmp_path / "sroll.hcb"), str(tmp_path / "seq3.hcb"))
    assert code == 0, err
    _, (status,), _ = terminal("a", "status")
    assert status["signing_key_ids"] == [1, 2] and status["list_seq"] == 3


def test_a_terminal_provisioned_after_rotations_opens_new_bundles_directly(world):
    tmp_path, center, terminal = world
    center("rotate-master")
    center("rotate-signing")
    center("build", "--out", str(tmp_path / "seq4.hcb"))
    center("provision", "--out", str(tmp_path / "t2.keys"))
    assert terminal("c", "init", "--keys", str(tmp_path / "t2.keys"))[0] == 0
    code, lines, err = terminal("c", "apply", str(tmp_path / "seq4.hcb"))
    assert code == 0 and lines[0]["seq"] == 4, err


def test_key_files_are_0600_and_never_printed(world, capsys):
    tmp_path, center, terminal = world
    center("rotate-master", "--out", str(tmp_path / "roll.hcb"))
    center("provision", "--out", str(tmp_path / "t.keys"))
    private = [tmp_path / "center" / "center.keys", tmp_path / "t.keys",
               tmp_path / "a" / "terminal.sqlite"]
    for path in private:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path
    assert stat.S_IMODE(os.stat(tmp_path / "a").st_mode) == 0o700

    center_keys = CenterKeys.from_bytes(private[0].read_bytes())
    secrets = [m.key for m in center_keys.master_keys] + [center_keys.signing_seed]
    assert TerminalKeys.from_bytes(private[1].read_bytes()).master_keys  # a real key file
    outputs = [terminal("d", "init", "--keys", str(tmp_path / "t.keys")),
               terminal("d", "apply", str(tmp_path / "roll.hcb"), str(tmp_path / "seq1.hcb")),
               terminal("d", "status"), terminal("d", "check", *CARDS)]
    outputs += [run(capsys, "center", cmd, "--home", str(tmp_path / "center"))
                for cmd in ("history", "audit", "carousel", "list")]
    text = "".join(json.dumps(lines) + err for _, lines, err in outputs)
    for secret in secrets:
        for i in range(0, len(secret) - 8, 4):  # no 8-byte run of any key, hex or base64-ish
            assert secret[i:i + 8].hex() not in text.lower()
    for code, _, err in outputs:
        assert code == 0, err


def test_a_stale_terminal_says_so_in_every_verdict(world, monkeypatch):
    tmp_path, center, terminal = world
    code, lines, _ = terminal("a", "check", *CARDS, "99")
    assert code == 0 and [x["stale"] for x in lines] == [False] * 4
    later = str(NOW + DAY_S + 1)  # the bundle was valid for 24 h from NOW
    monkeypatch.setenv("HOTCAST_NOW", later)
    code, lines, _ = terminal("a", "check", *CARDS, "99")
    assert code == 0 and [x["stale"] for x in lines] == [True] * 4
    assert [x["verdict"] for x in lines] == ["refuse"] * 3 + ["accept"]
    assert {x["reason"] for x in lines[:3]} == {Reason.LOST.name.lower()}
    _, (status,), _ = terminal("a", "status")
    assert status["stale"] is True and status["list_seq"] == 1
    # A bundle past its valid-until is refused, so staleness cannot be papered over.
    code, _, err = terminal("a", "apply", str(tmp_path / "seq1.hcb"))
    assert code == 0  # same seq: a no-op, never an error
    center("build", "--out", str(tmp_path / "seq2.hcb"))  # built "later": fresh again
    code, _, err = terminal("a", "apply", str(tmp_path / "seq2.hcb"))
    assert code == 0, err
    _, lines, _ = terminal("a", "check", CARDS[0])
    assert lines[0]["stale"] is False and lines[0]["list_seq"] == 2
