"""Benefits without application (免申即享): the government finds the person.

A policy (`policies.py`, data) says who is eligible (a decision table over base registries and
business tags), what can make someone newly eligible (its triggers) and whether the benefit is
granted at once or offered for one-tap confirmation. This module evaluates policies:

- **when data changes** — `on_records_changed` (a registry update: the data foundation's
  `RecordsChanged` event, wired in `twonets.bootstrap`), `on_birthdays` (the day persons turn an
  age a policy names), `on_person_alarm` / `on_area_alarm` (a city alarm about a person or a
  street, wired in bootstrap: the city and the services never import each other);
- **nightly** — `sweep` pages through every subject of the registries, screens them in batches
  and grants what the events missed.

Every evaluation that leads to a grant or offer reads the subject's records through the access
service as that policy's read (purpose: the policy and its legal basis; `matter`: the policy code),
so it shows in the citizen's "who used my data"; the stored benefit keeps the decision (inputs,
row, reason) and the reads' audit seqs: the facts that made the person eligible. One benefit per
policy and subject (`uq_svc_benefit_policy_subject`): never granted twice, and a declined offer
is never made again. The sweep's screening reads are batched and recorded all the same.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from twonets.core import events, ids
from twonets.core.actor import Actor
from twonets.core.calendar import local_date, utcnow
from twonets.core.errors import Forbidden
from twonets.data import access, audit, catalogue
from twonets.govservices import benefit_lifecycle as lifecycle
from twonets.govservices.benefit_tables import svc_benefit, svc_benefit_event
from twonets.govservices.benefit_views import confirm, decline, get, list_benefits, mine, replay_state, stop  # noqa: F401  (part of this API)
from twonets.govservices.events import BenefitChanged
from twonets.govservices.policies import TAGS_DATASET, Policy, all_policies
from twonets.govservices.registries import GRANT_PURPOSE, ensure_grants, platform_actor
from twonets.govservices.rules import decide, evaluate, lookup

BATCH = access.MAX_SUBJECTS
# The data bureau's platform screens everyone nightly for every policy (one read per dataset and
# batch); the department of each policy confirms those screened in with its own read.
SCREENING_DEPARTMENT = "shuju"
BULK_EVENT = 2000  # a registry load larger than this is left to the nightly sweep


# --- reading the facts ------------------------------------------------------------------


def _read(session: Session, department: str, dataset: str, purpose: str, *, subjects: Sequence[str] | None = None,
          filters: dict[str, Any] | None = None, fields: list[str] | None = None, matter: str | None = None,
          at: datetime) -> access.ReadResult:
    actor = platform_actor(department)

    def go() -> access.ReadResult:
        return access.read_records(session, actor, dataset, purpose, subject_ids=subjects, filters=filters, fields=fields,
                                   unmasked=True, matter=matter, limit=access.MAX_RECORDS, at=at)
    try:
        return go()
    except Forbidden:  # no grant yet, or it lapsed: the policy's statutory basis renews it
        if not ensure_grants(session, {(department, dataset)}, at=at):
            raise
        return go()


def _gather(session: Session, department: str, reads: dict[str, list[str] | None], subjects: Sequence[str],
            purpose: str, matter: str | None, at: datetime) -> tuple[dict[str, dict[str, list]], list[dict[str, Any]]]:
    """Records per subject per dataset, read in one access-service read per dataset."""
    by_subject: dict[str, dict[str, list]] = {s: {ds: [] for ds in reads} for s in subjects}
    lookups = []
    for ds, fields in reads.items():
        res = _read(session, department, ds, purpose, subjects=subjects, fields=fields, matter=matter, at=at)
        for r in res.records:
            if r["subject_id"] in by_subject:
                by_subject[r["subject_id"]][ds].append(r["data"])
        lookups.append({"dataset": ds, "audit_seq": res.audit_seq})
    return by_subject, lookups


def age_on(birth: Any, on: date) -> int | None:
    try:
        b = date.fromisoformat(str(birth))
    except ValueError:
        return None
    return on.year - b.year - ((on.month, on.day) < (b.month, b.day))


def facts_of(policy: Policy, records: dict[str, list], event: dict[str, Any], at: datetime) -> dict[str, Any]:
    """What an eligibility table reads: as for an application (`prefill.facts`), plus `event`."""
    data = {ds: (rows[0] if rows else None) for ds, rows in records.items()}
    applicant: dict[str, Any] = {"kind": policy.subject}
    person = data.get("population")
    if person and person.get("birth_date"):
        applicant["age"] = age_on(person["birth_date"], local_date(at))
    tags = {r.get("tag"): True for r in records.get(TAGS_DATASET, ()) if r.get("tag")}
    return {"data": data, "count": {ds: len(rows) for ds, rows in records.items()}, "applicant": applicant,
            "tags": tags, "event": dict(event)}


# --- deciding and recording ---------------------------------------------------------------


def _existing(session: Session, subjects: Iterable[str], codes: Iterable[str] | None = None) -> set[tuple[str, str]]:
    subjects = list(subjects)
    stmt = select(svc_benefit.c.policy, svc_benefit.c.subject_id).where(svc_benefit.c.subject_id.in_(subjects))
    if codes is not None:
        stmt = stmt.where(svc_benefit.c.policy.in_(list(codes)))
    return {(p, s) for p, s in session.execute(stmt)}


def evaluate_subject(session: Session, policy: Policy, subject: str, *, trigger: str, event: dict[str, Any] | None = None,
                     at: datetime | None = None) -> dict[str, Any]:
    """Evaluate one policy for one subject as the policy's read; grant or offer when eligible.
    Returns {"outcome": granted|offered|ineligible|already, "benefit": id|None, "reason_en"}."""
    at = at or utcnow()
    if _existing(session, [subject], [policy.code]):
        return {"policy": policy.code, "subject_id": subject, "outcome": "already", "benefit": None}
    event = {"on": trigger.split(":", 1)[0], **(event or {})}
    purpose = policy.purpose(f"eligibility check of {subject} ({trigger})")
    records, lookups = _gather(session, policy.department, policy.reads() or {policy.registry: None}, [subject],
                               purpose, policy.code, at)
    if not any(records[subject].values()):
        return {"policy": policy.code, "subject_id": subject, "outcome": "ineligible", "benefit": None,
                "reason_en": "No record of the subject in the registries the policy reads."}
    decision = evaluate(policy.table, facts_of(policy, records[subject], event, at))
    if decision.outcome != "approve":
        return {"policy": policy.code, "subject_id": subject, "outcome": "ineligible", "benefit": None,
                "reason_en": decision.reason_en}
    facts = {"decision": decision.as_dict(), "reads": lookups, "event": event, "legal_basis": policy.legal_basis}
    benefit = _record_new(session, policy, subject, trigger, facts, at)
    if benefit is None:
        return {"policy": policy.code, "subject_id": subject, "outcome": "already", "benefit": None}
    return {"policy": policy.code, "subject_id": subject, "outcome": TARGET_OUTCOME[policy.mode], "benefit": benefit,
            "reason_en": decision.reason_en}


TARGET_OUTCOME = {"grant": "granted", "offer": "offered"}


def _record_new(session: Session, policy: Policy, subject: str, trigger: str, facts: dict[str, Any], at: datetime) -> str | None:
    """Insert the benefit and its first event; None when another worker recorded it first."""
    made = _record_many(session, policy, [(subject, facts)], trigger, at)
    return made[0][1] if made else None


def _record_many(session: Session, policy: Policy, items: list[tuple[str, dict[str, Any]]], trigger: str,
                 at: datetime) -> list[tuple[str, str]]:
    """Insert benefits (and their first events) for (subject, facts) pairs, one audit entry for
    them all; those another worker recorded first are skipped. Returns [(subject, benefit id)]."""
    if not items:
        return []
    state = lifecycle.check("", policy.mode)
    public_ids = ids.reserve(session, "BN", at, len(items))

    def insert(batch: list[tuple[str, str, dict[str, Any]]]) -> None:
        rows = session.execute(svc_benefit.insert().returning(svc_benefit.c.id, svc_benefit.c.public_id), [dict(
            public_id=pid, policy=policy.code, policy_version=policy.version, department=policy.department,
            subject_kind=policy.subject, subject_id=subject, state=state, amount=policy.amount.value,
            unit=policy.amount.unit, per=policy.amount.per, trigger=trigger[:120], facts=facts, version=1,
            created_at=at, updated_at=at) for pid, subject, facts in batch]).all()
        by_pid = {pid: facts for pid, _, facts in batch}
        session.execute(svc_benefit_event.insert(), [dict(
            benefit_id=bid, seq=1, at=at, actor=f"policy:{policy.code}", action=policy.mode, from_state=None,
            to_state=state, reason=by_pid[pid]["decision"]["reason_zh"], data={"trigger": trigger}) for bid, pid in rows])

    batch = [(pid, subject, facts) for pid, (subject, facts) in zip(public_ids, items, strict=True)]
    made: list[tuple[str, str]] = []
    try:
        with session.begin_nested():
            insert(batch)
        made = [(subject, pid) for pid, subject, _ in batch]
    except IntegrityError:  # a racing worker recorded some: one by one, skipping those
        for one in batch:
            try:
                with session.begin_nested():
                    insert([one])
                made.append((one[1], one[0]))
            except IntegrityError:
                continue
    if not made:
        return []
    first = batch[0][2]
    audit.append(session, "decision", f"policy:{policy.code}", f"benefit.{policy.mode}", made[0][1] if len(made) == 1 else policy.code, {
        "policy": policy.code, "version": policy.version, "trigger": trigger, "digest": first["decision"]["digest"],
        "benefits": [pid for _, pid in made], "reads": sorted({r["audit_seq"] for _, _, f in batch for r in f["reads"]}),
    }, at=at)
    for _, pid in made:
        events.queue(session, BenefitChanged(id=pid, action=policy.mode, state=state, policy=policy.code))
    return made


def _policies_for(on: str, key: str | None = None) -> list[Policy]:
    return [p for p in all_policies().values() if p.triggered_by(on, key)]


MAX_CANDIDATES = 500


def evaluate_candidates(session: Session, actor: Actor, code: str, subject_ids: Sequence[str], *,
                        at: datetime | None = None) -> dict[str, Any]:
    """A department checks named candidates against one of its policies (e.g. a list handed over
    by a community): each is evaluated as the policy's read; the eligible are granted or offered."""
    from twonets.core.errors import InvalidInput
    from twonets.govservices.policies import get as policy_of

    policy = policy_of(code)
    if not (actor.has("administrator", "system") or (actor.has("reviewer", "department_handler") and actor.department == policy.department)):
        raise Forbidden(f"only {policy.department} evaluates its policy {policy.code}")
    subjects = list(dict.fromkeys(str(s) for s in subject_ids))
    if not subjects or len(subjects) > MAX_CANDIDATES:
        raise InvalidInput(f"name 1 to {MAX_CANDIDATES} candidates", errors=[{"field": "subject_ids", "message": f"1..{MAX_CANDIDATES}"}])
    out: dict[str, Any] = {"policy": policy.code, "granted": [], "offered": [], "ineligible": [], "already": []}
    for subject in subjects:
        res = evaluate_subject(session, policy, subject, trigger=f"candidates:{actor.label}"[:120], at=at)
        if res["outcome"] in ("granted", "offered"):
            out[res["outcome"]].append(res["benefit"])
        elif res["outcome"] == "ineligible":
            out["ineligible"].append({"subject_id": subject, "reason_en": res.get("reason_en")})
        else:
            out["already"].append(subject)
    return out


