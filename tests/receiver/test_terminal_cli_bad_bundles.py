"""Issue 2's and issue 6's "bad input, each with a test", for files, through the real command line.

Every bad file given to ``hotcast terminal apply`` must give exit status 2, a
``bundle_rejected`` JSON line and one message on stderr that names the file and what was
wrong, and leave the store exactly as it was (full SQL dump, before == after). A genuine list
older than the one held is not bad input: it is ``bundle_unchanged``, exit 0. The calls go
through ``hotcast.cli.main`` (the console script's entry) in process, with ``$HOTCAST_NOW``
fixing the clock; one test runs the installed ``hotcast`` script itself in a subprocess.
Bundles come from the simulated center (``tests/simcenter.py``).
"""

import os
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crypto import SEAL_OVERHEAD_BYTES, _primitives
from crypto.envelope import DOMAIN
from framing import encode_list
from hotcast import cli as hotcast_cli
from terminal_helpers import DAY_S, NOW, UNIVERSE, full_dump, make_hot

OLD = make_hot(40, seed=61)
NEW = make_hot(40, seed=62)
STORE_SEQ = 5
SIG_BYTES = _primitives.ED25519_SIGNATURE_BYTES


def run(capsys, *argv):
    code = hotcast_cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


@pytest.fixture
def clock(monkeypatch):
    monkeypatch.setenv("HOTCAST_NOW", str(NOW))


@pytest.fixture
def t_home(tmp_path, sim, capsys, clock):
    """A terminal home (through the CLI) holding OLD at seq 5."""
    keys = tmp_path / "t.keys"
    keys.write_bytes(sim.terminal_keys().to_file())
    home = tmp_path / "t"
    assert run(capsys, "terminal", "init", "--home", str(home), "--keys", str(keys))[0] == 0
    good = tmp_path / "seq5.hcb"
    good.write_bytes(sim.full(OLD, seq=STORE_SEQ))
    assert run(capsys, "terminal", "apply", "--home", str(home), str(good))[0] == 0
    return home


def refused(capsys, home, path, *needles):
    """Apply ``path``; assert exit 2, a rejection line, ``needles`` in stderr, store unchanged."""
    before = full_dump(home)
    code, lines, err = run(capsys, "terminal", "apply", "--home", str(home), str(path))
    assert code == 2, err
    assert [line["event"] for line in lines] == ["bundle_rejected"]
    assert len(err.splitlines()) == 1 and str(path) in err and "refused" in err
    for needle in needles:
        assert needle in err, (needle, err)
        assert needle in lines[0]["why"], (needle, lines[0])
    assert full_dump(home) == before
    return err


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return path


# -- broken files -------------------------------------------------------------------------

