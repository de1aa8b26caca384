"""Reporters' contact details in full, for calling them back: only through the data foundation's
access service, which checks the grant, records the purpose and writes the audit chain.

Work orders are the catalogue dataset `work_orders` (owned by the dispatch desk); this module
serves its records from the order tables and offers the one read the callback desk needs.
"""

from __future__ import annotations

from typing import Mapping, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from twonets.city import scope, store
from twonets.city.models import ReporterView
from twonets.city.tables import reporter, work_order
from twonets.core.actor import Actor
from twonets.core.errors import NotFound
from twonets.data import access
from twonets.data.models import Dataset

DATASET = "work_orders"
# catalogue field → column (the order's street code is the `street` field)
_COLUMNS = {"order_id": work_order.c.public_id, "source": work_order.c.source, "category": work_order.c.category,
            "street": work_order.c.street_code, "state": work_order.c.status,
            "reporter_name": reporter.c.name, "reporter_phone": reporter.c.phone}


def records(session: Session, ds: Dataset, subject_ids: Sequence[str] | None,
            filters: Mapping[str, str] | None, limit: int) -> list[access.SourceRecord]:
    """Records of `work_orders`: one per order, its subject being the order itself."""
    q = select(*[c.label(name) for name, c in _COLUMNS.items()]).select_from(
        work_order.outerjoin(reporter, reporter.c.id == work_order.c.reporter_id))
    if subject_ids:
        q = q.where(work_order.c.public_id.in_(list(subject_ids)))
    for name, value in (filters or {}).items():
        q = q.where(_COLUMNS[name] == str(value))
    rows = session.execute(q.order_by(work_order.c.id.desc()).limit(limit)).all()
    return [access.SourceRecord(r.order_id, r.order_id, dict(r._mapping)) for r in rows]


def last_updated(session: Session):
    """The latest change of any order: the dataset's freshness."""
    return session.execute(select(func.max(work_order.c.updated_at))).scalar()


def reporter_contact(session: Session, actor: Actor, public_id: str, purpose: str) -> tuple[ReporterView, int]:
    """The reporter of an order, unmasked, for `purpose` (e.g. the callback). Returns the contact
    and the audit entry that records the read. Needs sight of the order, and the dispatch desk's
    ownership of the dataset or a grant that allows unmasked reads."""
    state = store.state_of(store.load(session, public_id))
    if not scope.sees(actor, state):
        raise NotFound(f"No work order {public_id}.")
    if state.reporter_id is None:
        raise NotFound(f"Work order {public_id} has no reporter on record.")
    result = access.read_records(session, actor, DATASET, purpose, subject_ids=[public_id],
                                 fields=["order_id", "reporter_name", "reporter_phone"], unmasked=True)
    data = result.records[0]["data"]
    return ReporterView(name=data["reporter_name"], phone=data["reporter_phone"]), result.audit_seq
