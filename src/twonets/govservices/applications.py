"""Applications (办件): start with prefill, fill the form, upload what only the applicant has,
submit; instant matters are decided by their rule at once, the rest go to the department's
review queue with a promised deadline in working days; supplement requests stop the clock; an
approval issues the licence. Online by the citizen, or at a hall window by staff on the
citizen's behalf: the same record.

Every change is an event row (`svc_application_event`); the stored projection is the replay
of the events (`lifecycle.apply`). Service functions take the unit of work and an Actor.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, insert, or_, select, update
from sqlalchemy.orm import Session

from twonets.core.actor import Actor
from twonets.core.calendar import utcnow
from twonets.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from twonets.core.events import queue as queue_event
from twonets.core.i18n import Msg
from twonets.core.ids import next_id
from twonets.data import audit, identity
from twonets.govservices import decisions, licences, lifecycle, matters, prefill, rules
from twonets.govservices.events import ApplicationChanged
from twonets.govservices.forms import check_complete as _check_complete
from twonets.govservices.forms import check_shape as _check_shape
from twonets.govservices.lifecycle import AppState, Event
from twonets.govservices.models import Matter
from twonets.govservices.tables import svc_application, svc_application_event

APPLICANT_ROLES = frozenset({"citizen", "company_agent"})
HALL_ROLES = frozenset({"department_handler"})
MAX_UPLOAD = 5 * 1024 * 1024
PROJECTION = tuple(AppState.__dataclass_fields__)


@dataclass(frozen=True)
class Application:
    id: str
    matter: str
    department: str
    applicant_kind: str
    applicant_id: str
    channel: str
    staff: str | None
    form: dict[str, Any]
    prefill: dict[str, Any]
    materials: dict[str, Any]
    uploads: int
    decision: dict[str, Any] | None
    created_at: datetime
    state: AppState
    account: str | None = None  # the applicant's account, for online applications

    def as_dict(self, now: datetime | None = None, allowed: list[str] | None = None) -> dict[str, Any]:
        """The application as JSON. `allowed_actions` is `allowed` (what the caller may do now,
        from `actions_for`), else the actions people take in this state, by their endpoint names."""
        s = self.state
        ts = lambda v: audit.ts(v) if v else None  # noqa: E731
        return {
            "id": self.id,
            "matter": self.matter,
            "department": self.department,
            "applicant_kind": self.applicant_kind,
            "applicant_id": self.applicant_id,
            "channel": self.channel,
            "staff": self.staff,
            "state": s.state,
            "allowed_actions": allowed if allowed is not None else _endpoint_names(lifecycle.allowed_actions(s.state)),
            "form": self.form,
            "prefilled": {"fields": self.prefill.get("fields", {}), "materials": self.prefill.get("materials", {})},
            "uploads": self.materials,
            "upload_count": self.uploads,
            "zero_submission": self.uploads == 0,
            "decision": self.decision,
            "outcome": s.outcome,
            "reason": s.reason,
            "instant": s.instant,
            "created_at": ts(self.created_at),
            "submitted_at": ts(s.submitted_at),
            "due_at": ts(s.due_at),
            "warn_at": ts(s.warn_at),
            "clock_running": s.clock_started_at is not None,
            "clock_spent_working_days": round(s.clock_spent_s / 86400.0, 4),
            "finished_at": ts(s.finished_at),
            "working_days": s.working_days,
            "on_time": s.on_time,
            "flag": lifecycle.flag(s, now or utcnow()),
            "licence": s.licence,
            "rating": s.rating,
        }


def _state(row) -> AppState:
    return AppState(**{k: getattr(row, k) for k in PROJECTION})


def _app(row) -> Application:
    return Application(
        row.public_id, row.matter, row.department, row.applicant_kind, row.applicant_id, row.channel, row.staff,
        dict(row.form or {}), dict(row.prefill or {}), dict(row.materials or {}), row.uploads, row.decision,
        row.created_at, _state(row), row.account,
    )


# Lifecycle actions as a person takes them (their endpoints); `route` and `issue` are the system's.
_ENDPOINTS = {"decide": ("approve", "reject"), "route": (), "issue": ()}
APPLICANT_ACTIONS = frozenset({"update_form", "upload", "submit", "supplement", "withdraw", "rate"})
REVIEWER_ACTIONS = frozenset({"decide", "request_supplement"})


def _endpoint_names(actions: list[str]) -> list[str]:
    return [name for a in actions for name in _ENDPOINTS.get(a, (a,))]


def actions_for(session: Session, actor: Actor, app: Application) -> list[str]:
    """What `actor` may do to `app` now, by endpoint name: the state's actions that the caller's
    part allows — the applicant (or the hall staff acting for them) fills in, submits, answers a
    supplement request, withdraws and rates once; a reviewer of the matter's department approves,
    rejects or asks for a supplement. Nobody is offered the system's `route` and `issue`."""
    row = SimpleNamespace(account=app.account, applicant_id=app.applicant_id, staff=app.staff, channel=app.channel)
    applicant = _is_applicant(session, actor, row) or actor.id == app.staff \
        or (app.channel == "hall" and actor.has(*HALL_ROLES))
    rates = _is_applicant(session, actor, row) or actor.id == app.staff
    reviews = actor.has("system") or (actor.has("reviewer") and actor.department == app.department)
    out = []
    for a in lifecycle.allowed_actions(app.state.state):
        if a == "rate":
            ok = rates and app.state.rating is None
        elif a in APPLICANT_ACTIONS:
            ok = applicant
        else:
            ok = a in REVIEWER_ACTIONS and reviews
        if ok:
            out.append(a)
    return _endpoint_names(out)


