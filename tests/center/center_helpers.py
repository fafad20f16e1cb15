"""Shared helpers for center tests: a fixed clock and a state dump for "nothing changed"."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from center.registry.home import REGISTRY_FILE

NOW = 1_790_000_000  # 2026-09-21 UTC, fixed so expiry pruning is reproducible
OPERATOR = "tester"


def dump_home(path: Path) -> tuple:
    """Everything a change could touch: every registry row (in order) and the key files."""
    conn = sqlite3.connect(path / REGISTRY_FILE)
    try:
        rows = tuple(conn.iterdump())
    finally:
        conn.close()
    files = tuple(sorted(
        (p.name, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in path.iterdir() if p.name.startswith("center.keys")
    ))
    return rows, files
