"""Shared fixtures for crypto tests: one simulated root and center (see crypto_simulator.py).

Session-scoped values are never mutated (every key object is frozen); a test that changes the
world builds its own ``Simulator``.
"""

import pytest

from crypto_simulator import Simulator


@pytest.fixture(scope="session")
def world():
    return Simulator()


@pytest.fixture(scope="session")
def other_world():
    """A second, unrelated root and center: an attacker's, or another network's."""
    return Simulator()


@pytest.fixture(scope="session")
def center(world):
    return world.center


@pytest.fixture(scope="session")
def terminal(world):
    return world.terminal()


@pytest.fixture(scope="session")
def trust(terminal):
    return terminal.trust
