"""Key hierarchy: generation, provisioning, key files, and that secrets never show."""

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto import KEY_FILE_MODE, CenterKeys, KeyFileError, MasterKey, TerminalKeys, provision


def test_key_file_mode_is_owner_only():
    assert KEY_FILE_MODE == 0o600


def test_generate_starts_at_key_id_one(center):
    assert center.current_master_id == 1
    assert center.signing_key_id == 1
    assert [i for i, _ in center.signing_public_keys] == [1]


def test_generated_keys_differ():
    a, b = CenterKeys.generate(), CenterKeys.generate()
    assert a.current_master.key != b.current_master.key
    assert a.signing_seed != b.signing_seed


def test_provision_gives_master_and_public_keys_only(center):
    terminal = provision(center)
    assert set(f.name for f in dataclasses.fields(terminal)) == {"master_keys", "signing_public_keys"}
    assert terminal.master_keys == center.master_keys
    assert terminal.signing_public_keys == center.signing_public_keys
    assert center.signing_seed not in terminal.to_bytes()


def test_provision_can_restrict_master_keys(center):
    assert provision(center, master_key_ids=(1,)).key_ids()["master_key_ids"] == [1]
    with pytest.raises(ValueError, match="99"):
        provision(center, master_key_ids=(99,))


def test_key_material_never_in_repr_or_str(center, terminal):
    secrets = [center.signing_seed] + [m.key for m in center.master_keys]
    for obj in (center, terminal, center.master_keys[0]):
        for text in (repr(obj), str(obj)):
            for secret in secrets:
                assert secret.hex() not in text.lower()
                assert repr(secret) not in text


def test_key_ids_summary(terminal):
    assert terminal.key_ids() == {"master_key_ids": [1], "signing_key_ids": [1]}


def test_center_key_file_round_trip(center):
    assert CenterKeys.from_bytes(center.to_bytes()) == center


def test_terminal_key_file_round_trip(terminal):
    assert TerminalKeys.from_bytes(terminal.to_bytes()) == terminal


def test_terminal_file_given_as_center_keys_is_refused(terminal):
    with pytest.raises(KeyFileError, match="terminal key file, expected center keys"):
        CenterKeys.from_bytes(terminal.to_bytes())


def test_center_file_given_as_terminal_keys_is_refused(center):
    with pytest.raises(KeyFileError, match="center key file, expected terminal keys"):
        TerminalKeys.from_bytes(center.to_bytes())


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda b: b"", "too short"),
        (lambda b: b"XXXX" + b[4:], "bad magic"),
        (lambda b: b[:4] + b"\x09" + b[5:], "version 9"),
        (lambda b: b[:5] + b"\x07" + b[6:], "unknown role 7"),
        (lambda b: b[:-1], "checksum"),
        (lambda b: b + b"\x00", "checksum"),
        (lambda b: b[:20] + bytes([b[20] ^ 1]) + b[21:], "checksum"),
    ],
)
def test_malformed_key_files_are_named(center, mangle, message):
    with pytest.raises(KeyFileError, match=message):
        CenterKeys.from_bytes(mangle(center.to_bytes()))


def test_inconsistent_key_file_with_valid_checksum_is_refused(center):
    from crypto import _keyfile

    payload = _keyfile.open_file(center.to_bytes(), _keyfile.ROLE_CENTER)
    bad = b"\x00\x00\x00\x09" + payload[4:]  # current master id 9: not in the table
    with pytest.raises(KeyFileError, match="current_master_id 9"):
        CenterKeys.from_bytes(_keyfile.seal_file(_keyfile.ROLE_CENTER, bad))
    truncated = payload[:-5]
    with pytest.raises(KeyFileError, match="truncated|too short"):
        CenterKeys.from_bytes(_keyfile.seal_file(_keyfile.ROLE_CENTER, truncated))
    with pytest.raises(KeyFileError, match="trailing"):
        CenterKeys.from_bytes(_keyfile.seal_file(_keyfile.ROLE_CENTER, payload + b"\x00"))


@given(st.data())
def test_any_bit_flip_in_a_key_file_is_refused(center, data):
    raw = center.to_bytes()
    bit = data.draw(st.integers(0, len(raw) * 8 - 1))
    flipped = bytearray(raw)
    flipped[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(KeyFileError):
        CenterKeys.from_bytes(bytes(flipped))


def test_misuse_raises_value_error_naming_the_field(center):
    with pytest.raises(ValueError, match="key of master key id 1"):
        MasterKey(1, b"short")
    with pytest.raises(ValueError, match="key_id"):
        MasterKey(2**32, bytes(32))
    with pytest.raises(ValueError, match="current_master_id 5"):
        dataclasses.replace(center, current_master_id=5)
    with pytest.raises(ValueError, match="does not match signing_seed"):
        dataclasses.replace(center, signing_seed=bytes(32))
    with pytest.raises(ValueError, match="master_keys ids must be unique"):
        TerminalKeys(master_keys=center.master_keys * 2, signing_public_keys=center.signing_public_keys)
    with pytest.raises(ValueError, match="not a valid Ed25519"):
        TerminalKeys(master_keys=(), signing_public_keys=((1, b"\xff" * 31 + b"\x7f"),))
