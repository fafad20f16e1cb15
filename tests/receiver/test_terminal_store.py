"""The terminal store: creation, key mapping, full and cumulative delta merges, the hash chain,
heartbeats and staleness, capacity, key material applied like bundles, persistence.

Bundles come from the one simulated center (``tests/simcenter.py``, fixtures ``sim``, ``store``,
``home``); the attacks on the store are named in ``test_terminal_attacks.py``.
"""

import os
import sqlite3
import stat

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import BundleKind, MetadataType, RootGapError, bundle_digest
from framing import HotList, Reason, Universe, diff, from_sql_key, from_sql_keys, patch
from framing import to_sql_key, to_sql_keys
from receiver.errors import (
    CapacityError,
    DeltaBaseError,
    ExpiredBundleError,
    RollbackError,
    StoreError,
)
from receiver.store.state import NOT_FOLLOWING_AFTER_S
from receiver.store.store import STORE_FILE_NAME, TerminalStore
from tests.simcenter import SimCenter
from terminal_helpers import DAY_S, NOW, full_dump, make_hot

U64 = st.integers(min_value=0, max_value=(1 << 64) - 1)


# -- card keys ----------------------------------------------------------------------------

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


# -- creating and opening -----------------------------------------------------------------

def test_new_store_is_empty_and_stale_saying_why(store):
    state = store.state()
    assert (state.epoch, state.seq, state.entries, state.kind) == (0, 0, 0, 0)
    assert state.is_stale(NOW) and state.stale_why(NOW) == "no list yet"
    hit = store.lookup(4000000000000001, NOW)
    assert hit.reason is None and hit.list_seq == 0 and hit.stale and hit.stale_why == "no list yet"


def test_files_are_private(store, home, sim):
    store.apply_bundle(sim.full(make_hot(100, seed=1)), NOW)
    assert stat.S_IMODE(os.stat(home).st_mode) == 0o700
    for name in os.listdir(home):
        assert stat.S_IMODE(os.stat(home / name).st_mode) == 0o600, name


def test_files_are_private_whatever_the_umask(tmp_path, sim):
    old = os.umask(0)
    try:
        with TerminalStore.create(tmp_path / "h", sim.terminal_keys()) as s:
            s.apply_bundle(sim.full(make_hot(10, seed=1)), NOW)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "h").st_mode) == 0o700
    for name in os.listdir(tmp_path / "h"):
        assert stat.S_IMODE(os.stat(tmp_path / "h" / name).st_mode) == 0o600, name


def test_store_uses_wal_and_holds_its_keys(store, home, sim):
    conn = sqlite3.connect(home / STORE_FILE_NAME)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()
    assert store.keys() == sim.terminal_keys()
    assert store.keys().to_file() == sim.terminal_keys().to_file()


def test_create_twice_is_refused(store, home, sim):
    before = full_dump(home)
    with pytest.raises(StoreError, match="already exists"):
        TerminalStore.create(home, sim.terminal_keys())
    assert full_dump(home) == before


@pytest.mark.parametrize("kw", [{"capacity": 0}, {"capacity": (1 << 26) + 1},
                                {"heartbeat_max_age_s": 0}])
def test_create_refuses_a_bad_policy_naming_it(tmp_path, sim, kw):
    with pytest.raises(ValueError, match=next(iter(kw))):
        TerminalStore.create(tmp_path / "h", sim.terminal_keys(), **kw)
    assert not (tmp_path / "h" / STORE_FILE_NAME).exists()


def test_open_missing_store_names_it(tmp_path):
    with pytest.raises(StoreError, match="no terminal store"):
        TerminalStore.open(tmp_path)


@pytest.mark.parametrize("content", [b"", b"garbage" * 100])
def test_open_foreign_file_is_refused_untouched(tmp_path, content):
    (tmp_path / STORE_FILE_NAME).write_bytes(content)
    with pytest.raises(StoreError, match="not a hotcast terminal store"):
        TerminalStore.open(tmp_path)
    assert (tmp_path / STORE_FILE_NAME).read_bytes() == content


