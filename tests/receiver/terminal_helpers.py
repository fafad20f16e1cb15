"""Helpers for terminal tests: bundle builders and a full store dump.

Tests never read the clock: NOW is fixed, bundles are valid for a day around it.
"""

import sqlite3

import numpy as np

from crypto import BundleHeader, BundleKind, CenterKeys, seal_bundle
from framing import HotList, Universe, encode_delta, encode_list
from receiver.store.store import STORE_FILE_NAME

NOW = 1_790_000_000  # 2026-09-21, a fixed unix time
DAY_S = 86_400
UNIVERSE = Universe.parse("4000000000000000-4999999999999999")


def make_hot(n: int, seed: int, universe: Universe = UNIVERSE) -> HotList:
    """``n`` distinct random IDs of ``universe`` (seeded), random reasons, no expiry."""
    rng = np.random.default_rng(seed)
    lo, hi = universe.ranges[0]
    ids = np.unique(rng.integers(lo, hi, size=n, dtype=np.uint64, endpoint=True))
    while len(ids) < n:
        more = rng.integers(lo, hi, size=n - len(ids), dtype=np.uint64, endpoint=True)
        ids = np.unique(np.concatenate([ids, more]))
    return HotList(ids=ids, reasons=rng.integers(0, 4, n).astype(np.uint8),
                   expiry=np.zeros(n, dtype=np.uint16))


def header(keys: CenterKeys, kind=BundleKind.FULL, seq=1, base_seq=0, created_at=NOW,
           valid_until=NOW + DAY_S) -> BundleHeader:
    return BundleHeader(kind=kind, seq=seq, base_seq=base_seq, created_at=created_at,
                        valid_until=valid_until, master_key_id=keys.current_master_id,
                        signing_key_id=keys.signing_key_id)


def full_bundle(keys: CenterKeys, hot: HotList, seq: int, universe=UNIVERSE, **kw) -> bytes:
    return seal_bundle(header(keys, BundleKind.FULL, seq, **kw), encode_list(hot, universe), keys)


def delta_bundle(keys: CenterKeys, delta, seq: int, base_seq: int, universe=UNIVERSE,
                 **kw) -> bytes:
    return seal_bundle(header(keys, BundleKind.DELTA, seq, base_seq, **kw),
                       encode_delta(delta, universe), keys)


def full_dump(home) -> list[str]:
    """Every row of every table, as SQL text, through a fresh connection."""
    conn = sqlite3.connect(home / STORE_FILE_NAME)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()
