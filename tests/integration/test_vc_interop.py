"""E-licences read by other systems: an issued licence verifies with the independent
`eddsa-jcs-2022` verifier (tests/independent_vc.py, from the W3C Recommendation with PyPI
pieces), which resolves the issuer's key from the DID document twonets serves (did:web), checks
revocation in the Bitstring Status List, and keeps verifying after a key rotation; pyld expands
it offline (the VC v2 context from the `cert-schema` package, the twonets context bundled with
twonets) without dropping a claim. Every URL comes from the configured public base URL."""

from __future__ import annotations

import copy
import json
from importlib import resources

import pytest
from fastapi.testclient import TestClient
from pyld import jsonld

from tests import independent_vc
from tests.unit.data.support import data_env  # noqa: F401
from tests.unit.govservices.support import bearer, citizen, seeded, staff
from twonets.api.app import create_app
from twonets.core.config import settings

pytestmark = pytest.mark.usefixtures("data_env")
BASE = "https://licences.example.gov.cn"
VC_V2 = "https://www.w3.org/ns/credentials/v2"
TW = "urn:twonets:vocab:"


@pytest.fixture
def client(sqlite_engine, monkeypatch):
    monkeypatch.setenv("TWONETS_PUBLIC_BASE_URL", BASE)
    settings.cache_clear()
    seeded(sqlite_engine)
    with TestClient(create_app(sqlite_engine)) as c:
        yield c
    settings.cache_clear()


def fetcher(client):
    """What an outside verifier's HTTP GET would see, through the app (only under BASE)."""

    def fetch(url: str):
        assert url.startswith(BASE + "/"), url
        r = client.get(url[len(BASE):])
        assert r.status_code == 200, (url, r.text)
        return r.json()

    return fetch


def issue(client, engine, persona="elderly_local", matter="MINZHENG-001"):
    who = bearer(citizen(engine, persona))
    app = client.post("/api/v1/applications", headers=who, json={"matter": matter, "consent": True, "submit": True}).json()
    assert app["state"] == "licence_issued", app
    r = client.get(f"/api/v1/licences/{app['licence']}/credential.json", headers=who)
    assert r.status_code == 200 and r.headers["content-type"].split(";")[0] == "application/vc"
    return app["licence"], r.json()


def test_issued_licence_verifies_independently_from_the_did_document(client, sqlite_engine):
    fetch = fetcher(client)
    lic_id, cred = issue(client, sqlite_engine)
    assert cred["issuer"]["id"] == "did:web:licences.example.gov.cn:departments:minzheng"
    assert cred["proof"]["@context"] == cred["@context"]
    method = independent_vc.verify(cred, fetch)
    assert method["type"] == "Multikey" and method["id"] == cred["proof"]["verificationMethod"]
    did_doc = client.get("/departments/minzheng/did.json")
    assert did_doc.headers["content-type"].split(";")[0] == "application/did+ld+json"
    assert client.get("/.well-known/did.json").json()["id"] == "did:web:licences.example.gov.cn"

    presented = client.post("/api/v1/licences/verify", content=json.dumps(cred, ensure_ascii=False).encode(),
                            headers={"Content-Type": "application/vc"})
    assert presented.status_code == 200 and presented.json()["valid"] is True, presented.text
    altered = copy.deepcopy(cred)
    altered["credentialSubject"]["holder_name"] = "李鬼"
    with pytest.raises(independent_vc.VerificationError, match="InvalidSignature"):
        independent_vc.verify(altered, fetch)

    # revocation: the bit flips in the department's Bitstring Status List
    status = cred["credentialStatus"]
    assert status["type"] == "BitstringStatusListEntry" and status["statusListCredential"].startswith(BASE + "/api/v1/status-lists/minzheng/")
    assert client.get(status["statusListCredential"][len(BASE):]).headers["content-type"].split(";")[0] == "application/vc"
    assert independent_vc.revoked(cred, fetch) is False
    r = client.post(f"/api/v1/licences/{lic_id}/revoke", headers=bearer(staff("reviewer", "minzheng")), json={"reason": "持证人已迁出"})
    assert r.status_code == 200, r.text
    assert independent_vc.revoked(cred, fetch) is True
    assert client.get(f"/api/v1/licences/{lic_id}/verify").json()["checks"]["revocation"] == "fail"


def test_rotation_keeps_earlier_licences_verifiable(client, sqlite_engine):
    fetch = fetcher(client)
    _, before = issue(client, sqlite_engine)
    r = client.post("/api/v1/services/seals/minzheng/rotate", headers=bearer(staff("administrator", "shuju")))
    assert r.status_code == 201, r.text
    _, after = issue(client, sqlite_engine, persona="very_old")
    assert before["proof"]["verificationMethod"] != after["proof"]["verificationMethod"]
    for cred in (before, after):
        independent_vc.verify(cred, fetch)
        assert independent_vc.revoked(cred, fetch) is False
    methods = client.get("/departments/minzheng/did.json").json()["assertionMethod"]
    assert {before["proof"]["verificationMethod"], after["proof"]["verificationMethod"]} <= set(methods)


def _loader(client):
    """Offline JSON-LD document loader: the VC v2 context from an independent package, the
    twonets context from the twonets package (and the same document the server serves)."""
    vc_v2 = json.loads(resources.files("cert_schema").joinpath("3.2/credential_v2.json").read_text(encoding="utf-8"))
    bundled = json.loads(resources.files("twonets.govservices").joinpath("contexts/twonets-v1.jsonld").read_text(encoding="utf-8"))
    docs = {VC_V2: vc_v2}

    def load(url, options=None):
        if url.startswith(BASE + "/"):
            served = client.get(url[len(BASE):])
            assert served.headers["content-type"].split(";")[0] == "application/ld+json"
            assert served.json() == bundled
            docs[url] = bundled
        if url not in docs:
            raise jsonld.JsonLdError("offline: unknown document", "jsonld.LoadDocumentError", {"url": url}, code="loading document failed")
        return {"contextUrl": None, "documentUrl": url, "document": docs[url]}

    return load


def test_jsonld_expansion_offline_keeps_every_claim(client, sqlite_engine):
    _, cred = issue(client, sqlite_engine)
    options = {"documentLoader": _loader(client)}
    expanded = jsonld.expand(cred, options)
    assert len(expanded) == 1
    node = expanded[0]
    assert TW + "ElectronicLicence" in node["@type"]
    subject = node["https://www.w3.org/2018/credentials#credentialSubject"][0]
    claims = {k for k in cred["credentialSubject"] if k != "id"}
    assert len(claims) >= 4
    assert {k for k in subject if k != "@id"} == {TW + k for k in claims}
    status = node["https://www.w3.org/2018/credentials#credentialStatus"][0]
    assert "https://www.w3.org/ns/credentials/status#statusListIndex" in status
    # without the twonets context the same claims are dropped: the check can fail
    bare = copy.deepcopy({k: v for k, v in cred.items() if k != "proof"})
    bare["@context"] = [VC_V2]
    lost = jsonld.expand(bare, options)[0]["https://www.w3.org/2018/credentials#credentialSubject"][0]
    assert not {k for k in lost if k != "@id"}
