"""The services' definitions into their tables, one idempotent call for every start.

    sync_definitions(session) -> {"datasets": n, "matters": {...}, "rules": n}

loads the base-registry datasets (`definitions/registries.yaml`) into the data catalogue, the
written-out matters (`definitions/matters/*.yaml`) into `svc_matter` and every decision table
(`definitions/rules.yaml`) into `svc_rule_version`, so that a database made by
`twonets db upgrade` alone serves the catalogue and decides instant applications. Imported
matters (`matter_list.py`) are left as they are. Grants are not definitions: prefill asks for a
missing one when an application first reads a dataset (`prefill.gather`); `grant_all` makes
them all at once (the demo does, to start with every grant in place).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from twonets.core.calendar import utcnow
from twonets.govservices import decisions, matters, registries


def sync_definitions(session: Session, *, at: datetime | None = None) -> dict[str, Any]:
    """Datasets, written-out matters and rule versions from the definitions (idempotent)."""
    at = at or utcnow()
    return {
        "datasets": registries.ensure_datasets(session, at=at),
        "matters": matters.sync(session, at=at),
        "rules": decisions.sync_rules(session, at=at),
    }


def needed_grants() -> set[tuple[str, str]]:
    """Every (department, dataset) a written-out matter reads (imported matters read none)."""
    pairs: set[tuple[str, str]] = set()
    for m in matters.written_out():
        for ds in m.datasets:
            pairs.add((m.department, ds))
        if m.licence_types:
            pairs.add((m.department, "elicences"))
    return pairs


def grant_all(session: Session, *, at: datetime | None = None) -> int:
    """The grants of `needed_grants()`, made or renewed; returns how many were made."""
    return registries.ensure_grants(session, needed_grants(), at=at)