# --- triggers -----------------------------------------------------------------------------


def on_records_changed(session: Session, dataset: str, subjects: Sequence[str], *, at: datetime | None = None) -> list[dict]:
    """A registry update: evaluate the policies it can trigger for the subjects it touched."""
    at = at or utcnow()
    out = []
    for policy in _policies_for("record", dataset):
        for subject in subjects:
            out.append(evaluate_subject(session, policy, subject, trigger=f"record:{dataset}", at=at))
    return out


def _birth_dates(on: date, age: int) -> list[str]:
    year = on.year - age
    try:
        days = [date(year, on.month, on.day)]
    except ValueError:  # 29 February of a year that has none: nobody is born that day
        return []
    if on.month == 3 and on.day == 1:  # those born on 29 February turn `age` on 1 March in common years
        try:
            date(on.year, 2, 29)
        except ValueError:
            try:
                days.append(date(year, 2, 29))
            except ValueError:
                pass
    return [d.isoformat() for d in days]


def on_birthdays(session: Session, on: date | None = None, *, at: datetime | None = None) -> list[dict]:
    """The persons who turn an age a policy names on `on` (default today, local): evaluated."""
    at = at or utcnow()
    on = on or local_date(at)
    out = []
    for policy in _policies_for("birthday"):
        ages = sorted({a for t in policy.triggers if t.on == "birthday" for a in t.ages})
        for age in ages:
            for born in _birth_dates(on, age):
                res = _read(session, policy.department, "population", policy.purpose(f"birthday check: turning {age} on {on}"),
                            filters={"birth_date": born}, fields=["person_id"], matter=policy.code, at=at)
                for r in res.records:
                    out.append(evaluate_subject(session, policy, r["subject_id"], trigger=f"birthday:{age}",
                                                event={"age": age}, at=at))
    return out


