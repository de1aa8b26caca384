"""The W3C test vectors of `eddsa-jcs-2022` (tests/data/w3c-vc-di-eddsa): twonets' cryptosuite
reproduces every intermediate value from the unsigned document, the proof options and the
key, and produces the signed credential exactly; the independent verifier (tests/independent_vc.py,
PyPI pieces only) reproduces them too and verifies `signedJCS.json`."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests import independent_vc
from twonets.govservices import dataintegrity as di

VECTORS = Path(__file__).resolve().parents[2] / "data" / "w3c-vc-di-eddsa"


def _text(name: str) -> str:
    return (VECTORS / name).read_text(encoding="utf-8").strip()


def _json(name: str):
    return json.loads(_text(name))


@pytest.fixture(scope="module")
def key():
    pair = _json("keyPair.json")
    private = Ed25519PrivateKey.from_private_bytes(di.private_from_multikey(pair["privateKeyMultibase"]))
    assert di.multikey(private.public_key().public_bytes_raw()) == pair["publicKeyMultibase"]
    return private


def test_twonets_reproduces_every_intermediate_value(key):
    unsigned, options = _json("unsigned.json"), _json("proofConfigJCS.json")
    canon_doc = di.canonical(unsigned)
    assert canon_doc.decode() == _text("canonDocJCS.txt")
    assert hashlib.sha256(canon_doc).hexdigest() == _text("docHashJCS.txt")
    config = di.proof_config(options)
    canon_proof = di.canonical(config)
    assert canon_proof.decode() == _text("proofCanonJCS.txt")
    assert hashlib.sha256(canon_proof).hexdigest() == _text("proofHashJCS.txt")
    combined = di.hash_data(config, unsigned)
    assert combined.hex() == _text("combinedHashJCS.txt")
    signature = key.sign(combined)
    assert signature.hex() == _text("sigHexJCS.txt")
    assert di.multibase(signature) == _text("sigBTC58JCS.txt")


def test_twonets_issues_the_signed_vector_and_verifies_it(key):
    options = {k: v for k, v in _json("proofConfigJCS.json").items() if k != "@context"}
    signed = di.add_proof(_json("unsigned.json"), options, key.sign)
    expected = _json("signedJCS.json")
    assert signed == expected  # proof.@context included, as Create Proof step 2 says
    public = key.public_key()
    assert di.verify_proof(expected, public)
    altered = copy.deepcopy(expected)
    altered["credentialSubject"]["alumniOf"] = "Another School"
    assert not di.verify_proof(altered, public)
    without_ctx = copy.deepcopy(expected)
    del without_ctx["proof"]["@context"]
    assert not di.verify_proof(without_ctx, public)  # the Recommendation hashes the proof as emitted
    assert di.verify_proof(without_ctx, public, legacy=True)  # only the legacy path re-adds it


def test_independent_verifier_reproduces_and_verifies_the_vectors():
    signed = _json("signedJCS.json")
    steps = independent_vc.intermediates(signed)
    assert steps["canon_doc"].decode() == _text("canonDocJCS.txt")
    assert steps["doc_hash"].hex() == _text("docHashJCS.txt")
    assert steps["canon_proof"].decode() == _text("proofCanonJCS.txt")
    assert steps["proof_hash"].hex() == _text("proofHashJCS.txt")
    assert steps["combined"].hex() == _text("combinedHashJCS.txt")
    assert steps["signature"].hex() == _text("sigHexJCS.txt")
    method = independent_vc.verify(signed)
    assert method["publicKeyMultibase"] == _json("keyPair.json")["publicKeyMultibase"]
    tampered = copy.deepcopy(signed)
    tampered["validFrom"] = "2024-01-01T00:00:00Z"
    with pytest.raises(independent_vc.VerificationError, match="InvalidSignature"):
        independent_vc.verify(tampered)
