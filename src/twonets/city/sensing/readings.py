"""Parsing and validating readings, in pure Python. Every bad reading gets a reason.

Accepted shapes (a message is one object or a JSON array of them; HTTP also takes NDJSON):

    {"thing_id": "wlg-001", "ts": "2026-11-28T10:00:00Z", "attribute": "depth_cm", "value": 12.5}
    {"thing_id": "wlg-001", "ts": 1795000000, "values": {"depth_cm": 12.5, "battery_pct": 80}}

`thing_id` may be left out when the MQTT topic names the thing; `ts` is ISO 8601 with a time
zone, or Unix seconds. A reading is valid when its thing is known, its attribute belongs to the
thing's type, its value is a finite number within the attribute's range and its timestamp is
neither in the future (beyond a small skew) nor older than the accepted age.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from twonets.city.sensing.definitions import Catalog
from twonets.core.calendar import in_range

MAX_SKEW = timedelta(minutes=5)
REASONS = (
    "malformed_json", "not_an_object", "missing_field", "bad_timestamp", "timestamp_in_future",
    "timestamp_too_old", "unknown_thing", "thing_mismatch", "unknown_attribute", "not_a_number", "out_of_range",
)


@dataclass(frozen=True, slots=True)
class Reading:
    thing_id: str
    attribute: str
    ts: datetime
    value: float


@dataclass(frozen=True, slots=True)
class Rejected:
    reason: str
    detail: str
    payload: str
    index: int
    thing_id: str | None = None
    attribute: str | None = None
    ref: str | None = None  # the message it came in (topic, file, gateway)

    def digest(self, source: str, ref: str | None) -> str:
        raw = f"{source}|{ref or ''}|{self.index}|{self.attribute or ''}|{self.payload}"
        return hashlib.sha256(raw.encode("utf-8", "replace")).hexdigest()


@dataclass(frozen=True, slots=True)
class Item:
    """One reading as sent, before validation (already split out of `values`)."""

    index: int
    thing_id: Any
    ts: Any
    attribute: Any
    value: Any
    payload: Any  # the object it came from, kept for quarantine
    ref: str | None = None  # the message it came in


def _short(obj: Any, limit: int = 2000) -> str:
    text = obj if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False, default=str)
    return text[:limit]


def split(payload: bytes | str, topic_thing: str | None = None, ndjson: bool = False,
          ref: str | None = None) -> tuple[list[Item], list[Rejected]]:
    """A message's items, one per (thing, attribute, ts); or why it could not be read."""
    text = payload.decode("utf-8", "replace") if isinstance(payload, (bytes, bytearray)) else payload
    try:
        if ndjson:
            docs = [json.loads(line) for line in text.splitlines() if line.strip()]
        else:
            doc = json.loads(text)
            docs = doc if isinstance(doc, list) else [doc]
    except (ValueError, RecursionError) as exc:
        return [], [Rejected("malformed_json", f"not JSON: {exc}"[:400], _short(text), 0, topic_thing)]
    items: list[Item] = []
    bad: list[Rejected] = []
    for i, doc in enumerate(docs):
        if not isinstance(doc, dict):
            bad.append(Rejected("not_an_object", "each reading is a JSON object", _short(doc), i, topic_thing))
            continue
        thing_id = doc.get("thing_id", topic_thing)
        if topic_thing is not None and thing_id != topic_thing:
            bad.append(Rejected("thing_mismatch", f"thing_id {thing_id!r} differs from the topic's {topic_thing!r}",
                                _short(doc), i, topic_thing))
            continue
        ts = doc.get("ts")
        values = doc.get("values")
        if isinstance(values, dict) and values:
            for name, value in values.items():
                items.append(Item(i, thing_id, ts, name, value, doc, ref))
        elif "attribute" in doc and "value" in doc:
            items.append(Item(i, thing_id, ts, doc["attribute"], doc["value"], doc, ref))
        else:
            bad.append(Rejected("missing_field", "give `attribute` and `value`, or a non-empty `values` object",
                                _short(doc), i, thing_id if isinstance(thing_id, str) else None))
    return items, bad


def parse_ts(raw: Any) -> datetime | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, (int, float)):
        if not math.isfinite(raw):
            return None
        try:
            value = datetime.fromtimestamp(raw, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
        return value if in_range(value) else None
    if isinstance(raw, str):
        try:
            value = datetime.fromisoformat(raw)
        except ValueError:
            return None
        if value.tzinfo is None or not in_range(value):
            return None
        return value.astimezone(UTC)
    return None


def validate(items: Iterable[Item], things: Mapping[str, Any], catalog: Catalog, received_at: datetime,
             max_age: timedelta) -> tuple[list[Reading], list[Rejected]]:
    """Split items into valid readings and rejected ones (with reasons)."""
    good: list[Reading] = []
    bad: list[Rejected] = []
    oldest = received_at - max_age
    newest = received_at + MAX_SKEW
    ts_cache: dict[Any, datetime | None] = {}
    for it in items:
        tid = it.thing_id if isinstance(it.thing_id, str) else None
        attr = it.attribute if isinstance(it.attribute, str) else None

        def reject(reason: str, detail: str) -> None:
            bad.append(Rejected(reason, detail[:400], _short(it.payload), it.index, tid, attr, it.ref))

        if tid is None:
            reject("missing_field", "thing_id is missing (publish on the thing's topic or name it)")
            continue
        info = things.get(tid)
        if info is None:
            reject("unknown_thing", f"no thing {tid!r} is registered")
            continue
        if it.ts is None:
            reject("missing_field", "ts is missing")
            continue
        key = it.ts if isinstance(it.ts, (str, int, float)) else id(it.ts)
        ts = ts_cache.get(key) if key in ts_cache else ts_cache.setdefault(key, parse_ts(it.ts))
        if ts is None:
            reject("bad_timestamp", f"ts {str(it.ts)[:60]!r} is not ISO 8601 with a time zone or Unix seconds")
            continue
        if ts > newest:
            reject("timestamp_in_future", f"ts {ts.isoformat()} is ahead of the receiver's clock")
            continue
        if ts < oldest:
            reject("timestamp_too_old", f"ts {ts.isoformat()} is older than the accepted age")
            continue
        spec = catalog.types[info.type].attribute(attr) if attr else None
        if spec is None:
            reject("unknown_attribute", f"{info.type} has no attribute {str(it.attribute)[:40]!r}")
            continue
        value = it.value
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            reject("not_a_number", f"{attr} must be a finite number, got {str(value)[:40]!r}")
            continue
        if not spec.min <= value <= spec.max:
            reject("out_of_range", f"{attr}={value} is outside [{spec.min:g}, {spec.max:g}] {spec.unit}".rstrip())
            continue
        good.append(Reading(tid, attr, ts, float(value)))
    return good, bad
