"""Cross-region handling (跨省通办) between live regions.

A person of region A applies at region B's hall for one of A's cross-region matters:

1. B's hall staff `forward` the application: B sends it to A, signed (`data/peers.py`);
2. A `receive`s it: A's own application service starts it for the person (prefill from A's
   registries, through A's access service and into A's audit chain), submits it, A's rule decides
   and A's department e-seal signs the licence; A answers with the decision, the licence and the
   registry reads it made (dataset and A's audit seq);
3. B records the answer and, in B's audit chain, that A's registry was read for the person
   (`crossregion.forward`, with A's audit seqs); B shows the result (`get`);
4. the licence verifies in both: at A as any licence, at B against A's published e-seal keys and
   revocations (`verify_licence`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.core import ids
from twonets.core.actor import Actor
from twonets.core.calendar import utcnow
from twonets.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from twonets.data import audit, peers
from twonets.govservices import applications, credentials, licences, matters
from twonets.govservices.crossregion_tables import svc_crossregion

HALL = ("department_handler", "administrator")


def forward(session: Session, actor: Actor, peer: str, matter: str, applicant_id: str, form: dict[str, Any] | None = None,
            *, at: datetime | None = None) -> dict[str, Any]:
    """At B's hall: forward a person's application to their home region `peer`; its answer."""
    at = at or utcnow()
    if not actor.has(*HALL):
        raise Forbidden("cross-region applications are taken at a service hall window (department_handler)")
    if not applicant_id:
        raise InvalidInput("name the applicant", errors=[{"field": "applicant_id", "message": "required"}])
    peers.peer(peer)  # NotFound names the trusted peers
    ref = ids.next_id(session, "XR", at)
    answer = peers.send(peer, "POST", "/api/v1/peer/applications", {
        "ref": ref, "from": peers.region(), "matter": matter, "applicant_id": applicant_id, "form": form or {}, "staff": actor.label})
    session.execute(svc_crossregion.insert().values(
        public_id=ref, peer=peer, matter=matter, applicant_id=applicant_id, staff=actor.label,
        state=str(answer.get("state") or "unknown"), answer=answer, created_at=at))
    audit.append(session, "access", actor, "crossregion.forward", ref, {
        "peer": peer, "matter": matter, "subject": applicant_id, "application": answer.get("application"),
        "state": answer.get("state"), "licence": answer.get("licence"),
        # the home region's registry reads for this person, recorded here too
        "peer_reads": [{"dataset": r.get("dataset"), "peer_audit_seq": r.get("audit_seq")} for r in answer.get("reads") or []],
    }, at=at)
    return get(session, actor, ref)


def get(session: Session, actor: Actor, ref: str) -> dict[str, Any]:
    if not actor.has(*HALL, "reviewer"):
        raise Forbidden("cross-region applications are shown at the hall that took them")
    row = session.execute(select(svc_crossregion).where(svc_crossregion.c.public_id == ref)).first()
    if row is None:
        raise NotFound(f"no cross-region application {ref}")
    a = row.answer or {}
    return {"id": row.public_id, "peer": row.peer, "matter": row.matter, "applicant_id": row.applicant_id,
            "state": row.state, "application": a.get("application"), "licence": a.get("licence"),
            "reason_zh": a.get("reason_zh"), "reason_en": a.get("reason_en"), "credential": a.get("credential"),
            "peer_reads": a.get("reads") or [], "created_at": row.created_at.isoformat()}


def receive(session: Session, peer: str, payload: dict[str, Any], *, at: datetime | None = None) -> dict[str, Any]:
    """At A: an application forwarded by the trusted peer `peer` (its signature already checked)."""
    at = at or utcnow()
    code, subject = str(payload.get("matter") or ""), str(payload.get("applicant_id") or "")
    form = payload.get("form") or {}
    if not code or not subject or not isinstance(form, dict):
        raise InvalidInput("a forwarded application names the matter, the applicant and a form",
                           errors=[{"field": "matter", "message": "required"}])
    matter = matters.get(session, code)
    if not matter.cross_region:
        raise Conflict(f"matter {matter.code} is not handled across regions")
    window = Actor(id=f"region:{peer}", roles=frozenset({"department_handler"}), department=matter.department)
    app = applications.start(session, window, code, applicant_id=subject, consent=True, form=form, at=at)
    app = applications.submit(session, window, app.id, at=at)
    lookups = (app.prefill or {}).get("lookups") or []
    decision = app.decision or {}
    lic = app.state.licence
    audit.append(session, "access", f"peer:{peer}", "crossregion.receive", app.id, {
        "peer": peer, "ref": payload.get("ref"), "matter": code, "subject": subject, "state": app.state.state,
        "licence": lic, "reads": [{"dataset": r["dataset"], "audit_seq": r["audit_seq"]} for r in lookups],
    }, at=at)
    return {"application": app.id, "state": app.state.state, "licence": lic,
            "credential": licences.load(session, lic).credential if lic else None,
            "reason_zh": decision.get("reason_zh"), "reason_en": decision.get("reason_en"),
            "reads": [{"dataset": r["dataset"], "audit_seq": r["audit_seq"]} for r in lookups], "region": peers.region()}


def verify_licence(session: Session, peer: str, credential: dict[str, Any], *, at: datetime | None = None) -> dict[str, Any]:
    """At B: a licence issued by `peer`, checked against the peer's published e-seal keys and revocations."""
    at = at or utcnow()
    keys = credentials.keys_from_json(peers.send(peer, "GET", "/api/v1/services/seals"))
    raw = peers.send(peer, "GET", "/api/v1/licences/revocations").get("items") or []
    revoked = {str(i.get("licence")): str(i.get("reason") or "revoked") for i in raw if isinstance(i, dict)}
    result = credentials.verify_credential(credential, keys, revoked, at)
    return result.as_dict() | {"issuer_region": peer}
