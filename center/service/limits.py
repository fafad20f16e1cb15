"""Settings of the service and its rate limiter (token buckets per token and per address).

A bucket holds up to ``burst`` requests and refills at ``per_s`` requests a second: a client
may send ``burst`` at once, then ``per_s`` a second for as long as it likes. A request that
finds its bucket empty is refused with 429 and ``Retry-After`` = the whole seconds until one
request's worth has refilled. Report/reinstate and pull each have their own buckets, one per
operator (token) and one per client address; the address bucket is asked first, before the
token is even checked, so a flood of bad tokens costs the store nothing.

Invariants: the limiter keeps at most ``max_keys`` buckets (a full bucket carries no state, so
the oldest full ones go first, then the oldest); it is thread-safe; time comes from the
``monotonic`` callable it is given.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Bucket:
    """One rate: ``per_s`` requests a second sustained, ``burst`` at once."""

    per_s: float
    burst: int

    def __post_init__(self) -> None:
        if not self.per_s > 0:
            raise ValueError(f"per_s must be above 0, got {self.per_s}")
        if self.burst < 1:
            raise ValueError(f"burst must be at least 1, got {self.burst}")


@dataclass(frozen=True)
class ServiceLimits:
    """What the service accepts. Sizes in bytes, times in seconds."""

    # A report is ~200 bytes of JSON; 16 KiB leaves room for a long note and no room for abuse.
    max_body_bytes: int = 16 * 1024
    # A client that has sent a request line but not its headers (or its whole body) within
    # this long is cut off: slow clients never hold a connection for long.
    header_timeout_s: float = 10.0
    body_timeout_s: float = 10.0
    # Connections served at once before new ones get 503 (uvicorn's limit_concurrency).
    max_connections: int = 500
    # Reports and reinstatements: an operator types a few a minute, an issuer's system may send
    # bursts; 20/s sustained per token covers a bulk job, bulk lists go through `center import`.
    report_per_token: Bucket = Bucket(per_s=20.0, burst=200)
    report_per_address: Bucket = Bucket(per_s=40.0, burst=400)
    # Pulls: a POS polls every minute or so; many may share one address (a shop's NAT).
    pull_per_token: Bucket = Bucket(per_s=1.0, burst=10)
    pull_per_address: Bucket = Bucket(per_s=50.0, burst=500)
    # Logins on the operator page, per address (guessing tokens is pointless at 2**256, but
    # each try costs a store look-up).
    login_per_address: Bucket = Bucket(per_s=1.0, burst=10)
    # Statistics are recomputed at most this often (they walk the whole list and audit log).
    stats_ttl_s: float = 10.0
    # A fresh heartbeat for pulls at most this often (the one on air is made every 60 s).
    heartbeat_every_s: int = 60
    # A pull may build a delta from the terminal's own list (when that is much shorter than
    # the full list) at most this often; in between it gets what is built already.
    pull_build_every_s: float = 30.0

    def __post_init__(self) -> None:
        for name in ("max_body_bytes", "max_connections"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("header_timeout_s", "body_timeout_s", "stats_ttl_s", "pull_build_every_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be above 0, got {getattr(self, name)}")
        if self.heartbeat_every_s < 1:
            raise ValueError(f"heartbeat_every_s must be at least 1, got {self.heartbeat_every_s}")


class RateLimiter:
    """Token buckets by key. ``wait_s(key, bucket)`` takes one request's worth and returns 0,
    or returns the seconds until one is there (and takes nothing)."""

    def __init__(self, monotonic: Callable[[], float], max_keys: int = 100_000) -> None:
        if max_keys < 1:
            raise ValueError(f"max_keys must be at least 1, got {max_keys}")
        self._now = monotonic
        self._max = max_keys
        self._levels: OrderedDict[tuple, tuple[float, float]] = OrderedDict()  # key -> (level, t)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RateLimiter(keys={len(self._levels)}, max_keys={self._max})"

    def wait_s(self, key: tuple, bucket: Bucket) -> float:
        with self._lock:
            now = self._now()
            level, then = self._levels.get(key, (float(bucket.burst), now))
            level = min(float(bucket.burst), level + (now - then) * bucket.per_s)
            if level >= 1.0:
                self._levels[key] = (level - 1.0, now)
                self._levels.move_to_end(key)
                self._trim(now, bucket)
                return 0.0
            self._levels[key] = (level, now)
            return (1.0 - level) / bucket.per_s

    def _trim(self, now: float, bucket: Bucket) -> None:
        if len(self._levels) <= self._max:
            return
        # Oldest first: drop buckets that have refilled (they hold no state), else the oldest.
        for key in list(self._levels)[: max(1, len(self._levels) // 8)]:
            level, then = self._levels[key]
            if level + (now - then) * bucket.per_s >= bucket.burst:
                del self._levels[key]
        while len(self._levels) > self._max:
            self._levels.popitem(last=False)


def retry_after(wait_s: float) -> int:
    """``Retry-After`` header value: whole seconds, at least 1."""
    return max(1, math.ceil(wait_s))
