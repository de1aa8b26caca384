"""The matter catalogue of a system made by `twonets db upgrade` alone (no demo), and a
district's published matter list imported with `twonets matters import FILE --mapping MAP`:
through the CLI and the HTTP API."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from tests.unit.data.support import client_for, data_env  # noqa: F401
from twonets.cli import app as cli
from twonets.core.actor import SYSTEM
from twonets.core.db import default_engine, session_factory
from twonets.core.errors import InvalidInput, NotFound
from twonets.data import catalogue, identity
from twonets.demo.govservices import MATTER_LIST
from twonets.govservices import matter_list, matters

pytestmark = pytest.mark.usefixtures("data_env")
runner = CliRunner()
MAPPING = str(matter_list.GUANGAN_MAPPING)


@pytest.fixture
def upgraded(tmp_path, monkeypatch):
    """An empty SQLite file after `twonets db upgrade` and nothing else."""
    from twonets.core import config, db

    monkeypatch.setenv("TWONETS_DATABASE_URL", f"sqlite:///{tmp_path / 'fresh.db'}")
    config.settings.cache_clear()
    db.engine_for.cache_clear()
    r = runner.invoke(cli, ["db", "upgrade"])
    assert r.exit_code == 0, r.output
    yield default_engine()
    config.settings.cache_clear()
    db.engine_for.cache_clear()


def _bearer(engine, username: str, roles: list[str], subject: str) -> dict[str, str]:
    with session_factory(engine)() as s:
        user = identity.create_user(s, SYSTEM, username=username, password=None, roles=roles, subject_id=subject)
        s.commit()
    token, _ = identity.issue_access_token(user.actor())
    return {"Authorization": f"Bearer {token}"}


def _all(c, **params) -> list[dict]:
    items, cursor = [], None
    while True:
        page = c.get("/api/v1/matters", params={**params, "limit": 200, **({"cursor": cursor} if cursor else {})}).json()
        items += page["items"]
        cursor = page["next"]
        if not cursor:
            return items


def test_db_upgrade_alone_serves_the_written_out_matters_and_decides_by_their_rules(upgraded):
    c = client_for(upgraded)
    listed = _all(c)
    assert sorted(m["code"] for m in listed) == sorted(m.code for m in matters.written_out())
    assert all(m["full"] for m in listed)
    assert c.get("/api/v1/matters/MINZHENG-001").json()["rule"] == "elderly_card"

    # the district's own registries hold a 70-year-old local resident
    with session_factory(upgraded)() as s:
        catalogue.upsert_records(s, SYSTEM, "population", [{"key": "P1", "subject_id": "P1", "data": {
            "person_id": "P1", "name": "张老伯", "id_number": "310101195601011234", "phone": "13800000001",
            "address": "黄浦区福州路1号", "birth_date": "1956-01-01", "street": "外滩街道", "household_type": "local"}}])
        catalogue.upsert_records(s, SYSTEM, "households", [{"key": "P1", "subject_id": "P1", "data": {
            "person_id": "P1", "household_id": "H1", "relation": "head", "hukou_street": "外滩街道", "registered_on": "1990-01-01"}}])
        s.commit()
    r = c.post("/api/v1/applications", headers=_bearer(upgraded, "zhang", ["citizen"], "P1"),
               json={"matter": "MINZHENG-001", "consent": True, "submit": True})
    assert r.status_code == 201, r.text
    app = r.json()
    assert app["instant"] is True and app["outcome"] == "approve" and app["decision"]["table"] == "elderly_card"
    assert app["state"] == "licence_issued"


def test_import_the_published_list_of_a_real_district(upgraded):
    r = runner.invoke(cli, ["matters", "import", str(MATTER_LIST), "--mapping", MAPPING, "--json"])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    departments = yaml.safe_load(matter_list.GUANGAN_MAPPING.read_text(encoding="utf-8"))["departments"]
    unmapped = {name for name, code in departments.items() if code is None}
    assert summary["rows"] == 1135 and set(summary["unmapped"]) == unmapped  # reported, not guessed
    skipped = sum(summary["unmapped"].values())
    kept = len(summary["written_out"])
    assert summary["created"] == summary["imported"] == 1135 - skipped - kept
    assert summary["catalogue"] == len(matters.written_out()) + summary["created"]
    # a listed matter that is written out here is left to it: 社会保障卡申领 stays RENSHE-001
    assert {"name": "社会保障卡申领", "matter": "RENSHE-001"}.items() <= next(
        w for w in summary["written_out"] if w["name"] == "社会保障卡申领").items()

    c = client_for(upgraded)
    found = c.get("/api/v1/matters", params={"q": "适龄儿童、少年因身体状况需要延缓入学"}).json()["items"]
    assert len(found) == 1 and found[0]["department"] == "jiaoyu" and found[0]["full"] is False
    assert found[0]["item_code"] == "511A0138000000-511602000000-000-115113010833722043-1-00"
    assert found[0]["type"] == "administrative_licence" and found[0]["promised_days"] is None
    by_item = c.get("/api/v1/matters", params={"q": "511a0138000000"}).json()["items"]
    assert [m["code"] for m in by_item] == [found[0]["code"]]
    guide = c.get(f"/api/v1/matters/{found[0]['code']}").json()["guide"]
    assert guide["written_out"] is False and "尚未编写" in guide["note_zh"] and guide["materials"] == []
    assert [m["code"] for m in _all(c, q="社会保障卡申领") if m["name_zh"] == "社会保障卡申领"] == ["RENSHE-001"]
    shuiwuju = _all(c, department="shuiwuju")
    assert len(shuiwuju) == 83 + sum(m.department == "shuiwuju" for m in matters.written_out()) - sum(
        1 for w in summary["written_out"] if w["matter"].startswith("SHUIWUJU-"))

    # listed but not open: an application is refused with a conflict, not a 500
    r = c.post("/api/v1/applications", headers={**_bearer(upgraded, "li.na", ["citizen"], "P2"), "Accept-Language": "en"},
               json={"matter": found[0]["code"], "consent": True})
    assert r.status_code == 409 and "not yet written out" in r.json()["detail"]

    # re-import: the item code is the key, nothing new; a renamed item is updated in place
    again = json.loads(runner.invoke(cli, ["matters", "import", str(MATTER_LIST), "--mapping", MAPPING, "--json"]).stdout)
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, summary["created"])
    assert again["catalogue"] == summary["catalogue"]


def test_reimport_updates_by_item_code_and_never_touches_a_written_out_matter(upgraded, tmp_path):
    lines = Path(MATTER_LIST).read_text(encoding="utf-8").splitlines()
    small = tmp_path / "list.csv"
    small.write_text("\n".join(lines[:4]) + "\n", encoding="utf-8")
    first = json.loads(runner.invoke(cli, ["matters", "import", str(small), "--mapping", MAPPING, "--json"]).stdout)
    assert first["created"] == 2 and first["unmapped"] == {"区经信局": 1}
    with session_factory(upgraded)() as s:
        before = {m.item_code: m.code for m in matters.all_matters(s) if m.item_code}
        written = matters.get(s, "RENSHE-001")
    renamed = lines[2].replace("适龄儿童、少年", "适龄儿童少年")
    edited = tmp_path / "edited.csv"
    # a renamed row, and a row that names a written-out matter under a new item code
    edited.write_text("\n".join([lines[0], lines[1], renamed, lines[3],
                                 "区人社局,未分类,社会保障卡申领,NEW-CODE-1,20,x"]) + "\n", encoding="utf-8")
    r = runner.invoke(cli, ["matters", "import", str(edited), "--mapping", MAPPING, "--json"])
    out = json.loads(r.stdout)
    assert (out["created"], out["updated"]) == (0, 1) and out["written_out"][0]["matter"] == "RENSHE-001"
    with session_factory(upgraded)() as s:
        after = {m.item_code: m for m in matters.all_matters(s) if m.item_code}
        assert {k: m.code for k, m in after.items()} == before  # same local codes
        assert after[lines[2].split(",")[3]].name_zh.startswith("适龄儿童少年")
        assert matters.get(s, "RENSHE-001") == written and "NEW-CODE-1" not in after


@pytest.mark.parametrize(
    "text,where",
    [
        ("department,name,item_code\n区民政局,甲,X1\n", "line 1: the header lacks column(s) task_type"),
        ("department,group,name,item_code,task_type,dept_code\n区民政局,未分类,甲,X1,1,d\n区民政局,未分类,乙,X2,一,d\n",
         "line 3, column task_type: '一' is not a task type code"),
        ("department,group,name,item_code,task_type,dept_code\n区民政局,未分类,,X1,1,d\n", "line 2, column name: empty"),
        ("department,group,name,item_code,task_type,dept_code\n区民政局,未分类,甲,X1,1,d\n区民政局,未分类,乙,X1,1,d\n",
         "line 3, column item_code: X1 is listed twice (first on line 2)"),
        ("department,group,name,item_code,task_type,dept_code\n区民政局,未分类,甲,X1,3,d\n",
         "line 2, column task_type: task type 3 has no matter type in the mapping file"),
    ],
)
def test_a_bad_list_is_one_clear_line_naming_row_and_column_and_exit_2(upgraded, tmp_path, text, where):
    bad = tmp_path / "bad.csv"
    bad.write_text(text, encoding="utf-8")
    r = runner.invoke(cli, ["matters", "import", str(bad), "--mapping", MAPPING])
    assert r.exit_code == 2
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and where in lines[0] and str(bad) in lines[0]
    r = runner.invoke(cli, ["matters", "import", str(bad), "--mapping", MAPPING, "--json"])
    assert r.exit_code == 2 and where in json.loads(r.stdout)["detail"]
    with session_factory(upgraded)() as s:
        assert matters.count(s) == len(matters.written_out())  # nothing imported


def test_a_bad_mapping_or_file_is_exit_2(upgraded, tmp_path):
    mapping = tmp_path / "map.yaml"
    mapping.write_text("departments:\n  区民政局: minzhengju\ntask_types:\n  1: administrative_licence\n", encoding="utf-8")
    r = runner.invoke(cli, ["matters", "import", str(MATTER_LIST), "--mapping", str(mapping)])
    assert r.exit_code == 2 and "unknown department 'minzhengju'" in r.output and str(mapping) in r.output
    latin = tmp_path / "gbk.csv"
    latin.write_bytes("department,group,name,item_code,task_type,dept_code\n区民政局,未分类,甲,X1,1,d\n".encode("gbk"))
    r = runner.invoke(cli, ["matters", "import", str(latin), "--mapping", MAPPING])
    assert r.exit_code == 2 and "line 2: not UTF-8" in r.output
    r = runner.invoke(cli, ["matters", "import", str(tmp_path / "missing.csv"), "--mapping", MAPPING])
    assert r.exit_code == 2 and "cannot read" in r.output
    copied = tmp_path / "list.csv"
    shutil.copy(MATTER_LIST, copied)
    r = runner.invoke(cli, ["matters", "import", str(copied)])
    assert r.exit_code == 2 and "--mapping" in r.output


def test_a_matter_written_out_later_supersedes_its_imported_entry(upgraded, monkeypatch):
    assert runner.invoke(cli, ["matters", "import", str(MATTER_LIST), "--mapping", MAPPING]).exit_code == 0
    item = "511A0138000000-511602000000-000-115113010833722043-1-00"
    with session_factory(upgraded)() as s:
        imported = next(m for m in matters.all_matters(s) if m.item_code == item)
        before = matters.count(s)
        # the district writes the matter out (with its national item code) and upgrades
        written = matters.written_out()[0].model_copy(update={"item_code": item})
        monkeypatch.setattr(matters, "written_out", lambda: (written, *matters.load_full()[1:]))
        matters.sync(s)
        assert matters.get(s, written.code).item_code == item and matters.count(s) == before - 1
        with pytest.raises(NotFound):
            matters.get(s, imported.code)
        again = matter_list.import_file(s, MATTER_LIST, matter_list.GUANGAN_MAPPING)
        assert {"item_code": item, "matter": written.code}.items() <= next(w for w in again["written_out"] if w["item_code"] == item).items()
        assert again["created"] == 0 and matters.count(s) == before - 1
        # an export/import of matters cannot give one item code to two matters (a 4xx, not a 500)
        other = next(m for m in matters.all_matters(s) if m.item_code and m.code != written.code)
        clash = other.model_dump(mode="json") | {"item_code": item}
        with pytest.raises(InvalidInput) as exc:
            matters.import_json(s, json.dumps([clash]))
        assert "item_code" in exc.value.errors[0]["field"]
