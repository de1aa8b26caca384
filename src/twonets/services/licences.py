"""Electronic licences (电子证照) as W3C Verifiable Credentials (JSON), sealed by the issuing
department's Ed25519 key with a Data Integrity proof (cryptosuite `eddsa-jcs-2022`: JCS
canonical JSON, SHA-256, Ed25519, base58btc proof value).

`verify_credential` is pure: it checks the proof against a trusted key registry (keys by id
with their department and retirement), the issuer, the validity period and a revocation list.
`verify` gathers those from the database (used by the API and by `twonets licence verify FILE`
offline, without a server). A licence carries a verify URL, also as a QR code (PNG/SVG).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Mapping, Sequence

import segno
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from twonets.core.actor import Actor
from twonets.core.calendar import utcnow
from twonets.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from twonets.core.ids import next_id
from twonets.data import audit
from twonets.data.access import SourceRecord
from twonets.services import eseal
from twonets.services.eseal import SealKey
from twonets.services.tables import svc_licence

CONTEXT = ["https://www.w3.org/ns/credentials/v2"]
DID_PREFIX = "did:web:twonets.gov.cn:departments:"
B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def public_url() -> str:
    return (os.environ.get("TWONETS_PUBLIC_URL") or "http://127.0.0.1:8000").rstrip("/")


def verify_url(licence_id: str) -> str:
    return f"{public_url()}/api/v1/licences/{licence_id}/verify"


def _iso(at: datetime) -> str:
    return at.astimezone(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


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


def verify(session: Session, credential: Mapping[str, Any], *, now: datetime | None = None) -> Verification:
    """Verify against the key registry and revocation list of the database."""
    now = now or utcnow()
    keys = {k.key_id: k for k in eseal.all_keys(session)}
    cid = str(credential.get("id") or "")
    licence = cid.rsplit(":", 1)[-1]
    row = session.execute(
        select(svc_licence.c.public_id, svc_licence.c.revoked_at, svc_licence.c.revoked_reason).where(svc_licence.c.public_id == licence)
    ).first()
    revoked: dict[str, str] = {}
    if row is not None and row.revoked_at is not None and row.revoked_at <= now:
        revoked[row.public_id] = row.revoked_reason or "revoked"
    result = verify_credential(credential, keys, revoked, now)
    if row is None and result.checks.get("revocation") == "ok":
        result.checks["revocation"] = "fail"
        result.reasons.append("not issued by this registry")
        result.valid = False
    return result


# --- issuing, reading, revoking -------------------------------------------------------------


@dataclass(frozen=True)
class Licence:
    id: str
    application: str | None
    matter: str
    licence_type: str
    department: str
    holder_kind: str
    holder_id: str
    issued_at: datetime
    valid_until: datetime
    key_id: str
    credential: dict[str, Any]
    revoked_at: datetime | None
    revoked_reason: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "application": self.application,
            "matter": self.matter,
            "licence_type": self.licence_type,
            "department": self.department,
            "holder_kind": self.holder_kind,
            "issued_at": audit.ts(self.issued_at),
            "valid_until": audit.ts(self.valid_until),
            "key_id": self.key_id,
            "revoked": self.revoked_at is not None,
            "revoked_at": audit.ts(self.revoked_at) if self.revoked_at else None,
            "revoked_reason": self.revoked_reason,
            "verify_url": verify_url(self.id),
            "credential": self.credential,
        }


def _licence(row) -> Licence:
    return Licence(
        row.public_id, row.application, row.matter, row.licence_type, row.department, row.holder_kind, row.holder_id,
        row.issued_at, row.valid_until, row.key_id, json.loads(row.credential), row.revoked_at, row.revoked_reason,
    )


_INSERT = insert(svc_licence)


def issue(
    session: Session, *, matter, application: str | None, holder_kind: str, holder_id: str, claims: Mapping[str, Any],
    at: datetime, valid_years: int | None = None,
) -> Licence:
    from twonets.city.reference import reference

    spec = matter.licence
    if spec is None:
        raise Conflict(f"matter {matter.code} issues no licence")
    key, private = eseal.signing_key(session, matter.department, at=at)
    public_id = next_id(session, "LIC", at)
    valid_until = _years_later(at, valid_years or spec.valid_years)
    dept = reference().departments.get(matter.department)
    doc = build_credential(
        licence_id=public_id, licence_type=spec.type, name_zh=spec.name_zh, name_en=spec.name_en,
        department=matter.department, department_name=dept.name_zh if dept else matter.department,
        holder_id=holder_id, claims=claims, issued_at=at, valid_until=valid_until,
    )
    credential = sign(doc, key, private, at)
    session.execute(
        _INSERT,
        dict(
            public_id=public_id, application=application, matter=matter.code, licence_type=spec.type,
            department=matter.department, holder_kind=holder_kind, holder_id=holder_id, issued_at=at,
            valid_until=valid_until, key_id=key.key_id, credential=json.dumps(credential, ensure_ascii=False),
        ),
    )
    return Licence(public_id, application, matter.code, spec.type, matter.department, holder_kind, holder_id, at,
                   valid_until, key.key_id, credential, None, None)


def load(session: Session, licence_id: str) -> Licence:
    row = session.execute(select(svc_licence).where(svc_licence.c.public_id == licence_id)).first()
    if row is None:
        raise NotFound(f"no licence {licence_id}")
    return _licence(row)


def get(session: Session, actor: Actor, licence_id: str, subject: str | None = None) -> Licence:
    """A licence for its holder, or for staff of the issuing department."""
    lic = load(session, licence_id)
    staff = actor.has("administrator", "system") or (actor.department == lic.department and not actor.has("citizen", "company_agent"))
    if not staff and (subject is None or subject != lic.holder_id):
        raise NotFound(f"no licence {licence_id}")
    return lic


def of_holder(session: Session, holder_id: str) -> list[Licence]:
    rows = session.execute(select(svc_licence).where(svc_licence.c.holder_id == holder_id).order_by(svc_licence.c.id))
    return [_licence(r) for r in rows]


def revoke(session: Session, actor: Actor, licence_id: str, *, reason: str, at: datetime | None = None) -> Licence:
    at = at or utcnow()
    lic = load(session, licence_id)
    if not (actor.has("administrator", "system") or (actor.has("reviewer", "department_handler") and actor.department == lic.department)):
        raise Forbidden("only the issuing department revokes its licences")
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise InvalidInput("a revocation states its reason", errors=[{"field": "reason", "message": "required"}])
    if lic.revoked_at is not None:
        raise Conflict(f"licence {licence_id} is already revoked")
    session.execute(
        update(svc_licence).where(svc_licence.c.public_id == licence_id).values(revoked_at=at, revoked_reason=reason, revoked_by=actor.label)
    )
    audit.append(session, "decision", actor, "licence.revoke", licence_id, {"reason": reason, "department": lic.department}, at=at)
    return load(session, licence_id)


def revocations(session: Session) -> dict[str, str]:
    """The revocation list: licence id -> reason (published for offline verifiers)."""
    rows = session.execute(
        select(svc_licence.c.public_id, svc_licence.c.revoked_reason).where(svc_licence.c.revoked_at.is_not(None)).order_by(svc_licence.c.id)
    )
    return {lid: reason or "revoked" for lid, reason in rows}


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


def qr(licence_id: str, kind: str = "png", scale: int = 4) -> bytes:
    code = segno.make(verify_url(licence_id), error="m")
    buf = io.BytesIO()
    code.save(buf, kind=kind, scale=scale, border=2)
    return buf.getvalue()


# --- the elicences dataset, served from here -----------------------------------------------


def registry_records(
    session: Session, subject_ids: Sequence[str] | None, filters: Mapping[str, str] | None, limit: int
) -> list[SourceRecord]:
    """Valid, unrevoked licences as records of the `elicences` dataset (subject = holder)."""
    stmt = select(svc_licence).where(svc_licence.c.revoked_at.is_(None)).order_by(svc_licence.c.id).limit(limit)
    if subject_ids:
        stmt = stmt.where(svc_licence.c.holder_id.in_(list(subject_ids)))
    for name, value in (filters or {}).items():
        if name == "licence_type":
            stmt = stmt.where(svc_licence.c.licence_type == str(value))
        elif name == "licence_id":
            stmt = stmt.where(svc_licence.c.public_id == str(value))
    out = []
    for r in session.execute(stmt):
        subject = json.loads(r.credential).get("credentialSubject", {})
        out.append(
            SourceRecord(
                r.public_id,
                r.holder_id,
                {
                    "licence_id": r.public_id,
                    "licence_type": r.licence_type,
                    "holder_name": subject.get("holder_name"),
                    "holder_id_number": subject.get("holder_id_number") or subject.get("credit_code"),
                    "valid_until": r.valid_until.date().isoformat(),
                },
            )
        )
    return out
