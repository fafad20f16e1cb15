"""Terminal store speed: a card lookup in a 10,000,000-entry store (target: p99 under 20 us,
in process) and applying a 1,000,000-entry full bundle (target: under 10 s, including
signature check, decryption and list decoding).

The 10 M store is built once, through the real apply path, and cached in
/tmp/hotcast-bench-terminal-10m (about 30 s and 400 MB the first time; delete the folder
to rebuild). p99 is computed from pytest-benchmark's per-round times and stored in
extra_info (``p99_us``); nothing here asserts a time.

Run: .venv/bin/pytest bench/test_terminal.py --benchmark-only -q
"""

import itertools
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

from crypto import BundleHeader, BundleKind, CenterKeys, provision, seal_bundle
from framing import HotList, Universe, encode_list
from receiver.payment.checks import check_card
from receiver.errors import StoreError
from framing import from_sql_key, from_sql_keys, to_sql_key, to_sql_keys
from receiver.store.store import TerminalStore

NOW = 1_790_000_000
CACHE = Path("/tmp/hotcast-bench-terminal-10m")
BIG_ENTRIES = 10_000_000
APPLY_ENTRIES = 1_000_000
# PAN-like universe: 16-digit IDs of one issuer range, 10^15 of them; 10 M listed is 1 in 10^8.
UNIVERSE = Universe.parse("4000000000000000-4999999999999999")
LOOKUPS = 200_000


def _hot(n: int, seed: int) -> HotList:
    rng = np.random.default_rng(seed)
    lo, hi = UNIVERSE.ranges[0]
    ids = np.unique(rng.integers(lo, hi, size=n + n // 100, dtype=np.uint64, endpoint=True))[:n]
    rng.shuffle(ids)
    ids = np.sort(ids[:n])
    return HotList(ids=ids, reasons=rng.integers(0, 4, n).astype(np.uint8),
                   expiry=np.zeros(n, dtype=np.uint16))


def _bundle(keys: CenterKeys, hot: HotList, seq: int) -> bytes:
    header = BundleHeader(BundleKind.FULL, seq=seq, base_seq=0, created_at=NOW,
                          valid_until=NOW + 86_400, master_key_id=keys.current_master_id,
                          signing_key_id=keys.signing_key_id)
    return seal_bundle(header, encode_list(hot, UNIVERSE), keys)


@pytest.fixture(scope="module")
def big_store():
    try:
        store = TerminalStore.open(CACHE)
        if store.state().entries == BIG_ENTRIES:
            yield store
            store.close()
            return
        store.close()
    except StoreError:
        pass
    shutil.rmtree(CACHE, ignore_errors=True)
    keys = CenterKeys.generate()
    hot = _hot(BIG_ENTRIES, seed=1)
    store = TerminalStore.create(CACHE, provision(keys))
    store.apply_bundle(_bundle(keys, hot, seq=1), NOW)
    yield store
    store.close()


def _probe_ids(store: TerminalStore) -> list[int]:
    """Half listed IDs (read back from the store), half random IDs of the universe."""
    rng = np.random.default_rng(2)
    lo, hi = UNIVERSE.ranges[0]
    start = to_sql_key(int(rng.integers(lo, (lo + hi) // 2)))
    sample = store._conn.execute("SELECT id FROM hot WHERE id >= ? LIMIT 1000", (start,)).fetchall()
    listed = [from_sql_key(k) for (k,) in sample]
    assert listed, "the cached store holds no IDs of the bench universe"
    randoms = rng.integers(lo, hi, size=LOOKUPS // 2, dtype=np.uint64, endpoint=True).tolist()
    ids = (listed * (LOOKUPS // 2 // max(len(listed), 1) + 1))[: LOOKUPS // 2] + randoms
    rng.shuffle(ids)
    return ids


def _p99_us(benchmark) -> float:
    p99 = float(np.percentile(benchmark.stats.stats.data, 99) * 1e6)
    print(f"\n{benchmark.name}: p99 {p99:.1f} us")
    return p99


def test_lookup_10m(benchmark, big_store):
    ids = itertools.cycle(_probe_ids(big_store))
    benchmark.pedantic(lambda: big_store.lookup(next(ids)), rounds=LOOKUPS - 1000,
                       iterations=1, warmup_rounds=1000)
    benchmark.extra_info.update(entries=big_store.state().entries, p99_us=_p99_us(benchmark))


def test_check_card_10m(benchmark, big_store):
    ids = itertools.cycle(_probe_ids(big_store))
    benchmark.pedantic(lambda: check_card(big_store, next(ids), NOW), rounds=LOOKUPS - 1000,
                       iterations=1, warmup_rounds=1000)
    benchmark.extra_info.update(entries=big_store.state().entries, p99_us=_p99_us(benchmark))


def test_apply_full_1m(benchmark):
    keys = CenterKeys.generate()
    old, new = _hot(APPLY_ENTRIES, seed=3), _hot(APPLY_ENTRIES, seed=4)
    old_bundle, new_bundle = _bundle(keys, old, seq=1), _bundle(keys, new, seq=2)
    work = Path(tempfile.mkdtemp(prefix="hotcast-bench-apply-"))
    stores = []

    def setup():
        """A store holding a 1 M list at seq 1: the bundle replaces a list, like in service."""
        store = TerminalStore.create(work / f"s{len(stores)}", provision(keys))
        store.apply_bundle(old_bundle, NOW)
        stores.append(store)
        return (store,), {}

    result = benchmark.pedantic(lambda store: store.apply_bundle(new_bundle, NOW), setup=setup,
                                rounds=3, iterations=1)
    assert result.entries == APPLY_ENTRIES
    benchmark.extra_info.update(entries=APPLY_ENTRIES, bundle_bytes=len(new_bundle))
    for store in stores:
        store.close()
    shutil.rmtree(work)