def on_person_alarm(session: Session, detector: str, persons: Sequence[str], *, alarm: str | None = None,
                    at: datetime | None = None) -> list[dict]:
    """A city alarm about persons (e.g. an elderly person living alone, no water use for 24 h)."""
    at = at or utcnow()
    return [evaluate_subject(session, p, person, trigger=f"alarm:{detector}", event={"detector": detector, "alarm": alarm}, at=at)
            for p in _policies_for("alarm", detector) for person in persons]


def on_area_alarm(session: Session, detector: str, street: str, *, alarm: str | None = None,
                  at: datetime | None = None) -> list[dict]:
    """A city alarm in a street (e.g. water-logging): the subjects registered there are evaluated.
    Persons are found by the population's `street`, companies by their premises' `street`."""
    at = at or utcnow()
    out = []
    for policy in _policies_for("area_alarm", detector):
        dataset, field = ("population", "person_id") if policy.subject == "person" else ("business_premises", "credit_code")
        res = _read(session, policy.department, dataset, policy.purpose(f"affected by {detector} in {street}"),
                    filters={"street": street}, fields=[field], matter=policy.code, at=at)
        for subject in dict.fromkeys(r["subject_id"] for r in res.records if r["subject_id"]):
            out.append(evaluate_subject(session, policy, subject, trigger=f"area_alarm:{detector}",
                                        event={"detector": detector, "street": street, "alarm": alarm}, at=at))
    return out


