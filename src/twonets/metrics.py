"""Domain metrics for `/metrics`, named by the Prometheus conventions (`_total` counters, base
units in the name, `_seconds`).

Two kinds:

- **Counters of work done, per process**, fed by the domain events after their unit of work
  commits (the handler table is `twonets.bootstrap.HANDLERS`): orders created and closed by
  source, order transitions, alarms fired by detector, applications decided by outcome,
  licences issued and revoked, readings ingested and quarantined and the ingestion lag. Each
  process counts the work it did — every server worker, and the sensing worker, which serves
  them on its own endpoint (`twonets sensing worker --metrics-port`); sum them in the query.
- **Gauges read from the database at scrape time** (`DatabaseCollector`): open orders overdue
  now by source, and the audit chain's length. One indexed query each, so a scrape costs the
  same whatever the size of the district.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from twonets.city import vitals
from twonets.core.calendar import utcnow
from twonets.core.logging import get_logger
from twonets.data import audit

log = get_logger("twonets.metrics")

REGISTRY = CollectorRegistry()
ORDER_EVENTS = Counter("twonets_order_transitions", "Work-order transitions by action and source",
                       ["action", "source"], registry=REGISTRY)
ORDERS_CREATED = Counter("twonets_orders_created", "Work orders created, by source (auto, proactive, citizen)",
                         ["source"], registry=REGISTRY)
ORDERS_CLOSED = Counter("twonets_orders_closed", "Work orders closed, by source", ["source"], registry=REGISTRY)
ALARMS = Counter("twonets_alarms", "Alarms by event (fire, repeat, clear) and detector",
                 ["event", "detector"], registry=REGISTRY)
ALARMS_FIRED = Counter("twonets_alarms_fired", "Alarms fired (new alarms, not repeats), by detector",
                       ["detector"], registry=REGISTRY)
APPLICATION_EVENTS = Counter("twonets_application_transitions", "Application transitions by action and state",
                             ["action", "state"], registry=REGISTRY)
APPLICATIONS_DECIDED = Counter("twonets_applications_decided", "Applications decided, by outcome (approved, rejected)",
                               ["outcome"], registry=REGISTRY)
LICENCES_ISSUED = Counter("twonets_licences_issued", "E-licences issued", registry=REGISTRY)
LICENCES_REVOKED = Counter("twonets_licences_revoked", "E-licences revoked", registry=REGISTRY)
READINGS_INGESTED = Counter("twonets_readings_ingested", "Sensor readings stored (new, not redelivered), by source",
                            ["source"], registry=REGISTRY)
READINGS_QUARANTINED = Counter("twonets_readings_quarantined", "Sensor readings quarantined as invalid, by source",
                               ["source"], registry=REGISTRY)
INGESTION_LAG = Histogram(
    "twonets_reading_ingestion_lag_seconds",
    "Seconds from the measurement of the newest reading of a stored batch to its storage, one observation per batch",
    buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400), registry=REGISTRY)


def count_order(event) -> None:
    source = event.source or "unknown"
    ORDER_EVENTS.labels(event.action, source).inc()
    if event.action == "create":
        ORDERS_CREATED.labels(source).inc()
    elif event.status == "closed":
        ORDERS_CLOSED.labels(source).inc()


def count_alarm(event) -> None:
    ALARMS.labels(event.event, event.detector).inc()
    if event.event == "fire":
        ALARMS_FIRED.labels(event.detector).inc()


def count_application(event) -> None:
    APPLICATION_EVENTS.labels(event.action, event.state).inc()
    if event.action == "decide":
        APPLICATIONS_DECIDED.labels(event.state).inc()


def count_licence(event) -> None:
    (LICENCES_ISSUED if event.action == "issue" else LICENCES_REVOKED).inc()


def count_readings(event) -> None:
    if event.stored:
        READINGS_INGESTED.labels(event.source).inc(event.stored)
    if event.quarantined:
        READINGS_QUARANTINED.labels(event.source).inc(event.quarantined)
    if event.lag_s is not None:
        INGESTION_LAG.observe(event.lag_s)


def serve(port: int, host: str = "127.0.0.1"):
    """This process's domain counters on their own endpoint (the sensing worker's `/metrics`),
    served by a background thread. Returns (server, thread)."""
    from prometheus_client import start_http_server

    return start_http_server(port, addr=host, registry=REGISTRY)


class DatabaseCollector(Collector):
    """The gauges read from the database when `/metrics` is scraped (one cheap query each)."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        overdue = GaugeMetricFamily("twonets_orders_overdue", "Open work orders past their deadline now, by source",
                                    labels=["source"])
        entries = GaugeMetricFamily("twonets_audit_entries", "Entries in the audit chain")
        try:
            with Session(self.engine) as session:
                for source, n in sorted(vitals.overdue_by_source(session, utcnow()).items()):
                    overdue.add_metric([source], n)
                entries.add_metric([], audit.entry_count(session))
        except SQLAlchemyError as exc:  # a scrape must not fail with the database: the gauges are left out
            log.warning("metrics.database_unavailable", error=type(exc).__name__)
            return
        yield overdue
        yield entries
