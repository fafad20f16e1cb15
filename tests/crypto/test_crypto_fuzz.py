"""Fuzz: every parser of the crypto folder raises only its own typed error, on any input.

Random bytes rarely get past a magic number, so each parser is also fed mutations of a valid
input (bit flips, overwritten, inserted and deleted runs, truncations, splices) and inputs
built field by field with random integers (where an unbounded 8-byte value would otherwise
reach an ``OverflowError``). A parser passes if it returns or raises its family's error
(``BundleError``, ``MetadataError``, ``KeyFileError``, ``TokenError``, ``KeyRollError``);
anything else (``IndexError``, ``OverflowError``, ``struct.error``, ``ValueError``, ...)
fails the test. Seeded (the ``hotcast`` hypothesis profile derandomises); FUZZ_EXAMPLES per
property keeps the whole file to a few seconds.
"""

import struct

from crypto_simulator import FAST_KDF, NOW, Simulator
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from crypto import (
    BundleError,
    BundleFormatError,
    BundleKind,
    CenterKeys,
    KdfParams,
    KeyFileError,
    KeyRollError,
    KeySet,
    KeySetRequest,
    MetadataError,
    OpenedBundle,
    RootKeys,
    RootSet,
    TerminalKeys,
    TokenError,
    add_signatures,
    apply_master_roll,
    check_token,
    issue_token,
    open_bundle,
    read_unverified_header,
    read_unverified_keyset,
    read_unverified_root_set,
    roll_master_key,
    verify_keyset,
    verify_root_chain,
    verify_root_set,
)
from crypto import _keyfile

FUZZ_EXAMPLES = 150
PASSPHRASE = "fuzz"

SIM = Simulator()
TERMINAL = SIM.terminal()
NEXT_KEYSET = SIM.sign_next_keyset(SIM.request(token_keys=()), new_epoch=True)[1]
SEEDS = {
    "bundle": SIM.bundle(b"\x00\x01 a small list body", kind=BundleKind.DELTA),
    "heartbeat": SIM.bundle(b"carousel", kind=BundleKind.ANNOUNCE),
    "root_set": SIM.root_sets[0],
    "keyset": SIM.keyset_bytes,
    "request": SIM.request().to_bytes(),
    "token": issue_token(4929123412341234, NOW + 60, SIM.center),
    "terminal_file": TERMINAL.to_file(),
    "center_file": SIM.center.to_file(PASSPHRASE, FAST_KDF),
    "root_file": SIM.root_keys.to_file(PASSPHRASE, FAST_KDF),
}
ROLL = open_bundle(roll_master_key(SIM.center, SIM.keyset, seq=1, created_at=NOW, valid_until=NOW + 60)[1],
                   TERMINAL.trust, NOW)


def _mutate(seed: bytes, ops: list[tuple[int, int, bytes]]) -> bytes:
    out = bytearray(seed)
    for op, where, chunk in ops:
        at = where % (len(out) + 1)
        if op == 0 and out:  # flip one bit
            out[at % len(out)] ^= 1 << (chunk[0] % 8)
        elif op == 1:  # overwrite a run
            out[at : at + len(chunk)] = chunk
        elif op == 2:  # insert a run
            out[at:at] = chunk
        elif op == 3:  # delete a run
            del out[at : at + len(chunk)]
        elif op == 4:  # truncate
            del out[at:]
        else:  # splice in a piece of another valid input
            other = list(SEEDS.values())[chunk[0] % len(SEEDS)]
            out[at:] = other[chunk[-1] % max(len(other), 1) :]
    return bytes(out)


_OPS = st.lists(st.tuples(st.integers(0, 5), st.integers(0, 2**16), st.binary(min_size=1, max_size=9)),
                min_size=1, max_size=4)


def inputs(seed_name: str):
    """Random bytes, or mutations of the named valid input."""
    seed = SEEDS[seed_name]
    return st.one_of(st.binary(max_size=600), _OPS.map(lambda ops: _mutate(seed, ops)))


def _only(family, parse, data) -> None:
    try:
        parse(data)
    except family:
        pass


FUZZ = settings(max_examples=FUZZ_EXAMPLES)


# ---- bundle envelope ------------------------------------------------------------------------


@FUZZ
@given(data=st.one_of(inputs("bundle"), inputs("heartbeat")))
def test_fuzz_open_bundle_raises_only_bundle_errors(data):
    _only(BundleError, lambda d: open_bundle(d, TERMINAL.trust, NOW), data)
    _only(BundleFormatError, read_unverified_header, data)


@FUZZ
@given(kind=st.integers(0, 255), fields=st.lists(st.integers(0, 2**64 - 1), min_size=4, max_size=4),
       small=st.lists(st.integers(0, 2**32 - 1), min_size=4, max_size=4), tail=st.binary(max_size=300))