def test_a_store_of_the_old_schema_is_refused_by_name(tmp_path, sim):
    """A version-1 store holds keys of the old trust model: refused, never half-read."""
    with TerminalStore.create(tmp_path / "h", sim.terminal_keys()):
        pass
    conn = sqlite3.connect(tmp_path / "h" / STORE_FILE_NAME)
    conn.execute("PRAGMA user_version=1")
    conn.close()
    with pytest.raises(StoreError, match="schema 1"):
        TerminalStore.open(tmp_path / "h")


# -- full lists ---------------------------------------------------------------------------

def test_full_apply_then_lookup(store, sim):
    hot = make_hot(2000, seed=2)
    data = sim.full(hot, seq=3)
    result = store.apply_bundle(data, NOW)
    assert (result.seq, result.kind, result.applied, result.entries) == (3, BundleKind.FULL,
                                                                         True, 2000)
    assert store.hot_list().equals(hot)
    for i in (0, 999, 1999):
        hit = store.lookup(int(hot.ids[i]), NOW)
        assert hit.reason == Reason(int(hot.reasons[i])) and hit.list_seq == 3 and not hit.stale
    missing = np.setdiff1d(hot.ids + np.uint64(1), hot.ids)[:3]
    assert all(store.lookup(int(m), NOW).reason is None for m in missing)
    state = store.state()
    assert (state.epoch, state.seq, state.kind, state.entries) == (1, 3, BundleKind.FULL, 2000)
    assert (state.created_at, state.applied_at, state.valid_until) == (NOW, NOW, NOW + DAY_S)
    assert state.digest == bundle_digest(data) == store.chain_digest(1, 3)
    assert not state.is_stale(NOW)


def test_full_replaces_the_whole_list(store, sim):
    store.apply_bundle(sim.full(make_hot(500, seed=3)), NOW)
    new = make_hot(300, seed=4)
    store.apply_bundle(sim.full(new), NOW)
    assert store.hot_list().equals(new)
    assert store.state().entries == 300 and store.state().seq == 2


def test_same_list_again_is_a_noop(store, home, sim):
    data = sim.full(make_hot(50, seed=5))
    store.apply_bundle(data, NOW)
    before = full_dump(home)
    result = store.apply_bundle(data, NOW + 60)
    assert not result.applied and (result.seq, result.entries) == (1, 50)
    assert full_dump(home) == before


def test_lookup_extreme_ids(tmp_path):
    universe = Universe.full()
    sim = SimCenter(universe=universe)
    hot = HotList(ids=np.array([0, 1 << 63, (1 << 64) - 1], dtype=np.uint64),
                  reasons=np.array([0, 1, 2], dtype=np.uint8), expiry=np.zeros(3, np.uint16))
    with TerminalStore.create(tmp_path / "h", sim.terminal_keys()) as store:
        store.apply_bundle(sim.full(hot), NOW)
        assert store.lookup(0, NOW).reason == Reason.STOLEN
        assert store.lookup(1 << 63, NOW).reason == Reason.LOST
        assert store.lookup((1 << 64) - 1, NOW).reason == Reason.FRAUD
        assert store.lookup(5, NOW).reason is None
        assert store.hot_list().equals(hot)
        for bad in (1 << 64, -1):
            with pytest.raises(ValueError):
                store.lookup(bad, NOW)


# -- deltas -------------------------------------------------------------------------------

def _changed(old: HotList, seed: int) -> HotList:
    """``old`` with about a tenth removed, every seventh reason changed and 50 cards added."""
    rng = np.random.default_rng(seed)
    keep = rng.random(len(old)) > 0.1
    changed = old.reasons.copy()
    changed[::7] = (changed[::7] + 1) % 4
    extra = make_hot(50, seed=seed + 1000)
    ids = np.concatenate([old.ids[keep], extra.ids])
    order = np.argsort(ids)
    return HotList(ids=ids[order], reasons=np.concatenate([changed[keep], extra.reasons])[order],
                   expiry=np.zeros(len(ids), dtype=np.uint16))


