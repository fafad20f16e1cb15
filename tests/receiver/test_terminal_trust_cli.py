"""Root, center and terminal together, through the real command line (``hotcast.cli.main``):
master-key rolls, root-signed key sets that replace the signing key, root rotations, new epochs,
stale lists, and key files that stay private and unprinted.

The scenario of issue 6: only a key set the offline root signs changes what signs lists; a
terminal that has it opens the new lists, one that lacks it refuses them naming the key it
lacks, and takes them as soon as it is given the key set (in whatever order the files come).
The world (a center with a trial root beside it, three cards listed, list seq 1, and terminals
``a`` and ``b`` holding it) is built once per module and copied for each test: the center's
and root's key files cost a scrypt each time they are opened.
"""

import contextlib
import io
import json
import os
import shutil
import stat

import numpy as np
import pytest

from crypto import BundleHeader, BundleKind, CenterKeys, RootKeys, TerminalKeys, bundle_digest
from crypto import seal_bundle
from framing import HotList, Reason, Universe, encode_list
from hotcast import cli as hotcast_cli
from terminal_helpers import DAY_S, NOW, full_dump

CARDS = ["4929123412341234", "4000000000000002", "17"]
PASSPHRASE = "test"


def run(*argv):
    """``hotcast ARGV`` in process -> (exit status, JSON lines, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = hotcast_cli.main(list(argv))
    return code, [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue()


class World:
    """Commands against the homes under ``path``: ``center/``, ``center-root/``, terminals."""

    def __init__(self, path):
        self.path = path

    def file(self, name):
        return str(self.path / name)

    def center(self, *argv):
        code, lines, err = run("center", *argv, "--home", self.file("center"))
        assert code == 0, err
        return lines

    def root(self, *argv):
        code, lines, err = run("root", *argv, "--home", self.file("center-root"))
        assert code == 0, err
        return lines

    def terminal(self, name, *argv):
        return run("terminal", *argv, "--home", self.file(name))

    def apply(self, name, *files):
        return self.terminal(name, "apply", *map(self.file, files))

    def status(self, name):
        code, (status,), err = self.terminal(name, "status")
        assert code == 0, err
        return status

    def new_keyset(self, out, *request_args, new_epoch=False):
        """The center asks the root for a key set; the root signs it; the center imports it."""
        self.center("request-keyset", "--out", self.file(out + ".hcq"), *request_args)
        self.root("sign-keyset", "--request", self.file(out + ".hcq"), "--out", self.file(out),
                  *(["--new-epoch"] if new_epoch else []))
        self.center("import-trust", self.file(out))


@pytest.fixture(autouse=True)
def env(monkeypatch):
    monkeypatch.setenv("HOTCAST_NOW", str(NOW))
    monkeypatch.setenv("HOTCAST_OPERATOR", "tester")
    monkeypatch.setenv("HOTCAST_PASSPHRASE", PASSPHRASE)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    path = tmp_path_factory.mktemp("world")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOTCAST_NOW", str(NOW))
        mp.setenv("HOTCAST_OPERATOR", "tester")
        mp.setenv("HOTCAST_PASSPHRASE", PASSPHRASE)
        w = World(path)
        code, (made,), err = run("center", "init", "--home", w.file("center"))
        assert code == 0 and made["trial_root"] == w.file("center-root"), err
        assert "production root belongs offline" in err
        w.center("revoke", "--reason", "lost", *CARDS)
        w.center("build", "--out", w.file("seq1.hcb"))
        w.center("provision", "--out", w.file("t.keys"))
        for name in ("a", "b"):
            assert w.terminal(name, "init", "--keys", w.file("t.keys"))[0] == 0
            assert w.apply(name, "seq1.hcb")[0] == 0
    return path


@pytest.fixture
def world(built, tmp_path):
    shutil.copytree(built, tmp_path / "w")
    return World(tmp_path / "w")


# -- master keys --------------------------------------------------------------------------

def test_master_rotation_end_to_end(world):
    w = world
    (roll,) = w.center("rotate-master", "--out", w.file("roll.hcb"))
    assert (roll["kind"], roll["seq"], roll["new_key_id"]) == ("master_roll", 2, 2)
    w.center("revoke", "--reason", "fraud", "555")
    (built,) = w.center("build", "--out", w.file("seq2.hcb"))
    assert (built["kind"], built["seq"]) == ("full", 2)

    # Terminal a is given the list and the roll it needs, list first: apply sorts them.
    code, lines, err = w.apply("a", "seq2.hcb", "roll.hcb")
    assert code == 0, err
    assert [(x["event"], x["kind"]) for x in lines] == [("bundle_applied", "master_roll"),
                                                        ("bundle_applied", "full")]
    status = w.status("a")
    assert status["master_key_ids"] == [1, 2] and status["list_seq"] == 2
    _, (verdict,), _ = w.terminal("a", "check", "555")
    assert (verdict["verdict"], verdict["reason"], verdict["list_seq"]) == ("refuse", "fraud", 2)

    # Terminal b missed the roll: it says which key id it lacks and keeps its list.
    before = full_dump(w.path / "b")
    code, lines, err = w.apply("b", "seq2.hcb")
    assert code == 2 and "lacks master key id 2" in err
    assert lines[0]["event"] == "bundle_rejected" and "master key id 2" in lines[0]["why"]
    assert full_dump(w.path / "b") == before
    _, (verdict,), _ = w.terminal("b", "check", "555")
    assert (verdict["verdict"], verdict["list_seq"]) == ("accept", 1)

    # ... and recovers when the roll comes round again.
    code, _, err = w.apply("b", "roll.hcb", "seq2.hcb")
    assert code == 0, err
    _, (verdict,), _ = w.terminal("b", "check", "555")
    assert verdict["verdict"] == "refuse"


# -- signing keys: only a key set the root signs changes them -----------------------------

def test_a_new_signing_key_signs_only_once_the_root_signed_key_set_is_held(world):
    w = world
    stolen = CenterKeys.from_file((w.path / "center" / "center.keys").read_bytes(), PASSPHRASE)
    w.new_keyset("ks2.hcm", "--new-signing-key")
    (built,) = w.center("build", "--out", w.file("seq2.hcb"))
    assert built["seq"] == 2

    before = full_dump(w.path / "a")
    code, lines, err = w.apply("a", "seq2.hcb")
    assert code == 2 and "signing key id 2 is not in key set v1" in err
    assert full_dump(w.path / "a") == before

    code, lines, err = w.apply("a", "seq2.hcb", "ks2.hcm")  # sorted: the key set first
    assert code == 0, err
    assert [(x["kind"], x["seq"]) for x in lines] == [("key_set", 2), ("full", 2)]
    status = w.status("a")
    assert (status["key_set"], status["signing_key_ids"], status["list_seq"]) == (2, [2], 2)

    # The key the set replaced opens nothing any more: a list a thief signs with it is refused.
    with open(w.file("seq2.hcb"), "rb") as f:
        prev = bundle_digest(f.read())
    header = BundleHeader(kind=BundleKind.FULL, epoch=1, seq=3, base_seq=0, created_at=NOW,
                          valid_until=NOW + DAY_S, master_key_id=stolen.current_master_id,
                          signing_key_id=stolen.signing_key_id, prev_digest=prev)
    empty = HotList(ids=np.zeros(0, np.uint64), reasons=np.zeros(0, np.uint8),
                    expiry=np.zeros(0, np.uint16))
    body = encode_list(empty, Universe(((0, 10**19 - 1),)))
    forged = w.path / "forged.hcb"
    forged.write_bytes(seal_bundle(header, body, stolen))
    before = full_dump(w.path / "a")
    code, lines, err = w.apply("a", "forged.hcb")
    assert code == 2 and "signing key id 1 is not in key set v2" in err
    assert full_dump(w.path / "a") == before


def test_a_root_rotation_then_a_key_set_under_the_new_root(world):
    w = world
    (rotated,) = w.root("rotate", "--add-keys", "1", "--threshold", "2", "--out",
                        w.file("root2.hcm"))
    assert (rotated["root_set"], rotated["threshold"], rotated["key_ids"]) == (2, 2, [1, 2])
    w.center("import-trust", w.file("root2.hcm"))
    w.new_keyset("ks2.hcm", "--new-signing-key")
    w.center("build", "--out", w.file("seq2.hcb"))

    # The key set is signed under root set v2: without it, the terminal cannot check it.
    before = full_dump(w.path / "a")
    code, lines, err = w.apply("a", "ks2.hcm")
    assert code == 2 and "RootVersionError" in err and "root set v2" in err
    assert full_dump(w.path / "a") == before

    code, lines, err = w.apply("a", "seq2.hcb", "ks2.hcm", "root2.hcm")
    assert code == 0, err
    assert [(x["kind"], x["seq"]) for x in lines] == [("root_set", 2), ("key_set", 2),
                                                      ("full", 2)]
    status = w.status("a")
    assert (status["root_set"], status["key_set"], status["list_seq"]) == (2, 2, 2)


def test_a_root_set_that_does_not_chain_is_refused(world, tmp_path):
    w = world
    code, _, err = run("root", "init", "--home", str(tmp_path / "stranger"), "--out-pub",
                       str(tmp_path / "stranger.pub"))
    assert code == 0, err
    code, _, err = run("root", "rotate", "--home", str(tmp_path / "stranger"), "--add-keys", "1",
                       "--out", str(tmp_path / "stranger2.hcm"))
    assert code == 0, err
    before = full_dump(w.path / "a")
    code, lines, err = run("terminal", "apply", "--home", w.file("a"),
                           str(tmp_path / "stranger2.hcm"))
    assert code == 2 and lines[0]["event"] == "bundle_rejected" and "ThresholdError" in err
    assert full_dump(w.path / "a") == before


def test_a_new_epoch_waits_for_its_first_full_list(world):
    """The root's answer to a stolen key that pushed terminals to an absurd seq: a key set that
    starts a new epoch. Lists of the old epoch are refused; the terminal is stale until the
    first full list of the new one."""
    w = world
    w.new_keyset("ks2.hcm", new_epoch=True)
    (built,) = w.center("build", "--out", w.file("e2seq1.hcb"))
    assert (built["epoch"], built["seq"]) == (2, 1)
    code, lines, err = w.apply("a", "ks2.hcm")
    assert code == 0, err
    _, (verdict,), _ = w.terminal("a", "check", CARDS[0])
    assert verdict["stale"] is True and "started epoch 2" in verdict["stale_why"]
    assert w.apply("a", "e2seq1.hcb")[0] == 0
    status = w.status("a")
    assert (status["epoch"], status["list_seq"], status["stale"]) == (2, 1, False)
    code, lines, err = w.apply("a", "seq1.hcb")  # the old epoch's list
    assert code == 2 and "EpochError" in err


def test_a_terminal_provisioned_after_rotations_opens_new_bundles_directly(world):
    w = world
    w.center("rotate-master")
    w.new_keyset("ks2.hcm", "--new-signing-key")
    w.center("build", "--out", w.file("seq2.hcb"))
    w.center("provision", "--out", w.file("t2.keys"))
    code, (made,), err = w.terminal("c", "init", "--keys", w.file("t2.keys"))
    assert code == 0 and made["key_set"] == 2 and made["master_key_ids"] == [1, 2], err
    # [1, 2]: a renewal keeps the older master id in range (rolls sealed under it are on air)
    code, lines, err = w.apply("c", "seq2.hcb")
    assert code == 0 and lines[0]["seq"] == 2, err


def test_a_terminal_that_missed_a_master_roll_survives_a_key_set_renewal(world):
    w = world
    w.center("rotate-master", "--out", w.file("roll.hcb"))
    w.new_keyset("ks2.hcm")  # a plain renewal, the same signing key
    w.center("build", "--out", w.file("seq2.hcb"))
    # On air the key set goes first in the carousel; a terminal may hear it before the roll.
    assert w.apply("a", "ks2.hcm")[0] == 0
    code, _, err = w.apply("a", "roll.hcb", "seq2.hcb")
    assert code == 0, err
    assert w.status("a")["list_seq"] == 2


# -- key files and staleness --------------------------------------------------------------

def test_key_files_are_0600_and_never_printed(world):
    w = world
    w.center("rotate-master", "--out", w.file("roll.hcb"))
    w.center("provision", "--out", w.file("t.keys"))
    private = [w.path / "center" / "center.keys", w.path / "center-root" / "root.keys",
               w.path / "t.keys", w.path / "a" / "terminal.sqlite"]
    for path in private:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path
    for home in ("center", "center-root", "a"):
        assert stat.S_IMODE(os.stat(w.path / home).st_mode) == 0o700, home

    center_keys = CenterKeys.from_file(private[0].read_bytes(), PASSPHRASE)
    root_keys = RootKeys.from_file(private[1].read_bytes(), PASSPHRASE)
    secrets = ([m.key for m in center_keys.master_keys]
               + [s.seed for s in center_keys.signing_keys] + [r.seed for r in root_keys.keys])
    assert TerminalKeys.from_file(private[2].read_bytes()).master_keys  # a real key file
    outputs = [w.terminal("d", "init", "--keys", w.file("t.keys")),
               w.apply("d", "roll.hcb", "seq1.hcb"),
               w.terminal("d", "status"), w.terminal("d", "check", *CARDS)]
    outputs += [run("center", cmd, "--home", w.file("center"))
                for cmd in ("history", "audit", "carousel", "list", "status")]
    outputs += [run("root", "status", "--home", w.file("center-root"))]
    text = "".join(json.dumps(lines) + err for _, lines, err in outputs)
    for secret in secrets:
        for i in range(0, len(secret) - 8, 4):  # no 8-byte run of any key, hex or raw
            assert secret[i:i + 8].hex() not in text.lower()
    for code, _, err in outputs:
        assert code == 0, err


def test_a_stale_terminal_says_so_in_every_verdict(world, monkeypatch):
    w = world
    code, lines, _ = w.terminal("a", "check", *CARDS, "99")
    assert code == 0 and [x["stale"] for x in lines] == [False] * 4
    later = NOW + DAY_S + 1  # the list was valid for 24 h from NOW
    monkeypatch.setenv("HOTCAST_NOW", str(later))
    code, lines, _ = w.terminal("a", "check", *CARDS, "99")
    assert code == 0 and [x["stale"] for x in lines] == [True] * 4
    assert {x["stale_why"] for x in lines} == {f"the list expired at {NOW + DAY_S}"}
    assert [x["verdict"] for x in lines] == ["refuse"] * 3 + ["accept"]
    assert {x["reason"] for x in lines[:3]} == {Reason.LOST.name.lower()}
    status = w.status("a")
    assert status["stale"] is True and status["list_seq"] == 1
    # The same list again is no change (never an error); a list past its valid-until is
    # refused, so staleness cannot be papered over; a list built later is fresh again.
    code, lines, err = w.apply("a", "seq1.hcb")
    assert code == 0 and lines[0]["event"] == "bundle_unchanged", err
    w.center("build", "--out", w.file("seq2.hcb"))
    code, _, err = w.apply("a", "seq2.hcb")
    assert code == 0, err
    _, lines, _ = w.terminal("a", "check", CARDS[0])
    assert lines[0]["stale"] is False and lines[0]["list_seq"] == 2
