"""A living district for the demo and the benchmarks: simulated things publishing realistic
readings to MQTT — diurnal patterns, noise, injected incidents of every detector type and a
few malformed messages — as gateway batches of 100 readings.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select

from twonets.city.sensing import mqtt, tags, things
from twonets.city.sensing.definitions import catalog
from twonets.city.tables import area
from twonets.core.actor import SYSTEM
from twonets.core.calendar import to_local, utcnow
from twonets.core.db import default_engine, session_factory

# how common each type is among the simulated things
MIX = {
    "household_water_meter": 30, "street_lamp": 15, "waste_bin": 12, "manhole_cover": 10, "smoke_detector": 10,
    "elevator_controller": 6, "water_level_gauge": 4, "noise_meter": 4, "dust_monitor": 3, "hydrant_gauge": 3,
    "air_quality_station": 1, "camera_analytics": 2,
}
INCIDENTS = {
    "water_level_gauge": {"depth_cm": 28.0},
    "manhole_cover": {"open": 1.0, "tilt_deg": 35.0},
    "smoke_detector": {"smoke_obscuration": 9.0, "temperature_c": 68.0},
    "elevator_controller": {"moving": 0.0, "at_floor": 0.0, "door_closed": 1.0, "occupied": 1.0},
    "street_lamp": {"lamp_on": 0.0, "power_w": 0.0},
    "waste_bin": {"fill_pct": 97.0},
    "noise_meter": {"laeq_db": 68.0},
    "dust_monitor": {"pm10": 240.0, "pm25": 120.0},
    "hydrant_gauge": {"pressure_mpa": 0.04},
    "air_quality_station": {"aqi": 260.0, "pm25": 210.0},
}
BATCH = 100


@dataclass(frozen=True)
class SimThing:
    thing_id: str
    type: str
    phase: float


def district_bbox(session) -> tuple[float, float, float, float]:
    row = session.execute(select(area.c.geometry).where(area.c.level == "district").limit(1)).scalar()
    if row:
        from shapely.geometry import shape

        return shape(row).bounds
    return (121.46, 31.21, 121.51, 31.25)


def ensure_things(engine: Engine, n: int, seed: int = 7, prefix: str = "sim") -> list[SimThing]:
    """Register `n` simulated things (idempotent), some serving tagged sites and people."""
    rng = random.Random(seed)
    types = [t for t, w in MIX.items() for _ in range(w)]
    out: list[SimThing] = []
    with session_factory(engine)() as s:
        x0, y0, x1, y1 = district_bbox(s)
        items, tag_items = [], []
        for i in range(n):
            ttype = types[i % len(types)]
            tid = f"{prefix}-{ttype[:3]}-{i:06d}"
            subjects = []
            if ttype in ("noise_meter", "dust_monitor") and i % 3 == 0:
                site = f"SITE-{i:06d}"
                subjects.append(things.Subject(kind="place", ref=site))
                tag_items.append(tags.TagIn(tag="construction_site", subject_kind="place", subject_ref=site,
                                            source_department="zhujian"))
            if ttype == "household_water_meter" and i % 10 == 0:
                person = f"P{i:09d}"
                subjects.append(things.Subject(kind="person", ref=person))
                tag_items.append(tags.TagIn(tag="elderly_living_alone", subject_kind="person", subject_ref=person,
                                            source_department="minzheng"))
            items.append(things.ThingIn(thing_id=tid, type=ttype, name=f"{ttype} {i}",
                                        lon=rng.uniform(x0, x1), lat=rng.uniform(y0, y1), subjects=subjects))
            out.append(SimThing(tid, ttype, rng.random()))
        for k in range(0, len(items), 1000):
            things.register(s, SYSTEM, items[k:k + 1000], at=utcnow() - timedelta(days=1))
        if tag_items:
            tags.push(s, SYSTEM, tag_items, at=utcnow() - timedelta(days=1))
        s.commit()
    return out


def normal_values(thing: SimThing, at: datetime, rng: random.Random) -> dict[str, float]:
    """Plausible values with a daily rhythm (local time) and noise."""
    local = to_local(at)
    hour = local.hour + local.minute / 60
    day = 0.5 - 0.5 * math.cos((hour - 4) / 24 * 2 * math.pi)  # 0 at 04:00, 1 at 16:00
    night = hour >= 18.5 or hour < 6
    g = rng.gauss
    t = thing.type
    if t == "water_level_gauge":
        return {"depth_cm": max(0.0, round(g(0.5, 0.5), 2)), "battery_pct": 80.0}
    if t == "manhole_cover":
        return {"open": 0.0, "tilt_deg": round(abs(g(1, 0.5)), 2)}
    if t == "smoke_detector":
        return {"smoke_obscuration": round(abs(g(0.2, 0.1)), 3), "temperature_c": round(g(22 + 4 * day, 0.8), 2)}
    if t == "elevator_controller":
        moving = 1.0 if rng.random() < 0.3 * day else 0.0
        return {"moving": moving, "at_floor": 1.0 - moving, "door_closed": 1.0, "occupied": moving}
    if t == "street_lamp":
        return {"lamp_on": 1.0 if night else 0.0, "power_w": round(g(120, 5), 1) if night else 0.0}
    if t == "waste_bin":
        return {"fill_pct": round(min(85.0, (hour * 3.4 + thing.phase * 20) % 85), 1)}
    if t == "noise_meter":
        return {"laeq_db": round(g(40 + 20 * day, 2) if not night else g(42, 2), 1)}
    if t == "dust_monitor":
        pm10 = max(5.0, g(50 + 40 * day, 8))
        return {"pm10": round(pm10, 1), "pm25": round(pm10 * 0.55, 1)}
    if t == "hydrant_gauge":
        return {"pressure_mpa": round(g(0.32, 0.01), 3)}
    if t == "household_water_meter":
        use = 1.0 if 6 <= hour < 9 or 18 <= hour < 22 else 0.25
        return {"flow_l": round(max(0.0, g(12 * use, 4)), 1)}
    if t == "air_quality_station":
        aqi = max(10.0, g(60 + 30 * day, 8))
        return {"aqi": round(aqi, 1), "pm25": round(aqi * 0.7, 1)}
    return {"crowd_count": float(max(0, int(g(40 * day, 5)))), "event_code": 0.0}


def readings(sim: list[SimThing], start: datetime, step_s: float, seed: int = 7, incidents: bool = True,
             incident_share: float = 0.002, silent_share: float = 0.005) -> Iterator[dict]:
    """Endless readings, one document per thing per round; rounds are `step_s` apart.

    Incidents: condition detectors get readings that trip them for a while; a few things fall
    silent after their first report (sensor offline), and one tagged household meter in
    twenty shows no water use at all (elderly person living alone: welfare check)."""
    rng = random.Random(seed)
    at = start
    active: dict[str, int] = {}  # thing → rounds of incident left
    silent = {t.thing_id for t in sim if incidents and rng.random() < silent_share}
    no_use = {t.thing_id for i, t in enumerate(sim) if incidents and t.type == "household_water_meter" and i % 200 == 0}
    first = True
    while True:
        ts = at.isoformat()
        for th in sim:
            if th.thing_id in silent and not first:
                continue
            values = normal_values(th, at, rng)
            if th.thing_id in no_use:
                values["flow_l"] = 0.0
            elif incidents and th.type in INCIDENTS:
                left = active.get(th.thing_id, 0)
                if left == 0 and rng.random() < incident_share:
                    left = rng.randint(5, 30)
                if left:
                    values.update(INCIDENTS[th.type])
                    active[th.thing_id] = left - 1
            yield {"thing_id": th.thing_id, "ts": ts, "values": values}
        first = False
        at += timedelta(seconds=step_s)


def payloads(docs: Iterator[dict], n_readings: int, batch: int = BATCH, malformed_share: float = 0.0,
             seed: int = 7) -> Iterator[tuple[bytes, int]]:
    """Gateway messages of about `batch` readings each, until `n_readings` are out."""
    rng = random.Random(seed + 1)
    out, count, total = [], 0, 0
    for doc in docs:
        out.append(doc)
        count += len(doc["values"])
        if count >= batch:
            if malformed_share and rng.random() < malformed_share:
                yield b'{"seq": %d, "thing_id": "broken", "ts": ' % total, 0
            yield json.dumps(out, separators=(",", ":")).encode(), count
            total += count
            out, count = [], 0
            if total >= n_readings:
                return


def run_simulation(*, n_things: int, rate: float, duration_s: float, seed: int = 7, root: str = mqtt.ROOT,
                   incidents: bool = True, malformed_share: float = 0.001, progress: bool = False,
                   engine: Engine | None = None) -> dict:
    """Register the things, then publish `rate` readings/s for `duration_s` seconds (QoS 1)."""
    engine = engine or default_engine()
    sim = ensure_things(engine, n_things, seed)
    cat = catalog()
    per_round = sum(len(cat.types[t.type].attributes) for t in sim)
    step_s = per_round / rate  # publishing is paced at `rate`, so reading times keep up with the clock
    start = utcnow()
    total = int(rate * duration_s)
    c = mqtt.client(f"twonets-sim-{seed}")
    c.max_inflight_messages_set(200)
    cfg = mqtt.sensing_settings()
    c.connect(cfg.mqtt_host, cfg.mqtt_port, keepalive=30)
    c.loop_start()
    sent = bad = msgs = 0
    began = time.monotonic()
    bar = None
    if progress:
        from rich.progress import Progress

        bar = Progress()
        task = bar.add_task("publishing readings", total=total)
        bar.start()
    try:
        infos = []
        for body, n in payloads(readings(sim, start.astimezone(UTC), step_s, seed, incidents), total,
                                malformed_share=malformed_share, seed=seed):
            infos.append(c.publish(mqtt.gateway_topic(f"sim-gw-{msgs % 16}", root), body, qos=1))
            msgs += 1
            bad += n == 0
            sent += n
            ahead = sent / rate - (time.monotonic() - began)
            if ahead > 0:
                time.sleep(ahead)
            if bar is not None:
                bar.update(task, completed=sent)
        for info in infos:
            info.wait_for_publish(timeout=30)
    finally:
        if bar is not None:
            bar.stop()
        c.disconnect()
        c.loop_stop()
    return {"things": len(sim), "messages": msgs, "readings": sent, "malformed_messages": bad,
            "seconds": round(time.monotonic() - began, 1)}
