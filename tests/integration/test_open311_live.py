"""Open311 compatibility: PyPI client libraries against a live `twonets serve`.

The server runs in a subprocess on a free port, on a temporary SQLite database migrated (with
the reference data) by `twonets db upgrade`, with an API key issued by `twonets users api-key`.
Clients, as published on PyPI (pinned in the `test` extra):

* ``georeport`` 0.3.1 — reads only (services, definitions, requests), in JSON and in XML;
* ``three`` 0.8.0 — discovery, services, POST with a photo, requests, tokens (JSON: its XML
  reader is Python 2 code). It imports ``itertools.ifilter``, which Python 3 renamed ``filter``:
  the test supplies that one name, nothing else;
* ``open311`` 1.1 — Python 2 code throughout (implicit relative imports, str POST bodies): it
  cannot be imported on Python 3, so its wire format (``api_key`` in the query string, the form
  in the body) is sent as it would send it.

A client that cannot be imported skips its test with the reason printed.
"""

from __future__ import annotations

import importlib
import itertools
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

import twonets

CODE = "exposed_garbage"
PHOTO = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 8 + b"\xff\xd9"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "twonets.cli", *args], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, f"twonets {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """(base URL, open311 API key) of a live server on a fresh database."""
    home = tmp_path_factory.mktemp("live")
    env = {**os.environ,
           "PYTHONPATH": str(Path(twonets.__file__).resolve().parents[1]),  # the code under test
           "TWONETS_DATABASE_URL": f"sqlite:///{home / 'twonets.db'}",
           "TWONETS_KEY_DIR": str(home / "keys"), "TWONETS_MEDIA_DIR": str(home / "media"),
           "TWONETS_LOG_JSON": "0"}
    env.pop("TWONETS_PUBLIC_BASE_URL", None)
    _cli(env, "db", "upgrade")
    key = _cli(env, "users", "api-key", "open311", "PyPI clients").strip().splitlines()[-1]
    port = _free_port()
    log = (home / "serve.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "twonets.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
                             "--no-tick"], env=env, cwd=home, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, f"twonets serve exited:\n{(home / 'serve.log').read_text()}"
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"twonets serve did not answer:\n{(home / 'serve.log').read_text()}"
            time.sleep(0.2)
        yield base, key
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _import(name: str):
    try:
        return importlib.import_module(name)
    except Exception as exc:  # the reason is printed with the skip
        reason = f"the PyPI client {name!r} cannot be imported: {type(exc).__name__}: {exc}"
        print(reason)
        pytest.skip(reason)


def _three():
    if not hasattr(itertools, "ifilter"):
        itertools.ifilter = filter  # the one Python 2 name `three` imports
    return _import("three")


def test_three_drives_the_whole_face(server, tmp_path):
    base, key = server
    three = _three()
    t = three.Three(f"{base}/open311/v2", api_key=key, format="json")

    discovery = t.discovery()
    assert discovery["endpoints"][0]["url"] == f"{base}/open311/v2"
    services = {s["service_code"]: s for s in t.services()}
    assert services[CODE]["metadata"] is True
    definition = t.services(CODE)
    assert definition["service_code"] == CODE
    assert {a["code"] for a in definition["attributes"]} >= {"severity", "photo_ref"}

    photo = tmp_path / "photo.jpg"
    photo.write_bytes(PHOTO)
    with photo.open("rb") as media:
        [reply] = t.post(CODE, lat="31.2304", long="121.4737", description="路边有垃圾堆放",
                         address="人民路 100 号", name="小明 王", phone="13812345678",
                         **{"attribute[severity]": "urgent", "attribute[uprn]": "123"}, media=media)
    assert t.post_response.status_code == 200, t.post_response.text
    sid = reply["service_request_id"]
    assert sid.startswith("WO-") and reply["service_notice"]

    assert sid in {r["service_request_id"] for r in t.requests()}
    assert sid in {r["service_request_id"] for r in t.requests(CODE, status="open")}
    [req] = t.request(sid)
    assert (req["service_code"], req["status"], req["address"]) == (CODE, "open", "人民路 100 号")
    assert "王" not in str(req) and "13812345678" not in str(req)  # the reporter never leaves
    assert req["media_url"].startswith(f"{base}/media/open311/")
    with urllib.request.urlopen(req["media_url"], timeout=10) as r:  # a URL the client can fetch
        assert r.read() == PHOTO
    assert t.token(sid) == [{"service_request_id": sid, "token": sid}]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_georeport_reads_services_and_requests(server, fmt):
    base, key = server
    georeport = _import("georeport")
    sid = _post_as_open311_client(base, key, description=f"georeport {fmt}")
    client = georeport.GeoReport(f"{base}/open311/v2", api_key=key, output_format=fmt)

    services = {s["service_code"]: s for s in client.get_service_list()}
    assert services[CODE]["type"] == "realtime" and services[CODE]["service_name"] == "暴露垃圾"
    definition = client.get_service_definition(CODE)
    attributes = definition["attributes"] if fmt == "json" else definition["attributes"]["attribute"]
    assert [a["code"] for a in attributes][:2] == ["severity", "photo_ref"]

    listed = client.get_service_requests(service_code=CODE, status="open")
    listed = listed if isinstance(listed, list) else [listed]  # xmltodict: one element is not a list
    assert sid in {r["service_request_id"] for r in listed}
    one = client.get_service_request(sid)
    assert one["service_request_id"] == sid and one["description"] == f"georeport {fmt}"
    assert one["status"] == "open" and one["service_code"] == CODE
    [both] = _as_list(client.get_service_requests(service_request_id=sid, status="closed"))  # ids win
    assert both["service_request_id"] == sid


def _as_list(value):
    return value if isinstance(value, list) else [value]


def _post_as_open311_client(base: str, key: str, **fields: str) -> str:
    """POST exactly as the `open311` 1.1 client does: jurisdiction_id and api_key in the query
    string, the request's fields form-encoded in the body."""
    import json

    query = urllib.parse.urlencode({"jurisdiction_id": "", "api_key": key})
    form = {"service_code": CODE, "lat": "31.2310", "long": "121.4800", **fields}
    body = urllib.parse.urlencode(form).encode()
    with urllib.request.urlopen(f"{base}/open311/v2/requests.json?{query}", body, timeout=10) as r:
        assert r.status == 200
        return json.loads(r.read())[0]["service_request_id"]


def test_open311_client(server):
    base, key = server
    try:
        importlib.import_module("open311")
        importable = True
    except Exception as exc:  # Python 2 code: printed, and its wire format is sent instead
        print(f"the PyPI client 'open311' 1.1 cannot be imported on Python 3 ({type(exc).__name__}: {exc}); "
              "sending its wire format instead")
        importable = False
    sid = _post_as_open311_client(base, key, description="open311 1.1 style", address_string="人民路 1 号")
    with urllib.request.urlopen(f"{base}/open311/v2/requests/{sid}.xml", timeout=10) as r:
        assert b"<service_request_id>" + sid.encode() in r.read()
    if importable:  # a future release that runs on Python 3
        open311 = importlib.import_module("open311")
        client = open311.Open311(endpoint=f"{base}/open311/v2", api_key=key, format="xml")
        assert client.service_list()