def test_delta_matches_framing_patch(store, sim):
    old = make_hot(1000, seed=5)
    new = _changed(old, seed=6)
    store.apply_bundle(sim.full(old), NOW)
    result = store.apply_bundle(sim.delta(new, base=1), NOW)
    assert result.kind == BundleKind.DELTA and result.entries == len(new)
    assert store.hot_list().equals(patch(old, diff(old, new))) and store.hot_list().equals(new)
    state = store.state()
    assert (state.seq, state.entries, state.base_seq, state.kind) == (2, len(new), 1,
                                                                      BundleKind.DELTA)


def test_empty_delta_moves_seq(store, sim):
    old = make_hot(10, seed=8)
    store.apply_bundle(sim.full(old), NOW)
    store.apply_bundle(sim.delta(old, base=1), NOW)
    assert store.state().seq == 2 and store.hot_list().equals(old)


def _history(sim: SimCenter, lists: list[HotList]) -> list[bytes]:
    """Seq 1 full, then each later list as a cumulative delta from seq 1 (as `center build
    --delta` makes them): what a carousel has carried over time."""
    out = [sim.full(lists[0])]
    return out + [sim.delta(hot, base=1) for hot in lists[1:]]


def test_cumulative_delta_takes_every_list_from_its_base_to_the_head(tmp_path):
    """Cards revoked and reinstated between the base and the head: a terminal holding any list
    from the base up ends with exactly the head's list (issue 6: no base strands a terminal)."""
    sim = SimCenter()
    first = make_hot(300, seed=20)
    lists = [first]
    for step in range(4):  # revoke some, reinstate some of those revoked before
        lists.append(_changed(lists[-1], seed=21 + step))
    bundles = _history(sim, lists)
    final_delta = bundles[-1]
    for held in range(1, len(lists)):  # stores at seq 1 .. head - 1
        with TerminalStore.create(tmp_path / f"at{held}", sim.terminal_keys()) as store:
            for data in bundles[:held]:
                store.apply_bundle(data, NOW)
            assert store.state().seq == held
            result = store.apply_bundle(final_delta, NOW)
            assert result.applied and result.seq == len(lists)
            assert store.hot_list().equals(lists[-1]), f"held seq {held}"
            assert store.state().entries == len(lists[-1])


def test_delta_whose_base_is_above_the_list_held_names_what_it_needs(store, home, sim):
    store.apply_bundle(sim.full(make_hot(20, seed=9)), NOW)
    sim.full(make_hot(25, seed=10))  # seq 2: never reaches this terminal
    data = sim.delta(make_hot(30, seed=11), base=2)
    before = full_dump(home)
    with pytest.raises(DeltaBaseError) as err:
        store.apply_bundle(data, NOW)
    assert (err.value.bundle_seq, err.value.needed_seq, err.value.store_seq) == (3, 2, 1)
    assert full_dump(home) == before


def test_a_delta_before_any_list_waits_for_a_full_one(store, sim):
    sim.full(make_hot(20, seed=9), record=True)
    data = sim.delta(make_hot(21, seed=12), base=1)
    with pytest.raises(DeltaBaseError, match="needs a list first"):
        store.apply_bundle(data, NOW)
    assert store.state().seq == 0


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
    return one(), one(), one()


@settings(max_examples=30)
@given(_list_pairs())
def test_any_two_deltas_give_the_newest_list_from_either_base(tmp_path_factory, lists):
    a, b, c = lists
    sim = SimCenter()
    full, to_b, to_c = sim.full(a), sim.delta(b, base=1), sim.delta(c, base=1)
    for path in ([full, to_b, to_c], [full, to_c]):
        with TerminalStore.create(tmp_path_factory.mktemp("h"), sim.terminal_keys()) as store:
            for data in path:
                result = store.apply_bundle(data, NOW)
            assert result.entries == len(c) == store.state().entries
            assert store.hot_list().equals(c)


# -- one transaction per bundle -----------------------------------------------------------

