"""The service tests' operator store: the real one (``CenterHome.add_operator`` ... in
center/registry/operators.py), opened on the test's home for each call as the service's own
worker would, and counting authentications so that a test can see a request was refused
before the store was asked."""

from __future__ import annotations

import threading
from pathlib import Path

from center_helpers import PASSPHRASE

from center.registry.home import CenterHome


class HomeOperators:
    """``OperatorStore`` over the center home at ``path`` (thread-safe: one home per call)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.authentications = 0
        self._lock = threading.Lock()

    def _home(self) -> CenterHome:
        return CenterHome.open(self.path, PASSPHRASE)

    def add_operator(self, name: str, role: str, *, ranges=None, now: int, by: str,
                     note: str = "") -> str:
        with self._home() as home:
            return home.add_operator(name, role, ranges=ranges, now=now, by=by, note=note)

    def operators(self) -> list:
        with self._home() as home:
            return home.operators()

    def revoke_operator(self, name: str, *, now: int, by: str) -> None:
        with self._home() as home:
            home.revoke_operator(name, now=now, by=by)

    def authenticate(self, token: str):
        with self._lock:
            self.authentications += 1
        with self._home() as home:
            return home.authenticate(token)

    def dump(self) -> tuple:
        return tuple(self.operators())
