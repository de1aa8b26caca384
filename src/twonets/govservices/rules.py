"""Decision tables (DMN-like) that a department official can read: inputs, rows, hit policy,
and an output with the reason that applied.

    - id: elderly_card
      version: 1
      hit_policy: FIRST            # FIRST | UNIQUE | PRIORITY (reject > review > approve)
      inputs:
        - {name: age, expr: applicant.age}
        - {name: hukou, expr: data.households.hukou_street}
      rows:
        - when: {age: "< 60"}
          outcome: reject
          reason_zh: 申请人未满60周岁
          reason_en: The applicant is under 60.
        - when: {}
          outcome: approve
          reason_zh: 符合条件
          reason_en: Eligible.

A condition is `-` (any), `null`, `not null`, a comparison (`>= 60`, `< 18`, `== local`,
`!= x`), `in [a, b]`, `not in [a, b]`, a range `[1..4]`, or a plain value (equality). An input
`expr` is a dotted path into the facts (`form.area_m2`, `data.population.household_type`,
`count.property`, `applicant.age`, `licences.food_operation`).

`evaluate` returns the outcome, the row and its reason with every input value it used, so a
stored decision can be explained and replayed (`replay`) against the same table version.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from twonets.core import definitions

RULES_FILE = Path(__file__).with_name("definitions") / "rules.yaml"
OUTCOMES = ("approve", "reject", "review")
PRIORITY = {"reject": 0, "review": 1, "approve": 2}
_CMP = re.compile(r"^(>=|<=|==|!=|>|<)\s*(.+)$")
_RANGE = re.compile(r"^\[\s*([^\]]+?)\s*\.\.\s*([^\]]+?)\s*\]$")
_IN = re.compile(r"^(not\s+in|in)\s+(\[.*\])$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Input(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    expr: str = Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")


class Row(_Strict):
    when: dict[str, Any] = Field(default_factory=dict)
    outcome: Literal["approve", "reject", "review"]
    reason_zh: str = Field(min_length=1)
    reason_en: str = Field(min_length=1)

    @field_validator("when")
    @classmethod
    def _conditions(cls, v: dict[str, Any]) -> dict[str, Any]:
        for name, cond in v.items():
            compile_condition(cond)  # raises ValueError with the reason
        return v


class Table(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    version: int = Field(ge=1)
    name_zh: str = ""
    name_en: str = ""
    hit_policy: Literal["FIRST", "UNIQUE", "PRIORITY"] = "FIRST"
    inputs: list[Input] = Field(min_length=1)
    rows: list[Row] = Field(min_length=1)

    @model_validator(mode="after")
    def _names(self) -> Table:
        names = {i.name for i in self.inputs}
        for n, row in enumerate(self.rows):
            unknown = set(row.when) - names
            if unknown:
                raise ValueError(f"row {n} names unknown input(s) {sorted(unknown)}")
        return self

    @property
    def digest(self) -> str:
        body = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(body.encode("utf-8")).hexdigest()


class RuleFile(_Strict):
    tables: list[Table]

    @model_validator(mode="after")
    def _unique(self) -> RuleFile:
        ids = [t.id for t in self.tables]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"duplicate table ids: {dup}")
        return self


# --- conditions ---------------------------------------------------------------------------


def _value(text: str) -> Any:
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        raise ValueError(f"value {text!r} is not understood") from None
    if isinstance(value, (dict, set)):
        raise ValueError(f"value {text!r} is not understood")
    return value


def _cmp(op: str, a: Any, b: Any) -> bool:
    if a is None or b is None:
        return (a == b) if op == "==" else (a != b) if op == "!=" else False
    try:
        if op == "==":
            return a == b
        if op == "!=":
            return a != b
        if op == ">=":
            return a >= b
        if op == "<=":
            return a <= b
        if op == ">":
            return a > b
        return a < b
    except TypeError:
        return False


def compile_condition(cond: Any) -> Callable[[Any], bool]:
    """A predicate for one cell of a decision table; ValueError on a malformed condition."""
    if not isinstance(cond, str):
        return lambda v, c=cond: v == c
    text = cond.strip()
    if text in ("-", ""):
        return lambda v: True
    if text == "null":
        return lambda v: v is None
    if text == "not null":
        return lambda v: v is not None
    try:
        return _compile_text(cond, text)
    except ValueError as exc:
        raise ValueError(f"condition {cond!r} is not understood: {exc}") from None


def _compile_text(cond: Any, text: str) -> Callable[[Any], bool]:
    m = _IN.match(text)
    if m:
        items = _value(m.group(2))
        if not isinstance(items, list):
            raise ValueError(f"condition {cond!r}: 'in' needs a list")
        negate = m.group(1) != "in"
        return lambda v, s=items, n=negate: (v in s) != n
    m = _RANGE.match(text)
    if m:
        lo, hi = _value(m.group(1)), _value(m.group(2))
        return lambda v, lo=lo, hi=hi: _cmp(">=", v, lo) and _cmp("<=", v, hi)
    m = _CMP.match(text)
    if m:
        op, ref = m.group(1), _value(m.group(2))
        return lambda v, op=op, ref=ref: _cmp(op, v, ref)
    if text.startswith(("<", ">", "=", "!", "[")):
        raise ValueError(f"condition {cond!r} is not understood")
    literal = _value(text)
    return lambda v, c=literal: v == c


# --- evaluation ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    table: str
    version: int
    digest: str
    hit_policy: str
    inputs: dict[str, Any]
    outcome: str
    row: int | None
    reason_zh: str
    reason_en: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "version": self.version,
            "digest": self.digest,
            "hit_policy": self.hit_policy,
            "inputs": dict(self.inputs),
            "outcome": self.outcome,
            "row": self.row,
            "reason_zh": self.reason_zh,
            "reason_en": self.reason_en,
        }


@dataclass(frozen=True)
class Compiled:
    table: Table
    digest: str
    paths: tuple[tuple[str, tuple[str, ...]], ...]
    rows: tuple[tuple[tuple[tuple[str, Callable[[Any], bool]], ...], Row], ...] = field(default=())


_compiled: dict[int, tuple[Table, Compiled]] = {}


def _compile(table: Table) -> Compiled:
    hit = _compiled.get(id(table))
    if hit is not None and hit[0] is table:
        return hit[1]
    if len(_compiled) > 1024:
        _compiled.clear()
    compiled = _build(table)
    _compiled[id(table)] = (table, compiled)
    return compiled


def _build(table: Table) -> Compiled:
    paths = tuple((i.name, tuple(i.expr.split("."))) for i in table.inputs)
    rows = tuple(
        (tuple((name, compile_condition(cond)) for name, cond in row.when.items()), row) for row in table.rows
    )
    return Compiled(table, table.digest, paths, rows)


def lookup(facts: dict[str, Any], path: tuple[str, ...]) -> Any:
    cur: Any = facts
    for part in path:
        if isinstance(cur, dict):
            cur = cur.get(part)
        else:
            return None
        if cur is None:
            return None
    return cur


def inputs_of(table: Table, facts: dict[str, Any]) -> dict[str, Any]:
    return {name: lookup(facts, path) for name, path in _compile(table).paths}


def decide(table: Table, inputs: dict[str, Any]) -> Decision:
    """Apply the table to input values (already extracted from the facts)."""
    c = _compile(table)
    hits = [
        (n, row) for n, (conds, row) in enumerate(c.rows) if all(pred(inputs.get(name)) for name, pred in conds)
    ]
    chosen: tuple[int, Row] | None = None
    if table.hit_policy == "FIRST":
        chosen = hits[0] if hits else None
    elif table.hit_policy == "UNIQUE":
        if len(hits) > 1:
            rows = ", ".join(str(n) for n, _ in hits)
            return Decision(
                table.id, table.version, c.digest, table.hit_policy, dict(inputs), "review", None,
                f"决策表多行命中（{rows}），转人工审核", f"Several rows apply ({rows}); sent to review.",
            )
        chosen = hits[0] if hits else None
    else:  # PRIORITY
        chosen = min(hits, key=lambda h: (PRIORITY[h[1].outcome], h[0])) if hits else None
    if chosen is None:
        return Decision(
            table.id, table.version, c.digest, table.hit_policy, dict(inputs), "review", None,
            "无规则适用，转人工审核", "No rule applies; sent to review.",
        )
    n, row = chosen
    return Decision(table.id, table.version, c.digest, table.hit_policy, dict(inputs), row.outcome, n, row.reason_zh, row.reason_en)


def evaluate(table: Table, facts: dict[str, Any]) -> Decision:
    return decide(table, inputs_of(table, facts))


# --- loading ------------------------------------------------------------------------------


def load_file(path: Path = RULES_FILE) -> dict[str, Table]:
    """The decision tables of a file; DefinitionError names file, line and reason."""
    return {t.id: t for t in definitions.load(path, RuleFile).tables}


@lru_cache(maxsize=1)
def tables() -> dict[str, Table]:
    return load_file(RULES_FILE)


def table_from_json(body: dict[str, Any]) -> Table:
    return Table.model_validate(body)
