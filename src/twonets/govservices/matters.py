"""The matter catalogue (事项目录): what was defined or imported, nothing generated.

About 40 matters are written out in full under `definitions/matters/*.yaml` (form, materials
with their source, rule, licence); a district adds its published matter list with
`twonets matters import FILE --mapping MAP.yaml` (`matter_list.py`: names, departments and
national item codes only). `sync(session)` mirrors the written-out matters into `svc_matter`,
the source of truth afterwards (imports change it); `search` serves `GET /api/v1/matters`;
`export_*` and `import_*` move the catalogue as JSON or CSV.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
from pydantic import ConfigDict, ValidationError
from sqlalchemy import and_, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from twonets.core import definitions
from twonets.core.calendar import utcnow
from twonets.core.errors import InvalidInput, NotFound
from twonets.core.i18n import Msg
from twonets.core.validation_messages import message as validation_message
from twonets.govservices import rules
from twonets.govservices.models import MATTER_TYPES, Matter, MatterFile
from twonets.govservices.registries import dataset_codes
from twonets.govservices.tables import svc_matter

DEFINITIONS = Path(__file__).with_name("definitions") / "matters"


class _MatterFile(MatterFile):
    model_config = ConfigDict(extra="allow", frozen=True)  # `x-…` keys hold YAML anchors


def _departments() -> dict[str, Any]:
    from twonets.data.departments import departments

    return departments()


def department_codes() -> set[str]:
    """The district's department codes (the reference data)."""
    return set(_departments())


def _check(matter: Matter, path: Path, known_datasets: set[str] | None) -> None:
    def fail(reason: str) -> None:
        raise definitions.DefinitionError(path, None, f"{matter.code}: {reason}")

    if matter.department not in _departments():
        fail(f"unknown department {matter.department!r}")
    if matter.rule and matter.rule not in rules.tables():
        fail(f"unknown rule {matter.rule!r}")
    if known_datasets is not None:
        for ds in matter.datasets:
            if ds not in known_datasets:
                fail(f"unknown dataset {ds!r}")
    try:
        jsonschema.Draft202012Validator.check_schema(matter.form)
    except jsonschema.SchemaError as exc:
        fail(f"form is not a valid JSON Schema: {exc.message}")


def load_full(directory: Path = DEFINITIONS) -> list[Matter]:
    """The matters written out in full; a bad definition names file, line and reason."""
    known = dataset_codes()
    out: list[Matter] = []
    seen: set[str] = set()
    for path in sorted(directory.glob("*.yaml")):
        for m in definitions.load(path, _MatterFile).matters:
            _check(m, path, known)
            if m.code in seen:
                raise definitions.DefinitionError(path, None, f"duplicate matter code {m.code}")
            if m.item_code and m.item_code in seen:
                raise definitions.DefinitionError(path, None, f"{m.code}: item code {m.item_code} is another matter's")
            seen.update(filter(None, (m.code, m.item_code)))
            out.append(m)
    return out


@lru_cache(maxsize=1)
def written_out() -> tuple[Matter, ...]:
    """The matters written out in full under `definitions/matters/` (deterministic, cached).
    The catalogue in `svc_matter` is these plus whatever a district imported."""
    return tuple(load_full())


# --- storage ------------------------------------------------------------------------------


def _row(m: Matter, at: datetime) -> dict[str, Any]:
    words = [m.code, m.name_zh, m.name_en, m.department, m.item_code or "", m.listed_department or "", *m.keywords]
    text = " ".join(w for w in words if w).lower()
    return {
        "code": m.code,
        "name_zh": m.name_zh,
        "name_en": m.name_en,
        "department": m.department,
        "type": m.type,
        "subject": m.subject,
        "processing": m.processing,
        "channels": m.channels,
        "cross_region": m.cross_region,
        "no_application": m.no_application,
        "promised_days": m.promised_days,
        "statutory_days": m.statutory_days,
        "full": m.full,
        "item_code": m.item_code,
        "search_text": text,
        "spec": m.model_dump(mode="json"),
        "updated_at": at,
    }


def upsert(session: Session, items: Iterable[Matter], *, at: datetime | None = None) -> dict[str, int]:
    at = at or utcnow()
    items = list(items)
    existing = {
        code: spec
        for code, spec in session.execute(select(svc_matter.c.code, svc_matter.c.spec).where(svc_matter.c.code.in_([m.code for m in items])))
    } if len(items) < 900 else {code: spec for code, spec in session.execute(select(svc_matter.c.code, svc_matter.c.spec))}
    new = [_row(m, at) for m in items if m.code not in existing]
    if new:
        session.execute(insert(svc_matter), new)
    changed = 0
    for m in items:
        if m.code in existing and existing[m.code] != m.model_dump(mode="json"):
            session.execute(update(svc_matter).where(svc_matter.c.code == m.code).values(**_row(m, at)))
            changed += 1
    return {"created": len(new), "updated": changed, "total": len(items)}


