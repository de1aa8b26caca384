"""The district's departments (部门): the organisation every package refers to by code.

Routing rules, orders, matters, e-seals, datasets and users name a department by its code.
Loaded once from `definitions/departments.yaml`; a bad entry stops the start with file and line.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from twonets.core import definitions

DEFINITIONS = Path(__file__).with_name("definitions") / "departments.yaml"


class Department(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name_zh: str
    name_en: str
    level: Literal["district", "street", "community"]
    contact: str


class DepartmentFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    departments: list[Department]

    @model_validator(mode="after")
    def _unique(self):
        codes = [d.code for d in self.departments]
        dup = {c for c in codes if codes.count(c) > 1}
        if dup:
            raise ValueError(f"duplicate department codes: {sorted(dup)}")
        return self


def load(path: Path = DEFINITIONS) -> dict[str, Department]:
    return {d.code: d for d in definitions.load(path, DepartmentFile).departments}


@lru_cache(maxsize=1)
def departments() -> dict[str, Department]:
    """Every department by code, in the order of the definitions file."""
    return load()
