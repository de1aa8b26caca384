"""Base registries (基础库) as catalogue datasets, and the grants the matters need to read them.

The data foundation's catalogue already holds `population` (public security), `legal_persons`
(market supervision) and `elicences` (big data centre); the others (households, marriage,
births, property, social insurance, provident fund, tax, disability, education, vehicles) are
added from `definitions/registries.yaml` through `twonets.data.catalogue.create`. Each is owned
by its department; a matter's department reads it under a grant (unmasked: the applicant sees
their own data), asked for with `twonets.data.sharing` and approved by the system.

`elicences` is served from the licences this package issues (`licence_records`, registered by `twonets.bootstrap`), so a licence
used as a material is read through the access service like any other dataset.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from twonets.core import definitions
from twonets.core.actor import SYSTEM, Actor
from twonets.core.calendar import utcnow
from twonets.data import access, catalogue, sharing
from twonets.data.models import Dataset, DatasetSpec
from twonets.data.tables import data_dataset, data_grant
from twonets.govservices.licences import registry_records
from twonets.govservices.tables import svc_application, svc_application_event, svc_licence

REGISTRIES_FILE = Path(__file__).with_name("definitions") / "registries.yaml"
FOUNDATION = ("population", "legal_persons", "elicences")
GRANT_PURPOSE = "一网通办预填与秒批核验 prefill and eligibility checks of applications (once-only)"


class _RegistryFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    datasets: list[DatasetSpec]


@lru_cache(maxsize=1)
def specs() -> tuple[DatasetSpec, ...]:
    return tuple(definitions.load(REGISTRIES_FILE, _RegistryFile).datasets)


def dataset_codes() -> set[str]:
    return set(FOUNDATION) | {s.code for s in specs()}


def ensure_datasets(session: Session, *, at: datetime | None = None) -> int:
    """The catalogue entries of the base registries (the foundation's own ones first)."""
    have = set(session.execute(select(data_dataset.c.code)).scalars())
    if not set(FOUNDATION) <= have:
        catalogue.sync_definitions(session, at=at)
    created = 0
    for spec in specs():
        if spec.code not in have:
            catalogue.create(session, SYSTEM, spec, at=at)
            created += 1
    return created


def platform_actor(department: str) -> Actor:
    """The services platform acting for a department: reads shared data for its matters."""
    return Actor(id=f"services:{department}", roles=frozenset({"system", "department_handler"}), department=department)


def ensure_grants(session: Session, pairs: set[tuple[str, str]], *, at: datetime | None = None) -> int:
    """Grants for these (department, dataset) pairs (`catalogue.needed_grants()` lists those
    of the written-out matters), valid half a year either side of `at`. Returns how many
    were made."""
    at = at or utcnow()
    owners = {c: o for c, o in session.execute(select(data_dataset.c.code, data_dataset.c.owner_department))}
    active = {
        (dept, code)
        for dept, code in session.execute(
            select(data_grant.c.department, data_dataset.c.code)
            .join(data_dataset, data_dataset.c.id == data_grant.c.dataset_id)
            .where(and_(data_grant.c.revoked_at.is_(None), data_grant.c.valid_from <= at, data_grant.c.expires_at > at + timedelta(days=30)))
        )
    }
    made = 0
    for dept, code in sorted(pairs):
        if owners.get(code) in (None, dept) or (dept, code) in active:
            continue
        req = sharing.request_share(
            session, platform_actor(dept), code, purpose=GRANT_PURPOSE,
            valid_from=at - timedelta(days=180), valid_until=at + timedelta(days=180), unmasked=True, at=at,
        )
        if req.status == "pending":
            sharing.decide(session, SYSTEM, req.id, approve=True, reason="一网通办 once-only prefill, statutory basis", at=at)
        made += 1
    return made


# --- elicences served from issued licences ------------------------------------------------


def licence_records(
    session: Session, ds: Dataset, subject_ids: Sequence[str] | None, filters: Mapping[str, str] | None, limit: int
) -> list[access.SourceRecord]:
    return registry_records(session, subject_ids, filters, limit)


def licences_updated(session: Session):
    """The latest licence issued or revoked: the freshness of `elicences`."""
    issued = session.execute(select(func.max(svc_licence.c.issued_at))).scalar()
    revoked = session.execute(select(func.max(svc_licence.c.revoked_at))).scalar()
    return max((t for t in (issued, revoked) if t is not None), default=None)


def applications_updated(session: Session):
    """The latest change of any application: the freshness of `applications`."""
    return session.execute(select(func.max(svc_application_event.c.at))).scalar()


def application_records(
    session: Session, ds: Dataset, subject_ids: Sequence[str] | None, filters: Mapping[str, str] | None, limit: int
) -> list[access.SourceRecord]:
    """The `applications` dataset (办件), served from the services' own table."""
    A = svc_application
    stmt = select(A.c.public_id, A.c.applicant_id, A.c.matter, A.c.state, A.c.prefill).order_by(A.c.id).limit(limit)
    if subject_ids:
        stmt = stmt.where(A.c.applicant_id.in_(list(subject_ids)))
    for name, value in (filters or {}).items():
        column = {"application_id": A.c.public_id, "matter": A.c.matter, "state": A.c.state}.get(name)
        if column is None:
            return []
        stmt = stmt.where(column == str(value))
    out = []
    for r in session.execute(stmt):
        person = ((r.prefill or {}).get("records") or {}).get("population") or [{}]
        out.append(access.SourceRecord(r.public_id, r.applicant_id, {
            "application_id": r.public_id, "matter": r.matter, "state": r.state,
            "applicant_name": person[0].get("name"), "applicant_id_number": person[0].get("id_number"),
        }))
    return out