_BY_ID = select(svc_application).where(svc_application.c.public_id == bindparam("app_id"))


def _row(session: Session, app_id: str):
    row = session.execute(_BY_ID, {"app_id": app_id}).first()
    if row is None:
        raise NotFound(Msg("no application {app_id}", app_id=app_id))
    return row


def _is_applicant(session: Session, actor: Actor, row) -> bool:
    if actor.id == row.account:
        return True
    return actor.has(*APPLICANT_ROLES) and identity.subject_of(session, actor) == row.applicant_id


def _may_see(session: Session, actor: Actor, row) -> bool:
    if actor.has("administrator", "system") or actor.id == row.staff:
        return True
    if actor.has(*APPLICANT_ROLES):
        return _is_applicant(session, actor, row)
    return actor.department == row.department


def get_row(session: Session, actor: Actor, app_id: str):
    row = _row(session, app_id)
    if not _may_see(session, actor, row):
        raise NotFound(Msg("no application {app_id}", app_id=app_id))
    return row


def get(session: Session, actor: Actor, app_id: str) -> Application:
    return _app(get_row(session, actor, app_id))


_EVENT_INSERT = insert(svc_application_event)
_INSERT = insert(svc_application)
_UPDATES: dict[tuple[str, ...], Any] = {}


def _update_stmt(extra: tuple[str, ...]):
    """UPDATE of the projection (and `extra` content columns), built once per shape."""
    stmt = _UPDATES.get(extra)
    if stmt is None:
        cols = PROJECTION + ("version",) + extra
        stmt = _UPDATES[extra] = (
            update(svc_application)
            .where(svc_application.c.id == bindparam("_id"), svc_application.c.version == bindparam("_version"))
            .values({c: bindparam(c, type_=svc_application.c[c].type) for c in cols})
        )
    return stmt


def _record(session: Session, row, event: Event, *, values: dict[str, Any] | None = None):
    """Apply `event` to the stored projection, write the new projection and the event row.
    Returns the application as it now is (a row-like namespace).

    Concurrency is optimistic, as for work orders (see `city/order_repository.py` for why): the
    UPDATE is conditional on the version read (`version` = events so far) and comes first, so a
    transaction that lost a race writes nothing and gets a 409 naming the state it lost to —
    never the unique (application, seq) key of a second event row (a 500)."""
    before = _state(row)
    after, to_state = lifecycle.apply(before, event)
    seq = row.version + 1
    values = values or {}
    params = {**after.as_dict(), **values, "version": seq, "_id": row.id, "_version": row.version}
    done = session.execute(_update_stmt(tuple(sorted(values))), params)
    if done.rowcount != 1:
        now = session.execute(select(svc_application.c.state, svc_application.c.version)
                              .where(svc_application.c.id == row.id)).first()
        state = (now.state or "draft") if now else "gone"
        raise Conflict(Msg("application {public_id} was changed meanwhile; it is now {state} (version {version}); reload and retry", public_id=row.public_id, state=state, version=now.version if now else 0), state=state)
    session.execute(
        _EVENT_INSERT,
        {"application_id": row.id, "seq": seq, "at": event.at, "actor": event.actor, "action": event.action,
         "from_state": before.state or None, "to_state": to_state, "reason": event.reason, "data": event.data},
    )
    queue_event(session, ApplicationChanged(row.public_id, event.action, to_state, getattr(row, "matter", None)))
    current = dict(row._mapping) if hasattr(row, "_mapping") else dict(vars(row))
    current.update(after.as_dict(), **values, version=seq)
    return SimpleNamespace(**current)


