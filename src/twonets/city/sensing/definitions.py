"""Thing types and detectors as data: YAML under `definitions/`, validated by Pydantic.

A detector is a definition, not code: the thing type it watches, a condition on one or more
attributes, a separate clear condition (hysteresis), a duration, an active window in local
time, an absence rule evaluated by the timer, required business tags, a cool-down, the
severity and the work-order category it raises. A bad file stops the start with the file,
the line and the reason (`twonets.core.definitions.load`).
"""

from __future__ import annotations

import re
from datetime import time, timedelta
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from twonets.core import definitions

DEFINITIONS = Path(__file__).with_name("definitions")
CODE = r"^[a-z][a-z0-9_]*$"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(raw: str | int | float | None) -> float:
    """'90s', '5m', '1.5h', '24h', '1d' or a number of seconds."""
    if raw is None:
        return 0.0
    if isinstance(raw, (int, float)):
        if raw < 0:
            raise ValueError("a duration cannot be negative")
        return float(raw)
    m = _DURATION.match(str(raw))
    if not m:
        raise ValueError(f"{raw!r} is not a duration; write e.g. 90s, 5m, 1h, 1d")
    return float(m.group(1)) * _UNITS[m.group(2)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# --- thing types ----------------------------------------------------------------------------


class AttributeSpec(_Strict):
    name: str = Field(pattern=CODE)
    name_zh: str
    name_en: str
    unit: str = ""
    min: float
    max: float

    @model_validator(mode="after")
    def _range(self):
        if self.min > self.max:
            raise ValueError(f"attribute {self.name}: min {self.min} is above max {self.max}")
        return self


class ThingType(_Strict):
    code: str = Field(pattern=CODE)
    name_zh: str
    name_en: str
    expected_interval: float = Field(description="seconds between two reports of a healthy thing")
    attributes: list[AttributeSpec] = Field(min_length=1)

    @field_validator("expected_interval", mode="before")
    @classmethod
    def _interval(cls, v):
        value = parse_duration(v)
        if value <= 0:
            raise ValueError("expected_interval must be positive")
        return value

    @model_validator(mode="after")
    def _unique(self):
        names = [a.name for a in self.attributes]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"duplicate attributes {dup}")
        return self

    @cached_property
    def by_name(self) -> dict[str, AttributeSpec]:
        return {a.name: a for a in self.attributes}

    def attribute(self, name: str) -> AttributeSpec | None:
        return self.by_name.get(name)


class ThingTypeFile(_Strict):
    thing_types: list[ThingType]


# --- conditions -----------------------------------------------------------------------------

Op = Literal[">", ">=", "<", "<=", "==", "!="]
_OPS = {
    ">": lambda a, b: a > b, ">=": lambda a, b: a >= b, "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
}


class Clause(_Strict):
    attribute: str = Field(pattern=CODE)
    op: Op
    value: float

    def attributes(self) -> set[str]:
        return {self.attribute}

    def evaluate(self, values) -> bool | None:
        v = values.get(self.attribute)
        return None if v is None else _OPS[self.op](v, self.value)


class All(_Strict):
    all: list[Condition] = Field(min_length=1)

    def attributes(self) -> set[str]:
        return set().union(*(c.attributes() for c in self.all))

    def evaluate(self, values) -> bool | None:
        results = [c.evaluate(values) for c in self.all]
        if any(r is False for r in results):
            return False
        return None if any(r is None for r in results) else True


class Any_(_Strict):
    any: list[Condition] = Field(min_length=1)

    def attributes(self) -> set[str]:
        return set().union(*(c.attributes() for c in self.any))

    def evaluate(self, values) -> bool | None:
        results = [c.evaluate(values) for c in self.any]
        if any(r is True for r in results):
            return True
        return None if any(r is None for r in results) else False


Condition = Union[Clause, All, Any_]
All.model_rebuild()
Any_.model_rebuild()


class Window(_Strict):
    """An active window in the district's local time; `start > end` crosses midnight."""

    start: time
    end: time

    def contains(self, local: time) -> bool:
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


