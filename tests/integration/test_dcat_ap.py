"""The DCAT-AP catalogue and open data as independent readers see them: pyld expands
`/api/v1/catalogue.jsonld` offline (a document loader that refuses every fetch) and every
mandatory DCAT-AP property is there — the Catalog's title, description and publisher; every
Dataset's title, description, contact point and theme; every Distribution's accessURL; CSV and
Parquet distributions of the open datasets. DuckDB reads the Parquet files and finds typed
columns (dates as DATE, numbers as DOUBLE), and the open `spatial` dataset is not empty."""

from __future__ import annotations

import csv
import io
from urllib.parse import urlsplit

import duckdb
import pytest
from pyld import jsonld

from tests.districts import seed_tiny_district
from tests.unit.data.support import ADMIN, bearer, client_for, data_env  # noqa: F401
from tests.unit.govservices.support import seeded
from twonets.core.actor import Actor
from twonets.core.db import session_factory
from twonets.data import catalogue

pytestmark = pytest.mark.usefixtures("data_env")
DCAT, DCT, FOAF, VCARD = "http://www.w3.org/ns/dcat#", "http://purl.org/dc/terms/", "http://xmlns.com/foaf/0.1/", "http://www.w3.org/2006/vcard/ns#"
SHICHANG = Actor(id="so", roles=frozenset({"data_officer"}), department="shichang")


def _offline(url, options=None):
    raise jsonld.JsonLdError(f"offline: refused to load {url}", "jsonld.LoadDocumentError", code="loading remote context failed")


@pytest.fixture
def client(sqlite_engine):
    seeded(sqlite_engine)
    with session_factory(sqlite_engine)() as s:
        seed_tiny_district(s)
        catalogue.upsert_records(s, SHICHANG, "legal_persons", [
            {"key": "C1", "data": {"credit_code": "A1", "company_name": "甲公司", "industry": "software", "established_on": "2020-05-01"}},
            {"key": "C2", "data": {"credit_code": "B2", "company_name": "乙公司", "industry": "retail", "established_on": "2018-11-30"}},
        ])
        s.commit()
    return client_for(sqlite_engine)


def test_catalogue_expands_offline_with_every_mandatory_property(client):
    doc = client.get("/api/v1/catalogue.jsonld", headers=bearer(ADMIN)).json()
    expanded = jsonld.expand(doc, {"documentLoader": _offline})
    catalogs = [n for n in expanded if DCAT + "Catalog" in n.get("@type", [])]
    assert len(catalogs) == 1
    cat = catalogs[0]
    for prop in ("title", "description", "publisher"):
        assert cat.get(DCT + prop), f"Catalog lacks dct:{prop}"
    assert cat[DCT + "publisher"][0].get(FOAF + "name")
    datasets = cat[DCAT + "dataset"]
    assert len(datasets) == len(doc["dcat:dataset"]) >= 18
    open_codes = {d["code"] for d in client.get("/api/v1/catalogue", params={"open_data": True}).json()["items"]}
    assert open_codes == {"legal_persons", "spatial"}
    for ds in datasets:
        name = ds[DCT + "identifier"][0]["@value"]
        for prop in (DCT + "title", DCT + "description", DCAT + "contactPoint", DCAT + "theme", DCT + "publisher"):
            assert ds.get(prop), f"{name} lacks {prop}"
        assert ds[DCAT + "contactPoint"][0].get(VCARD + "fn"), name
        assert all(t["@id"].startswith("http://publications.europa.eu/resource/authority/data-theme/") for t in ds[DCAT + "theme"])
        distributions = ds.get(DCAT + "distribution", [])
        assert distributions, f"{name} has no distribution"
        for dist in distributions:
            assert dist.get(DCAT + "accessURL"), f"a distribution of {name} lacks dcat:accessURL"
        if name in open_codes:
            formats = {d[DCT + "format"][0]["@id"].rsplit("/", 1)[-1] for d in distributions}
            assert formats == {"CSV", "PARQUET"}, name
            for dist in distributions:
                url = dist[DCAT + "downloadURL"][0]["@id"]
                assert client.get(urlsplit(url).path).status_code == 200, url
        else:
            assert not any(DCAT + "downloadURL" in d for d in distributions), name


def _parquet(client, tmp_path, code):
    r = client.get(f"/api/v1/catalogue/{code}/download.parquet")
    assert r.status_code == 200
    path = tmp_path / f"{code}.parquet"
    path.write_bytes(r.content)
    con = duckdb.connect()
    types = {name: kind for name, kind, *_ in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()}
    rows = con.execute(f"SELECT * FROM read_parquet('{path}')").fetchall()
    return types, rows


def test_parquet_columns_are_typed_and_spatial_is_served(client, tmp_path):
    types, rows = _parquet(client, tmp_path, "legal_persons")
    assert types["established_on"] == "DATE" and types["credit_code"] == "VARCHAR"
    assert types["registered_address"] == "VARCHAR"  # generalised: text
    established = {str(r[4]) for r in rows if r[4] is not None}
    assert {"2018-11-30", "2020-05-01"} <= established and len(rows) > 2
    types, rows = _parquet(client, tmp_path, "spatial")
    assert types["area_km2"] == "DOUBLE" and types["area_code"] == "VARCHAR"
    body = client.get("/api/v1/catalogue/spatial/download.csv").text
    table = list(csv.reader(io.StringIO(body)))
    areas = client.get("/api/v1/areas", params={"level": "grid"}).json()["features"]
    assert len(table) - 1 == len(rows) >= len(areas) > 0
    assert {r[0] for r in table[1:]} >= {f["id"] for f in areas}
