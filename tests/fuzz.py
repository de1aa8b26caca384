"""Schemathesis over the whole OpenAPI as three callers — an administrator, a department handler
and a citizen (issue 11: 0 server errors, every status code and content type documented).

- `make test` runs a bounded share of it in-process (tests/integration/test_api_schema.py: a
  fixed number of derandomized examples per operation and caller, with the conformance checks).
- `make fuzz` (`python -m tests.fuzz`) runs the full run against a live `twonets serve`: 100
  examples per operation, every check, every phase including the stateful one, one run per
  caller with a fixed seed, and prints per caller the cases run and the failures by check.
  It exits 1 when any run found a server error.

Both start from `seed`: the tiny district, every definition (departments, categories, matters,
datasets), two people in the population registry, and one order and one application for the
generated requests to find.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from twonets.core.actor import Actor

ADMIN = Actor(id="fuzz.admin", roles=frozenset({"administrator"}), department="dispatch")
HANDLER = Actor(id="fuzz.handler", roles=frozenset({"department_handler"}), department="chengguan")
CITIZEN_NAME = "fuzz.citizen"
PASSWORD = "correct horse battery"
CALLERS = ("admin", "handler", "citizen")
RUN_CALLERS = tuple(os.environ.get("TWONETS_FUZZ_CALLERS", ",".join(CALLERS)).split(","))  # e.g. admin
SEED = 20261203
EXAMPLES = int(os.environ.get("TWONETS_FUZZ_EXAMPLES", "100"))  # fewer for a quick look
PHASES = os.environ.get("TWONETS_FUZZ_PHASES", "examples,coverage,fuzzing,stateful")


def seed(engine) -> None:
    """A small district every caller can work on (see the module)."""
    from tests.districts import cell_center, seed_tiny_district
    from tests.unit.data.support import GONGAN_OFFICER, RECORDS
    from twonets import bootstrap
    from twonets.city import orders
    from twonets.city.models import OrderCreate
    from twonets.core.db import session_factory
    from twonets.data import catalogue, identity
    from twonets.govservices import applications

    with session_factory(engine)() as s:
        bootstrap.sync_definitions(s)
        seed_tiny_district(s)
        catalogue.upsert_records(s, GONGAN_OFFICER, "population", RECORDS)
        citizen = identity.create_user(s, ADMIN, username=CITIZEN_NAME, password=PASSWORD, roles=["citizen"],
                                       subject_id="P1")
        lon, lat = cell_center(0, 0)
        orders.create_order(s, ADMIN, OrderCreate(source="citizen", channel="web", category="exposed_garbage",
                                                  description="路边有垃圾", lon=lon, lat=lat))
        applications.start(s, citizen.actor(), "GONGAN-001", consent=True)
        s.commit()


def tokens(engine) -> dict[str, dict[str, str]]:
    """The Authorization header of each caller (the citizen signs in, so its token names a session)."""
    from twonets.core.db import session_factory
    from twonets.data import identity

    with session_factory(engine)() as s:
        pair = identity.login(s, CITIZEN_NAME, PASSWORD)
        s.commit()
    return {"admin": {"Authorization": f"Bearer {identity.issue_access_token(ADMIN)[0]}"},
            "handler": {"Authorization": f"Bearer {identity.issue_access_token(HANDLER)[0]}"},
            "citizen": {"Authorization": f"Bearer {pair.access_token}"}}


# --- make fuzz ---------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(url: str, seconds: float = 180) -> None:
    import httpx

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            if httpx.get(url, timeout=60).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"the server did not answer at {url} (its log: server.log beside the database)")


def _counts(report: Path) -> tuple[int, Counter]:
    """Cases run and failures by check, from schemathesis' NDJSON event stream (a run that
    could not start counts as a failure of the check `run`)."""
    cases, failures = 0, Counter()
    for line in report.read_text().splitlines() if report.exists() else []:
        event = json.loads(line)
        for name, body in event.items():
            if name == "FatalError":
                failures[f"run ({body.get('exception', {}).get('message', 'fatal error')})"] += 1
            if name == "ScenarioFinished":
                recorder = body.get("recorder", {})
                cases += len(recorder.get("cases", {}))
                for checks in recorder.get("checks", {}).values():
                    for check in checks:
                        if str(check.get("status")).lower() == "failure":
                            failures[check.get("name")] += 1
    return cases, failures


def main() -> int:
    from twonets.core import config
    from twonets.core.db import make_engine, upgrade

    work = Path(tempfile.mkdtemp(prefix="twonets-fuzz-"))
    url = f"sqlite:///{work / 'fuzz.db'}"
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "TWONETS_DATABASE_URL": url, "TWONETS_KEY_DIR": str(work / "keys"),
           "TWONETS_MEDIA_DIR": str(work / "media"), "TWONETS_PUBLIC_BASE_URL": base}
    os.environ.update(env)
    config.settings.cache_clear()
    upgrade(url)
    engine = make_engine(url)
    seed(engine)
    headers = tokens(engine)
    engine.dispose()
    server_log = (work / "server.log").open("w")
    server = subprocess.Popen([str(Path(sys.executable).with_name("twonets")), "serve", "--port", str(port), "--no-tick",
                               "--no-access-log"], env=env, stdout=server_log, stderr=subprocess.STDOUT)
    st = Path(sys.executable).with_name("st")
    server_errors = 0
    try:
        _wait(f"{base}/openapi.json")  # built once, on first use: ready before schemathesis loads it
        for caller in RUN_CALLERS:
            report = work / f"{caller}.ndjson"
            (name, value), = headers[caller].items()
            started = time.monotonic()
            subprocess.run([str(st), "run", f"{base}/openapi.json", "--checks", "all", "--max-examples", str(EXAMPLES),
                            "--phases", PHASES, "--seed", str(SEED), "--workers", "1",
                            "--header", f"{name}: {value}", "--report", "ndjson", "--report-ndjson-path", str(report),
                            "--suppress-health-check", "all"],
                           env=env, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            cases, failures = _counts(report)
            server_errors += failures.get("not_a_server_error", 0) + (cases == 0)
            by_check = ", ".join(f"{check} {n}" for check, n in failures.most_common()) or "none"
            print(f"{caller}: {cases} cases in {time.monotonic() - started:.0f} s; failures by check: {by_check}",
                  flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"reports (NDJSON events, one file per caller): {work}")
    return 1 if server_errors else 0  # a server error, or a run that tested nothing


if __name__ == "__main__":
    raise SystemExit(main())
