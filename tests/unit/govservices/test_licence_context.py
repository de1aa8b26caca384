"""The twonets JSON-LD context defines every term a licence can carry: the licence type and
number, and every claim of every matter's licence (so that JSON-LD processing drops none)."""

from __future__ import annotations

from twonets.govservices import credentials, matters


def test_every_licence_claim_of_every_matter_is_a_defined_term():
    terms = credentials.context_document()["@context"]
    assert terms["@protected"] is True
    claims = {name for m in matters.load_full() if m.licence for name in m.licence.claims}
    assert len(claims) >= 10
    missing = sorted((claims | {"ElectronicLicence", "licenceType", "licenceNumber"}) - set(terms))
    assert not missing, f"define these terms in contexts/twonets-v1.jsonld: {missing}"
