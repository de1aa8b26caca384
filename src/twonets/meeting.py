"""Where the two networks meet: city events that trigger services, and registry updates that
trigger benefits without application. Part of the composition root (`twonets.bootstrap` subscribes
these handlers): the city and the services never import each other, they meet here.

- a registry update (`RecordsChanged`) → the policies it can trigger are evaluated for the
  subjects it touched (`govservices.benefits.on_records_changed`);
- an alarm about a person (the "elderly person living alone, no water use for 24 h" alarm, whose
  community visit order sensing has already opened) → that person's eligibility for the policies
  triggered by the detector (home-care services);
- an alarm in a street (water-logging) → the registered subjects of that street are evaluated
  for the policies triggered by it (small shops: the disaster-relief offer).

Handlers run after the commit of the work that raised the event, in a unit of work of their own
on the same database (`core.events.origin_engine`). A failure is logged and left to the nightly
sweep (`twonets benefits sweep`); it never undoes the committed change.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime

from twonets.city.events import AlarmRaised
from twonets.city.sensing import things
from twonets.core import events
from twonets.core.db import unit_of_work
from twonets.core.definitions import DefinitionError
from twonets.data.events import RecordsChanged
from twonets.govservices import benefits
from twonets.govservices.policies import POLICIES_FILE, TAGS_DATASET, Policy, all_policies

log = logging.getLogger("twonets.meeting")


def check_policies(policies: Mapping[str, Policy], detectors, datasets: Iterable[str]) -> Mapping[str, Policy]:
    """Cross-package checks of the policies: the detectors and datasets they name exist."""
    known = set(datasets) | {TAGS_DATASET}
    text = POLICIES_FILE.read_text(encoding="utf-8").splitlines()

    def line_of(code: str) -> int | None:
        return next((n + 1 for n, t in enumerate(text) if t.strip() == f"- code: {code}"), None)

    for p in policies.values():
        for ds in p.reads():
            if ds not in known:
                raise DefinitionError(POLICIES_FILE, line_of(p.code), f"{p.code}: reads unknown dataset {ds!r}")
        for t in p.triggers:
            if t.dataset and t.dataset not in known:
                raise DefinitionError(POLICIES_FILE, line_of(p.code), f"{p.code}: triggered by unknown dataset {t.dataset!r}")
            if t.detector and t.detector not in detectors.detectors:
                raise DefinitionError(POLICIES_FILE, line_of(p.code), f"{p.code}: triggered by unknown detector {t.detector!r}")
    return policies


def _engine():
    engine = events.origin_engine()
    if engine is None:
        raise RuntimeError("a benefits handler runs only while a commit publishes its events")
    return engine


def on_records_changed(event: RecordsChanged) -> None:
    if not any(p.triggered_by("record", event.dataset) for p in all_policies().values()):
        return
    if len(event.subjects) > benefits.BULK_EVENT:
        log.info("%d subjects changed in %s at once: left to the nightly sweep", len(event.subjects), event.dataset)
        return
    with unit_of_work(_engine()) as session:
        benefits.on_records_changed(session, event.dataset, list(event.subjects), at=datetime.fromisoformat(event.at))


def on_alarm(event: AlarmRaised) -> None:
    if event.event != "fire":
        return
    person = any(p.triggered_by("alarm", event.detector) for p in all_policies().values())
    area = any(p.triggered_by("area_alarm", event.detector) for p in all_policies().values())
    if not (person or area):
        return
    at = datetime.fromisoformat(event.at)
    with unit_of_work(_engine()) as session:
        where = things.whom_and_where(session, event.thing_id)
        if person and where["persons"]:
            benefits.on_person_alarm(session, event.detector, where["persons"], alarm=event.id, at=at)
        if area and where["street_name"]:
            benefits.on_area_alarm(session, event.detector, where["street_name"], alarm=event.id, at=at)
