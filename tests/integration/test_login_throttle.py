"""Login throttling over HTTP (issue 11.6): per account at an address, per address with a
higher ceiling, per account with the highest; X-Forwarded-For believed only from a trusted proxy.

Before: 20 failures with unknown names from one address answered the next valid `desk` login
from there with 429 for 300 s, 5 wrong passwords locked `desk` everywhere, and a client on
loopback chose its own address with X-Forwarded-For (uvicorn believed it), escaping the count.
"""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.unit.data.support import ADMIN, data_env  # noqa: F401
from twonets.api.app import create_app
from twonets.core.config import settings
from twonets.core.db import session_factory
from twonets.data import identity

pytestmark = pytest.mark.usefixtures("data_env")
PW = "correct horse battery staple"


def _desk(engine) -> None:
    with session_factory(engine)() as s:
        identity.create_user(s, ADMIN, username="desk", password=PW, roles=["dispatcher"], department="dispatch")
        s.commit()


def _from(engine, address: str) -> TestClient:
    return TestClient(create_app(engine), client=(address, 50000))


def _login(c, username="desk", password=PW, headers=None):
    return c.post("/api/v1/auth/login", json={"username": username, "password": password}, headers=headers or {})


def test_failures_with_other_names_do_not_lock_out_a_colleague_behind_the_same_address(engine):
    _desk(engine)
    office = _from(engine, "203.0.113.7")
    for i in range(20):
        assert _login(office, f"nobody-{i}", "wrong wrong").status_code == 401
    r = _login(office)
    assert r.status_code == 200, r.text


def test_wrong_passwords_lock_the_account_only_at_that_address(engine):
    _desk(engine)
    guesser, colleague = _from(engine, "198.51.100.9"), _from(engine, "203.0.113.7")
    for _ in range(identity.PAIR_MAX_FAILURES):
        assert _login(guesser, password="guess guess").status_code == 401
    locked = _login(guesser)  # even the right password, from there
    assert locked.status_code == 429 and 0 < int(locked.headers["Retry-After"]) <= 300
    assert _login(colleague).status_code == 200


def test_an_address_has_a_ceiling_for_any_names(engine):
    _desk(engine)
    sprayer, other = _from(engine, "198.51.100.9"), _from(engine, "203.0.113.7")
    for i in range(identity.IP_MAX_FAILURES):
        assert _login(sprayer, f"u{i}", "wrong wrong").status_code == 401
    assert _login(sprayer).status_code == 429
    assert _login(other).status_code == 200


def test_an_account_has_a_ceiling_over_all_addresses(engine):
    _desk(engine)
    per_address = identity.PAIR_MAX_FAILURES
    for n in range(identity.ACCOUNT_MAX_FAILURES // per_address):
        c = _from(engine, f"198.51.100.{n + 1}")
        for _ in range(per_address):
            assert _login(c, password="guess guess").status_code == 401
    assert _login(_from(engine, "203.0.113.7")).status_code == 429


def test_a_trusted_proxy_forwards_the_callers_address_and_nobody_else_does(engine, monkeypatch):
    _desk(engine)
    monkeypatch.setenv("TWONETS_TRUSTED_PROXIES", "10.0.0.0/24")
    settings.cache_clear()
    proxy, stranger = _from(engine, "10.0.0.2"), _from(engine, "198.51.100.9")
    for _ in range(identity.PAIR_MAX_FAILURES):
        # a client's own X-Forwarded-For in front, the proxy's view of it last
        assert _login(proxy, password="guess", headers={"X-Forwarded-For": "1.2.3.4, 192.0.2.10"}).status_code == 401
    assert _login(proxy, headers={"X-Forwarded-For": "192.0.2.10"}).status_code == 429  # that caller is locked
    assert _login(proxy, headers={"X-Forwarded-For": "192.0.2.11"}).status_code == 200  # another one is not
    # Not from the proxy: the header is ignored and the stranger's own address counts.
    for i in range(identity.PAIR_MAX_FAILURES):
        assert _login(stranger, password="guess", headers={"X-Forwarded-For": f"192.0.2.{100 + i}"}).status_code == 401
    assert _login(stranger, headers={"X-Forwarded-For": "192.0.2.200"}).status_code == 429


def test_trusted_proxies_must_be_addresses(monkeypatch):
    monkeypatch.setenv("TWONETS_TRUSTED_PROXIES", "10.0.0.1, proxy.local")
    settings.cache_clear()
    with pytest.raises(ValueError, match="TWONETS_TRUSTED_PROXIES.*proxy.local"):
        settings()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_x_forwarded_for_from_loopback_does_not_escape_the_count_under_serve(engine):
    """Through uvicorn as `twonets serve` runs it: a client on 127.0.0.1 sending a new
    X-Forwarded-For each time is still one address."""
    import uvicorn

    from twonets.api import server

    port = _free_port()
    opts = server.options(host="127.0.0.1", port=port)
    opts.pop("workers")
    srv = uvicorn.Server(uvicorn.Config(create_app(engine), **opts))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    try:
        for _ in range(200):
            if srv.started:
                break
            time.sleep(0.05)
        assert srv.started
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as c:
            for i in range(identity.IP_MAX_FAILURES):
                r = _login(c, f"u{i}", "wrong wrong", headers={"X-Forwarded-For": f"192.0.2.{i % 250}"})
                assert r.status_code == 401
            r = _login(c, "another", "wrong wrong", headers={"X-Forwarded-For": "198.51.100.77"})
            assert r.status_code == 429
    finally:
        srv.should_exit = True
        thread.join(timeout=10)