def test_fuzz_bundle_headers_with_any_field_values(kind, fields, small, tail):
    """Every header field at any width-legal value (seq 2**64-1 included), any body length."""
    epoch, master, signer, body_len = small
    head = struct.pack(">3sBBIQQQQII32sI", b"HCB", 2, kind, epoch, *fields, master, signer, bytes(32),
                       body_len % 512)
    _only(BundleError, lambda d: open_bundle(d, TERMINAL.trust, NOW), head + tail)
    _only(BundleFormatError, read_unverified_header, head + tail)


# ---- root sets and key sets -----------------------------------------------------------------


@FUZZ
@given(data=inputs("root_set"))
def test_fuzz_root_set_parsers_raise_only_metadata_errors(data):
    _only(MetadataError, verify_root_set, data)
    _only(MetadataError, read_unverified_root_set, data)
    _only(MetadataError, lambda d: verify_root_chain(SIM.root, [d]), data)
    _only(MetadataError, lambda d: add_signatures(d, SIM.root_keys), data)


@FUZZ
@given(data=st.one_of(inputs("keyset"), _OPS.map(lambda ops: _mutate(NEXT_KEYSET, ops))))
def test_fuzz_key_set_parsers_raise_only_metadata_errors(data):
    _only(MetadataError, lambda d: verify_keyset(d, SIM.root, SIM.keyset, NOW), data)
    _only(MetadataError, lambda d: verify_keyset(d, SIM.root, None, NOW), data)
    _only(MetadataError, read_unverified_keyset, data)


@FUZZ
@given(body=st.one_of(st.binary(max_size=400), _OPS.map(lambda ops: _mutate(SIM.keyset.encode(), ops)),
                      _OPS.map(lambda ops: _mutate(SIM.root.encode(), ops))))
def test_fuzz_metadata_bodies_raise_only_metadata_errors(body):
    _only(MetadataError, KeySet.decode, body)
    _only(MetadataError, RootSet.decode, body)


@FUZZ
@given(data=inputs("request"))
def test_fuzz_key_set_request_raises_only_metadata_errors(data):
    _only(MetadataError, KeySetRequest.from_bytes, data)


# ---- key files ------------------------------------------------------------------------------


@FUZZ
@given(data=inputs("terminal_file"))
def test_fuzz_terminal_key_file_raises_only_key_file_errors(data):
    _only(KeyFileError, TerminalKeys.from_file, data)


@FUZZ
@given(payload=st.one_of(st.binary(max_size=300),
                         _OPS.map(lambda ops: _mutate(_keyfile.open_plain(SEEDS["terminal_file"], 2), ops))))
def test_fuzz_terminal_key_file_payloads_raise_only_key_file_errors(payload):
    """Payloads behind a valid checksum, so the parser behind it is reached."""
    _only(KeyFileError, TerminalKeys.from_file, _keyfile.seal_plain(_keyfile.ROLE_TERMINAL, payload))


def _cheap(data: bytes) -> bool:
    """Whether ``data``'s scrypt parameters, if accepted, cost little (keeps the fuzz fast)."""
    if len(data) < 10:
        return True
    try:
        kdf = KdfParams(data[7], data[8], data[9])
    except ValueError:
        return True
    return kdf.p * kdf.r * 2**kdf.log2_n <= 2**16


@FUZZ
@given(data=st.one_of(inputs("center_file"), inputs("root_file")))
def test_fuzz_encrypted_key_files_raise_only_key_file_errors(data):
    assume(_cheap(data))
    _only(KeyFileError, lambda d: CenterKeys.from_file(d, PASSPHRASE), data)
    _only(KeyFileError, lambda d: RootKeys.from_file(d, PASSPHRASE), data)


@FUZZ
@given(payload=st.one_of(st.binary(max_size=300),
                         _OPS.map(lambda ops: _mutate(_keyfile.open_secret(SEEDS["center_file"], 1, PASSPHRASE), ops)),
                         _OPS.map(lambda ops: _mutate(_keyfile.open_secret(SEEDS["root_file"], 3, PASSPHRASE), ops))))
def test_fuzz_encrypted_key_file_payloads_raise_only_key_file_errors(payload):
    """Payloads under the right passphrase, so the parsers behind the seal are reached."""
    for role, parse in ((_keyfile.ROLE_CENTER, CenterKeys.from_file), (_keyfile.ROLE_ROOT, RootKeys.from_file)):
        _only(KeyFileError, lambda d: parse(d, PASSPHRASE), _keyfile.seal_secret(role, payload, PASSPHRASE, FAST_KDF))


# ---- tokens and roll bodies -----------------------------------------------------------------


@FUZZ
@given(data=inputs("token"))
def test_fuzz_check_token_raises_only_token_errors(data):
    _only(TokenError, lambda d: check_token(d, 4929123412341234, NOW, SIM.keyset), data)


@FUZZ
@given(body=st.one_of(st.binary(max_size=80), _OPS.map(lambda ops: _mutate(ROLL.body, ops))))
def test_fuzz_master_roll_bodies_raise_only_key_roll_errors(body):
    _only(KeyRollError, lambda b: apply_master_roll(OpenedBundle(ROLL.header, b, ROLL.digest), TERMINAL), body)