# --- starting -----------------------------------------------------------------------------


def _applicant(session: Session, actor: Actor, matter: Matter, applicant_id: str | None) -> tuple[str, str, str | None]:
    """(applicant subject, channel, staff) — citizens apply for themselves online, hall staff
    for a named applicant."""
    if actor.has(*APPLICANT_ROLES):
        subject = identity.subject_of(session, actor)
        if not subject:
            raise Forbidden(Msg("your account is not linked to a person or company in the registries"))
        if applicant_id and applicant_id != subject:
            raise Forbidden(Msg("you apply for yourself; staff at a service hall apply on someone's behalf"))
        if matter.channels == "hall":
            raise Conflict(Msg("matter {code} is handled at a service hall window only", code=matter.code))
        return subject, "online", None
    if actor.has(*HALL_ROLES, "system"):
        if not applicant_id:
            raise InvalidInput(Msg("name the applicant you act for"), errors=[{"field": "applicant_id", "message": Msg("required at a hall window")}])
        if matter.channels == "online":
            raise Conflict(Msg("matter {code} is handled online only", code=matter.code))
        return applicant_id, "hall", actor.label
    raise Forbidden(Msg("citizens and companies apply for themselves; hall staff (department_handler) on their behalf"))


def start(
    session: Session, actor: Actor, matter_code: str, *, applicant_id: str | None = None, consent: bool = False,
    form: dict[str, Any] | None = None, at: datetime | None = None,
) -> Application:
    """A draft with everything the government already holds filled in (once-only)."""
    at = at or utcnow()
    matter = matters.get(session, matter_code)
    if matter.no_application:
        raise Conflict(Msg("matter {code} is granted without application (免申即享)", code=matter.code))
    if not matter.full:  # imported from the district's list: no conditions, materials or form yet
        raise Conflict(Msg("matter {code} is listed but not yet written out for application: ask {department}", code=matter.code, department=matter.department))
    subject, channel, staff = _applicant(session, actor, matter, applicant_id)
    kind = "company" if matter.subject == "company" else "person"
    if (kind == "company") != (not subject.startswith("P")):
        raise InvalidInput(Msg("matter {code} is for a {kind}", code=matter.code, kind=kind), errors=[{"field": "applicant_id", "message": Msg("a {kind} is needed", kind=kind)}])
    if not consent:
        raise InvalidInput(
            Msg("consent to the use of your data held by the government (once-only prefill) is required"),
            errors=[{"field": "consent", "message": Msg("must be true")}],
        )
    _check_shape(matter, form or {})
    public_id = next_id(session, "AP", at)
    filled = prefill.gather(session, matter, subject, purpose=prefill.consent_text(public_id, at), at=at)
    values = {k: v["value"] for k, v in filled["fields"].items()}
    values.update(form or {})
    row = create_row(session, actor, matter, public_id, subject=subject, channel=channel, staff=staff, form=values, filled=filled,
                     at=at, basis={"consent_at": audit.ts(at)})
    return _app(row)


