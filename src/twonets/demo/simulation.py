"""The demo simulator: generates each day's orders and lives each one through the lifecycle."""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import accumulate
from typing import Any

from twonets.city import lifecycle
from twonets.city.orders import limit_for
from twonets.city.reference import reference
from twonets.core import calendar
from twonets.demo.grids import _District
from twonets.demo.mix import (
    ALTERNATES,
    BEHAVIOUR,
    CANCEL_REASONS,
    CATEGORY_MIX,
    CHANNEL_MIX,
    CREATOR_CHANNEL,
    DUPLICATE_BOOST,
    ESCALATE_REASONS,
    GIVEN,
    HOURS,
    MEASURES,
    PROBLEMS,
    REOPEN_CHECK,
    RETURN_REASONS,
    SOURCE_MIX,
    SURNAMES,
    SUSPEND_REASONS,
    URGENT,
    URGENT_DEFAULT,
    Behaviour,
    _picker,
)
from twonets.demo.order_life import _Life, _lognormal_minutes

OPENISH = lifecycle.OPEN | {"suspended"}


@dataclass
class _Spec:
    """An order as it comes in, before its life is simulated."""

    at: datetime
    source: str
    channel: str
    category: str
    severity: str
    grid: int
    point: tuple[float, float]
    reporter: tuple[str, str] | None = None
    public_id: str = ""