def sync(session: Session, *, at: datetime | None = None) -> dict[str, int]:
    """Mirror the written-out matters into `svc_matter`. Imported rows are left as they are,
    except one that a written-out matter now supersedes (the same national item code): it
    goes, as applications to imported matters are refused there is nothing that refers to it."""
    full = written_out()
    items = [m.item_code for m in full if m.item_code]
    if items:
        session.execute(delete(svc_matter).where(and_(svc_matter.c.item_code.in_(items), svc_matter.c.full.is_(False))))
    return upsert(session, full, at=at)


_cache: dict[tuple[str, str, datetime], Matter] = {}


_STAMP = select(svc_matter.c.updated_at).where(svc_matter.c.code == bindparam("code"))
_SPEC = select(svc_matter.c.spec).where(svc_matter.c.code == bindparam("code"))


def get(session: Session, code: str) -> Matter:
    """A matter from the catalogue table (its parsed definition cached per change)."""
    stamp = session.execute(_STAMP, {"code": code}).scalar()
    if stamp is None:
        raise NotFound(Msg("no matter {code!r} in the catalogue", code=code))
    key = (str(session.get_bind().url), code, stamp)
    hit = _cache.get(key)
    if hit is None:
        if len(_cache) > 4096:
            _cache.clear()
        hit = _cache[key] = Matter.model_validate(session.execute(_SPEC, {"code": code}).scalar_one())
    return hit


def summary(row) -> dict[str, Any]:
    """A catalogue row as listed; an imported matter (not written out) has no time limits."""
    full = bool(row.full)
    return {
        "code": row.code,
        "name_zh": row.name_zh,
        "name_en": row.name_en,
        "department": row.department,
        "type": row.type,
        "subject": row.subject,
        "processing": row.processing,
        "channels": row.channels,
        "cross_region": bool(row.cross_region),
        "no_application": bool(row.no_application),
        "promised_days": row.promised_days if full else None,
        "statutory_days": row.statutory_days if full else None,
        "full": full,
        "item_code": row.item_code,
    }


def detail(m: Matter) -> dict[str, Any]:
    return {
        "code": m.code,
        "name_zh": m.name_zh,
        "name_en": m.name_en,
        "department": m.department,
        "type": m.type,
        "subject": m.subject,
        "full": m.full,
        "item_code": m.item_code,
        "guide": m.guide(),
        "form": m.form,
        "prefill": dict(m.prefill),
        "rule": m.rule,
        "licence": m.licence.model_dump() if m.licence else None,
        "keywords": list(m.keywords),
    }


def search(
    session: Session,
    *,
    q: str | None = None,
    department: str | None = None,
    type: str | None = None,
    subject: str | None = None,
    processing: str | None = None,
    channel: str | None = None,
    cross_region: bool | None = None,
    no_application: bool | None = None,
    full: bool | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """Matters in code order; `cursor` is the last code of the previous page."""
    t = svc_matter
    stmt = select(t).order_by(t.c.code).limit(limit + 1)
    if q:
        like = f"%{q.strip().lower()}%"
        stmt = stmt.where(or_(t.c.search_text.like(like), t.c.name_zh.like(f"%{q.strip()}%")))
    if department:
        stmt = stmt.where(t.c.department == department)
    if type:
        if type not in MATTER_TYPES:
            raise InvalidInput(Msg("unknown type {type!r}", type=type), errors=[{"field": "type", "message": Msg("use {matter_types}", matter_types=', '.join(MATTER_TYPES))}])
        stmt = stmt.where(t.c.type == type)
    if subject:
        stmt = stmt.where(t.c.subject == subject)
    if processing:
        stmt = stmt.where(t.c.processing == processing)
    if channel:
        stmt = stmt.where(t.c.channels.in_([channel, "both"]))
    for col, value in ((t.c.cross_region, cross_region), (t.c.no_application, no_application), (t.c.full, full)):
        if value is not None:
            stmt = stmt.where(col.is_(value))
    if cursor:
        stmt = stmt.where(t.c.code > cursor)
    rows = list(session.execute(stmt))
    page = [summary(r) for r in rows[:limit]]
    return page, (page[-1]["code"] if len(rows) > limit else None)


def count(session: Session) -> int:
    return session.execute(select(func.count()).select_from(svc_matter)).scalar_one()


def power_list(session: Session, department: str) -> list[str]:
    """The matters a department is responsible for (its power list)."""
    return list(session.execute(select(svc_matter.c.code).where(svc_matter.c.department == department).order_by(svc_matter.c.code)).scalars())


# --- import / export ----------------------------------------------------------------------

CSV_COLUMNS = [
    "code", "name_zh", "name_en", "department", "type", "subject", "legal_basis", "conditions", "fee_yuan",
    "statutory_days", "promised_days", "channels", "processing", "cross_region", "no_application", "keywords",
]


def all_matters(session: Session) -> list[Matter]:
    return [Matter.model_validate(s) for s in session.execute(select(svc_matter.c.spec).order_by(svc_matter.c.code)).scalars()]


def export_json(session: Session) -> str:
    return json.dumps([m.model_dump(mode="json") for m in all_matters(session)], ensure_ascii=False, indent=1)


def export_csv(session: Session) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS)
    w.writeheader()
    for m in all_matters(session):
        d = m.model_dump(mode="json")
        row = {k: d[k] for k in CSV_COLUMNS}
        row["conditions"] = "；".join(m.conditions)
        row["keywords"] = ";".join(m.keywords)
        row["cross_region"] = "true" if m.cross_region else "false"
        row["no_application"] = "true" if m.no_application else "false"
        w.writerow(row)
    return buf.getvalue()


