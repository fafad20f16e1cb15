"""Fixtures the benchmarks share."""

import pytest


@pytest.fixture(scope="module")
def cheap_key_files():
    """Homes made in the module use scrypt N = 2**10: a bench of the center or the registry
    measures them, not the key-file KDF (bench/test_crypto.py measures that at full cost)."""
    from crypto import _keyfile

    saved = _keyfile.DEFAULT_KDF
    _keyfile.DEFAULT_KDF = _keyfile.KdfParams(log2_n=10)
    yield
    _keyfile.DEFAULT_KDF = saved
