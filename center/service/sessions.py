"""Sessions of the operator page, kept in memory by the service (never in the browser).

A session id is 256 random bits; the session holds the operator's token (so every request is
checked against the store again), a CSRF token for its forms and a one-shot message. Sessions
end after ``idle_s`` without a request, ``max_age_s`` after login, or at logout; at most
``max_sessions`` are kept (the oldest go first). A restart of the service logs everyone out.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

SESSION_COOKIE = "hotcast_session"
PRE_COOKIE = "hotcast_login"
IDLE_S = 30 * 60  # half an hour without a request
MAX_AGE_S = 12 * 3600  # one working day


@dataclass
class Session:
    sid: str
    token: str
    csrf: str
    created: float
    seen: float
    flash: str | None = field(default=None)

    def __repr__(self) -> str:  # never show the token or the ids
        return f"Session(created={self.created:.0f}, seen={self.seen:.0f})"

    def take_flash(self) -> str | None:
        message, self.flash = self.flash, None
        return message


class Sessions:
    def __init__(self, monotonic: Callable[[], float] = time.monotonic, *, idle_s: float = IDLE_S,
                 max_age_s: float = MAX_AGE_S, max_sessions: int = 10_000) -> None:
        self._now = monotonic
        self.idle_s, self.max_age_s, self.max_sessions = idle_s, max_age_s, max_sessions
        self.secret = secrets.token_bytes(32)  # keys the login form's CSRF tokens
        self._by_id: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Sessions(open={len(self._by_id)}, idle_s={self.idle_s})"

    def create(self, token: str) -> Session:
        now = self._now()
        session = Session(secrets.token_urlsafe(32), token, secrets.token_urlsafe(32), now, now)
        with self._lock:
            self._by_id[session.sid] = session
            while len(self._by_id) > self.max_sessions:
                self._by_id.popitem(last=False)
        return session

    def get(self, sid: str | None) -> Session | None:
        if not sid:
            return None
        now = self._now()
        with self._lock:
            session = self._by_id.get(sid)
            if session is None:
                return None
            if now - session.seen > self.idle_s or now - session.created > self.max_age_s:
                del self._by_id[sid]
                return None
            session.seen = now
            return session

    def drop(self, sid: str | None) -> None:
        with self._lock:
            self._by_id.pop(sid or "", None)
