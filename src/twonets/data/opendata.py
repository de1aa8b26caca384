"""Open data: the columns and rows an open dataset publishes, and the catalogue as DCAT-AP JSON-LD."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Callable, Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.core.calendar import utcnow
from twonets.core.errors import NotFound
from twonets.data import audit, sources
from twonets.data.datasets import load
from twonets.data.masking import generalise
from twonets.data.models import DataField, Dataset
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
        raise NotFound(f"dataset {code!r} is not open data")
    cols = open_columns(ds)
    source = sources.source(code)

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

DCAT_CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "twonets": "urn:twonets:",
}


def dcat(datasets: list[Dataset], base_url: str, now: datetime | None = None) -> dict[str, Any]:
    """The catalogue as DCAT-AP JSON-LD; open datasets carry CSV distributions."""
    now = now or utcnow()
    base = base_url.rstrip("/")

    def lit(value: str, lang: str) -> dict[str, str]:
        return {"@value": value, "@language": lang}

    out = []
    for d in datasets:
        entry: dict[str, Any] = {
            "@id": f"{base}/api/v1/catalogue/{d.code}",
            "@type": "dcat:Dataset",
            "dct:identifier": d.code,
            "dct:title": [lit(d.name_zh, "zh"), lit(d.name_en, "en")],
            "dct:description": lit(d.description, "zh") if d.description else None,
            "dct:publisher": {"@type": "foaf:Organization", "@id": f"urn:twonets:department:{d.owner_department}", "foaf:name": d.owner_department},
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
            entry["dcat:distribution"] = [
                {
                    "@type": "dcat:Distribution",
                    "dct:title": f"{d.name_en} (CSV)",
                    "dcat:downloadURL": {"@id": f"{base}/api/v1/catalogue/{d.code}/download.csv"},
                    "dcat:mediaType": {"@id": "http://www.iana.org/assignments/media-types/text/csv"},
                    "dct:format": {"@id": "http://publications.europa.eu/resource/authority/file-type/CSV"},
                    "dct:license": {"@id": "http://creativecommons.org/licenses/by/4.0/"},
                }
            ]
        out.append({k: v for k, v in entry.items() if v is not None})
    return {
        "@context": DCAT_CONTEXT,
        "@id": f"{base}/api/v1/catalogue.jsonld",
        "@type": "dcat:Catalog",
        "dct:title": [lit("公共数据目录", "zh"), lit("Public data catalogue", "en")],
        "dct:publisher": {"@type": "foaf:Organization", "foaf:name": "District Data Bureau"},
        "dct:modified": {"@value": audit.ts(now), "@type": "xsd:dateTime"},
        "dcat:dataset": out,
    }


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
