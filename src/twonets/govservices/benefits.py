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
from twonets.core.i18n import Msg
from twonets.data import audit
from twonets.govservices import applications, decisions, matters, prefill
from twonets.govservices.tables import svc_application

MAX_CANDIDATES = 500


def grant(session: Session, actor: Actor, matter_code: str, subject_ids: Sequence[str], *, at: datetime | None = None) -> dict[str, Any]:
    at = at or utcnow()
    matter = matters.get(session, matter_code)
    if not matter.no_application:
        raise Conflict(Msg("matter {code} is applied for; it is not granted without application", code=matter.code))
    if not matter.rule:
        raise Conflict(Msg("matter {code} has no decision table to find who qualifies", code=matter.code))
    if not (actor.has("system", "administrator") or (actor.has("reviewer", "department_handler") and actor.department == matter.department)):
        raise Forbidden(Msg("only {department} grants its benefits", department=matter.department))
    subjects = list(dict.fromkeys(str(s) for s in subject_ids))
    if not subjects or len(subjects) > MAX_CANDIDATES:
        raise InvalidInput(Msg("name 1 to {most} candidates", most=MAX_CANDIDATES), errors=[{"field": "subject_ids", "message": Msg("1..500")}])
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
            ineligible.append({"subject_id": subject, "reason_en": d.reason_en})
            continue
        granted.append(applications.submit_proactive(session, actor, matter, subject, filled, at=at).id)
    audit.append(session, "decision", actor, "benefit.grant", matter.code, {
        "candidates": len(subjects), "granted": len(granted), "ineligible": len(ineligible), "already": len(already),
    }, at=at)
    return {"matter": matter.code, "granted": granted, "ineligible": ineligible, "already": sorted(already)}
