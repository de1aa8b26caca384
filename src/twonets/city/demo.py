"""The demo: a synthetic district and DAYS of work orders, as the district would have lived them.

    created = run_demo(engine, days=7, seed=7, orders_per_day=None, if_empty=True, console=console)

Each simulated order goes through the same pure functions as a real one
(`lifecycle.creation_event`, `decide`, `apply`, `timer_events`), in memory and in time order,
so its stored projection is the replay of its stored events by construction. The timer is
simulated too: warnings, overdue flags and automatic escalation appear at the moments the
server's timer would have raised them. Rows are written in bulk (one transaction per day) with
public ids reserved in blocks: service calls per transition would be far too slow for the
~200,000 orders of a month.

The mix follows the district's figures: 5,000–8,000 orders a day (fewer on rest days), about
40% auto-detected, 35% found by inspectors and 25% from citizens; auto orders are mostly
resolved the same day; some orders are returned and re-dispatched (ping-pong), run late,
are suspended, escalated, cancelled or merged into a master as duplicates; citizens are
sometimes dissatisfied or say the problem is not actually resolved (the order reopens); orders
of the last days are still open. Everything depends only on the seed and the days: one
`random.Random(seed)`, and the wall clock only to pick "yesterday".
"""

from __future__ import annotations

import bisect
import math
import random
import time as _time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from itertools import accumulate
from typing import Any, Callable

import numpy as np
import shapely
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import Session

from twonets.city import district as district_mod
from twonets.city import lifecycle, routing
from twonets.city.lifecycle import Event
from twonets.city.reference import reference
from twonets.city.services import _limit_for, sync_reference
from twonets.city.store import event_row as _event_row, values as _values
from twonets.city.tables import reporter as reporter_t
from twonets.city.tables import routing_rule, work_order, work_order_event
from twonets.core import calendar, ids
from twonets.core.db import unit_of_work

UTC = timezone.utc
OPENISH = lifecycle.OPEN | {"suspended"}

# --- the mix ---------------------------------------------------------------------------------

SOURCE_MIX = {"auto": 0.40, "proactive": 0.35, "citizen": 0.25}
CHANNEL_MIX = {
    "auto": {"sensor": 0.68, "business_system": 0.32},
    "proactive": {"inspector": 0.85, "app": 0.15},
    "citizen": {"phone": 0.55, "app": 0.14, "mini_program": 0.13, "web": 0.10, "open311": 0.08},
}
CATEGORY_MIX = {
    "auto": {
        "overflowing_bin": 14, "illegal_parking": 14, "street_vending": 10, "exposed_garbage": 10,
        "shared_bikes": 9, "device_offline": 9, "waterlogging": 7, "dust_pollution": 6, "manhole_missing": 5,
        "air_quality": 5, "construction_noise": 4, "fire_smoke": 2, "elevator_entrapment": 2, "hydrant_fault": 3,
    },
    "proactive": {
        "exposed_garbage": 16, "illegal_ad": 13, "street_vending": 12, "shared_bikes": 11, "road_damage": 8,
        "streetlight_fault": 8, "illegal_parking": 7, "overflowing_bin": 6, "manhole_missing": 4,
        "hydrant_fault": 3, "elderly_care": 6, "dust_pollution": 3, "food_safety": 3,
    },
    "citizen": {
        "construction_noise": 12, "property_dispute": 13, "water_supply": 8, "illegal_parking": 9,
        "food_safety": 6, "wage_arrears": 5, "school_enrolment": 4, "road_damage": 6, "streetlight_fault": 5,
        "exposed_garbage": 6, "elderly_care": 4, "street_vending": 4, "other": 14, "elevator_entrapment": 1,
        "waterlogging": 2,
    },
}
URGENT = {"fire_smoke": 0.4, "elevator_entrapment": 0.5, "waterlogging": 0.2, "manhole_missing": 0.25,
          "hydrant_fault": 0.12, "air_quality": 0.1, "elderly_care": 0.15, "wage_arrears": 0.1}
