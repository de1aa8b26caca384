"""Domain metrics for `/metrics`, counted from the domain events (wired in `twonets.bootstrap`; served by the API).

Counters are per process (each server worker and the sensing worker count the work they did),
as Prometheus expects: sum them across instances in the query.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

REGISTRY = CollectorRegistry()
ORDER_EVENTS = Counter("twonets_order_transitions", "Work-order transitions by action and source",
                       ["action", "source"], registry=REGISTRY)
ALARMS = Counter("twonets_alarms", "Alarms by event (fire, repeat, clear) and detector",
                 ["event", "detector"], registry=REGISTRY)
APPLICATION_EVENTS = Counter("twonets_application_transitions", "Application transitions by action and state",
                             ["action", "state"], registry=REGISTRY)


def count_order(event) -> None:
    ORDER_EVENTS.labels(event.action, event.source or "unknown").inc()


def count_alarm(event) -> None:
    ALARMS.labels(event.event, event.detector).inc()


def count_application(event) -> None:
    APPLICATION_EVENTS.labels(event.action, event.state).inc()
