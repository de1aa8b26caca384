from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from tests.unit.data.support import ADMIN, GONGAN_OFFICER, MINZHENG_OFFICER, actor, seed
from twonets.core.calendar import utcnow
from twonets.core.db import session_factory
from twonets.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from twonets.data import catalogue
from twonets.data.models import DatasetPatch, DatasetSpec
from twonets.data.tables import data_dataset

CITIZEN = actor("citizen", None, id="c1")


def test_definitions_cover_every_kind_of_dataset():
    specs = catalogue.read_definitions()
    kinds = {s.kind for s in specs}
    assert {"registry", "sensor_stream", "business_tags", "work_orders", "applications"} <= kinds
    assert {"population", "legal_persons", "spatial", "elicences"} <= {s.code for s in specs}


def test_bad_definition_names_file_line_and_reason(tmp_path: Path):
    bad = tmp_path / "catalogue.yaml"
    bad.write_text(
        "datasets:\n"
        "  - code: ok_one\n"
        "    name_zh: 甲\n"
        "    name_en: A\n"
        "    owner_department: shuju\n"
        "    fields:\n"
        "      - {name: a, sensitivity: top_secret}\n",
        encoding="utf-8",
    )
    with pytest.raises(catalogue.DefinitionError) as err:
        catalogue.read_definitions(bad)
    msg = str(err.value)
    assert f"{bad}:7:" in msg and "sensitivity" in msg


def test_sync_is_idempotent(engine):
    with session_factory(engine)() as s:
        first = catalogue.sync_definitions(s)
        second = catalogue.sync_definitions(s)
        s.commit()
    assert first["created"] == first["total"] >= 8
    assert second == {"created": 0, "updated": 0, "total": first["total"]}


def test_search_visibility_and_filters(engine):
    seed(engine)
    with session_factory(engine)() as s:
        staff, _ = catalogue.search(s, MINZHENG_OFFICER, limit=100)
        public, _ = catalogue.search(s, CITIZEN, limit=100)
        anon, _ = catalogue.search(s, None, limit=100)
        by_word, _ = catalogue.search(s, MINZHENG_OFFICER, q="人口")
        by_kw, _ = catalogue.search(s, MINZHENG_OFFICER, q="IoT")
        owned, _ = catalogue.search(s, MINZHENG_OFFICER, owner="shuju")
        conditional, _ = catalogue.search(s, MINZHENG_OFFICER, sharing_class="conditional")
        page1, nxt = catalogue.search(s, MINZHENG_OFFICER, limit=3)
        page2, _ = catalogue.search(s, MINZHENG_OFFICER, limit=3, cursor=nxt)
        with pytest.raises(NotFound):
            catalogue.get(s, CITIZEN, "population")
        assert catalogue.get(s, CITIZEN, "legal_persons").open_data
    assert len(staff) >= 8
    assert {d.code for d in public} == {d.code for d in anon} == {"legal_persons", "spatial"}
    assert [d.code for d in by_word] == ["population"]
    assert [d.code for d in by_kw] == ["sensor_readings"]
    assert {d.owner_department for d in owned} == {"shuju"}
    assert all(d.sharing_class == "conditional" for d in conditional) and conditional
    assert len(page1) == 3 and nxt == page1[-1].code and page2[0].code > nxt


def test_stale_flag(engine):
    seed(engine)  # population gets records now; the rest were never updated
    now = utcnow()
    with session_factory(engine)() as s:
        pop = catalogue.load(s, "population")
        assert not pop.is_stale(now)
        assert pop.is_stale(now + timedelta(days=3))  # daily, 3 days without update
        assert catalogue.load(s, "spatial").is_stale(now)  # never updated
        s.execute(update(data_dataset).where(data_dataset.c.code == "spatial").values(last_updated_at=now - timedelta(days=20)))
        assert not catalogue.load(s, "spatial").is_stale(now)  # monthly: 20 days is fine
        stale, _ = catalogue.search(s, ADMIN, stale=True, limit=100)
        fresh, _ = catalogue.search(s, ADMIN, stale=False, limit=100)
    assert "population" not in {d.code for d in stale}
    assert {d.code for d in fresh} == {"population", "spatial"}


def _spec(**kw) -> DatasetSpec:
    base = dict(
        code="parking", name_zh="停车", name_en="Parking", owner_department="gongan", update_frequency="daily",
        fields=[{"name": "lot", "sensitivity": "public"}, {"name": "owner_phone", "sensitivity": "personal", "mask": "phone"}],
    )
    base.update(kw)
    return DatasetSpec.model_validate(base)


