"""``start_http``: the center service on uvicorn, in a thread of the calling process
(``hotcast center serve --http ADDR:PORT`` runs it beside the scheduler).

uvicorn closes a connection that stays idle between requests (``timeout_keep_alive``) but not
one that sends half a request and stops: a client that never finishes its headers would hold
its connection for ever. ``TimedH11`` adds that limit: a request's headers must be complete
within ``header_timeout_s`` of the connection (or of the previous response), else the client
gets 408 and the connection is closed. A body that stalls is the ASGI guard's (``asgi.Guard``).
Connections beyond ``max_connections`` get 503 (uvicorn's ``limit_concurrency``). Slow clients
cost one idle connection each in the event loop and never hold up anyone else.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from center.service.app import create_app
from center.service.limits import ServiceLimits

REQUEST_TIMEOUT = (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain\r\n"
                   b"content-length: 36\r\nconnection: close\r\n\r\n"
                   b"the request headers came too slowly\n")
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0


class TimedH11(H11Protocol):
    """uvicorn's h11 protocol with a deadline for a request's headers."""

    header_timeout_s = 10.0

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._header_timer = None
        self._arm()

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._too_slow)

    def _disarm(self) -> None:
        if getattr(self, "_header_timer", None) is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _in_request(self) -> bool:
        return self.cycle is not None and not self.cycle.response_complete

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._in_request():
            self._disarm()  # the headers are in: the route (and asgi.Guard) take over

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and not self._in_request():
            self._arm()  # the next request's headers get their own deadline

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _too_slow(self) -> None:
        self._header_timer = None
        if self._in_request() or self.transport.is_closing():
            return
        self.transport.write(REQUEST_TIMEOUT)
        self.transport.close()


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT``, ``[V6]:PORT`` or ``:PORT`` (all IPv4 addresses); port 0 picks a free one."""
    host, sep, port = text.rpartition(":")
    if not sep or not (port.isascii() and port.isdigit()) or int(port) > 65535:
        raise ValueError(f"bad listen address {text!r}: want HOST:PORT (port 0 to 65535)")
    host = host.strip("[]") if host.startswith("[") else host
    if not host:
        host = "0.0.0.0"
    elif ":" in host:
        ipaddress.IPv6Address(host)  # ValueError names it
    return host, int(port)


class HttpService:
    """A running service: ``address`` (host, port bound), ``stop()`` (graceful: requests in
    flight finish), a context manager."""

    def __init__(self, server: uvicorn.Server, thread: threading.Thread,
                 address: tuple[str, int]) -> None:
        self._server = server
        self._thread = thread
        self.address = address

    def __repr__(self) -> str:
        return f"HttpService(address={self.address!r}, running={self._thread.is_alive()})"

    @property
    def url(self) -> str:
        host, port = self.address
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(STOP_TIMEOUT_S)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(STOP_TIMEOUT_S)

    def __enter__(self) -> HttpService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_http(home_path: str | Path, listen: str, *, passphrase, clock: Callable[[], int],
               status=None, schedule=None, log: Callable[[dict], None] | None = None,
               operators=None, limits: ServiceLimits = ServiceLimits()) -> HttpService:
    """Serve the center home at ``home_path`` on ``listen`` in a new thread; returns once the
    socket is bound and the server accepts connections (``create_app`` for the arguments)."""
    host, port = parse_listen(listen)
    app = create_app(home_path, passphrase=passphrase, clock=clock, operators=operators,
                     status=status, schedule=schedule, log=log, limits=limits)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and
    # without it every keep-alive answer waits ~40 ms on Nagle and delayed ACKs.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(exc.errno, f"cannot listen on {listen}: {exc.strerror}") from None
    protocol = type("TimedH11", (TimedH11,), {"header_timeout_s": limits.header_timeout_s})
    config = uvicorn.Config(app, http=protocol, lifespan="off", log_config=None,
                            access_log=False, timeout_keep_alive=5,
                            limit_concurrency=limits.max_connections,
                            timeout_graceful_shutdown=10, server_header=False)
    server = uvicorn.Server(config)
    failed: list[BaseException] = []

    def run() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # the thread's boundary: start_http reports it
            failed.append(exc)
        finally:
            sock.close()

    thread = threading.Thread(target=run, name=f"hotcast-http {listen}", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    if not server.started:
        server.should_exit = True
        thread.join(STOP_TIMEOUT_S)
        raise RuntimeError(f"the HTTP service did not start on {listen}: "
                           f"{failed[0] if failed else 'it stopped'}")
    bound = sock.getsockname()
    return HttpService(server, thread, (bound[0], bound[1]))
