"""How `twonets serve` runs the app under uvicorn.

uvicorn's pre-bound listening socket (used with --workers > 1) is made without a protocol
number, so asyncio does not switch Nagle off on the connections it accepts, and every
keep-alive response then waits ~40 ms for the client's delayed ACK. The protocol below sets
TCP_NODELAY itself on each connection, whatever the socket's origin.

Whoever starts the server sees a start line with its URL and, unless `access_log` is off, one
line per request on stdout: `GET /api/v1/orders 200 3.1 ms` (uvicorn's own access log has no
timing and goes through logging; the bench turns this off with `--no-access-log`).
"""

from __future__ import annotations

import os
import socket
import sys

from uvicorn.protocols.http.auto import AutoHTTPProtocol

from twonets.api.observe import Observed


class NoDelayHTTPProtocol(AutoHTTPProtocol):  # type: ignore[misc, valid-type]
    def connection_made(self, transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:  # not a TCP socket after all: nothing to switch off
                pass
        super().connection_made(transport)


def options(*, host: str, port: int, workers: int = 1, factory: bool = False) -> dict:
    """uvicorn's settings for `serve`. proxy_headers is off: uvicorn would otherwise believe
    X-Forwarded-For from any loopback peer; the app decides itself, trusting only the proxies
    in TWONETS_TRUSTED_PROXIES (api/security.py: client_ip)."""
    return dict(host=host, port=port, workers=workers if workers > 1 else None, factory=factory,
                http=NoDelayHTTPProtocol, log_level="warning", access_log=False, proxy_headers=False)


def _log_line(scope, status: int, seconds: float, out=None) -> None:
    out = out or sys.stdout
    # The path only: query strings can carry API keys (Open311 clients put them there).
    out.write(f"{scope['method']} {scope['path']} {status} {seconds * 1000:.1f} ms\n")
    out.flush()


def AccessLog(app, out=None) -> Observed:  # noqa: N802  (reads as the wrapper it makes)
    """One line per HTTP request to stdout (or `out`) once the response has gone."""
    return Observed(app, lambda scope, status, seconds: _log_line(scope, status, seconds, out))


def access_logged(factory):
    """Wrap the app that `factory()` makes in AccessLog when TWONETS_ACCESS_LOG is 1 (workers > 1)."""
    def make():
        app = factory()
        return AccessLog(app) if os.environ.get("TWONETS_ACCESS_LOG", "1") == "1" else app

    return make


def run(app_or_factory, *, host: str, port: int, workers: int = 1, factory: bool = False,
        access_log: bool = True) -> None:
    import uvicorn

    if factory:  # worker processes make the app afresh: tell them through the environment
        os.environ["TWONETS_ACCESS_LOG"] = "1" if access_log else "0"
    elif access_log:
        app_or_factory = AccessLog(app_or_factory)
    shown = f"[{host}]" if ":" in host else host
    print(f"twonets serving on http://{shown}:{port} (API docs: /docs; Ctrl+C stops)"
          + ("" if access_log else "; access log off"), flush=True)
    uvicorn.run(app_or_factory, **options(host=host, port=port, workers=workers, factory=factory))
