"""W3C Verifiable Credentials (VC Data Model 2.0) for licences, pure (no database): building,
sealing with a Data Integrity proof (cryptosuite `eddsa-jcs-2022`, `dataintegrity`) and
verifying against a trusted key list and a revocation list.

A licence names its terms in two contexts: the VC 2.0 base context and the twonets context
(`CONTEXT_PATH` under the public base URL, bundled as `contexts/twonets-v1.jsonld` so that it
can be processed offline), which defines `ElectronicLicence`, `licenceType`, `licenceNumber`
and every claim a matter's licence carries. The issuer is the department's `did:web` (`did`),
the revocation status a Bitstring Status List entry (`statuslist`). Served as `application/vc`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources
from typing import Any

from twonets.core.config import settings
from twonets.core.errors import InvalidInput
from twonets.core.i18n import Msg
from twonets.govservices import did, statuslist
from twonets.govservices.dataintegrity import (
    CRYPTOSUITE,
    PROOF_TYPE,
    ProofError,
    add_proof,
    public_from_multikey,
    verify_proof,
)
from twonets.govservices.eseal import SealKey

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
CONTEXT_PATH = "/ns/twonets/v1"
VC_MEDIA_TYPE = "application/vc"


def public_url() -> str:
    return settings().public_base_url


def context_url() -> str:
    return public_url() + CONTEXT_PATH


@lru_cache(maxsize=1)
def context_document() -> dict[str, Any]:
    """The twonets JSON-LD context (bundled with the package)."""
    text = resources.files("twonets.govservices").joinpath("contexts/twonets-v1.jsonld").read_text(encoding="utf-8")
    return json.loads(text)


def verify_url(licence_id: str) -> str:
    return f"{public_url()}/api/v1/licences/{licence_id}/verify"


def iso(at: datetime) -> str:
    return at.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _parse(value: str) -> datetime:
    """An ISO 8601 time; one without an offset is read as UTC (never naive)."""
    at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _years_later(at: datetime, years: int) -> datetime:
    try:
        return at.replace(year=at.year + years)
    except ValueError:  # 29 February
        return at.replace(year=at.year + years, day=28)


def build_credential(
    *, licence_id: str, licence_type: str, name_zh: str, name_en: str, department: str, department_name: str,
    holder_id: str, claims: Mapping[str, Any], issued_at: datetime, valid_until: datetime, status_index: int,
) -> dict[str, Any]:
    return {
        "@context": [VC_CONTEXT, context_url()],
        "id": f"urn:twonets:licence:{licence_id}",
        "type": ["VerifiableCredential", "ElectronicLicence"],
        "name": name_zh,
        "description": name_en,
        "issuer": {"id": did.department_did(department), "name": department_name},
        "validFrom": iso(issued_at),
        "validUntil": iso(valid_until),
        "credentialSubject": {
            "id": f"urn:twonets:subject:{holder_id}",
            "licenceType": licence_type,
            "licenceNumber": licence_id,
            **{k: v for k, v in claims.items() if v is not None},
        },
        "credentialStatus": statuslist.entry(public_url(), department, status_index),
    }


def sign(document: dict[str, Any], key: SealKey, private, at: datetime) -> dict[str, Any]:
    """Seal with the department key: an `eddsa-jcs-2022` proof whose method is `<issuer DID>#<key id>`."""
    options = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": iso(at),
        "verificationMethod": f"{did.department_did(key.department)}#{key.key_id}",
        "proofPurpose": "assertionMethod",
    }
    return add_proof(document, options, private.sign)


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
    proof = credential.get("proof")
    key: SealKey | None = None
    if not isinstance(proof, dict) or proof.get("cryptosuite") != CRYPTOSUITE or proof.get("type") != PROOF_TYPE:
        checks["signature"] = "fail"
        reasons.append(f"no {CRYPTOSUITE} Data Integrity proof")
    else:
        key_id = str(proof.get("verificationMethod", "")).rsplit("#", 1)[-1]
        key = keys.get(key_id)
        if key is None:
            checks["signature"] = "fail"
            reasons.append(f"unknown e-seal key {key_id!r}")
        else:
            try:
                # legacy: licences sealed before twonets followed the Recommendation (dataintegrity)
                ok = verify_proof(credential, key.public(), legacy=True)
            except (ProofError, ValueError):
                ok = False
            if ok:
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
    if key is not None and did.department_of(str(issuer_id or "")) == key.department:
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


def keys_from_did_document(raw: Mapping[str, Any]) -> dict[str, SealKey]:
    """Trusted keys from a department's DID document (its `assertionMethod` Multikeys). A DID
    document does not say when a key was retired, so that check is left to the key list."""
    department = did.department_of(str(raw.get("id") or ""))
    if department is None:
        raise InvalidInput(Msg("not the DID document of a twonets department"))
    allowed = set(raw.get("assertionMethod") or [])
    out: dict[str, SealKey] = {}
    for m in raw.get("verificationMethod") or []:
        try:
            if m["id"] not in allowed or m.get("type") != "Multikey":
                continue
            public = base64.b64encode(public_from_multikey(m["publicKeyMultibase"])).decode("ascii")
        except (KeyError, TypeError, ValueError):
            raise InvalidInput(Msg("a verification method of the DID document is not an Ed25519 Multikey")) from None
        key_id = str(m["id"]).rsplit("#", 1)[-1]
        out[key_id] = SealKey(key_id, department, public, datetime(1970, 1, 1, tzinfo=UTC), None)
    return out


def keys_from_json(raw: Any) -> dict[str, SealKey]:
    """Trusted keys from the published list (`GET /api/v1/services/seals`: {items: [...]}) or
    from a department's DID document (`/departments/<code>/did.json`)."""
    if isinstance(raw, dict) and "verificationMethod" in raw:
        return keys_from_did_document(raw)
    items = raw.get("items") if isinstance(raw, dict) else raw
    if not isinstance(items, list):
        raise InvalidInput(Msg("a key list is {items: [{key_id, department, public_key, created_at, retired_at}]}"))
    out: dict[str, SealKey] = {}
    for k in items:
        try:
            retired = _parse(k["retired_at"]) if k.get("retired_at") else None
            out[str(k["key_id"])] = SealKey(str(k["key_id"]), str(k["department"]), str(k["public_key"]), _parse(k["created_at"]), retired)
        except (KeyError, TypeError, ValueError, AttributeError):
            raise InvalidInput(Msg("a key list entry lacks key_id, department, public_key or created_at")) from None
    return out
