"""The fixed people and companies of the demo district, whatever the seed (ids outside the
generated ranges), and the form of generated ids, shared by the registries seeder
(`demo/govservices.py`) and the simulated applications (`demo/applications.py`).
"""

from __future__ import annotations

from typing import Any

# Fixed people and companies for the demo and the tests (ids outside the generated ranges).
PERSONAS: dict[str, dict[str, Any]] = {
    "elderly_local": {"person_id": "P900001", "name": "王建国", "birth_date": "1958-03-12", "gender": 1, "local": True},
    "young_resident": {"person_id": "P900002", "name": "李娜", "birth_date": "1994-07-08", "gender": 2, "local": False,
                       "insurance": ("active", 24)},
    "new_parent": {"person_id": "P900003", "name": "赵明", "birth_date": "1990-05-20", "gender": 1, "local": True,
                   "insurance": ("active", 60), "fund": ("active", 72), "property": 1, "vehicle": True, "married_to": "P900004",
                   "child": ("C900001", "赵小宝", "2026-09-01"), "tax": False, "degree": "master"},
    "new_mother": {"person_id": "P900004", "name": "钱芳", "birth_date": "1992-11-02", "gender": 2, "local": True,
                   "insurance": ("active", 36), "married_to": "P900003", "child": ("C900001", "赵小宝", "2026-09-01")},
    "minor": {"person_id": "P900005", "name": "孙浩然", "birth_date": "2010-02-14", "gender": 1, "local": True},
    "tax_arrears": {"person_id": "P900006", "name": "周强", "birth_date": "1980-09-30", "gender": 1, "local": True, "tax": True},
    "new_resident": {"person_id": "P900007", "name": "吴静", "birth_date": "1998-01-15", "gender": 2, "local": False,
                     "insurance": ("active", 3)},
    "very_old": {"person_id": "P900008", "name": "郑秀英", "birth_date": "1938-04-02", "gender": 2, "local": True},
}
PERSONA_COMPANY = {"credit_code": "91310101MA9000001X", "company_name": "上海恒信餐饮管理有限公司", "representative": "P900003",
                   "industry": "catering", "status": "active"}


def credit_code(i: int) -> str:
    """The unified social credit code of generated company `i` (0 is the persona company)."""
    return PERSONA_COMPANY["credit_code"] if i == 0 else f"91310101MA{i:07d}{'0123456789X'[i % 11]}"


def person_id(i: int) -> str:
    """The id of generated person `i` (1-based)."""
    return f"P{i:06d}"
