"""hotcast crypto: bundle envelope, key hierarchy, key rotation and card tokens.

Recipes over primitives: a few whole operations (``seal_bundle`` / ``open_bundle``,
``roll_master_key`` / ``roll_signing_key`` / ``apply_key_roll``, ``issue_token`` /
``check_token``, ``provision``) over ``crypto._primitives``, the only importer of
pycryptodome. No I/O: key files are bytes in and out (write them with ``KEY_FILE_MODE``).
"""

from crypto.envelope import (
    HEADER_BYTES,
    MAX_BODY_BYTES,
    MAX_BUNDLE_BYTES,
    SEAL_OVERHEAD_BYTES,
    BundleHeader,
    BundleKind,
    OpenedBundle,
    open_bundle,
    read_unverified_header,
    seal_bundle,
)
from crypto.errors import (
    BundleError,
    BundleFormatError,
    CryptoError,
    DecryptError,
    KeyFileError,
    KeyRollError,
    KeyUnwrapError,
    SignatureError,
    TokenError,
    TokenExpiredError,
    UnknownMasterKeyError,
    UnknownSigningKeyError,
)
from crypto.keys import KEY_FILE_MODE, CenterKeys, MasterKey, TerminalKeys, provision
from crypto.rotation import apply_key_roll, roll_master_key, roll_signing_key
from crypto.tokens import TOKEN_BYTES, CardToken, check_token, issue_token

__all__ = [
    "HEADER_BYTES", "MAX_BODY_BYTES", "MAX_BUNDLE_BYTES", "SEAL_OVERHEAD_BYTES", "TOKEN_BYTES",
    "KEY_FILE_MODE",
    "BundleHeader", "BundleKind", "OpenedBundle", "open_bundle", "read_unverified_header", "seal_bundle",
    "BundleError", "BundleFormatError", "CryptoError", "DecryptError", "KeyFileError", "KeyRollError",
    "KeyUnwrapError", "SignatureError", "TokenError", "TokenExpiredError", "UnknownMasterKeyError",
    "UnknownSigningKeyError",
    "CenterKeys", "MasterKey", "TerminalKeys", "provision",
    "apply_key_roll", "roll_master_key", "roll_signing_key",
    "CardToken", "check_token", "issue_token",
]
