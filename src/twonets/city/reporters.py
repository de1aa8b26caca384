"""Reporters' contact details in full, for calling them back: only through the data foundation's
access service, which checks the grant, records the purpose and writes the audit chain.

Work orders are the catalogue dataset `work_orders` (owned by the dispatch desk); this module
serves its records from the order tables and offers the one read the callback desk needs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy.orm import Session

from twonets.city import order_repository as repo
from twonets.city import scope
from twonets.city.models import ReporterView
from twonets.core.actor import Actor
from twonets.core.errors import NotFound
from twonets.core.i18n import Msg
from twonets.data import access
from twonets.data.models import Dataset

DATASET = "work_orders"


def records(session: Session, ds: Dataset, subject_ids: Sequence[str] | None,
            filters: Mapping[str, str] | None, limit: int) -> list[access.SourceRecord]:
    """Records of `work_orders`: one per order, its subject being the order itself."""
    return [access.SourceRecord(r["order_id"], r["order_id"], r)
            for r in repo.dataset_rows(session, subject_ids, filters, limit)]


def last_updated(session: Session):
    """The latest change of any order: the dataset's freshness."""
    return repo.last_change(session)


def reporter_contact(session: Session, actor: Actor, public_id: str, purpose: str) -> tuple[ReporterView, int]:
    """The reporter of an order, unmasked, for `purpose` (e.g. the callback). Returns the contact
    and the audit entry that records the read. Needs sight of the order, and the dispatch desk's
    ownership of the dataset or a grant that allows unmasked reads."""
    state = repo.state_of(repo.load(session, public_id))
    if not scope.sees(actor, state):
        raise NotFound(Msg("No work order {public_id}.", public_id=public_id))
    if state.reporter_id is None:
        raise NotFound(Msg("Work order {public_id} has no reporter on record.", public_id=public_id))
    result = access.read_records(session, actor, DATASET, purpose, subject_ids=[public_id],
                                 fields=["order_id", "reporter_name", "reporter_phone"], unmasked=True)
    data = result.records[0]["data"]
    return ReporterView(name=data["reporter_name"], phone=data["reporter_phone"]), result.audit_seq
