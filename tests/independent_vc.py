"""An independent verifier of `eddsa-jcs-2022` Data Integrity proofs, written from the W3C
Recommendation (Data Integrity EdDSA Cryptosuites v1.0, §3.3.2 Verify Proof, §3.3.6 Proof
Configuration) and the Bitstring Status List v1.0 validation algorithm, with PyPI pieces only:
`jcs` (RFC 8785), `base58`, `cryptography` (Ed25519). It imports nothing of twonets: it is the
"other system" that reads what twonets issues.

Keys are found by resolving the proof's `verificationMethod`: `did:key` from the identifier
itself, `did:web` by fetching the DID document (the caller's `fetch(url) -> JSON`).
"""

from __future__ import annotations

import base64
import copy
import gzip
import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import unquote

import base58
import jcs
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

Fetch = Callable[[str], Any]


class VerificationError(Exception):
    pass


def multibase_b58(value: str) -> bytes:
    if not isinstance(value, str) or not value.startswith("z"):
        raise VerificationError("multibase value is not base58btc")
    return base58.b58decode(value[1:])


def did_web_url(did: str, scheme: str = "https") -> str:
    """did:web method: `did:web:host[:path…]` → `https://host/path…/did.json` or `/.well-known/did.json`."""
    parts = [unquote(p) for p in did.split(":")[2:]]
    host, path = parts[0], parts[1:]
    return f"{scheme}://{host}/" + ("/".join(path) + "/did.json" if path else ".well-known/did.json")


def resolve(method_id: str, fetch: Fetch | None = None, scheme: str = "https") -> dict[str, Any]:
    """The verification method `method_id` names, checked to be usable for assertions."""
    did, _, fragment = method_id.partition("#")
    if did.startswith("did:key:"):
        key = did[len("did:key:"):]
        return {"id": method_id, "type": "Multikey", "controller": did, "publicKeyMultibase": key}
    if not did.startswith("did:web:") or fetch is None:
        raise VerificationError(f"cannot resolve {method_id}")
    doc = fetch(did_web_url(did, scheme))
    if doc.get("id") != did:
        raise VerificationError("the DID document is not the document of this DID")
    methods = {m["id"]: m for m in doc.get("verificationMethod", [])}
    full = {(f"{did}{m}" if m.startswith("#") else m) for m in doc.get("assertionMethod", []) if isinstance(m, str)}
    if method_id not in methods or method_id not in full:
        raise VerificationError(f"{method_id} is not an assertion method of {did}")
    method = methods[method_id]
    if method.get("type") != "Multikey" or method.get("controller") != did:
        raise VerificationError("not a Multikey of this controller")
    return method


def public_key(method: dict[str, Any]) -> Ed25519PublicKey:
    raw = multibase_b58(method["publicKeyMultibase"])
    if raw[:2] != b"\xed\x01" or len(raw) != 34:
        raise VerificationError("not an Ed25519 Multikey")
    return Ed25519PublicKey.from_public_bytes(raw[2:])


def intermediates(secured: dict[str, Any]) -> dict[str, bytes]:
    """Transformation, proof configuration and hashing of the Recommendation, step by step."""
    proof = secured["proof"]
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    unsecured = {k: copy.deepcopy(v) for k, v in secured.items() if k != "proof"}
    if "@context" in options:
        ctx = unsecured.get("@context")
        ctx = ctx if isinstance(ctx, list) else [ctx]
        want = options["@context"] if isinstance(options["@context"], list) else [options["@context"]]
        if ctx[: len(want)] != want:
            raise VerificationError("the document's @context does not start with the proof's @context")
        unsecured["@context"] = options["@context"]
    if options.get("type") != "DataIntegrityProof" or options.get("cryptosuite") != "eddsa-jcs-2022":
        raise VerificationError("not an eddsa-jcs-2022 DataIntegrityProof")
    if "created" in options:
        datetime.fromisoformat(options["created"].replace("Z", "+00:00"))
    canon_doc = jcs.canonicalize(unsecured)
    canon_proof = jcs.canonicalize(options)
    proof_hash = hashlib.sha256(canon_proof).digest()
    doc_hash = hashlib.sha256(canon_doc).digest()
    return {"canon_doc": canon_doc, "doc_hash": doc_hash, "canon_proof": canon_proof, "proof_hash": proof_hash,
            "combined": proof_hash + doc_hash, "signature": multibase_b58(proof["proofValue"])}


def verify(secured: dict[str, Any], fetch: Fetch | None = None, *, scheme: str = "https",
           purpose: str = "assertionMethod") -> dict[str, Any]:
    """The verification method that verified the proof; VerificationError otherwise."""
    proof = secured.get("proof")
    if not isinstance(proof, dict):
        raise VerificationError("no proof")
    if proof.get("proofPurpose") != purpose:
        raise VerificationError(f"proof purpose is not {purpose}")
    steps = intermediates(secured)
    method = resolve(proof["verificationMethod"], fetch, scheme)
    try:
        public_key(method).verify(steps["signature"], steps["combined"])
    except InvalidSignature:
        raise VerificationError("InvalidSignature") from None
    return method


def revoked(credential: dict[str, Any], fetch: Fetch, *, scheme: str = "https") -> bool:
    """Bitstring Status List validation of the credential's revocation entry."""
    entries = credential.get("credentialStatus")
    entries = entries if isinstance(entries, list) else [entries]
    entry = next(e for e in entries if e.get("type") == "BitstringStatusListEntry" and e.get("statusPurpose") == "revocation")
    status_vc = fetch(entry["statusListCredential"])
    method = verify(status_vc, fetch, scheme=scheme)
    issuer = credential["issuer"]["id"] if isinstance(credential["issuer"], dict) else credential["issuer"]
    status_issuer = status_vc["issuer"]["id"] if isinstance(status_vc["issuer"], dict) else status_vc["issuer"]
    if status_issuer != issuer or method["controller"] != issuer:
        raise VerificationError("the status list is not the issuer's")
    subject = status_vc["credentialSubject"]
    if "BitstringStatusListCredential" not in status_vc["type"] or subject["type"] != "BitstringStatusList":
        raise VerificationError("not a Bitstring Status List credential")
    if subject["statusPurpose"] != entry["statusPurpose"]:
        raise VerificationError("status purposes differ")
    encoded = subject["encodedList"]
    if not encoded.startswith("u"):
        raise VerificationError("encodedList is not multibase base64url")
    bits = gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4)))
    if len(bits) < 16 * 1024:
        raise VerificationError("status list shorter than the 16 KB minimum")
    index = int(entry["statusListIndex"])
    return bool(bits[index // 8] & (0x80 >> (index % 8)))
