"""Fixtures for the center service tests: a center home with a key set, an operator store
(the registry's own, through tests/center/service_operators.py) holding one token per role, a fixed clock, and the app
driven in process (FastAPI's TestClient) or served by uvicorn on a free port.

Test modules import the fixtures they use from here.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from center_helpers import NOW, PASSPHRASE, dump_home, make_home
from fastapi.testclient import TestClient
from service_operators import HomeOperators

from center.service import ServiceLimits, create_app

ISSUER_RANGE = (4000000000000000, 4999999999999999)
ROLES = ("admin", "operator", "auditor", "issuer", "terminal")
CARD = "4929123412341234"  # inside the issuer's range
OTHER_CARD = "5500000000000004"  # outside it


class Clock:
    """A clock the test moves: unix seconds."""

    def __init__(self, now: int = NOW) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


class FakeMonotonic:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@dataclass
class Env:
    """One service under test and everything around it."""

    home_path: Path
    operators: HomeOperators
    tokens: dict[str, str]
    clock: Clock
    monotonic: FakeMonotonic
    logged: list[dict] = field(default_factory=list)
    status: dict | None = None
    schedule_rows: list[dict] | None = None
    limits: ServiceLimits = ServiceLimits()

    def app(self, **overrides):
        kwargs = dict(passphrase=PASSPHRASE, clock=self.clock, operators=self.operators,
                      status=lambda: self.status, log=self.logged.append, limits=self.limits,
                      monotonic=self.monotonic,
                      schedule=None if self.schedule_rows is None else
                      (lambda hours: [r for r in self.schedule_rows]))
        kwargs.update(overrides)
        return create_app(self.home_path, **kwargs)

    def client(self, role: str | None = None, **overrides) -> TestClient:
        client = TestClient(self.app(**overrides))
        if role is not None:
            client.headers["Authorization"] = f"Bearer {self.tokens[role]}"
        return client

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def state(self) -> tuple:
        """Everything a request could change: the registry, the keys, the operators."""
        return dump_home(self.home_path), self.operators.dump()


def make_env(tmp_path: Path, limits: ServiceLimits = ServiceLimits(),
             template: Path | None = None) -> Env:
    """A fresh env in ``tmp_path``; its home is a copy of ``template`` when given (making a
    home with its root costs far more than copying one)."""
    if template is None:
        make_home(tmp_path / "home").close()
    else:
        shutil.copytree(template, tmp_path / "home")
    operators = HomeOperators(tmp_path / "home")
    tokens = {}
    for role in ROLES:
        ranges = (ISSUER_RANGE,) if role == "issuer" else None
        tokens[role] = operators.add_operator(role, role, ranges=ranges, now=NOW, by="setup")
    return Env(tmp_path / "home", operators, tokens, Clock(), FakeMonotonic(), limits=limits)


@pytest.fixture(scope="session")
def home_template(tmp_path_factory) -> Path:
    """One center home with its first key set, made once a session and copied by ``env``."""
    path = tmp_path_factory.mktemp("template") / "home"
    make_home(path).close()
    return path


@pytest.fixture
def env(tmp_path: Path, home_template: Path) -> Env:
    return make_env(tmp_path, template=home_template)