def _confirm_and_record(session: Session, policy: Policy, subjects: list[str], trigger: str, event: dict[str, Any],
                        at: datetime) -> list[tuple[str, str]]:
    """Those screened in, read again as the policy's own read (one read per dataset for them all,
    recorded per person with the policy as the matter), decided and recorded with their facts."""
    if not subjects:
        return []
    event = {"on": trigger.split(":", 1)[0], **event}
    purpose = policy.purpose(f"eligibility check of {len(subjects)} screened in ({trigger})")
    records, lookups = _gather(session, policy.department, policy.reads() or {policy.registry: None}, subjects,
                               purpose, policy.code, at)
    items = []
    for s in subjects:
        d = evaluate(policy.table, facts_of(policy, records[s], event, at))
        if d.outcome == "approve":
            items.append((s, {"decision": d.as_dict(), "reads": lookups, "event": event, "legal_basis": policy.legal_basis}))
    return _record_many(session, policy, items, trigger, at)


# --- the nightly sweep --------------------------------------------------------------------


def sweep(session: Session, *, at: datetime | None = None, codes: Sequence[str] | None = None,
          progress: Callable[[int], None] | None = None, commit_every: int | None = None) -> dict[str, Any]:
    """Every subject of the registries against every policy: grants and offers the events missed.

    Subjects are paged from the registry (ids only) in batches; per batch one screening read per
    dataset the policies use, by the data bureau's platform; those who qualify and hold no benefit
    of the policy are read again by the policy's department as its own read, decided and recorded.
    `progress(n)` after each batch; `commit_every` batches the caller's session is committed."""
    at = at or utcnow()
    chosen = [p for p in all_policies().values() if codes is None or p.code in codes]
    counts: dict[str, int] = {"subjects": 0, "granted": 0, "offered": 0, "already": 0, "screened_in": 0}
    memos: dict[str, dict[tuple, str]] = {}
    for registry in sorted({p.registry for p in chosen}):
        registry_policies = [p for p in chosen if p.registry == registry]
        screen_reads: dict[str, list[str] | None] = {}
        for p in registry_policies:
            for ds, fields in p.reads().items():
                if ds in screen_reads and (screen_reads[ds] is None or fields is None):
                    screen_reads[ds] = None
                else:
                    screen_reads[ds] = sorted(set(screen_reads.get(ds) or []) | set(fields or []))
        screen_reads = screen_reads or {registry: None}
        # every input path of the registry's policies, looked up once per subject
        paths = sorted({tuple(i.expr.split(".")) for p in registry_policies for i in p.table.inputs})
        where = {p.code: [paths.index(tuple(i.expr.split("."))) for i in p.table.inputs] for p in registry_policies}
        input_names = {p.code: [i.name for i in p.table.inputs] for p in registry_policies}
        screen_purpose = (f"{GRANT_PURPOSE} — 免申即享 benefit without application: nightly screening for "
                          f"{len(registry_policies)} policies ({', '.join(p.code for p in registry_policies)}), each confirmed by its department")
        after: str | None = None
        batches = 0
        while True:
            batch = catalogue.subjects_page(session, registry, after=after, limit=BATCH)
            if not batch:
                break
            after = batch[-1]
            counts["subjects"] += len(batch)
            have = _existing(session, batch, [p.code for p in registry_policies])
            records, _ = _gather(session, SCREENING_DEPARTMENT, screen_reads, batch, screen_purpose, None, at)
            values = {s: [lookup(facts, path) for path in paths]
                      for s in batch for facts in (facts_of(registry_policies[0], records[s], {"on": "sweep"}, at),)}
            for p in registry_policies:
                eligible = []
                memo = memos.setdefault(p.code, {})  # many share their inputs (age, hukou…): decided once
                at_inputs, names, own = where[p.code], input_names[p.code], list(p.reads())
                for s in batch:
                    if (p.code, s) in have or (own and not any(records[s].get(ds) for ds in own)):
                        continue
                    vals = values[s]
                    key = tuple(vals[k] for k in at_inputs)
                    try:
                        outcome = memo.get(key)
                    except TypeError:  # an unhashable input (a list): decided without the memo
                        outcome = decide(p.table, dict(zip(names, key, strict=True))).outcome
                    else:
                        if outcome is None:
                            outcome = memo[key] = decide(p.table, dict(zip(names, key, strict=True))).outcome
                    if outcome == "approve":
                        eligible.append(s)
                counts["screened_in"] += len(eligible)
                made = _confirm_and_record(session, p, eligible, "sweep", {}, at)
                counts[TARGET_OUTCOME[p.mode]] += len(made)
            batches += 1
            if progress:
                progress(len(batch))
            if commit_every and batches % commit_every == 0:
                session.commit()
    audit.append(session, "decision", "system:benefits", "benefit.sweep", "policies", {
        "policies": [p.code for p in chosen], **counts}, at=at)
    return counts


