"""The terminal store: creation, key mapping, full and delta merges, persistence."""

import os
import sqlite3
import stat

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import BundleKind, provision
from framing import HotList, Reason, Universe, diff, patch
from receiver.errors import StoreError
from framing import from_sql_key, from_sql_keys, to_sql_key, to_sql_keys
from receiver.store.store import STORE_FILE_NAME, TerminalStore
from terminal_helpers import NOW, delta_bundle, full_bundle, make_hot

U64 = st.integers(min_value=0, max_value=(1 << 64) - 1)


@given(st.lists(U64, min_size=1, max_size=50))
def test_key_mapping_is_an_order_preserving_bijection(values):
    ids = np.array(sorted(set(values)), dtype=np.uint64)
    keys = to_sql_keys(ids)
    assert keys.dtype == np.int64
    assert np.all(keys[1:] > keys[:-1])
    assert np.array_equal(from_sql_keys(keys), ids)
    assert [to_sql_key(int(v)) for v in ids] == keys.tolist()
    assert [from_sql_key(k) for k in keys.tolist()] == ids.tolist()


def test_key_mapping_ends():
    assert to_sql_key(0) == -(1 << 63)
    assert to_sql_key((1 << 64) - 1) == (1 << 63) - 1


def test_new_store_is_empty_and_stale(store):
    state = store.state()
    assert state.seq == 0 and state.entries == 0 and state.kind is None
    assert state.is_stale(NOW)
    assert store.lookup(4000000000000001).reason is None


def test_files_are_private(store, home, center):
    store.apply_bundle(full_bundle(center, make_hot(100, seed=1), seq=1), NOW)
    assert stat.S_IMODE(os.stat(home).st_mode) == 0o700
    for name in os.listdir(home):
        assert stat.S_IMODE(os.stat(home / name).st_mode) == 0o600, name


def test_store_uses_wal_and_holds_its_keys(store, home, center):
    conn = sqlite3.connect(home / STORE_FILE_NAME)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()
    assert store.keys().to_bytes() == provision(center).to_bytes()


def test_create_twice_is_refused(store, home, center):
    with pytest.raises(StoreError, match="already exists"):
        TerminalStore.create(home, provision(center))


def test_open_missing_store_names_it(tmp_path):
    with pytest.raises(StoreError, match="no terminal store"):
        TerminalStore.open(tmp_path)


@pytest.mark.parametrize("content", [b"", b"garbage" * 100])
def test_open_foreign_file_is_refused_untouched(tmp_path, content):
    (tmp_path / STORE_FILE_NAME).write_bytes(content)
    with pytest.raises(StoreError, match="not a hotcast terminal store"):
        TerminalStore.open(tmp_path)
    assert (tmp_path / STORE_FILE_NAME).read_bytes() == content


def test_full_apply_then_lookup(store, center):
    hot = make_hot(2000, seed=2)
    result = store.apply_bundle(full_bundle(center, hot, seq=3), NOW)
    assert (result.seq, result.kind, result.applied, result.entries) == (3, BundleKind.FULL, True, 2000)
    assert store.hot_list().equals(hot)
    for i in (0, 999, 1999):
        hit = store.lookup(int(hot.ids[i]))
        assert hit.reason == Reason(int(hot.reasons[i])) and hit.list_seq == 3
    missing = np.setdiff1d(hot.ids + np.uint64(1), hot.ids)[:3]
    assert all(store.lookup(int(m)).reason is None for m in missing)
    state = store.state()
    assert (state.seq, state.entries, state.applied_at, state.valid_until) == (3, 2000, NOW, NOW + 86_400)
    assert not state.is_stale(NOW)


def test_full_replaces_the_whole_list(store, center):
    store.apply_bundle(full_bundle(center, make_hot(500, seed=3), seq=1), NOW)
    new = make_hot(300, seed=4)
    store.apply_bundle(full_bundle(center, new, seq=2), NOW)
    assert store.hot_list().equals(new)
    assert store.state().entries == 300


def test_delta_matches_framing_patch(store, center):
    old = make_hot(1000, seed=5)
    rng = np.random.default_rng(6)
    keep = rng.random(len(old)) > 0.1
    changed = old.reasons.copy()
    changed[::7] = (changed[::7] + 1) % 4
    extra = make_hot(50, seed=7)
    ids = np.concatenate([old.ids[keep], extra.ids])
    order = np.argsort(ids)
    new = HotList(ids=ids[order],
                  reasons=np.concatenate([changed[keep], extra.reasons])[order],
                  expiry=np.zeros(len(ids), dtype=np.uint16))
    delta = diff(old, new)
    store.apply_bundle(full_bundle(center, old, seq=1), NOW)
    result = store.apply_bundle(delta_bundle(center, delta, seq=2, base_seq=1), NOW)
    assert result.kind == BundleKind.DELTA and result.entries == len(new)
    assert store.hot_list().equals(patch(old, delta))
    assert store.state().entries == len(new) and store.state().base_seq == 1


