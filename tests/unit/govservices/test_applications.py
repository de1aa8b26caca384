"""Applying, deciding, reviewing and licensing, through the service layer, on both engines."""

from __future__ import annotations

import base64
import copy
import json

import pytest
from sqlalchemy import select

from tests.unit.govservices.support import COMPANY, citizen, company_agent, local, pid, seeded, staff
from twonets.core.actor import SYSTEM
from twonets.core.db import session_factory
from twonets.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from twonets.data.tables import audit_entry, data_access
from twonets.govservices import applications, eseal, history, licences, ratings, review, stats


def _s(engine):
    return session_factory(engine)()


def test_instant_matter_online_zero_uploads_verifiable_licence(engine):
    seeded(engine)
    wang = citizen(engine, "elderly_local")
    with _s(engine) as s:
        app = applications.start(s, wang, "MINZHENG-001", consent=True)
        assert app.state.state == "draft" and app.channel == "online"
        assert app.prefill["materials"]["id_card"]["from_government_data"] is True
        assert app.form["phone"] == app.prefill["fields"]["phone"]["value"]
        app = applications.submit(s, wang, app.id)
        s.commit()
        assert app.state.state == "licence_issued" and app.state.instant and app.uploads == 0
        assert app.as_dict()["zero_submission"] is True
        lic = licences.get(s, wang, app.state.licence, pid("elderly_local"))
        assert lic.credential["type"] == ["VerifiableCredential", "ElectronicLicence"]
        assert lic.credential["credentialSubject"]["holder_name"] == "王建国"
        result = licences.verify(s, lic.credential)
        assert result.valid, result.reasons
        # every prefill lookup went through the access service: purpose, matter, consent recorded
        rows = s.execute(select(data_access).where(data_access.c.subject_id == pid("elderly_local"))).all()
        assert {r.dataset_code for r in rows} == {"population", "households"}
        assert all(r.matter == "MINZHENG-001" and "consent" in r.purpose and app.id in r.purpose for r in rows)
        decided = s.execute(select(audit_entry).where(audit_entry.c.action == "application.decide")).one()
        assert decided.subject == app.id and json.loads(decided.data)["outcome"] == "approve"


@pytest.mark.parametrize(
    "persona,matter,form,reason_en",
    [
        ("minor", "SHICHANG-001", {"business_name": "小店", "scope": "retail", "address": "南京东路1号"}, "The applicant is under 18."),
        ("tax_arrears", "SHICHANG-001", {"business_name": "周记", "scope": "retail", "address": "福州路8号"}, "The applicant has tax arrears."),
        ("young_resident", "MINZHENG-001", {}, "The applicant is under 60."),
        ("new_resident", "GONGAN-001", {}, "Social insurance paid for fewer than 6 consecutive months."),
    ],
)
def test_ineligible_applicant_rejected_with_the_rule_reason(sqlite_engine, persona, matter, form, reason_en):
    seeded(sqlite_engine)
    who = citizen(sqlite_engine, persona)
    with _s(sqlite_engine) as s:
        app = applications.start(s, who, matter, consent=True, form=form)
        app = applications.submit(s, who, app.id)
        assert app.state.state == "rejected" and app.state.licence is None
        assert app.decision["reason_en"] == reason_en
        assert app.state.reason == app.decision["reason_zh"]


def test_ineligible_rejected_on_postgres_too(engine):
    seeded(engine)
    who = citizen(engine, "minor")
    with _s(engine) as s:
        app = applications.start(s, who, "SHICHANG-001", consent=True, form={"business_name": "小店", "scope": "retail", "address": "南京东路1号"})
        app = applications.submit(s, who, app.id)
        assert (app.state.state, app.decision["reason_zh"]) == ("rejected", "申请人未满18周岁")