URGENT_DEFAULT = 0.05
DUPLICATE_BOOST = 6.0
# Local hour weights (0–23) of when orders come in.
HOURS = {
    "auto": [2, 2, 1, 1, 1, 2, 4, 6, 8, 8, 8, 8, 7, 7, 8, 8, 8, 8, 7, 6, 5, 4, 3, 2],
    "proactive": [0, 0, 0, 0, 0, 0, 1, 4, 10, 12, 12, 10, 5, 8, 11, 12, 11, 9, 4, 2, 1, 0, 0, 0],
    "citizen": [1, 0.5, 0.3, 0.2, 0.2, 0.4, 1.5, 4, 8, 10, 10, 9, 7, 8, 9, 9, 8, 7, 6, 6, 5, 4, 3, 2],
}
CREATOR_CHANNEL = {"phone": "hotline.agent", "web": "citizen.web", "app": "citizen.app",
                   "mini_program": "citizen.mini_program", "open311": "open311.client"}
# Where the dispatch desk sends an order another department returned (ping-pong).
ALTERNATES = {
    "illegal_parking": "gongan", "street_vending": "jiedao", "exposed_garbage": "jiedao",
    "overflowing_bin": "jiedao", "shared_bikes": "chengguan", "construction_noise": "chengguan",
    "property_dispute": "jiedao", "water_supply": "fangguan", "road_damage": "zhujian",
    "streetlight_fault": "jiaotong", "manhole_missing": "zhujian", "dust_pollution": "zhujian",
    "elderly_care": "jiedao", "food_safety": "jiedao", "wage_arrears": "jiedao", "other": "jiedao",
    "illegal_ad": "jiedao", "waterlogging": "jiedao", "air_quality": "chengguan", "hydrant_fault": "yingji",
    "device_offline": "jiedao", "school_enrolment": "jiedao", "elevator_entrapment": "yingji",
    "fire_smoke": "yingji",
}


@dataclass(frozen=True)
class Behaviour:
    """How orders of one source tend to go."""

    p_duplicate: float
    p_return: float
    p_reassign: float
    p_cancel: float
    p_suspend: float
    p_escalate: float
    p_late: float
    p_recheck_fail: float  # inspector finds it not fixed (auto/proactive) or the citizen says so
    accept_min: float  # median minutes to accept
    effort: tuple[float, float]  # beta(a, b): share of the time limit used when on time
    photos: tuple[int, int]


BEHAVIOUR = {
    "auto": Behaviour(0.01, 0.02, 0.01, 0.012, 0.0, 0.0, 0.015, 0.01, 12, (1.3, 4.0), (0, 1)),
    "proactive": Behaviour(0.02, 0.05, 0.015, 0.004, 0.015, 0.004, 0.03, 0.02, 35, (1.2, 3.2), (1, 3)),
    "citizen": Behaviour(0.04, 0.12, 0.02, 0.01, 0.04, 0.015, 0.08, 0.09, 150, (2.0, 1.8), (0, 2)),
}

RETURN_REASONS = ("不属于本部门职责 / not within our remit", "地址不在辖区 / address outside our area",
                  "需产权单位处理 / for the property owner to handle", "信息不全无法处置 / details missing")
SUSPEND_REASONS = ("等待产权单位确认 / waiting for the owner", "需协调多部门现场会商 / joint site meeting needed",
                   "等待专项资金审批 / awaiting funding approval", "季节性施工窗口 / seasonal works window")
CANCEL_REASONS = {
    "auto": "设备误报 / false alarm from the device",
    "proactive": "现场复核已不存在 / no longer there on recheck",
    "citizen": "市民撤回诉求 / the citizen withdrew the request",
}
REOPEN_CHECK = "复查未通过 / failed the inspector's recheck"
ESCALATE_REASONS = ("市民多次来电催办 / repeated calls from the citizen", "涉及多部门需协调 / needs several departments",
                    "媒体关注 / media attention")
