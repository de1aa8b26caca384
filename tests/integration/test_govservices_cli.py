"""`twonets licence verify FILE` (offline: no server) and `twonets matters import|export`."""

from __future__ import annotations

import copy
import csv
import io
import json
import shutil

import pytest
from typer.testing import CliRunner

from tests.unit.data.support import data_env  # noqa: F401
from tests.unit.govservices.support import citizen, seeded, staff
from twonets.core import db as core_db
from twonets.core.db import session_factory
from twonets.govservices import applications, licences, matters
from twonets.govservices.cli import licence_app, matters_app

pytestmark = pytest.mark.usefixtures("data_env")
runner = CliRunner()


@pytest.fixture
def url(tmp_path, sqlite_template):
    path = tmp_path / "cli.db"
    shutil.copy(sqlite_template, path)
    yield f"sqlite:///{path}"
    core_db.engine_for.cache_clear()


def test_licence_verify_file(url, tmp_path):
    engine = core_db.make_engine(url)
    seeded(engine)
    who = citizen(engine, "new_parent")
    with session_factory(engine)() as s:
        app = applications.submit(s, who, applications.start(s, who, "JIAOYU-001", consent=True).id)
        credential = licences.load(s, app.state.licence).credential
        s.commit()
    good = tmp_path / "licence.json"
    good.write_text(json.dumps(credential, ensure_ascii=False), encoding="utf-8")
    r = runner.invoke(licence_app, ["verify", str(good), "--json", "--database-url", url])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["valid"] is True

    forged = copy.deepcopy(credential)
    forged["credentialSubject"]["degree"] = "doctor"
    bad = tmp_path / "forged.json"
    bad.write_text(json.dumps(forged, ensure_ascii=False), encoding="utf-8")
    r = runner.invoke(licence_app, ["verify", str(bad), "--json", "--database-url", url])
    assert r.exit_code == 1 and json.loads(r.stdout)["checks"]["signature"] == "fail"

    with session_factory(engine)() as s:
        licences.revoke(s, staff("reviewer", "jiaoyu"), app.state.licence, reason="学籍信息更正")
        s.commit()
    r = runner.invoke(licence_app, ["verify", str(good), "--database-url", url])
    assert r.exit_code == 1 and "学籍信息更正" in r.output
    assert runner.invoke(licence_app, ["verify", str(tmp_path / "missing.json"), "--database-url", url]).exit_code == 2
    engine.dispose()


def test_matters_export_and_import(url, tmp_path):
    engine = core_db.make_engine(url)
    seeded(engine)
    out = tmp_path / "matters.csv"
    r = runner.invoke(matters_app, ["export", "--format", "csv", "--out", str(out), "--database-url", url])
    assert r.exit_code == 0, r.output
    with session_factory(engine)() as s:
        total = matters.count(s)
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert len(rows) == total
    js = tmp_path / "matters.json"
    assert runner.invoke(matters_app, ["export", "--out", str(js), "--database-url", url]).exit_code == 0
    r = runner.invoke(matters_app, ["import", str(js), "--json", "--database-url", url])
    assert r.exit_code == 0 and json.loads(r.stdout) == {"ok": True, "created": 0, "updated": 0, "total": total}
    broken = tmp_path / "broken.csv"
    broken.write_text("code,name_zh,name_en,department,type\nGONGAN-900,甲,A,gongan,wrong\n", encoding="utf-8")
    r = runner.invoke(matters_app, ["import", str(broken), "--json", "--database-url", url])
    assert r.exit_code == 2 and json.loads(r.stdout)["errors"][0]["field"] == "rows[0].type"
    engine.dispose()


def test_licence_verify_with_published_lists_and_no_database(url, tmp_path):
    from fastapi.testclient import TestClient

    from twonets.api.app import create_app

    engine = core_db.make_engine(url)
    seeded(engine)
    who = citizen(engine, "elderly_local")
    with session_factory(engine)() as s:
        app = applications.submit(s, who, applications.start(s, who, "MINZHENG-001", consent=True).id)
        s.commit()
    c = TestClient(create_app(engine))
    (tmp_path / "keys.json").write_text(c.get("/api/v1/services/seals").text, encoding="utf-8")
    (tmp_path / "revoked.json").write_text(c.get("/api/v1/licences/revocations").text, encoding="utf-8")
    with session_factory(engine)() as s:
        credential = licences.load(s, app.state.licence).credential
    lic = tmp_path / "lic.json"
    lic.write_text(json.dumps(credential, ensure_ascii=False), encoding="utf-8")
    args = ["verify", str(lic), "--json", "--keys", str(tmp_path / "keys.json"), "--revocations", str(tmp_path / "revoked.json"),
            "--database-url", "sqlite:////nonexistent/never.db"]
    r = runner.invoke(licence_app, args)
    assert r.exit_code == 0, r.output
    # the department's DID document serves as the trusted key list too
    (tmp_path / "did.json").write_text(c.get("/departments/minzheng/did.json").text, encoding="utf-8")
    did_args = ["verify", str(lic), "--json", "--keys", str(tmp_path / "did.json"), "--revocations", str(tmp_path / "revoked.json"),
                "--database-url", "sqlite:////nonexistent/never.db"]
    r = runner.invoke(licence_app, did_args)
    assert r.exit_code == 0 and json.loads(r.stdout)["checks"]["signature"] == "ok", r.output
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps({**credential, "validUntil": "2099-01-01T00:00:00Z"}, ensure_ascii=False), encoding="utf-8")
    r = runner.invoke(licence_app, ["verify", str(forged), *did_args[2:]])
    assert r.exit_code == 1 and json.loads(r.stdout)["checks"]["signature"] == "fail"
    with session_factory(engine)() as s:
        licences.revoke(s, staff("reviewer", "minzheng"), app.state.licence, reason="持证人已故")
        s.commit()
    (tmp_path / "revoked.json").write_text(c.get("/api/v1/licences/revocations").text, encoding="utf-8")
    r = runner.invoke(licence_app, args)
    assert r.exit_code == 1 and json.loads(r.stdout)["revoked_reason"] == "持证人已故"
    r = runner.invoke(licence_app, args[:5] + ["--database-url", "sqlite:////nonexistent/never.db"])
    assert r.exit_code == 1 and json.loads(r.stdout)["checks"]["revocation"] == "unknown"
    engine.dispose()