def test_review_deadline_skips_national_day_and_supplement_stops_the_clock(engine):
    submitted = local(2026, 9, 30, 10)
    seeded(engine, at=submitted)
    agent = company_agent(engine)
    reviewer = staff("reviewer", "chengguan")
    with _s(engine) as s:
        app = applications.start(s, agent, "CHENGGUAN-001", consent=True, form={"location": "河南中路88号门前", "days": 3}, at=submitted)
        app = applications.upload(s, agent, app.id, "site_plan", filename="plan.pdf", content_base64=base64.b64encode(b"%PDF").decode(), at=submitted)
        app = applications.submit(s, agent, app.id, at=submitted)
        s.commit()
        # 3 working days: 30 Sep (14 h left) + 8 Oct + 9 Oct + Saturday 10 Oct, a make-up workday
        assert app.state.state == "in_review"
        assert app.state.due_at == local(2026, 10, 10, 10)
        items, _ = stats.queue(s, reviewer, now=local(2026, 10, 1))
        assert [(i["id"], i["flag"]) for i in items] == [(app.id, None)]
        assert stats.queue(s, reviewer, now=local(2026, 10, 9, 20))[0][0]["flag"] == "warning"
        assert stats.queue(s, reviewer, now=local(2026, 10, 12))[0][0]["flag"] == "overdue"
        with pytest.raises(Forbidden):
            stats.queue(s, staff("reviewer", "lvhua"), department="chengguan")

        # supplement on 8 Oct 10:00 (one working day spent), answered on 20 Oct 10:00
        app = review.request_supplement(s, reviewer, app.id, reason="占道示意图缺少尺寸", at=local(2026, 10, 8, 10))
        assert app.state.state == "supplement_requested" and app.state.due_at is None
        assert app.state.clock_spent_s == pytest.approx(86400.0)
        assert stats.queue(s, reviewer, now=local(2026, 10, 19))[0][0]["flag"] is None  # stopped: never overdue
        app = applications.supplement(s, agent, app.id, form={"days": 2}, at=local(2026, 10, 20, 10))
        assert app.state.due_at == local(2026, 10, 22, 10)  # the two days it had left
        with pytest.raises(NotFound):  # another department's reviewer does not even see it
            review.review(s, staff("reviewer", "lvhua"), app.id, approve=True, reason="ok")
        app = review.review(s, reviewer, app.id, approve=True, reason="同意", at=local(2026, 10, 21, 10))
        assert app.state.state == "approved" and app.state.on_time is True
        assert app.state.working_days == pytest.approx(2.0)
        replay = history.replay(s, reviewer, app.id)
        assert replay["state_matches"] is True
        with pytest.raises(Conflict):
            review.request_supplement(s, reviewer, app.id, reason="again")


def test_form_error_names_the_field(sqlite_engine):
    seeded(sqlite_engine)
    wang = citizen(sqlite_engine, "elderly_local")
    with _s(sqlite_engine) as s:
        app = applications.start(s, wang, "MINZHENG-001", consent=True, form={"phone": "12345"})
        with pytest.raises(InvalidInput) as exc:
            applications.submit(s, wang, app.id)
        assert [e["field"] for e in exc.value.errors] == ["form.phone"]
        with pytest.raises(InvalidInput) as exc:
            applications.start(s, wang, "MINZHENG-001", consent=False)
        assert exc.value.errors[0]["field"] == "consent"


def test_finished_decision_replays_to_the_same_result(engine):
    seeded(engine)
    who = citizen(engine, "young_resident")
    with _s(engine) as s:
        app = applications.submit(s, who, applications.start(s, who, "GONGAN-001", consent=True).id)
        assert app.state.state == "licence_issued"
        out = history.replay(s, who, app.id)
        assert out["state_matches"] is True
        assert out["decision"]["same"] is True and out["decision"]["replayed"]["outcome"] == "approve"
        assert out["decision"]["replayed"]["inputs"] == {"hukou": None, "insurance": "active", "months": 24}


