"""Domain objects of the data foundation (plain Pydantic/dataclasses, no FastAPI, no session)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator

from twonets.data.masking import default_mask, valid_generalise

Sensitivity = Literal["public", "internal", "personal", "sensitive_personal"]
SharingClass = Literal["unconditional", "conditional", "not_shared"]
Frequency = Literal["realtime", "hourly", "daily", "weekly", "monthly", "quarterly", "yearly", "irregular"]
FieldType = Literal["string", "integer", "number", "boolean", "date", "datetime", "json"]

SHARING_CLASSES = ("unconditional", "conditional", "not_shared")
FREQUENCIES = ("realtime", "hourly", "daily", "weekly", "monthly", "quarterly", "yearly", "irregular")

# The longest a dataset may go without an update before it is flagged stale.
STALE_AFTER: dict[str, timedelta | None] = {
    "realtime": timedelta(hours=1),
    "hourly": timedelta(hours=3),
    "daily": timedelta(days=2),
    "weekly": timedelta(days=10),
    "monthly": timedelta(days=40),
    "quarterly": timedelta(days=100),
    "yearly": timedelta(days=400),
    "irregular": None,
}

CODE_PATTERN = r"^[a-z][a-z0-9_]{1,79}$"
FIELD_PATTERN = r"^[a-z][a-z0-9_]{0,79}$"


class FieldSpec(BaseModel):
    """One field of a dataset's schema, with its sensitivity."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=FIELD_PATTERN)
    title: str = ""
    type: FieldType = "string"
    sensitivity: Sensitivity = "internal"
    mask: Literal["id_number", "phone", "name", "address", "email", "partial", "full"] | None = None
    generalise: str | None = None

    @field_validator("generalise")
    @classmethod
    def _rule(cls, v: str | None) -> str | None:
        if v is not None and not valid_generalise(v):
            raise ValueError("unknown rule; use year, month, district, prefix:N or band:N")
        return v

    @model_validator(mode="after")
    def _mask_only_personal(self) -> FieldSpec:
        if self.mask is not None and self.sensitivity not in ("personal", "sensitive_personal"):
            raise ValueError("a mask applies only to personal or sensitive_personal fields")
        if self.generalise is not None and self.sensitivity == "sensitive_personal":
            raise ValueError("sensitive personal fields are never published, not even generalised")
        return self

    @property
    def effective_mask(self) -> str | None:
        return self.mask or default_mask(self.sensitivity)


class DatasetSpec(BaseModel):
    """A catalogue entry as written in definitions or posted to the API."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=CODE_PATTERN)
    name_zh: str = Field(min_length=1, max_length=200)
    name_en: str = Field(min_length=1, max_length=200)
    owner_department: str = Field(min_length=1, max_length=40)
    description: str = ""
    kind: Literal["registry", "sensor_stream", "business_tags", "work_orders", "applications", "other"] = "registry"
    keywords: list[str] = Field(default_factory=list)
    update_frequency: Frequency = "daily"
    sharing_class: SharingClass = "conditional"
    open_data: StrictBool = False  # true or false, not "yes" or 1 (schemathesis: negative data accepted)
    fields: list[FieldSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> DatasetSpec:
        names = [f.name for f in self.fields]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate field names: {', '.join(dupes)}")
        if self.open_data and self.sharing_class == "not_shared":
            raise ValueError("an open dataset cannot be 'not_shared'")
        return self


class DatasetPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name_zh: str | None = Field(default=None, min_length=1, max_length=200)
    name_en: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = None
    keywords: list[str] | None = None
    update_frequency: Frequency | None = None
    sharing_class: SharingClass | None = None
    open_data: bool | None = None
    fields: list[FieldSpec] | None = Field(default=None, min_length=1)


@dataclass(frozen=True)
class DataField:
    name: str
    title: str
    type: str
    sensitivity: str
    mask: str | None
    generalise: str | None

    @property
    def personal(self) -> bool:
        return self.sensitivity in ("personal", "sensitive_personal")

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "type": self.type,
            "sensitivity": self.sensitivity,
            "mask": self.mask,
            "generalise": self.generalise,
        }


@dataclass(frozen=True)
class Dataset:
    id: int
    code: str
    name_zh: str
    name_en: str
    owner_department: str
    description: str
    kind: str
    keywords: list[str]
    update_frequency: str
    last_updated_at: datetime | None
    sharing_class: str
    open_data: bool
    created_at: datetime
    updated_at: datetime
    fields: tuple[DataField, ...] = field(default=())

    def field_map(self) -> dict[str, DataField]:
        return {f.name: f for f in self.fields}

    def is_stale(self, now: datetime) -> bool:
        limit = STALE_AFTER.get(self.update_frequency)
        if limit is None:
            return False
        return self.last_updated_at is None or now - self.last_updated_at > limit

    def as_dict(self, now: datetime) -> dict[str, Any]:
        return {
            "code": self.code,
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "owner_department": self.owner_department,
            "description": self.description,
            "kind": self.kind,
            "keywords": list(self.keywords),
            "update_frequency": self.update_frequency,
            "last_updated_at": _iso(self.last_updated_at),
            "stale": self.is_stale(now),
            "sharing_class": self.sharing_class,
            "open_data": self.open_data,
            "fields": [f.as_dict() for f in self.fields],
            "updated_at": _iso(self.updated_at),
        }


def _iso(at: datetime | None) -> str | None:
    return at.isoformat().replace("+00:00", "Z") if at is not None else None

