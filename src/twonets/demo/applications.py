"""Simulated applications for the demo: DAYS of the district hall's life (about 600 a day on
working days, online and at hall windows), each through the real service functions with
its own timestamps — prefill through the access service, rule decisions, review by the
department's reviewers (some after a supplement request), licences, ratings. Reviews of the
last days are left open, so the queues show warnings and overdue flags.

    simulate(session, seed=7, days=7, per_day=600, end=None)

Deterministic for a seed, given the registries seeded with the same seed.
"""

from __future__ import annotations

import base64
import random
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import Session

from twonets.core import calendar
from twonets.core.actor import SYSTEM, Actor
from twonets.core.errors import DomainError
from twonets.data import identity
from twonets.demo.personas import credit_code, person_id
from twonets.govservices import applications, matters, ratings, review

PATTERNS = {
    "^1[3-9][0-9]{9}$": lambda r: f"13{r.randint(0, 999999999):09d}",
    "^[0-9]{12,19}$": lambda r: f"6222{r.randint(0, 10**12 - 1):012d}",
    "^[0-9]{17}[0-9X]$": lambda r: f"31010119{r.randint(60, 99)}0101{r.randint(100, 999)}X",
}
TEXT = ("南京东路100号", "福州路28号", "淮海中路300号", "豫园路1号", "说明材料")


class _NotApplied(Exception):
    """Rolls back a simulated application its applicant would not have made."""


def example(schema: dict[str, Any], rng: random.Random) -> Any:
    """A value that satisfies the (simple) JSON Schemas of the matters' forms."""
    kind = schema.get("type")
    if "enum" in schema:
        return rng.choice(schema["enum"])
    if kind == "object":
        props = schema.get("properties", {})
        return {k: example(v, rng) for k, v in props.items() if k in schema.get("required", []) or rng.random() < 0.5}
    if kind == "string":
        if schema.get("pattern") in PATTERNS:
            return PATTERNS[schema["pattern"]](rng)
        return rng.choice(TEXT)
    if kind in ("number", "integer"):
        lo = schema.get("minimum", schema.get("exclusiveMinimum", 0))
        hi = schema.get("maximum", lo + 200)
        value = rng.randint(int(lo) + 1, max(int(lo) + 1, int(hi)))
        return value if kind == "integer" else float(value)
    if kind == "array":
        return [example(schema.get("items", {"type": "string"}), rng)]
    if kind == "boolean":
        return rng.random() < 0.5
    return None


def _local(day: date, rng: random.Random) -> datetime:
    minutes = rng.randint(9 * 60, 17 * 60 + 50)
    return datetime.combine(day, time(minutes // 60, minutes % 60), calendar.LOCAL_TZ).astimezone(UTC)


def simulate(
    session: Session, seed: int = 7, days: int = 7, per_day: int = 600, *, persons: int = 30_000, companies: int = 3_000,
    end: datetime | None = None,
) -> dict[str, int]:
    rng = random.Random(seed * 7919 + days)
    end = end or calendar.utcnow()
    last = calendar.local_date(end) - timedelta(days=1)
    # only written-out matters take applications (imported ones are listed, not yet open)
    catalogue = [m for m in matters.written_out() if m.subject == "person"]
    company = [m for m in matters.written_out() if m.subject == "company"]
    windows = [Actor(f"window-{n:02d}", frozenset({"department_handler"}), department="shuju") for n in range(1, 9)]
    online: dict[str, Actor] = {}
    counts = {"applications": 0, "not_applied": 0, "refused": 0, "reviewed": 0, "rated": 0}

    def citizen(person: str) -> Actor:
        if person not in online:
            existing = identity.user_by_username(session, f"citizen.{person.lower()}")
            user = existing or identity.create_user(session, SYSTEM, username=f"citizen.{person.lower()}", password=None, roles=["citizen"], subject_id=person)
            online[person] = user.actor()
        return online[person]

    for offset in range(days - 1, -1, -1):
        day = last - timedelta(days=offset)
        n = int(per_day * rng.uniform(0.9, 1.1)) if calendar.is_workday(day) else int(per_day * 0.1)
        made = attempts = 0
        while made < n and attempts < 3 * n:
            attempts += 1
            at = _local(day, rng)
            is_company = rng.random() < 0.2
            matter = rng.choice(company if is_company else catalogue)
            if is_company:
                i = rng.randint(0, companies)
                applicant = credit_code(i)
            else:
                applicant = person_id(rng.randint(1, persons))
            hall = matter.channels == "hall" or (matter.channels == "both" and rng.random() < 0.45) or is_company
            if matter.channels == "online":
                hall = False
                if is_company:
                    continue
            actor = rng.choice(windows) if hall else citizen(applicant)
            try:
                with session.begin_nested():
                    app = applications.start(session, actor, matter.code, applicant_id=applicant if hall else None, consent=True,
                                             form=example(matter.form, rng), at=at)
                    for m in matter.materials:
                        if m.source == "upload":
                            app = applications.upload(session, actor, app.id, m.code, filename=f"{m.code}.pdf",
                                                      content_base64=base64.b64encode(rng.randbytes(64)).decode(), at=at)
                    app = applications.submit(session, actor, app.id, at=at)
                    if app.state.state == "rejected" and rng.random() < 0.85:
                        raise _NotApplied  # most people apply only when they qualify
                    counts["applications"] += 1
                    made += 1
                    reviewed = app.state.state == "in_review"
                    app = _review(session, app, matter, actor, rng, end)
                    counts["reviewed"] += reviewed and app.state.state != "in_review"
                    if app.state.state in ("approved", "rejected", "licence_issued") and rng.random() < 0.7:
                        level = rng.choices((5, 4, 3, 2, 1), (70, 20, 6, 3, 1))[0]
                        ratings.rate(session, actor, app.id, level=level, comment="等候时间较长" if level <= 2 else None,
                                     at=app.state.finished_at + timedelta(minutes=rng.randint(1, 600)))
                        counts["rated"] += 1
            except _NotApplied:
                counts["not_applied"] += 1
            except DomainError:
                counts["refused"] += 1
    return counts


def _review(session: Session, app, matter, actor: Actor, rng: random.Random, end: datetime):
    if app.state.state != "in_review":
        return app
    reviewer = Actor(f"reviewer.{matter.department}", frozenset({"reviewer"}), department=matter.department)
    submitted = app.state.submitted_at
    spend = calendar.add("working_days", submitted, rng.uniform(0.2, 1.15) * max(matter.promised_days, 1) * calendar.DAY)
    if spend >= end:
        return app  # still in the queue
    counts_supplement = rng.random() < 0.06
    if counts_supplement:
        asked = calendar.add("working_days", submitted, 0.3 * calendar.DAY)
        app = review.request_supplement(session, reviewer, app.id, reason="材料不清晰，请补正", at=asked)
        answered = asked + timedelta(days=rng.randint(1, 6))
        if answered >= end:
            return app
        app = applications.supplement(session, actor, app.id, at=answered)
        spend = max(spend, answered + timedelta(hours=2))
        if spend >= end:
            return app
    approve = rng.random() < 0.9
    return review.review(session, reviewer, app.id, approve=approve, reason="符合条件" if approve else "材料与登记信息不一致", at=spend)
