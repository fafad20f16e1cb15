"""BundleMerger: completed bundles -> the store, as applied / rejected / unchanged events.

Named after the attacks they stop (python-tuf style): forged bundles, replays, mix-and-match.
"""

from __future__ import annotations

import time

import pytest
from test_pipeline_signal import make_center, make_terminal

from receiver.store.merge import BundleMerger
from receiver.store.store import TerminalStore

NOW = int(time.time())
WHERE = {"sample": 100, "t_s": 0.5, "snr_db": 20.0, "freq_offset_hz": None, "ber": 0.0}


@pytest.fixture(scope="module")
def center(tmp_path_factory):
    return make_center(tmp_path_factory.mktemp("center") / "c", entries=50, delta_entries=5)


@pytest.fixture
def store(tmp_path, center):
    with TerminalStore.open(make_terminal(tmp_path / "t", center)) as s:
        yield s


def got(data: bytes) -> dict:
    return {"event": "bundle_received", "data": data, **WHERE}


def test_full_then_delta_apply_with_position_and_quality(store, center):
    m = BundleMerger(store)
    out = m.process([got(center.bundles[0]), got(center.bundles[1])], NOW)
    assert [(e["event"], e["seq"], e["kind"], e["entries"]) for e in out] == [
        ("bundle_applied", 1, "full", 50), ("bundle_applied", 2, "delta", 55)]
    assert out[0]["t_s"] == 0.5 and out[0]["snr_db"] == 20.0 and "data" not in out[0]
    assert store.state().seq == 2


def test_carousel_repeats_are_reported_once_per_seq(store, center):
    m = BundleMerger(store)
    out = m.process([got(center.bundles[0])] * 4, NOW)
    assert [e["event"] for e in out] == ["bundle_applied", "bundle_unchanged"]
    assert m.process([got(center.bundles[0])], NOW) == []


def test_delta_heard_before_its_full_bundle_is_held_then_applied(store, center):
    m = BundleMerger(store)
    out = m.process([got(center.bundles[1]), got(center.bundles[0])], NOW)
    assert out[0]["event"] == "bundle_rejected" and out[0]["retry"] is True
    assert "DeltaBaseError" in out[0]["why"] and out[0]["claimed_seq"] == 2
    assert [(e["event"], e["seq"]) for e in out[1:]] == [("bundle_applied", 1), ("bundle_applied", 2)]
    assert out[2]["held"] is True and store.state().entries == 55


def test_forged_bundle_on_air_is_rejected_and_store_untouched(store, center):
    forged = bytearray(center.bundles[0])
    forged[-40] ^= 0x01  # a bit of the signature or body
    m = BundleMerger(store)
    out = m.process([got(bytes(forged))] * 3, NOW)
    assert len(out) == 1 and out[0]["event"] == "bundle_rejected"
    assert out[0]["retry"] is False
    assert store.state().seq == 0 and store.state().entries == 0


def test_bundle_from_another_center_is_rejected(store, tmp_path):
    stranger = make_center(tmp_path / "stranger", entries=10, seed=5)
    out = BundleMerger(store).process([got(stranger.bundles[0])], NOW)
    assert out[0]["event"] == "bundle_rejected"
    assert store.state().seq == 0


def test_replayed_old_bundle_is_refused_as_superseded(store, center):
    """A genuine older bundle (a replay, or the full bundle going round after its delta) is
    refused as a rollback and reported once as superseded, not as a forgery."""
    m = BundleMerger(store)
    m.process([got(center.bundles[0]), got(center.bundles[1])], NOW)
    before = store.hot_list()
    out = m.process([got(center.bundles[0])] * 3, NOW)
    assert out == [{"event": "bundle_superseded", "seq": 1, "list_seq": 2, **WHERE}]
    assert store.state().seq == 2 and store.state().entries == 55
    assert store.hot_list().equals(before)
    assert m.superseded == 1 and m.rejected == 0


def test_expired_bundle_is_rejected(store, center):
    out = BundleMerger(store).process([got(center.bundles[0])], NOW + 200 * 365 * 86_400)
    assert "ExpiredBundleError" in out[0]["why"] and store.state().seq == 0


def test_garbage_that_completed_reassembly_is_rejected(store):
    out = BundleMerger(store).process([got(b"\x00" * 700)], NOW)
    assert out[0]["event"] == "bundle_rejected" and out[0]["claimed_seq"] is None


def test_summary_gains_merge_counts_in_contract_order(store, center):
    m = BundleMerger(store)
    m.process([got(center.bundles[0])], NOW)
    (s,) = m.process([{"event": "summary", "frames_ok": 5, "frames_bad": 1,
                       "seconds_of_signal": 1.5, "samples": 10}], NOW)
    assert list(s)[:5] == ["event", "frames_ok", "frames_bad", "bundles_applied",
                           "seconds_of_signal"]
    assert s["bundles_applied"] == 1 and s["bundles_rejected"] == 0


def test_held_bundles_are_bounded(store, center):
    m = BundleMerger(store, max_waiting=1)
    other = bytearray(center.bundles[1])
    m.process([got(center.bundles[1])], NOW)
    assert len(m._waiting) == 1
    m.process([got(bytes(other[:-1]) + b"\x00")], NOW)  # corrupt: not retryable, not held
    assert len(m._waiting) == 1
