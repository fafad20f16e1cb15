"""Key files at rest (private: reached through ``CenterKeys``, ``RootKeys``, ``TerminalKeys``).

Center and root key files are encrypted under a passphrase: scrypt (RFC 7914) turns the
passphrase and a random salt into an AES-256 key, AES-256-GCM seals the payload, and the
header (KDF parameters and salt included) is the associated data, so a changed parameter is
caught like a wrong passphrase. Terminal key files are not encrypted (a terminal is unattended
and has nobody to type a passphrase; file mode ``KEY_FILE_MODE`` protects it) and carry a
SHA-256 check against corruption instead.

Layout, big-endian::

    offset  size  field
         0     4  magic b"HCKF"
         4     1  file version (2; version 1 files, unencrypted, are refused by name)
         5     1  role: 1 = center, 2 = terminal, 3 = root
    encrypted roles (center, root):
         6     1  KDF id (1 = scrypt)
         7     1  log2 N       LOG2_N_RANGE
         8     1  r            R_RANGE
         9     1  p            P_RANGE
        10    16  salt
        26    12  GCM nonce
        38     n  ciphertext of the payload (AAD = bytes [0, 38))
      38+n    16  GCM tag                       -> 54 bytes of overhead
    terminal role:
         6     n  payload
       6+n     8  first 8 bytes of SHA-256 over bytes [0, 6+n)  -> 14 bytes of overhead

Bounds on read, so a crafted file cannot exhaust memory or time: at most MAX_KEY_FILE_BYTES;
scrypt memory 128 * r * N bytes (RFC 7914 section 5: scryptROMix keeps N blocks of 128 * r
bytes) at most 256 MiB, and work p * r * N at most 2**23 (the default's 2**19 takes ~120 ms
here, so the worst file costs ~2 s). Every fault is a ``KeyFileError`` that names it; a wrong
passphrase and a damaged ciphertext cannot be told apart (GCM only says the tag fails), hence
one message for both.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from crypto import _primitives, _wire
from crypto.errors import DecryptError, KeyFileError

MAGIC = b"HCKF"
VERSION = 2
ROLE_CENTER = 1
ROLE_TERMINAL = 2
ROLE_ROOT = 3
ROLE_NAMES = {ROLE_CENTER: "center", ROLE_TERMINAL: "terminal", ROLE_ROOT: "root"}
KDF_SCRYPT = 1
SALT_BYTES = 16  # 128 bits, the least NIST SP 800-132 section 5.1 allows for a password salt
CHECK_BYTES = 8  # SHA-256 truncated to 64 bits: catches damage, is not authentication
MAX_KEY_FILE_BYTES = 2**20  # a center with 4 096 master keys (36 B each) needs ~150 KiB
LOG2_N_RANGE = (10, 20)  # N = 1 024 (tests only) .. 1 048 576 (the brief's ceiling)
R_RANGE = (1, 32)
P_RANGE = (1, 16)
MAX_SCRYPT_MEMORY_BYTES = 2**28  # 256 MiB = 128 * r * N at r = 8, N = 2**18
MAX_SCRYPT_WORK = 2**23  # p * r * N; the default is 1 * 8 * 2**16 = 2**19
_HEAD_BYTES = 4 + 1 + 1 + 4 + SALT_BYTES + _primitives.GCM_NONCE_BYTES  # 38


@dataclass(frozen=True)
class KdfParams:
    """scrypt cost: N = 2**log2_n, block size r, parallelism p (RFC 7914 section 2)."""

    # N = 2**16, r = 8, p = 1: 128 * 8 * 2**16 = 64 MiB and ~120 ms on the 2-core reference
    # machine (2**15 took ~55 ms, 2**17 would pass 200 ms; bench/test_crypto.py times it): the
    # middle of the 50-150 ms we allow an operator command. r = 8, p = 1 as RFC 7914 section 2
    # advises; N is 4x the 2**14 of Percival's 2009 scrypt paper for interactive logins.
    log2_n: int = 16
    r: int = 8
    p: int = 1

    def __post_init__(self) -> None:
        _wire.check_uint("log2_n", self.log2_n, LOG2_N_RANGE[1], bottom=LOG2_N_RANGE[0])
        _wire.check_uint("r", self.r, R_RANGE[1], bottom=R_RANGE[0])
        _wire.check_uint("p", self.p, P_RANGE[1], bottom=P_RANGE[0])
        if 128 * self.r * 2**self.log2_n > MAX_SCRYPT_MEMORY_BYTES:
            raise ValueError(f"scrypt memory 128 * r * N = {128 * self.r * 2**self.log2_n} bytes "
                             f"exceeds {MAX_SCRYPT_MEMORY_BYTES}")
        if self.p * self.r * 2**self.log2_n > MAX_SCRYPT_WORK:
            raise ValueError(f"scrypt work p * r * N = {self.p * self.r * 2**self.log2_n} exceeds {MAX_SCRYPT_WORK}")


DEFAULT_KDF = KdfParams()


def _passphrase_bytes(passphrase: str | bytes) -> bytes:
    # NFC: the same typed passphrase gives the same bytes whatever the input method composed.
    if isinstance(passphrase, str):
        return unicodedata.normalize("NFC", passphrase).encode("utf-8")
    if isinstance(passphrase, bytes):
        return passphrase
    raise TypeError(f"passphrase must be str or bytes, got {type(passphrase).__name__}")


def _prefix(role: int) -> bytes:
    return MAGIC + _wire.u8(VERSION) + _wire.u8(role)


def _open_prefix(data: bytes, role: int) -> _wire.Reader:
    if len(data) > MAX_KEY_FILE_BYTES:
        raise KeyFileError(f"key file is {len(data)} bytes, above the {MAX_KEY_FILE_BYTES}-byte limit")
    if len(data) < 6:
        raise KeyFileError(f"key file is {len(data)} bytes, too short to be a hotcast key file")
    reader = _wire.Reader(data, KeyFileError, f"{ROLE_NAMES[role]} key file")
    if reader.take(4, "magic") != MAGIC:
        raise KeyFileError("not a hotcast key file (bad magic)")
    version = reader.u8("version")
    if version != VERSION:
        raise KeyFileError(f"key file version {version} is not supported (expected {VERSION}; "
                           f"version 1 files were unencrypted: create the keys again)")
    found = reader.u8("role")
    if found not in ROLE_NAMES:
        raise KeyFileError(f"key file has unknown role {found}, expected {ROLE_NAMES[role]} keys")
    if found != role:
        raise KeyFileError(f"this is a {ROLE_NAMES[found]} key file, expected {ROLE_NAMES[role]} keys")
    return reader


def seal_secret(role: int, payload: bytes, passphrase: str | bytes, kdf: KdfParams | None) -> bytes:
    """An encrypted key file of ``role`` holding ``payload`` (``kdf`` None: ``DEFAULT_KDF``,
    read at call time so a test suite may make its own key files cheap)."""
    kdf = DEFAULT_KDF if kdf is None else kdf
    secret = _passphrase_bytes(passphrase)
    if not secret:
        raise ValueError("passphrase must not be empty")
    if not isinstance(kdf, KdfParams):
        raise TypeError(f"kdf must be KdfParams, got {type(kdf).__name__}")
    salt = _primitives.random_bytes(SALT_BYTES)
    nonce = _primitives.random_bytes(_primitives.GCM_NONCE_BYTES)
    head = (_prefix(role) + bytes((KDF_SCRYPT, kdf.log2_n, kdf.r, kdf.p)) + salt + nonce)
    key = _primitives.scrypt(secret, salt, 2**kdf.log2_n, kdf.r, kdf.p)
    return head + _primitives.gcm_encrypt(key, nonce, payload, head)


def open_secret(data: bytes, role: int, passphrase: str | bytes) -> bytes:
    """The payload of an encrypted key file of ``role``; ``KeyFileError`` on anything else."""
    data = bytes(data)
    reader = _open_prefix(data, role)
    kdf_id = reader.u8("KDF id")
    if kdf_id != KDF_SCRYPT:
        raise KeyFileError(f"key file KDF id {kdf_id} is not supported (expected {KDF_SCRYPT}, scrypt)")
    log2_n, r, p = reader.u8("log2 N"), reader.u8("r"), reader.u8("p")
    try:
        kdf = KdfParams(log2_n, r, p)
    except ValueError as exc:
        raise KeyFileError(f"key file asks for scrypt N = 2**{log2_n}, r = {r}, p = {p}, "
                           f"beyond what hotcast accepts: {exc}") from None
    salt = reader.take(SALT_BYTES, "salt")
    nonce = reader.take(_primitives.GCM_NONCE_BYTES, "nonce")
    if reader.remaining < _primitives.GCM_TAG_BYTES:
        raise KeyFileError("key file truncated: no room for the GCM tag")
    key = _primitives.scrypt(_passphrase_bytes(passphrase), salt, 2**kdf.log2_n, kdf.r, kdf.p)
    try:
        return _primitives.gcm_decrypt(key, nonce, data[_HEAD_BYTES:], data[:_HEAD_BYTES])
    except DecryptError:
        raise KeyFileError("wrong passphrase or corrupted key file") from None


def seal_plain(role: int, payload: bytes) -> bytes:
    """An unencrypted (terminal) key file holding ``payload``, with its corruption check."""
    body = _prefix(role) + payload
    return body + _primitives.sha256(body)[:CHECK_BYTES]


def open_plain(data: bytes, role: int) -> bytes:
    """The payload of an unencrypted key file of ``role``; ``KeyFileError`` on anything else."""
    data = bytes(data)
    _open_prefix(data, role)
    if len(data) < 6 + CHECK_BYTES:
        raise KeyFileError(f"key file is {len(data)} bytes, too short to hold its check")
    body, check = data[:-CHECK_BYTES], data[-CHECK_BYTES:]
    if _primitives.sha256(body)[:CHECK_BYTES] != check:
        raise KeyFileError("key file is corrupted (checksum mismatch)")
    return body[6:]
