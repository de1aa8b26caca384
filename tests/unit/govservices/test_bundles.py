"""One-thing bundles (一件事一次办), issue 13: one submission, each shared field asked once and
prefilled where the registries hold it, steps in parallel where they can and in order where one
needs another's output, a rejected step stops its dependants only, one combined result."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.unit.govservices.support import citizen, local, pid, seeded, staff
from twonets import bootstrap
from twonets.core.db import session_factory, unit_of_work
from twonets.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from twonets.data.tables import data_access
from twonets.govservices import bundle_cases, bundles, licences

HOME = {"property_id": "沪2026黄浦0012345", "seller_id": "P000042", "price": 3_000_000, "loan_amount": 1_500_000,
        "fund_amount": 100_000}


def test_the_four_demo_bundles_load_and_a_field_is_asked_once(tmp_path):
    from twonets.core.definitions import DefinitionError

    assert set(bundles.all_bundles()) == {"BUNDLE-HOME-PURCHASE", "BUNDLE-RESTAURANT", "BUNDLE-NEWBORN", "BUNDLE-RETIREMENT"}
    home = bundles.get("BUNDLE-HOME-PURCHASE").summary()
    names = [f["name"] for f in home["fields"]]
    assert len(names) == len(set(names))
    price = next(f for f in home["fields"] if f["name"] == "price")
    assert price["used_by"] == ["deed_tax", "loan", "transfer"]  # asked once, flows to three steps
    bad = tmp_path / "bundles.yaml"
    text = bundles.BUNDLES_FILE.read_text(encoding="utf-8")
    bad.write_text(text.replace("after: [deed_tax]", "after: [mortgage]", 1), encoding="utf-8")
    with pytest.raises(DefinitionError) as err:
        bundles.load_file(bad)
    assert "cycle" in err.value.reason and err.value.line is not None


def test_the_house_purchase_asks_each_field_once_and_finishes_with_every_licence(engine):
    seeded(engine)
    bootstrap.start()  # the bank's adapter
    buyer = citizen(engine, "new_parent")  # fund active 72 months, no tax arrears
    with unit_of_work(engine) as s:
        shown = bundle_cases.form(s, buyer, "BUNDLE-HOME-PURCHASE", consent=True)
    phone = next(f for f in shown["fields"] if f["name"] == "phone")
    assert phone["from_government_data"] is True and phone["value"].startswith("1")
    asked = [f["name"] for f in shown["fields"] if not f.get("from_government_data")]
    assert asked == ["property_id", "seller_id", "price", "loan_amount", "fund_amount"]
    with unit_of_work(engine) as s:
        case = bundle_cases.submit(s, buyer, "BUNDLE-HOME-PURCHASE", HOME, consent=True, at=local(2026, 12, 3))
    assert case["state"] == "completed", case["steps"]
    steps = {st["id"]: st for st in case["steps"]}
    assert {k: v["state"] for k, v in steps.items()} == dict.fromkeys(steps, "approved")
    assert steps["loan"]["outputs"]["contract_no"].startswith("LN-")  # the bank answered through its adapter
    assert steps["mortgage"]["outputs"]["contract_no"] == steps["loan"]["outputs"]["contract_no"]
    assert len(case["result"]["licences"]) == 2  # the deed tax receipt and the property certificate
    with session_factory(engine)() as s:
        kinds = {licences.load(s, lic).licence_type for lic in case["result"]["licences"]}
        assert kinds == {"deed_tax_receipt", "property_certificate"}
        assert bundle_cases.replay_matches(s, case["id"])
        # the order: the transfer after the deed tax, the mortgage after the transfer and the loan
        decided = [e["step"] for e in case["events"] if e["action"] == "step_decide"]
        assert decided.index("transfer") > decided.index("deed_tax")
        assert decided.index("mortgage") > max(decided.index("transfer"), decided.index("loan"))
        # the registry reads were recorded for the person, named by the bundle's step
        matters = set(s.execute(select(data_access.c.matter).where(data_access.c.subject_id == pid("new_parent"))).scalars())
    assert {"BUNDLE-HOME-PURCHASE", "BUNDLE-HOME-PURCHASE:deed_tax", "BUNDLE-HOME-PURCHASE:fund"} <= matters
    with unit_of_work(engine) as s:
        assert [c["id"] for c in bundle_cases.mine(s, buyer)] == [case["id"]]
        with pytest.raises(NotFound):
            bundle_cases.track(s, citizen(engine, "very_old"), case["id"])
        assert bundle_cases.track(s, staff("reviewer", "guihua"), case["id"])["state"] == "completed"


def test_a_rejected_step_stops_its_dependants_only(engine):
    seeded(engine)
    bootstrap.start()
    buyer = citizen(engine, "tax_arrears")  # tax arrears: the deed tax is refused
    with unit_of_work(engine) as s:
        case = bundle_cases.submit(s, buyer, "BUNDLE-HOME-PURCHASE", HOME, consent=True, at=local(2026, 12, 3))
    steps = {st["id"]: st for st in case["steps"]}
    assert steps["deed_tax"]["state"] == "rejected" and "欠税" in steps["deed_tax"]["reason_zh"]
    assert steps["loan"]["state"] == "approved"  # independent: it goes on
    for sid in ("transfer", "mortgage", "fund", "utilities"):  # they need the transfer, which needs the tax
        assert steps[sid]["state"] == "stopped", sid
    assert steps["transfer"]["because"] == "deed_tax" and "契税申报" in steps["transfer"]["reason_zh"]
    assert steps["mortgage"]["because"] == "transfer"
    assert case["state"] == "completed_in_part"
    assert case["result"] == {"licences": [], "approved": ["loan"], "rejected": ["deed_tax"],
                              "stopped": ["transfer", "mortgage", "fund", "utilities"], "waiting": []}
    with session_factory(engine)() as s:
        assert bundle_cases.replay_matches(s, case["id"])


def test_the_bank_refuses_too_large_a_loan_and_only_the_mortgage_stops(engine):
    seeded(engine)
    bootstrap.start()
    with unit_of_work(engine) as s:
        case = bundle_cases.submit(s, citizen(engine, "new_parent"), "BUNDLE-HOME-PURCHASE",
                                   {**HOME, "loan_amount": 2_900_000}, consent=True, at=local(2026, 12, 3))
    steps = {st["id"]: st["state"] for st in case["steps"]}
    assert steps == {"deed_tax": "approved", "loan": "rejected", "transfer": "approved", "mortgage": "stopped",
                     "fund": "approved", "utilities": "approved"}


def test_a_step_sent_to_review_waits_for_its_department(engine):
    seeded(engine)
    owner = citizen(engine, "new_parent")
    form = {"shop_name": "赵记小馆", "address": "上海市黄浦区福州路100号", "area_m2": 80, "seats": 260, "sign_text": "赵记小馆"}
    with unit_of_work(engine) as s:
        case = bundle_cases.submit(s, owner, "BUNDLE-RESTAURANT", form, consent=True, at=local(2026, 12, 3))
    steps = {st["id"]: st["state"] for st in case["steps"]}
    assert steps == {"business": "approved", "food": "approved", "signage": "approved", "fire": "in_review"}
    assert case["state"] == "in_progress" and case["result"]["waiting"] == ["fire"]
    with unit_of_work(engine) as s:
        with pytest.raises(Forbidden):
            bundle_cases.decide_step(s, staff("reviewer", "shichang"), case["id"], "fire", approve=True, reason="ok")
        done = bundle_cases.decide_step(s, staff("reviewer", "xiaofang"), case["id"], "fire", approve=True,
                                        reason="现场检查合格", at=local(2026, 12, 4))
        assert done["state"] == "completed" and len(done["result"]["licences"]) == 4
        with pytest.raises(Conflict):
            bundle_cases.decide_step(s, staff("reviewer", "xiaofang"), case["id"], "fire", approve=True, reason="again")
        assert bundle_cases.replay_matches(s, case["id"])


def test_the_form_is_checked_field_by_field(engine):
    seeded(engine)
    zhao = citizen(engine, "new_parent")
    with unit_of_work(engine) as s:
        with pytest.raises(InvalidInput) as err:
            bundle_cases.submit(s, zhao, "BUNDLE-HOME-PURCHASE",
                                {"price": "lots", "seller_id": "P1", "extra": 1}, consent=True)
        fields = {e["field"] for e in err.value.errors}
        assert {"form.price", "form.property_id", "form.extra"} <= fields and "form.phone" not in fields
        with pytest.raises(InvalidInput):
            bundle_cases.submit(s, zhao, "BUNDLE-HOME-PURCHASE", HOME, consent=False)
        with pytest.raises(Forbidden):
            bundle_cases.submit(s, staff("reviewer", "guihua"), "BUNDLE-HOME-PURCHASE", HOME, consent=True)
        with pytest.raises(NotFound):
            bundle_cases.submit(s, zhao, "BUNDLE-NOPE", HOME, consent=True)


def test_having_a_baby_and_retiring(engine):
    seeded(engine)
    mother, li = citizen(engine, "new_mother"), citizen(engine, "young_resident")
    with unit_of_work(engine) as s:
        baby = bundle_cases.submit(s, mother, "BUNDLE-NEWBORN",
                                   {"child_name": "赵小满", "birth_date": "2026-11-30", "hospital": "黄浦区妇幼保健院"},
                                   consent=True, at=local(2026, 12, 3))
        retire = bundle_cases.submit(s, li, "BUNDLE-RETIREMENT",
                                     {"retire_on": "2026-12-31", "bank_account": "6222000011112222"}, consent=True,
                                     at=local(2026, 12, 3))
    assert baby["state"] == "completed" and len(baby["result"]["licences"]) == 1  # the household registration
    steps = {st["id"]: st for st in retire["steps"]}
    assert steps["pension"]["state"] == "rejected" and steps["medical"]["state"] == "stopped"
    assert steps["fund"]["state"] == "rejected"  # no provident fund account: independent, decided on its own
