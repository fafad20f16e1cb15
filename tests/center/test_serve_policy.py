"""The carousel policy: cut-in order, delta repeats, the full list's period, and the figures
(cycle, worst wait) that status and schedule show."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

import framing
from center.air.live import LiveCarousel
from center.air.policy import (
    AUTO_FULL_FRACTION,
    DEFAULT_PRIORITY,
    MAX_FULL_FRACTION,
    Policy,
    air_figures,
    blocks_of,
    check_priority,
    shares,
)
from crypto import BundleKind, MetadataType

NOW = 1_790_000_000


@dataclass(frozen=True)
class B:
    kind: object
    seq: int
    sealed: bytes
    created_at: int = NOW
    valid_until: int = NOW + 86_400


def bundle(kind, seq: int, nbytes: int) -> B:
    return B(kind, seq, bytes([seq % 251 + 1]) * nbytes)


def slots_of(live: LiveCarousel, frames: int) -> list:
    return [s[:2] if s else None for s in live.process(frames).slots]


FULL, DELTA = int(BundleKind.FULL), int(BundleKind.DELTA)
BEAT, ANN = int(BundleKind.HEARTBEAT), int(BundleKind.ANNOUNCE)


def test_source_blocks_of_every_new_item_first_then_the_repairs() -> None:
    live = LiveCarousel("ir", policy=Policy())
    live.update([bundle(BundleKind.FULL, 1, 20_000)], NOW)
    slots_of(live, 3)
    change = [bundle(BundleKind.FULL, 1, 20_000), bundle(BundleKind.DELTA, 2, 600),
              bundle(BundleKind.HEARTBEAT, 2, 149), bundle(BundleKind.ANNOUNCE, 1, 217)]
    live.update(change, NOW)
    # announcement (K 1), delta (K 3), heartbeat (K 1); then the repairs (2 each) in that order
    assert slots_of(live, 11) == ([(ANN, 1)] + [(DELTA, 2)] * 3 + [(BEAT, 2)]
                                  + [(ANN, 1)] * 2 + [(DELTA, 2)] * 2 + [(BEAT, 2)] * 2)


def test_a_new_delta_never_waits_behind_the_repairs_of_the_change_before() -> None:
    live = LiveCarousel("ir", policy=Policy())
    live.update([bundle(BundleKind.FULL, 1, 20_000)], NOW)
    slots_of(live, 3)
    live.update([bundle(BundleKind.FULL, 1, 20_000), bundle(BundleKind.DELTA, 2, 200),
                 bundle(BundleKind.HEARTBEAT, 2, 149), bundle(BundleKind.ANNOUNCE, 1, 217)], NOW)
    assert slots_of(live, 4) == [(ANN, 1), (DELTA, 2), (BEAT, 2), (ANN, 1)]
    # the next change arrives while the repairs of the last one still cut in
    live.update([bundle(BundleKind.FULL, 1, 20_000), bundle(BundleKind.DELTA, 3, 210),
                 bundle(BundleKind.HEARTBEAT, 3, 149), bundle(BundleKind.ANNOUNCE, 1, 218)], NOW)
    assert slots_of(live, 3) == [(ANN, 1), (DELTA, 3), (BEAT, 3)]


def test_a_superseded_delta_finishes_the_source_blocks_it_began() -> None:
    live = LiveCarousel("ir", policy=Policy())
    live.update([bundle(BundleKind.FULL, 1, 20_000)], NOW)
    slots_of(live, 1)
    live.update([bundle(BundleKind.FULL, 1, 20_000), bundle(BundleKind.DELTA, 2, 800)], NOW)
    assert slots_of(live, 2) == [(DELTA, 2)] * 2  # 2 of its 3 source blocks
    live.update([bundle(BundleKind.FULL, 1, 20_000), bundle(BundleKind.DELTA, 3, 820)], NOW)
    block = live.process(5)
    got = [s[:2] for s in block.slots]
    # delta 2 is off air, but its third source block still goes (a terminal then has it whole),
    # then delta 3 from its start; delta 2's repairs and later rounds are gone
    assert got == [(DELTA, 2)] + [(DELTA, 3)] * 4
    assert [(e.event, e.seq) for e in block.events] == [("off_air", 2), ("on_air", 3)]
    assert all(s != (DELTA, 2) for s in slots_of(live, 40))


def test_the_priority_is_the_policy_s() -> None:
    policy = Policy(priority=("heartbeat", "announce", "deltas", "keys", "full"))
    live = LiveCarousel("ir", policy=policy)
    live.update([bundle(BundleKind.FULL, 1, 5_000)], NOW)
    slots_of(live, 1)
    live.update([bundle(BundleKind.FULL, 1, 5_000), bundle(BundleKind.DELTA, 2, 200),
                 bundle(BundleKind.HEARTBEAT, 2, 149), bundle(BundleKind.MASTER_ROLL, 5, 200)],
                NOW)
    got = slots_of(live, 9)
    roll = int(BundleKind.MASTER_ROLL)
    assert got == [(BEAT, 2), (DELTA, 2), (roll, 5)] + [(BEAT, 2)] * 2 + [(DELTA, 2)] * 2 + [(roll, 5)] * 2


def test_a_delta_repeats_whole_one_own_length_apart() -> None:
    live = LiveCarousel("ir", policy=Policy(delta_repeats=3))
    live.update([bundle(BundleKind.FULL, 1, 20_000)], NOW)
    slots_of(live, 2)
    live.update([bundle(BundleKind.FULL, 1, 20_000), bundle(BundleKind.DELTA, 2, 200)], NOW)
    got = slots_of(live, 30)
    at = [i for i, s in enumerate(got) if s == (DELTA, 2)]
    # 3 blocks at once, then after 3 frames of the full list again, twice; then round-robin
    assert at[:9] == [0, 1, 2, 6, 7, 8, 12, 13, 14]
    assert not live.urgent_pending


def test_without_a_policy_the_carousel_is_the_plain_render() -> None:
    live = LiveCarousel("ir")
    items = [bundle(BundleKind.FULL, 1, 20_000), bundle(BundleKind.DELTA, 2, 200)]
    live.update(items, NOW)
    cfg = framing.frame_config("ir")
    n = [blocks_of(len(b.sealed), cfg)[1] for b in items]
    got = slots_of(live, sum(n))
    assert got.count((FULL, 1)) == n[0] and got.count((DELTA, 2)) == n[1]


def test_full_every_gives_the_full_list_its_period() -> None:
    frame_s = 0.2
    policy = Policy(full_every_s=60.0)
    weights = shares([(BundleKind.FULL, 150), (BundleKind.DELTA, 3), (BundleKind.HEARTBEAT, 3)],
                     frame_s, policy)
    fraction = weights[0] / sum(weights)
    assert fraction == pytest.approx(150 * frame_s / 60.0)  # 0.5: once a minute
    assert weights[1:] == [3.0, 3.0]
    auto = shares([(BundleKind.FULL, 1000), (BundleKind.DELTA, 3)], frame_s, Policy())
    assert auto[0] / sum(auto) == pytest.approx(AUTO_FULL_FRACTION)
    small = shares([(BundleKind.FULL, 3), (BundleKind.DELTA, 3)], frame_s, Policy())
    assert small == [3.0, 3.0]  # a small full list keeps its plain share
    capped = shares([(BundleKind.FULL, 1000), (BundleKind.DELTA, 3)], frame_s,
                    Policy(full_every_s=1.0))
    assert capped[0] / sum(capped) == pytest.approx(MAX_FULL_FRACTION)


@given(st.integers(1, 5000), st.lists(st.integers(1, 50), min_size=1, max_size=6),
       st.floats(1.0, 10_000.0))
def test_shares_are_positive_and_give_the_full_list_at_most_its_cap(nf, small, every) -> None:
    items = [(BundleKind.FULL, nf)] + [(BundleKind.DELTA, n) for n in small]
    for policy in (Policy(), Policy(full_every_s=every)):
        w = shares(items, 0.2, policy)
        assert all(x > 0 for x in w)
        assert w[0] / sum(w) <= MAX_FULL_FRACTION + 1e-9
        assert w[1:] == [float(n) for n in small]


def test_figures_cycle_and_worst_wait() -> None:
    items = [(BundleKind.FULL, 1, 680 * 100), (BundleKind.DELTA, 2, 250),
             (MetadataType.KEY_SET, 1, 400)]
    plain = air_figures("fm", items, Policy(full_every_s=None))
    frame_s = 7800 / 38_000
    k, n = blocks_of(68_000, framing.frame_config("fm"))
    assert (k, n) == (100, 110)
    # auto: the full list takes 3/4 of the air, so goes out once per n x frame / 0.75
    assert plain.cycle_s == pytest.approx(n * frame_s / AUTO_FULL_FRACTION)
    full = plain.items[0]
    assert full.wait_s == pytest.approx((k / AUTO_FULL_FRACTION + 1) * frame_s)
    assert plain.worst_wait_s == pytest.approx(full.wait_s + 4000 / 38_000)
    fast = air_figures("fm", items, Policy(full_every_s=600.0))
    assert fast.items[0].period_s == pytest.approx(600.0)
    assert fast.items[1].period_s < plain.items[1].period_s / 3  # the delta repeats more


def test_priority_lists_are_checked() -> None:
    assert check_priority(["keys", "deltas", "heartbeat", "announce", "full"])
    assert check_priority(list(DEFAULT_PRIORITY))[0] == "announce"
    for bad, words in ((["keys"], "leaves out"), ("keys", "want a list"),
                       (["keys", "keys", "deltas", "heartbeat", "announce", "full"], "twice"),
                       (["keys", "deltas", "heartbeat", "full", "announce"], "last"),
                       (["keys", "deltas", "heartbeat", "announce", "full", "x"], "unknown")):
        with pytest.raises(ValueError, match=words):
            check_priority(bad)
