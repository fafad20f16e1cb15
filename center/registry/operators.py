"""Operators and machines that use the center's service: roles, card ranges, bearer tokens.

Roles (what the HTTP service lets each do): ``admin`` manages operators, keys and the plan;
``operator`` reports and reinstates cards; ``auditor`` reads everything and changes nothing;
``issuer`` (a card issuer's system) reports and reinstates cards in its own ranges only;
``terminal`` pulls bundles and nothing else.

Tokens: ``hct1_`` and 43 base64url characters of 32 random bytes (256 bits from ``secrets``).
The registry keeps only SHA-256 over a domain prefix and the token. A token carries 256 bits of
entropy, so a fast hash is enough (a slow KDF defends guessable passwords; guessing a 256-bit
token is 2**256 work at any hash speed), and lookup is one indexed read by that hash, then a
constant-time comparison (``hmac.compare_digest``). A token is shown once, when made.

Invariants:
* A name is unique among the operators not revoked; a revoked operator stays listed (who was
  allowed what, and when) and its name may be given to a new operator with a new token.
* The table allows one change to a row: revoking it (triggers refuse any other UPDATE and every
  DELETE). Every add and revoke is in the audit log with who, when and the note (why; the
  service adds where from).
* Card ranges belong to issuers only, and an issuer has at least one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from center.errors import OperatorError, OutsideRangesError
from center.registry.db import Registry
from framing import is_card_id_text

TOKEN_PREFIX = "hct1_"
TOKEN_BYTES = 32  # 256 bits
_TOKEN_CHARS = len(TOKEN_PREFIX) + 43  # 43 = ceil(32 * 8 / 6) base64url characters, no padding
_HASH_DOMAIN = b"hotcast operator token v1\x00"
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}")
MAX_RANGES = 1000
_COLUMNS = "name, role, ranges, created_at, revoked_at, created_by, revoked_by"


class Role(StrEnum):
    ADMIN = "admin"
    OPERATOR = "operator"
    AUDITOR = "auditor"
    ISSUER = "issuer"
    TERMINAL = "terminal"


@dataclass(frozen=True)
class Operator:
    """One operator or machine as the registry holds it (never its token)."""

    name: str
    role: Role
    ranges: list[tuple[int, int]]  # inclusive card ID ranges (issuers only), sorted
    created_at: int
    revoked_at: int | None
    created_by: str
    revoked_by: str | None = None

    def covers(self, card_id: int) -> bool:
        """Whether an issuer's ranges hold ``card_id`` (False for every other role)."""
        return any(lo <= card_id <= hi for lo, hi in self.ranges)


def parse_role(text: str) -> Role:
    try:
        return Role(str(text).strip().lower())
    except ValueError:
        raise OperatorError(f"unknown role {text!r}: want one of "
                            f"{'|'.join(r.value for r in Role)}") from None


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise OperatorError(f"bad operator name {name!r}: 1 to 64 of A-Z a-z 0-9 . _ @ + -, "
                            "starting with a letter or digit")
    return name


def parse_range(text: str) -> tuple[int, int]:
    """``LO-HI`` (card IDs, LO <= HI) -> (lo, hi); ``OperatorError`` naming ``text``."""
    lo, sep, hi = str(text).strip().partition("-")
    if sep != "-" or not (is_card_id_text(lo.strip()) and is_card_id_text(hi.strip())):
        raise OperatorError(f"bad card range {text!r}: want LO-HI with card IDs of 1 to 19 "
                            "digits")
    if int(lo) > int(hi):
        raise OperatorError(f"bad card range {text!r}: LO is above HI")
    return int(lo), int(hi)


