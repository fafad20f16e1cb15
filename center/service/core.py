"""The service's shared state and its one door: ``Service.authorize``.

Every request that needs an operator goes through ``authorize`` (the JSON API with a bearer
token, the operator page with the token kept in its session), in this order, each step
refusing before the next runs:
  1. the per-address rate limit of a limited route (429),
  2. a token at all, then one the operator store knows and has not revoked (401),
  3. the role's permission for the action (403),
  4. the per-token rate limit (429).
An issuer's card ranges are checked with the card (``actions.card_id``, 403).

Blocking calls (the store, the home) run on worker threads; ``Service`` is shared by all.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from center.service.auth import Action, OperatorStore, Principal, allowed, principal
from center.service.errors import ServiceError
from center.service.homes import HomePool
from center.service.limits import RateLimiter, ServiceLimits, retry_after
from center.service.pull import PullServer
from center.service.reads import StatsCache

STATUS_FILE = Path("serve") / "status.json"
# A scheduler status older than this says the scheduler is not running (it writes every few s).
STATUS_STALE_S = 30
Clock = Callable[[], int]
StatusReader = Callable[[], dict | None]
ScheduleReader = Callable[[float], list[dict]]


class Service:
    def __init__(self, home_path: Path, *, passphrase, clock: Clock,
                 operators: OperatorStore | None, status: StatusReader | None,
                 schedule: ScheduleReader | None, log: Callable[[dict], None] | None,
                 limits: ServiceLimits, monotonic: Callable[[], float]) -> None:
        self.pool = HomePool(home_path, passphrase)
        self.home_path = Path(home_path)
        self.clock = clock
        self.limits = limits
        self.limiter = RateLimiter(monotonic)
        self.pull = PullServer(limits.heartbeat_every_s, limits.pull_build_every_s, monotonic)
        self.stats = StatsCache(limits.stats_ttl_s)
        self.log = log
        self._operators = operators
        self._status = status or self._status_file
        self.schedule = schedule
        self.operator_store()  # refuse to start without one

    def __repr__(self) -> str:
        return f"Service(home={str(self.home_path)!r}, limits={self.limits!r})"

    def operator_store(self) -> OperatorStore:
        """The operator store given, else this thread's ``CenterHome`` (which is one)."""
        store = self._operators if self._operators is not None else self.pool.home()
        if not isinstance(store, OperatorStore):
            raise TypeError(f"{type(store).__name__} does not keep operators (add_operator, "
                            "operators, revoke_operator, authenticate): the service needs them")
        return store

    def now(self) -> int:
        return int(self.clock())

    # -- the door ----------------------------------------------------------------------------
    def authorize(self, token: str | None, client: str, action: Action | None,
                  limited: str | None = None) -> Principal:
        """The principal of ``token``, allowed ``action`` (None: any role), or a refusal."""
        if limited is not None:
            self.limit(limited, "address", client)
        if token is None:
            raise ServiceError(401, "unauthenticated", "no bearer token: send "
                               "'Authorization: Bearer TOKEN'",
                               {"WWW-Authenticate": 'Bearer realm="hotcast"'})
        op = self.operator_store().authenticate(token)
        who = None if op is None else principal(op, client)
        if who is None:
            raise ServiceError(401, "unauthenticated", "the token is unknown or revoked",
                               {"WWW-Authenticate": 'Bearer realm="hotcast", '
                                                    'error="invalid_token"'})
        return self.permit(who, action, limited)

    def permit(self, who: Principal, action: Action | None,
               limited: str | None = None) -> Principal:
        """``who`` if its role may do ``action`` (None: any role), after its rate limit; else
        a 403 (or a 429 from the limit)."""
        if action is not None and not allowed(who, action):
            raise ServiceError(403, "forbidden", f"role {who.role.value} may not "
                               f"{action.value} (operator {who.name!r})")
        if limited is not None:
            self.limit(limited, "token", who.name)
        return who

    def limit(self, kind: str, per: str, key: str) -> None:
        bucket = getattr(self.limits, f"{kind}_per_{per}")
        wait = self.limiter.wait_s((kind, per, key), bucket)
        if wait > 0:
            raise ServiceError(429, "rate_limited", f"too many {kind} requests from this "
                               f"{per} ({bucket.per_s:g}/s, bursts of {bucket.burst}); retry "
                               f"in {retry_after(wait)} s",
                               {"Retry-After": str(retry_after(wait))})

    # -- what the scheduler says ---------------------------------------------------------------
    def air(self) -> dict:
        """The scheduler's status with ``running`` (a status handed in by ``center serve``
        itself is a running scheduler's unless it says otherwise)."""
        status = self._status()
        if status is not None:
            status = {"running": True, **status}
        if status is None:
            return {"running": False, "channels": [], "warnings": [
                "the scheduler (hotcast center serve) has written no status: nothing is known "
                "to be on air"]}
        return status

    def _status_file(self) -> dict | None:
        """``<home>/serve/status.json`` as the scheduler wrote it, with ``running`` and
        ``age_s`` added; None when there is none."""
        path = self.home_path / STATUS_FILE
        try:
            status = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            return {"running": False, "channels": [], "warnings": [
                f"cannot read the scheduler's status {path}: {exc}"]}
        age = self.now() - int(status.get("updated_at", 0))
        return {**status, "running": age <= STATUS_STALE_S, "age_s": age}