def test_create_and_update_respect_the_owner(engine):
    with session_factory(engine)() as s:
        with pytest.raises(Forbidden):
            catalogue.create(s, MINZHENG_OFFICER, _spec())  # not their department
        ds = catalogue.create(s, GONGAN_OFFICER, _spec())
        assert [f.name for f in ds.fields] == ["lot", "owner_phone"] and ds.fields[1].mask == "phone"
        with pytest.raises(Conflict):
            catalogue.create(s, ADMIN, _spec())
        with pytest.raises(Forbidden):
            catalogue.update_entry(s, MINZHENG_OFFICER, "parking", DatasetPatch(open_data=True))
        ds = catalogue.update_entry(s, GONGAN_OFFICER, "parking", DatasetPatch(open_data=True, keywords=["car"]))
        assert ds.open_data and ds.keywords == ["car"]
        with pytest.raises(InvalidInput):
            catalogue.update_entry(s, ADMIN, "parking", DatasetPatch(sharing_class="not_shared"))


def test_spec_validation():
    with pytest.raises(ValueError):
        _spec(fields=[{"name": "a", "sensitivity": "public", "mask": "phone"}])  # mask on a public field
    with pytest.raises(ValueError):
        _spec(fields=[{"name": "a"}, {"name": "a"}])
    with pytest.raises(ValueError):
        _spec(open_data=True, sharing_class="not_shared")
    with pytest.raises(ValueError):
        _spec(fields=[{"name": "a", "sensitivity": "sensitive_personal", "generalise": "year"}])


def test_records_are_validated_against_the_schema(engine):
    seed(engine, records=False)
    with session_factory(engine)() as s:
        with pytest.raises(InvalidInput) as err:
            catalogue.upsert_records(s, GONGAN_OFFICER, "population", [{"key": "X", "data": {"colour": "red"}}])
        assert "colour" in err.value.errors[0]["message"]
        with pytest.raises(Forbidden):
            catalogue.upsert_records(s, MINZHENG_OFFICER, "population", [{"key": "X", "data": {}}])
        assert catalogue.upsert_records(s, GONGAN_OFFICER, "population", [{"key": "X", "data": {"name": "甲"}}]) == 1
        assert catalogue.upsert_records(s, GONGAN_OFFICER, "population", [{"key": "X", "data": {"name": "乙"}}]) == 1


def test_open_rows_drop_personal_and_internal_fields_and_generalise(engine):
    seed(engine)
    company = {
        "credit_code": "91310101MA1FL0000X", "company_name": "示例科技有限公司", "legal_representative": "王五",
        "representative_id_number": "310101198001011111", "contact_phone": "13700000000",
        "registered_address": "上海市黄浦区河南中路88号", "industry": "software", "established_on": "2020-01-02",
        "status": "active",
    }
    with session_factory(engine)() as s:
        catalogue.upsert_records(s, actor("data_officer", "shichang"), "legal_persons", [{"key": "C1", "data": company}])
        ds, columns, rows = catalogue.open_rows(s, "legal_persons")
        rows = list(rows)
        with pytest.raises(NotFound):
            catalogue.open_rows(s, "population")
    assert columns == ["credit_code", "company_name", "registered_address", "industry", "established_on", "status"]
    assert rows == [["91310101MA1FL0000X", "示例科技有限公司", "上海市黄浦区", "software", "2020-01-02", "active"]]


def test_dcat_export(engine):
    seed(engine)
    with session_factory(engine)() as s:
        items, _ = catalogue.search(s, ADMIN, limit=100)
    doc = catalogue.dcat(items, "http://testserver/")
    assert doc["@type"] == "dcat:Catalog" and "dcat" in doc["@context"]
    by_id = {d["dct:identifier"]: d for d in doc["dcat:dataset"]}
    pop, lp = by_id["population"], by_id["legal_persons"]
    assert pop["@type"] == "dcat:Dataset"
    assert pop["dct:accessRights"]["@id"].endswith("/RESTRICTED")
    assert pop["dct:accrualPeriodicity"]["@id"].endswith("/DAILY")
    # a restricted dataset is reached through the access service, never downloaded
    assert [d["dcat:accessURL"]["@id"] for d in pop["dcat:distribution"]] == ["http://testserver/api/v1/access/read"]
    assert not any("dcat:downloadURL" in d for d in pop["dcat:distribution"])
    assert [d["dcat:downloadURL"]["@id"] for d in lp["dcat:distribution"]] == [
        "http://testserver/api/v1/catalogue/legal_persons/download.csv", "http://testserver/api/v1/catalogue/legal_persons/download.parquet"]
    assert {"@value": "人口基础库", "@language": "zh"} in pop["dct:title"]
    assert "dct:modified" in pop and "dct:modified" not in by_id["spatial"]