def _validated(session: Session, raw: list[dict[str, Any]], where: str) -> list[Matter]:
    out: list[Matter] = []
    errors: list[dict[str, str]] = []
    known_depts = _departments()
    for i, item in enumerate(raw):
        try:
            m = Matter.model_validate(item)
        except ValidationError as exc:
            errors.extend(
                {"field": f"{where}[{i}]." + ".".join(map(str, e["loc"])), "message": validation_message(e)} for e in exc.errors()
            )
            continue
        if m.department not in known_depts:
            errors.append({"field": f"{where}[{i}].department", "message": Msg("unknown department {department!r}", department=m.department)})
        if m.rule and m.rule not in rules.tables():
            errors.append({"field": f"{where}[{i}].rule", "message": Msg("unknown rule {rule!r}", rule=m.rule)})
        out.append(m)
    holders: dict[str, str] = {}
    for i, m in enumerate(out):
        if m.item_code and holders.setdefault(m.item_code, m.code) != m.code:
            errors.append({"field": f"{where}[{i}].item_code",
                           "message": Msg("{item_code} is also {matter}'s", item_code=m.item_code, matter=holders[m.item_code])})
    if holders:
        for code, item in session.execute(select(svc_matter.c.code, svc_matter.c.item_code).where(svc_matter.c.item_code.in_(list(holders)))):
            if holders[item] != code:
                errors.append({"field": f"{where}.item_code", "message": Msg("{item_code} is already matter {matter}'s", item_code=item, matter=code)})
    if errors:
        raise InvalidInput(Msg("{count} error(s) in the imported catalogue", count=len(errors)), errors=errors[:50])
    return out


def import_json(session: Session, text: str, *, at: datetime | None = None) -> dict[str, int]:
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(Msg("not valid JSON: {exc}", exc=exc)) from None
    if isinstance(raw, dict):
        raw = raw.get("matters", raw.get("items"))
    if not isinstance(raw, list):
        raise InvalidInput(Msg("expected a list of matters"))
    return upsert(session, _validated(session, raw, "matters"), at=at)


def import_csv(session: Session, text: str, *, at: datetime | None = None) -> dict[str, int]:
    """Rows add or update catalogue entries; a row for a matter written out in full keeps its
    form, materials, rule and licence and changes only the guide columns."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in ("code", "name_zh", "name_en", "department", "type") if c not in (reader.fieldnames or [])]
    if missing:
        raise InvalidInput(Msg("CSV lacks column(s) {missing}", missing=', '.join(missing)), errors=[{"field": c, "message": Msg("missing column")} for c in missing])
    existing = {code: spec for code, spec in session.execute(select(svc_matter.c.code, svc_matter.c.spec))}
    raw: list[dict[str, Any]] = []
    for row in reader:
        item: dict[str, Any] = dict(existing.get(row.get("code") or "", {}))
        for k, v in row.items():
            if k not in CSV_COLUMNS or v is None or v == "":
                continue
            if k == "conditions":
                item[k] = [c for c in v.replace(";", "；").split("；") if c]
            elif k == "keywords":
                item[k] = [c for c in v.split(";") if c]
            elif k in ("cross_region", "no_application"):
                item[k] = v.strip().lower() in ("1", "true", "yes", "y")
            else:
                item[k] = v
        if row.get("code") not in existing:
            item.setdefault("full", False)
        raw.append(item)
    return upsert(session, _validated(session, raw, "rows"), at=at)