MEASURES = {
    "waterlogging": ("积水深度 {v} cm", 8, 40), "air_quality": ("PM2.5 {v} μg/m³", 80, 260),
    "dust_pollution": ("PM10 {v} μg/m³", 160, 420), "construction_noise": ("噪声 {v} dB(A)", 62, 88),
    "fire_smoke": ("烟感浓度 {v}% obs/m", 4, 18), "device_offline": ("离线 {v} 分钟", 30, 600),
    "overflowing_bin": ("满溢度 {v}%", 95, 130), "manhole_missing": ("倾角 {v}°", 12, 80),
    "hydrant_fault": ("水压 {v} kPa", 20, 90), "elevator_entrapment": ("困人 {v} 人", 1, 4),
}
PROBLEMS = {
    "exposed_garbage": "有暴露垃圾堆放", "overflowing_bin": "垃圾箱满溢", "illegal_ad": "墙面、电线杆张贴小广告",
    "dust_pollution": "工地扬尘明显", "street_vending": "有流动摊贩占道经营", "illegal_parking": "机动车违停占用通道",
    "shared_bikes": "共享单车堆积乱停放", "construction_noise": "夜间施工噪声扰民", "manhole_missing": "井盖缺失或破损",
    "streetlight_fault": "路灯不亮", "road_damage": "人行道破损坑洼", "hydrant_fault": "消火栓漏水或损坏",
    "device_offline": "感知设备离线", "waterlogging": "路面积水", "fire_smoke": "发现烟雾",
    "elevator_entrapment": "电梯困人", "air_quality": "空气质量超标", "elderly_care": "独居老人多日未见，需上门探访",
    "water_supply": "自来水水压低、水质发黄", "property_dispute": "物业不作为，小区公共设施长期未修",
    "food_safety": "餐饮店卫生状况差", "wage_arrears": "用人单位拖欠工资", "school_enrolment": "咨询子女入学政策",
    "other": "其他诉求",
}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国文辉鹏飞慧琳晨宇轩浩然欣怡梓涵子豪雨婷佳俊"


# --- small helpers ----------------------------------------------------------------------------


def _picker(weights: dict[str, float]) -> Callable[[random.Random], str]:
    keys = list(weights)
    cum = list(accumulate(weights[k] for k in keys))
    total = cum[-1]

    def pick(rng: random.Random) -> str:
        return keys[bisect.bisect_right(cum, rng.random() * total)]

    return pick


def _minutes(m: float) -> timedelta:
    return timedelta(seconds=round(m * 60))


def _lognormal_minutes(rng: random.Random, median: float, sigma: float = 0.8) -> timedelta:
    return _minutes(median * math.exp(rng.gauss(0, sigma)))


def _ceil_minute(at: datetime) -> datetime:
    floor = at.replace(second=0, microsecond=0)
    return floor if floor == at else floor + timedelta(minutes=1)


class _Life:
    """One order's life, built event by event through decide/apply, with the timer caught up
    before every step. Stops (and stays as it is) once a step would fall after `end`."""

    __slots__ = ("state", "events", "end", "alive", "top", "leader")

    def __init__(self, created: Event, end: datetime, top: int, leader: str | None):
        self.state = lifecycle.apply(None, created)
        self.events = [created]
        self.end, self.alive, self.top, self.leader = end, True, top, leader

    def catch_up(self, t: datetime) -> None:
        s = self.state
        while s.status in lifecycle.OPEN:
            if s.flag == "ok" and s.warn_at <= t:
                moment = s.warn_at
            elif s.flag != "overdue" and s.due_at <= t:
                moment = s.due_at
            else:
                break
            moment = max(_ceil_minute(moment), s.updated_at)
            if moment > t:
                break
            evs = lifecycle.timer_events(s, moment, self.top, self.leader)
            if not evs:
                break
            for e in evs:
                s = lifecycle.apply(s, e)
                self.events.append(e)
        self.state = s

    def act(self, action: str, at: datetime, actor: str, reason: str | None = None, **data: Any) -> bool:
        if not self.alive:
            return False
        if at < self.state.updated_at:
            at = self.state.updated_at
        if at > self.end:
            self.alive = False
            return False
        self.catch_up(at)
        e = lifecycle.decide(self.state, action, at, actor, reason, **data)
        self.state = lifecycle.apply(self.state, e)
        self.events.append(e)
        return True

    def escalate(self, at: datetime, actor: str, reason: str) -> bool:
        """One level up from wherever the timer has left it (nothing if already at the top)."""
        if not self.alive or max(at, self.state.updated_at) > self.end:
            self.alive = False
            return False
        self.catch_up(max(at, self.state.updated_at))
        level = self.state.escalation_level + 1
        if level > self.top:
            return True
        extra = {"to": self.leader} if level == self.top and self.leader else {}
        return self.act("escalate", at, actor, reason, level=level, **extra)

    @property
    def now(self) -> datetime:
        return self.state.updated_at

    def finish(self) -> None:
        self.catch_up(self.end)


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
    reporter_id: int | None = None


