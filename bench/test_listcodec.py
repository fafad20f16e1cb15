"""Hot-list codec: coded size against log2 C(U, r), and encode / decode rates on one core.

Run: .venv/bin/pytest bench/test_listcodec.py --benchmark-only -q
Prints a table of the 12 (r, U) cases (bytes, bound, ratio, decode and encode IDs/s) and writes
it to bench/results/listcodec.json. Lists are uniform random (seeded) with constant reason and
expiry columns, so the size is the ID set plus headers; the target is
bytes * 8 <= 1.10 * log2 C(U, r) + 64 * 8 and decode >= 5 M IDs/s.
"""

import json
import pathlib

import numpy as np
import pytest

from framing import HotList, Universe, bound_bits, decode_list, encode_list

U64_MAX = 2**64 - 1
CASES = [(r, u) for r in (10**3, 10**4, 10**5, 10**6) for u in (10**7, 10**8, 2**64)]
RESULTS_PATH = pathlib.Path(__file__).parent / "results" / "listcodec.json"
_rows: dict[tuple[int, int], dict] = {}


def _universe(size):
    return Universe.full() if size == 2**64 else Universe(((0, size - 1),))


def _random_list(size, r, seed):
    rng = np.random.default_rng(seed)
    if size == 2**64:
        ids = np.unique(rng.integers(0, U64_MAX, size=r, dtype=np.uint64, endpoint=True))
    else:
        ids = np.sort(rng.choice(size, size=r, replace=False)).astype(np.uint64)
    return HotList(ids, np.zeros(ids.size, np.uint8), np.zeros(ids.size, np.uint16))


def _label(size):
    return "2^64" if size == 2**64 else f"1e{round(np.log10(size))}"


class _TableReport:
    """Prints the table after pytest's own summary (output captured in tests is hidden)."""

    def __init__(self, lines):
        self.lines = lines

    def pytest_terminal_summary(self, terminalreporter):
        terminalreporter.write_line("list codec: size vs log2 C(U, r), rates on one core")
        for line in self.lines:
            terminalreporter.write_line(line)


@pytest.fixture(scope="module", autouse=True)
def table(request):
    yield
    if not _rows:
        return
    lines = [
        f"{'r':>8} {'U':>5} {'bytes':>10} {'bound B':>11} {'ratio':>7} "
        f"{'dec MID/s':>9} {'enc MID/s':>9}"
    ]
    for (r, size), row in sorted(_rows.items()):
        lines.append(
            f"{r:>8} {_label(size):>5} {row['bytes']:>10} {row['bound_bytes']:>11.1f} "
            f"{row['ratio']:>7.4f} {row.get('decode_ids_per_s', 0) / 1e6:>9.1f} "
            f"{row.get('encode_ids_per_s', 0) / 1e6:>9.1f}"
        )
    request.config.pluginmanager.register(_TableReport(lines), "listcodec-table")
    RESULTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    rows = [{"r": r, "U": str(u), **row} for (r, u), row in sorted(_rows.items())]
    RESULTS_PATH.write_text(json.dumps(rows, indent=1))


def _row(r, size, coded):
    bound = bound_bits(size, r)
    row = _rows.setdefault((r, size), {})
    row.update(bytes=len(coded), bound_bytes=bound / 8, ratio=len(coded) * 8 / bound)
    row["within_target"] = len(coded) * 8 <= 1.10 * bound + 64 * 8
    return row


@pytest.mark.parametrize("r,size", CASES, ids=[f"r{r}-U{_label(u)}" for r, u in CASES])
def test_decode(benchmark, r, size):
    hot = _random_list(size, r, seed=r % 1009)
    coded = encode_list(hot, _universe(size))
    row = _row(hot.ids.size, size, coded)
    _, decoded = benchmark.pedantic(decode_list, args=(coded,), rounds=5, iterations=1)
    assert decoded.equals(hot)
    row["decode_ids_per_s"] = hot.ids.size / benchmark.stats.stats.median
    benchmark.extra_info.update({k: v for k, v in row.items() if k != "encode_ids_per_s"})
    assert row["within_target"]


@pytest.mark.parametrize("r,size", CASES, ids=[f"r{r}-U{_label(u)}" for r, u in CASES])
def test_encode(benchmark, r, size):
    hot = _random_list(size, r, seed=r % 1009)
    universe = _universe(size)
    coded = benchmark.pedantic(encode_list, args=(hot, universe), rounds=3, iterations=1)
    row = _row(hot.ids.size, size, coded)
    row["encode_ids_per_s"] = hot.ids.size / benchmark.stats.stats.median
    benchmark.extra_info.update({k: v for k, v in row.items() if k != "decode_ids_per_s"})
