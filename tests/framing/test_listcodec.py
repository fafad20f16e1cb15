"""Round trips, size bounds and column costs of the hot-list codec."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from framing import (
    HotList,
    ListDelta,
    Universe,
    bound_bits,
    decode_delta,
    decode_list,
    diff,
    encode_delta,
    encode_list,
)
from framing._codec_bytes import ByteWriter
from framing.rice import encode_ranks, pack_fixed, unpack_fixed

U64_MAX = 2**64 - 1
EDGES = [0, 1, 2, 2**32, 2**63 - 1, 2**63, U64_MAX - 1, U64_MAX]
id_values = st.one_of(st.integers(0, U64_MAX), st.sampled_from(EDGES))


@st.composite
def universes(draw):
    """1 to 4 ranges, often touching the 64-bit edges (Universe merges overlaps)."""
    ranges = []
    for _ in range(draw(st.integers(1, 4))):
        a, b = draw(id_values), draw(id_values)
        ranges.append((min(a, b), max(a, b)))
    return Universe(tuple(ranges))


@st.composite
def hot_lists(draw, universe, pool=None, max_size=60):
    """A list over ``universe`` (IDs from ``pool`` ranks when given), random columns."""
    if pool is None:
        ranks = sorted(draw(st.sets(st.integers(0, universe.size - 1), max_size=max_size)))
    else:
        ranks = [x for x in pool if draw(st.booleans())]
    n = len(ranks)
    expiry = st.one_of(st.just(0), st.integers(1, 3), st.integers(1, 65535))
    return HotList(
        universe.unrank(np.array(ranks, dtype=np.uint64)),
        np.array(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)), dtype=np.uint8),
        np.array(draw(st.lists(expiry, min_size=n, max_size=n)), dtype=np.uint16),
    )


@st.composite
def universe_and_two_lists(draw):
    """A universe and two lists sharing IDs from one pool (so a diff has all three kinds)."""
    u = draw(universes())
    pool = sorted(draw(st.sets(st.integers(0, u.size - 1), max_size=40)))
    return u, draw(hot_lists(u, pool=pool)), draw(hot_lists(u, pool=pool))


def random_list(universe_size, r, seed, reasons=None, expiry=None):
    """r distinct IDs drawn uniformly from 0..U-1 (seeded), constant columns by default."""
    rng = np.random.default_rng(seed)
    if universe_size == 2**64:
        ids = np.unique(rng.integers(0, U64_MAX, size=r, dtype=np.uint64, endpoint=True))
        while ids.size < r:
            extra = rng.integers(0, U64_MAX, size=r - ids.size, dtype=np.uint64, endpoint=True)
            ids = np.unique(np.concatenate([ids, extra]))
    else:
        ids = np.sort(rng.choice(universe_size, size=r, replace=False)).astype(np.uint64)
    return HotList(
        ids,
        np.zeros(r, np.uint8) if reasons is None else reasons,
        np.zeros(r, np.uint16) if expiry is None else expiry,
    )


def universe_of(size):
    return Universe.full() if size == 2**64 else Universe(((0, size - 1),))


@given(st.data())
def test_list_round_trip(data):
    u = data.draw(universes())
    hot = data.draw(hot_lists(u))
    u2, hot2 = decode_list(encode_list(hot, u))
    assert u2 == u and hot2.equals(hot)


@given(universe_and_two_lists())
def test_delta_round_trip(drawn):
    u, old, new = drawn
    delta = diff(old, new)
    u2, delta2 = decode_delta(encode_delta(delta, u))
    assert u2 == u and delta2.equals(delta)


def test_round_trip_at_the_64_bit_edges():
    u = Universe.full()
    hot = HotList([0, 1, 2**63, U64_MAX - 1, U64_MAX], [0, 1, 2, 3, 0], [0, 1, 2, 65535, 0])
    assert decode_list(encode_list(hot, u))[1].equals(hot)
    single = HotList([U64_MAX], [3], [0])
    assert decode_list(encode_list(single, u))[1].equals(single)


def test_empty_list_and_empty_delta_round_trip():
    u = Universe.parse("1000-1999")
    u2, hot = decode_list(encode_list(HotList.empty(), u))
    assert u2 == u and len(hot) == 0
    delta = ListDelta(added=HotList.empty(), removed=np.zeros(0, np.uint64))
    assert decode_delta(encode_delta(delta, u))[1].equals(delta)


def test_ids_outside_the_universe_are_refused_at_encode():
    u = Universe.parse("100-199")
    with pytest.raises(ValueError, match="outside the universe"):
        encode_list(HotList([99], [0], [0]), u)
    delta = ListDelta(added=HotList.empty(), removed=np.array([200], np.uint64))
    with pytest.raises(ValueError, match="outside the universe"):
        encode_delta(delta, u)


@pytest.mark.parametrize("reason,expiry", [(0, 0), (2, 320)])
def test_constant_columns_cost_almost_nothing(reason, expiry):
    r = 10_000
    base = random_list(10**7, r, seed=1)
    hot = HotList(base.ids, np.full(r, reason, np.uint8), np.full(r, expiry, np.uint16))
    u = universe_of(10**7)
    id_section = ByteWriter()
    encode_ranks(u.rank(hot.ids), id_section)
    # magic 3 + version 1 + kind 1 + universe (1 + 1 + 4 bytes of varints) + r (2 bytes) = 13
    header_bytes = 13
    column_bytes = len(encode_list(hot, u)) - len(id_section.getvalue()) - header_bytes
    # Each constant column is a 3-varint table (size 1, value, count) and no coded data.
    assert column_bytes <= 2 * (1 + 2 + 3)


def empirical_entropy_bits(values):
    _, counts = np.unique(values, return_counts=True)
    p = counts / counts.sum()
    return float(-(counts * np.log2(p)).sum())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_columns_cost_at_most_entropy_plus_5_percent(seed):
    r = 50_000
    rng = np.random.default_rng(seed)
    reasons = rng.choice(4, size=r, p=[0.6, 0.3, 0.07, 0.03]).astype(np.uint8)
    months = rng.integers(1, 61, size=r) + 300
    expiry = np.where(rng.random(r) < 0.4, 0, months).astype(np.uint16)
    u = universe_of(10**8)
    plain = random_list(10**8, r, seed)
    rich = HotList(plain.ids, reasons, expiry)
    column_bits = 8 * (len(encode_list(rich, u)) - len(encode_list(plain, u)))
    # Tables: <= 4 rows for reasons, <= 61 rows for expiry, each row <= 1 + 3 bytes.
    table_bits = 8 * 4 * (4 + 61)
    entropy = empirical_entropy_bits(reasons) + empirical_entropy_bits(expiry)
    assert column_bits <= 1.05 * entropy + table_bits


def test_bound_bits_matches_exact_binomials():
    assert bound_bits(10, 3) == pytest.approx(math.log2(120))
    assert bound_bits(1000, 0) == 0.0
    assert bound_bits(1000, 1000) == pytest.approx(0.0, abs=1e-6)
    assert bound_bits(2**64, 1) == pytest.approx(64.0)
    assert bound_bits(10**6, 500) == pytest.approx(math.log2(math.comb(10**6, 500)), rel=1e-9)


SMALL_CASES = [(r, u) for r in (1_000, 10_000) for u in (10**7, 10**8, 2**64)]
LARGE_CASES = [(r, u) for r in (100_000, 1_000_000) for u in (10**7, 10**8, 2**64)]


def check_size_bound(r, universe_size):
    hot = random_list(universe_size, r, seed=r % 97)
    coded = encode_list(hot, universe_of(universe_size))
    assert len(coded) * 8 <= 1.10 * bound_bits(universe_size, r) + 64 * 8
    assert decode_list(coded)[1].equals(hot)


@pytest.mark.parametrize("r,universe_size", SMALL_CASES)
def test_size_within_10_percent_of_the_bound(r, universe_size):
    check_size_bound(r, universe_size)


@pytest.mark.slow
@pytest.mark.parametrize("r,universe_size", LARGE_CASES)
def test_size_within_10_percent_of_the_bound_large(r, universe_size):
    check_size_bound(r, universe_size)


def test_size_bound_over_a_multi_range_universe():
    u = Universe.parse("4000000000000000-4000009999999999,5100000000000000-5100004999999999")
    ranks = np.sort(np.random.default_rng(5).choice(u.size, size=20_000, replace=False))
    ids = u.unrank(ranks.astype(np.uint64))
    hot = HotList(ids, np.zeros(ids.size, np.uint8), np.zeros(ids.size, np.uint16))
    coded = encode_list(hot, u)
    assert len(coded) * 8 <= 1.10 * bound_bits(u.size, ids.size) + 64 * 8
    assert decode_list(coded)[1].equals(hot)


@given(st.integers(1, 56), st.lists(st.integers(0, 2**56 - 1), max_size=50))
def test_fixed_width_pack_round_trip(width, values):
    arr = np.array(values, dtype=np.uint64) & np.uint64((1 << width) - 1)
    packed = pack_fixed(arr, width)
    assert len(packed) == (arr.size * width + 7) // 8
    assert unpack_fixed(packed, arr.size, width).tolist() == arr.tolist()