NIGHTLY_HOUR = 2  # local time from which the day's sweep is due
_nightly_done: dict[str, date] = {}


def nightly(session: Session, *, at: datetime | None = None) -> dict[str, Any] | None:
    """What the timer calls every tick: once a local day, from 02:00, the day's birthdays and the
    sweep. Whether today's has run is read from the audit chain (`benefit.sweep`), so a restart
    or a second worker does not run it twice in a row. None when not due."""
    from datetime import time, timedelta

    from twonets.core.calendar import LOCAL_TZ
    from twonets.data.tables import audit_entry

    at = at or utcnow()
    today = local_date(at)
    start = datetime.combine(today, time(NIGHTLY_HOUR), LOCAL_TZ)
    bind = str(session.get_bind().url)
    if at < start or _nightly_done.get(bind) == today:
        return None
    _nightly_done[bind] = today  # one look at the chain per process and day (the scan is not free)
    done = session.execute(select(audit_entry.c.seq).where(
        audit_entry.c.action == "benefit.sweep", audit_entry.c.at >= start, audit_entry.c.at < start + timedelta(days=1),
    ).limit(1)).first()
    if done is not None:
        return None
    birthdays = benefits_of(on_birthdays(session, today, at=at))
    return {"day": today.isoformat(), "birthdays": birthdays, "sweep": sweep(session, at=at)}


def benefits_of(results: list[dict]) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in results:
        out[r["outcome"]] = out.get(r["outcome"], 0) + 1
    return out
