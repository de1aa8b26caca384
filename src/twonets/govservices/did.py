"""`did:web` identifiers and DID documents of the issuers, made from the public base URL
(`TWONETS_PUBLIC_BASE_URL`).

- The platform (the district data bureau) is `did:web:<host>` (a port is written `%3A<port>`,
  a path of the base URL becomes `:`-separated segments); its document is served at
  `<base>/.well-known/did.json` and lists the system key (audit checkpoints, access tokens).
- A department is `did:web:<host>:departments:<code>`, its document at
  `<base>/departments/<code>/did.json`; it lists every e-seal key the department has held as a
  `Multikey` verification method (`<did>#<key_id>`, `publicKeyMultibase`), retired ones too,
  because licences sealed before a rotation stay valid (twonets itself also checks that a
  licence was sealed before its key was retired).

Limit: did:web resolves over https; with an `http://` base URL (development) a generic resolver
will not reach the documents, the twonets verifier and the tests map the DID onto the base URL.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from twonets.core.config import settings
from twonets.govservices.dataintegrity import multikey

DID_CONTEXT = ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"]
DID_MEDIA_TYPE = "application/did+ld+json"


def base_url() -> str:
    return settings().public_base_url


def platform_did(base: str | None = None) -> str:
    parts = urlsplit(base or base_url())
    host = quote(parts.netloc, safe="")
    path = [quote(p, safe="") for p in parts.path.split("/") if p]
    return ":".join(["did:web", host, *path])


def department_did(department: str, base: str | None = None) -> str:
    return f"{platform_did(base)}:departments:{department}"


def department_of(did: str) -> str | None:
    """The department a twonets issuer DID names (any host: the key decides trust)."""
    if not isinstance(did, str) or not did.startswith("did:web:") or ":departments:" not in did:
        return None
    return did.rsplit(":departments:", 1)[1] or None


def document_url(did: str, scheme: str = "https") -> str:
    """Where a did:web document lives (did:web method: `/.well-known/did.json` for a bare host)."""
    if not did.startswith("did:web:"):
        raise ValueError(f"not a did:web: {did}")
    segments = [unquote(s) for s in did[len("did:web:"):].split(":")]
    host, path = segments[0], segments[1:]
    return f"{scheme}://{host}/" + ("/".join(path) + "/did.json" if path else ".well-known/did.json")


def _method(controller: str, key_id: str, public_raw: bytes) -> dict[str, Any]:
    return {"id": f"{controller}#{key_id}", "type": "Multikey", "controller": controller,
            "publicKeyMultibase": multikey(public_raw)}


def document(did: str, keys: Iterable[tuple[str, bytes]]) -> dict[str, Any]:
    """A DID document whose keys (key id, raw Ed25519 public key) may assert credentials."""
    methods = [_method(did, key_id, raw) for key_id, raw in keys]
    return {"@context": list(DID_CONTEXT), "id": did, "verificationMethod": methods,
            "assertionMethod": [m["id"] for m in methods]}
