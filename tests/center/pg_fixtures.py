"""Fixtures that run registry tests on both backends: SQLite in the home, and PostgreSQL.

PostgreSQL tests need a server: ``$HOTCAST_TEST_PG`` is its libpq URL (``eval
"$(.ci/postgres.sh)"`` installs and starts a private one and sets it). Without it, or when
nothing answers there, they skip and say so. Each test gets a schema of its own in that database
(``options=-csearch_path=...`` in its URL), dropped afterwards, so tests never see each other's
rows and a registry's writer lock (a table in its schema) is its own.

Use: ``from pg_fixtures import backend, db, any_home, pg_url  # noqa: F401`` in a test module.
"""

from __future__ import annotations

import functools
import os
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from center_helpers import NOW, OPERATOR, PASSPHRASE

from center.registry.home import REQUEST_FILE, CenterHome
from center.root.home import RootHome
from framing import Universe

PG_ENV = "HOTCAST_TEST_PG"
BACKENDS = ("sqlite", "postgresql")


@functools.cache
def _server_problem() -> str | None:
    """Why PostgreSQL tests cannot run here, or None when a server answers."""
    url = os.environ.get(PG_ENV)
    if not url:
        return (f"no PostgreSQL server: set ${PG_ENV} to a libpq URL "
                '(eval "$(.ci/postgres.sh)" installs and starts one)')
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install 'psycopg[binary]')"
    try:
        psycopg.connect(url, connect_timeout=5).close()
    except psycopg.Error as exc:
        return f"nothing answers at ${PG_ENV}: {str(exc).strip().splitlines()[0]}"
    return None


def require_pg() -> str:
    """The server URL, or skip the test naming why there is none."""
    problem = _server_problem()
    if problem is not None:
        pytest.skip(problem)
    return os.environ[PG_ENV]


def schema_url(server: str, schema: str) -> str:
    """``server`` with its search_path set to ``schema`` (libpq ``options``)."""
    joiner = "&" if "?" in server else "?"
    return f"{server}{joiner}options={quote(f'-csearch_path={schema}', safe='')}"


@pytest.fixture
def pg_url() -> str:
    """A URL whose search_path is a fresh, empty schema (dropped after the test)."""
    import psycopg

    server = require_pg()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    yield schema_url(server, schema)
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def db(backend: str, request) -> str | None:
    """None (SQLite in the home) or a fresh PostgreSQL schema's URL."""
    return None if backend == "sqlite" else request.getfixturevalue("pg_url")


def make_home_on(path: Path, db: str | None, universe: Universe | None = None, *,
                 now: int = NOW, with_keyset: bool = True) -> CenterHome:
    """``center_helpers.make_home`` with the registry on ``db`` (None: SQLite)."""
    root = RootHome.init(Path(f"{path}-root"), passphrase=lambda: PASSPHRASE)
    home = CenterHome.init(path, universe, root_pub=root.root_set_bytes(1), now=now,
                           by=OPERATOR, passphrase=PASSPHRASE, db=db)
    if with_keyset:
        signed = root.sign_keyset((path / REQUEST_FILE).read_bytes())
        home.import_trust([signed], now=now, by=OPERATOR)
    return home


@pytest.fixture
def any_home(tmp_path: Path, db: str | None):
    """A center home with a key set, on each backend in turn."""
    with make_home_on(tmp_path / "home", db) as home:
        yield home


def integrity_errors(home: CenterHome) -> tuple[type[BaseException], ...]:
    """The exceptions the home's database raises for a broken rule (a trigger, a UNIQUE)."""
    return home.registry.integrity_errors