def check_ranges(role: Role,
                 ranges: Iterable[tuple[int, int] | str] | None) -> list[tuple[int, int]]:
    """The ranges as sorted (lo, hi) pairs; issuers need at least one, others none."""
    out = []
    for r in ranges or ():
        if isinstance(r, str):
            out.append(parse_range(r))
            continue
        lo, hi = r
        if not (isinstance(lo, int) and isinstance(hi, int) and 0 <= lo <= hi < 10**19):
            raise OperatorError(f"bad card range {r!r}: want 0 <= LO <= HI < 10**19")
        out.append((lo, hi))
    if len(out) > MAX_RANGES:
        raise OperatorError(f"{len(out)} card ranges: at most {MAX_RANGES}")
    if role is Role.ISSUER and not out:
        raise OperatorError("an issuer needs its card ranges (--range LO-HI)")
    if role is not Role.ISSUER and out:
        raise OperatorError(f"card ranges are for issuers; a {role.value} acts on every card")
    return sorted(out)


def format_ranges(ranges: Sequence[tuple[int, int]]) -> list[str]:
    return [f"{lo}-{hi}" for lo, hi in ranges]


def check_in_ranges(ids: np.ndarray, ranges: Sequence[tuple[int, int]]) -> None:
    """``OutsideRangesError`` naming the first of ``ids`` ((n,) uint64) outside every range."""
    inside = np.zeros(len(ids), dtype=bool)
    for lo, hi in ranges:
        inside |= (ids >= np.uint64(lo)) & (ids <= np.uint64(hi))
    if not inside.all():
        card = int(ids[~inside][0])
        shown = ", ".join(format_ranges(ranges)) or "none"
        raise OutsideRangesError(f"card {card} is outside the card ranges allowed "
                                 f"({shown}): nothing changed")


def new_token() -> str:
    raw = base64.urlsafe_b64encode(secrets.token_bytes(TOKEN_BYTES)).rstrip(b"=")
    return TOKEN_PREFIX + raw.decode("ascii")


def token_hash(token: str) -> str:
    """SHA-256 (hex) of the domain prefix and the token: what the registry keeps."""
    return hashlib.sha256(_HASH_DOMAIN + token.encode("utf-8")).hexdigest()


def _row(row: tuple) -> Operator:
    name, role, ranges, created_at, revoked_at, created_by, revoked_by = row
    pairs = [parse_range(r) for r in ranges.split(",")] if ranges else []
    return Operator(name, Role(role), pairs, int(created_at),
                    None if revoked_at is None else int(revoked_at), created_by, revoked_by)


# -- the table (call the writers inside ``Registry.transaction()``) ---------------------------


def insert(reg: Registry, name: str, role: Role, ranges: list[tuple[int, int]], token: str,
           now: int, by: str) -> None:
    if reg.query_one("SELECT 1 FROM operators WHERE name=? AND revoked_at IS NULL", (name,)):
        raise OperatorError(f"operator {name!r} exists: revoke it first to give the name a new "
                            "token")
    reg.execute("INSERT INTO operators (name, role, ranges, token_hash, created_at, created_by) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (name, role.value, ",".join(format_ranges(ranges)), token_hash(token), now, by))


def all_operators(reg: Registry) -> list[Operator]:
    """Every operator ever added, in the order they were added (revoked ones too)."""
    return [_row(r) for r in reg.query(f"SELECT {_COLUMNS} FROM operators ORDER BY id")]


def revoke(reg: Registry, name: str, now: int, by: str) -> Operator:
    if reg.execute("UPDATE operators SET revoked_at=?, revoked_by=? WHERE name=? AND "
                   "revoked_at IS NULL", (now, by, name)) != 1:
        raise OperatorError(f"no operator {name!r} to revoke (unknown, or revoked already)")
    row = reg.query_one(f"SELECT {_COLUMNS} FROM operators WHERE name=? AND revoked_at=? "
                        "ORDER BY id DESC", (name, now))
    return _row(row)


def authenticate(reg: Registry, token: object) -> Operator | None:
    """The operator that holds ``token``, or None (unknown, revoked, or not a token at all)."""
    if not isinstance(token, str) or len(token) != _TOKEN_CHARS or not token.isascii():
        return None
    digest = token_hash(token)
    row = reg.query_one(f"SELECT {_COLUMNS}, token_hash FROM operators WHERE token_hash=? AND "
                        "revoked_at IS NULL", (digest,))
    if row is None or not hmac.compare_digest(row[-1], digest):
        return None
    return _row(row[:-1])
