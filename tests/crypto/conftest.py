"""Shared key fixtures for crypto tests (generated once: key generation reads the OS RNG)."""

import pytest

from crypto import BundleHeader, BundleKind, CenterKeys, provision

NOW = 1_790_000_000  # a fixed unix time (2026-09): tests never read the clock


def _header_for(keys, kind=BundleKind.FULL, seq=7, base_seq=0, created_at=NOW, valid_until=NOW + 86_400):
    return BundleHeader(kind=kind, seq=seq, base_seq=base_seq, created_at=created_at, valid_until=valid_until,
                        master_key_id=keys.current_master_id, signing_key_id=keys.signing_key_id)


@pytest.fixture(scope="session")
def center():
    return CenterKeys.generate()


@pytest.fixture(scope="session")
def terminal(center):
    return provision(center)


@pytest.fixture(scope="session")
def other_center():
    return CenterKeys.generate()


@pytest.fixture(scope="session")
def make_header():
    """``make_header(keys, kind=FULL, seq=7, ...)`` -> a BundleHeader matching ``keys``' current ids."""
    return _header_for