def test_each_bundle_is_its_own_transaction(store, home, sim):
    """A refused bundle leaves what the bundles before it applied (no all-or-nothing batch:
    `terminal apply` applies every file that verifies) and changes nothing itself."""
    old, new = make_hot(300, seed=11), make_hot(320, seed=12)
    store.apply_bundle(sim.full(old), NOW)
    store.apply_bundle(sim.delta(new, base=1), NOW)
    after_two = full_dump(home)
    expired = sim.delta(old, base=2, now=NOW - DAY_S + 10, valid_for=60)
    with pytest.raises(ExpiredBundleError):
        store.apply_bundle(expired, NOW)
    assert full_dump(home) == after_two
    assert store.state().seq == 2 and store.hot_list().equals(new)


def test_concurrent_apply_cannot_roll_back(store, home, sim, monkeypatch):
    """Another process applies seq 3 while this one verifies seq 2: this one must re-plan
    against seq 3 and refuse, not commit seq 2 over it."""
    import receiver.store.store as store_module

    store.apply_bundle(sim.full(make_hot(10, seed=13)), NOW)
    seq2 = sim.full(make_hot(20, seed=15))
    seq3 = sim.full(make_hot(30, seed=14))
    real_plan = store_module.plan
    calls = []

    def racing_plan(*args):
        calls.append(1)
        change = real_plan(*args)
        if len(calls) == 1:  # our first plan; the racing apply plans too (call 2)
            with TerminalStore.open(home) as other:
                other.apply_bundle(seq2, NOW)
                other.apply_bundle(seq3, NOW)
        return change

    monkeypatch.setattr(store_module, "plan", racing_plan)
    with pytest.raises(RollbackError):
        store.apply_bundle(seq2, NOW)
    assert store.state().seq == 3 and store.state().entries == 30
    assert len(calls) == 4  # ours, the other's two, and our re-plan, which raised


# -- heartbeats and staleness -------------------------------------------------------------

def test_heartbeat_is_kept_and_says_the_list_is_current(store, sim):
    store.apply_bundle(sim.full(make_hot(10, seed=16)), NOW)
    result = store.apply_bundle(sim.heartbeat(now=NOW + 60), NOW + 60)
    assert result.applied and result.kind is BundleKind.HEARTBEAT and result.seq == 1
    state = store.state()
    assert (state.heartbeat_epoch, state.heartbeat_seq, state.heartbeat_created_at) == (
        1, 1, NOW + 60)
    assert store.lookup(1, NOW + 120).stale_why is None
    older = sim.heartbeat(now=NOW + 30)
    assert not store.apply_bundle(older, NOW + 120).applied  # an older one changes nothing
    assert store.state().heartbeat_created_at == NOW + 60


def test_a_heartbeat_naming_a_newer_list_makes_the_terminal_stale(store, sim):
    store.apply_bundle(sim.full(make_hot(10, seed=17)), NOW)
    sim.full(make_hot(11, seed=18))  # seq 2: missed
    store.apply_bundle(sim.heartbeat(), NOW)
    hit = store.lookup(1, NOW)
    assert hit.stale and "heartbeat says list seq 2" in hit.stale_why and hit.list_seq == 1


def test_no_heartbeat_for_longer_than_the_policy_is_stale(tmp_path, sim):
    with TerminalStore.create(tmp_path / "h", sim.terminal_keys(),
                              heartbeat_max_age_s=600) as store:
        store.apply_bundle(sim.full(make_hot(10, seed=19)), NOW)
        assert store.lookup(1, NOW + 10 * 3600).stale_why is None  # never heard one: the list's
        store.apply_bundle(sim.heartbeat(), NOW)
        assert store.lookup(1, NOW + 600).stale_why is None
        why = store.lookup(1, NOW + 601).stale_why
        assert why is not None and "no heartbeat for 601 s" in why


def test_an_expired_list_is_stale_saying_when(store, sim):
    store.apply_bundle(sim.full(make_hot(10, seed=20)), NOW)
    assert store.lookup(1, NOW + DAY_S).stale_why is None  # good through its last second
    assert store.lookup(1, NOW + DAY_S + 1).stale_why == f"the list expired at {NOW + DAY_S}"