class Absence(_Strict):
    """Fires when nothing satisfying `when` was seen for `for_` (or `intervals` × the thing's
    expected reporting interval). Without `when`, any reading counts as a sign of life."""

    when: Condition | None = None
    for_: float | None = Field(default=None, alias="for")
    intervals: float | None = Field(default=None, gt=0)

    @field_validator("for_", mode="before")
    @classmethod
    def _for(cls, v):
        return None if v is None else parse_duration(v)

    @model_validator(mode="after")
    def _one(self):
        if self.when is not None and not isinstance(self.when, Clause):
            raise ValueError("an absence rule's `when` is a single clause (attribute, op, value)")
        if (self.for_ is None) == (self.intervals is None):
            raise ValueError("absence needs exactly one of `for` (a duration) or `intervals`")
        return self

    def limit_s(self, expected_interval_s: float) -> float:
        return self.for_ if self.for_ is not None else self.intervals * expected_interval_s


class Detector(_Strict):
    code: str = Field(pattern=CODE)
    name_zh: str
    name_en: str
    thing_type: str = Field(description="a thing type code, or '*' for every type")
    when: Condition | None = None
    clear: Condition | None = Field(default=None, description="clears an active alarm; default: `when` is false")
    for_: float = Field(default=0.0, alias="for", description="the condition must hold this long")
    window: Window | None = None
    absent: Absence | None = None
    required_tags: list[str] = Field(default_factory=list)
    cooldown: float = 0.0
    severity: Literal["normal", "urgent"] = "normal"
    category: str = Field(pattern=CODE)

    @field_validator("for_", "cooldown", mode="before")
    @classmethod
    def _durations(cls, v):
        return parse_duration(v)

    @model_validator(mode="after")
    def _shape(self):
        if (self.when is None) == (self.absent is None):
            raise ValueError("a detector has either `when` (a condition) or `absent` (an absence rule)")
        if self.absent is not None and (self.clear is not None or self.for_ or self.window):
            raise ValueError("an absence detector takes no `clear`, `for` or `window`")
        return self

    @property
    def kind(self) -> str:
        return "absence" if self.absent is not None else "condition"

    def attributes(self) -> set[str]:
        cond = self.when if self.when is not None else self.absent.when
        return cond.attributes() if cond is not None else set()

    @cached_property
    def watched(self) -> frozenset[str]:
        """Attributes whose readings make this detector look again."""
        return frozenset(self.attributes())

    @cached_property
    def needs(self) -> frozenset[str]:
        """Every attribute its conditions (firing and clearing) read."""
        return frozenset(self.attributes() | (self.clear.attributes() if self.clear is not None else set()))

    @property
    def duration(self) -> timedelta:
        return timedelta(seconds=self.for_)


class DetectorFile(_Strict):
    detectors: list[Detector]


# --- loading --------------------------------------------------------------------------------


class Catalog:
    """Thing types and detectors, checked against each other and the work-order categories."""

    def __init__(self, types: list[ThingType], detectors: list[Detector], path: Path):
        self.types = {t.code: t for t in types}
        self.detectors = {d.code: d for d in detectors}
        for codes, what in (([t.code for t in types], "thing type"), ([d.code for d in detectors], "detector")):
            dup = sorted({c for c in codes if codes.count(c) > 1})
            if dup:
                raise definitions.DefinitionError(path, None, f"duplicate {what} codes {dup}")
        from twonets.city.reference import reference

        categories = reference().categories
        for d in detectors:
            where = path / "detectors.yaml"
            if d.category not in categories:
                raise definitions.DefinitionError(where, None, f"detector {d.code}: unknown category {d.category!r}")
            if d.thing_type != "*":
                t = self.types.get(d.thing_type)
                if t is None:
                    raise definitions.DefinitionError(where, None, f"detector {d.code}: unknown thing type {d.thing_type!r}")
                missing = sorted(a for a in d.attributes() | _clear_attrs(d) if t.attribute(a) is None)
                if missing:
                    raise definitions.DefinitionError(
                        where, None, f"detector {d.code}: thing type {t.code} has no attribute(s) {missing}")
        # detectors by thing type, for the per-reading path
        self.by_type: dict[str, list[Detector]] = {code: [] for code in self.types}
        for d in detectors:
            for code in (self.types if d.thing_type == "*" else [d.thing_type]):
                self.by_type[code].append(d)

    def thing_type(self, code: str) -> ThingType | None:
        return self.types.get(code)


def _clear_attrs(d: Detector) -> set[str]:
    return d.clear.attributes() if d.clear is not None else set()


def load(directory: Path = DEFINITIONS) -> Catalog:
    types = definitions.load(directory / "thing_types.yaml", ThingTypeFile).thing_types
    detectors = definitions.load(directory / "detectors.yaml", DetectorFile).detectors
    return Catalog(types, detectors, directory)


@lru_cache(maxsize=1)
def catalog() -> Catalog:
    return load()
