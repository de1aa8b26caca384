"""Who reads which entries of the audit log.

- An administrator reads every entry (and alone verifies the chain and signs checkpoints).
- A data officer reads the `access` entries of the datasets their department owns: every read,
  unmasked read and refused read of that data (`read`, `read.unmasked`, `read.refused`), by
  whichever department. The owner department grants its data and answers for its use, so it
  must see how the grants are used. Logins (`auth`), administrative actions and the use of
  other departments' data are not theirs to read.
"""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.core.actor import Actor
from twonets.core.errors import Forbidden
from twonets.core.i18n import Msg
from twonets.data.audit import Entry
from twonets.data.tables import audit_entry, data_dataset


def entries_for(
    session: Session, actor: Actor, *, kind: str | None = None, actor_id: str | None = None,
    subject: str | None = None, before: int | None = None, limit: int = 50,
) -> list[Entry]:
    """Newest first, the entries `actor` may read (see the module); `before` pages down by seq."""
    stmt = select(audit_entry).order_by(audit_entry.c.seq.desc()).limit(limit)
    if not actor.has("administrator", "system"):
        if not actor.has("data_officer") or not actor.department:
            raise Forbidden(Msg("the audit log is read by administrators, and by data officers for their department's data"))
        if kind not in (None, "access"):
            return []
        owned = select(data_dataset.c.code).where(data_dataset.c.owner_department == actor.department)
        stmt = stmt.where(audit_entry.c.kind == "access", audit_entry.c.subject.in_(owned.scalar_subquery()))
    if kind:
        stmt = stmt.where(audit_entry.c.kind == kind)
    if actor_id:
        stmt = stmt.where(audit_entry.c.actor == actor_id)
    if subject:
        stmt = stmt.where(audit_entry.c.subject == subject)
    if before is not None:
        stmt = stmt.where(audit_entry.c.seq < before)
    return [Entry(r.seq, r.at, r.kind, r.actor, r.action, r.subject, json.loads(r.data), r.prev_hash, r.hash)
            for r in session.execute(stmt)]
