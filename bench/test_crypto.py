"""Seal and open rates for a small (200 B, a typical delta) and a large (1 MB, a full list) body,
and the card token check rate.

Run: .venv/bin/pytest bench/test_crypto.py --benchmark-only -q
"""

import pytest

from crypto import (
    BundleHeader,
    BundleKind,
    CenterKeys,
    check_token,
    issue_token,
    open_bundle,
    provision,
    seal_bundle,
)

KEYS = CenterKeys.generate()
TERMINAL = provision(KEYS)
HEADER = BundleHeader(BundleKind.FULL, seq=1, base_seq=0, created_at=1_790_000_000,
                      valid_until=1_790_086_400, master_key_id=1, signing_key_id=1)
SIZES = {"200B": 200, "1MB": 2**20}


@pytest.mark.parametrize("size", list(SIZES))
def test_seal(benchmark, size):
    body = bytes(range(256)) * (SIZES[size] // 256) + bytes(SIZES[size] % 256)
    benchmark.extra_info["body_bytes"] = len(body)
    sealed = benchmark(seal_bundle, HEADER, body, KEYS)
    assert open_bundle(sealed, TERMINAL).body == body


@pytest.mark.parametrize("size", list(SIZES))
def test_open(benchmark, size):
    body = bytes(range(256)) * (SIZES[size] // 256) + bytes(SIZES[size] % 256)
    sealed = seal_bundle(HEADER, body, KEYS)
    benchmark.extra_info["body_bytes"] = len(body)
    opened = benchmark(open_bundle, sealed, TERMINAL)
    assert opened.body == body


def test_check_token(benchmark):
    """Card validity token check at a terminal (one Ed25519 verify); runs before each payment."""
    token = issue_token(4929123412341234, 1_790_086_400, KEYS)
    checked = benchmark(check_token, token, 4929123412341234, 1_790_000_000, TERMINAL)
    assert checked.card_id == 4929123412341234
