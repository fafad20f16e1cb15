"""The one error the service's request handlers raise, and how center errors map onto it.

Every refusal leaves the center unchanged and answers ``{"error": CODE, "detail": MESSAGE}``
with a status that says whose fault it is: 400 bad input, 401 no or bad token, 403 not for
this role or outside an issuer's ranges, 404 not there, 408 too slow, 409 conflicts with the
list (a token for a listed card), 413 too big, 429 too many, 503 not ready (no key set, no
scheduler).
"""

from __future__ import annotations

from center.errors import CenterInputError, ListedCardError, NotListedError, UnknownSeqError


class ServiceError(Exception):
    """A refusal with its HTTP status, a short code and a message naming what was wrong."""

    def __init__(self, status: int, code: str, detail: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers or {}

    def __repr__(self) -> str:
        return f"ServiceError({self.status}, {self.code!r}, {self.detail!r})"

    def body(self) -> dict:
        return {"error": self.code, "detail": self.detail}


def from_center(exc: CenterInputError) -> ServiceError:
    """The refusal for a center input error (raised before the center wrote anything)."""
    if isinstance(exc, NotListedError):
        return ServiceError(404, "not_listed", str(exc))
    if isinstance(exc, UnknownSeqError):
        return ServiceError(404, "unknown_bundle", str(exc))
    if isinstance(exc, ListedCardError):
        return ServiceError(409, "card_listed", str(exc))
    return ServiceError(400, "bad_input", str(exc))
