"""A process killed at any instant during an apply leaves the store at the old list or
the new one, never between: real processes, SIGKILL at seeded random delays."""

import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from crypto import provision
from receiver.store import STORE_FILE_NAME, TerminalStore
from terminal_helpers import NOW, full_bundle, make_hot

# The child opens the store, says "go" on stdout, then applies: the parent times its
# kill from "go", so the delays land on the apply and not on interpreter start-up.
CHILD = """
import sys
from receiver.store import TerminalStore
home, bundle, now = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = open(bundle, "rb").read()
store = TerminalStore.open(home)
sys.stdout.write("go\\n"); sys.stdout.flush()
store.apply_bundle(data, now)
store.close()
sys.stdout.write("done\\n"); sys.stdout.flush()
"""


def _spawn(home, bundle):
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(home), str(bundle), str(NOW)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "go\n"
    return proc


def _kill_loop(tmp_path, center, n_entries, kills, seed):
    old, new = make_hot(n_entries, seed=seed), make_hot(n_entries, seed=seed + 1)
    base = tmp_path / "base"
    with TerminalStore.create(base, provision(center)) as store:
        store.apply_bundle(full_bundle(center, old, seq=1), NOW)
    bundle = tmp_path / "new.bundle"
    bundle.write_bytes(full_bundle(center, new, seq=2))

    def fresh_home(i):
        home = tmp_path / f"run{i}"
        home.mkdir(mode=0o700)
        shutil.copy2(base / STORE_FILE_NAME, home / STORE_FILE_NAME)
        return home

    # One unkilled run measures how long the apply takes after "go".
    proc = _spawn(fresh_home("timing"), bundle)
    start = time.monotonic()
    assert proc.stdout.readline() == "done\n"
    apply_s = time.monotonic() - start
    assert proc.wait() == 0

    rng = np.random.default_rng(seed)
    outcomes = []
    for i in range(kills):
        home = fresh_home(i)
        proc = _spawn(home, bundle)
        time.sleep(float(rng.uniform(0.0, apply_s * 1.2)))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        with TerminalStore.open(home) as store:
            (check,) = store._conn.execute("PRAGMA integrity_check").fetchone()
            assert check == "ok"
            state = store.state()
            assert state.seq in (1, 2), f"kill {i}: seq {state.seq}"
            expected = old if state.seq == 1 else new
            assert state.entries == len(expected)
            assert store.hot_list().equals(expected), f"kill {i}: list is neither old nor new"
        outcomes.append(state.seq)
        shutil.rmtree(home)
    return outcomes


def test_kill_during_apply_leaves_old_or_new_fast(tmp_path, center):
    outcomes = _kill_loop(tmp_path, center, n_entries=50_000, kills=5, seed=31)
    assert len(outcomes) == 5


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_kill_during_apply_leaves_old_or_new_1m(tmp_path, center):
    outcomes = _kill_loop(tmp_path, center, n_entries=1_000_000, kills=25, seed=41)
    assert len(outcomes) == 25
    print(f"kills that left the old list: {outcomes.count(1)}, the new: {outcomes.count(2)}")
