"""hotcast crypto: the key hierarchy, the bundle envelope, key files and card tokens.

Trust, top down (see ARCHITECTURE.md "Trust")::

    RootKeys (offline, k of n) --sign--> RootSet v1, v2, ... (each rotation also signed by the last)
    RootKeys                   --sign--> KeySet (epoch, signing keys, master id range, token keys)
    CenterKeys.signing_key     --signs-> bundles (FULL, DELTA, MASTER_ROLL, HEARTBEAT, ANNOUNCE), tokens
    CenterKeys.current_master  --wraps-> each sealed bundle's data key (AES-256-GCM body)

Recipes over primitives: a few whole operations (``sign_root_set`` / ``verify_root_chain``,
``sign_keyset`` / ``verify_keyset``, ``seal_bundle`` / ``open_bundle``, ``roll_master_key`` /
``apply_master_roll``, ``issue_token`` / ``check_token``, ``provision``) over
``crypto._primitives``, the only importer of pycryptodome. No I/O: key files are bytes in and
out (write them with ``KEY_FILE_MODE``); every check that depends on time takes ``now``.
"""

from crypto._keyfile import DEFAULT_KDF, KdfParams
from crypto._metadata import MAX_METADATA_BYTES, MetadataType
from crypto._primitives import preload
from crypto.envelope import (
    DIGEST_BYTES,
    HEADER_BYTES,
    MAX_BODY_BYTES,
    MAX_BUNDLE_BYTES,
    NO_DIGEST,
    SEAL_OVERHEAD_BYTES,
    SEALED_KINDS,
    SIGNED_OVERHEAD_BYTES,
    BundleHeader,
    BundleKind,
    OpenedBundle,
    bundle_digest,
    open_bundle,
    read_unverified_header,
    seal_bundle,
)
from crypto.errors import (
    BundleError,
    BundleFormatError,
    CryptoError,
    DecryptError,
    EpochRollbackError,
    KeyFileError,
    KeyRebindError,
    KeyRollError,
    KeySetExpiredError,
    KeySetMismatchError,
    KeySetNotYetValidError,
    KeyUnwrapError,
    MetadataError,
    MetadataFormatError,
    ReplayError,
    RetiredKeyError,
    RootGapError,
    RootVersionError,
    SignatureError,
    ThresholdError,
    TokenError,
    TokenExpiredError,
    UnknownMasterKeyError,
    UnknownSigningKeyError,
)
from crypto.keys import KEY_FILE_MODE, CenterKeys, MasterKey, SigningKey, TerminalKeys, Trust, provision
from crypto.keyset import (
    KeySet,
    KeySetRequest,
    MasterIdRange,
    SigningKeyEntry,
    TokenKeyEntry,
    make_keyset,
    read_unverified_keyset,
    sign_keyset,
    verify_keyset,
)
from crypto.root import (
    RootKey,
    RootKeys,
    RootSet,
    add_signatures,
    read_unverified_root_set,
    sign_root_set,
    verify_root_chain,
    verify_root_set,
)
from crypto.rotation import adopt_keyset, add_signing_key, apply_master_roll, keyset_request, roll_master_key
from crypto.tokens import TOKEN_BYTES, CardToken, check_token, issue_token

__all__ = [
    # limits and layout constants
    "DIGEST_BYTES", "HEADER_BYTES", "MAX_BODY_BYTES", "MAX_BUNDLE_BYTES", "MAX_METADATA_BYTES", "NO_DIGEST",
    "SEAL_OVERHEAD_BYTES", "SEALED_KINDS", "SIGNED_OVERHEAD_BYTES", "TOKEN_BYTES", "KEY_FILE_MODE",
    "DEFAULT_KDF", "KdfParams", "MetadataType", "preload",
    # root and key sets
    "RootKey", "RootKeys", "RootSet", "add_signatures", "read_unverified_root_set", "sign_root_set",
    "verify_root_chain", "verify_root_set",
    "KeySet", "KeySetRequest", "MasterIdRange", "SigningKeyEntry", "TokenKeyEntry", "make_keyset",
    "read_unverified_keyset", "sign_keyset", "verify_keyset",
    # online keys
    "CenterKeys", "MasterKey", "SigningKey", "TerminalKeys", "Trust", "provision",
    "adopt_keyset", "add_signing_key", "apply_master_roll", "keyset_request", "roll_master_key",
    # bundles and tokens
    "BundleHeader", "BundleKind", "OpenedBundle", "bundle_digest", "open_bundle", "read_unverified_header",
    "seal_bundle",
    "CardToken", "check_token", "issue_token",
    # errors
    "CryptoError", "BundleError", "BundleFormatError", "SignatureError", "UnknownSigningKeyError",
    "RetiredKeyError", "UnknownMasterKeyError", "KeyUnwrapError", "DecryptError",
    "MetadataError", "MetadataFormatError", "ThresholdError", "ReplayError", "RootGapError",
    "RootVersionError", "EpochRollbackError", "KeyRebindError", "KeySetExpiredError",
    "KeySetNotYetValidError", "KeyRollError", "KeySetMismatchError", "KeyFileError",
    "TokenError", "TokenExpiredError",
]
