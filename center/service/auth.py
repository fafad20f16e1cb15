"""Who may do what on the center service: roles, the operator store it asks, bearer tokens.

Roles (issue 11):
  admin     manages operators (and, from the shell, keys and the plan); reads and changes all
  operator  reports and reinstates cards, renews card tokens, reads everything
  auditor   reads everything, changes nothing
  issuer    a card issuer's system: reports, reinstates, looks up and renews cards of its own
            card ID ranges only; reads nothing else
  terminal  pulls bundles and nothing else

The service never sees a token's hash or how it is kept: it hands the bearer token to
``OperatorStore.authenticate`` and gets the operator back, or None (unknown or revoked). The
registry's ``CenterHome`` is that store (tokens stored only as hashes); tests use a SQLite
double of it (tests/center/service_operators.py).

Invariant: every permission question goes through ``allowed`` (the table ``PERMISSIONS``) and
``in_ranges``; nothing else in the service compares role names.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Protocol, runtime_checkable

from framing import Universe


class Role(str, Enum):
    ADMIN = "admin"
    OPERATOR = "operator"
    AUDITOR = "auditor"
    ISSUER = "issuer"
    TERMINAL = "terminal"


class Action(str, Enum):
    """What a request does, as the permission table names it."""

    READ = "read"  # list, search, statistics, history, on air, schedule, audit log
    LOOKUP = "lookup"  # one card
    CHANGE = "change"  # report, reinstate
    TOKEN = "token"  # renew a card's validity token
    PULL = "pull"  # bundles for a POS
    MANAGE = "manage"  # operators


PERMISSIONS: dict[Action, frozenset[Role]] = {
    Action.READ: frozenset({Role.ADMIN, Role.OPERATOR, Role.AUDITOR}),
    Action.LOOKUP: frozenset({Role.ADMIN, Role.OPERATOR, Role.AUDITOR, Role.ISSUER}),
    Action.CHANGE: frozenset({Role.ADMIN, Role.OPERATOR, Role.ISSUER}),
    Action.TOKEN: frozenset({Role.ADMIN, Role.OPERATOR, Role.ISSUER}),
    Action.PULL: frozenset({Role.ADMIN, Role.OPERATOR, Role.AUDITOR, Role.TERMINAL}),
    Action.MANAGE: frozenset({Role.ADMIN}),
}
# Roles whose card actions are limited to their own ranges.
RANGED_ROLES = frozenset({Role.ISSUER})


class Operator(Protocol):
    """An operator as the store gives it (``center.registry``'s ``Operator``)."""

    name: str
    role: object  # a Role, or its value as text
    ranges: object  # None, or card ID ranges: ((lo, hi), ...), a Universe, or "LO-HI,..."
    created_at: int
    revoked_at: int | None
    created_by: str


@runtime_checkable
class OperatorStore(Protocol):
    """The four operations the service needs (``CenterHome`` after issue 11's registry work)."""

    def add_operator(self, name: str, role: str, *, ranges=None, now: int, by: str,
                     note: str = "") -> str:
        """Create an operator; returns its bearer token (plaintext, this once)."""

    def operators(self) -> list:
        """Every operator, revoked ones included."""

    def revoke_operator(self, name: str, *, now: int, by: str) -> None:
        """Revoke an operator's token for good."""

    def authenticate(self, token: str) -> Operator | None:
        """The operator holding ``token``, or None when it is unknown or revoked."""


@dataclass(frozen=True)
class Principal:
    """Who made a request: the operator (as the store gave it), its role and the client
    address the request came from (for the audit log)."""

    name: str
    role: Role
    ranges: tuple[tuple[int, int], ...] | None
    client: str

    def audit_note(self, why: str) -> str:
        """The audit note: where the change came from, then why (``http 10.0.0.7: lost``)."""
        return f"http {self.client}: {why}" if why else f"http {self.client}"


def role_of(value: object) -> Role | None:
    """A store's role (enum or text) as a ``Role``; None for a role this service does not know."""
    text = getattr(value, "value", value)
    try:
        return Role(str(text).lower())
    except ValueError:
        return None


def ranges_of(value: object) -> tuple[tuple[int, int], ...] | None:
    """An operator's ranges as inclusive (lo, hi) pairs; None means no range limit."""
    if value is None:
        return None
    if isinstance(value, str):
        value = Universe.parse(value)
    if isinstance(value, Universe):
        return tuple((int(lo), int(hi)) for lo, hi in value.ranges)
    pairs: Iterable = value
    return tuple((int(lo), int(hi)) for lo, hi in pairs)


def principal(op: Operator, client: str) -> Principal | None:
    """The principal of an authenticated operator; None when its role is unknown (fail closed)."""
    role = role_of(op.role)
    if role is None or getattr(op, "revoked_at", None):
        return None
    return Principal(op.name, role, ranges_of(getattr(op, "ranges", None)), client)


def allowed(who: Principal, action: Action) -> bool:
    return who.role in PERMISSIONS[action]


def in_ranges(who: Principal, card_ids: Iterable[int]) -> int | None:
    """The first card outside ``who``'s ranges (an issuer's), or None when all are inside."""
    if who.role not in RANGED_ROLES:
        return None
    ranges = who.ranges or ()
    for card in card_ids:
        if not any(lo <= card <= hi for lo, hi in ranges):
            return card
    return None


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None. Tokens are printable
    ASCII without spaces (what a store hands out); anything else is no token."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 512:
        return None
    if not (token.isascii() and token.isprintable()) or " " in token:
        return None
    return token
