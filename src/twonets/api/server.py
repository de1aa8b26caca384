"""How `twonets serve` runs the app under uvicorn.

uvicorn's pre-bound listening socket (used with --workers > 1) is made without a protocol
number, so asyncio does not switch Nagle off on the connections it accepts, and every
keep-alive response then waits ~40 ms for the client's delayed ACK. The protocol below sets
TCP_NODELAY itself on each connection, whatever the socket's origin.
"""

from __future__ import annotations

import socket

from uvicorn.protocols.http.auto import AutoHTTPProtocol


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


def run(app_or_factory, *, host: str, port: int, workers: int = 1, factory: bool = False) -> None:
    import uvicorn

    uvicorn.run(app_or_factory, **options(host=host, port=port, workers=workers, factory=factory))
