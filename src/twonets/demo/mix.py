"""The demo's mixes: who reports what, through which channel, when, and how each source's orders tend to go."""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate

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


def _picker(weights: dict[str, float]) -> Callable[[random.Random], str]:
    keys = list(weights)
    cum = list(accumulate(weights[k] for k in keys))
    total = cum[-1]

    def pick(rng: random.Random) -> str:
        return keys[bisect.bisect_right(cum, rng.random() * total)]

    return pick
