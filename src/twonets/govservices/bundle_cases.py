"""One-thing bundles (一件事一次办): one submission, one tracking view, one combined result.

`form` gives the shared form with what the registries hold already filled in (read through the
access service with the applicant's consent, each field once); `submit` checks the fields the
person gave (each asked once), records the case and runs it: every step whose predecessors are
approved is decided — by its decision table over the fields it needs, the registries it reads
and its predecessors' outputs, or by an outside party through its adapter (`outside.py`) —
and issues its matter's licence; a rejected step stops each step that needs it (with the
reason) while the independent ones go on; a step sent to review waits for its department
(`decide_step`). `track` is the tracking view.

Every change is an event (`svc_bundle_event`); the stored steps and state are the replay of the
events (`replay`), recomputed at each append.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from twonets.core import ids
from twonets.core.actor import Actor
from twonets.core.calendar import local_date, utcnow
from twonets.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from twonets.data import access, audit, identity
from twonets.govservices import licences, matters, outside
from twonets.govservices.benefit_tables import svc_bundle_case, svc_bundle_event
from twonets.govservices.bundles import Bundle, Step, all_bundles, get
from twonets.govservices.prefill import PURPOSE
from twonets.govservices.registries import ensure_grants, platform_actor
from twonets.govservices.rules import evaluate, lookup

OUTCOME_STATE = {"approve": "approved", "reject": "rejected", "review": "in_review"}
FINAL = ("approved", "rejected", "stopped")


# --- replay -------------------------------------------------------------------------------


def replay(bundle: Bundle, events: list[tuple[str, str | None, dict[str, Any]]]) -> tuple[str, dict[str, dict[str, Any]]]:
    """(case state, steps) from the events (action, step, data) in order."""
    steps: dict[str, dict[str, Any]] = {s.id: {"state": "pending"} for s in bundle.steps}
    submitted = False
    for action, step, data in events:
        if action == "submit":
            submitted = True
        elif action in ("step_decide", "step_review"):
            cur = steps[step]["state"]
            if cur not in (("pending",) if action == "step_decide" else ("in_review",)):
                raise Conflict(f"step {step} is {cur}: it cannot be decided now")
            steps[step] = {"state": OUTCOME_STATE[data["outcome"]], "reason_zh": data.get("reason_zh"),
                           "reason_en": data.get("reason_en"), "outputs": data.get("outputs") or {}}
        elif action == "step_stop":
            if steps[step]["state"] != "pending":
                raise Conflict(f"step {step} is {steps[step]['state']}: it cannot be stopped")
            steps[step] = {"state": "stopped", "reason_zh": data.get("reason_zh"), "reason_en": data.get("reason_en"),
                           "because": data.get("because")}
        else:
            raise Conflict(f"unknown bundle action {action!r}")
    if not submitted:
        return "", steps
    states = {s["state"] for s in steps.values()}
    if states == {"approved"}:
        return "completed", steps
    if states <= set(FINAL):
        return "completed_in_part", steps
    return "in_progress", steps


# --- the form -----------------------------------------------------------------------------


def _subject(session: Session, actor: Actor, bundle: Bundle) -> str:
    if not actor.has("citizen", "company_agent"):
        raise Forbidden("a bundle is submitted by the person (or company) it is for")
    subject = identity.subject_of(session, actor)
    if subject is None:
        raise Forbidden("your account is not linked to a person or company")
    return subject


def _read(session: Session, department: str, dataset: str, subject: str, fields: list[str] | None, purpose: str,
          matter: str, at: datetime) -> list[dict[str, Any]]:
    actor = platform_actor(department)

    def go():
        return access.read_records(session, actor, dataset, purpose, subject_ids=[subject], fields=fields, unmasked=True,
                                   matter=matter, limit=50, at=at)
    try:
        res = go()
    except Forbidden:
        if not ensure_grants(session, {(department, dataset)}, at=at):
            raise
        res = go()
    return [r["data"] for r in res.records]


def _consent_purpose(bundle: Bundle, consent_at: datetime, case: str | None = None) -> str:
    return f"{PURPOSE}: bundle {bundle.code}{' case ' + case if case else ''}, applicant consent given {consent_at.isoformat()}"


def _prefilled(session: Session, bundle: Bundle, subject: str, consent_at: datetime, at: datetime) -> dict[str, Any]:
    """The shared fields the registries hold, read once each, by a department that uses them."""
    out: dict[str, Any] = {}
    for f in bundle.fields:
        if not f.prefill:
            continue
        dataset, name = f.prefill.split(".")
        dept = next(s.department for s in bundle.steps if f.name in s.fields)
        rows = _read(session, dept, dataset, subject, [name], _consent_purpose(bundle, consent_at), bundle.code, at)
        if rows and rows[0].get(name) is not None:
            out[f.name] = rows[0][name]
    return out


def form(session: Session, actor: Actor, code: str, *, consent: bool, at: datetime | None = None) -> dict[str, Any]:
    """The shared form: each field once, with the steps it flows to; with consent, the fields
    the registries hold are filled in (`from_government_data`) and not asked."""
    at = at or utcnow()
    bundle = get(code)
    held = _prefilled(session, bundle, _subject(session, actor, bundle), at, at) if consent else {}
    out = bundle.summary()
    for f in out["fields"]:
        if f["name"] in held:
            f |= {"value": held[f["name"]], "from_government_data": True}
    return out


def _check(bundle: Bundle, given: dict[str, Any], held: dict[str, Any]) -> dict[str, Any]:
    errors: list[dict[str, str]] = []
    known = {f.name for f in bundle.fields}
    for name in sorted(set(given) - known):
        errors.append({"field": f"form.{name}", "message": "not a field of this bundle"})
    values: dict[str, Any] = {}
    for f in bundle.fields:
        if f.name in held:
            values[f.name] = held[f.name]  # the government holds it: not asked
            continue
        v = given.get(f.name)
        if v is None or v == "":
            if f.required:
                errors.append({"field": f"form.{f.name}", "message": f"required: {f.title_en}"})
            continue
        ok = {"string": isinstance(v, str) and len(v) <= f.max_length, "boolean": isinstance(v, bool),
              "number": isinstance(v, (int, float)) and not isinstance(v, bool),
              "integer": isinstance(v, int) and not isinstance(v, bool)}.get(f.type)
        if f.type == "date":
            try:
                date.fromisoformat(str(v))
                ok = True
            except ValueError:
                ok = False
        if not ok:
            errors.append({"field": f"form.{f.name}", "message": f"{f.title_en} must be a {f.type}"})
        elif f.minimum is not None and v < f.minimum:
            errors.append({"field": f"form.{f.name}", "message": f"{f.title_en} is at least {f.minimum:g}"})
        else:
            values[f.name] = v
    if errors:
        raise InvalidInput(f"{len(errors)} field(s) of the form need attention", errors=errors)
    return values


# --- running a case -----------------------------------------------------------------------


def _events(session: Session, case_id: int) -> list[tuple[str, str | None, dict[str, Any]]]:
    rows = session.execute(select(svc_bundle_event.c.action, svc_bundle_event.c.step, svc_bundle_event.c.data)
                           .where(svc_bundle_event.c.case_id == case_id).order_by(svc_bundle_event.c.seq)).all()
    return [(a, s, d) for a, s, d in rows]


def _append(session: Session, row, bundle: Bundle, actor: str, action: str, step: str | None, data: dict[str, Any], at: datetime):
    """One event; the stored state and steps become the replay of all of them."""
    evs = _events(session, row.id) + [(action, step, data)]
    state, steps = replay(bundle, evs)
    session.execute(svc_bundle_event.insert().values(case_id=row.id, seq=row.version + 1, at=at, actor=actor, action=action,
                                                     step=step, data=data))
    done = session.execute(update(svc_bundle_case).where(svc_bundle_case.c.id == row.id, svc_bundle_case.c.version == row.version)
                           .values(state=state, steps=steps, version=row.version + 1, updated_at=at)).rowcount
    if not done:
        raise Conflict("the case changed meanwhile; look at it again")
    return session.execute(select(svc_bundle_case).where(svc_bundle_case.c.id == row.id)).first()


def _facts(session: Session, bundle: Bundle, step: Step, row, at: datetime) -> dict[str, Any]:
    records = {ds: _read(session, step.department, ds, row.subject_id, names, _consent_purpose(bundle, row.created_at, row.public_id),
                         f"{bundle.code}:{step.id}", at)
               for ds, names in step.reads().items()}
    data = {ds: (rows[0] if rows else None) for ds, rows in records.items()}
    applicant: dict[str, Any] = {"kind": bundle.subject}
    person = data.get("population")
    if person and person.get("birth_date"):
        b, on = date.fromisoformat(str(person["birth_date"])), local_date(at)
        applicant["age"] = on.year - b.year - ((on.month, on.day) < (b.month, b.day))
    return {"form": {f: row.form.get(f) for f in step.fields}, "data": data, "count": {ds: len(r) for ds, r in records.items()},
            "applicant": applicant, "steps": {d: (row.steps[d].get("outputs") or {}) for d in step.after}}


def _run_step(session: Session, bundle: Bundle, step: Step, row, at: datetime) -> dict[str, Any]:
    facts = _facts(session, bundle, step, row, at)
    if step.party:
        adapter = outside.party(step.party)
        request = {"case": row.public_id, "step": step.id, "form": facts["form"], "steps": facts["steps"]}
        answer = adapter.answer(step.id, request)
        outcome = answer.get("outcome")
        if outcome not in ("approve", "reject"):
            outcome, answer = "review", {"reason_zh": "外部机构未给出明确答复，转人工", "reason_en": "The outside party gave no clear answer; sent to review."}
        audit.append(session, "decision", f"party:{step.party}", "bundle.party", row.public_id, {
            "step": step.id, "request": sorted(request["form"]), "outcome": outcome, "reason": answer.get("reason_en")}, at=at)
        data = {"outcome": outcome, "reason_zh": answer.get("reason_zh"), "reason_en": answer.get("reason_en"),
                "outputs": dict(answer.get("outputs") or {}), "party": step.party}
    else:
        d = evaluate(step.table(bundle.code), facts)
        outputs = {name: lookup(facts, tuple(path.split("."))) for name, path in step.outputs.items()} if d.outcome == "approve" else {}
        data = {"outcome": d.outcome, "reason_zh": d.reason_zh, "reason_en": d.reason_en, "outputs": outputs, "decision": d.as_dict()}
    if data["outcome"] == "approve" and step.matter:
        matter = matters.get(session, step.matter)
        if matter.licence:
            claims = {**{k: v for k, v in facts["form"].items() if v is not None}, **data["outputs"]}
            lic = licences.issue(session, matter=matter, application=row.public_id, holder_kind=bundle.subject,
                                 holder_id=row.subject_id, claims=claims, at=at)
            data["outputs"]["licence"] = lic.id
    return data


def _advance(session: Session, bundle: Bundle, row, at: datetime):
    """Decide every step that can be decided now; stop those whose predecessors failed."""
    changed = True
    while changed:
        changed = False
        for sid in bundle.order:
            step = bundle.step(sid)
            if row.steps[sid]["state"] != "pending":
                continue
            failed = [d for d in step.after if row.steps[d]["state"] in ("rejected", "stopped")]
            if failed:
                dep = bundle.step(failed[0])
                why = row.steps[failed[0]]
                row = _append(session, row, bundle, "system", "step_stop", sid, {
                    "because": failed[0],
                    "reason_zh": f"所依赖的“{dep.name_zh}”未办成：{why.get('reason_zh')}",
                    "reason_en": f"It needs “{dep.name_en}”, which was not granted: {why.get('reason_en')}",
                }, at)
                changed = True
            elif all(row.steps[d]["state"] == "approved" for d in step.after):
                actor = f"party:{step.party}" if step.party else f"rule:{step.department}"
                row = _append(session, row, bundle, actor, "step_decide", sid, _run_step(session, bundle, step, row, at), at)
                changed = True
    return row


def submit(session: Session, actor: Actor, code: str, form_values: dict[str, Any], *, consent: bool,
           at: datetime | None = None) -> dict[str, Any]:
    """One submission for the whole life event; the steps run at once as far as they can."""
    at = at or utcnow()
    bundle = get(code)
    subject = _subject(session, actor, bundle)
    if not consent:
        raise InvalidInput("the bundle reads your records in the registries: give your consent",
                           errors=[{"field": "consent", "message": "required"}])
    held = _prefilled(session, bundle, subject, at, at)
    values = _check(bundle, dict(form_values or {}), held)
    public_id = ids.next_id(session, "BC", at)
    _, steps = replay(bundle, [])
    case_id = session.execute(svc_bundle_case.insert().values(
        public_id=public_id, bundle=bundle.code, subject_id=subject, account=actor.label, state="", form=values, steps=steps,
        version=0, created_at=at, updated_at=at)).inserted_primary_key[0]
    row = session.execute(select(svc_bundle_case).where(svc_bundle_case.c.id == case_id)).first()
    row = _append(session, row, bundle, actor.label, "submit", None, {"fields": sorted(values),
                                                                     "from_government_data": sorted(held)}, at)
    audit.append(session, "decision", actor, "bundle.submit", public_id, {"bundle": bundle.code}, at=at)
    _advance(session, bundle, row, at)
    return track(session, actor, public_id)


def decide_step(session: Session, actor: Actor, case_id: str, step_id: str, *, approve: bool, reason: str,
                at: datetime | None = None) -> dict[str, Any]:
    """The department decides a step that its rule sent to review; the case runs on."""
    at = at or utcnow()
    row = _row(session, case_id)
    bundle = get(row.bundle)
    if step_id not in row.steps:
        raise NotFound(f"case {case_id} has no step {step_id}")
    step = bundle.step(step_id)
    if not (actor.has("reviewer") and actor.department == step.department) and not actor.has("administrator"):
        raise Forbidden(f"the step {step_id} is decided by {step.department}")
    if row.steps[step_id]["state"] != "in_review":
        raise Conflict(f"step {step_id} is {row.steps[step_id]['state']}, not in review")
    data = {"outcome": "approve" if approve else "reject", "reason_zh": reason, "reason_en": reason, "outputs": {}}
    if approve and step.matter and matters.get(session, step.matter).licence:
        lic = licences.issue(session, matter=matters.get(session, step.matter), application=row.public_id,
                             holder_kind=bundle.subject, holder_id=row.subject_id,
                             claims={f: row.form.get(f) for f in step.fields if row.form.get(f) is not None}, at=at)
        data["outputs"]["licence"] = lic.id
    row = _append(session, row, bundle, actor.label, "step_review", step_id, data, at)
    audit.append(session, "decision", actor, "bundle.review", case_id, {"step": step_id, "approve": approve}, at=at)
    _advance(session, bundle, row, at)
    return track(session, actor, case_id)


# --- the tracking view --------------------------------------------------------------------


def _row(session: Session, case_id: str):
    row = session.execute(select(svc_bundle_case).where(svc_bundle_case.c.public_id == case_id)).first()
    if row is None:
        raise NotFound(f"no case {case_id}")
    return row


def _may_see(session: Session, actor: Actor, row, bundle: Bundle) -> bool:
    if actor.has("administrator"):
        return True
    if actor.has("reviewer", "department_handler") and actor.department in {s.department for s in bundle.steps}:
        return True
    return actor.has("citizen", "company_agent") and identity.subject_of(session, actor) == row.subject_id


def track(session: Session, actor: Actor, case_id: str) -> dict[str, Any]:
    """One tracking view: every step with its state, reason and outputs, and the combined result."""
    row = _row(session, case_id)
    bundle = get(row.bundle)
    if not _may_see(session, actor, row, bundle):
        raise NotFound(f"no case {case_id}")
    evs = session.execute(select(svc_bundle_event).where(svc_bundle_event.c.case_id == row.id).order_by(svc_bundle_event.c.seq)).all()
    steps = []
    for s in bundle.steps:
        st = row.steps[s.id]
        steps.append({"id": s.id, "name_zh": s.name_zh, "name_en": s.name_en, "department": s.department, "matter": s.matter,
                      "party": s.party, "after": s.after, "state": st["state"], "reason_zh": st.get("reason_zh"),
                      "reason_en": st.get("reason_en"), "because": st.get("because"), "outputs": st.get("outputs") or {}})
    return {
        "id": row.public_id, "bundle": bundle.code, "name_zh": bundle.name_zh, "name_en": bundle.name_en, "state": row.state,
        "form": row.form, "steps": steps,
        "result": {
            "licences": [s["outputs"]["licence"] for s in steps if s["outputs"].get("licence")],
            "approved": [s["id"] for s in steps if s["state"] == "approved"],
            "rejected": [s["id"] for s in steps if s["state"] == "rejected"],
            "stopped": [s["id"] for s in steps if s["state"] == "stopped"],
            "waiting": [s["id"] for s in steps if s["state"] in ("pending", "in_review")],
        },
        "events": [{"seq": e.seq, "at": e.at.isoformat(), "actor": e.actor, "action": e.action, "step": e.step} for e in evs],
        "created_at": row.created_at.isoformat(), "updated_at": row.updated_at.isoformat(),
    }


def mine(session: Session, actor: Actor) -> list[dict[str, Any]]:
    subject = identity.subject_of(session, actor)
    if subject is None:
        raise Forbidden("your account is not linked to a person or company")
    rows = session.execute(select(svc_bundle_case.c.public_id, svc_bundle_case.c.bundle, svc_bundle_case.c.state,
                                  svc_bundle_case.c.created_at).where(svc_bundle_case.c.subject_id == subject)
                           .order_by(svc_bundle_case.c.id)).all()
    return [{"id": r.public_id, "bundle": r.bundle, "name_zh": all_bundles()[r.bundle].name_zh, "state": r.state,
             "created_at": r.created_at.isoformat()} for r in rows]


def replay_matches(session: Session, case_id: str) -> bool:
    row = _row(session, case_id)
    state, steps = replay(get(row.bundle), _events(session, row.id))
    return (state, steps) == (row.state, row.steps)
