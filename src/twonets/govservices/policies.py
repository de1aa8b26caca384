"""Benefit policies (免申即享) as data: `definitions/policies.yaml`, validated at start.

    - code: BEN-CHILDBIRTH
      name_zh: 生育津贴
      name_en: Childbirth allowance
      department: renshe
      legal_basis: 《上海市城镇生育保险办法》
      amount: {value: 5000, unit: CNY, per: once}
      mode: grant                      # grant: granted at once · offer: one-tap confirmation
      subject: person                  # person (population) | company (legal_persons)
      triggers:                        # what can make someone newly eligible
        - {on: record, dataset: births}            # a registry record added or replaced
        - {on: birthday, ages: [60, 70, 80, 90]}   # the day a person turns one of these ages
        - {on: alarm, detector: elderly_no_water_use}  # a city alarm about the person
        - {on: area_alarm, detector: street_waterlogging}  # a city alarm in the subject's street
      eligibility:                     # a decision table (see rules.py), over the facts
        inputs:
          - {name: child, expr: data.births.child_id}
        rows:
          - {when: {child: "null"}, outcome: reject, reason_zh: 无出生登记, reason_en: No birth registered.}
          - {when: {}, outcome: approve, reason_zh: 符合条件, reason_en: Eligible.}

The facts an eligibility table reads are those of an application (`prefill.facts`): `data.<dataset>`
(the subject's first record), `count.<dataset>`, `applicant.age`, `tags.<tag>` (true when a business
tag on the subject is in force), plus `event.*` (what triggered
the check: `event.on`, `event.detector`, `event.street`). Which datasets and fields a policy reads
follows from its inputs (minimum necessary): `policy.reads()`.
"""

from __future__ import annotations

from functools import cached_property, lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from twonets.core import definitions
from twonets.govservices import rules

POLICIES_FILE = Path(__file__).with_name("definitions") / "policies.yaml"
TAGS_DATASET = "business_tags"
SUBJECT_REGISTRY = {"person": "population", "company": "legal_persons"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Amount(_Strict):
    value: float = Field(ge=0)
    unit: Literal["CNY", "service"] = "CNY"
    per: Literal["once", "month", "year"] = "once"


class Trigger(_Strict):
    on: Literal["record", "birthday", "alarm", "area_alarm"]
    dataset: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*$")
    ages: list[int] = Field(default_factory=list)
    detector: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*$")

    @model_validator(mode="after")
    def _complete(self) -> Trigger:
        need = {"record": "dataset", "birthday": "ages", "alarm": "detector", "area_alarm": "detector"}[self.on]
        if not getattr(self, need):
            raise ValueError(f"a trigger on {self.on} names its {need}")
        if any(a < 1 or a > 130 for a in self.ages):
            raise ValueError("ages are between 1 and 130")
        return self


class Eligibility(_Strict):
    hit_policy: Literal["FIRST", "UNIQUE", "PRIORITY"] = "FIRST"
    inputs: list[rules.Input] = Field(min_length=1)
    rows: list[rules.Row] = Field(min_length=1)


class Policy(_Strict):
    code: str = Field(pattern=r"^BEN-[A-Z0-9-]+$")
    version: int = Field(default=1, ge=1)
    name_zh: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    department: str = Field(min_length=1)
    legal_basis: str = Field(pattern=r"《.+》")
    amount: Amount
    mode: Literal["grant", "offer"]
    subject: Literal["person", "company"] = "person"
    triggers: list[Trigger] = Field(min_length=1)
    eligibility: Eligibility

    @model_validator(mode="after")
    def _table(self) -> Policy:
        self.table  # noqa: B018  (builds and so validates the decision table)
        return self

    @cached_property
    def table(self) -> rules.Table:
        return rules.Table(id=self.code.lower().replace("-", "_"), version=self.version, name_zh=self.name_zh,
                           name_en=self.name_en, hit_policy=self.eligibility.hit_policy,
                           inputs=self.eligibility.inputs, rows=self.eligibility.rows)

    @cached_property
    def registry(self) -> str:
        return SUBJECT_REGISTRY[self.subject]

    def reads(self) -> dict[str, list[str] | None]:
        """Per dataset, the fields the eligibility table uses (None: the whole record; `count.X`)."""
        return self._reads

    @cached_property
    def _reads(self) -> dict[str, list[str] | None]:
        need: dict[str, set[str] | None] = {}
        for i in self.eligibility.inputs:
            parts = i.expr.split(".")
            if parts[0] == "data" and len(parts) >= 2:
                ds, name = parts[1], (parts[2] if len(parts) > 2 else None)
            elif parts[0] == "count" and len(parts) == 2:
                ds, name = parts[1], None
            elif parts[:2] == ["applicant", "age"]:
                ds, name = "population", "birth_date"
            elif parts[0] == "tags":
                ds, name = TAGS_DATASET, "tag"
            else:
                continue
            if name is None:
                need[ds] = None
            elif need.get(ds, set()) is not None:
                need.setdefault(ds, set()).add(name)  # type: ignore[union-attr]
        if "population" in need and need["population"] is not None and self.subject == "person":
            need["population"].add("person_id")  # type: ignore[union-attr]
        return {ds: (sorted(n) if n is not None else None) for ds, n in sorted(need.items())}

    def triggered_by(self, on: str, key: str | None = None) -> bool:
        return any(t.on == on and key in (None, t.dataset, t.detector) for t in self.triggers)

    def purpose(self, particulars: str) -> str:
        from twonets.govservices.registries import GRANT_PURPOSE

        return (f"{GRANT_PURPOSE} — 免申即享 benefit without application: policy {self.code} {self.name_zh}, "
                f"legal basis {self.legal_basis}; {particulars}")

    def summary(self) -> dict:
        return {
            "code": self.code, "version": self.version, "name_zh": self.name_zh, "name_en": self.name_en,
            "department": self.department, "legal_basis": self.legal_basis, "amount": self.amount.model_dump(),
            "mode": self.mode, "subject": self.subject, "triggers": [t.model_dump(exclude_defaults=True) for t in self.triggers],
            "reads": self.reads(), "eligibility": self.eligibility.model_dump(mode="json"),
        }


class PolicyFile(_Strict):
    policies: list[Policy]

    @model_validator(mode="after")
    def _unique(self) -> PolicyFile:
        codes = [p.code for p in self.policies]
        dup = sorted({c for c in codes if codes.count(c) > 1})
        if dup:
            raise ValueError(f"duplicate policy codes: {dup}")
        return self


def load_file(path: Path = POLICIES_FILE) -> dict[str, Policy]:
    """The policies of a file; DefinitionError names file, line and reason."""
    return {p.code: p for p in definitions.load(path, PolicyFile).policies}


@lru_cache(maxsize=1)
def all_policies() -> dict[str, Policy]:
    return load_file(POLICIES_FILE)


def get(code: str) -> Policy:
    from twonets.core.errors import NotFound

    p = all_policies().get(code)
    if p is None:
        raise NotFound(f"no benefit policy {code!r}")
    return p


def needed_grants() -> set[tuple[str, str]]:
    """Every (department, dataset) a policy reads, its subjects' registry included."""
    return {(p.department, ds) for p in all_policies().values() for ds in (*p.reads(), p.registry)}