def create_row(
    session: Session, actor: Actor, matter: Matter, public_id: str, *, subject: str, channel: str, staff: str | None,
    form: dict[str, Any], filled: dict[str, Any], at: datetime, basis: dict[str, Any],
):
    """Insert the application and its `create` event; returns the row (a namespace)."""
    kind = "company" if matter.subject == "company" else "person"
    session.execute(
        _INSERT,
        dict(
            public_id=public_id, matter=matter.code, department=matter.department, applicant_kind=kind,
            applicant_id=subject, account=actor.id if channel == "online" else None, channel=channel, staff=staff,
            state="", form=form, prefill=filled, materials={}, uploads=0, created_at=at, clock_spent_s=0.0,
            instant=False, version=0,
        ),
    )
    event = Event("create", at, actor.label, None, {
        "channel": channel, "matter": matter.code, **basis, "lookups": filled["lookups"],
        "prefilled_fields": sorted(filled["fields"]),
    })
    return _record(session, _row(session, public_id), event)


def mine(session: Session, actor: Actor, *, limit: int = 50, cursor: str | None = None) -> tuple[list[Application], str | None]:
    """The caller's applications, newest first: as applicant (online or made for them at a
    hall), or made at the caller's hall window."""
    A = svc_application
    cond = [A.c.account == actor.id, A.c.staff == actor.label]
    if actor.has(*APPLICANT_ROLES):
        subject = identity.subject_of(session, actor)
        if subject:
            cond.append(A.c.applicant_id == subject)
    stmt = select(A).where(or_(*cond)).order_by(A.c.public_id.desc()).limit(limit + 1)
    if cursor:
        stmt = stmt.where(A.c.public_id < cursor)
    rows = list(session.execute(stmt))
    items = [_app(r) for r in rows[:limit]]
    return items, (items[-1].id if len(rows) > limit else None)


# --- filling in ---------------------------------------------------------------------------


def _may_act_as_applicant(session: Session, actor: Actor, row) -> None:
    if _is_applicant(session, actor, row) or actor.id == row.staff or (row.channel == "hall" and actor.has(*HALL_ROLES)):
        return
    raise Forbidden(Msg("only the applicant (or the hall staff acting for them) changes the application"))


def update_form(session: Session, actor: Actor, app_id: str, form: dict[str, Any], *, at: datetime | None = None) -> Application:
    at = at or utcnow()
    row = get_row(session, actor, app_id)
    _may_act_as_applicant(session, actor, row)
    lifecycle.check(row.state, "update_form")
    _check_shape(matters.get(session, row.matter), form)
    merged = {**(row.form or {}), **form}
    return _app(_record(session, row, Event("update_form", at, actor.label, None, {"fields": sorted(form)}), values={"form": merged}))