def test_an_expired_heartbeat_is_refused(store, home, sim):
    store.apply_bundle(sim.full(make_hot(10, seed=21)), NOW)
    beat = sim.heartbeat(valid_for=60)
    before = full_dump(home)
    with pytest.raises(ExpiredBundleError):
        store.apply_bundle(beat, NOW + 61)
    assert full_dump(home) == before


def test_hearing_only_older_lists_for_long_means_not_following(store, sim):
    store.apply_bundle(sim.full(make_hot(10, seed=22)), NOW)
    store.note_heard(True, NOW)
    store.note_heard(False, NOW + NOT_FOLLOWING_AFTER_S)
    assert store.state().following(NOW + NOT_FOLLOWING_AFTER_S)
    store.note_heard(False, NOW + NOT_FOLLOWING_AFTER_S + 1)
    assert not store.state().following(NOW + NOT_FOLLOWING_AFTER_S + 1)
    assert store.status(NOW + NOT_FOLLOWING_AFTER_S + 1)["following"] is False
    store.note_heard(True, NOW + NOT_FOLLOWING_AFTER_S + 2)
    assert store.state().following(NOW + NOT_FOLLOWING_AFTER_S + 2)


# -- capacity -----------------------------------------------------------------------------

def test_a_full_list_over_the_capacity_is_refused(tmp_path, sim):
    with TerminalStore.create(tmp_path / "h", sim.terminal_keys(), capacity=100) as store:
        store.apply_bundle(sim.full(make_hot(100, seed=23)), NOW)  # exactly the capacity
        before = full_dump(tmp_path / "h")
        with pytest.raises(CapacityError, match="seq 2"):
            store.apply_bundle(sim.full(make_hot(101, seed=24)), NOW)
        assert full_dump(tmp_path / "h") == before


def test_a_delta_that_could_pass_the_capacity_is_refused(tmp_path, sim):
    old = make_hot(90, seed=25)
    with TerminalStore.create(tmp_path / "h", sim.terminal_keys(), capacity=100) as store:
        store.apply_bundle(sim.full(old), NOW)
        new = _changed(old, seed=27)  # adds 50 cards: 90 - 9 + 50 > 100
        with pytest.raises(CapacityError, match="capacity of 100"):
            store.apply_bundle(sim.delta(new, base=1), NOW)
        assert store.state().seq == 1 and store.hot_list().equals(old)


# -- key material, applied like bundles ---------------------------------------------------

def test_master_roll_adds_a_key_once(store, sim):
    roll = sim.roll_master()
    result = store.apply_bundle(roll, NOW)
    assert result.applied and result.kind is BundleKind.MASTER_ROLL and result.seq == 2
    assert [m.key_id for m in store.keys().master_keys] == [1, 2]
    assert not store.apply_bundle(roll, NOW).applied
    result = store.apply_bundle(sim.full(make_hot(10, seed=28)), NOW)  # sealed under key 2
    assert result.applied and store.state().seq == 1


def test_a_key_set_replaces_the_signing_keys(store, sim):
    store.apply_bundle(sim.full(make_hot(10, seed=29)), NOW)
    keyset = sim.replace_signing_key()
    result = store.apply_bundle(keyset, NOW)
    assert result.applied and result.kind is MetadataType.KEY_SET and result.seq == 2
    status = store.status(NOW)
    assert status["key_set"] == 2 and status["signing_key_ids"] == [2]
    assert store.state().seq == 1  # the list held is kept
    assert not store.apply_bundle(keyset, NOW).applied  # the same set again: no change
    assert store.apply_bundle(sim.full(make_hot(11, seed=30)), NOW).applied  # by key 2


def test_a_key_set_valid_later_waits_then_takes_over(store, sim):
    later = NOW + 3600
    keyset = sim.sign_keyset(sim._request(valid_from=later))
    result = store.apply_bundle(keyset, NOW)
    assert result.applied and result.kind is MetadataType.KEY_SET
    assert [k.version for k in store.pending_keysets()] == [2]
    assert store.keys().keyset.version == 1 and store.status(NOW)["pending_key_sets"] == [2]
    assert store.promote_keysets(later - 1) == []
    assert store.promote_keysets(later) == [2]
    assert store.keys().keyset.version == 2 and store.pending_keysets() == []