def test_licence_serves_as_a_material_for_another_matter(sqlite_engine):
    seeded(sqlite_engine)
    zhao = citizen(sqlite_engine, "new_parent")
    with _s(sqlite_engine) as s:
        food = {"premises_m2": 30, "food_category": "catering"}
        first = applications.submit(s, zhao, applications.start(s, zhao, "SHICHANG-002", consent=True, form=food).id)
        assert first.decision["reason_en"] == "No individual business licence has been issued to the applicant."
        biz = applications.start(s, zhao, "SHICHANG-001", consent=True, form={"business_name": "赵记小吃", "scope": "catering", "address": "豫园路1号"})
        biz = applications.submit(s, zhao, biz.id)
        assert biz.state.state == "licence_issued"
        app = applications.submit(s, zhao, applications.start(s, zhao, "SHICHANG-002", consent=True, form=food).id)
        assert app.state.state == "licence_issued" and app.uploads == 0
        assert app.prefill["materials"]["business_licence"]["licence"] == biz.state.licence


def test_tampered_expired_and_revoked_licences_fail(engine):
    seeded(engine)
    zhao = citizen(engine, "new_parent")
    with _s(engine) as s:
        app = applications.submit(s, zhao, applications.start(s, zhao, "JIAOJING-001", consent=True, form={"street": "豫园街道"}).id)
        lic = licences.load(s, app.state.licence)
        assert licences.verify(s, lic.credential).valid
        tampered = copy.deepcopy(lic.credential)
        tampered["credentialSubject"]["plate"] = "沪A88888"
        bad = licences.verify(s, tampered)
        assert not bad.valid and bad.checks["signature"] == "fail"
        forged_issuer = copy.deepcopy(lic.credential)
        forged_issuer["issuer"]["id"] = "did:web:twonets.gov.cn:departments:gongan"
        assert licences.verify(s, forged_issuer).checks["issuer"] == "fail"
        later = lic.valid_until.replace(year=lic.valid_until.year + 1)
        expired = licences.verify(s, lic.credential, now=later)
        assert not expired.valid and expired.checks["expiry"] == "fail" and "expired" in expired.reasons[0]
        # key rotation keeps earlier licences valid
        eseal.rotate(s, SYSTEM, "jiaojing")
        assert licences.verify(s, lic.credential).valid
        with pytest.raises(Forbidden):
            licences.revoke(s, staff("reviewer", "gongan"), lic.id, reason="x")
        licences.revoke(s, staff("reviewer", "jiaojing"), lic.id, reason="车辆已转让")
        revoked = licences.verify(s, lic.credential)
        assert not revoked.valid and revoked.revoked_reason == "车辆已转让" and revoked.checks["revocation"] == "fail"


def test_hall_window_same_record_rating_and_follow_up(sqlite_engine):
    seeded(sqlite_engine)
    window = staff("department_handler", "shuju", id="window-07")
    wang = citizen(sqlite_engine, "elderly_local")
    with _s(sqlite_engine) as s:
        with pytest.raises(InvalidInput):
            applications.start(s, window, "MINZHENG-001", consent=True)
        app = applications.start(s, window, "MINZHENG-001", applicant_id=pid("elderly_local"), consent=True)
        app = applications.submit(s, window, app.id)
        assert app.channel == "hall" and app.staff == "window-07" and app.state.state == "licence_issued"
        assert applications.get(s, wang, app.id).id == app.id  # the citizen sees the same record
        with pytest.raises(InvalidInput):
            ratings.rate(s, wang, app.id, level=2)
        r = ratings.rate(s, wang, app.id, level=2, comment="排队太久")
        assert r["follow_up"] == "open"
        with pytest.raises(Conflict):
            ratings.rate(s, wang, app.id, level=5)
        items, _ = ratings.follow_ups(s, staff("reviewer", "minzheng"))
        assert [i["application"] for i in items] == [app.id]
        closed = ratings.close_follow_up(s, staff("reviewer", "minzheng"), app.id, note="已增开窗口")
        assert closed["follow_up"] == "closed"
        figures = stats.stats(s, by="department")
        assert figures["submitted"] == 1 and figures["instant_share"] == 1.0 and figures["ratings"]["2"] == 1
        assert figures["per_day"][0]["hall"] == 1 and figures["zero_submission_share"] == 1.0
        assert figures["groups"][0]["department"] == "minzheng"
        assert history.replay(s, wang, app.id)["state_matches"] is True


