"""Helpers for terminal tests: a full store dump (bundles come from tests/simcenter.py).

Tests never read the clock: NOW is fixed, bundles are valid for a day around it.
"""

import sqlite3

from receiver.store.store import STORE_FILE_NAME
from tests.simcenter import DAY_S, NOW, UNIVERSE, make_hot  # noqa: F401  (re-exported)


def full_dump(home) -> list[str]:
    """Every row of every table, as SQL text, through a fresh connection."""
    conn = sqlite3.connect(home / STORE_FILE_NAME)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()
