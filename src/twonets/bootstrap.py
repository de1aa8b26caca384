"""The composition root: the one place that loads the definitions and wires the packages together.

`start()` is called by `create_app`, by every CLI command (the Typer callback) and so by the
sensing worker. It:

1. loads and validates every definition set — reference data (departments, categories,
   escalation), the data catalogue, sensing thing types and detectors, government-service
   matters and decision tables — so that a bad definition stops the start with its file, line
   and reason, before any request is served;
2. registers the dataset sources: datasets whose records live in another package's tables are
   served to the data foundation's access service from there (`SOURCES`);
3. subscribes the event handlers (`HANDLERS`), once per process.

`sync_definitions(session)` mirrors the definitions into their tables; `twonets db upgrade`
runs it, so an upgraded empty database is a working, non-demo system.

Nothing else registers at import time: importing a module has no effect on another.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from twonets import metrics
from twonets.city import events as city_events
from twonets.city import reference, reporters, spatial
from twonets.city.sensing import definitions as sensing_definitions
from twonets.city.sensing import tags
from twonets.core import events
from twonets.data import access, catalogue
from twonets.govservices import catalogue as services_catalogue
from twonets.govservices import events as govservices_events
from twonets.govservices import matters, registries, rules

# dataset code -> the function that serves its records to `data.access.read_records`
SOURCES: dict[str, access.Source] = {
    reporters.DATASET: reporters.records,
    spatial.SPATIAL_DATASET: spatial.records,
    tags.DATASET: tags.records,
    "elicences": registries.licence_records,
    "applications": registries.application_records,
}
# ...and when their records last changed, for the catalogue's freshness (`data/sources.py`).
LAST_UPDATED: dict[str, Any] = {
    reporters.DATASET: reporters.last_updated,
    tags.DATASET: tags.last_updated,
    "elicences": registries.licences_updated,
    "applications": registries.applications_updated,
}


# event class -> handlers, called after the outermost commit of the work that raised it
HANDLERS: dict[type, list[Callable[[Any], None]]] = {
    city_events.OrderChanged: [metrics.count_order],
    city_events.AlarmRaised: [metrics.count_alarm],
    govservices_events.ApplicationChanged: [metrics.count_application],
    govservices_events.LicenceChanged: [metrics.count_licence],
    city_events.ReadingsIngested: [metrics.count_readings],
}

_lock = threading.Lock()
_started = False


def load_definitions() -> dict[str, int]:
    """Load and validate every definition set (cached for the process); returns their sizes."""
    ref = reference.reference()
    detectors = sensing_definitions.catalog()
    return {
        "departments": len(ref.departments),
        "categories": len(ref.categories),
        "datasets": len(catalogue.read_definitions()),
        "thing_types": len(detectors.types),
        "detectors": len(detectors.detectors),
        "matters": len(matters.written_out()),
        "decision_tables": len(rules.tables()),
    }


def start() -> None:
    """Load the definitions, register the dataset sources and the event handlers (once)."""
    global _started
    with _lock:
        if _started:
            return
        load_definitions()
        for code, source in SOURCES.items():
            access.register_source(code, source, LAST_UPDATED.get(code))
        for event_type, handlers in HANDLERS.items():
            for handler in handlers:
                events.subscribe(event_type, handler)
        _started = True


def sync_definitions(session: Session) -> dict[str, Any]:
    """Mirror the definitions into their tables (idempotent): departments, categories and default
    routes; catalogue datasets; the written-out matters and their decision-table versions."""
    from twonets.city.orders import sync_reference

    start()
    sync_reference(session)
    return {"datasets": catalogue.sync_definitions(session), "services": services_catalogue.sync_definitions(session)}
