"""The city's reference data as definitions: escalation levels and event categories, over the
district's departments (`data.departments`).

Loaded once from `definitions/*.yaml`; `sync(session)` mirrors them into tables so that SQL
(KPIs, listings) can join on them.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from twonets.core import definitions
from twonets.core.calendar import CLOCKS, Limit
from twonets.core.i18n import Msg
from twonets.data.departments import Department
from twonets.data.departments import departments as all_departments

DEFINITIONS = Path(__file__).with_name("definitions")
SEVERITIES = ("normal", "urgent")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EscalationLevel(_Strict):
    level: int = Field(ge=0, le=9)
    name_zh: str
    name_en: str
    leader: str | None = None


class EscalationFile(_Strict):
    escalation: list[EscalationLevel]

    @model_validator(mode="after")
    def _in_order(self):
        if [e.level for e in self.escalation] != list(range(len(self.escalation))):
            raise ValueError("escalation levels must be 0, 1, 2, … in order")
        return self


class LimitSpec(_Strict):
    clock: str
    value: float = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _clock(self):
        if self.clock not in CLOCKS:
            raise ValueError(f"clock must be one of {', '.join(CLOCKS)}")
        return self

    def limit(self) -> Limit:
        return Limit(self.clock, self.value)


class Minor(_Strict):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name_zh: str
    name_en: str
    department: str
    limits: dict[Literal["normal", "urgent"], LimitSpec]

    @model_validator(mode="after")
    def _both(self):
        missing = set(SEVERITIES) - set(self.limits)
        if missing:
            raise ValueError(f"a time limit is needed for every severity; missing {sorted(missing)}")
        return self


class Major(_Strict):
    code: str
    name_zh: str
    name_en: str
    minors: list[Minor]


class CategoryFile(_Strict):
    majors: list[Major]


class Category(BaseModel):
    """A minor category with its major, as the rest of the system sees it."""

    code: str
    name_zh: str
    name_en: str
    major_code: str
    major_name_zh: str
    major_name_en: str
    department: str
    limits: dict[str, LimitSpec]


class Reference(BaseModel):
    departments: dict[str, Department]
    escalation: list[EscalationLevel]
    categories: dict[str, Category]

    def category(self, code: str) -> Category:
        from twonets.core.errors import InvalidInput

        try:
            return self.categories[code]
        except KeyError:
            raise InvalidInput(
                Msg("Unknown category {code!r}. Use one of the minor category codes from GET /api/v1/categories.", code=code),
                errors=[{"field": "category", "message": Msg("unknown category")}],
            ) from None

    def department(self, code: str) -> Department:
        from twonets.core.errors import InvalidInput

        try:
            return self.departments[code]
        except KeyError:
            raise InvalidInput(
                Msg("Unknown department {code!r}. See GET /api/v1/departments.", code=code),
                errors=[{"field": "department", "message": Msg("unknown department")}],
            ) from None

    @property
    def top_level(self) -> int:
        return len(self.escalation) - 1


def load(directory: Path = DEFINITIONS, departments: dict[str, Department] | None = None) -> Reference:
    escalation = definitions.load(directory / "escalation.yaml", EscalationFile).escalation
    cat_file = definitions.load(directory / "categories.yaml", CategoryFile)
    departments = all_departments() if departments is None else departments
    categories: dict[str, Category] = {}
    for major in cat_file.majors:
        for minor in major.minors:
            if minor.department not in departments:
                raise definitions.DefinitionError(
                    directory / "categories.yaml", None, f"{minor.code}: unknown department {minor.department!r}"
                )
            if minor.code in categories:
                raise definitions.DefinitionError(
                    directory / "categories.yaml", None, f"duplicate category {minor.code!r}"
                )
            categories[minor.code] = Category(
                code=minor.code,
                name_zh=minor.name_zh,
                name_en=minor.name_en,
                major_code=major.code,
                major_name_zh=major.name_zh,
                major_name_en=major.name_en,
                department=minor.department,
                limits=dict(minor.limits),
            )
    return Reference(departments=departments, escalation=escalation, categories=categories)


@lru_cache(maxsize=1)
def reference() -> Reference:
    return load()
