"""Files that hold key material, and the home's writer lock.

Invariants:
* A secret file is created with mode 0600 by ``os.open`` itself (never chmod after the fact,
  so no other user can open it in between), written in full and fsynced under a temporary
  name in the same folder, then renamed over the target: a reader sees the old or the new
  file, never half of one.
* Key bytes are never printed or logged; errors name paths only.
* ``home_lock`` serialises every process that changes a home (``fcntl.flock``, released by the
  kernel if the holder dies), so a key rotation's "keys file + history row" pair is never
  observed half done by another writer.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SECRET_MODE = 0o600  # owner read/write only


def write_secret_file(path: Path, data: bytes) -> None:
    """Atomically replace ``path`` with ``data``, created 0600."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, SECRET_MODE)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)  # gone already after a successful rename
    _fsync_dir(path.parent)


def write_public_file(path: Path, data: bytes) -> None:
    """Atomically replace ``path`` with ``data`` (mode 0644 less umask), for bundles."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def home_lock(lock_path: Path) -> Iterator[None]:
    """Hold the exclusive writer lock of a home for the ``with`` body."""
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, SECRET_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the flock