def test_only_applicants_and_hall_staff_apply(sqlite_engine):
    seeded(sqlite_engine)
    stranger = citizen(sqlite_engine, "minor")
    wang = citizen(sqlite_engine, "elderly_local")
    with _s(sqlite_engine) as s:
        with pytest.raises(Forbidden):
            applications.start(s, staff("reviewer", "minzheng"), "MINZHENG-001", applicant_id=pid("elderly_local"), consent=True)
        with pytest.raises(Forbidden):
            applications.start(s, wang, "MINZHENG-001", applicant_id=pid("minor"), consent=True)
        app = applications.start(s, wang, "MINZHENG-001", consent=True)
        with pytest.raises(NotFound):
            applications.get(s, stranger, app.id)
        with pytest.raises(InvalidInput):
            applications.start(s, wang, "CHENGGUAN-001", consent=True)  # a company matter
        assert COMPANY.startswith("9")


def test_applications_and_licences_are_datasets_read_through_the_access_service(sqlite_engine):
    from twonets.data import access

    seeded(sqlite_engine)
    wang = citizen(sqlite_engine, "elderly_local")
    with _s(sqlite_engine) as s:
        app = applications.submit(s, wang, applications.start(s, wang, "MINZHENG-001", consent=True).id)
        officer = staff("data_officer", "shuju")
        got = access.read_records(s, officer, "applications", "办件质量抽查 quality sampling", subject_ids=[pid("elderly_local")])
        assert got.records[0]["data"]["application_id"] == app.id and got.records[0]["data"]["applicant_name"] == "王**"
        lic = access.read_records(s, officer, "elicences", "证照核验 licence check", filters={"licence_type": "elderly_card"})
        assert [r["data"]["licence_id"] for r in lic.records] == [app.state.licence]


def test_a_lapsed_grant_is_renewed_on_prefill(sqlite_engine):
    from datetime import timedelta

    from twonets.core.calendar import utcnow

    seeded(sqlite_engine, at=utcnow() - timedelta(days=179))
    wang = citizen(sqlite_engine, "elderly_local")
    with _s(sqlite_engine) as s:
        app = applications.start(s, wang, "MINZHENG-001", consent=True, at=utcnow() + timedelta(days=30))
        assert app.prefill["materials"]["id_card"] is not None


def test_benefit_without_application_is_granted_to_those_who_qualify(engine):
    """The matter MINZHENG-006 is granted without application: nobody applies for it; its policy
    (BEN-NUTRITION-80) finds those who qualify (issue 13; tests/unit/govservices/test_benefits.py)."""
    from twonets.govservices import benefits

    seeded(engine)
    officer = staff("reviewer", "minzheng")
    candidates = [pid("very_old"), pid("elderly_local"), pid("young_resident")]
    with _s(engine) as s:
        with pytest.raises(Conflict):
            applications.start(s, citizen(engine, "very_old"), "MINZHENG-006", consent=True)
        with pytest.raises(Forbidden):
            benefits.evaluate_candidates(s, staff("reviewer", "gongan"), "BEN-NUTRITION-80", candidates)
        out = benefits.evaluate_candidates(s, officer, "BEN-NUTRITION-80", candidates)
        assert len(out["granted"]) == 1 and [i["subject_id"] for i in out["ineligible"]] == candidates[1:]
        got = benefits.get(s, officer, out["granted"][0])
        assert (got["state"], got["policy"], got["facts"]["decision"]["inputs"]["age"]) == ("granted", "BEN-NUTRITION-80", 88)
        # every eligibility read was recorded with the policy and its legal basis as its purpose
        reads = s.execute(select(data_access).where(data_access.c.matter == "BEN-NUTRITION-80")).all()
        assert {r.subject_id for r in reads} == set(candidates) and all("免申即享" in r.purpose for r in reads)
        assert benefits.evaluate_candidates(s, officer, "BEN-NUTRITION-80", candidates[:1])["already"] == [pid("very_old")]
