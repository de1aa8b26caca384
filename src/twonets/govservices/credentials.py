"""W3C Verifiable Credentials for licences, pure (no database): building, sealing with a
Data Integrity proof (cryptosuite `eddsa-jcs-2022`: JCS canonical JSON, SHA-256 of the proof
configuration and of the document, Ed25519, base58btc proof value) and verifying against a
trusted key list and a revocation list.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Mapping

from twonets.core.errors import InvalidInput
from twonets.govservices.eseal import SealKey

B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
CONTEXT = ["https://www.w3.org/ns/credentials/v2"]
DID_PREFIX = "did:web:twonets.gov.cn:departments:"


def public_url() -> str:
    return (os.environ.get("TWONETS_PUBLIC_URL") or "http://127.0.0.1:8000").rstrip("/")


def verify_url(licence_id: str) -> str:
    return f"{public_url()}/api/v1/licences/{licence_id}/verify"


def _iso(at: datetime) -> str:
    return at.astimezone(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _parse(value: str) -> datetime:
    """An ISO 8601 time; one without an offset is read as UTC (never naive)."""
    at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return at if at.tzinfo is not None else at.replace(tzinfo=timezone.utc)


def jcs(value: Any) -> bytes:
    """JSON Canonicalization (RFC 8785) for the values licences hold (no floats with exponents)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def b58encode(data: bytes) -> str:
    n = int.from_bytes(data, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = B58[r] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def b58decode(text: str) -> bytes:
    n = 0
    for ch in text:
        n = n * 58 + B58.index(ch)
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return b"\0" * (len(text) - len(text.lstrip("1"))) + raw


def _hash_data(document: dict[str, Any], proof_config: dict[str, Any]) -> bytes:
    return hashlib.sha256(jcs(proof_config)).digest() + hashlib.sha256(jcs(document)).digest()


def _years_later(at: datetime, years: int) -> datetime:
    try:
        return at.replace(year=at.year + years)
    except ValueError:  # 29 February
        return at.replace(year=at.year + years, day=28)


def build_credential(
    *, licence_id: str, licence_type: str, name_zh: str, name_en: str, department: str, department_name: str,
    holder_id: str, claims: Mapping[str, Any], issued_at: datetime, valid_until: datetime,
) -> dict[str, Any]:
    return {
        "@context": list(CONTEXT),
        "id": f"urn:twonets:licence:{licence_id}",
        "type": ["VerifiableCredential", "ElectronicLicence"],
        "name": name_zh,
        "description": name_en,
        "issuer": {"id": DID_PREFIX + department, "name": department_name},
        "validFrom": _iso(issued_at),
        "validUntil": _iso(valid_until),
        "credentialSubject": {
            "id": f"urn:twonets:subject:{holder_id}",
            "licenceType": licence_type,
            "licenceNumber": licence_id,
            **{k: v for k, v in claims.items() if v is not None},
        },
        "credentialStatus": {"id": verify_url(licence_id), "type": "TwonetsLicenceStatus"},
    }


def sign(document: dict[str, Any], key: SealKey, private, at: datetime) -> dict[str, Any]:
    proof = {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-jcs-2022",
        "created": _iso(at),
        "verificationMethod": f"{DID_PREFIX}{key.department}#{key.key_id}",
        "proofPurpose": "assertionMethod",
    }
    config = {**proof, "@context": document["@context"]}
    signature = private.sign(_hash_data(document, config))
    return {**document, "proof": {**proof, "proofValue": "z" + b58encode(signature)}}


# --- verification -------------------------------------------------------------------------


@dataclass
class Verification:
    valid: bool
    licence: str | None
    checks: dict[str, str] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    revoked_reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "licence": self.licence,
            "checks": dict(self.checks),
            "reasons": list(self.reasons),
            "revoked_reason": self.revoked_reason,
        }


