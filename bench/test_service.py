"""The center service on a real socket (uvicorn in a thread; the registry on SQLite, and on
PostgreSQL when ``$HOTCAST_TEST_PG`` names a server): reports accepted per second from 1 and 8
clients, pull latency for a terminal 1 and 100 deltas behind, and the load time of the operator
page.

Run: ``eval "$(.ci/postgres.sh)"; .venv/bin/pytest bench/test_service.py --benchmark-only -q``
(the figures are also in each benchmark's ``extra_info``: reports_per_s). The registry starts with ``LISTED`` cards, a
realistic center's list: a report costs indexed lookups and an audit row, never a pass over
the list, so the rate does not fall as the list grows.
"""

from __future__ import annotations

import re
import sys
import threading
import uuid
from pathlib import Path

import httpx2
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "center"))

from center_helpers import NOW, PASSPHRASE  # noqa: E402
from pg_fixtures import BACKENDS, make_home_on, require_pg, schema_url  # noqa: E402

from center.registry.home import CenterHome  # noqa: E402
from center.service import Bucket, ServiceLimits, start_http  # noqa: E402
from crypto import BundleKind  # noqa: E402

LISTED = 100_000
REPORTS = 400  # per round
DELTAS = 100
OPEN = Bucket(per_s=1e6, burst=10**6)  # no rate limit in the way of a benchmark
LIMITS = ServiceLimits(report_per_token=OPEN, report_per_address=OPEN, pull_per_token=OPEN,
                       pull_per_address=OPEN, login_per_address=OPEN)


@pytest.fixture(scope="module", params=BACKENDS)
def center(request, tmp_path_factory):
    """A center of LISTED cards with a full list and DELTAS deltas after it, served, its
    registry on SQLite or in a fresh PostgreSQL schema (``$HOTCAST_TEST_PG``)."""
    root = tmp_path_factory.mktemp("bench-service")
    db = None
    if request.param == "postgresql":
        import psycopg

        server = require_pg()
        schema = f"bench_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        db = schema_url(server, schema)
    with make_home_on(root / "home", db) as home:
        rows = "".join(f"{4000000000000000 + 13 * i},stolen\n" for i in range(LISTED))
        home.import_csv(rows, now=NOW, by="bench")
        home.build(BundleKind.FULL, now=NOW, by="bench")
        for d in range(DELTAS):
            home.revoke([str(4100000000000000 + d)], "lost", now=NOW + d, by="bench")
            home.build(BundleKind.DELTA, now=NOW + d, by="bench")
        tokens = {name: home.add_operator(name, role, now=NOW, by="bench")
                  for name, role in [(f"desk{i}", "operator") for i in range(8)] +
                  [("pos", "terminal"), ("boss", "admin")]}
    service = start_http(root / "home", "127.0.0.1:0", passphrase=PASSPHRASE,
                         clock=lambda: NOW + DELTAS, limits=LIMITS)
    yield service, tokens
    service.stop()
    if db is not None:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


_cards = iter(range(10**9))


def _report_many(url: str, token: str, n: int) -> None:
    with httpx2.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as client:
        for _ in range(n):
            card = 4200000000000000 + next(_cards)
            r = client.put(f"/v1/cards/{card}", json={"reason": "stolen", "note": "bench"})
            assert r.status_code == 200, r.text


@pytest.mark.parametrize("clients", [1, 8])
def test_reports_accepted_per_second(benchmark, center, clients):
    service, tokens = center

    def run() -> None:
        threads = [threading.Thread(target=_report_many,
                                    args=(service.url, tokens[f"desk{i}"], REPORTS // clients))
                   for i in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    benchmark.pedantic(run, rounds=3, iterations=1)
    rate = REPORTS / benchmark.stats.stats.mean
    benchmark.extra_info.update(clients=clients, reports=REPORTS, reports_per_s=round(rate, 1),
                                listed=LISTED)


@pytest.mark.parametrize("behind", [1, DELTAS])
def test_pull_latency(benchmark, center, behind):
    service, tokens = center
    head = 1 + DELTAS
    params = {"epoch": 1, "seq": head - behind, "keyset": 1, "root": 1, "master": 1}
    with httpx2.Client(base_url=service.url,
                       headers={"Authorization": f"Bearer {tokens['pos']}"}) as client:
        def pull() -> bytes:
            r = client.get("/v1/bundles", params=params)
            assert r.status_code == 200
            return r.content

        body = benchmark.pedantic(pull, rounds=50, iterations=1, warmup_rounds=2)
    benchmark.extra_info.update(behind=behind, bytes=len(body),
                                ms=round(1000 * benchmark.stats.stats.mean, 2))


@pytest.mark.parametrize("what", ["page", "page+assets"])
def test_operator_page_load(benchmark, center, what):
    service, tokens = center
    with httpx2.Client(base_url=service.url, follow_redirects=True) as browser:
        login = browser.get("/ui/login").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', login).group(1)
        r = browser.post("/ui/login", data={"token": tokens["boss"], "csrf": csrf})
        assert r.status_code == 200 and "boss" in r.text

        def load() -> None:
            assert browser.get("/ui/").status_code == 200
            if what == "page+assets":
                for asset in ("/ui/static/app.css", "/ui/static/app.js"):
                    assert browser.get(asset).status_code == 200

        benchmark.pedantic(load, rounds=20, iterations=1, warmup_rounds=1)
    benchmark.extra_info.update(ms=round(1000 * benchmark.stats.stats.mean, 2),
                                entries=LISTED + DELTAS)
