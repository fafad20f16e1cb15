"""Unit and property tests of the hot-list values: Universe, month codes, HotList, diff/patch."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from framing import HotList, ListDelta, Reason, Universe, diff, month_code, month_of, patch

U64_MAX = 2**64 - 1
EDGES = [0, 1, 2, 2**32, 2**63 - 1, 2**63, U64_MAX - 1, U64_MAX]
id_values = st.one_of(st.integers(0, U64_MAX), st.sampled_from(EDGES))


@st.composite
def universes(draw):
    n = draw(st.integers(1, 4))
    ranges = []
    for _ in range(n):
        a, b = draw(id_values), draw(id_values)
        ranges.append((min(a, b), max(a, b)))
    return Universe(tuple(ranges))


@st.composite
def hot_lists(draw, universe=None, max_size=40):
    universe = universe or draw(universes())
    ranks = draw(st.sets(st.integers(0, universe.size - 1), max_size=max_size))
    ids = universe.unrank(np.array(sorted(ranks), dtype=np.uint64))
    reasons = draw(st.lists(st.integers(0, 3), min_size=ids.size, max_size=ids.size))
    expiry = draw(
        st.lists(st.one_of(st.just(0), st.integers(1, 65535)), min_size=ids.size, max_size=ids.size)
    )
    return HotList(ids, np.array(reasons, dtype=np.uint8), np.array(expiry, dtype=np.uint16))


def test_reason_names_are_the_cli_words():
    assert [r.name.lower() for r in Reason] == ["stolen", "lost", "fraud", "other"]
    assert [int(r) for r in Reason] == [0, 1, 2, 3]


def test_month_code_examples():
    assert month_code(2000, 1) == 1
    assert month_code(2026, 11) == 26 * 12 + 10 + 1
    assert month_of(month_code(2031, 12)) == (2031, 12)
    assert month_of(65535) == (7461, 3)  # 65535 - 1 = 5461 * 12 + 2


@pytest.mark.parametrize("year,month", [(1999, 12), (2026, 0), (2026, 13), (7461, 4)])
def test_month_code_refuses_out_of_range(year, month):
    with pytest.raises(ValueError):
        month_code(year, month)


@pytest.mark.parametrize("code", [0, -1, 65536])
def test_month_of_refuses_no_expiry_and_out_of_range(code):
    with pytest.raises(ValueError):
        month_of(code)


@given(st.integers(1, 65535))
def test_month_code_round_trip(code):
    assert month_code(*month_of(code)) == code


def test_universe_parse_and_str():
    u = Universe.parse("100-199, 0-9,10-19")
    assert u.ranges == ((0, 19), (100, 199))  # adjacent ranges merge, order is canonical
    assert str(u) == "0-19,100-199"
    assert Universe.parse(str(u)) == u
    assert u.size == 120
    assert Universe.full().size == 2**64
    assert str(Universe.full()) == f"0-{U64_MAX}"


@pytest.mark.parametrize(
    "text,bad",
    [("5-1", "5-1"), ("1-x", "1-x"), ("", "''"), ("1-2,,3-4", "''"), (f"0-{2**64}", "0-")],
)
def test_universe_parse_names_the_bad_part(text, bad):
    with pytest.raises(ValueError, match=bad):
        Universe.parse(text)


def test_universe_refuses_empty_and_out_of_range():
    with pytest.raises(ValueError, match="ranges"):
        Universe(())
    with pytest.raises(ValueError, match="ranges"):
        Universe(((0, 2**64),))


def test_universe_rank_unrank_examples():
    u = Universe(((10, 12), (20, 21), (U64_MAX - 1, U64_MAX)))
    ids = np.array([10, 11, 12, 20, 21, U64_MAX - 1, U64_MAX], dtype=np.uint64)
    ranks = u.rank(ids)
    assert ranks.tolist() == list(range(7))
    assert u.unrank(ranks).tolist() == ids.tolist()
    assert u.contains(np.array([9, 10, 13, 19, U64_MAX], dtype=np.uint64)).tolist() == [
        False,
        True,
        False,
        False,
        True,
    ]
    with pytest.raises(ValueError, match="outside the universe"):
        u.rank(np.array([13], dtype=np.uint64))
    with pytest.raises(ValueError, match="outside the universe"):
        u.unrank(np.array([7], dtype=np.uint64))


@given(universes(), st.data())
def test_universe_rank_is_a_monotone_bijection(u, data):
    ranks = np.array(
        sorted(data.draw(st.sets(st.integers(0, u.size - 1), max_size=30))), dtype=np.uint64
    )
    ids = u.unrank(ranks)
    assert bool(np.all(u.contains(ids)))
    assert u.rank(ids).tolist() == ranks.tolist()
    assert bool(np.all(np.diff(ids.astype(object)) > 0)) if ids.size > 1 else True


def test_hotlist_validation():
    ok = HotList([1, 2, U64_MAX], [0, 1, 3], [0, 5, 65535])
    assert len(ok) == 3 and ok.ids.dtype == np.uint64 and ok.ids[-1] == U64_MAX
    assert not ok.ids.flags.writeable
    with pytest.raises(ValueError, match="sorted"):
        HotList([2, 1], [0, 0], [0, 0])
    with pytest.raises(ValueError, match="sorted"):
        HotList([1, 1], [0, 0], [0, 0])
    with pytest.raises(ValueError, match="reasons"):
        HotList([1], [4], [0])
    with pytest.raises(ValueError, match="lengths"):
        HotList([1, 2], [0], [0, 0])
    with pytest.raises(ValueError, match="ids"):
        HotList([-1], [0], [0])
    with pytest.raises(ValueError, match="expiry"):
        HotList([1], [0], [65536])
    with pytest.raises(TypeError, match="ids"):
        HotList(np.array([1.0]), [0], [0])
    assert len(HotList.empty()) == 0


def test_delta_refuses_an_id_both_added_and_removed():
    with pytest.raises(ValueError, match="both added and removed"):
        ListDelta(added=HotList([5], [0], [0]), removed=np.array([5], dtype=np.uint64))


def test_diff_examples():
    old = HotList([1, 2, 3], [0, 0, 0], [0, 0, 0])
    new = HotList([2, 3, 4], [0, 2, 0], [0, 0, 7])
    delta = diff(old, new)
    assert delta.removed.tolist() == [1]
    assert delta.added.ids.tolist() == [3, 4]  # 3 changed its reason, 4 is new
    assert patch(old, delta).equals(new)


def test_patch_removing_an_unlisted_id_is_a_no_op():
    old = HotList([1], [0], [0])
    delta = ListDelta(added=HotList.empty(), removed=np.array([9], dtype=np.uint64))
    assert patch(old, delta).equals(old)


@st.composite
def related_lists(draw):
    """Two lists over one pool of IDs, so that they share IDs and sometimes attributes."""
    u = draw(universes())
    pool = sorted(draw(st.sets(st.integers(0, u.size - 1), max_size=30)))

    def one_list():
        ranks = [x for x in pool if draw(st.booleans())]
        n = len(ranks)
        return HotList(
            u.unrank(np.array(ranks, dtype=np.uint64)),
            np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)), dtype=np.uint8),
            np.array(draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)), dtype=np.uint16),
        )

    return one_list(), one_list()


@given(related_lists())
def test_patch_of_diff_is_new(lists):
    old, new = lists
    delta = diff(old, new)
    assert patch(old, delta).equals(new)
    assert np.intersect1d(delta.removed, new.ids).size == 0
    unchanged = diff(new, new)
    assert unchanged.added.ids.size == 0 and unchanged.removed.size == 0