def test_truncated_bundle_files(t_home, tmp_path, sim, capsys):
    data = sim.full(NEW, seq=6)
    for cut in (0, 1, 48, 180, len(data) // 2, len(data) - 1):
        err = refused(capsys, t_home, write(tmp_path, f"cut{cut}.hcb", data[:cut]),
                      "BundleFormatError")
        assert ("shorter than" in err) or ("truncated or padded" in err)


def test_padded_bundle_files(t_home, tmp_path, sim, capsys):
    data = sim.full(NEW, seq=6)
    for n, pad in enumerate((b"\0", b"\n", bytes(64), b"x" * 4096)):
        refused(capsys, t_home, write(tmp_path, f"pad{n}.hcb", data + pad),
                "BundleFormatError", "truncated or padded")


FLIP_DATA = {}  # one sealed bundle for every example (sealing per example would dominate)
# Its length is known before sealing (GCM does not expand), so positions span every bit.
FLIP_BITS = 8 * (SEAL_OVERHEAD_BYTES + len(encode_list(NEW, UNIVERSE)))

# Which refusal a flip gives depends on where it lands: framing fields are checked first
# (magic, version, kind, lengths, header values), then the signer's key id and its validity
# at the claimed created_at, then the signature over all.
FLIP_ERRORS = ("BundleFormatError", "SignatureError", "UnknownSigningKeyError", "RetiredKeyError")


@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bit=st.integers(min_value=0, max_value=FLIP_BITS - 1))
def test_any_single_bit_flip_is_refused(t_home, tmp_path, sim, capsys, bit):
    data = FLIP_DATA.setdefault("full", sim.full(NEW, seq=6, record=False))
    assert len(data) * 8 == FLIP_BITS
    flipped = bytearray(data)
    flipped[bit // 8] ^= 1 << (bit % 8)
    err = refused(capsys, t_home, write(tmp_path, "flip.hcb", bytes(flipped)))
    assert any(name in err for name in FLIP_ERRORS), err


def test_endless_bundle_file_is_refused_reading_no_more_than_the_limit(t_home, tmp_path, capsys):
    """A 4 GiB (sparse) file: refused by size after reading at most the limit plus one byte.
    The memory is measured in a fresh interpreter: tracemalloc counts every thread, and a
    thread another test left behind (a server, a reader) must not count here."""
    from crypto import MAX_BUNDLE_BYTES

    huge = tmp_path / "huge.hcb"
    with open(huge, "wb") as f:
        f.truncate(4 * 2**30)
    err = refused(capsys, t_home, huge, "BundleFormatError", "above the")
    assert f"{MAX_BUNDLE_BYTES}-byte limit" in err
    code = (
        "import sys, tracemalloc\n"
        "from hotcast import cli\n"
        "tracemalloc.start()\n"
        "status = cli.main(['terminal', 'apply', '--home', sys.argv[1], sys.argv[2]])\n"
        "print(status, tracemalloc.get_traced_memory()[1], file=sys.stderr)\n"
    )
    repo = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code, str(t_home), str(huge)],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(repo)})
    status, peak = map(int, done.stderr.strip().splitlines()[-1].split())
    assert status == 2 and peak < 2 * MAX_BUNDLE_BYTES, (peak, done.stderr)


# -- not ours -----------------------------------------------------------------------------

def test_resigned_with_another_key(t_home, tmp_path, sim, other_sim, capsys):
    data = sim.full(NEW, seq=6)
    body = data[:-SIG_BYTES]
    resigned = body + _primitives.ed25519_sign(other_sim.keys.signing_key.seed, DOMAIN + body)
    refused(capsys, t_home, write(tmp_path, "resigned.hcb", resigned),
            "SignatureError", "does not verify under signing key id 1")


def test_made_by_another_center(t_home, tmp_path, other_sim, capsys):
    refused(capsys, t_home, write(tmp_path, "other.hcb", other_sim.full(NEW, seq=6)),
            "SignatureError")


def test_a_key_set_of_another_root(t_home, tmp_path, other_sim, capsys):
    refused(capsys, t_home, write(tmp_path, "other.hcm", other_sim.replace_signing_key()),
            "ThresholdError")


def test_made_with_an_unknown_master_key(t_home, tmp_path, sim, capsys):
    sim.roll_master()  # the roll never reaches this terminal
    refused(capsys, t_home, write(tmp_path, "newkey.hcb", sim.full(NEW, seq=6)),
            "UnknownMasterKeyError", f"lacks master key id {sim.keys.current_master_id}")


def test_signed_with_a_key_the_key_set_does_not_list(t_home, tmp_path, sim, capsys):
    sim.replace_signing_key()  # the new key set never reaches this terminal
    refused(capsys, t_home, write(tmp_path, "newsigner.hcb", sim.full(NEW, seq=6)),
            "UnknownSigningKeyError", "signing key id 2 is not in key set v1")


# -- genuine, refused by the signed-update rules ------------------------------------------

def test_a_replayed_older_sequence_is_unchanged_not_applied(t_home, tmp_path, sim, capsys):
    path = write(tmp_path, "old.hcb", sim.full(NEW, seq=4, record=False))
    before = full_dump(t_home)
    code, lines, err = run(capsys, "terminal", "apply", "--home", str(t_home), str(path))
    assert code == 0, err
    assert [(x["event"], x["seq"]) for x in lines] == [("bundle_unchanged", 4)]
    assert "seq 4 is older than the store's seq 5" in lines[0]["why"]
    assert full_dump(t_home) == before


def test_another_list_for_the_seq_held_is_a_fork(t_home, tmp_path, sim, capsys):
    fork = sim.full(NEW, seq=STORE_SEQ, record=False)
    refused(capsys, t_home, write(tmp_path, "fork.hcb", fork), "ForkError", "epoch 1 seq 5",
            "forked")


