"""Simulated base registries for the demo district, seeded consistently from one seed.

    seed_services(engine_or_session, seed=7, persons=30_000, companies=3_000, days=0, per_day=600, at=None)

loads the services' definitions (base-registry datasets, written-out matters, decision tables),
imports the demo district's published matter list (`demo/data/matters-guangan-511602.csv`,
a real district's, mapped by `govservices/definitions/department-map-guangan.yaml`), makes the
grants the matters need and — when the registries are empty — adds the records of
`persons` people and `companies` companies: one household per family, marriages between
registered people, births for some couples, property, social insurance, provident fund, tax,
disability, education and vehicles, so that every registry tells the same story about the same
person. Everything depends only on the seed (no clock: ages are counted at REFERENCE_DAY).

A few fixed personas (`PERSONAS`, `demo/personas.py`) come first, whatever the seed, for the
demo and the tests. Only public service functions are used, as any other client would.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from twonets.core.actor import SYSTEM
from twonets.core.calendar import utcnow
from twonets.core.db import unit_of_work
from twonets.data import catalogue
from twonets.demo.applications import simulate
from twonets.demo.personas import PERSONA_COMPANY, PERSONAS, credit_code, person_id  # noqa: F401  (re-exported)
from twonets.govservices import catalogue as services_catalogue
from twonets.govservices import matter_list, matters, stats

MATTER_LIST = Path(__file__).with_name("data") / "matters-guangan-511602.csv"

REFERENCE_DAY = date(2026, 1, 1)
DISTRICT_CODE = "310101"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国红梅文玉兰飞鹏辉宇晨浩然思雨欣怡子涵梓萱一诺宇轩俊杰佳琪"
STREETS = (
    "南京东路街道", "外滩街道", "人民广场街道", "福州路街道", "瑞金二路街道", "淮海中路街道", "豫园街道",
    "小东门街道", "老西门街道", "新天地街道", "董家渡街道", "打浦桥街道", "五里桥街道", "半淞园路街道",
)
ROADS = ("南京东路", "河南中路", "福州路", "西藏中路", "淮海中路", "复兴中路", "中华路", "陆家浜路", "瑞金二路", "徐家汇路")
INDUSTRIES = (("餐饮", "catering"), ("零售", "retail"), ("科技", "technology"), ("物流", "logistics"), ("咨询", "consulting"), ("建筑", "construction"))
BRANDS = "恒信泰安华申宏达金鼎瑞祥嘉禾永盛博远新锐明德启航润丰"
PERSONA_COMPANY_STREET = "南京东路街道"
DEGREES = ("high_school", "college", "bachelor", "master", "doctor")

def id_number(birth: date, seq: int, gender: int) -> str:
    """An 18-digit resident ID number (GB 11643) with a valid check character."""
    seq3 = (seq % 500) * 2 + (1 if gender == 1 else 2)
    body = f"{DISTRICT_CODE}{birth:%Y%m%d}{seq3 % 1000:03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(c) * w for c, w in zip(body, weights))
    return body + "10X98765432"[total % 11]


def _age(birth: date) -> int:
    return REFERENCE_DAY.year - birth.year - ((REFERENCE_DAY.month, REFERENCE_DAY.day) < (birth.month, birth.day))


class _Registries:
    """Records per dataset, built in memory, written in bulk."""

    def __init__(self) -> None:
        self.rows: dict[str, list[dict[str, Any]]] = defaultdict(list)

    def add(self, dataset: str, key: str, subject: str, data: dict[str, Any]) -> None:
        self.rows[dataset].append({"key": key, "subject_id": subject, "data": data})


def _person(reg: _Registries, rng: random.Random, p: dict[str, Any], seq: int) -> None:
    pid = p["person_id"]
    birth = date.fromisoformat(p["birth_date"])
    street = p.get("street") or rng.choice(STREETS)
    address = f"上海市黄浦区{rng.choice(ROADS)}{rng.randint(1, 999)}号{rng.randint(1, 30)}0{rng.randint(1, 4)}室"
    reg.add("population", pid, pid, {
        "person_id": pid, "name": p["name"], "id_number": id_number(birth, seq, p.get("gender", 1)),
        "phone": f"1{rng.choice('3578')}{rng.randint(0, 999999999):09d}", "address": address,
        "birth_date": birth.isoformat(), "street": street, "household_type": "local" if p.get("local") else "resident",
    })
    if p.get("local"):
        reg.add("households", pid, pid, {
            "person_id": pid, "household_id": p.get("household_id", f"H{pid[1:]}"), "relation": p.get("relation", "head"),
            "hukou_street": street, "registered_on": max(birth, date(1990, 1, 1)).isoformat(),
        })
    if p.get("married_to"):
        reg.add("marriage", pid, pid, {"person_id": pid, "status": "married", "spouse_id": p["married_to"],
                                       "registered_on": p.get("married_on", "2018-05-20")})
    if p.get("child"):
        cid, cname, cbirth = p["child"]
        reg.add("births", f"{cid}-{pid}", pid, {"parent_id": pid, "child_id": cid, "child_name": cname, "birth_date": cbirth,
                                                "certificate_no": f"Q31{cid[1:]}", "hospital": "黄浦区妇幼保健院"})
    if p.get("insurance"):
        status, months = p["insurance"]
        reg.add("social_insurance", pid, pid, {"person_id": pid, "status": status, "employer": PERSONA_COMPANY["credit_code"], "months_paid": months})
    if p.get("fund"):
        status, months = p["fund"]
        reg.add("provident_fund", pid, pid, {"person_id": pid, "account_no": f"GJJ{pid[1:]}01", "status": status,
                                             "months_paid": months, "balance": round(months * 2400.0, 2)})
    for n in range(p.get("property", 0)):
        reg.add("property", f"{pid}-{n}", pid, {"owner_id": pid, "property_id": f"沪{2015 + n}黄浦{pid[1:]}{n}", "address": address,
                                                 "area_m2": 60.0 + 10 * n, "usage": "residential", "acquired_on": f"{2015 + n}-06-01"})
    if "tax" in p:
        reg.add("tax", f"{pid}-2025", pid, {"taxpayer_id": pid, "year": 2025, "tax_paid": 12000.0, "arrears": bool(p["tax"])})
    if p.get("vehicle"):
        reg.add("vehicles", f"{pid}-0", pid, {"owner_id": pid, "plate": f"沪A{pid[-5:]}", "vehicle_type": "small_car",
                                              "energy": "ev", "registered_on": "2021-03-01"})
    if p.get("degree"):
        reg.add("education", pid, pid, {"person_id": pid, "degree": p["degree"], "school": "复旦大学", "graduated_on": "2015-07-01"})
    if p.get("disability"):
        reg.add("disability", pid, pid, {"person_id": pid, "certificate_no": f"31010119{pid[1:]}", "category": "physical", "level": p["disability"]})


def build(seed: int, persons: int, companies: int) -> dict[str, list[dict[str, Any]]]:
    """Every registry's records for the demo population (pure: depends only on the arguments)."""
    rng = random.Random(seed)
    reg = _Registries()
    for n, p in enumerate(PERSONAS.values()):
        _person(reg, rng, p, 900 + n)
    people: list[dict[str, Any]] = []
    for i in range(1, persons + 1):
        age = min(int(rng.triangular(0, 98, 38)), 97)
        birth = date(REFERENCE_DAY.year - age - 1, rng.randint(1, 12), rng.randint(1, 28))
        gender = rng.choice((1, 2))
        p: dict[str, Any] = {
            "person_id": person_id(i), "name": rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2)))),
            "birth_date": birth.isoformat(), "gender": gender, "local": rng.random() < 0.7, "street": rng.choice(STREETS),
        }
        a = _age(birth)
        if 18 <= a < 65 and rng.random() < 0.78:
            p["insurance"] = ("active" if rng.random() < 0.9 else "suspended", rng.randint(1, min(480, (a - 17) * 12)))
        if 22 <= a < 60 and rng.random() < 0.6:
            p["fund"] = ("active" if rng.random() < 0.9 else "closed", rng.randint(1, min(400, (a - 21) * 12)))
        if a >= 22:
            r = rng.random()
            p["property"] = 0 if r < 0.45 else 1 if r < 0.92 else 2
            if rng.random() < 0.7:
                p["tax"] = rng.random() < 0.02
            if rng.random() < 0.3:
                p["vehicle"] = True
            if rng.random() < 0.6:
                p["degree"] = rng.choice(DEGREES)
        if rng.random() < 0.02:
            p["disability"] = rng.randint(1, 4)
        people.append(p)
    # households: locals grouped into families of 1–4 by street; marriages among adults.
    by_street: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for p in people:
        if p["local"]:
            by_street[p["street"]].append(p)
    for street, members in by_street.items():
        i = 0
        while i < len(members):
            size = rng.choice((1, 2, 2, 3, 3, 4))
            family = members[i : i + size]
            hid = f"H{family[0]['person_id'][1:]}"
            for k, m in enumerate(family):
                m["household_id"] = hid
                m["relation"] = "head" if k == 0 else ("spouse" if k == 1 else "child")
            i += size
    adults = [p for p in people if 22 <= _age(date.fromisoformat(p["birth_date"])) < 80]
    rng.shuffle(adults)
    men = [p for p in adults if p["gender"] == 1]
    women = [p for p in adults if p["gender"] == 2]
    child_seq = 0
    for h, w in zip(men, women):
        if rng.random() < 0.6:
            h["married_to"], w["married_to"] = w["person_id"], h["person_id"]
            h["married_on"] = w["married_on"] = f"{rng.randint(1995, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            if _age(date.fromisoformat(w["birth_date"])) < 42 and rng.random() < 0.08:
                child_seq += 1
                born = REFERENCE_DAY - timedelta(days=rng.randint(1, 300))
                child = (f"C{child_seq:06d}", h["name"][0] + rng.choice(GIVEN) + rng.choice(GIVEN), born.isoformat())
                h["child"] = w["child"] = child
    for n, p in enumerate(people):
        _person(reg, rng, p, n)
    # companies: the persona first, then generated ones with a representative among adults.
    reps = [p for p in people if 25 <= _age(date.fromisoformat(p["birth_date"])) < 70] or people
    pop = {r["key"]: r["data"] for r in reg.rows["population"]}
    comps = [PERSONA_COMPANY] + [
        {
            "credit_code": credit_code(i),
            "company_name": f"上海{rng.choice(BRANDS)}{rng.choice(BRANDS)}{ind[0]}有限公司",
            "representative": rng.choice(reps)["person_id"] if reps else "P900003",
            "industry": ind[1],
            "status": "active" if rng.random() < 0.95 else "deregistered",
        }
        for i in range(1, companies + 1)
        for ind in [rng.choice(INDUSTRIES)]
    ]
    premises_rng = random.Random(f"{seed}-premises")  # its own stream: the other registries stay as they were
    for c in comps:
        rep = pop.get(c["representative"], {})
        reg.add("legal_persons", c["credit_code"], c["credit_code"], {
            "credit_code": c["credit_code"], "company_name": c["company_name"], "legal_representative": rep.get("name"),
            "representative_id_number": rep.get("id_number"), "contact_phone": rep.get("phone"),
            "registered_address": f"上海市黄浦区{rng.choice(ROADS)}{rng.randint(1, 999)}号", "industry": c["industry"],
            "established_on": f"{rng.randint(2000, 2025)}-{rng.randint(1, 12):02d}-01", "status": c["status"],
        })
        street = PERSONA_COMPANY_STREET if c is PERSONA_COMPANY else premises_rng.choice(STREETS)
        reg.add("business_premises", c["credit_code"], c["credit_code"], {
            "credit_code": c["credit_code"], "premises_address": f"上海市黄浦区{premises_rng.choice(ROADS)}{premises_rng.randint(1, 999)}号",
            "street": street, "kind": "street_shop" if c["industry"] in ("catering", "retail") else "office",
            "floor_area_m2": float(premises_rng.randint(20, 400)),
        })
        reg.add("tax", f"{c['credit_code']}-2025", c["credit_code"], {
            "taxpayer_id": c["credit_code"], "year": 2025, "tax_paid": float(rng.randint(1, 500) * 1000),
            "arrears": c is not PERSONA_COMPANY and rng.random() < 0.03,
        })
    return dict(reg.rows)