def test_empty_delta_moves_seq(store, center):
    old = make_hot(10, seed=8)
    store.apply_bundle(full_bundle(center, old, seq=1), NOW)
    store.apply_bundle(delta_bundle(center, diff(old, old), seq=2, base_seq=1), NOW)
    assert store.state().seq == 2 and store.hot_list().equals(old)


def test_state_survives_reopen(store, home, center):
    hot = make_hot(100, seed=9)
    store.apply_bundle(full_bundle(center, hot, seq=4), NOW)
    store.record_sale(NOW, 4000000000000001, 250, 4, False)
    store.close()
    with TerminalStore.open(home) as again:
        assert again.state().seq == 4
        assert again.hot_list().equals(hot)
        assert again.sales_total_minor() == 250
        assert again.keys().to_bytes() == provision(center).to_bytes()


def test_lookup_extreme_ids(store, center):
    universe = Universe.full()
    hot = HotList(ids=np.array([0, 1 << 63, (1 << 64) - 1], dtype=np.uint64),
                  reasons=np.array([0, 1, 2], dtype=np.uint8), expiry=np.zeros(3, np.uint16))
    store.apply_bundle(full_bundle(center, hot, seq=1, universe=universe), NOW)
    assert store.lookup(0).reason == Reason.STOLEN
    assert store.lookup(1 << 63).reason == Reason.LOST
    assert store.lookup((1 << 64) - 1).reason == Reason.FRAUD
    assert store.lookup(5).reason is None
    assert store.hot_list().equals(hot)
    with pytest.raises(ValueError):
        store.lookup(1 << 64)


def test_record_sale_refuses_nonpositive(store):
    with pytest.raises(ValueError, match="amount_minor"):
        store.record_sale(NOW, 1, 0, 0, True)



def test_concurrent_apply_cannot_roll_back(store, home, center, monkeypatch):
    """Another process applies seq 3 while this one verifies seq 2: this one must re-plan
    against seq 3 and refuse, not commit seq 2 over it."""
    import receiver.store.store as store_module
    from receiver.errors import RollbackError

    newer = full_bundle(center, make_hot(30, seed=14), seq=3)
    real_plan = store_module.plan_bundle
    calls = []

    def racing_plan(*args):
        change = real_plan(*args)
        calls.append(1)
        if len(calls) == 1:  # our first plan; the racing apply plans too (call 2)
            with TerminalStore.open(home) as other:
                other.apply_bundle(newer, NOW)
        return change

    monkeypatch.setattr(store_module, "plan_bundle", racing_plan)
    with pytest.raises(RollbackError):
        store.apply_bundle(full_bundle(center, make_hot(20, seed=15), seq=2), NOW)
    assert store.state().seq == 3 and store.state().entries == 30 and len(calls) == 2  # the re-plan raised


@st.composite
def _list_pairs(draw):
    """Two hot lists over a small universe, so that deltas add, remove and change."""
    def one():
        ids = draw(st.lists(st.integers(4000000000000000, 4000000000000063), unique=True,
                            max_size=40))
        reasons = draw(st.lists(st.integers(0, 3), min_size=len(ids), max_size=len(ids)))
        order = np.argsort(np.array(ids, dtype=np.uint64))
        return HotList(ids=np.array(ids, dtype=np.uint64)[order],
                       reasons=np.array(reasons, dtype=np.uint8)[order],
                       expiry=np.zeros(len(ids), dtype=np.uint16))
    return one(), one()


@settings(max_examples=40)
@given(_list_pairs())
def test_full_then_delta_gives_the_new_list(tmp_path_factory, center, pair):
    old, new = pair
    with TerminalStore.create(tmp_path_factory.mktemp("h"), provision(center)) as store:
        store.apply_bundle(full_bundle(center, old, seq=1), NOW)
        result = store.apply_bundle(delta_bundle(center, diff(old, new), seq=2, base_seq=1), NOW)
        assert result.entries == len(new) == store.state().entries
        assert store.hot_list().equals(new)


def test_apply_bundles_chains_in_one_transaction(store, center, home):
    from terminal_helpers import full_dump
    from receiver.errors import ExpiredBundleError

    old = make_hot(300, seed=11)
    new = make_hot(320, seed=12)
    full, delta = full_bundle(center, old, seq=1), delta_bundle(center, diff(old, new), 2, 1)
    expired = delta_bundle(center, diff(new, old), 3, 2, created_at=NOW - 2 * 86_400,
                           valid_until=NOW - 1)
    before = full_dump(home)
    with pytest.raises(ExpiredBundleError) as err:
        store.apply_bundles([full, delta, expired], NOW)
    assert err.value.bundle_index == 2
    assert full_dump(home) == before  # the full and the delta were rolled back with it
    results = store.apply_bundles([full, delta, delta], NOW)
    assert [r.applied for r in results] == [True, True, False]  # the same seq again: a no-op
    assert store.state().seq == 2 and store.hot_list().equals(new)