def test_a_list_whose_chain_does_not_meet_the_one_held_is_a_fork(t_home, tmp_path, sim, capsys):
    data = sim.full(NEW, prev=bytes(32))  # seq 6 naming no list at all
    refused(capsys, t_home, write(tmp_path, "unchained.hcb", data), "ForkError",
            "hash chain does not meet")


def test_delta_on_the_wrong_base_names_the_needed_seq(t_home, tmp_path, sim, capsys):
    sim.full(NEW)  # seq 6, missed
    data = sim.delta(OLD, base=6)  # seq 7
    refused(capsys, t_home, write(tmp_path, "delta.hcb", data),
            "DeltaBaseError", "needs a list from seq 6 on", "store is at seq 5")


def test_expired_bundle(t_home, tmp_path, sim, capsys):
    data = sim.full(NEW, now=NOW - DAY_S + 10, valid_for=60)
    refused(capsys, t_home, write(tmp_path, "expired.hcb", data),
            "ExpiredBundleError", f"expired at {NOW - DAY_S + 70}")


def test_a_list_of_an_epoch_the_key_set_left_behind(t_home, tmp_path, sim, capsys):
    old_epoch = sim.full(NEW, record=False)  # epoch 1 seq 6
    path = write(tmp_path, "ks.hcm", sim.sign_keyset(sim._request(), new_epoch=True))
    code, _, err = run(capsys, "terminal", "apply", "--home", str(t_home), str(path))
    assert code == 0, err
    refused(capsys, t_home, write(tmp_path, "epoch1.hcb", old_epoch), "EpochError",
            "key set v2 started epoch 2")


def test_a_replayed_older_key_set(t_home, tmp_path, sim, capsys):
    first = sim.keyset_bytes
    path = write(tmp_path, "ks2.hcm", sim.replace_signing_key())
    assert run(capsys, "terminal", "apply", "--home", str(t_home), str(path))[0] == 0
    refused(capsys, t_home, write(tmp_path, "ks1.hcm", first), "ReplayError",
            "not newer than the current key set v2")


def test_a_good_bundle_after_all_that_still_applies(t_home, tmp_path, sim, capsys):
    """The refusals above are not a broken store refusing everything."""
    path = write(tmp_path, "delta.hcb", sim.delta(NEW, base=STORE_SEQ))
    code, lines, _ = run(capsys, "terminal", "apply", "--home", str(t_home), str(path))
    assert code == 0 and lines[0]["event"] == "bundle_applied" and lines[0]["entries"] == len(NEW)


# -- the command line itself --------------------------------------------------------------

@pytest.mark.parametrize("value", ["yesterday", "99999999999999999999"])
def test_bad_hotcast_now_is_a_usage_error(t_home, capsys, monkeypatch, value):
    monkeypatch.setenv("HOTCAST_NOW", value)
    code, lines, err = run(capsys, "terminal", "status", "--home", str(t_home))
    assert code == 2 and lines == [] and repr(value) in err


def test_the_installed_script_exits_2(t_home, tmp_path, sim, other_sim):
    """The console script itself, in a fresh process: exit 2, store unchanged."""
    script = Path(sys.executable).with_name("hotcast")
    assert script.exists(), script
    before = full_dump(t_home)
    other = write(tmp_path, "other.hcb", other_sim.full(NEW, seq=6))
    cut = write(tmp_path, "cut.hcb", sim.full(NEW, seq=6)[:-7])
    env = {**os.environ, "HOTCAST_NOW": str(NOW)}
    done = subprocess.run([str(script), "terminal", "apply", "--home", str(t_home), str(other),
                           str(cut)], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2 and "2 of 2 file(s) refused" in done.stderr, done.stderr
    whys = {line["file"]: line["why"] for line in map(json.loads, done.stdout.splitlines())}
    assert "SignatureError" in whys[str(other)] and "truncated or padded" in whys[str(cut)]
    done = subprocess.run([str(script), "terminal", "check", "--home", str(t_home), "12x"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2 and "'12x'" in done.stderr and done.stdout == ""
    assert full_dump(t_home) == before
