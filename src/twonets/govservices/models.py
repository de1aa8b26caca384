"""Definitions of the services package (matters, materials, licences), validated by Pydantic.

A matter (事项) carries the fields of a service guide (办事指南). Each material says where it
comes from: the applicant (`upload`), an authoritative dataset (`dataset`, with the field
mapping) or a licence already issued (`licence`). Form fields may be prefilled from a dataset
too (`prefill`), shown to the applicant as "from government data".
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

MatterType = Literal[
    "administrative_licence",
    "administrative_confirmation",
    "administrative_registration",
    "administrative_payment",
    "administrative_benefit",
    "public_service",
    "other",
]
MATTER_TYPES: tuple[str, ...] = MatterType.__args__
SubjectKind = Literal["person", "company"]
Channels = Literal["online", "hall", "both"]
Processing = Literal["instant", "review"]
# Local matter codes: DEPT-001… for matters written out here, DEPT-1001… for imported ones.
CODE = r"^[A-Z][A-Z0-9]*-\d{3,4}$"
NOT_WRITTEN_OUT_ZH = "本区尚未编写该事项的受理条件、申请材料和办理时限，请向办理部门咨询。"
NOT_WRITTEN_OUT_EN = (
    "The district has not written out this matter's conditions, materials and time limits yet; ask the department."
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Material(_Strict):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name_zh: str
    name_en: str
    source: Literal["upload", "dataset", "licence"]
    required: bool = True
    dataset: str | None = None
    # material field -> dataset field
    fields: dict[str, str] = Field(default_factory=dict)
    licence_type: str | None = None

    @model_validator(mode="after")
    def _source(self) -> Material:
        if self.source == "dataset" and (not self.dataset or not self.fields):
            raise ValueError("a material from a dataset names the dataset and its field mapping")
        if self.source == "licence" and not self.licence_type:
            raise ValueError("a material from a licence names the licence_type")
        if self.source == "upload" and (self.dataset or self.licence_type):
            raise ValueError("an uploaded material names no dataset or licence")
        return self


class LicenceSpec(_Strict):
    type: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name_zh: str
    name_en: str
    valid_years: int = Field(default=5, ge=1, le=100)
    # credential subject claim -> fact path (form.x, data.dataset.field, applicant.x)
    claims: dict[str, str] = Field(default_factory=dict)


class Matter(_Strict):
    code: str = Field(pattern=CODE)
    name_zh: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    department: str
    type: MatterType
    subject: SubjectKind = "person"
    legal_basis: str = ""
    conditions: list[str] = Field(default_factory=list)
    materials: list[Material] = Field(default_factory=list)
    fee_yuan: float = Field(default=0, ge=0)
    statutory_days: int = Field(default=20, ge=0)
    promised_days: int = Field(default=5, ge=0)
    channels: Channels = "both"
    processing: Processing = "review"
    cross_region: bool = False
    no_application: bool = False
    form: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})
    # form field -> "dataset.field": filled from government data
    prefill: dict[str, str] = Field(default_factory=dict)
    rule: str | None = None
    licence: LicenceSpec | None = None
    keywords: list[str] = Field(default_factory=list)
    # written out in full here (guide, form, materials); False: imported from a matter list
    # (names, department and codes only), listed and searchable but not yet open to apply
    full: bool = True
    # the national item code (事项编码) of the provincial list, the key of re-imports
    item_code: str | None = Field(default=None, max_length=80)
    # the implementing department as the imported list names it
    listed_department: str | None = None

    @model_validator(mode="after")
    def _check(self) -> Matter:
        if self.promised_days > self.statutory_days:
            raise ValueError("the promised time limit cannot exceed the statutory one")
        if self.processing == "instant" and not self.rule:
            raise ValueError("an instant matter is decided by a rule: name it")
        codes = [m.code for m in self.materials]
        if len(set(codes)) != len(codes):
            raise ValueError("duplicate material codes")
        for target, source in self.prefill.items():
            if source.count(".") != 1:
                raise ValueError(f"prefill of {target!r} must read 'dataset.field'")
        if self.form.get("type") != "object":
            raise ValueError("a form is a JSON Schema of type object")
        return self

    @property
    def datasets(self) -> list[str]:
        """Every dataset this matter reads (materials and prefilled form fields)."""
        out: list[str] = []
        for m in self.materials:
            if m.source == "dataset" and m.dataset not in out:
                out.append(m.dataset)
        for source in self.prefill.values():
            ds = source.split(".", 1)[0]
            if ds not in out:
                out.append(ds)
        return out

    @property
    def licence_types(self) -> list[str]:
        return [m.licence_type for m in self.materials if m.source == "licence"]

    def guide(self) -> dict[str, Any]:
        """The service guide (办事指南) as shown to applicants; an imported matter's guide says
        that the district has not written it out yet (and shows no time limits or fee)."""
        if not self.full:
            return {
                "written_out": False,
                "note_zh": NOT_WRITTEN_OUT_ZH,
                "note_en": NOT_WRITTEN_OUT_EN,
                "item_code": self.item_code,
                "listed_department": self.listed_department,
                "conditions": [],
                "materials": [],
            }
        return {
            "written_out": True,
            "legal_basis": self.legal_basis,
            "conditions": list(self.conditions),
            "materials": [m.model_dump(exclude_none=True) for m in self.materials],
            "fee_yuan": self.fee_yuan,
            "statutory_days": self.statutory_days,
            "promised_days": self.promised_days,
            "channels": self.channels,
            "processing": self.processing,
            "cross_region": self.cross_region,
            "no_application": self.no_application,
        }


class MatterFile(_Strict):
    matters: list[Matter]
