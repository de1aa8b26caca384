"""Sharing by request and the access service: grant checks, field minimisation, masking, records."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from tests.unit.data.support import (
    ADMIN,
    GONGAN_OFFICER,
    MINZHENG_HANDLER,
    MINZHENG_OFFICER,
    actor,
    grant,
    seed,
)
from twonets.core.calendar import utcnow
from twonets.core.db import session_factory
from twonets.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from twonets.data import access, audit, sharing
from twonets.data.tables import audit_entry, data_access, data_grant

PURPOSE = "subsidy eligibility check"


def _read(engine, who=MINZHENG_HANDLER, **kw):
    with session_factory(engine)() as s:
        kw.setdefault("subject_ids", ["P1"])
        out = access.read_records(s, who, kw.pop("dataset", "population"), kw.pop("purpose", PURPOSE), **kw)
        s.commit()
        return out


def test_without_a_grant_a_read_is_forbidden(engine):
    seed(engine)
    with pytest.raises(Forbidden, match="no active grant"):
        _read(engine)


def test_granted_read_is_masked_minimised_and_recorded(engine):
    seed(engine)
    req = grant(engine, fields=["person_id", "name", "id_number", "phone"])
    assert req.status == "approved" and req.grant_id
    out = _read(engine, matter="MT-LOWINCOME-001")
    assert out.fields == ["person_id", "name", "id_number", "phone"]
    assert out.records == [
        {"key": "P1", "subject_id": "P1", "data": {"person_id": "P1", "name": "张**", "id_number": "3101**********1234", "phone": "138****5678"}}
    ]
    assert set(out.masked_fields) == {"name", "id_number", "phone"}
    with session_factory(engine)() as s:
        entry = s.execute(select(audit_entry).where(audit_entry.c.seq == out.audit_seq)).one()
        logged = s.execute(select(data_access)).all()
        assert audit.verify(s).ok
    data = json.loads(entry.data)
    assert (entry.kind, entry.action, entry.subject) == ("access", "read", "population")
    assert data["purpose"] == PURPOSE and data["matter"] == "MT-LOWINCOME-001" and data["subjects"] == ["P1"]
    assert data["department"] == "minzheng" and data["grants"] == [req.grant_id]
    assert "张三丰" not in entry.data and "310101199001011234" not in entry.data  # no personal data in the log
    assert [(r.subject_id, r.department, r.matter) for r in logged] == [("P1", "minzheng", "MT-LOWINCOME-001")]


def test_fields_outside_the_grant_are_refused(engine):
    seed(engine)
    grant(engine, fields=["person_id", "name"])
    with pytest.raises(Forbidden, match="phone"):
        _read(engine, fields=["name", "phone"])
    with pytest.raises(Forbidden, match="street"):
        _read(engine, subject_ids=None, filters={"street": "waitan"})  # cannot filter on ungranted fields
    with pytest.raises(InvalidInput):
        _read(engine, fields=["shoe_size"])


def test_unmasked_read_needs_an_unmasked_grant(engine):
    seed(engine)
    grant(engine, fields=["person_id", "id_number"])
    with pytest.raises(Forbidden, match="unmasked"):
        _read(engine, unmasked=True)
    grant(engine, fields=["person_id", "id_number"], unmasked=True)
    out = _read(engine, unmasked=True)
    assert out.records[0]["data"]["id_number"] == "310101199001011234" and out.masked_fields == []
    with session_factory(engine)() as s:
        assert audit.list_entries(s, kind="access")[0].action == "read.unmasked"


def test_owner_reads_its_own_data_without_grant_and_it_is_still_recorded(engine):
    seed(engine)
    out = _read(engine, who=GONGAN_OFFICER, subject_ids=["P1", "P2"], fields=["name"])
    assert [r["data"]["name"] for r in out.records] == ["张**", "李*"]
    with session_factory(engine)() as s:
        assert access.count_accesses(s, "P2") == 1


def test_filters_select_records(engine):
    seed(engine)
    grant(engine, fields=["person_id", "street", "name"])
    out = _read(engine, subject_ids=None, filters={"street": "waitan"})
    assert [r["key"] for r in out.records] == ["P2"]


def test_reads_need_purpose_subjects_and_staff(engine):
    seed(engine)
    grant(engine)
    with pytest.raises(InvalidInput):
        _read(engine, purpose="")
    with pytest.raises(InvalidInput):
        _read(engine, subject_ids=[])
    with pytest.raises(Forbidden):
        _read(engine, who=actor("citizen", None))
    with pytest.raises(Forbidden):
        _read(engine, who=ADMIN)
    with pytest.raises(NotFound):
        _read(engine, dataset="nope")


def test_expired_and_revoked_grants_stop_reads(engine):
    seed(engine)
    req = grant(engine, fields=["person_id"])
    assert _read(engine).records
    with session_factory(engine)() as s:
        s.execute(update(data_grant).values(expires_at=utcnow() - timedelta(seconds=1)))
        s.commit()
    with pytest.raises(Forbidden):
        _read(engine)
    with session_factory(engine)() as s:
        s.execute(update(data_grant).values(expires_at=utcnow() + timedelta(days=1)))
        with pytest.raises(Forbidden):
            sharing.revoke_grant(s, MINZHENG_OFFICER, req.grant_id, reason="not yours")
        with pytest.raises(InvalidInput):
            sharing.revoke_grant(s, GONGAN_OFFICER, req.grant_id, reason=" ")
        g = sharing.revoke_grant(s, GONGAN_OFFICER, req.grant_id, reason="purpose fulfilled")
        assert g.revoked_at is not None and not g.active(utcnow())
        with pytest.raises(Conflict):
            sharing.revoke_grant(s, GONGAN_OFFICER, req.grant_id, reason="again")
        s.commit()
    with pytest.raises(Forbidden):
        _read(engine)


def test_request_rules(engine):
    seed(engine)
    until = utcnow() + timedelta(days=30)
    with session_factory(engine)() as s:
        with pytest.raises(Conflict, match="not shared"):
            sharing.request_share(s, MINZHENG_HANDLER, "applications", purpose=PURPOSE, valid_until=until)
        with pytest.raises(Conflict, match="owns"):
            sharing.request_share(s, GONGAN_OFFICER, "population", purpose=PURPOSE, valid_until=until)
        with pytest.raises(InvalidInput):
            sharing.request_share(s, MINZHENG_HANDLER, "population", purpose=PURPOSE, valid_until=utcnow() - timedelta(days=1))
        with pytest.raises(InvalidInput):
            sharing.request_share(s, MINZHENG_HANDLER, "population", purpose=PURPOSE, valid_until=utcnow() + timedelta(days=400))
        with pytest.raises(InvalidInput):
            sharing.request_share(s, MINZHENG_HANDLER, "population", purpose="x", valid_until=until)
        with pytest.raises(InvalidInput):
            sharing.request_share(s, MINZHENG_HANDLER, "population", purpose=PURPOSE, valid_until=until, fields=["nope"])
        with pytest.raises(Forbidden):
            sharing.request_share(s, actor("citizen"), "population", purpose=PURPOSE, valid_until=until)
        with pytest.raises(NotFound):
            sharing.request_share(s, MINZHENG_HANDLER, "nope", purpose=PURPOSE, valid_until=until)
        # unconditional: granted at once (masked); asking for unmasked waits for the owner
        auto = sharing.request_share(s, MINZHENG_HANDLER, "legal_persons", purpose=PURPOSE, valid_until=until)
        assert auto.status == "approved" and auto.decided_by == "system" and auto.grant_id
        waits = sharing.request_share(s, MINZHENG_HANDLER, "legal_persons", purpose=PURPOSE, valid_until=until, unmasked=True)
        assert waits.status == "pending"


def test_decisions(engine):
    seed(engine)
    until = utcnow() + timedelta(days=30)
    with session_factory(engine)() as s:
        req = sharing.request_share(s, MINZHENG_HANDLER, "population", purpose=PURPOSE, valid_until=until, fields=["name"])
        assert req.status == "pending" and req.fields == ["name"]
        # the requester cannot approve its own request; other departments cannot even see it
        with pytest.raises(Forbidden):
            sharing.decide(s, MINZHENG_OFFICER, req.id, approve=True)
        with pytest.raises(NotFound):
            sharing.decide(s, actor("data_officer", "shichang"), req.id, approve=True)
        with pytest.raises(InvalidInput):
            sharing.decide(s, GONGAN_OFFICER, req.id, approve=False, reason="")
        refused = sharing.decide(s, GONGAN_OFFICER, req.id, approve=False, reason="not necessary for the purpose")
        assert refused.status == "refused" and refused.reason == "not necessary for the purpose" and refused.grant_id is None
        with pytest.raises(Conflict):
            sharing.decide(s, GONGAN_OFFICER, req.id, approve=True)
        other = sharing.request_share(s, MINZHENG_HANDLER, "population", purpose=PURPOSE, valid_until=until)
        assert sharing.withdraw(s, MINZHENG_HANDLER, other.id).status == "withdrawn"
        mine, _ = sharing.list_requests(s, MINZHENG_HANDLER, direction="outgoing")
        theirs, _ = sharing.list_requests(s, GONGAN_OFFICER, direction="incoming")
        none, _ = sharing.list_requests(s, actor("data_officer", "shichang"))
        assert {r.id for r in mine} == {r.id for r in theirs} == {req.id, other.id}
        assert none == []
        actions = [e.action for e in audit.list_entries(s, kind="decision", limit=10)]
        assert actions[:3] == ["share.withdraw", "share.request", "share.refuse"]


def test_who_used_my_data(engine):
    seed(engine)
    grant(engine, fields=["person_id", "name"])
    _read(engine, matter="MT-1")
    _read(engine, who=GONGAN_OFFICER, subject_ids=["P1", "P2"], purpose="registry maintenance")
    with session_factory(engine)() as s:
        mine, nxt = access.my_accesses(s, None, subject_id="P1")
        p2, _ = access.my_accesses(s, None, subject_id="P2")
        page, cursor = access.my_accesses(s, None, subject_id="P1", limit=1)
        rest, _ = access.my_accesses(s, None, subject_id="P1", limit=1, cursor=cursor)
        with pytest.raises(Forbidden):
            access.my_accesses(s, None, subject_id=None)
    assert [(a["department"], a["purpose"], a["matter"]) for a in mine] == [
        ("gongan", "registry maintenance", None),
        ("minzheng", PURPOSE, "MT-1"),
    ]
    assert nxt is None and len(p2) == 1
    assert page[0]["department"] == "gongan" and rest[0]["department"] == "minzheng"


def test_every_read_adds_exactly_one_audit_entry(engine):
    seed(engine)
    grant(engine)
    with session_factory(engine)() as s:
        before = s.execute(select(func.count()).select_from(audit_entry)).scalar_one()
    for _ in range(3):
        _read(engine)
    with session_factory(engine)() as s:
        after = s.execute(select(func.count()).select_from(audit_entry)).scalar_one()
    assert after - before == 3


def test_a_registered_source_serves_a_dataset(engine):
    seed(engine)
    calls = []

    def orders_source(session, ds, subject_ids, filters, limit):
        calls.append((ds.code, tuple(subject_ids or ()), limit))
        return [access.SourceRecord("WO-1", "P1", {"order_id": "WO-1", "reporter_phone": "13812345678", "category": "litter"})]

    from twonets.data import sources

    previous = sources.source_of("work_orders")
    access.register_source("work_orders", orders_source)
    try:
        out = _read(engine, who=actor("dispatcher", "dispatch"), dataset="work_orders", fields=["order_id", "reporter_phone"])
    finally:  # leave the source the composition root registered
        if previous is None:
            sources._sources.pop("work_orders", None)
        else:
            sources.register_source("work_orders", previous)
    assert calls == [("work_orders", ("P1",), 100)]
    assert out.records[0]["data"] == {"order_id": "WO-1", "reporter_phone": "138****5678"}