def registries_empty(session: Session) -> bool:
    return catalogue.count_records(session, "households") == 0


def seed_registries(session: Session, seed: int, persons: int, companies: int, *, at: datetime | None = None) -> dict[str, int]:
    rows = build(seed, persons, companies)
    out = {}
    for code, records in rows.items():
        out[code] = catalogue.upsert_records(session, SYSTEM, code, records, at=at, announce=False)  # an initial load
    return out


def seed_services(
    engine_or_session: Engine | Session,
    seed: int = 7,
    *,
    persons: int = 30_000,
    companies: int = 3_000,
    days: int = 0,
    per_day: int = 600,
    at: datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Everything the services need for a demo: registries in the catalogue and (when empty)
    their records, the catalogue (written-out matters + the imported list), the decision
    tables and the grants. Idempotent.

    `progress(step)` is called as each of the SEED_STEPS begins (a CLI shows it as a bar).

    With `days` > 0 and no application stored yet, it also simulates that many days of
    applications (about `per_day` on working days) ending yesterday (`demo/applications.py`).

    With an Engine it runs in its own unit of work; with a Session it leaves the commit to
    the caller. Returns counts: matters (written_out, imported — the import summary — and
    total), rules, grants, records per registry, applications."""
    if isinstance(engine_or_session, Session):
        return _seed(engine_or_session, seed, persons, companies, days, per_day, at, progress)
    with unit_of_work(engine_or_session) as session:
        return _seed(session, seed, persons, companies, days, per_day, at, progress)


SEED_STEPS = ("catalogue", "matter list", "grants", "base-registry records", "applications")


def _seed(session: Session, seed: int, persons: int, companies: int, days: int, per_day: int, at: datetime | None,
          progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    step = progress or (lambda _name: None)
    at = at or utcnow()
    step("catalogue")
    synced = services_catalogue.sync_definitions(session, at=at)
    step("matter list")
    imported = matter_list.import_file(session, MATTER_LIST, matter_list.GUANGAN_MAPPING, at=at)
    result: dict[str, Any] = {
        "matters": {"written_out": synced["matters"], "imported": imported, "total": matters.count(session)},
        "rules": synced["rules"],
    }
    step("grants")
    result["grants"] = services_catalogue.grant_all(session, at=at)
    step("base-registry records")
    result["records"] = seed_registries(session, seed, persons, companies, at=at) if registries_empty(session) else {}
    step("applications")
    if days > 0 and stats.count_applications(session) == 0:
        result["applications"] = simulate(session, seed, days, per_day, persons=persons, companies=companies, end=at)
    return result
