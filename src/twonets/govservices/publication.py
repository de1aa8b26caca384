"""What the issuers publish so that any verifier can check a licence without twonets' code:
DID documents with the e-seal keys (`did`), the departments' Bitstring Status Lists
(`statuslist`, one bit per licence, set when it is revoked, sealed by the department), and the
twonets JSON-LD context (`credentials.context_document`).
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.core.calendar import utcnow
from twonets.core.errors import NotFound
from twonets.core.i18n import Msg
from twonets.govservices import did, eseal, statuslist
from twonets.govservices.credentials import iso, public_url, sign
from twonets.govservices.tables import svc_licence


def _known(department: str) -> None:
    from twonets.data.departments import departments

    if department not in departments():
        raise NotFound(Msg("no department {department!r}", department=department))


def department_document(session: Session, department: str) -> dict[str, Any]:
    """The department's DID document: every e-seal key it has held, as Multikey."""
    _known(department)
    keys = [(k.key_id, base64.b64decode(k.public_key)) for k in eseal.all_keys(session, department)]
    return did.document(did.department_did(department), keys)


def platform_document() -> dict[str, Any]:
    """The platform's DID document (the system key of the data foundation)."""
    from twonets.data.keys import system_key

    key = system_key()
    return did.document(did.platform_did(), [(key.key_id, key.public_raw())])


def status_list(session: Session, department: str, number: int, *, at: datetime | None = None) -> dict[str, Any]:
    """List `number` of the department's revocation status, sealed now by its current e-seal."""
    _known(department)
    if number < 0:
        raise NotFound(Msg("no such status list"))
    at = at or utcnow()
    low, high = number * statuslist.LIST_BITS, (number + 1) * statuslist.LIST_BITS
    rows = session.execute(
        select(svc_licence.c.id).where(
            svc_licence.c.department == department, svc_licence.c.revoked_at.is_not(None), svc_licence.c.revoked_at <= at,
            svc_licence.c.id >= low, svc_licence.c.id < high,
        )
    )
    url = statuslist.list_url(public_url(), department, number)
    doc = statuslist.list_credential(url=url, issuer=did.department_did(department), valid_from=iso(at),
                                     bits_set=[r.id - low for r in rows])
    key, private = eseal.signing_key(session, department, at=at)
    return sign(doc, key, private, at)
