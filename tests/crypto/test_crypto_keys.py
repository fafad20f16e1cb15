"""Center and terminal keys, provisioning, and key files at rest (scrypt + AES-256-GCM)."""

import dataclasses
import time

import pytest
from crypto_simulator import FAST_KDF

from crypto import (
    DEFAULT_KDF,
    KEY_FILE_MODE,
    CenterKeys,
    KdfParams,
    KeyFileError,
    MasterKey,
    RootKeys,
    SigningKey,
    TerminalKeys,
    provision,
)
from crypto import _keyfile

PASSPHRASE = "correct horse battery staple"
SCRYPT_PARAMS_AT = 7  # log2 N, r, p: _keyfile's layout


@pytest.fixture(scope="module")
def center_file(center):
    return center.to_file(PASSPHRASE, FAST_KDF)


def test_key_file_mode_is_owner_only():
    assert KEY_FILE_MODE == 0o600


def test_generate_starts_at_key_id_one(center):
    assert (center.signing_key_id, center.current_master_id) == (1, 1)
    assert [k.key_id for k in center.signing_keys] == [1]


def test_generated_keys_differ():
    a, b = CenterKeys.generate(), CenterKeys.generate()
    assert a.current_master.key != b.current_master.key
    assert a.signing_key.seed != b.signing_key.seed


def test_provision_gives_root_set_key_set_and_master_keys_only(world, center):
    terminal = provision(center, world.root, world.keyset)
    assert {f.name for f in dataclasses.fields(terminal)} == {"root_set", "keyset", "master_keys"}
    assert terminal.master_keys == center.master_keys
    assert (terminal.root_set, terminal.keyset) == (world.root, world.keyset)
    data = terminal.to_file()
    assert center.signing_key.seed not in data
    assert all(k.seed not in data for k in world.root_keys.keys)


def test_provision_gives_only_master_keys_the_key_set_allows(world):
    keys = dataclasses.replace(world.center, master_keys=world.center.master_keys + (MasterKey(500, bytes(32)),))
    assert [m.key_id for m in provision(keys, world.root, world.keyset).master_keys] == [1]


def test_key_material_never_in_repr_or_str(world, center, terminal):
    secrets = [k.seed for k in center.signing_keys] + [m.key for m in center.master_keys]
    secrets += [k.seed for k in world.root_keys.keys]
    objects = (center, terminal, terminal.trust, center.master_keys[0], center.signing_keys[0],
               world.root_keys, world.root_keys.keys[0])
    for obj in objects:
        for text in (repr(obj), str(obj)):
            for secret in secrets:
                assert secret.hex() not in text.lower()
                assert repr(secret) not in text


def test_misuse_raises_value_error_naming_the_field(world, center):
    with pytest.raises(ValueError, match="key of master key id 1"):
        MasterKey(1, b"short")
    with pytest.raises(ValueError, match="key_id"):
        MasterKey(0, bytes(32))
    with pytest.raises(ValueError, match="seed of signing key id 2"):
        SigningKey(2, bytes(31))
    with pytest.raises(ValueError, match="current_master_id 5"):
        dataclasses.replace(center, current_master_id=5)
    with pytest.raises(ValueError, match="signing_key_id 3"):
        dataclasses.replace(center, signing_key_id=3)
    with pytest.raises(ValueError, match="master_keys ids must be unique"):
        dataclasses.replace(center, master_keys=center.master_keys * 2)
    with pytest.raises(ValueError, match="newer than root_set"):
        TerminalKeys(world.root, dataclasses.replace(world.keyset, root_version=2), ())
    with pytest.raises(ValueError, match="log2_n"):
        KdfParams(log2_n=21)
    with pytest.raises(ValueError, match="scrypt memory"):
        KdfParams(log2_n=20, r=8)


# ---- key files ------------------------------------------------------------------------------


def test_center_key_file_round_trip_is_encrypted(center, center_file):
    assert CenterKeys.from_file(center_file, PASSPHRASE) == center
    for secret in [k.seed for k in center.signing_keys] + [m.key for m in center.master_keys]:
        assert secret not in center_file


def test_passphrase_may_be_bytes_and_str_is_nfc_normalised(center):
    data = center.to_file("caf\u00e9", FAST_KDF)
    assert CenterKeys.from_file(data, "cafe\u0301") == center
    assert CenterKeys.from_file(data, "caf\u00e9".encode()) == center


def test_wrong_passphrase_is_named(center_file):
    with pytest.raises(KeyFileError, match="^wrong passphrase or corrupted key file$"):
        CenterKeys.from_file(center_file, "Correct horse battery staple")


def test_empty_passphrase_is_refused_on_write(center):
    with pytest.raises(ValueError, match="passphrase must not be empty"):
        center.to_file("", FAST_KDF)


def test_changed_kdf_parameters_fail_like_a_wrong_passphrase(center_file):
    """The parameters are associated data: lowering N to ease a brute force breaks the file."""
    data = bytearray(center_file)
    data[SCRYPT_PARAMS_AT] = 11
    with pytest.raises(KeyFileError, match="wrong passphrase or corrupted"):
        CenterKeys.from_file(bytes(data), PASSPHRASE)


