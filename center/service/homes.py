"""One ``CenterHome`` per worker thread.

``CenterHome`` holds one SQLite connection, and a SQLite connection belongs to the thread that
opened it; the service answers requests on a pool of worker threads, so each thread opens the
home once, the first time it needs it, and keeps it (WAL: readers never block the writer, and
``CenterHome`` takes the home's writer lock for every change). The passphrase is asked for only
when a thread first signs something (a token, a heartbeat, a pulled delta).

Invariant: no home object ever crosses threads (a SQLite connection cannot even be closed from
another one): a thread's home is closed when the thread ends and its locals go.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from center.registry.home import CenterHome


class HomePool:
    def __init__(self, path: Path, passphrase: Callable[[], str] | str | None) -> None:
        self.path = Path(path)
        self._passphrase = _asked_once(passphrase)
        self._local = threading.local()
        # Fail at start, not at the first request, when there is no home.
        CenterHome.open(self.path, self._passphrase).close()

    def __repr__(self) -> str:
        return f"HomePool(path={str(self.path)!r})"

    def home(self) -> CenterHome:
        """This thread's home (opened on first use)."""
        home = getattr(self._local, "home", None)
        if home is None:
            home = CenterHome.open(self.path, self._passphrase)
            self._local.home = home
        return home


def _asked_once(passphrase: Callable[[], str] | str | None) -> Callable[[], str] | str | None:
    """A passphrase callable (a prompt) is asked once for every thread, not once per thread."""
    if not callable(passphrase):
        return passphrase
    lock = threading.Lock()
    cache: list[str] = []

    def once() -> str:
        with lock:
            if not cache:
                cache.append(passphrase())
            return cache[0]
    return once
