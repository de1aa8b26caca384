"""Decisions by rule: every version of every decision table is kept (`svc_rule_version`), a
decision stores the table version and every input it used, and `replay` applies that very
version to those inputs again — a finished application's decision replays to the same result.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session

from twonets.core.calendar import utcnow
from twonets.core.errors import NotFound
from twonets.core.i18n import Msg
from twonets.govservices import rules
from twonets.govservices.tables import svc_rule_version

_EXISTS = select(svc_rule_version.c.id).where(
    svc_rule_version.c.rule_id == bindparam("rule_id"), svc_rule_version.c.version == bindparam("version"),
    svc_rule_version.c.digest == bindparam("digest"),
)
_tables: dict[tuple[str, str, int, str], rules.Table] = {}


def ensure_version(session: Session, table: rules.Table, *, at: datetime | None = None) -> None:
    """Store this version of the table if the database does not hold it yet."""
    exists = session.execute(_EXISTS, {"rule_id": table.id, "version": table.version, "digest": table.digest}).first()
    if exists is None:
        session.execute(
            insert(svc_rule_version).values(
                rule_id=table.id, version=table.version, digest=table.digest,
                definition=table.model_dump(mode="json"), created_at=at or utcnow(),
            )
        )


def sync_rules(session: Session, *, at: datetime | None = None) -> int:
    tables = rules.tables()
    for t in tables.values():
        ensure_version(session, t, at=at)
    return len(tables)


def table_version(session: Session, rule_id: str, version: int, digest: str) -> rules.Table:
    key = (str(session.get_bind().url), rule_id, version, digest)
    hit = _tables.get(key)
    if hit is not None:
        return hit
    row = session.execute(
        select(svc_rule_version.c.definition).where(
            svc_rule_version.c.rule_id == rule_id, svc_rule_version.c.version == version, svc_rule_version.c.digest == digest
        )
    ).first()
    if row is None:
        raise NotFound(Msg("decision table {rule_id} version {version} ({digest}) is not stored", rule_id=rule_id, version=version, digest=digest[:12]))
    table = rules.table_from_json(row.definition)
    _tables[key] = table
    return table


def decide(session: Session, rule_id: str, facts: dict[str, Any], *, at: datetime | None = None) -> rules.Decision:
    table = rules.tables()[rule_id]
    ensure_version(session, table, at=at)
    return rules.evaluate(table, facts)


def replay(session: Session, stored: dict[str, Any]) -> dict[str, Any]:
    """Apply the stored table version to the stored inputs; say whether the result agrees."""
    table = table_version(session, stored["table"], int(stored["version"]), stored["digest"])
    again = rules.decide(table, dict(stored.get("inputs") or {}))
    same = (again.outcome, again.row, again.reason_en) == (stored.get("outcome"), stored.get("row"), stored.get("reason_en"))
    return {"same": same, "stored": stored, "replayed": again.as_dict()}
