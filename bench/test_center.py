"""Center throughput: importing, building and listing a million-card registry.

Run: ``.venv/bin/pytest bench/test_center.py --benchmark-only -q``. The target from issue 2 is a
1 000 000-row CSV import under 30 s on the 2-core reference machine.
"""

from __future__ import annotations

from crypto import BundleKind

import itertools
from pathlib import Path

import numpy as np
import pytest

from center.registry.home import CenterHome

NOW = 1_790_000_000
ROWS = 1_000_000
_homes = itertools.count()


def million_row_csv(rows: int = ROWS, seed: int = 1) -> bytes:
    """``rows`` distinct 16-digit PAN-like IDs with random reasons and expiry months."""
    rng = np.random.default_rng(seed)
    ids = rng.choice(10**15, size=rows, replace=False) + 4 * 10**15
    reasons = np.array(["stolen", "lost", "fraud", "other"])[rng.integers(0, 4, rows)]
    years = rng.integers(2027, 2032, rows)
    months = rng.integers(1, 13, rows)
    lines = (f"{i},{r},{y}-{m:02d}" for i, r, y, m in
             zip(ids.tolist(), reasons.tolist(), years.tolist(), months.tolist()))
    return ("card_id,reason,expires\n" + "\n".join(lines) + "\n").encode()


@pytest.fixture(scope="module")
def csv_bytes() -> bytes:
    return million_row_csv()


@pytest.fixture(scope="module")
def loaded_home(tmp_path_factory, csv_bytes) -> CenterHome:
    home = CenterHome.init(tmp_path_factory.mktemp("loaded") / "home", now=NOW, by="bench")
    home.import_csv(csv_bytes, now=NOW, by="bench")
    yield home
    home.close()


def test_import_one_million_rows(benchmark, tmp_path: Path, csv_bytes: bytes) -> None:
    def fresh_home():
        home = CenterHome.init(tmp_path / f"h{next(_homes)}", now=NOW, by="bench")
        return (home,), {}

    def run(home: CenterHome) -> None:
        result = home.import_csv(csv_bytes, now=NOW, by="bench")
        assert result.counts.added == ROWS
        home.close()

    benchmark.pedantic(run, setup=fresh_home, rounds=2, iterations=1)


def test_build_full_of_one_million(benchmark, loaded_home: CenterHome) -> None:
    built = benchmark.pedantic(lambda: loaded_home.build(now=NOW, by="bench"),
                               rounds=2, iterations=1)
    benchmark.extra_info["bundle_bytes"] = len(built.sealed)
    benchmark.extra_info["bits_per_entry"] = round(8 * len(built.sealed) / ROWS, 2)


def test_build_delta_of_one_million(benchmark, loaded_home: CenterHome) -> None:
    base = loaded_home.build(now=NOW, by="bench")
    loaded_home.revoke([str(4 * 10**15 + i) for i in range(0, 2000, 2)], now=NOW, by="bench")
    built = benchmark.pedantic(lambda: loaded_home.build(BundleKind.DELTA, base.seq, now=NOW, by="bench"),
                               rounds=2, iterations=1)
    benchmark.extra_info["bundle_bytes"] = len(built.sealed)


def test_read_list_of_one_million(benchmark, loaded_home: CenterHome) -> None:
    count = benchmark.pedantic(lambda: sum(1 for _ in loaded_home.list_entries()),
                               rounds=2, iterations=1)
    assert count >= ROWS
