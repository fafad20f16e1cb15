"""Typed errors of the crypto layer.

Every failure of ``open_bundle`` is a ``BundleError`` subclass, so a receiver can refuse a
bundle with one ``except`` and still report exactly why. Messages name key ids and sizes,
never key material. Misuse by the caller (a header that does not match the sealing keys, a
key of the wrong length) raises ``ValueError`` instead.
"""


class CryptoError(Exception):
    """Base of every error raised by ``crypto``."""


class BundleError(CryptoError):
    """Base of everything ``open_bundle`` raises: the bundle must be refused."""


class BundleFormatError(BundleError):
    """Truncated, padded or oversized input, bad magic or version, impossible header fields."""


class SignatureError(BundleError):
    """The signature does not verify under the named signing key."""


class UnknownSigningKeyError(BundleError):
    """The bundle names a signing key id the terminal does not hold."""

    def __init__(self, key_id: int) -> None:
        self.key_id = key_id
        super().__init__(f"terminal lacks signing key id {key_id} (missed a signer roll?)")


class UnknownMasterKeyError(BundleError):
    """The bundle is sealed under a master key id the terminal does not hold."""

    def __init__(self, key_id: int) -> None:
        self.key_id = key_id
        super().__init__(f"terminal lacks master key id {key_id} (missed a master key roll?)")


class KeyUnwrapError(BundleError):
    """The wrapped data key fails its RFC 3394 integrity check under the named master key."""


class DecryptError(BundleError):
    """AES-256-GCM authentication of the body fails."""


class KeyRollError(CryptoError):
    """A key roll cannot be made or applied (malformed body, conflicting key id, id space full)."""


class KeyFileError(CryptoError):
    """Key file bytes are malformed, corrupted, of another version or of the wrong role."""


class TokenError(CryptoError):
    """A card validity token is malformed, forged, from an unknown signer or for another card."""


class TokenExpiredError(TokenError):
    """A genuine token for this card whose validity time has passed."""
