"""Typed errors of the crypto layer.

Four families, one per kind of input a terminal or a key holder is handed:

- ``BundleError``: everything ``open_bundle`` raises (the bundle must be refused);
- ``MetadataError``: everything the root-set and key-set parsers and verifiers raise;
- ``KeyFileError``: a key file that is malformed, corrupted or locked by another passphrase;
- ``TokenError``: a card validity token that does not check.

Plus ``KeyRollError`` (a master-key roll that cannot be made or applied) and
``KeySetMismatchError`` (center keys that do not fit a key set). Messages name key ids,
versions and sizes, never key material. Misuse by the caller (a header that does not match the
sealing keys, a key of the wrong length) raises ``ValueError`` instead. No parser lets an
``IndexError``, ``OverflowError``, ``struct.error`` or ``ValueError`` out: each is one of these.
"""


class CryptoError(Exception):
    """Base of every error raised by ``crypto``."""


# ---- bundles -------------------------------------------------------------------------------


class BundleError(CryptoError):
    """Base of everything ``open_bundle`` raises: the bundle must be refused."""


class BundleFormatError(BundleError):
    """Truncated, padded or oversized input, bad magic or version, impossible header fields."""


class SignatureError(BundleError):
    """The signature does not verify under the named signing key."""


class UnknownSigningKeyError(BundleError):
    """The bundle names a signing key id that the terminal's current key set does not list."""

    def __init__(self, key_id: int, keyset_version: int) -> None:
        self.key_id = key_id
        self.keyset_version = keyset_version
        super().__init__(f"signing key id {key_id} is not in key set v{keyset_version}")


class RetiredKeyError(BundleError):
    """The key set names the key, but not for this time or id: outside its validity period, or a
    master key id outside the set's master id range (retired by the root)."""


class UnknownMasterKeyError(BundleError):
    """The bundle is sealed under a master key id the key set allows but the terminal lacks."""

    def __init__(self, key_id: int) -> None:
        self.key_id = key_id
        super().__init__(f"terminal lacks master key id {key_id} (missed a master key roll?)")


class KeyUnwrapError(BundleError):
    """The wrapped data key fails its RFC 3394 integrity check under the named master key."""


class DecryptError(BundleError):
    """AES-256-GCM authentication of the body fails."""


# ---- signed metadata: root sets and key sets -----------------------------------------------


class MetadataError(CryptoError):
    """Base of everything the root-set and key-set parsers and verifiers raise."""


class MetadataFormatError(MetadataError):
    """Truncated, padded or oversized input, bad magic, version or type, impossible fields."""


class ThresholdError(MetadataError):
    """Fewer valid signatures from a root's keys than its threshold."""


class ReplayError(MetadataError):
    """A root set or key set whose version is not newer than the one held."""


class RootGapError(MetadataError):
    """A root set that skips versions: each rotation must be exactly the next version."""


class RootVersionError(MetadataError):
    """A key set signed under another root version than the one the terminal holds."""


class EpochRollbackError(MetadataError):
    """A key set whose epoch is below the current key set's epoch."""


class KeyRebindError(MetadataError):
    """A key set that binds a key id the current set holds to different key bytes."""


class KeySetExpiredError(MetadataError):
    """A key set whose ``expires`` time has passed (it will never become acceptable)."""


class KeySetNotYetValidError(MetadataError):
    """A key set whose ``valid_from`` is still ahead (retry when it is on air again later)."""


# ---- keys held by the center, the root and terminals ---------------------------------------


class KeyRollError(CryptoError):
    """A master-key roll cannot be made or applied (malformed body, conflicting id, range full)."""


class KeySetMismatchError(CryptoError):
    """The center's keys do not fit a key set (no listed signing key held, master id outside)."""


class KeyFileError(CryptoError):
    """Key file bytes are malformed, corrupted, of another version or role, or the passphrase
    is wrong."""


# ---- card tokens ---------------------------------------------------------------------------


class TokenError(CryptoError):
    """A card validity token is malformed, forged, from a key the key set does not hold for
    tokens, or for another card."""


class TokenExpiredError(TokenError):
    """A genuine token for this card whose validity time has passed."""
