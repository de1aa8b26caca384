"""Open data: the columns and rows an open dataset publishes (CSV, and Parquet typed by the
fields' declared types), and the catalogue as DCAT-AP JSON-LD.

DCAT-AP rules kept here: the Catalog has a title, description and publisher; every Dataset a
title, description, publisher, contact point (the owning department) and a theme (EU data
theme vocabulary); every Distribution an `accessURL`. Open datasets have a CSV and a Parquet
distribution (`downloadURL`); the others one distribution whose access URL is the access
service, reachable under an approved sharing request (access rights RESTRICTED/NON_PUBLIC).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.core.calendar import utcnow
from twonets.core.errors import NotFound
from twonets.core.i18n import Msg
from twonets.data import audit
from twonets.data.datasets import load
from twonets.data.masking import generalise
from twonets.data.models import DataField, Dataset
from twonets.data.sources import source_of
from twonets.data.tables import data_record


def open_columns(ds: Dataset) -> list[tuple[DataField, Callable[[Any], Any]]]:
    """The columns published as open data: public fields as they are, personal fields with a
    generalisation rule generalised, every other field (internal, personal, sensitive) removed."""
    out: list[tuple[DataField, Callable[[Any], Any]]] = []
    for f in ds.fields:
        if f.sensitivity == "public":
            out.append((f, lambda v: v))
        elif f.sensitivity == "personal" and f.generalise:
            out.append((f, lambda v, rule=f.generalise: generalise(v, rule)))
    return out


MAX_SOURCE_ROWS = 1_000_000


def open_rows(session: Session, code: str, batch: int = 2000) -> tuple[Dataset, list[str], Iterator[list[Any]]]:
    """The open columns and rows of `code`: from `data_record`, or from the tables of the package
    that serves the dataset (`sources`), e.g. the spatial units."""
    ds = load(session, code)
    if not ds.open_data:
        raise NotFound(Msg("dataset {code!r} is not open data", code=code))
    cols = open_columns(ds)
    source = source_of(ds.code)
    if source is not None:  # records held by another package (e.g. spatial units)

        def sourced() -> Iterator[list[Any]]:
            for rec in source(session, ds, None, None, OPEN_SOURCE_LIMIT):
                yield [fn(rec.data.get(f.name)) for f, fn in cols]

        return ds, [f.name for f, _ in cols], sourced()

    def rows() -> Iterator[list[Any]]:
        if source is not None:
            for r in source(session, ds, None, None, MAX_SOURCE_ROWS):
                yield [fn((r.data or {}).get(f.name)) for f, fn in cols]
            return
        stmt = (
            select(data_record.c.data)
            .where(data_record.c.dataset_id == ds.id)
            .order_by(data_record.c.record_key)
            .execution_options(yield_per=batch)
        )
        for (data,) in session.execute(stmt):
            yield [fn((data or {}).get(f.name)) for f, fn in cols]

    return ds, [f.name for f, _ in cols], rows()


OPEN_SOURCE_LIMIT = 1_000_000


def parquet_bytes(session: Session, code: str) -> tuple[Dataset, bytes]:
    """An open dataset as Parquet: the CSV's columns and rows, each column typed by its field's
    declared type (dates as dates, numbers as numbers…). A generalised column, or one whose
    values do not all read as the declared type, stays text: nothing is silently nulled."""
    import io

    import polars as pl

    ds, columns, rows = open_rows(session, code)
    data = [[None if v is None else str(v) for v in row] for row in rows]
    frame = pl.DataFrame(data, schema={c: pl.String for c in columns}, orient="row")
    fields = {f.name: f for f, _ in open_columns(ds)}
    for name in columns:
        f = fields[name]
        if f.generalise:
            continue
        typed = _typed(frame[name], f.type)
        if typed is not None:
            frame = frame.with_columns(typed.alias(name))
    buf = io.BytesIO()
    frame.write_parquet(buf)
    return ds, buf.getvalue()


def _typed(column, field_type: str):
    import polars as pl

    try:
        if field_type == "date":
            return column.str.to_date("%Y-%m-%d", strict=True)
        if field_type == "datetime":
            return column.str.to_datetime(strict=True, time_zone="UTC")
        if field_type == "integer":
            return column.cast(pl.Int64, strict=True)
        if field_type == "number":
            return column.cast(pl.Float64, strict=True)
        if field_type == "boolean":
            return column.str.to_lowercase().replace_strict({"true": True, "false": False}, return_dtype=pl.Boolean)
    except (pl.exceptions.PolarsError, ValueError):
        return None
    return None


# --- DCAT-AP ------------------------------------------------------------------------------

FREQ_URI = "http://publications.europa.eu/resource/authority/frequency/"
FREQ = {
    "realtime": "UPDATE_CONT",
    "hourly": "HOURLY",
    "daily": "DAILY",
    "weekly": "WEEKLY",
    "monthly": "MONTHLY",
    "quarterly": "QUARTERLY",
    "yearly": "ANNUAL",
    "irregular": "IRREG",
}
ACCESS_URI = "http://publications.europa.eu/resource/authority/access-right/"
ACCESS = {"unconditional": "PUBLIC", "conditional": "RESTRICTED", "not_shared": "NON_PUBLIC"}
THEME_URI = "http://publications.europa.eu/resource/authority/data-theme/"
# EU data themes of the district's datasets; a dataset not named here is government (GOVE).
THEMES = {
    "population": ["SOCI"], "households": ["SOCI"], "marriage": ["SOCI"], "births": ["SOCI", "HEAL"],
    "disability": ["SOCI"], "social_insurance": ["SOCI"], "legal_persons": ["ECON"], "tax": ["ECON"],
    "provident_fund": ["ECON"], "property": ["ECON", "REGI"], "spatial": ["REGI"], "education": ["EDUC"],
    "vehicles": ["TRAN"], "sensor_readings": ["ENVI", "TECH"], "work_orders": ["GOVE", "REGI"],
}
FILE_TYPE_URI = "http://publications.europa.eu/resource/authority/file-type/"
MEDIA_TYPE_URI = "http://www.iana.org/assignments/media-types/"
LICENCE_URI = "http://creativecommons.org/licenses/by/4.0/"

DCAT_CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "twonets": "urn:twonets:",
}


def dcat(datasets: list[Dataset], base_url: str, now: datetime | None = None,
         department_names: Mapping[str, tuple[str, str]] | None = None) -> dict[str, Any]:
    """The catalogue as DCAT-AP JSON-LD (the rules in the module docstring); departments are
    named by `department_names` (code -> (zh, en), from the caller's reference data) or by code."""
    now = now or utcnow()
    names = department_names or {}
    base = base_url.rstrip("/")

    def lit(value: str, lang: str) -> dict[str, str]:
        return {"@value": value, "@language": lang}

    def distribution(d: Dataset, fmt: str, media: str) -> dict[str, Any]:
        url = {"@id": f"{base}/api/v1/catalogue/{d.code}/download.{fmt.lower()}"}
        return {
            "@id": f"{base}/api/v1/catalogue/{d.code}#{fmt.lower()}",
            "@type": "dcat:Distribution",
            "dct:title": f"{d.name_en} ({fmt})",
            "dcat:accessURL": url,
            "dcat:downloadURL": url,
            "dcat:mediaType": {"@id": MEDIA_TYPE_URI + media},
            "dct:format": {"@id": FILE_TYPE_URI + fmt},
            "dct:license": {"@id": LICENCE_URI},
        }

    out = []
    for d in datasets:
        dept_zh, dept_en = names.get(d.owner_department, (d.owner_department, d.owner_department))
        department = f"urn:twonets:department:{d.owner_department}"
        entry: dict[str, Any] = {
            "@id": f"{base}/api/v1/catalogue/{d.code}",
            "@type": "dcat:Dataset",
            "dct:identifier": d.code,
            "dct:title": [lit(d.name_zh, "zh"), lit(d.name_en, "en")],
            "dct:description": [lit(d.description, "zh")] if d.description else [lit(d.name_zh, "zh"), lit(d.name_en, "en")],
            "dct:publisher": {"@type": "foaf:Organization", "@id": department, "foaf:name": [lit(dept_zh, "zh"), lit(dept_en, "en")]},
            "dcat:contactPoint": {"@type": "vcard:Organization", "vcard:fn": dept_zh, "vcard:hasUID": {"@id": department}},
            "dcat:theme": [{"@id": THEME_URI + t} for t in THEMES.get(d.code, ["GOVE"])],
            "dct:accrualPeriodicity": {"@id": FREQ_URI + FREQ[d.update_frequency]},
            "dct:accessRights": {"@id": ACCESS_URI + ("PUBLIC" if d.open_data else ACCESS[d.sharing_class])},
            "dcat:keyword": list(d.keywords),
            "dct:issued": {"@value": audit.ts(d.created_at), "@type": "xsd:dateTime"},
            "twonets:sharingClass": d.sharing_class,
            "twonets:stale": d.is_stale(now),
        }
        if d.last_updated_at is not None:
            entry["dct:modified"] = {"@value": audit.ts(d.last_updated_at), "@type": "xsd:dateTime"}
        if d.open_data:
            entry["dcat:distribution"] = [distribution(d, "CSV", "text/csv"),
                                          distribution(d, "PARQUET", "application/vnd.apache.parquet")]
        else:
            entry["dcat:distribution"] = [{
                "@id": f"{base}/api/v1/catalogue/{d.code}#access",
                "@type": "dcat:Distribution",
                "dct:title": f"{d.name_en} (access service, under an approved sharing request)",
                "dcat:accessURL": {"@id": f"{base}/api/v1/access/read"},
                "dct:accessRights": {"@id": ACCESS_URI + ACCESS[d.sharing_class]},
                "dcat:mediaType": {"@id": MEDIA_TYPE_URI + "application/json"},
            }]
        out.append(entry)
    return {
        "@context": DCAT_CONTEXT,
        "@id": f"{base}/api/v1/catalogue.jsonld",
        "@type": "dcat:Catalog",
        "dct:title": [lit("公共数据目录", "zh"), lit("Public data catalogue", "en")],
        "dct:description": [
            lit("区公共数据目录：各部门数据资源的责任部门、字段敏感级别、更新频率、共享类型与开放属性。", "zh"),
            lit("The district's public data catalogue: every dataset with its owner, field sensitivity, "
                "update frequency, sharing class and open-data flag.", "en"),
        ],
        "dct:publisher": {"@type": "foaf:Organization", "@id": "urn:twonets:department:shuju",
                          "foaf:name": [lit("区大数据中心", "zh"), lit("District Data Bureau", "en")]},
        "dct:modified": {"@value": audit.ts(now), "@type": "xsd:dateTime"},
        "dcat:dataset": out,
    }


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