class _District:
    """The grids the simulator draws from: codes, weights and points inside each polygon."""

    def __init__(self, rows: list[dict[str, Any]], rng: random.Random, seed: int, pool: int = 48):
        grids = [r for r in rows if r["level"] == "grid"]
        self.codes = [r["code"] for r in grids]
        self.community = [r["community_code"] for r in grids]
        self.street = [r["street_code"] for r in grids]
        busy = {"S01": 1.6, "S02": 1.5, "S03": 1.3, "S07": 1.3}  # shopping streets and the riverside
        weights = [math.exp(rng.gauss(0, 0.55)) * busy.get(s, 1.0) for s in self.street]
        self.cum = list(accumulate(weights))
        names = {r["code"]: r["name_zh"] for r in rows if r["level"] == "community"}
        roads = sorted(district_mod.ROADS, key=lambda x: -len(x[0]))
        self.road = [next((zh for zh, _ in roads if names.get(c, "").startswith(zh)), "中山东二路")
                     for c in self.community]
        nprng = np.random.default_rng(seed)
        self.points: list[list[tuple[float, float]]] = []
        for r in grids:
            poly = shapely.geometry.shape(r["geometry"])
            shapely.prepare(poly)
            x0, y0, x1, y1 = poly.bounds
            got: list[tuple[float, float]] = []
            while len(got) < pool:
                cand = nprng.uniform((x0, y0), (x1, y1), size=(pool * 2, 2))
                inside = cand[shapely.contains_xy(poly, cand[:, 0], cand[:, 1])]
                got.extend((round(float(x), 7), round(float(y), 7)) for x, y in inside)
            self.points.append(got[:pool])

    def pick(self, rng: random.Random) -> tuple[int, tuple[float, float]]:
        g = bisect.bisect_right(self.cum, rng.random() * self.cum[-1])
        pts = self.points[g]
        return g, pts[rng.randrange(len(pts))]


# --- the simulator ------------------------------------------------------------------------------


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
            self.limits[key] = _limit_for(source, category, severity)
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
            photos=photos, reporter_id=spec.reporter_id, external_ref=external,
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


# --- writing -----------------------------------------------------------------------------------


def _cached_router(session: Session) -> Callable[[str, str, str], str]:
    """routing.route, cached; the grid matters only for categories that have grid rules."""
    grid_rules = {r for r in session.execute(select(routing_rule.c.category).where(routing_rule.c.grid_code.is_not(None))).scalars()}
    any_grid = None in grid_rules
    cache: dict[tuple[str, str, str | None], str] = {}

    def route(category: str, street: str, grid: str) -> str:
        key = (category, street, grid if any_grid or category in grid_rules else None)
        if key not in cache:
            cache[key] = routing.route(session, category, street, key[2])
        return cache[key]

    return route


def _insert_day(session: Session, lives: list[_Life], chunk: int = 2000) -> int:
    n_events = 0
    for i in range(0, len(lives), chunk):
        part = lives[i:i + chunk]
        order_ids = session.execute(
            insert(work_order).returning(work_order.c.id, sort_by_parameter_order=True),
            [_values(life.state) for life in part],
        ).scalars().all()
        rows = [_event_row(oid, seq, e) for oid, life in zip(order_ids, part)
                for seq, e in enumerate(life.events, start=1)]
        for j in range(0, len(rows), 20000):
            session.execute(insert(work_order_event), rows[j:j + 20000])
        n_events += len(rows)
    return n_events


