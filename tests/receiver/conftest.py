"""Fixtures for terminal tests: one simulated center (tests/simcenter.py) and a fresh store."""

import pytest

from receiver.store.store import TerminalStore
from tests.simcenter import SimCenter


@pytest.fixture
def sim() -> SimCenter:
    return SimCenter()


@pytest.fixture
def other_sim() -> SimCenter:
    """Another center with its own root: nothing it signs opens at our terminal."""
    return SimCenter()


@pytest.fixture
def home(tmp_path):
    return tmp_path / "home"


@pytest.fixture
def store(home, sim):
    with TerminalStore.create(home, sim.terminal_keys()) as s:
        yield s
