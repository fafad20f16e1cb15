"""A POS with a network line pulls bundles from the center service (``hotcast terminal
pull``): the HTTP request and the container, nothing else. What it gets is applied by the
store exactly as a broadcast bundle is (``TerminalStore.apply_bundle``): the transport is not
trusted, TLS or not.

The request says what the store holds, so the center sends only what is missing:
``GET {base}/v1/bundles?epoch=E&seq=S&root=R&keyset=K&master=M`` with the operator's bearer
token and the ETag of the last answer applied in full (``If-None-Match``; 304: nothing new).
The answer is read up to ``MAX_RESPONSE_BYTES`` and no further (endless data), and decoded
with ``framing.container``'s limits.

Invariant: nothing here touches the store; ``PullState`` (the last ETag) is a small file of
the terminal home, written only after everything of an answer applied.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from crypto import MAX_BUNDLE_BYTES, TerminalKeys
from framing.container import CONTENT_TYPE, ContainerError, decode_bundles
from receiver.errors import PullError, UsageError
from receiver.store.state import ListState

PULL_PATH = "/v1/bundles"
STATE_FILE = "pull.json"
# A full list, a delta and the trust around them: two bundles of the largest size and 4 MiB.
MAX_RESPONSE_BYTES = 2 * MAX_BUNDLE_BYTES + 4 * 2**20
DEFAULT_TIMEOUT_S = 30.0
MAX_TOKEN_BYTES = 512


@dataclass(frozen=True)
class PullReply:
    """``status`` 200 with ``items`` (bundle bytes, unverified), or 304 with none."""

    status: int
    items: tuple[bytes, ...]
    etag: str | None


def pull_url(base: str, state: ListState, keys: TerminalKeys) -> str:
    """The request URL for a store in ``state`` holding ``keys``."""
    parts = urllib.parse.urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"bad center URL {base!r}: want http(s)://HOST[:PORT][/PATH]")
    if parts.query or parts.fragment:
        raise UsageError(f"bad center URL {base!r}: no query or fragment, please")
    path = parts.path.rstrip("/")
    if not path.endswith(PULL_PATH):
        path += PULL_PATH
    query = urllib.parse.urlencode({
        "epoch": state.epoch if state.seq else 0, "seq": state.seq,
        "root": keys.root_set.version, "keyset": keys.keyset.version,
        "master": max(m.key_id for m in keys.master_keys)})
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, query, ""))


def read_token(path: str | None) -> str | None:
    """The bearer token in file ``path`` (white space around it ignored), or None."""
    if path is None:
        return None
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_TOKEN_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"cannot read token file {path!r}: {exc.strerror or exc}") from None
    token = raw.strip()
    if not token or len(raw) > MAX_TOKEN_BYTES or not token.isascii() or b" " in token \
            or not token.decode().isprintable():
        raise UsageError(f"token file {path!r} does not hold one token (printable ASCII, no "
                         f"spaces, at most {MAX_TOKEN_BYTES} bytes)")
    return token.decode()


def fetch(url: str, token: str | None, etag: str | None,
          timeout_s: float = DEFAULT_TIMEOUT_S) -> PullReply:
    """One pull. ``PullError`` when the center cannot be reached or answers with an error;
    ``UsageError`` when it refuses the token (401/403) or the request (4xx);
    ``framing.container.ContainerError`` when the answer is not a bundle container."""
    headers = {"Accept": CONTENT_TYPE, "User-Agent": "hotcast-terminal"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if etag is not None:
        headers["If-None-Match"] = etag
    request = urllib.request.Request(url, headers=headers, method="GET")
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            data = response.read(MAX_RESPONSE_BYTES + 1)
            ctype = response.headers.get("Content-Type", "")
            new_etag = response.headers.get("ETag")
    except urllib.error.HTTPError as exc:
        if exc.code == 304:
            return PullReply(304, (), exc.headers.get("ETag") or etag)
        detail = _problem(exc)
        if 400 <= exc.code < 500 and exc.code != 429:
            raise UsageError(f"the center refused the pull ({exc.code}): {detail}") from None
        raise PullError(f"the center answered {exc.code}: {detail}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise PullError(f"cannot reach {url}: {reason}") from None
    if len(data) > MAX_RESPONSE_BYTES:
        raise ContainerError(f"the answer is larger than {MAX_RESPONSE_BYTES} bytes: refused "
                             "unread")
    if ctype.split(";")[0].strip().lower() != CONTENT_TYPE:
        raise ContainerError(f"the answer is {ctype or 'untyped'!r}, not {CONTENT_TYPE}")
    return PullReply(200, tuple(decode_bundles(data, MAX_BUNDLE_BYTES)), new_etag)


def _problem(exc: urllib.error.HTTPError) -> str:
    """The service's ``{"error", "detail"}`` message, else the status phrase."""
    try:
        body = json.loads(exc.read(64 * 1024))
        return str(body.get("detail") or body)
    except (ValueError, OSError, AttributeError):
        return str(exc.reason)


class PullState:
    """The ETag of the last answer from ``url`` that applied in full, in ``<home>/pull.json``."""

    def __init__(self, home: Path) -> None:
        self.path = Path(home) / STATE_FILE

    def __repr__(self) -> str:
        return f"PullState({str(self.path)!r})"

    def etag(self, url_base: str) -> str | None:
        try:
            saved = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(saved, dict) or saved.get("url") != url_base:
            return None
        etag = saved.get("etag")
        return etag if isinstance(etag, str) and etag.isprintable() else None

    def save(self, url_base: str, etag: str | None) -> None:
        tmp = self.path.with_name(f".{STATE_FILE}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"url": url_base, "etag": etag}, f)
        os.replace(tmp, self.path)
