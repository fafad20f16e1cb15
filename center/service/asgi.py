"""The ASGI guard in front of every route: body size and body time limits, security headers,
one log line per request.

* A body larger than ``max_body_bytes`` is refused with 413 before the route sees it: by its
  ``Content-Length`` before a byte is read, or, for a chunked body, as soon as the count goes
  past the limit. The connection is closed (``Connection: close``).
* A body that does not arrive within ``body_timeout_s`` of the previous chunk gets 408 (a
  client that never finishes its headers is the server's business: ``center.service.server``).
* Every response carries a content security policy that allows nothing from elsewhere, no
  framing, no sniffing, no referrer to other sites; and ``Cache-Control: no-store`` unless
  the route set one.
* ``log`` gets one dict per request: method, path, status, milliseconds, client address and
  the operator the route authenticated (``request.state.who``), if any.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    # same-origin, not no-referrer: browsers send "Origin: null" with the forms of a page that
    # sends no referrer, and the forms check the origin (web.form_of).
    (b"referrer-policy", b"same-origin"),
]


class _BodyTooLarge(Exception):
    pass


class _BodyTooSlow(Exception):
    pass


class Guard:
    """ASGI middleware (``app.add_middleware(Guard, max_body_bytes=..., ...)``)."""

    def __init__(self, app, *, max_body_bytes: int, body_timeout_s: float,
                 log: Callable[[dict], None] | None = None) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout_s = body_timeout_s
        self.log = log

    def __repr__(self) -> str:
        return f"Guard(max_body_bytes={self.max_body_bytes}, body_timeout_s={self.body_timeout_s})"

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = {"code": 0, "started": False}
        length = dict(scope["headers"]).get(b"content-length")

        async def send_guarded(message) -> None:
            if message["type"] == "http.response.start":
                status["code"], status["started"] = message["status"], True
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [h for h in SECURITY_HEADERS if h[0] not in names]
                if b"cache-control" not in names:
                    extra.append((b"cache-control", b"no-store"))
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        try:
            if length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
                raise _BodyTooLarge if length.isdigit() else ValueError(length)
            await self.app(scope, self._receiver(receive), send_guarded)
        except _BodyTooLarge:
            await self._refuse(send_guarded, status, 413, "body_too_large",
                               f"the request body is larger than {self.max_body_bytes} bytes")
        except _BodyTooSlow:
            await self._refuse(send_guarded, status, 408, "body_too_slow",
                               f"the request body did not arrive within {self.body_timeout_s} s")
        except ValueError:
            await self._refuse(send_guarded, status, 400, "bad_input",
                               "Content-Length is not a number of bytes")
        finally:
            if self.log is not None:
                who = scope.get("state", {}).get("who")
                client = scope.get("client") or ("unknown", 0)
                self.log({"event": "http", "method": scope["method"], "path": scope["path"],
                          "status": status["code"], "client": client[0],
                          "by": getattr(who, "name", None),
                          "ms": round(1000 * (time.perf_counter() - t0), 2)})

    def _receiver(self, receive):
        """``receive`` with the body counted and each chunk's wait bounded."""
        state = {"bytes": 0, "done": False}

        async def guarded():
            if state["done"]:
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.body_timeout_s)
            except asyncio.TimeoutError:
                raise _BodyTooSlow from None
            if message["type"] == "http.request":
                state["bytes"] += len(message.get("body", b""))
                if state["bytes"] > self.max_body_bytes:
                    raise _BodyTooLarge
                state["done"] = not message.get("more_body", False)
            else:
                state["done"] = True
            return message
        return guarded

    @staticmethod
    async def _refuse(send, status: dict, code: int, error: str, detail: str) -> None:
        if status["started"]:
            return  # the route already answered; the server ends the connection
        body = json.dumps({"error": error, "detail": detail}).encode()
        await send({"type": "http.response.start", "status": code,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})
