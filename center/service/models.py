"""Request and response bodies of the JSON API (pydantic): the OpenAPI document's schemas.

Card IDs are JSON strings (they go past the 2**53 integers JSON readers keep exactly); times
are unix seconds with an ``_utc`` twin, as on the command line (``center.cli_output``).
Requests refuse fields they do not know (``extra="forbid"``): a typo is an error, not ignored.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ReasonName = Literal["stolen", "lost", "fraud", "other"]
RoleName = Literal["admin", "operator", "auditor", "issuer", "terminal"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReportIn(_In):
    reason: ReasonName = "stolen"
    expires: str | None = Field(None, description="the card's expiry month, YYYY-MM",
                                examples=["2028-06"])
    note: str = Field("", description="why, for the audit log", max_length=500)


class ReinstateIn(_In):
    note: str = Field("", description="why, for the audit log", max_length=500)


class TokenIn(_In):
    valid_until: str = Field(description="valid through this UTC day, YYYY-MM-DD",
                             examples=["2027-12-31"])
    note: str = Field("", description="why, for the audit log", max_length=500)


class OperatorIn(_In):
    name: str
    role: RoleName
    ranges: list[str] | None = Field(None, description="an issuer's card ID ranges, LO-HI")
    note: str = Field("", max_length=500)


class Problem(BaseModel):
    """Every refusal: a short code and a message naming what was wrong."""

    error: str
    detail: str


class Entry(BaseModel):
    card: str
    reason: ReasonName
    listed_at: int
    listed_at_utc: str
    listed_by: str
    expires: str | None


class ReportOut(BaseModel):
    card: str
    reason: ReasonName
    expires: str | None
    added: int = Field(description="1 when the card was newly listed")
    changed: int = Field(description="1 when a listed card took a new reason or expiry")
    unchanged: int = Field(description="1 when the same report was made before (idempotent)")
    entries: int


class ReinstateOut(BaseModel):
    card: str
    reinstated: bool
    entries: int


class AuditRow(BaseModel):
    id: int
    at: int
    at_utc: str
    by: str
    action: str
    card: str | None
    reason: ReasonName | None
    expires: str | None
    note: str


class LookupOut(BaseModel):
    card: str
    listed: bool
    entry: Entry | None
    audit: list[AuditRow] = Field(description="the newest audit rows about the card")


class EntriesPage(BaseModel):
    entries: list[Entry]
    next_after: str | None = Field(description="pass as ?after= for the next page; null: last")


class AuditPage(BaseModel):
    rows: list[AuditRow]
    next_before: int | None = Field(description="pass as ?before= for the next page")


class GrowthPoint(BaseModel):
    at: int
    at_utc: str
    epoch: int
    seq: int
    kind: str
    entries: int | None


class DayCount(BaseModel):
    day: str
    listed: int
    reinstated: int


class StatsOut(BaseModel):
    now: int
    entries: int
    by_reason: dict[str, int]
    growth: list[GrowthPoint] = Field(description="list size after each list bundle built")
    daily: list[DayCount]


class HistoryRow(BaseModel):
    model_config = ConfigDict(extra="allow")

    kind: str
    epoch: int
    seq: int
    base: int
    bytes: int
    sha256: str
    created_at: int
    valid_until: int
    entries: int | None


class HistoryOut(BaseModel):
    bundles: list[HistoryRow]


class AirOut(BaseModel):
    """The scheduler's status (``<home>/serve/status.json``), as it wrote it."""

    model_config = ConfigDict(extra="allow")

    running: bool
    channels: list[dict] = []
    warnings: list[str] = []


class ScheduleOut(BaseModel):
    hours: float
    rows: list[dict]


class TokenOut(BaseModel):
    card: str
    valid_until: int
    valid_until_utc: str
    token: str = Field(description="the signed token, hex")


class OperatorOut(BaseModel):
    name: str
    role: RoleName
    ranges: list[str] | None
    created_at: int | None = None
    created_by: str | None = None
    revoked_at: int | None = None


class NewOperatorOut(BaseModel):
    name: str
    role: RoleName
    ranges: list[str] | None
    token: str = Field(description="the bearer token: shown this once, stored only as a hash")


class OperatorsOut(BaseModel):
    operators: list[OperatorOut]


class RevokedOperatorOut(BaseModel):
    name: str
    revoked: bool
    revoked_at: int


class WhoAmI(BaseModel):
    name: str
    role: RoleName
    ranges: list[str] | None
    client: str