def verify_credential(
    credential: Mapping[str, Any],
    keys: Mapping[str, SealKey],
    revoked: Mapping[str, str] | None,
    now: datetime,
) -> Verification:
    """Signature (against a trusted key, not one the credential brings), issuer, validity
    period and revocation; every failed check gives its reason."""
    checks: dict[str, str] = {}
    reasons: list[str] = []
    cid = str(credential.get("id") or "")
    licence = cid.rsplit(":", 1)[-1] if cid.startswith("urn:twonets:licence:") else None
    doc = {k: v for k, v in credential.items() if k != "proof"}
    proof = credential.get("proof")
    key: SealKey | None = None
    if not isinstance(proof, dict) or proof.get("cryptosuite") != "eddsa-jcs-2022" or proof.get("type") != "DataIntegrityProof":
        checks["signature"] = "fail"
        reasons.append("no eddsa-jcs-2022 Data Integrity proof")
    else:
        key_id = str(proof.get("verificationMethod", "")).rsplit("#", 1)[-1]
        key = keys.get(key_id)
        value = str(proof.get("proofValue", ""))
        try:
            signature = b58decode(value[1:]) if value.startswith("z") else b""
        except ValueError:
            signature = b""
        if key is None:
            checks["signature"] = "fail"
            reasons.append(f"unknown e-seal key {key_id!r}")
        else:
            config = {k: v for k, v in proof.items() if k != "proofValue"}
            config["@context"] = doc.get("@context")
            if key.verify(signature, _hash_data(doc, config)):
                checks["signature"] = "ok"
            else:
                checks["signature"] = "fail"
                reasons.append("the signature does not match the content: the licence was altered or not sealed by this key")
            try:
                created = _parse(str(proof.get("created")))
            except ValueError:
                created = None
            if key.retired_at is not None and (created is None or created > key.retired_at):
                checks["signature"] = "fail"
                reasons.append(f"sealed after its key {key.key_id} was retired")
    issuer = credential.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, dict) else issuer
    if key is not None and issuer_id == DID_PREFIX + key.department:
        checks["issuer"] = "ok"
    else:
        checks["issuer"] = "fail"
        reasons.append("the issuer is not the department that holds the sealing key")
    try:
        valid_from = _parse(str(credential["validFrom"]))
        valid_until = _parse(str(credential["validUntil"]))
        if now < valid_from:
            checks["expiry"] = "fail"
            reasons.append(f"not valid before {credential['validFrom']}")
        elif now > valid_until:
            checks["expiry"] = "fail"
            reasons.append(f"expired on {credential['validUntil']}")
        else:
            checks["expiry"] = "ok"
    except (KeyError, ValueError):
        checks["expiry"] = "fail"
        reasons.append("no valid validity period")
    revoked_reason = None
    if revoked is None:
        checks["revocation"] = "unknown"
    elif licence in revoked:
        revoked_reason = revoked[licence]
        checks["revocation"] = "fail"
        reasons.append(f"revoked: {revoked_reason}")
    elif licence is None:
        checks["revocation"] = "fail"
        reasons.append("not a licence of this registry")
    else:
        checks["revocation"] = "ok"
    ok = all(v == "ok" for v in checks.values())
    return Verification(ok, licence, checks, reasons, revoked_reason)


def keys_from_json(raw: Any) -> dict[str, SealKey]:
    """Trusted keys from the published list (`GET /api/v1/services/seals`): {items: [...]}."""
    items = raw.get("items") if isinstance(raw, dict) else raw
    if not isinstance(items, list):
        raise InvalidInput("a key list is {items: [{key_id, department, public_key, created_at, retired_at}]}")
    out: dict[str, SealKey] = {}
    for k in items:
        try:
            retired = _parse(k["retired_at"]) if k.get("retired_at") else None
            out[str(k["key_id"])] = SealKey(str(k["key_id"]), str(k["department"]), str(k["public_key"]), _parse(k["created_at"]), retired)
        except (KeyError, TypeError, ValueError, AttributeError):
            raise InvalidInput("a key list entry lacks key_id, department, public_key or created_at") from None
    return out
