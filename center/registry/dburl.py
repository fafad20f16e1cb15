"""Where a center home's registry lives: the home's own SQLite file, or a PostgreSQL database.

A home on PostgreSQL records the database's libpq URL in ``registry.url`` (0600, like the keys),
so every command on that home finds it without ``--db``. The URL may carry a password; better
leave it out and let libpq find it (``~/.pgpass``, ``$PGPASSFILE``, ``$PGPASSWORD``). Messages and
JSON output show a URL with its password replaced by ``***`` (``redact``).

Only URLs are accepted (``postgresql://`` or ``postgres://``, RFC 3986 as libpq reads them):
``postgresql://USER@HOST:PORT/DBNAME``, ``postgresql://USER@/DBNAME?host=/run/postgresql`` for a
Unix socket, ``...&options=-csearch_path%3DSCHEMA`` to keep a registry in its own schema.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from center.errors import UsageError

SCHEMES = ("postgresql", "postgres")
MAX_URL_CHARS = 4096
_PASSWORD_PARAM = re.compile(r"(^|&)password=[^&]*")


def is_postgres_url(text: str) -> bool:
    return text.split("://", 1)[0].lower() in SCHEMES and "://" in text


def check_url(text: str) -> str:
    """``text`` if it is a PostgreSQL URL we accept, else ``UsageError`` naming it (redacted)."""
    if not isinstance(text, str) or not is_postgres_url(text):
        raise UsageError(f"bad database {redact(str(text))!r}: want a PostgreSQL URL "
                         "(postgresql://USER@HOST/DBNAME); SQLite in the home is the default")
    if len(text) > MAX_URL_CHARS or any(ord(c) < 32 for c in text):
        raise UsageError("bad database URL: too long, or holds control characters")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 -- raises ValueError on a port that is not a number
    except ValueError as exc:
        raise UsageError(f"bad database URL {redact(text)!r}: {exc}") from None
    if not parts.path.strip("/") and "dbname" not in dict(parse_qsl(parts.query)):
        raise UsageError(f"database URL {redact(text)!r} names no database "
                         "(postgresql://USER@HOST/DBNAME)")
    return text


def redact(text: str) -> str:
    """``text`` with any password (in the authority or a ``password=`` parameter) as ``***``."""
    try:
        parts = urlsplit(text)
    except ValueError:
        return "<unparsable URL>"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        if ":" in userinfo:
            netloc = f"{userinfo.split(':', 1)[0]}:***@{host}"
    query = _PASSWORD_PARAM.sub(r"\1password=***", parts.query)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def same_database(a: str, b: str) -> bool:
    """Whether two URLs name one database (passwords aside, either scheme spelling)."""
    def norm(text: str) -> str:
        scheme, rest = redact(text).split("://", 1)
        if "@" in rest.split("/", 1)[0]:
            user, tail = rest.split("@", 1)
            rest = f"{user.split(':', 1)[0]}@{tail}"
        return rest
    return norm(a) == norm(b)
