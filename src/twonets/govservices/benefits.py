"""Benefits without application (免申即享): the department finds who qualifies from the data it
may read and grants the benefit proactively; nobody has to apply.

For each candidate the matter's datasets are read through the access service (purpose: the
proactive eligibility check and the matter's legal basis, recorded like every read), the
matter's decision table decides, and only for those who qualify an application is created —
channel `proactive`, decided by the rule with its stored inputs, licence issued if the matter
has one — so the record, the figures and the replay are those of any application.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.core.actor import Actor
from twonets.core.calendar import utcnow
from twonets.core.errors import Conflict, Forbidden, InvalidInput
from twonets.data import audit, identity
from twonets.govservices import applications, decisions, matters, prefill
from twonets.govservices.registries import platform_actor
from twonets.govservices.tables import svc_application

MAX_CANDIDATES = 500
GRANTED = ("approved", "licence_issued")


def grant(session: Session, actor: Actor, matter_code: str, subject_ids: Sequence[str], *, at: datetime | None = None) -> dict[str, Any]:
    at = at or utcnow()
    matter = matters.get(session, matter_code)
    if not matter.no_application:
        raise Conflict(f"matter {matter.code} is applied for; it is not granted without application")
    if not matter.rule:
        raise Conflict(f"matter {matter.code} has no decision table to find who qualifies")
    if not (actor.has("system", "administrator") or (actor.has("reviewer", "department_handler") and actor.department == matter.department)):
        raise Forbidden(f"only {matter.department} grants its benefits")
    subjects = list(dict.fromkeys(str(s) for s in subject_ids))
    if not subjects or len(subjects) > MAX_CANDIDATES:
        raise InvalidInput(f"name 1 to {MAX_CANDIDATES} candidates", errors=[{"field": "subject_ids", "message": "1..500"}])
    already = set(
        session.execute(
            select(svc_application.c.applicant_id).where(
                svc_application.c.matter == matter.code, svc_application.c.applicant_id.in_(subjects),
                svc_application.c.state.in_(("approved", "licence_issued")),
            )
        ).scalars()
    )
    granted: list[str] = []
    ineligible: list[dict[str, str]] = []
    for subject in subjects:
        if subject in already:
            continue
        filled = prefill.gather(session, matter, subject, purpose=prefill.proactive_text(matter), at=at)
        facts = prefill.facts(matter, "person" if matter.subject == "person" else "company", filled, {}, {}, at)
        d = decisions.decide(session, matter.rule, facts, at=at)
        if d.outcome != "approve":
            ineligible.append({"subject_id": subject, "reason_en": d.reason_en, "reason_zh": d.reason_zh})
            continue
        granted.append(applications.submit_proactive(session, actor, matter, subject, filled, at=at).id)
    audit.append(session, "decision", actor, "benefit.grant", matter.code, {
        "candidates": len(subjects), "granted": len(granted), "ineligible": len(ineligible), "already": len(already),
    }, at=at)
    return {"matter": matter.code, "granted": granted, "ineligible": ineligible, "already": sorted(already)}


# --- the citizen's side: offered, confirmed with one tap -----------------------------------


def _subject(session: Session, actor: Actor) -> str:
    if not actor.has("citizen"):
        raise Forbidden("benefits are confirmed by the person they are for")
    subject = identity.subject_of(session, actor)
    if not subject:
        raise Forbidden("your account is not linked to a person in the registries")
    return subject


def offers(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """The benefits granted without application, each with what the citizen has of it: the
    application that granted it (`granted`), or None (not granted yet: the citizen may confirm)."""
    subject = _subject(session, actor)
    listed, _ = matters.search(session, no_application=True, full=True, limit=200)
    A = svc_application
    mine = {
        r.matter: r for r in session.execute(
            select(A.c.matter, A.c.public_id, A.c.state, A.c.finished_at, A.c.licence).where(
                A.c.applicant_id == subject, A.c.matter.in_([m["code"] for m in listed]), A.c.state.in_(GRANTED))
        )
    }
    out = []
    for m in listed:
        got = mine.get(m["code"])
        out.append({**m, "conditions": list(matters.get(session, m["code"]).conditions),
                    "granted": None if got is None else {"application": got.public_id, "at": got.finished_at,
                                                         "licence": got.licence}})
    return out


def confirm(session: Session, actor: Actor, matter_code: str, *, at: datetime | None = None) -> dict[str, Any]:
    """One tap by the citizen (免申即享, 一键确认): the department's eligibility check runs for
    them now, on the data it may read for the benefit (recorded like every read), and grants
    it if they qualify. Returns `granted` (the application id) or the `reason` they do not."""
    at = at or utcnow()
    subject = _subject(session, actor)
    matter = matters.get(session, matter_code)
    result = grant(session, platform_actor(matter.department), matter.code, [subject], at=at)
    audit.append(session, "decision", actor, "benefit.confirm", matter.code,
                 {"granted": bool(result["granted"]), "already": bool(result["already"])}, at=at)
    if result["already"]:
        raise Conflict(f"you already receive {matter.name_en}")
    if result["granted"]:
        return {"matter": matter.code, "granted": result["granted"][0], "reason_zh": None, "reason_en": None}
    why = result["ineligible"][0]
    return {"matter": matter.code, "granted": None, "reason_zh": why["reason_zh"], "reason_en": why["reason_en"]}