class Simulator:
    """Generates and lives the orders of one day after another; rows come out ready to insert."""

    def __init__(self, rows: list[dict[str, Any]], seed: int, router: Callable[[str, str, str], str],
                 end: datetime):
        self.rng = random.Random(seed * 7919 + 17)
        self.district = _District(rows, self.rng, seed)
        self.route = router
        self.end = end
        ref = reference()
        self.top = ref.top_level
        self.leader = ref.escalation[-1].leader
        self.categories = ref.categories
        self.pick_source = _picker(SOURCE_MIX)
        self.pick_channel = {s: _picker(m) for s, m in CHANNEL_MIX.items()}
        self.pick_category = {s: _picker(m) for s, m in CATEGORY_MIX.items()}
        self.hour_cum = {s: list(accumulate(h)) for s, h in HOURS.items()}
        self.limits: dict[tuple[str, str, str], Any] = {}
        # Recent orders that may become a duplicate's master: (category, grid) -> life.
        self.recent: dict[tuple[str, int], _Life] = {}
        self.device_seq = 0

    # The volume and the specs of one day.

    def volume(self, day: date, orders_per_day: int | None) -> int:
        if orders_per_day is not None:
            return orders_per_day
        if calendar.is_workday(day):
            return self.rng.randint(6200, 8000)
        return self.rng.randint(5000, 6200)

    def _moment(self, day: date, source: str) -> datetime:
        cum = self.hour_cum[source]
        hour = bisect.bisect_right(cum, self.rng.random() * cum[-1])
        start = calendar.local_midnight(day) + timedelta(hours=hour)
        return start + timedelta(seconds=self.rng.randrange(3600))

    def specs(self, day: date, n: int) -> list[_Spec]:
        rng = self.rng
        out = []
        for _ in range(n):
            source = self.pick_source(rng)
            if source == "proactive" and not calendar.is_workday(day) and rng.random() < 0.4:
                source = "citizen"  # fewer inspectors on rest days
            category = self.pick_category[source](rng)
            severity = "urgent" if rng.random() < URGENT.get(category, URGENT_DEFAULT) else "normal"
            grid, point = self.district.pick(rng)
            spec = _Spec(self._moment(day, source), source, self.pick_channel[source](rng), category, severity,
                         grid, point)
            if source == "citizen" and rng.random() < 0.85:
                name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
                phone = rng.choice(("139", "138", "136", "158", "186", "177", "150")) + f"{rng.randrange(10**8):08d}"
                spec.reporter = (name, phone)
            out.append(spec)
        out.sort(key=lambda s: s.at)
        return out

    def _limit(self, source: str, category: str, severity: str):
        key = (source, category, severity)
        if key not in self.limits:
            self.limits[key] = limit_for(source, category, severity)
        return self.limits[key]

    def _describe(self, spec: _Spec) -> tuple[str, str, str | None, list[str]]:
        rng, d = self.rng, self.district
        address = f"{d.road[spec.grid]}{rng.randint(1, 999)}号附近"
        problem = PROBLEMS.get(spec.category, self.categories[spec.category].name_zh)
        external = None
        if spec.source == "auto":
            self.device_seq += 1
            if spec.channel == "sensor":
                device = f"IOT-{spec.category[:3].upper()}-{rng.randrange(10000):04d}"
                measure = MEASURES.get(spec.category)
                reading = measure[0].format(v=rng.randint(measure[1], measure[2])) if measure else "视频智能识别"
                description = f"【自动发现】{address}{problem}（设备 {device}，{reading}）"
                external = f"ALM-{calendar.local_date(spec.at):%Y%m%d}-{self.device_seq:06d}"
            else:
                system = rng.choice(("城管执法系统", "市容巡查系统", "交通管理系统", "水务监测系统"))
                description = f"【业务系统推送】{system}：{address}{problem}"
                external = f"BIZ-{self.device_seq:07d}"
        elif spec.source == "proactive":
            description = f"【网格巡查】{address}{problem}，已拍照取证。"
        else:
            description = f"【12345】市民反映：{address}{problem}，请尽快处理。"
        lo, hi = BEHAVIOUR[spec.source].photos
        photos = [f"demo/photos/{spec.public_id}/{i}.jpg" for i in range(1, rng.randint(lo, hi) + 1)]
        return description, address, external, photos

    # One order's life.

    def live(self, spec: _Spec) -> _Life:
        rng, d = self.rng, self.district
        b = BEHAVIOUR[spec.source]
        limit = self._limit(spec.source, spec.category, spec.severity)
        description, address, external, photos = self._describe(spec)
        grid_code = d.codes[spec.grid]
        if spec.source == "auto":
            creator = "system"
        elif spec.source == "proactive":
            creator = f"inspector.{grid_code}"
        else:
            creator = CREATOR_CHANNEL.get(spec.channel, "hotline.agent")

        master = None
        key = (spec.category, spec.grid)
        candidate = self.recent.get(key)
        # Only some orders have an open one of the same kind in the grid: boost to reach p_duplicate overall.
        if candidate is not None and rng.random() < b.p_duplicate * DUPLICATE_BOOST:
            master = self._open_master(candidate, spec.at)
        lon, lat = (master.state.lon, master.state.lat) if master is not None else spec.point

        created = lifecycle.creation_event(
            spec.at, creator, public_id=spec.public_id, source=spec.source, channel=spec.channel,
            category=spec.category, severity=spec.severity, description=description, street_code=d.street[spec.grid],
            community_code=d.community[spec.grid], grid_code=grid_code, lon=lon, lat=lat, address=address,
            photos=photos, external_ref=external,
            limit_clock=limit.clock, limit_seconds=limit.seconds,
        )
        life = _Life(created, self.end, self.top, self.leader)
        if master is not None:
            self._follow(life, master, spec)
        else:
            dept = self.route(spec.category, d.street[spec.grid], grid_code)
            life.act("dispatch", spec.at, "system", "routing rule", department=dept)
            self._work(life, spec, dept, b)
            self.recent[key] = life
        life.finish()
        return life

    def _open_master(self, candidate: _Life, at: datetime) -> _Life | None:
        s0 = candidate.events[0]
        if candidate.state.master_id is not None or at - s0.at > timedelta(hours=24):
            return None
        status = None
        for e in candidate.events:
            if e.at > at:
                break
            status = e.to_status
        return candidate if status in OPENISH else None

    def _follow(self, life: _Life, master: _Life, spec: _Spec) -> None:
        life.act("merge", spec.at, "system", "duplicate of an open order", master=master.state.public_id)
        resolved = next((e.at for e in master.events if e.action == "resolve" and e.at >= spec.at), None)
        if resolved is None:
            return
        life.act("follow", resolved, "system", f"resolved with master {master.state.public_id}")
        self._verify(life, spec, BEHAVIOUR[spec.source], follower=True)

    def _work(self, life: _Life, spec: _Spec, dept: str, b: Behaviour, round_: int = 0) -> None:
        """From dispatched to resolved, then the check or the callback."""
        rng = self.rng
        handler = dept
        if round_ == 0:
            returns = 0
            while returns < 2 and rng.random() < (b.p_return if returns == 0 else 0.3):
                t = life.now + _lognormal_minutes(rng, 90, 0.9)
                if not life.act("return", t, f"{handler}.handler", rng.choice(RETURN_REASONS)):
                    return
                new = ALTERNATES.get(spec.category, "jiedao") if returns == 0 else dept
                if new == handler:
                    new = "jiedao" if handler != "jiedao" else "chengguan"
                t = life.now + _lognormal_minutes(rng, 40, 0.7)
                if not life.act("dispatch", t, "dispatch.desk", "re-dispatched after a return", department=new):
                    return
                handler = new
                returns += 1
            if rng.random() < b.p_reassign:
                new = ALTERNATES.get(spec.category, "jiedao")
                new = new if new != handler else "jiedao" if handler != "jiedao" else "chengguan"
                t = life.now + _lognormal_minutes(rng, 20, 0.6)
                if not life.act("reassign", t, "dispatch.desk", "reassigned to the team on site", department=new):
                    return
                handler = new
            if rng.random() < b.p_cancel:
                t = life.now + _lognormal_minutes(rng, 45, 0.8)
                life.act("cancel", t, "dispatch.desk", CANCEL_REASONS[spec.source])
                return
        else:
            handler = life.state.department or dept
        actor = f"{handler}.handler"
        if not life.act("accept", life.now + _lognormal_minutes(rng, b.accept_min, 0.9), actor):
            return
        if rng.random() < 0.8 and not life.act("start", life.now + _lognormal_minutes(rng, 15, 0.8), actor):
            return
        if round_ == 0 and rng.random() < b.p_escalate:
            t = life.now + _lognormal_minutes(rng, 240, 0.8)
            if not life.escalate(t, "dispatch.desk", rng.choice(ESCALATE_REASONS)):
                return
        if round_ == 0 and rng.random() < b.p_suspend:
            t = life.now + _lognormal_minutes(rng, 120, 0.8)
            if not life.act("suspend", t, actor, rng.choice(SUSPEND_REASONS)):
                return
            if not life.act("resume", life.now + timedelta(hours=rng.uniform(20, 24 * 8)), actor):
                return
        tr = self._resolve_time(life, spec, b)
        if spec.source == "auto" and rng.random() < 0.9:
            clear_at = max(tr - _lognormal_minutes(rng, 8, 0.6), life.now)
            if not life.act("clear", clear_at, "system", "the reading is back to normal"):
                return
        if not life.act("resolve", tr, actor, outcome="处置完毕 / done"):
            return
        self._verify(life, spec, b, round_=round_)

    def _resolve_time(self, life: _Life, spec: _Spec, b: Behaviour) -> datetime:
        rng, s = self.rng, life.state
        now = life.now
        if spec.source == "auto":
            if rng.random() < b.p_late:
                return s.due_at + _lognormal_minutes(rng, 180, 0.8)
            work = _lognormal_minutes(rng, 75, 0.7)
            room = s.due_at - now - timedelta(minutes=1)
            if work > room:
                work = max(room * rng.uniform(0.3, 0.95), timedelta(minutes=3))
            return now + work
        if rng.random() < b.p_late:
            span = max((s.due_at - s.clock_start).total_seconds(), 3600.0)
            return max(s.due_at, now) + timedelta(seconds=round(span * rng.expovariate(1 / 0.5)) + 600)
        room = (s.due_at - now).total_seconds()
        if room <= 600:
            return now + _lognormal_minutes(rng, 30, 0.6)
        share = rng.betavariate(*b.effort) * 0.95
        return now + timedelta(seconds=max(round(room * share), 300))

    def _verify(self, life: _Life, spec: _Spec, b: Behaviour, round_: int = 0, follower: bool = False) -> None:
        rng = self.rng
        if spec.source == "citizen":
            t = life.now + _lognormal_minutes(rng, 60 * 20, 0.6)
            p_not = 0.0 if follower else (b.p_recheck_fail if round_ == 0 else 0.04 if round_ == 1 else 0.0)
            actually = rng.random() >= p_not
            if actually:
                sat = rng.choices(("satisfied", "basically_satisfied", "dissatisfied"), (82, 12, 6))[0]
            else:
                sat = rng.choices(("satisfied", "basically_satisfied", "dissatisfied"), (4, 22, 74))[0]
            if not life.act("callback", t, "hotline.callback", None, actually_resolved=actually, satisfaction=sat):
                return
            if not actually:
                life.act("reopen", life.now, "system", "callback: not actually resolved")
                self._work(life, spec, life.state.department or "dispatch", b, round_ + 1)
                return
            life.act("close", life.now + _lognormal_minutes(rng, 90, 0.8), "dispatch.desk")
            return
        if spec.source == "auto":
            t, checker = life.now + _lognormal_minutes(rng, 10, 0.6), "system"
        else:
            t, checker = life.now + _lognormal_minutes(rng, 120, 0.8), f"inspector.{life.state.grid_code}"
        if not follower and round_ == 0 and rng.random() < b.p_recheck_fail:
            if life.act("reopen", t, "dispatch.desk", REOPEN_CHECK):
                self._work(life, spec, life.state.department or "dispatch", b, round_ + 1)
            return
        if not life.act("check", t, checker):
            return
        life.act("close", life.now + _lognormal_minutes(rng, 20, 0.6), "system" if spec.source == "auto" else "dispatch.desk")

    def prune(self, before: datetime) -> None:
        self.recent = {k: v for k, v in self.recent.items() if v.events[0].at >= before}
