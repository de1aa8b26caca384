"""Cross-region handling (跨省通办) between two live regions, issue 13: each its own server on
loopback, its own database and keys; requests between them signed as HTTP Message Signatures
(RFC 9421, Ed25519); replayed, stale or altered requests refused and audited."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from tests.unit.data.support import data_env  # noqa: F401
from tests.unit.govservices.support import pid, seeded
from twonets.core.config import settings
from twonets.core.db import make_engine, session_factory, unit_of_work
from twonets.data import httpsig
from twonets.data.keys import system_key
from twonets.data.tables import audit_entry, data_access

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "cross-region-test-2026"


# --- the signature, without a server -----------------------------------------------------


def _keypair():
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    k = Ed25519PrivateKey.generate()
    return k, k.public_key()


def test_a_signed_request_verifies_and_altered_stale_or_unknown_ones_do_not():
    key, pub = _keypair()
    url, body, now = "http://127.0.0.1:9/api/v1/peer/applications", b'{"a":1}', 1_764_730_000
    h = httpsig.sign(key, "region-b", "POST", url, body, now, nonce="n1")
    assert h["Signature-Input"].startswith('sig1=("@method" "@target-uri" "content-digest");created=1764730000;keyid="region-b"')
    ok = httpsig.verify(h, "POST", url, body, {"region-b": pub}.get, now + 10)
    assert (ok.keyid, ok.nonce) == ("region-b", "n1")
    refusals = {
        "altered body": lambda: httpsig.verify(h, "POST", url, b'{"a":2}', {"region-b": pub}.get, now),
        "other target": lambda: httpsig.verify(h, "POST", url + "x", body, {"region-b": pub}.get, now),
        "other method": lambda: httpsig.verify(h, "PUT", url, body, {"region-b": pub}.get, now),
        "stale": lambda: httpsig.verify(h, "POST", url, body, {"region-b": pub}.get, now + 301),
        "other key": lambda: httpsig.verify(h, "POST", url, body, {"region-b": _keypair()[1]}.get, now),
        "unknown peer": lambda: httpsig.verify(h, "POST", url, body, {}.get, now),
        "unsigned": lambda: httpsig.verify({}, "POST", url, body, {"region-b": pub}.get, now),
        "altered params": lambda: httpsig.verify({**h, "Signature-Input": h["Signature-Input"].replace("n1", "n2")}, "POST",
                                                 url, body, {"region-b": pub}.get, now),
    }
    for name, attempt in refusals.items():
        with pytest.raises(httpsig.SignatureRefused):
            attempt()
        assert name


# --- two live regions ----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _region(tmp: Path, name: str) -> dict:
    """A region's database (migrated, seeded) and key directory, made in this process."""
    from twonets.core import db
    from twonets.core.actor import SYSTEM
    from twonets.data import identity

    home = tmp / name
    keys = home / "keys"
    os.environ["TWONETS_KEY_DIR"] = str(keys)
    settings.cache_clear()
    url = f"sqlite:///{home / 'twonets.db'}"
    home.mkdir(parents=True)
    db.upgrade(url)
    engine = make_engine(url)
    seeded(engine)
    with unit_of_work(engine) as s:
        identity.create_user(s, SYSTEM, username=f"hall.{name}", password=PASSWORD, roles=["department_handler"],
                             department="shuju")
    public = base64.b64encode(system_key(keys).public_raw()).decode()
    return {"name": name, "url": url, "keys": keys, "engine": engine, "port": _free_port(), "public_key": public, "home": home}


