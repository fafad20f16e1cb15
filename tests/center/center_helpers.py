"""Shared helpers for center tests: a fixed clock and a state dump for "nothing changed"."""

from __future__ import annotations

import hashlib
import sqlite3
import time
from pathlib import Path

from center.registry.home import REGISTRY_FILE, REQUEST_FILE, CenterHome
from center.root.home import RootHome
from framing import Universe

NOW = 1_790_000_000  # 2026-09-21 UTC, fixed so expiry pruning is reproducible
OPERATOR = "tester"
PASSPHRASE = "test passphrase"


def make_home(path: Path, universe: Universe | None = None, *, now: int = NOW,
              with_keyset: bool = True) -> CenterHome:
    """A center home with its own offline root beside it (``path`` + "-root"); the first key
    set signed and imported unless ``with_keyset`` is False."""
    root = RootHome.init(Path(f"{path}-root"), passphrase=lambda: PASSPHRASE)
    home = CenterHome.init(path, universe, root_pub=root.root_set_bytes(1), now=now,
                           by=OPERATOR, passphrase=PASSPHRASE)
    if with_keyset:
        signed = root.sign_keyset((path / REQUEST_FILE).read_bytes())
        home.import_trust([signed], now=now, by=OPERATOR)
    return home


def root_of(home: CenterHome) -> RootHome:
    return RootHome.open(Path(f"{home.path}-root"), lambda: PASSPHRASE)


def dump_home(path: Path) -> tuple:
    """Everything a change could touch: every registry row (in order) and the key files."""
    conn = sqlite3.connect(path / REGISTRY_FILE)
    try:
        rows = tuple(conn.iterdump())
    finally:
        conn.close()
    files = tuple(sorted(
        (p.name, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in path.iterdir() if p.name.startswith("center.keys") or p.name == "published.head"
    ))
    return rows, files


def wait_for(what, timeout: float = 60.0):
    """Poll ``what()`` every 0.1 s until it is truthy (returned) or ``timeout`` s pass."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = what()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")
