"""HTTP Message Signatures (RFC 9421) with Ed25519, and Content-Digest (RFC 9530).

The covered components are fixed: `("@method" "@target-uri" "content-digest")`, with the
parameters `created` (seconds), `keyid` (the region's name), `alg="ed25519"` and a `nonce`.

    Content-Digest: sha-256=:<base64 of SHA-256(body)>:
    Signature-Input: sig1=("@method" "@target-uri" "content-digest");created=1764730000;keyid="region-a";alg="ed25519";nonce="…"
    Signature: sig1=:<base64 Ed25519 signature over the signature base>:

The signature base (RFC 9421 §2.5):

    "@method": POST
    "@target-uri": http://127.0.0.1:8001/api/v1/peer/applications
    "content-digest": sha-256=:…:
    "@signature-params": ("@method" "@target-uri" "content-digest");created=…;keyid="…";alg="ed25519";nonce="…"

`verify` checks the shape, the digest against the body, the signature against the key named by
`keyid`, and the age of `created`; the caller keeps the nonces it has seen (replays).
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

COMPONENTS = '("@method" "@target-uri" "content-digest")'
MAX_SKEW_S = 300
_INPUT = re.compile(r'^sig1=\("@method" "@target-uri" "content-digest"\)((?:;[a-z]+=(?:"[^"\\]*"|\d+))+)$')
_PARAM = re.compile(r';([a-z]+)=("([^"\\]*)"|(\d+))')
_SIG = re.compile(r"^sig1=:([A-Za-z0-9+/=]+):$")


class SignatureRefused(Exception):
    """The request's signature is missing, malformed, altered, stale or from an unknown key."""

    def __init__(self, reason: str, keyid: str | None = None):
        super().__init__(reason)
        self.reason, self.keyid = reason, keyid


@dataclass(frozen=True)
class Verified:
    keyid: str
    created: int
    nonce: str


def content_digest(body: bytes) -> str:
    return f"sha-256=:{base64.b64encode(hashlib.sha256(body).digest()).decode()}:"


def _params(created: int, keyid: str, nonce: str) -> str:
    return f'{COMPONENTS};created={created};keyid="{keyid}";alg="ed25519";nonce="{nonce}"'


def signature_base(method: str, target_uri: str, digest: str, params: str) -> bytes:
    lines = [f'"@method": {method.upper()}', f'"@target-uri": {target_uri}', f'"content-digest": {digest}',
             f'"@signature-params": {params}']
    return "\n".join(lines).encode("utf-8")


def sign(key: Ed25519PrivateKey, keyid: str, method: str, target_uri: str, body: bytes, created: int,
         nonce: str | None = None) -> dict[str, str]:
    """The headers that sign this request."""
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,80}", keyid):
        raise ValueError("a keyid is 1-80 letters, digits, dots, dashes or underscores")
    nonce = nonce or secrets.token_urlsafe(16)
    digest = content_digest(body)
    params = _params(created, keyid, nonce)
    sig = key.sign(signature_base(method, target_uri, digest, params))
    return {"Content-Digest": digest, "Signature-Input": f"sig1={params}",
            "Signature": f"sig1=:{base64.b64encode(sig).decode()}:"}


def verify(headers: Mapping[str, str], method: str, target_uri: str, body: bytes,
           key_of: Callable[[str], Ed25519PublicKey | None], now: float, max_skew_s: int = MAX_SKEW_S) -> Verified:
    """The signer (keyid), created and nonce of a well-signed request; SignatureRefused otherwise."""
    h = {k.lower(): v for k, v in headers.items()}
    raw_input, raw_sig, digest = h.get("signature-input"), h.get("signature"), h.get("content-digest")
    if not (raw_input and raw_sig and digest):
        raise SignatureRefused("unsigned: Signature-Input, Signature and Content-Digest are required")
    m = _INPUT.match(raw_input.strip())
    s = _SIG.match(raw_sig.strip())
    if not m or not s:
        raise SignatureRefused("the signature headers are malformed (or cover other components)")
    params: dict[str, str | int] = {}
    for name, whole, quoted, digits in _PARAM.findall(m.group(1)):
        params[name] = quoted if whole.startswith('"') else int(digits)
    keyid, created, nonce, alg = params.get("keyid"), params.get("created"), params.get("nonce"), params.get("alg")
    if not isinstance(keyid, str) or not isinstance(created, int) or not isinstance(nonce, str) or alg != "ed25519":
        raise SignatureRefused("the signature parameters need created, keyid, nonce and alg=\"ed25519\"", keyid if isinstance(keyid, str) else None)
    key = key_of(keyid)
    if key is None:
        raise SignatureRefused(f"{keyid!r} is not a trusted peer", keyid)
    if digest.strip() != content_digest(body):
        raise SignatureRefused("the body does not match its Content-Digest (altered)", keyid)
    base = signature_base(method, target_uri, digest.strip(), raw_input.strip()[len("sig1="):])
    try:
        key.verify(base64.b64decode(s.group(1)), base)
    except (InvalidSignature, ValueError):
        raise SignatureRefused("the signature does not verify (altered, or another key)", keyid) from None
    if abs(now - created) > max_skew_s:
        raise SignatureRefused(f"stale: created {int(now - created)} s from now (at most {max_skew_s} s)", keyid)
    return Verified(keyid, created, nonce)
