"""Electronic licences (电子证照): issued on approval as W3C Verifiable Credentials sealed by
the issuing department's e-seal (`credentials`), read by holder or issuing department,
revoked with a reason, verified against the key registry and revocation list of the database
(`verify`: the API and `twonets licence verify FILE`), with a QR code (PNG/SVG) of the
verify URL. The licences also serve the `elicences` dataset of the catalogue.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import segno
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from twonets.core.actor import Actor
from twonets.core.calendar import utcnow
from twonets.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from twonets.core.events import queue as queue_event
from twonets.core.i18n import Msg
from twonets.core.ids import next_id
from twonets.data import audit
from twonets.data.access import SourceRecord
from twonets.govservices import eseal
from twonets.govservices.credentials import (  # noqa: F401  (re-exported: one place to import licences from)
    VC_MEDIA_TYPE,
    Verification,
    _years_later,
    build_credential,
    keys_from_json,
    sign,
    verify_credential,
    verify_url,
)
from twonets.govservices.events import LicenceChanged
from twonets.govservices.tables import svc_licence


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
    from twonets.data.departments import departments

    spec = matter.licence
    if spec is None:
        raise Conflict(Msg("matter {code} issues no licence", code=matter.code))
    key, private = eseal.signing_key(session, matter.department, at=at)
    public_id = next_id(session, "LIC", at)
    valid_until = _years_later(at, valid_years or spec.valid_years)
    dept = departments().get(matter.department)
    # The row comes first: its number is the licence's index in the department's status list.
    row_id = session.execute(
        _INSERT.returning(svc_licence.c.id),
        dict(
            public_id=public_id, application=application, matter=matter.code, licence_type=spec.type,
            department=matter.department, holder_kind=holder_kind, holder_id=holder_id, issued_at=at,
            valid_until=valid_until, key_id=key.key_id, credential="{}",
        ),
    ).scalar_one()
    doc = build_credential(
        licence_id=public_id, licence_type=spec.type, name_zh=spec.name_zh, name_en=spec.name_en,
        department=matter.department, department_name=dept.name_zh if dept else matter.department,
        holder_id=holder_id, claims=claims, issued_at=at, valid_until=valid_until, status_index=row_id,
    )
    credential = sign(doc, key, private, at)
    session.execute(
        update(svc_licence).where(svc_licence.c.id == row_id).values(credential=json.dumps(credential, ensure_ascii=False))
    )
    queue_event(session, LicenceChanged(public_id, "issue", matter.department, matter.code))
    return Licence(public_id, application, matter.code, spec.type, matter.department, holder_kind, holder_id, at,
                   valid_until, key.key_id, credential, None, None)


def load(session: Session, licence_id: str) -> Licence:
    row = session.execute(select(svc_licence).where(svc_licence.c.public_id == licence_id)).first()
    if row is None:
        raise NotFound(Msg("no licence {licence_id}", licence_id=licence_id))
    return _licence(row)


def get(session: Session, actor: Actor, licence_id: str, subject: str | None = None) -> Licence:
    """A licence for its holder, or for staff of the issuing department."""
    lic = load(session, licence_id)
    staff = actor.has("administrator", "system") or (actor.department == lic.department and not actor.has("citizen", "company_agent"))
    if not staff and (subject is None or subject != lic.holder_id):
        raise NotFound(Msg("no licence {licence_id}", licence_id=licence_id))
    return lic


def of_holder(session: Session, holder_id: str) -> list[Licence]:
    rows = session.execute(select(svc_licence).where(svc_licence.c.holder_id == holder_id).order_by(svc_licence.c.id))
    return [_licence(r) for r in rows]


def revoke(session: Session, actor: Actor, licence_id: str, *, reason: str, at: datetime | None = None) -> Licence:
    at = at or utcnow()
    lic = load(session, licence_id)
    if not (actor.has("administrator", "system") or (actor.has("reviewer", "department_handler") and actor.department == lic.department)):
        raise Forbidden(Msg("only the issuing department revokes its licences"))
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise InvalidInput(Msg("a revocation states its reason"), errors=[{"field": "reason", "message": Msg("required")}])
    if lic.revoked_at is not None:
        raise Conflict(Msg("licence {licence_id} is already revoked", licence_id=licence_id))
    session.execute(
        update(svc_licence).where(svc_licence.c.public_id == licence_id).values(revoked_at=at, revoked_reason=reason, revoked_by=actor.label)
    )
    audit.append(session, "decision", actor, "licence.revoke", licence_id, {"reason": reason, "department": lic.department}, at=at)
    queue_event(session, LicenceChanged(licence_id, "revoke", lic.department, lic.matter))
    return load(session, licence_id)


def revocations(session: Session) -> dict[str, str]:
    """The revocation list: licence id -> reason (published for offline verifiers)."""
    rows = session.execute(
        select(svc_licence.c.public_id, svc_licence.c.revoked_reason).where(svc_licence.c.revoked_at.is_not(None)).order_by(svc_licence.c.id)
    )
    return {lid: reason or "revoked" for lid, reason in rows}


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
