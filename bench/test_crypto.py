"""Crypto figures: seal and open rates for a small (200 B, a typical delta) and a large (1 MiB, a
full list) body, a heartbeat, the card token check, key-set and root-chain verification, and the
cost of opening a passphrase-encrypted key file (scrypt at the default N = 2**16, r = 8, p = 1).

Run: .venv/bin/pytest bench/test_crypto.py --benchmark-only -q
"""

import pytest

from crypto import (
    DEFAULT_KDF,
    BundleHeader,
    BundleKind,
    CenterKeys,
    KeySetRequest,
    MasterIdRange,
    RootKeys,
    RootSet,
    check_token,
    issue_token,
    keyset_request,
    make_keyset,
    open_bundle,
    provision,
    seal_bundle,
    sign_keyset,
    sign_root_set,
    verify_keyset,
    verify_root_chain,
)

NOW = 1_790_000_000
YEAR = 365 * 86_400
ROOT_KEYS = RootKeys.generate(3)
ROOT = RootSet.for_keys(ROOT_KEYS, 2)
KEYS = CenterKeys.generate()
REQUEST: KeySetRequest = keyset_request(KEYS, valid_from=NOW - 1, expires=NOW + YEAR,
                                        master_ids=MasterIdRange(1, 100, NOW - 1, NOW + YEAR))
KEYSET = make_keyset(REQUEST, root=ROOT, previous=None)
KEYSET_BYTES = sign_keyset(KEYSET, ROOT_KEYS)
TRUST = provision(KEYS, ROOT, KEYSET).trust
HEADER = BundleHeader(BundleKind.FULL, epoch=1, seq=1, base_seq=0, created_at=NOW, valid_until=NOW + 86_400,
                      master_key_id=1, signing_key_id=1)
SIZES = {"200B": 200, "1MiB": 2**20}


def _body(size: str) -> bytes:
    return bytes(range(256)) * (SIZES[size] // 256) + bytes(SIZES[size] % 256)


@pytest.mark.parametrize("size", list(SIZES))
def test_seal(benchmark, size):
    body = _body(size)
    benchmark.extra_info["body_bytes"] = len(body)
    sealed = benchmark(seal_bundle, HEADER, body, KEYS)
    assert open_bundle(sealed, TRUST, NOW).body == body


@pytest.mark.parametrize("size", list(SIZES))
def test_open(benchmark, size):
    """Parse, key-set checks, Ed25519 verify, unwrap, AES-GCM decrypt, SHA-256 digest."""
    body = _body(size)
    sealed = seal_bundle(HEADER, body, KEYS)
    benchmark.extra_info["body_bytes"] = len(body)
    assert benchmark(open_bundle, sealed, TRUST, NOW).body == body


def test_open_heartbeat(benchmark):
    header = BundleHeader(BundleKind.HEARTBEAT, epoch=1, seq=1, base_seq=0, created_at=NOW,
                          valid_until=NOW + 600, master_key_id=0, signing_key_id=1)
    assert benchmark(open_bundle, seal_bundle(header, b"", KEYS), TRUST, NOW).header.kind is BundleKind.HEARTBEAT


def test_check_token(benchmark):
    """Card validity token check at a terminal (one Ed25519 verify); runs before each payment."""
    token = issue_token(4929123412341234, NOW + 86_400, KEYS)
    assert benchmark(check_token, token, 4929123412341234, NOW, KEYSET).card_id == 4929123412341234


def test_verify_keyset_2_of_3(benchmark):
    assert benchmark(verify_keyset, KEYSET_BYTES, ROOT, None, NOW) == KEYSET


def test_verify_root_chain_of_10_rotations(benchmark):
    root, keys, chain = ROOT, ROOT_KEYS, []
    for step in range(10):
        new_keys = RootKeys.generate(3, first_key_id=10 * (step + 1))
        root = RootSet(root.version + 1, 2, new_keys.public_keys)
        chain.append(sign_root_set(root, RootKeys(keys.keys + new_keys.keys)))
        keys = new_keys
    assert benchmark(verify_root_chain, ROOT, chain) == root


def test_open_encrypted_center_key_file(benchmark):
    """The scrypt cost a center operator pays per command (STYLE: measure and say)."""
    data = KEYS.to_file("correct horse battery staple", DEFAULT_KDF)
    benchmark.extra_info["scrypt"] = f"N=2**{DEFAULT_KDF.log2_n} r={DEFAULT_KDF.r} p={DEFAULT_KDF.p}"
    assert benchmark.pedantic(CenterKeys.from_file, (data, "correct horse battery staple"), rounds=10) == KEYS
    assert benchmark.stats.stats.median <= 0.15 * 2  # the 50-150 ms target, 2x slack for a shared machine