@pytest.mark.parametrize(("log2_n", "r", "p", "message"), [
    (24, 8, 1, "N = 2\\*\\*24"), (21, 1, 1, "log2_n"), (20, 8, 1, "scrypt memory"), (18, 8, 16, "scrypt work"),
    (9, 8, 1, "log2_n"), (15, 0, 1, "r must be"), (15, 255, 1, "r must be"), (15, 8, 0, "p must be"),
])
def test_crafted_kdf_parameters_are_refused_before_any_work(center_file, log2_n, r, p, message):
    """A crafted file cannot make the reader allocate gigabytes or spin for minutes."""
    data = bytearray(center_file)
    data[SCRYPT_PARAMS_AT : SCRYPT_PARAMS_AT + 3] = bytes((log2_n, r, p))
    started = time.perf_counter()
    with pytest.raises(KeyFileError, match=message):
        CenterKeys.from_file(bytes(data), PASSPHRASE)
    assert time.perf_counter() - started < 0.5  # the default N alone takes ~0.1 s


def test_unknown_kdf_is_refused(center_file):
    with pytest.raises(KeyFileError, match="KDF id 7"):
        CenterKeys.from_file(center_file[:6] + b"\x07" + center_file[7:], PASSPHRASE)


@pytest.mark.parametrize(("mangle", "message"), [
    (lambda b: b"", "too short"),
    (lambda b: b"XXXX" + b[4:], "bad magic"),
    (lambda b: b[:4] + b"\x01" + b[5:], "version 1 is not supported.*unencrypted"),
    (lambda b: b[:5] + b"\x07" + b[6:], "unknown role 7"),
    (lambda b: b[:40], "no room for the GCM tag"),
    (lambda b: b[:-1], "wrong passphrase"),
    (lambda b: b + b"\x00", "wrong passphrase"),
    (lambda b: b[:45] + bytes([b[45] ^ 1]) + b[46:], "wrong passphrase"),
    (lambda b: bytes(_keyfile.MAX_KEY_FILE_BYTES + 1), "above the"),
])
def test_malformed_center_key_files_are_named(center_file, mangle, message):
    with pytest.raises(KeyFileError, match=message):
        CenterKeys.from_file(mangle(center_file), PASSPHRASE)


def test_role_confusion_is_refused(center, terminal, world):
    with pytest.raises(KeyFileError, match="terminal key file, expected center keys"):
        CenterKeys.from_file(terminal.to_file(), PASSPHRASE)
    with pytest.raises(KeyFileError, match="center key file, expected terminal keys"):
        TerminalKeys.from_file(center.to_file(PASSPHRASE, FAST_KDF))
    with pytest.raises(KeyFileError, match="root key file, expected center keys"):
        CenterKeys.from_file(world.root_keys.to_file(PASSPHRASE, FAST_KDF), PASSPHRASE)
    with pytest.raises(KeyFileError, match="center key file, expected root keys"):
        RootKeys.from_file(center.to_file(PASSPHRASE, FAST_KDF), PASSPHRASE)


def test_inconsistent_payload_under_a_valid_seal_is_refused(center):
    good = _keyfile.open_secret(center.to_file(PASSPHRASE, FAST_KDF), _keyfile.ROLE_CENTER, PASSPHRASE)
    for payload, message in ((b"\x00\x00\x00\x09" + good[4:], "signing_key_id 9"),
                             (good[:-5], "too short"),
                             (good + b"\x00", "trailing"),
                             (good[:8] + b"\x00" + good[9 + 36 :], "signing_keys must hold 1")):
        data = _keyfile.seal_secret(_keyfile.ROLE_CENTER, payload, PASSPHRASE, FAST_KDF)
        with pytest.raises(KeyFileError, match=message):
            CenterKeys.from_file(data, PASSPHRASE)


def test_terminal_key_file_round_trip_unencrypted(terminal):
    assert TerminalKeys.from_file(terminal.to_file()) == terminal


def test_terminal_key_file_corruption_is_named(terminal):
    data = terminal.to_file()
    with pytest.raises(KeyFileError, match="checksum"):
        TerminalKeys.from_file(data[:20] + bytes([data[20] ^ 1]) + data[21:])
    payload = _keyfile.open_plain(data, _keyfile.ROLE_TERMINAL)
    bad_root = payload[:2] + b"\x00\x00\x00\x00" + payload[6:]  # root set version 0
    with pytest.raises(KeyFileError, match="inconsistent.*version"):
        TerminalKeys.from_file(_keyfile.seal_plain(_keyfile.ROLE_TERMINAL, bad_root))


def test_default_kdf_is_64_mib_of_scrypt():
    """N = 2**16, r = 8, p = 1: 64 MiB, ~120 ms here (timed in bench/test_crypto.py)."""
    assert (DEFAULT_KDF.log2_n, DEFAULT_KDF.r, DEFAULT_KDF.p) == (16, 8, 1)
    assert 128 * DEFAULT_KDF.r * 2**DEFAULT_KDF.log2_n == 64 * 2**20
