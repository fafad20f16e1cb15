"""Fixtures for terminal tests: one center's keys (generated once) and a fresh store."""

import pytest

from crypto import CenterKeys, provision
from receiver.store.store import TerminalStore


@pytest.fixture(scope="session")
def center() -> CenterKeys:
    return CenterKeys.generate()


@pytest.fixture(scope="session")
def other_center() -> CenterKeys:
    return CenterKeys.generate()


@pytest.fixture
def home(tmp_path):
    return tmp_path / "home"


@pytest.fixture
def store(home, center):
    with TerminalStore.create(home, provision(center)) as s:
        yield s
