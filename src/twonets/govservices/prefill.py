"""Once-only prefill: when an application starts, every material and form field whose source
is a dataset is filled by the system from that dataset, through the data foundation's access
service (`twonets.data.access.read_records`), which checks the grant and records the purpose,
the matter and the applicant's consent in the audit chain and the subject's access log.
A licence already issued is found the same way, in the `elicences` dataset.

The result is shown to the applicant as "from government data", never uploaded; the rule
facts of a decision are built from it (`facts`).

Minimum necessary: each dataset is read for the fields the matter uses and no others
(`needed_fields`): those its materials and prefilled form fields map, those its decision table
and its licence's claims name (`data.<dataset>.<field>`; `applicant.age` needs the population's
`birth_date`), and for `elicences` the licence id, type and validity. A dataset the matter only
counts (`count.<dataset>`) or tests as a whole (`data.<dataset>`) is read in full.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from twonets.core.calendar import local_date
from twonets.core.errors import Forbidden
from twonets.data import access
from twonets.govservices import rules
from twonets.govservices.models import Matter
from twonets.govservices.registries import GRANT_PURPOSE, ensure_grants, platform_actor

# Each read states the purpose the matters' grants were given for (the access service checks it),
# then its particulars: the application and the consent, or the benefit and its legal basis.
PURPOSE = f"{GRANT_PURPOSE} — 一网通办预填 once-only prefill"
PROACTIVE = f"{GRANT_PURPOSE} — 免申即享 benefit without application"


def consent_text(application_id: str, consent_at: datetime) -> str:
    return f"{PURPOSE}: application {application_id}, applicant consent given {consent_at.isoformat()}"


def proactive_text(matter: Matter) -> str:
    return f"{PROACTIVE}: eligibility check for {matter.code}, legal basis {matter.legal_basis or matter.name_zh}"


LICENCE_FIELDS = ("licence_id", "licence_type", "valid_until")


def needed_fields(matter: Matter) -> dict[str, list[str] | None]:
    """Per dataset the matter reads, the fields it uses (None: the whole record)."""
    wanted = list(matter.datasets) + (["elicences"] if matter.licence_types else [])
    need: dict[str, set[str] | None] = {ds: set() for ds in wanted}

    def add(ds: str, name: str | None) -> None:
        if ds in need and need[ds] is not None:
            if name is None:
                need[ds] = None
            else:
                need[ds].add(name)

    for m in matter.materials:
        if m.source == "dataset" and m.dataset:
            for name in m.fields.values():
                add(m.dataset, name)
    for source in matter.prefill.values():
        add(*source.split(".", 1))
    paths = list(matter.licence.claims.values()) if matter.licence else []
    table = rules.tables().get(matter.rule) if matter.rule else None
    paths += [i.expr for i in table.inputs] if table else []
    for path in paths:
        parts = path.split(".")
        if parts[0] == "data" and len(parts) >= 2:
            add(parts[1], parts[2] if len(parts) > 2 else None)
        elif parts[:2] == ["applicant", "age"]:
            add("population", "birth_date")
    if "elicences" in need:
        for name in LICENCE_FIELDS:
            add("elicences", name)
    return {ds: (sorted(names) if names else None) for ds, names in need.items()}


def gather(session: Session, matter: Matter, applicant_id: str, *, purpose: str, at: datetime) -> dict[str, Any]:
    """Read every dataset the matter names for the applicant, for `purpose` (which names the
    application and the applicant's consent, or the legal basis of a benefit granted without
    application); returns what the application stores: `records` per dataset, prefilled
    `fields` and `materials`, each with its source."""
    actor = platform_actor(matter.department)
    records: dict[str, list[dict[str, Any]]] = {}
    lookups: list[dict[str, Any]] = []
    for ds, names in needed_fields(matter).items():
        try:
            res = access.read_records(
                session, actor, ds, purpose, subject_ids=[applicant_id], fields=names, unmasked=True, matter=matter.code,
                limit=50, at=at,
            )
        except Forbidden:  # the matter's grant has lapsed: renew it (statutory basis), then read
            if not ensure_grants(session, {(matter.department, ds)}, at=at):
                raise
            res = access.read_records(
                session, actor, ds, purpose, subject_ids=[applicant_id], fields=names, unmasked=True, matter=matter.code,
                limit=50, at=at,
            )
        records[ds] = [r["data"] for r in res.records]
        lookups.append({"dataset": ds, "records": len(res.records), "audit_seq": res.audit_seq})
    fields: dict[str, Any] = {}
    for target, source in matter.prefill.items():
        ds, name = source.split(".", 1)
        rows = records.get(ds) or []
        if rows and rows[0].get(name) is not None:
            fields[target] = {"value": rows[0][name], "source": source, "from_government_data": True}
    materials: dict[str, Any] = {}
    for m in matter.materials:
        if m.source == "dataset":
            rows = records.get(m.dataset or "") or []
            materials[m.code] = (
                {"source": "dataset", "dataset": m.dataset, "values": {k: rows[0].get(v) for k, v in m.fields.items()},
                 "from_government_data": True}
                if rows else None
            )
        elif m.source == "licence":
            found = [r for r in records.get("elicences", []) if r.get("licence_type") == m.licence_type
                     and str(r.get("valid_until") or "") >= local_date(at).isoformat()]
            materials[m.code] = (
                {"source": "licence", "licence": found[0]["licence_id"], "licence_type": m.licence_type, "from_government_data": True}
                if found else None
            )
    return {"records": records, "fields": fields, "materials": materials, "lookups": lookups}


def _age(birth: Any, on: date) -> int | None:
    try:
        b = date.fromisoformat(str(birth))
    except ValueError:
        return None
    return on.year - b.year - ((on.month, on.day) < (b.month, b.day))


def facts(
    matter: Matter, applicant_kind: str, prefilled: dict[str, Any], form: dict[str, Any], uploads: dict[str, Any], at: datetime
) -> dict[str, Any]:
    """What a decision table may look at: form, data (first record per dataset), count,
    licences (valid licence id per type), materials (provided or not) and the applicant."""
    records = prefilled.get("records") or {}
    data = {ds: (rows[0] if rows else None) for ds, rows in records.items()}
    count = {ds: len(rows) for ds, rows in records.items()}
    licences: dict[str, Any] = {}
    for m in (prefilled.get("materials") or {}).values():
        if m and m.get("source") == "licence":
            licences[m["licence_type"]] = m["licence"]
    provided = {code: bool(v) for code, v in (prefilled.get("materials") or {}).items()}
    provided.update({code: True for code in uploads})
    applicant: dict[str, Any] = {"kind": applicant_kind}
    person = data.get("population")
    if person:
        applicant["age"] = _age(person.get("birth_date"), local_date(at))
    return {"form": dict(form), "data": data, "count": count, "licences": licences, "materials": provided, "applicant": applicant}
