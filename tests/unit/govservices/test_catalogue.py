"""The matter catalogue, decision tables and the seeded registries."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import yaml

from tests.unit.govservices.support import seeded
from twonets.core.db import session_factory
from twonets.core.definitions import DefinitionError
from twonets.core.errors import InvalidInput
from twonets.demo.govservices import PERSONAS, build, id_number
from twonets.govservices import matters, rules


def test_written_out_matters_are_what_the_definitions_hold_and_nothing_generated():
    full = matters.written_out()
    files = sorted(matters.DEFINITIONS.glob("*.yaml"))
    defined = sum(len(yaml.safe_load(p.read_text(encoding="utf-8"))["matters"]) for p in files)
    assert len(full) == defined == len({m.code for m in full}) >= 40
    assert all(m.full and "（第" not in m.name_zh for m in full)
    assert {m.department for m in full} <= matters.department_codes()
    instant = [m for m in full if m.processing == "instant"]
    assert len(instant) >= 10 and all(m.rule in rules.tables() for m in instant)
    sources = Counter(mat.source for m in full for mat in m.materials)
    assert set(sources) == {"upload", "dataset", "licence"}
    assert matters.written_out() == tuple(matters.load_full())  # deterministic


def test_search_filters_and_import_export_roundtrip(sqlite_engine):
    seeded(sqlite_engine)
    with session_factory(sqlite_engine)() as s:
        total = matters.count(s)  # the written-out matters and the demo's imported list, nothing more
        imported = len(matters.search(s, full=False, limit=5000)[0])
        assert total == len(matters.written_out()) + imported and imported > 1000
        items, nxt = matters.search(s, department="shichang", full=True, limit=10)
        assert [i["code"] for i in items] == ["SHICHANG-001", "SHICHANG-002", "SHICHANG-003", "SHICHANG-004"] and nxt is None
        assert {i["code"] for i in matters.search(s, q="food", limit=10)[0]} >= {"SHICHANG-002", "SHICHANG-004"}
        assert all(i["cross_region"] for i in matters.search(s, cross_region=True, limit=200)[0])
        with pytest.raises(InvalidInput):
            matters.search(s, type="nonsense")
        assert "MINZHENG-001" in matters.power_list(s, "minzheng")

        exported = json.loads(matters.export_json(s))
        assert len(exported) == total
        exported[0]["name_en"] = "Renamed"
        assert matters.import_json(s, json.dumps(exported)) == {"created": 0, "updated": 1, "total": total}
        csv_text = matters.export_csv(s)
        assert csv_text.splitlines()[0].startswith("code,name_zh,name_en,department")
        new_row = "code,name_zh,name_en,department,type,promised_days,statutory_days\nTIYU-099,新事项,New matter,tiyu,public_service,2,5\n"
        assert matters.import_csv(s, new_row)["created"] == 1
        assert matters.get(s, "TIYU-099").promised_days == 2
        with pytest.raises(InvalidInput) as exc:
            matters.import_csv(s, "code,name_zh,name_en,department,type\nTIYU-100,x,y,nowhere,public_service\n")
        assert exc.value.errors[0]["field"] == "rows[0].department"
        with pytest.raises(InvalidInput) as exc:
            matters.import_json(s, json.dumps([{"code": "bad", "name_zh": "x"}]))
        assert exc.value.errors[0]["field"].startswith("matters[0].")


def test_bad_definition_names_file_line_and_reason(tmp_path: Path):
    bad = tmp_path / "rules.yaml"
    bad.write_text(
        "tables:\n  - id: t\n    version: 1\n    inputs: [{name: age, expr: applicant.age}]\n"
        "    rows:\n      - {when: {age: '>> 3'}, outcome: approve, reason_zh: 是, reason_en: yes}\n",
        encoding="utf-8",
    )
    with pytest.raises(DefinitionError) as exc:
        rules.load_file(bad)
    assert exc.value.line == 6 and "not understood" in exc.value.reason
    bad_matter = tmp_path / "m.yaml"
    bad_matter.write_text("matters:\n  - code: X-001\n    name_zh: 甲\n    name_en: A\n    department: gongan\n    type: licence\n", encoding="utf-8")
    with pytest.raises(DefinitionError) as exc:
        matters.load_full(tmp_path)
    assert exc.value.line == 6 and exc.value.path == bad_matter


@pytest.mark.parametrize(
    "cond,value,expected",
    [
        ("-", None, True), ("null", None, True), ("not null", 0, True), (">= 60", 60, True), ("< 18", None, False),
        ("== active", "active", True), ("!= active", None, True), ("in [a, b]", "b", True), ("not in [a, b]", "c", True),
        ("[1..2]", 2, True), ("[1..2]", 3, False), (True, True, True), ("catering", "catering", True), ("> 5", "x", False),
    ],
)
def test_conditions(cond, value, expected):
    assert rules.compile_condition(cond)(value) is expected


def test_hit_policies():
    t = rules.Table.model_validate({
        "id": "t", "version": 1, "hit_policy": "UNIQUE",
        "inputs": [{"name": "a", "expr": "form.a"}],
        "rows": [
            {"when": {"a": "> 1"}, "outcome": "approve", "reason_zh": "甲", "reason_en": "A"},
            {"when": {"a": "> 2"}, "outcome": "reject", "reason_zh": "乙", "reason_en": "B"},
        ],
    })
    assert rules.evaluate(t, {"form": {"a": 2}}).outcome == "approve"
    assert rules.evaluate(t, {"form": {"a": 3}}).outcome == "review"  # ambiguous
    assert rules.evaluate(t, {"form": {"a": 0}}).reason_en == "No rule applies; sent to review."
    prio = t.model_copy(update={"hit_policy": "PRIORITY"})
    assert rules.evaluate(prio, {"form": {"a": 3}}).reason_en == "B"


def test_registries_are_consistent_and_deterministic():
    a, b = build(3, 400, 20), build(3, 400, 20)
    assert a == b and build(4, 400, 20) != a
    people = {r["key"]: r["data"] for r in a["population"]}
    assert len(people) == 400 + len(PERSONAS)
    for r in a["marriage"]:  # spouses are registered people, married to each other
        spouse = r["data"]["spouse_id"]
        assert spouse in people
    married = {r["key"]: r["data"]["spouse_id"] for r in a["marriage"]}
    assert all(married.get(s) == p for p, s in married.items())
    locals_ = {k for k, d in people.items() if d["household_type"] == "local"}
    assert {r["key"] for r in a["households"]} == locals_
    assert all(r["data"]["parent_id"] in people for r in a["births"])
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    for d in list(people.values())[:50]:
        n = d["id_number"]
        assert len(n) == 18 and "10X98765432"[sum(int(c) * w for c, w in zip(n[:17], weights)) % 11] == n[17]
    from datetime import date

    assert id_number(date(1990, 1, 1), 1, 1)[6:14] == "19900101"