def _reporters(session: Session, specs: list[_Spec]) -> None:
    with_rep = [s for s in specs if s.reporter]
    for i in range(0, len(with_rep), 2000):
        part = with_rep[i:i + 2000]
        got = session.execute(
            insert(reporter_t).returning(reporter_t.c.id, sort_by_parameter_order=True),
            [{"name": s.reporter[0], "phone": s.reporter[1]} for s in part],
        ).scalars().all()
        for s, rid in zip(part, got):
            s.reporter_id = rid


def yesterday() -> date:
    return calendar.local_date(calendar.utcnow()) - timedelta(days=1)


def simulate_days(engine: Engine, simulator: Simulator, days: list[date], orders_per_day: int | None,
                  on_day: Callable[[date, int, int], None] | None = None, *, write_events: bool = True,
                  with_reporters: bool = True) -> tuple[int, int]:
    """Simulate and store the given days (one transaction each). Returns (orders, events)."""
    total_orders = total_events = 0
    for day in days:
        n = simulator.volume(day, orders_per_day)
        specs = simulator.specs(day, n)
        with unit_of_work(engine) as session:
            for spec, pid in zip(specs, ids.reserve(session, "WO", calendar.local_midnight(day), len(specs))):
                spec.public_id = pid
            if with_reporters:
                _reporters(session, specs)
            else:
                for s in specs:
                    s.reporter = None
            simulator.prune(calendar.local_midnight(day) - timedelta(days=1))
            lives = [simulator.live(spec) for spec in specs]
            if write_events:
                n_events = _insert_day(session, lives)
            else:
                for i in range(0, len(lives), 2000):
                    session.execute(insert(work_order), [_values(lf.state) for lf in lives[i:i + 2000]])
                n_events = 0
        total_orders += len(lives)
        total_events += n_events
        if on_day:
            on_day(day, len(lives), n_events)
    return total_orders, total_events


def prepare(engine: Engine, seed: int) -> list[dict[str, Any]]:
    """Reference data and the synthetic district (with its street routing rules)."""
    with unit_of_work(engine) as session:
        sync_reference(session)
        return district_mod.seed_district(session, seed)


def run_demo(engine: Engine, *, days: int, seed: int, orders_per_day: int | None = None, if_empty: bool = False,
             console: Console | None = None, end_day: date | None = None) -> int:
    """Seed the district and simulate DAYS of orders ending `end_day` (default: yesterday, local).
    Returns the number of orders created (0 when `if_empty` and orders exist)."""
    console = console or Console()
    if days < 1:
        raise ValueError("days must be at least 1")
    with unit_of_work(engine) as session:
        existing = session.execute(select(func.count()).select_from(work_order)).scalar_one()
    if if_empty and existing:
        console.print(f"[yellow]demo skipped:[/] the database already holds {existing:,} work orders")
        return 0
    started = _time.perf_counter()
    rows = prepare(engine, seed)
    end_day = end_day or yesterday()
    first = end_day - timedelta(days=days - 1)
    the_days = [first + timedelta(days=i) for i in range(days)]
    end = calendar.local_midnight(end_day + timedelta(days=1))
    counts = {lvl: sum(1 for r in rows if r["level"] == lvl) for lvl in ("street", "community", "grid")}
    console.print(f"district: {counts['street']} streets, {counts['community']} communities, "
                  f"{counts['grid']} grids, {rows[0]['area_km2']:.1f} km² (seed {seed})")
    with unit_of_work(engine) as session:
        router = _cached_router(session)
        simulator = Simulator(rows, seed, router, end)
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("{task.fields[info]}"), TimeElapsedColumn(), console=console) as progress:
            task = progress.add_task("simulating days", total=days, info="")
            totals = {"orders": 0, "events": 0}

            def on_day(day: date, n: int, ev: int) -> None:
                totals["orders"] += n
                totals["events"] += ev
                progress.update(task, advance=1, info=f"{day} · {totals['orders']:,} orders · {totals['events']:,} events")

            orders, events = simulate_days(engine, simulator, the_days, orders_per_day, on_day)
    took = _time.perf_counter() - started
    console.print(f"[green]demo:[/] {orders:,} work orders and {events:,} events from {first} to {end_day} "
                  f"in {took:.1f} s")
    return orders