def _serve(r: dict, peer: dict) -> subprocess.Popen:
    peers_file = r["home"] / "peers.yaml"
    peers_file.write_text(json.dumps({"peers": [{"name": peer["name"], "url": f"http://127.0.0.1:{peer['port']}",
                                                 "public_key": peer["public_key"]}]}), encoding="utf-8")
    env = {**os.environ, "TWONETS_DATABASE_URL": r["url"], "TWONETS_KEY_DIR": str(r["keys"]), "TWONETS_LOG_LEVEL": "WARNING",
           "PYTHONPATH": str(ROOT / "src")}
    env.pop("TWONETS_PUBLIC_BASE_URL", None)
    return subprocess.Popen([sys.executable, "-m", "twonets.cli", "serve", "--host", "127.0.0.1", "--port", str(r["port"]),
                             "--region", r["name"], "--peers", str(peers_file), "--no-tick", "--no-access-log"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait(r: dict, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"region {r['name']} did not start: {proc.stderr.read().decode()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{r['port']}/api/v1/peer/region", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.3)
    raise AssertionError(f"region {r['name']} did not answer within 60 s")


@pytest.fixture
def two_regions(tmp_path, data_env):  # noqa: F811
    saved = os.environ.get("TWONETS_KEY_DIR")
    a, b = _region(tmp_path, "region-a"), _region(tmp_path, "region-b")
    if saved is not None:
        os.environ["TWONETS_KEY_DIR"] = saved
    settings.cache_clear()
    procs = [_serve(a, b), _serve(b, a)]
    try:
        _wait(a, procs[0])
        _wait(b, procs[1])
        yield a, b
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


def _login(r: dict) -> dict[str, str]:
    res = httpx.post(f"http://127.0.0.1:{r['port']}/api/v1/auth/login", json={"username": f"hall.{r['name']}", "password": PASSWORD})
    assert res.status_code == 200, res.text
    return {"Authorization": f"Bearer {res.json()['access_token']}"}


def _audit(r: dict, action: str) -> list[dict]:
    with session_factory(r["engine"])() as s:
        return [json.loads(d) | {"subject": sub} for sub, d in s.execute(
            select(audit_entry.c.subject, audit_entry.c.data).where(audit_entry.c.action == action)).all()]


def test_an_application_taken_at_b_is_decided_by_a_and_the_licence_verifies_in_both(two_regions):
    a, b = two_regions
    hall_b = _login(b)
    person = pid("new_parent")  # married: region A's marriage registry holds the record
    r = httpx.post(f"http://127.0.0.1:{b['port']}/api/v1/crossregion/applications", headers=hall_b, timeout=60,
                   json={"peer": "region-a", "matter": "MINZHENG-003", "applicant_id": person, "form": {"purpose": "异地购房"}})
    assert r.status_code == 201, r.text
    shown = r.json()
    assert shown["state"] == "licence_issued" and shown["licence"].startswith("LIC-") and shown["application"].startswith("AP-")
    # B shows the result later as well
    again = httpx.get(f"http://127.0.0.1:{b['port']}/api/v1/crossregion/applications/{shown['id']}", headers=hall_b)
    assert again.json()["licence"] == shown["licence"]
    # the licence verifies at A (its own) and at B (against A's published e-seal keys)
    at_a = httpx.get(f"http://127.0.0.1:{a['port']}/api/v1/licences/{shown['licence']}/verify").json()
    assert at_a["valid"] is True
    at_b = httpx.post(f"http://127.0.0.1:{b['port']}/api/v1/crossregion/licences/verify", timeout=60,
                      json={"peer": "region-a", "credential": shown["credential"]}).json()
    assert at_b["valid"] is True and at_b["checks"]["signature"] == "ok"
    tampered = json.loads(json.dumps(shown["credential"]))
    tampered["credentialSubject"]["holder_name"] = "李鬼"
    assert httpx.post(f"http://127.0.0.1:{b['port']}/api/v1/crossregion/licences/verify", timeout=60,
                      json={"peer": "region-a", "credential": tampered}).json()["valid"] is False
    # A's registry read is in A's chain (and access log) and recorded in B's chain
    received = _audit(a, "crossregion.receive")
    assert [e["subject"] for e in received] == [shown["application"]] and received[0]["peer"] == "region-b"
    with session_factory(a["engine"])() as s:
        reads = s.execute(select(data_access.c.dataset_code).where(data_access.c.subject_id == person,
                                                             data_access.c.matter == "MINZHENG-003")).scalars().all()
    assert "marriage" in reads
    forwarded = _audit(b, "crossregion.forward")
    assert len(forwarded) == 1 and {r["dataset"] for r in forwarded[0]["peer_reads"]} >= {"marriage"}
    assert {r["peer_audit_seq"] for r in forwarded[0]["peer_reads"]} <= {r["audit_seq"] for r in received[0]["reads"]}
    with session_factory(b["engine"])() as s:  # B read nothing of the person's in its own registries
        assert s.execute(select(data_access.c.id).where(data_access.c.subject_id == person)).first() is None


def test_replayed_stale_or_altered_signed_requests_are_refused_and_audited(two_regions):
    a, b = two_regions
    url = f"http://127.0.0.1:{a['port']}/api/v1/peer/applications"
    body = json.dumps({"ref": "XR-T", "matter": "MINZHENG-003", "applicant_id": pid("new_parent"), "form": {}}).encode()
    key = system_key(b["keys"]).private  # region B's key, as B's server signs

    def post(headers, content=body):
        return httpx.post(url, content=content, headers={"Content-Type": "application/json", **headers}, timeout=60)

    signed = httpsig.sign(key, "region-b", "POST", url, body, int(time.time()))
    assert post(signed).status_code == 200  # a good one goes through
    replay = post(signed)
    assert replay.status_code == 401 and "replayed" in replay.json()["detail"]
    stale = post(httpsig.sign(key, "region-b", "POST", url, body, int(time.time()) - 3600))
    assert stale.status_code == 401 and "stale" in stale.json()["detail"]
    altered = post(httpsig.sign(key, "region-b", "POST", url, body, int(time.time())), content=body.replace(b"XR-T", b"XR-X"))
    assert altered.status_code == 401 and "altered" in altered.json()["detail"]
    stranger = post(httpsig.sign(_keypair()[0], "region-b", "POST", url, body, int(time.time())))
    assert stranger.status_code == 401
    unsigned = post({})
    assert unsigned.status_code == 401
    reasons = [e["reason"] for e in _audit(a, "peer.refused")]
    assert len(reasons) == 5 and any("replayed" in x for x in reasons) and any("stale" in x for x in reasons)
    assert any("altered" in x for x in reasons)
