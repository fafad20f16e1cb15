"""The changes the service makes, for the JSON API and the operator page alike: report,
reinstate, renew a card's token, and manage operators.

Each takes the thread's ``CenterHome``, the ``Principal`` who asks and ``now``; checks
everything (card ID, universe, the issuer's ranges, reason, expiry month, note) before the
home is touched, and then makes one ``CenterHome`` call (one transaction). The audit row
names the operator (``by``) and, in its note, the client address and the reason given
(``http 10.0.0.7: customer called``).

Invariant: a refusal (``ServiceError`` or a ``CenterInputError``) leaves the home unchanged.
"""

from __future__ import annotations

import re

from center.errors import CenterInputError
from center.registry.home import CenterHome
from center.registry.inputs import parse_card_ids, parse_date_end
from center.registry.inputs import parse_reason, parse_universe
from center.service.auth import Principal, Role, in_ranges, ranges_of
from center.service.errors import ServiceError

MAX_NOTE_CHARS = 500
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


def card_id(home: CenterHome, who: Principal, text: str) -> int:
    """A card ID of the request, inside the universe and (for an issuer) its ranges."""
    (card,) = parse_card_ids([text], home.universe).tolist()
    outside = in_ranges(who, [card])
    if outside is not None:
        raise ServiceError(403, "outside_ranges", f"card {outside} is outside the card ranges "
                           f"of issuer {who.name!r}")
    return card


def note_text(note: str | None) -> str:
    note = (note or "").strip()
    if len(note) > MAX_NOTE_CHARS:
        raise ServiceError(400, "bad_input", f"note is {len(note)} characters; at most "
                           f"{MAX_NOTE_CHARS}")
    if any(not ch.isprintable() for ch in note):
        raise ServiceError(400, "bad_input", "note holds control characters")
    return note


def report(home: CenterHome, who: Principal, card_text: str, reason: str,
           expires: str | None, note: str | None, now: int) -> dict:
    """List a card (idempotent: the same report again changes nothing and says so)."""
    card = card_id(home, who, card_text)
    reason_value = parse_reason(reason)
    why = who.audit_note(note_text(note))
    counts = home.revoke([card], reason_value, now=now, by=who.name, note=why,
                         expires=expires or None)
    return {"card": str(card), "reason": reason_value.name.lower(), "expires": expires or None,
            "added": counts.added, "changed": counts.changed, "unchanged": counts.unchanged,
            "entries": home.count()}


def reinstate(home: CenterHome, who: Principal, card_text: str, note: str | None,
              now: int) -> dict:
    """Take a listed card off the list (404 ``not_listed`` when it is not on it)."""
    card = card_id(home, who, card_text)
    home.reinstate([card], now=now, by=who.name, note=who.audit_note(note_text(note)))
    return {"card": str(card), "reinstated": True, "entries": home.count()}


def renew_token(home: CenterHome, who: Principal, card_text: str, valid_until: str,
                note: str | None, now: int) -> dict:
    """A signed validity token for a card that is not listed (409 ``card_listed`` if it is)."""
    card = card_id(home, who, card_text)
    try:
        until = parse_date_end(valid_until)
    except ValueError as exc:
        raise ServiceError(400, "bad_input", f"valid_until: {exc}") from None
    if until < now:
        raise ServiceError(400, "bad_input", f"valid_until {valid_until} is in the past")
    token = home.issue_token(card, until, now=now, by=who.name,
                             note=who.audit_note(note_text(note)))
    return {"card": str(card), "valid_until": until, "token": token.hex()}


def add_operator(store, who: Principal, name: str, role: str, ranges: list[str] | None,
                 note: str | None, now: int) -> dict:
    """Create an operator; the answer holds its bearer token, shown this once."""
    if not NAME_RE.fullmatch(name):
        raise ServiceError(400, "bad_input", f"bad operator name {name!r}: 1 to 64 letters, "
                           "digits, '.', '_', '@' or '-', starting with a letter or digit")
    try:
        role_value = Role(role)
    except ValueError:
        raise ServiceError(400, "bad_input", f"unknown role {role!r}: want one of "
                           f"{'|'.join(r.value for r in Role)}") from None
    pairs = None
    if ranges:
        try:
            pairs = ranges_of(parse_universe(",".join(ranges)))
        except CenterInputError as exc:
            raise ServiceError(400, "bad_input", f"ranges: {exc}") from None
    if role_value is Role.ISSUER and not pairs:
        raise ServiceError(400, "bad_input", "an issuer needs its card ranges (LO-HI, ...)")
    if role_value is not Role.ISSUER and pairs:
        raise ServiceError(400, "bad_input", f"only an issuer has card ranges, not a "
                           f"{role_value.value}")
    if any(getattr(op, "name", None) == name for op in store.operators()):
        raise ServiceError(409, "operator_exists", f"operator {name!r} exists already")
    token = store.add_operator(name, role_value.value, ranges=pairs, now=now, by=who.name,
                               note=who.audit_note(note_text(note)))
    return {"name": name, "role": role_value.value, "token": token,
            "ranges": None if pairs is None else [f"{lo}-{hi}" for lo, hi in pairs]}


def revoke_operator(store, who: Principal, name: str, now: int) -> dict:
    found = [op for op in store.operators() if op.name == name]
    if not found:
        raise ServiceError(404, "unknown_operator", f"no operator {name!r}")
    if found[0].revoked_at:
        return {"name": name, "revoked": True, "revoked_at": found[0].revoked_at}
    store.revoke_operator(name, now=now, by=who.name)
    return {"name": name, "revoked": True, "revoked_at": now}


def operator_row(op) -> dict:
    pairs = ranges_of(getattr(op, "ranges", None))
    role = getattr(op.role, "value", op.role)
    return {"name": op.name, "role": str(role), "created_at": op.created_at,
            "created_by": op.created_by, "revoked_at": op.revoked_at,
            "ranges": None if pairs is None else [f"{lo}-{hi}" for lo, hi in pairs]}
