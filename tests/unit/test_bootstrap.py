"""The composition root: importing a module wires nothing; `bootstrap.start()` wires everything once."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json
import twonets.city.reporters, twonets.city.sensing.tags, twonets.govservices.registries
from twonets.data import access
from twonets.core import events
before = sorted(access._sources)
typed_before = sum(len(v) for v in events._by_type.values())
from twonets import bootstrap
bootstrap.start(); bootstrap.start()
print(json.dumps({"before": before, "typed_before": typed_before, "after": sorted(access._sources),
                  "typed_after": sum(len(v) for v in events._by_type.values()),
                  "sizes": bootstrap.load_definitions()}))
"""


def test_importing_registers_nothing_and_start_wires_sources_and_handlers_once():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout
    got = json.loads(out.strip().splitlines()[-1])
    assert got["before"] == [] and got["typed_before"] == 0
    assert got["after"] == ["applications", "business_tags", "elicences", "spatial", "work_orders"]
    from twonets import bootstrap

    assert got["typed_after"] == sum(len(h) for h in bootstrap.HANDLERS.values()) > 0
    assert got["sizes"]["departments"] == 29 and got["sizes"]["detectors"] == 12 and got["sizes"]["matters"] > 0


def test_domain_events_are_counted_on_metrics(sqlite_engine):
    from fastapi.testclient import TestClient

    from twonets.api.app import create_app
    from twonets.city import orders
    from twonets.city.models import OrderCreate
    from twonets.core.actor import SYSTEM
    from twonets.core.db import unit_of_work
    from twonets.demo.accounts import seed_demo_users

    app = create_app(sqlite_engine)
    with unit_of_work(sqlite_engine) as s:
        from twonets.bootstrap import sync_definitions

        sync_definitions(s)
        seed_demo_users(s)

    def created() -> float:
        text = TestClient(app).get("/metrics").text
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith('twonets_order_transitions_total{action="create",source="proactive"}'))

    before = created()
    with unit_of_work(sqlite_engine) as s:
        orders.create_order(s, SYSTEM, OrderCreate(source="proactive", channel="inspector", category="exposed_garbage",
                                                    description="暴露垃圾 garbage", address="中山东二路1号"))
    assert created() == before + 1
