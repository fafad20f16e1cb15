import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "hotcast",
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "hotcast"))


@pytest.fixture(autouse=True, scope="session")
def cheap_key_files():
    """Key files made in this process use scrypt N = 2**10 instead of 2**16 (~2 ms, not ~120):
    homes are made by the hundred here. The cost parameters travel in each file, so opening is
    just as cheap; tests/crypto checks the default cost itself, and subprocess CLI runs use it."""
    from crypto import _keyfile

    saved = _keyfile.DEFAULT_KDF
    _keyfile.DEFAULT_KDF = _keyfile.KdfParams(log2_n=10)
    yield
    _keyfile.DEFAULT_KDF = saved


@pytest.fixture(autouse=True)
def passphrase_env(monkeypatch):
    """Center and root keys are encrypted: every test has a passphrase in the environment."""
    monkeypatch.setenv("HOTCAST_PASSPHRASE", os.environ.get("HOTCAST_PASSPHRASE", "test passphrase"))
