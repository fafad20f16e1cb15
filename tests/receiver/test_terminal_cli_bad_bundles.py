"""Issue 2's "bad input, each with a test", for bundle files, through the real command line.

Every bad bundle file given to ``hotcast terminal apply`` must give exit status 2, a
``bundle_rejected`` JSON line and one message on stderr that names the file and what was
wrong, and leave the store exactly as it was (full SQL dump, before == after). The calls go
through ``hotcast.cli.main`` (the console script's entry) in process, with ``$HOTCAST_NOW``
fixing the clock; one test runs the installed ``hotcast`` script itself in a subprocess.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crypto import SEAL_OVERHEAD_BYTES, provision, roll_master_key
from crypto import _primitives
from crypto.envelope import DOMAIN
from framing import diff, encode_list
from hotcast import cli as hotcast_cli
from terminal_helpers import DAY_S, NOW, UNIVERSE, delta_bundle, full_bundle, full_dump, make_hot

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
def t_home(tmp_path, center, capsys, clock):
    """A terminal home (through the CLI) holding OLD at seq 5."""
    keys = tmp_path / "t.keys"
    keys.write_bytes(provision(center).to_bytes())
    home = tmp_path / "t"
    assert run(capsys, "terminal", "init", "--home", str(home), "--keys", str(keys))[0] == 0
    good = tmp_path / "seq5.hcb"
    good.write_bytes(full_bundle(center, OLD, seq=STORE_SEQ))
    assert run(capsys, "terminal", "apply", "--home", str(home), str(good))[0] == 0
    return home


def refused(capsys, home, path, *needles):
    """Apply ``path``; assert exit 2, a rejection line, ``needles`` in stderr, store unchanged."""
    before = full_dump(home)
    code, lines, err = run(capsys, "terminal", "apply", "--home", str(home), str(path))
    assert code == 2, err
    assert [line["event"] for line in lines] == ["bundle_rejected"]
    assert len(err.splitlines()) == 1 and str(path) in err and "rejected" in err
    for needle in needles:
        assert needle in err, (needle, err)
    assert full_dump(home) == before
    return err


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_truncated_bundle_files(t_home, tmp_path, center, capsys):
    data = full_bundle(center, NEW, seq=6)
    for cut in (0, 1, 48, 180, len(data) // 2, len(data) - 1):
        err = refused(capsys, t_home, write(tmp_path, f"cut{cut}.hcb", data[:cut]),
                      "BundleFormatError")
        assert ("shorter than" in err) or ("truncated or padded" in err)


def test_padded_bundle_files(t_home, tmp_path, center, capsys):
    data = full_bundle(center, NEW, seq=6)
    for n, pad in enumerate((b"\0", b"\n", bytes(64), b"x" * 4096)):
        refused(capsys, t_home, write(tmp_path, f"pad{n}.hcb", data + pad),
                "BundleFormatError", "truncated or padded")


FLIP_DATA = {}  # one sealed bundle for every example (sealing per example would dominate)
# Its length is known before sealing (GCM does not expand), so positions span every bit.
FLIP_BITS = 8 * (SEAL_OVERHEAD_BYTES + len(encode_list(NEW, UNIVERSE)))

# Which refusal a flip gives depends on where it lands: framing fields are checked first
# (magic, version, kind, lengths), then the signer's key id, then the signature over all.
FLIP_ERRORS = ("BundleFormatError", "SignatureError", "UnknownSigningKeyError")


@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bit=st.integers(min_value=0, max_value=FLIP_BITS - 1))
def test_any_single_bit_flip_is_refused(t_home, tmp_path, center, capsys, bit):
    data = FLIP_DATA.setdefault("full", full_bundle(center, NEW, seq=6))
    assert len(data) * 8 == FLIP_BITS
    flipped = bytearray(data)
    flipped[bit // 8] ^= 1 << (bit % 8)
    err = refused(capsys, t_home, write(tmp_path, "flip.hcb", bytes(flipped)))
    assert any(name in err for name in FLIP_ERRORS), err


def test_resigned_with_another_key(t_home, tmp_path, center, other_center, capsys):
    data = full_bundle(center, NEW, seq=6)
    body = data[:-SIG_BYTES]
    resigned = body + _primitives.ed25519_sign(other_center.signing_seed, DOMAIN + body)
    refused(capsys, t_home, write(tmp_path, "resigned.hcb", resigned),
            "SignatureError", "does not verify under signing key id 1")


def test_made_by_another_center(t_home, tmp_path, other_center, capsys):
    refused(capsys, t_home, write(tmp_path, "other.hcb", full_bundle(other_center, NEW, seq=6)),
            "SignatureError")


def test_made_with_an_unknown_master_key(t_home, tmp_path, center, capsys):
    rolled, _ = roll_master_key(center, 100, NOW, NOW + DAY_S)  # the roll never reaches it
    refused(capsys, t_home, write(tmp_path, "newkey.hcb", full_bundle(rolled, NEW, seq=6)),
            "UnknownMasterKeyError", f"lacks master key id {rolled.current_master_id}")


def test_replayed_older_sequence(t_home, tmp_path, center, capsys):
    refused(capsys, t_home, write(tmp_path, "old.hcb", full_bundle(center, NEW, seq=4)),
            "RollbackError", "seq 4 is older than the store's seq 5")


def test_delta_on_the_wrong_base_names_the_needed_seq(t_home, tmp_path, center, capsys):
    data = delta_bundle(center, diff(OLD, NEW), seq=8, base_seq=7)
    refused(capsys, t_home, write(tmp_path, "delta.hcb", data),
            "DeltaBaseError", "needs base seq 7", "store is at seq 5")


def test_expired_bundle(t_home, tmp_path, center, capsys):
    data = full_bundle(center, NEW, seq=6, created_at=NOW - 2 * DAY_S, valid_until=NOW - 1)
    refused(capsys, t_home, write(tmp_path, "expired.hcb", data),
            "ExpiredBundleError", f"expired at {NOW - 1}")


def test_a_good_bundle_after_all_that_still_applies(t_home, tmp_path, center, capsys):
    """The refusals above are not a broken store refusing everything."""
    path = write(tmp_path, "delta.hcb", delta_bundle(center, diff(OLD, NEW), seq=6, base_seq=5))
    code, lines, _ = run(capsys, "terminal", "apply", "--home", str(t_home), str(path))
    assert code == 0 and lines[0]["event"] == "bundle_applied" and lines[0]["entries"] == len(NEW)


@pytest.mark.parametrize("value", ["yesterday", "99999999999999999999"])
def test_bad_hotcast_now_is_a_usage_error(t_home, capsys, monkeypatch, value):
    monkeypatch.setenv("HOTCAST_NOW", value)
    code, lines, err = run(capsys, "terminal", "status", "--home", str(t_home))
    assert code == 2 and lines == [] and repr(value) in err


def test_the_installed_script_exits_2(t_home, tmp_path, center):
    """The console script itself, in a fresh process: exit 2, store unchanged."""
    script = Path(sys.executable).with_name("hotcast")
    assert script.exists(), script
    before = full_dump(t_home)
    old = write(tmp_path, "old.hcb", full_bundle(center, NEW, seq=3))
    cut = write(tmp_path, "cut.hcb", full_bundle(center, NEW, seq=6)[:-7])
    env = {**os.environ, "HOTCAST_NOW": str(NOW)}
    for path, named in ((old, "RollbackError"), (cut, "truncated or padded")):
        done = subprocess.run([str(script), "terminal", "apply", "--home", str(t_home),
                               str(path)], capture_output=True, text=True, env=env, timeout=120)
        assert done.returncode == 2 and named in done.stderr, done.stderr
    done = subprocess.run([str(script), "terminal", "check", "--home", str(t_home), "12x"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2 and "'12x'" in done.stderr and done.stdout == ""
    assert full_dump(t_home) == before


def test_endless_bundle_file_is_refused_reading_no_more_than_the_limit(t_home, tmp_path, capsys):
    """A 4 GiB (sparse) file: refused by size after reading at most the limit plus one byte."""
    import tracemalloc

    from crypto import MAX_BUNDLE_BYTES

    huge = tmp_path / "huge.hcb"
    with open(huge, "wb") as f:
        f.truncate(4 * 2**30)
    tracemalloc.start()
    try:
        err = refused(capsys, t_home, huge, "BundleFormatError", "above the")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * MAX_BUNDLE_BYTES, peak
    assert f"{MAX_BUNDLE_BYTES}-byte limit" in err
