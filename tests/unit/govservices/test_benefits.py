"""Benefits without application (免申即享), issue 13: the government finds the person.

Registry updates arrive as events through the data foundation (`RecordsChanged`, wired in
bootstrap); birthdays and the nightly sweep are evaluated by the service functions."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from tests.unit.govservices.support import citizen, local, pid, seeded, staff
from twonets import bootstrap
from twonets.core.actor import SYSTEM
from twonets.core.db import session_factory, unit_of_work
from twonets.core.errors import Conflict, Forbidden, NotFound
from twonets.data import access, catalogue
from twonets.data.tables import data_access
from twonets.govservices import benefits, policies
from twonets.govservices.benefit_tables import svc_benefit


def _s(engine):
    return session_factory(engine)()


def _benefits(engine, subject: str) -> dict[str, dict]:
    with _s(engine) as s:
        rows = s.execute(select(svc_benefit).where(svc_benefit.c.subject_id == subject)).all()
        return {r.policy: r._asdict() for r in rows}


def test_the_24_policies_load_and_a_bad_one_names_file_line_and_reason(tmp_path):
    from twonets.core.definitions import DefinitionError

    assert len(policies.all_policies()) == 24
    assert {p.mode for p in policies.all_policies().values()} == {"grant", "offer"}
    bad = tmp_path / "policies.yaml"
    bad.write_text(policies.POLICIES_FILE.read_text(encoding="utf-8").replace("mode: offer", "mode: maybe", 1), encoding="utf-8")
    with pytest.raises(DefinitionError) as err:
        policies.load_file(bad)
    assert err.value.line is not None and "mode" in err.value.reason
    first = bad.read_text(encoding="utf-8").splitlines().index("  mode: maybe") + 1
    assert err.value.line == first


def test_a_birth_registered_grants_the_childbirth_allowance_to_the_parent_once_with_the_facts(engine):
    seeded(engine)
    bootstrap.start()
    parent = pid("young_resident")  # insured (active), no child yet
    birth = {"key": f"C900777-{parent}", "subject_id": parent, "data": {
        "parent_id": parent, "child_id": "C900777", "child_name": "李小满", "birth_date": "2026-11-30",
        "certificate_no": "Q31900777", "hospital": "黄浦区妇幼保健院"}}
    with unit_of_work(engine) as s:
        catalogue.upsert_records(s, SYSTEM, "births", [birth], at=local(2026, 12, 1))
    got = _benefits(engine, parent)
    assert got["BEN-CHILDBIRTH"]["state"] == "granted" and got["BEN-CHILDBIRTH"]["amount"] == 5000
    facts = got["BEN-CHILDBIRTH"]["facts"]
    assert facts["decision"]["inputs"] == {"child": "C900777", "insured": "active"}
    assert facts["decision"]["outcome"] == "approve" and facts["legal_basis"].startswith("《")
    assert {r["dataset"] for r in facts["reads"]} == {"births", "social_insurance"}
    assert got["BEN-CHILDBIRTH"]["trigger"] == "record:births"
    # the same birth announced again (a correction) grants nothing more
    with unit_of_work(engine) as s:
        catalogue.upsert_records(s, SYSTEM, "births", [birth], at=local(2026, 12, 2))
        assert s.execute(select(func.count()).select_from(svc_benefit).where(
            svc_benefit.c.subject_id == parent, svc_benefit.c.policy == "BEN-CHILDBIRTH")).scalar_one() == 1
    # "who used my data" shows the policy's read, with its legal basis
    with _s(engine) as s:
        items, _ = access.my_accesses(s, citizen(engine, "young_resident"), subject_id=parent)
    reads = [i for i in items if i["matter"] == "BEN-CHILDBIRTH"]
    assert {i["dataset"] for i in reads} == {"births", "social_insurance"}
    assert all("免申即享" in i["purpose"] and "《上海市城镇生育保险办法》" in i["purpose"] for i in reads)


def test_an_uninsured_parent_gets_what_the_rules_give_and_no_more(engine):
    seeded(engine)
    bootstrap.start()
    parent = pid("minor")  # no social insurance record: childbirth allowance not, newborn insurance yes
    with unit_of_work(engine) as s:
        catalogue.upsert_records(s, SYSTEM, "births", [{"key": f"C900778-{parent}", "subject_id": parent, "data": {
            "parent_id": parent, "child_id": "C900778"}}], at=local(2026, 12, 1))
    got = _benefits(engine, parent)
    assert "BEN-CHILDBIRTH" not in got and got["BEN-NEWBORN-INSURANCE"]["state"] == "granted"


def test_a_birthday_crossing_60_offers_the_elderly_card_for_one_tap_confirmation(engine):
    seeded(engine)
    person = "P960001"
    with unit_of_work(engine) as s:
        catalogue.upsert_records(s, SYSTEM, "population", [{"key": person, "subject_id": person, "data": {
            "person_id": person, "name": "陈立新", "birth_date": "1966-12-03", "street": "外滩街道", "household_type": "local"}}])
    with unit_of_work(engine) as s:
        day_before = benefits.on_birthdays(s, date(2026, 12, 2), at=local(2026, 12, 2, 1))
        assert person not in {o["subject_id"] for o in day_before}
        out = benefits.on_birthdays(s, date(2026, 12, 3), at=local(2026, 12, 3, 1))
    mine = [o for o in out if o["subject_id"] == person]
    assert [(o["policy"], o["outcome"]) for o in mine] == [("BEN-ELDERLY-CARD", "offered")]
    offer = mine[0]["benefit"]
    from twonets.data import identity

    with _s(engine) as s:
        u = identity.create_user(s, SYSTEM, username="c.chen", password=None, roles=["citizen"], subject_id=person)
        s.commit()
    chen = u.actor()
    with unit_of_work(engine) as s:
        with pytest.raises(Forbidden):
            benefits.confirm(s, staff("reviewer", "minzheng"), offer)
        with pytest.raises(NotFound):
            benefits.confirm(s, citizen(engine, "very_old"), offer)
        done = benefits.confirm(s, chen, offer, at=local(2026, 12, 3, 9))
        assert done["state"] == "granted" and [e["action"] for e in done["events"]] == ["offer", "confirm"]
        assert benefits.replay_state(s, offer) == "granted"
        with pytest.raises(Conflict) as err:
            benefits.confirm(s, chen, offer)
        assert "decline" in str(err.value)
        assert [b["id"] for b in benefits.mine(s, chen)] == [offer]
    # the next day's check, and the sweep, offer nothing again
    with unit_of_work(engine) as s:
        again = benefits.on_birthdays(s, date(2026, 12, 3), at=local(2026, 12, 4, 1))
    assert {o["outcome"] for o in again if o["subject_id"] == person} == {"already"}


def test_a_citizen_declines_and_is_never_offered_again(engine):
    seeded(engine)
    person = pid("elderly_local")
    with unit_of_work(engine) as s:
        out = benefits.evaluate_subject(s, policies.get("BEN-ELDERLY-CARD"), person, trigger="birthday:60", at=local(2026, 12, 3))
    assert out["outcome"] == "offered"
    wang = citizen(engine, "elderly_local")
    with unit_of_work(engine) as s:
        assert benefits.decline(s, wang, out["benefit"], reason="已有敬老卡")["state"] == "declined"
        assert benefits.replay_state(s, out["benefit"]) == "declined"
    with unit_of_work(engine) as s:
        swept = benefits.sweep(s, codes=["BEN-ELDERLY-CARD"], at=local(2026, 12, 4))
        assert swept["offered"] > 0  # others of 60 and over are offered the card…
        assert s.execute(select(func.count()).select_from(svc_benefit).where(
            svc_benefit.c.subject_id == person)).scalar_one() == 1  # …he is not, again
    assert _benefits(engine, person)["BEN-ELDERLY-CARD"]["state"] == "declined"


def test_the_nightly_sweep_finds_a_case_whose_event_was_missed(engine):
    seeded(engine)  # the registries were loaded without announcing: every event was "missed"
    old = pid("very_old")  # 88, local: old-age allowance (80–89), nutrition allowance, elderly card offer
    assert _benefits(engine, old) == {}
    with unit_of_work(engine) as s:
        counts = benefits.sweep(s, at=local(2026, 12, 3, 2))
    got = _benefits(engine, old)
    assert {k: v["state"] for k, v in got.items() if k in ("BEN-OLD-AGE-80", "BEN-NUTRITION-80", "BEN-ELDERLY-CARD")} == {
        "BEN-OLD-AGE-80": "granted", "BEN-NUTRITION-80": "granted", "BEN-ELDERLY-CARD": "offered"}
    assert "BEN-OLD-AGE-90" not in got and got["BEN-OLD-AGE-80"]["trigger"] == "sweep"
    assert got["BEN-OLD-AGE-80"]["facts"]["decision"]["inputs"] == {"age": 88, "hukou": "local"}
    assert counts["granted"] + counts["offered"] == counts["screened_in"] > 0
    with _s(engine) as s:
        total = s.execute(select(func.count()).select_from(svc_benefit)).scalar_one()
        assert total == counts["granted"] + counts["offered"]
        reads = s.execute(select(data_access.c.matter).where(data_access.c.subject_id == old)).scalars().all()
    assert {"BEN-OLD-AGE-80", "BEN-NUTRITION-80", "BEN-ELDERLY-CARD"} <= set(reads)
    with unit_of_work(engine) as s:  # the next night finds nothing new
        again = benefits.sweep(s, at=local(2026, 12, 4, 2))
    assert again["granted"] == again["offered"] == 0 and again["subjects"] == counts["subjects"]


def test_a_department_lists_its_own_benefits_masked(engine):
    seeded(engine)
    with unit_of_work(engine) as s:
        benefits.sweep(s, codes=["BEN-NUTRITION-80", "BEN-SME-TAX-RELIEF"], at=local(2026, 12, 3, 2))
    with _s(engine) as s:
        items, _ = benefits.list_benefits(s, staff("reviewer", "minzheng"))
        assert items and {i["policy"] for i in items} == {"BEN-NUTRITION-80"}
        assert all("*" in i["subject_id"] for i in items)
        with pytest.raises(Forbidden):
            benefits.list_benefits(s, citizen(engine, "very_old"))


def test_the_timer_runs_the_birthdays_and_the_sweep_once_a_day_from_2am(engine):
    seeded(engine)
    benefits._nightly_done.clear()
    with unit_of_work(engine) as s:
        assert benefits.nightly(s, at=local(2026, 12, 3, 1, 59)) is None  # not yet due
        ran = benefits.nightly(s, at=local(2026, 12, 3, 2, 1))
    assert ran["day"] == "2026-12-03" and ran["sweep"]["granted"] > 0
    benefits._nightly_done.clear()  # another process (or a restart) reads the chain: done today
    with unit_of_work(engine) as s:
        assert benefits.nightly(s, at=local(2026, 12, 3, 2, 2)) is None
        assert benefits.nightly(s, at=local(2026, 12, 4, 2, 0))["sweep"]["granted"] == 0


def test_twonets_benefits_sweep_on_the_command_line(engine):
    from typer.testing import CliRunner

    from twonets.cli import app

    if engine.dialect.name != "sqlite":
        pytest.skip("the command line is exercised on SQLite; the sweep itself runs on both")
    seeded(engine)
    url = engine.url.render_as_string(hide_password=False)
    r = CliRunner().invoke(app, ["benefits", "sweep", "--policy", "BEN-NUTRITION-80", "--json", "--database-url", url])
    assert r.exit_code == 0, r.output
    import json

    counts = json.loads(r.output.strip().splitlines()[-1])
    assert counts["granted"] >= 1 and counts["offered"] == 0
    assert _benefits(engine, pid("very_old"))["BEN-NUTRITION-80"]["state"] == "granted"
    bad = CliRunner().invoke(app, ["benefits", "sweep", "--policy", "BEN-NOPE", "--database-url", url])
    assert bad.exit_code != 0