def test_a_pending_key_set_takes_over_at_the_next_apply_after_its_time(store, sim):
    later = NOW + 3600
    store.apply_bundle(sim.sign_keyset(sim._request(valid_from=later)), NOW)
    # Signed after the new set's signing key entry starts: it opens only under the new set.
    store.apply_bundle(sim.full(make_hot(10, seed=31), now=later + 1), later + 1)
    assert store.keys().keyset.version == 2 and store.pending_keysets() == []


def test_a_root_rotation_chains_and_later_key_sets_follow_it(store, sim):
    v2 = sim.rotate_root()
    v3 = sim.rotate_root()
    with pytest.raises(RootGapError):  # v3 before v2: kept for later by the merger
        store.apply_bundle(v3, NOW)
    assert store.keys().root_set.version == 1
    for version, data in ((2, v2), (3, v3)):
        result = store.apply_bundle(data, NOW)
        assert result.applied and result.kind is MetadataType.ROOT_SET and result.seq == version
    assert not store.apply_bundle(v2, NOW).applied  # an older root set: nothing to do
    keyset = sim.replace_signing_key()  # signed by root v3
    assert store.apply_bundle(keyset, NOW).applied
    assert store.status(NOW)["root_set"] == 3 and store.status(NOW)["key_set"] == 2


def test_a_new_epoch_waits_for_its_first_full_list(store, sim):
    store.apply_bundle(sim.full(make_hot(10, seed=32)), NOW)
    store.apply_bundle(sim.replace_signing_key(new_epoch=True), NOW)
    hit = store.lookup(1, NOW)
    assert hit.stale and "started epoch 2" in hit.stale_why
    hot = make_hot(12, seed=33)
    result = store.apply_bundle(sim.full(hot), NOW)
    assert result.applied and result.seq == 1
    state = store.state()
    assert (state.epoch, state.seq, state.entries) == (2, 1, 12) and not state.is_stale(NOW)


# -- status and persistence ---------------------------------------------------------------

def test_status_names_the_list_its_freshness_and_the_trust_held(store, sim):
    store.apply_bundle(sim.full(make_hot(40, seed=34)), NOW)
    store.apply_bundle(sim.heartbeat(), NOW)
    status = store.status(NOW)
    assert {k: status[k] for k in ("list_seq", "epoch", "kind", "entries", "stale", "stale_why",
                                   "following", "root_set", "key_set", "signing_key_ids",
                                   "master_key_ids", "pending_key_sets", "sales")} == {
        "list_seq": 1, "epoch": 1, "kind": "full", "entries": 40, "stale": False,
        "stale_why": None, "following": True, "root_set": 1, "key_set": 1,
        "signing_key_ids": [1], "master_key_ids": [1], "pending_key_sets": [], "sales": 0}
    assert status["heartbeat"] == {"epoch": 1, "seq": 1, "created_at": NOW}
    assert status["universe"] == str(sim.universe) and status["valid_until"] == NOW + DAY_S


def test_state_survives_reopen(store, home, sim):
    hot = make_hot(100, seed=9)
    store.apply_bundle(sim.full(hot, seq=4), NOW)
    store.apply_bundle(sim.roll_master(), NOW)
    store.record_sale(NOW, 4000000000000001, 250, 4, False)
    keys = store.keys()
    store.close()
    with TerminalStore.open(home) as again:
        assert again.state().seq == 4
        assert again.hot_list().equals(hot)
        assert again.sales_total_minor() == 250
        assert again.keys() == keys and [m.key_id for m in keys.master_keys] == [1, 2]


def test_record_sale_refuses_nonpositive(store):
    with pytest.raises(ValueError, match="amount_minor"):
        store.record_sale(NOW, 1, 0, 0, True)
    assert store.sales() == []
