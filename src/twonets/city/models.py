"""What the city package takes in and gives out (Pydantic): orders, events, pages, rules."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from twonets.city.lifecycle import CHANNELS, SATISFACTION, SOURCES
from twonets.core.pages import Page

Source = Literal["auto", "proactive", "citizen"]
Channel = Literal["sensor", "business_system", "inspector", "phone", "web", "app", "mini_program", "open311"]
Severity = Literal["normal", "urgent"]
assert set(Source.__args__) == set(SOURCES) and set(Channel.__args__) == set(CHANNELS)

# Which channels each source may use: an inspector's find does not come in by hotline.
SOURCE_CHANNELS = {
    "auto": {"sensor", "business_system"},
    "proactive": {"inspector", "app"},
    "citizen": {"phone", "web", "app", "mini_program", "open311"},
}


class Reporter(BaseModel):
    name: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9][0-9\- ]{5,19}$")


class ReporterView(BaseModel):
    """A reporter as listings show them: masked unless read through the access service."""

    name: str | None = None
    phone: str | None = None


class OrderCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: Source
    channel: Channel
    category: str | None = Field(default=None, min_length=1, max_length=60,
                                 description="a minor category code; a citizen demand without one is classified from its description")
    severity: Severity = "normal"
    description: str = Field(min_length=1, max_length=4000)
    lon: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)
    address: str | None = Field(default=None, max_length=400)
    grid_code: str | None = Field(default=None, max_length=40)
    photos: list[str] = Field(default_factory=list, max_length=20, description="references (URLs or object keys)")
    reporter: Reporter | None = None
    external_ref: str | None = Field(default=None, max_length=200, description="the alarm or system record behind an auto order")
    department: str | None = Field(default=None, description="dispatcher override of routing")

    @model_validator(mode="after")
    def _consistent(self):
        if (self.lon is None) != (self.lat is None):
            raise ValueError("give both lon and lat, or neither")
        if self.lon is None and not self.address and not self.grid_code:
            raise ValueError("a location is needed: lon/lat, an address or a grid_code")
        if self.category is None and self.source != "citizen":
            raise ValueError("a category is needed for auto and proactive orders (only citizen demands are classified)")
        if self.channel not in SOURCE_CHANNELS[self.source]:
            allowed = ", ".join(sorted(SOURCE_CHANNELS[self.source]))
            raise ValueError(f"channel {self.channel!r} is not used by source {self.source!r}; use one of {allowed}")
        return self

    @field_validator("photos")
    @classmethod
    def _refs(cls, v: list[str]) -> list[str]:
        for ref in v:
            if not ref or len(ref) > 500:
                raise ValueError("each photo is a reference of 1–500 characters")
        return v


class TransitionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=2000)
    department: str | None = None
    level: int | None = Field(default=None, ge=1, le=9)
    to: str | None = Field(default=None, max_length=100)
    master: str | None = None
    outcome: str | None = Field(default=None, max_length=4000)
    actually_resolved: bool | None = None
    satisfaction: Literal["satisfied", "basically_satisfied", "dissatisfied"] | None = None
    photos: list[str] | None = Field(default=None, max_length=5,
                                     description="resolve only: references (URLs or media keys) of photos of the work done")

    @field_validator("photos")
    @classmethod
    def _refs(cls, v: list[str] | None) -> list[str] | None:
        for ref in v or []:
            if not ref or len(ref) > 500:
                raise ValueError("each photo is a reference of 1–500 characters")
        return v

    def data(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump(exclude={"reason"}).items() if v is not None}


assert set(TransitionRequest.model_fields["satisfaction"].annotation.__args__[0].__args__) == set(SATISFACTION)


class OrderEvent(BaseModel):
    seq: int
    action: str
    from_status: str | None
    to_status: str
    actor: str
    at: datetime
    reason: str | None
    data: dict[str, Any]


class Order(BaseModel):
    id: str
    source: str
    channel: str
    category: str
    severity: str
    status: str
    department: str | None
    street_code: str | None
    community_code: str | None
    grid_code: str | None
    lon: float | None
    lat: float | None
    address: str | None
    description: str
    photos: list[str]
    reporter: ReporterView | None = Field(default=None, description="masked unless read through the access service")
    master_id: str | None
    external_ref: str | None
    escalation_level: int
    flag: str
    returns_count: int
    reopen_count: int
    created_at: datetime
    updated_at: datetime
    due_at: datetime
    warn_at: datetime
    resolved_at: datetime | None
    closed_at: datetime | None
    resolution_working_days: float | None
    resolution_calendar_days: float | None
    on_time: bool | None
    actually_resolved: bool | None
    satisfaction: str | None
    condition_cleared_at: datetime | None
    allowed_actions: list[str]
    timeline: list[OrderEvent] | None = None


class OrderPage(Page[Order]):
    """A page of orders (core/pages.py); `next` is the cursor of the following page."""


class RoutingRuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: str | None = None
    street_code: str | None = None
    grid_code: str | None = None
    department: str
    note: str | None = Field(default=None, max_length=400)


class RoutingRule(RoutingRuleIn):
    id: int
    created_at: datetime
    created_by: str


class TickResult(BaseModel):
    checked: int
    warnings: int
    overdue: int
    escalated: int
