"""Reports accepted per second at the registry API (``CenterHome.revoke``, one card a call, as
the HTTP service makes them), on SQLite and PostgreSQL, with 1 and 8 client processes, into a
registry that already lists ``LISTED`` cards.

Each client is a process with its own open home (8 clients share one home, so its writer lock
and the database's order them); all start together behind a barrier and each revokes its own
cards one call at a time. The rate is every accepted card over the time from the barrier to the
last client's last commit, and goes to ``extra_info["accepted_per_s"]``; nothing asserts a time.
Both databases commit durably (SQLite ``synchronous=FULL``; the PostgreSQL of
``.ci/postgres.sh`` keeps ``fsync`` on unless ``HOTCAST_PG_FAST=1``).

Run: ``eval "$(.ci/postgres.sh)"; .venv/bin/pytest bench/test_registry_rate.py --benchmark-only
-q -s`` (without ``$HOTCAST_TEST_PG`` the PostgreSQL cases skip).
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest

from center.registry.home import REQUEST_FILE, CenterHome
from center.root.home import RootHome

NOW = 1_790_000_000
PASSPHRASE = "bench passphrase"
CALLS = 400  # revokes per round, split over the clients
# Cards on the list before the first report: a realistic center's list (a report's cost must
# not grow with it: indexed lookups, no scan of the list).
LISTED = 100_000
_homes = itertools.count()


@pytest.fixture(autouse=True, scope="module")
def cheap_key_files():
    """Homes made here use scrypt N = 2**10: the bench measures the registry, not the KDF."""
    from crypto import _keyfile

    saved = _keyfile.DEFAULT_KDF
    _keyfile.DEFAULT_KDF = _keyfile.KdfParams(log2_n=10)
    yield
    _keyfile.DEFAULT_KDF = saved


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request):
    """None (SQLite in the home), or a fresh schema in ``$HOTCAST_TEST_PG``."""
    if request.param == "sqlite":
        yield None
        return
    server = os.environ.get("HOTCAST_TEST_PG")
    if not server:
        pytest.skip('no PostgreSQL: eval "$(.ci/postgres.sh)" sets $HOTCAST_TEST_PG')
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    options = quote(f"-csearch_path={schema}", safe="")
    yield f"{server}{'&' if '?' in server else '?'}options={options}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


def _make_home(path: Path, db: str | None) -> Path:
    root = RootHome.init(Path(f"{path}-root"), passphrase=lambda: PASSPHRASE)
    with CenterHome.init(path, root_pub=root.root_set_bytes(1), now=NOW, by="bench",
                         passphrase=PASSPHRASE, db=db) as home:
        home.import_trust([root.sign_keyset((path / REQUEST_FILE).read_bytes())], now=NOW,
                          by="bench")
        home.import_csv("".join(f"{4000000000000000 + 13 * i},stolen\n" for i in range(LISTED)),
                        now=NOW, by="bench")
    return path


def _client(home_path: str, cards: list[str], barrier, results) -> None:
    with CenterHome.open(home_path) as home:
        barrier.wait(timeout=60)
        start = time.perf_counter()
        accepted = sum(home.revoke([card], now=NOW, by="bench").added for card in cards)
        results.put((start, time.perf_counter(), accepted))


def _round(home_path: Path, clients: int, first_card: int) -> tuple[int, float]:
    """(cards accepted, seconds) for CALLS revokes spread over ``clients`` processes."""
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(clients), ctx.Queue()
    per = CALLS // clients
    procs = [ctx.Process(target=_client, args=(
        str(home_path), [str(first_card + c * per + i) for i in range(per)], barrier, results))
        for c in range(clients)]
    for p in procs:
        p.start()
    got = [results.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    starts, ends, accepted = zip(*got)
    return sum(accepted), max(ends) - min(starts)


@pytest.mark.parametrize("clients", [1, 8])
def test_reports_accepted_per_second(benchmark, tmp_path: Path, database, clients: int) -> None:
    home_path = _make_home(tmp_path / f"home{next(_homes)}", database)
    rounds = itertools.count()
    totals: list[tuple[int, float]] = []

    def run() -> None:
        totals.append(_round(home_path, clients, 4929000000000000 + next(rounds) * CALLS))

    benchmark.pedantic(run, rounds=3, iterations=1)
    accepted = sum(a for a, _ in totals)
    assert accepted == CALLS * len(totals)
    rate = accepted / sum(s for _, s in totals)
    benchmark.extra_info.update(accepted_per_s=round(rate), clients=clients, listed=LISTED,
                                backend=database and "postgresql" or "sqlite")
    print(f"\n{database and 'postgresql' or 'sqlite'}, {clients} client(s), {LISTED} listed: "
          f"{rate:.0f} reports accepted per second")
