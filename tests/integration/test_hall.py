"""The service hall's window in the service layer: queue numbers, identifying the person by ID
number or by the signed code of their QR (audited reads), applying on their behalf, and the
day's figures; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.unit.data.support import data_env  # noqa: F401
from tests.unit.govservices.support import citizen, local, pid, seeded, staff
from twonets.core.db import session_factory
from twonets.core.errors import Forbidden, InvalidInput, NotFound
from twonets.data import identity, tokens
from twonets.data.tables import data_access
from twonets.govservices import applications, hall

pytestmark = pytest.mark.usefixtures("data_env")
CLERK = staff("hall_clerk", "shuju", id="clerk-1")
OTHER = staff("hall_clerk", "shuju", id="clerk-2")
AT = local(2026, 12, 3, 9, 0)


def _id_number(s, subject: str) -> str:
    from twonets.data import access

    res = access.read_records(s, staff("data_officer", "gongan"), "population", "测试核验 test fixture",
                              subject_ids=[subject], fields=["id_number"], unmasked=True)
    return res.records[0]["data"]["id_number"]


def test_numbers_are_called_in_order_each_to_one_window_and_restart_each_day(engine):
    with session_factory(engine)() as s:
        taken = [hall.take_ticket(s, "shuju", at=AT + timedelta(minutes=i)).label for i in range(3)]
        assert taken == ["A001", "A002", "A003"]
        first = hall.call_next(s, CLERK, window="2", at=AT + timedelta(minutes=10))
        second = hall.call_next(s, OTHER, window="5", at=AT + timedelta(minutes=11))
        assert (first.label, first.window, second.label, second.window) == ("A001", "2", "A002", "5")
        assert hall.current(s, CLERK, at=AT + timedelta(minutes=12)).label == "A001"
        # Calling again finishes the clerk's number and takes the next waiting one.
        third = hall.call_next(s, CLERK, at=AT + timedelta(minutes=20))
        assert third.label == "A003"
        assert [t.label for t in hall.waiting(s, CLERK, at=AT + timedelta(minutes=20))] == []
        # Nobody waiting: the walk-in at the window gets a new number, called at once.
        walk_in = hall.call_next(s, OTHER, at=AT + timedelta(minutes=30))
        assert walk_in.label == "A004" and walk_in.status == "called" and walk_in.clerk == "clerk-2"
        figures = hall.today(s, CLERK, at=AT + timedelta(minutes=31))
        assert (figures["taken"], figures["waiting"], figures["serving"], figures["served"]) == (4, 0, 2, 2)
        # mean wait: A001 10 min, A002 10 min, A003 18 min, A004 0 min
        assert figures["mean_wait_min"] == pytest.approx((10 + 10 + 18 + 0) / 4, abs=0.05)
        assert hall.take_ticket(s, "shuju", at=AT + timedelta(days=1)).label == "A001"
        with pytest.raises(NotFound):
            hall.finish(s, CLERK, 2, at=AT + timedelta(minutes=40))  # A002 is the other window's


def test_only_clerks_work_the_window(engine):
    with session_factory(engine)() as s, pytest.raises(Forbidden):
        hall.call_next(s, staff("department_handler", "lvhua"), at=AT)


def test_a_clerk_identifies_by_id_number_or_qr_code_and_every_read_is_audited(engine):
    seeded(engine, at=AT - timedelta(days=1))
    with session_factory(engine)() as s:
        number = _id_number(s, pid("new_parent"))
        by_card = hall.identify(s, CLERK, number.lower(), at=AT)
        assert by_card.subject_id == pid("new_parent") and by_card.name == "赵明"
        code, ttl = tokens.issue_person_code(pid("new_parent"), now=AT)
        by_qr = hall.identify(s, CLERK, code, at=AT + timedelta(seconds=ttl - 30))
        assert by_qr.subject_id == pid("new_parent") and by_qr.audit_seq > by_card.audit_seq
        reads = s.execute(data_access.select().where(data_access.c.actor == "clerk-1")).all()
        assert len(reads) == 2 and all("综合窗口" in r.purpose for r in reads)
        with pytest.raises(InvalidInput):
            hall.identify(s, CLERK, code, at=AT + timedelta(seconds=ttl + 60))  # expired
        with pytest.raises(InvalidInput):
            hall.identify(s, CLERK, code[:-4] + ("AAAA" if not code.endswith("AAAA") else "BBBB"), at=AT)  # altered
        with pytest.raises(InvalidInput):
            hall.identify(s, CLERK, "31010119900520", at=AT)  # not 18 characters
        with pytest.raises(NotFound):
            hall.identify(s, CLERK, "110101200001010000", at=AT)


def test_the_clerk_applies_on_the_persons_behalf_and_the_person_sees_it(engine):
    seeded(engine, at=AT - timedelta(days=1))
    parent = citizen(engine, "new_parent")
    with session_factory(engine)() as s:
        ticket = hall.call_next(s, CLERK, at=AT)
        person = hall.identify(s, CLERK, _id_number(s, pid("new_parent")), at=AT)
        app = applications.start(s, CLERK, "MINZHENG-004", applicant_id=person.subject_id, consent=True, at=AT)
        assert app.channel == "hall" and app.staff == "clerk-1"
        assert app.prefill["materials"]["id_card"]["from_government_data"]
        applications.update_form(s, CLERK, app.id, {"monthly_income": 1500, "household_size": 3}, at=AT)
        import base64

        applications.upload(s, CLERK, app.id, "income_statement", filename="income.pdf",
                            content_base64=base64.b64encode(b"%PDF-1.4 test").decode(), at=AT)
        done = applications.submit(s, CLERK, app.id, at=AT)
        assert done.state.state == "in_review"
        assert hall.attach(s, CLERK, app.id, at=AT).application == app.id
        figures = hall.today(s, CLERK, at=AT + timedelta(minutes=1))
        assert (figures["applications"], figures["submitted"], figures["mine"]) == (1, 1, 1)
        s.commit()
        assert ticket.label == "A001"
    with session_factory(engine)() as s:
        mine, _ = applications.mine(s, parent)
        assert [a.id for a in mine] == [app.id]
        with pytest.raises(Forbidden):  # the person's own account cannot act as a clerk
            identity.person_code(s, staff("hall_clerk", "shuju"))
        code, _ = identity.person_code(s, parent)
        assert tokens.decode_person_code(code) == pid("new_parent")
        assert tokens.decode_person_code(code.replace(".", "..", 1)) is None


def test_the_window_over_http_answers_what_a_person_can_act_on(engine):
    from tests.unit.data.support import client_for
    from tests.unit.govservices.support import bearer

    seeded(engine)
    parent = citizen(engine, "new_parent")
    api = client_for(engine)
    me = bearer(CLERK)
    assert api.post("/api/v1/hall/tickets", headers=me).json()["label"] == "A001"
    called = api.post("/api/v1/hall/call", headers=me, json={"window": "4"}).json()
    assert (called["label"], called["window"], called["status"]) == ("A001", "4", "called")
    assert api.get("/api/v1/hall/queue", headers=me).json()["serving"]["label"] == "A001"
    code = api.get("/api/v1/me/person-code", headers=bearer(parent)).json()["code"]
    assert api.get("/api/v1/me/person-code.svg", headers=bearer(parent)).headers["content-type"].startswith("image/svg")
    found = api.post("/api/v1/hall/identify", headers=me, json={"id_number": code}).json()
    assert found["subject_id"] == pid("new_parent")
    bad = api.post("/api/v1/hall/identify", headers=me, json={"id_number": "12345"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "id_number"
    assert api.get("/api/v1/hall/today", headers=me).json()["serving"] == 1
    assert api.post("/api/v1/hall/call", headers=bearer(staff("department_handler", "lvhua"))).status_code == 403
    assert api.get("/api/v1/me/person-code", headers=me).status_code == 403