def upload(
    session: Session, actor: Actor, app_id: str, material: str, *, filename: str, content_base64: str, at: datetime | None = None
) -> Application:
    """The applicant hands in a material only they have (stored as its digest and size)."""
    at = at or utcnow()
    row = get_row(session, actor, app_id)
    _may_act_as_applicant(session, actor, row)
    lifecycle.check(row.state, "upload")
    matter = matters.get(session, row.matter)
    spec = next((m for m in matter.materials if m.code == material), None)
    if spec is None:
        raise InvalidInput(Msg("matter {code} has no material {material!r}", code=matter.code, material=material), errors=[{"field": "material", "message": Msg("unknown")}])
    if spec.source != "upload":
        raise Conflict(Msg("material {material} comes from government data; it is never uploaded (once-only)", material=material))
    try:
        content = base64.b64decode(content_base64, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(Msg("content is not base64"), errors=[{"field": "content_base64", "message": Msg("not base64")}]) from None
    if not content or len(content) > MAX_UPLOAD:
        raise InvalidInput(Msg("a material is 1 byte to 5 MB"), errors=[{"field": "content_base64", "message": Msg("size")}])
    entry = {"filename": filename[:200], "sha256": hashlib.sha256(content).hexdigest(), "size": len(content), "at": audit.ts(at)}
    uploads = {**(row.materials or {}), material: entry}
    return _app(_record(session, row, Event("upload", at, actor.label, None, {"material": material, "sha256": entry["sha256"]}),
                        values={"materials": uploads, "uploads": len(uploads)}))


# --- submitting and deciding --------------------------------------------------------------


def submit(session: Session, actor: Actor, app_id: str, *, form: dict[str, Any] | None = None, at: datetime | None = None) -> Application:
    at = at or utcnow()
    row = get_row(session, actor, app_id)
    _may_act_as_applicant(session, actor, row)
    lifecycle.check(row.state, "submit")
    matter = matters.get(session, row.matter)
    values = {**(row.form or {}), **(form or {})}
    _check_complete(matter, values, row.materials or {})
    row = _record(session, row, Event("submit", at, actor.label, None, {"promised_days": matter.promised_days}), values={"form": values})
    if matter.processing == "instant" and matter.rule:
        row = _decide_by_rule(session, matter, row, at)
    return _app(row)


def submit_proactive(session: Session, actor: Actor, matter: Matter, subject: str, filled: dict[str, Any], *,
                     at: datetime | None = None) -> Application:
    """A benefit granted without application (免申即享): the department, having found from the
    data it may read (`filled`, from `prefill.gather`) that `subject` qualifies, creates the
    application on their behalf (channel `proactive`), submits it and has the matter's rule
    decide it — licence issued if the matter has one. The record, the figures and the replay
    are those of any application. Only for matters granted without application."""
    at = at or utcnow()
    if not matter.no_application or not matter.rule:
        raise Conflict(Msg("matter {code} is not granted proactively by a rule", code=matter.code))
    public_id = next_id(session, "AP", at)
    form = {k: v["value"] for k, v in filled["fields"].items()}
    row = create_row(session, actor, matter, public_id, subject=subject, channel="proactive", staff=actor.label,
                     form=form, filled=filled, at=at, basis={"legal_basis": matter.legal_basis})
    row = _record(session, row, Event("submit", at, actor.label, "免申即享", {"promised_days": matter.promised_days}))
    return _app(_decide_by_rule(session, matter, row, at))


def _decide_by_rule(session: Session, matter: Matter, row, at: datetime):
    app_id = row.public_id
    facts = prefill.facts(matter, row.applicant_kind, row.prefill or {}, row.form or {}, row.materials or {}, at)
    d = decisions.decide(session, matter.rule, facts, at=at)
    stored = d.as_dict()
    audit.append(session, "decision", "rule:" + d.table, "application.decide", app_id, {
        "matter": matter.code, "rule": d.table, "version": d.version, "digest": d.digest, "outcome": d.outcome,
        "row": d.row, "reason": d.reason_en,
    }, at=at)
    if d.outcome == "review":
        return _record(session, row, Event("route", at, "rule:" + d.table, d.reason_zh, {"decision": stored}), values={"decision": stored})
    row = _record(session, row, Event("decide", at, "rule:" + d.table, d.reason_zh, {"outcome": d.outcome, "instant": True, "decision": stored}),
                  values={"decision": stored})
    if d.outcome == "approve" and matter.licence:
        row = _issue(session, matter, row, facts, at)
    return row


def _issue(session: Session, matter: Matter, row, facts: dict[str, Any], at: datetime):
    app_id = row.public_id
    claims = {k: rules.lookup(facts, tuple(path.split("."))) for k, path in matter.licence.claims.items()}
    lic = licences.issue(session, matter=matter, application=app_id, holder_kind=row.applicant_kind, holder_id=row.applicant_id,
                         claims=claims, at=at)
    return _record(session, row, Event("issue", at, "system", None, {"licence": lic.id, "key_id": lic.key_id}))


def supplement(session: Session, actor: Actor, app_id: str, *, form: dict[str, Any] | None = None, at: datetime | None = None) -> Application:
    """The applicant answers a supplement request; the clock resumes with the time it had left."""
    at = at or utcnow()
    row = get_row(session, actor, app_id)
    _may_act_as_applicant(session, actor, row)
    lifecycle.check(row.state, "supplement")
    matter = matters.get(session, row.matter)
    values = {**(row.form or {}), **(form or {})}
    _check_complete(matter, values, row.materials or {})
    return _app(_record(session, row, Event("supplement", at, actor.label, None, {"promised_days": matter.promised_days}), values={"form": values}))


def withdraw(session: Session, actor: Actor, app_id: str, *, reason: str | None = None, at: datetime | None = None) -> Application:
    at = at or utcnow()
    row = get_row(session, actor, app_id)
    _may_act_as_applicant(session, actor, row)
    lifecycle.check(row.state, "withdraw")
    return _app(_record(session, row, Event("withdraw", at, actor.label, reason or "withdrawn by the applicant", {})))
