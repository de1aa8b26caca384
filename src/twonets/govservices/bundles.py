"""One-thing bundles (一件事一次办) as data: `definitions/bundles.yaml`, validated at start.

A bundle is a graph of steps (matters) with one shared form:

    - code: BUNDLE-HOME-PURCHASE
      name_zh: 二手房买卖一件事
      name_en: Buying a second-hand home
      subject: person
      fields:                                   # the shared form: each asked once
        - {name: price, title_zh: 成交价, title_en: Price, type: number}
        - {name: phone, title_zh: 手机号, title_en: Phone, prefill: population.phone}   # from the registry
      steps:
        - id: deed_tax
          name_zh: 契税申报
          name_en: Deed tax declaration
          department: shuiwuju
          matter: SHUIWUJU-001                  # its licence (if any) is issued when approved
          fields: [price]                       # the shared fields it needs (and only those)
          decision: {inputs: [...], rows: [...]}  # over form.*, data.*, steps.<id>.*, applicant.age
        - id: mortgage
          party: bank                           # an outside party answering through an adapter
          after: [transfer]                     # needs the transfer's output
          fields: [price, loan_amount]

Steps whose `after` are all approved run (in parallel: no order among them); a rejected step
stops every step that needs it, directly or not, with the reason; independent ones continue.
"""

from __future__ import annotations

from functools import cached_property, lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from twonets.core import definitions
from twonets.govservices import rules

BUNDLES_FILE = Path(__file__).with_name("definitions") / "bundles.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SharedField(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title_zh: str = Field(min_length=1)
    title_en: str = Field(min_length=1)
    type: Literal["string", "number", "integer", "date", "boolean"] = "string"
    required: bool = True
    minimum: float | None = None
    max_length: int = Field(default=200, ge=1, le=2000)
    prefill: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")  # dataset.field


class Decision(_Strict):
    hit_policy: Literal["FIRST", "UNIQUE", "PRIORITY"] = "FIRST"
    inputs: list[rules.Input] = Field(min_length=1)
    rows: list[rules.Row] = Field(min_length=1)


class Step(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name_zh: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    department: str = Field(min_length=1)
    matter: str | None = None
    party: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*$")
    after: list[str] = Field(default_factory=list)
    fields: list[str] = Field(default_factory=list)
    decision: Decision | None = None
    outputs: dict[str, str] = Field(default_factory=dict)  # output name -> fact path it is taken from

    @model_validator(mode="after")
    def _decided(self) -> Step:
        if (self.decision is None) == (self.party is None):
            raise ValueError(f"step {self.id}: either a decision table or an outside party decides, one of them")
        return self

    def table(self, bundle: str) -> rules.Table | None:
        if self.decision is None:
            return None
        return rules.Table(id=f"{bundle.lower().replace('-', '_')}_{self.id}", version=1, name_zh=self.name_zh,
                           name_en=self.name_en, hit_policy=self.decision.hit_policy, inputs=self.decision.inputs,
                           rows=self.decision.rows)

    def reads(self) -> dict[str, list[str] | None]:
        """Per dataset, the fields its decision table uses (minimum necessary)."""
        need: dict[str, set[str] | None] = {}
        for i in self.decision.inputs if self.decision else []:
            parts = i.expr.split(".")
            if parts[0] == "data" and len(parts) >= 2:
                ds, name = parts[1], (parts[2] if len(parts) > 2 else None)
            elif parts[0] == "count" and len(parts) == 2:
                ds, name = parts[1], None
            elif parts[:2] == ["applicant", "age"]:
                ds, name = "population", "birth_date"
            else:
                continue
            if name is None:
                need[ds] = None
            elif need.get(ds, set()) is not None:
                need.setdefault(ds, set()).add(name)  # type: ignore[union-attr]
        return {ds: (sorted(n) if n is not None else None) for ds, n in sorted(need.items())}


class Bundle(_Strict):
    code: str = Field(pattern=r"^BUNDLE-[A-Z0-9-]+$")
    name_zh: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    subject: Literal["person", "company"] = "person"
    fields: list[SharedField] = Field(min_length=1)
    steps: list[Step] = Field(min_length=2)

    @model_validator(mode="after")
    def _graph(self) -> Bundle:
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.code}: a shared field is asked once: {sorted({n for n in names if names.count(n) > 1})}")
        ids = [s.id for s in self.steps]
        if len(set(ids)) != len(ids):
            raise ValueError(f"{self.code}: duplicate step ids")
        for s in self.steps:
            unknown = set(s.after) - set(ids)
            if unknown:
                raise ValueError(f"{self.code}: step {s.id} comes after unknown step(s) {sorted(unknown)}")
            missing = set(s.fields) - set(names)
            if missing:
                raise ValueError(f"{self.code}: step {s.id} needs field(s) {sorted(missing)} the shared form does not ask")
            s.table(self.code)  # validates the decision table
        unused = set(names) - {f for s in self.steps for f in s.fields}
        if unused:
            raise ValueError(f"{self.code}: field(s) {sorted(unused)} flow to no step: do not ask them")
        self.order  # noqa: B018  (raises on a cycle)
        return self

    @cached_property
    def order(self) -> list[str]:
        """The steps in an order that respects `after` (Kahn); ValueError on a cycle."""
        deps = {s.id: set(s.after) for s in self.steps}
        done: list[str] = []
        while deps:
            ready = sorted(i for i, d in deps.items() if d <= set(done))
            if not ready:
                raise ValueError(f"{self.code}: the steps {sorted(deps)} wait for each other (a cycle)")
            done.extend(ready)
            for i in ready:
                deps.pop(i)
        return done

    def step(self, step_id: str) -> Step:
        return next(s for s in self.steps if s.id == step_id)

    def dependants(self, step_id: str) -> list[str]:
        """Every step that needs `step_id`, directly or through others."""
        out: list[str] = []
        frontier = [step_id]
        while frontier:
            cur = frontier.pop()
            for s in self.steps:
                if cur in s.after and s.id not in out:
                    out.append(s.id)
                    frontier.append(s.id)
        return out

    def summary(self) -> dict:
        users = {f.name: [s.id for s in self.steps if f.name in s.fields] for f in self.fields}
        return {
            "code": self.code, "name_zh": self.name_zh, "name_en": self.name_en, "subject": self.subject,
            "fields": [f.model_dump(exclude_none=True) | {"used_by": users[f.name]} for f in self.fields],
            "steps": [{"id": s.id, "name_zh": s.name_zh, "name_en": s.name_en, "department": s.department, "matter": s.matter,
                       "party": s.party, "after": s.after, "fields": s.fields} for s in self.steps],
        }


class BundleFile(_Strict):
    bundles: list[Bundle]


def load_file(path: Path = BUNDLES_FILE) -> dict[str, Bundle]:
    return {b.code: b for b in definitions.load(path, BundleFile).bundles}


@lru_cache(maxsize=1)
def all_bundles() -> dict[str, Bundle]:
    return load_file(BUNDLES_FILE)


def get(code: str) -> Bundle:
    from twonets.core.errors import NotFound

    b = all_bundles().get(code)
    if b is None:
        raise NotFound(f"no bundle {code!r}")
    return b
