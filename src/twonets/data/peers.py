"""Trusted peer regions (跨省通办) and the signed requests between them — the X-Road pattern
without a central broker: each region lists the peers it trusts (name, URL, Ed25519 public key)
in its peers file; requests between regions are signed with the region's system key
(`data/keys.py`) as HTTP Message Signatures (`data/httpsig.py`).

    # peers.yaml (TWONETS_PEERS_FILE, or `twonets serve --peers FILE`)
    peers:
      - {name: region-a, url: "http://127.0.0.1:8001", public_key: "<base64 raw Ed25519>"}

`accept` checks an incoming request: signed by a trusted peer, body intact, fresh (created within
five minutes) and never seen before (its nonce is stored: `data_peer_nonce`, unique per peer).
A refused request is recorded in the audit chain (`peer.refused`, with the reason) by the adapter,
which commits it before answering 401. `send` signs and sends a request to a peer.
"""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field, HttpUrl
from sqlalchemy import delete, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from twonets.core import definitions
from twonets.core.config import settings
from twonets.core.errors import Conflict, NotFound, Unauthorized
from twonets.data import audit, httpsig
from twonets.data.keys import system_key
from twonets.data.peer_tables import data_peer_nonce

TIMEOUT_S = 15.0


class Peer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(pattern=r"^[A-Za-z0-9._-]{1,80}$")
    url: HttpUrl
    public_key: str = Field(min_length=40, max_length=60)
    name_zh: str = ""

    def key(self) -> Ed25519PublicKey:
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(self.public_key))


class PeersFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    peers: list[Peer] = Field(default_factory=list)


@lru_cache(maxsize=4)
def _load(path: str) -> dict[str, Peer]:
    if not path:
        return {}
    loaded = definitions.load(Path(path), PeersFile).peers
    for p in loaded:
        try:
            p.key()
        except ValueError as exc:
            raise definitions.DefinitionError(Path(path), None, f"peer {p.name}: public_key is not a raw Ed25519 key: {exc}") from None
    return {p.name: p for p in loaded}


def peers() -> dict[str, Peer]:
    return _load(settings().peers_file)


def region() -> str:
    name = settings().region
    if not name:
        raise Conflict("this server has no region name: start it with `twonets serve --region NAME`")
    return name


def public_key_b64() -> str:
    """This region's public key, as its peers list it."""
    return base64.b64encode(system_key().public_raw()).decode()


def peer(name: str) -> Peer:
    p = peers().get(name)
    if p is None:
        raise NotFound(f"no trusted peer region {name!r}; known: {', '.join(sorted(peers())) or 'none'}")
    return p


def accept(session: Session, method: str, path_and_query: str, headers: dict[str, str], body: bytes,
           *, now: float | None = None) -> httpsig.Verified:
    """The verified signer of an incoming request, its nonce recorded; Unauthorized (and an
    audit entry the caller commits) when refused."""
    now = time.time() if now is None else now
    target = settings().public_base_url.rstrip("/") + path_and_query
    known = peers()
    try:
        ok = httpsig.verify(headers, method, target, body, lambda k: known[k].key() if k in known else None, now)
        try:
            with session.begin_nested():
                session.execute(insert(data_peer_nonce).values(peer=ok.keyid, nonce=ok.nonce,
                                                               created_at=datetime.fromtimestamp(ok.created, UTC)))
        except IntegrityError:
            raise httpsig.SignatureRefused("replayed: this nonce was used before", ok.keyid) from None
    except httpsig.SignatureRefused as exc:
        audit.append(session, "access", f"peer:{exc.keyid or 'unknown'}", "peer.refused", path_and_query[:200], {
            "reason": exc.reason, "method": method}, at=datetime.fromtimestamp(now, UTC))
        raise Unauthorized(f"signed request refused: {exc.reason}") from None
    session.execute(delete(data_peer_nonce).where(  # nonces older than the window can never be replayed
        data_peer_nonce.c.created_at < datetime.fromtimestamp(now - 2 * httpsig.MAX_SKEW_S, UTC)))
    return ok


def signed_headers(method: str, url: str, body: bytes, *, created: int | None = None, nonce: str | None = None) -> dict[str, str]:
    key = system_key()
    return httpsig.sign(key.private, region(), method, url, body, int(time.time()) if created is None else created, nonce)


def send(name: str, method: str, path: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
    """A signed request to a peer; its JSON answer. Conflict (409) when the peer does not answer
    or refuses, naming the peer and its reason, so the person can try again or ask."""
    p = peer(name)
    url = str(p.url).rstrip("/") + path
    body = json.dumps(payload or {}, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    headers = {"Content-Type": "application/json", **signed_headers(method, url, body)}
    try:
        r = httpx.request(method, url, content=body, headers=headers, timeout=TIMEOUT_S)
    except httpx.HTTPError as exc:
        raise Conflict(f"region {name} does not answer ({type(exc).__name__}); try again later") from None
    try:
        answer = r.json()
    except ValueError:
        answer = {"detail": r.text[:300]}
    if r.status_code >= 400:
        raise Conflict(f"region {name} answered {r.status_code}: {answer.get('detail') or answer.get('title')}")
    return answer


def window() -> timedelta:
    return timedelta(seconds=httpsig.MAX_SKEW_S)
