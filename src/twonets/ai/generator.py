"""A generator of 12345 demands for training and testing the router.

Demands are written the way people call or type: an opener, maybe an address, the problem in
one of several phrasings, follow-ups, the history of earlier complaints, a demand; sometimes a
second, lesser problem of another category, several paragraphs, typos (homophones), English
words mixed in, or the whole message in English. The label is the category of the main problem.

**Honest split.** Every category's statements (`cores`, `en`), terms (`terms.tsv`) and
follow-ups (`details`), the generic frames (openers, histories, closings) and the place names
are split by position into train / dev / test: a test demand is composed only of pieces the
training split never uses, so it is not a re-shuffle of training sentences. The dev split
(also unseen in training) calibrates the probabilities and chooses the auto-route threshold. `Demand.key` is the normalised text; `split_overlap` checks that no test
text appears in training.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

PHRASES = tuple(Path(__file__).with_name("data") / name for name in ("demands.yaml", "demands_more.yaml", "demands_extra.yaml"))
SPLITS = ("train", "dev", "test")
TERMS = Path(__file__).with_name("data") / "terms.tsv"
# Which split each position takes, cycling: three of five pieces train, one dev, one test.
PATTERN = ("train", "test", "train", "dev", "train")

OPENERS = (
    "您好，", "喂，你好，", "我要反映一个问题，", "你好我想投诉一下，", "12345你好，", "麻烦问一下，", "",
    "我是附近的居民，", "打扰了，", "我实在忍不了了，", "我之前打过电话，", "您好我是这里的业主，",
    "有个事情想请你们帮忙，", "我是外地来这边打工的，", "", "师傅你好，", "你好，我再反映一次，",
    "尊敬的领导：您好！", "区长您好：", "尊敬的有关部门领导，", "领导您好，我是本区的一名普通市民，", "各位领导好，",
)
HISTORIES = (
    "之前已经打过好几次电话了一直没解决。", "找过居委会和物业都说不归他们管。", "上个月反映过说会处理，到现在也没动静。",
    "网上留言也没人回复。", "已经拖了大半年了。", "前后打了不下十次电话。", "街道来看过一次就没下文了。",
    "每次都说转给相关部门，然后就没消息。", "反映了两次都是不了了之。", "我们几户人家都打过电话了。",
    "物业说这个不归他们管，让我们打12345。", "居委会说要上报街道，街道又说要找区里。", "打了市长热线，说会派人来看，结果没人来。",
    "派出所说这个不是他们的事。", "城管来过一次，说不归城管管。", "社区干部也来看过，说没办法。", "找了物业经理好几次都推脱。",
    "街道办说已经转给相关部门了。", "问了居委，居委让我们自己协商。", "物业和居委互相踢皮球。", "之前有人来拍了照片就走了。",
    "去街道信访办也反映过。", "我们业主群里大家都很气愤。", "已经在网上的领导留言板发过帖子。", "工作人员答应一周内处理，现在一个月了。",
    "社区民警也知道这个情况。", "打电话给区里，一直占线。", "找了好几个部门，个个都说不归自己管。",
)
CLOSINGS = (
    "希望有关部门尽快处理。", "请尽快派人来看看。", "麻烦你们管一管。", "谢谢！", "希望给个答复。",
    "真的很着急，拜托了。", "请相关部门重视。", "希望这次能真正解决。", "不要再推来推去了。", "等你们回电话。",
    "请给我们老百姓做主。", "我的电话就是这个号码。", "盼复。", "辛苦了。", "希望政府出面协调。",
    "此致敬礼！", "恳请领导关注！", "望早日答复为盼。", "期待您的回复。", "谢谢领导！",
    "希望尽快派人来现场看一下。", "请你们派人过来处理。", "希望街道和相关部门一起协调解决。", "请物业和有关部门落实。",
    "不然我们只能去区政府了。", "希望不要只是走过场。", "请给个处理时间。", "希望能派人上门看看。", "请安排人员核实。",
    "请督促相关单位整改。", "希望别再拖了。", "麻烦尽快回复我。", "请转交负责的部门。",
)
TERM_FRAMES = (
    "{t}的问题{d}没人管", "想反映一下{t}的事情，{g}", "关于{t}，{g}", "{t}{g}", "我们这里{t}的问题很严重",
    "{t}到底归谁管", "投诉{t}，{g}", "{t}这个事情能不能帮忙解决一下", "咨询一下{t}方面的事", "{t}的情况反映了很多次",
    "我遇到了{t}的麻烦", "{t}这块{g}",
)
GENERIC = ("一直解决不了", "太让人头疼了", "影响很大", "问题很多", "没人处理", "出了问题", "不知道怎么办", "很不合理",
           "拖了很久", "希望给个说法")
DURATIONS = ("已经三天了", "好几个星期了", "一个多月了", "从去年开始就这样", "最近一直这样", "今天早上开始的", "两年多了", "这几天")
LINKS = ("另外，", "还有一个事，", "顺便说一下，", "再就是", "对了，", "除此之外")
EN_OPENERS = ("Hello, ", "Hi, I want to report that ", "Good morning. ", "", "Please help: ", "I live nearby and ")
EN_CLOSINGS = (" Please send someone.", " Thanks.", " This has gone on for weeks.", "", " Nobody has answered so far.")
# Homophone typos of the sort phone and pinyin input make.
TYPOS = {"的": "地", "在": "再", "已经": "以经", "反映": "反应", "那里": "哪里", "做": "作", "像": "象", "得": "的",
         "垃圾": "拉圾", "物业": "物叶", "工资": "工姿", "社保": "社报", "噪音": "燥音", "电梯": "电题", "投诉": "头诉"}
MIXED = {"物业": "物业manager", "电梯": "电梯lift", "公司": "company", "老板": "boss", "投诉": "complain",
         "OK": "OK", "微信": "WeChat", "APP": "app", "工资": "salary", "饭店": "restaurant"}


@dataclass(frozen=True)
class Demand:
    text: str
    category: str
    split: str

    @property
    def key(self) -> str:
        return normalise(self.text)


def normalise(text: str) -> str:
    return re.sub(r"[\s，。！？、,.!?；;：:]+", "", text).lower()


def _part(items: Sequence[str], split: str) -> list[str]:
    """The pieces of `split` (PATTERN by position); empty when the list is too short to give
    the split a piece (a split never borrows another's)."""
    return [x for i, x in enumerate(items) if PATTERN[i % len(PATTERN)] == split]


@lru_cache(maxsize=1)
def phrase_bank(paths: tuple[Path, ...] = PHRASES, terms: Path = TERMS) -> dict[str, dict[str, list[str]]]:
    bank: dict[str, dict[str, list[str]]] = {}
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            for code, entry in yaml.safe_load(fh).items():
                for key, items in entry.items():
                    bank.setdefault(code, {}).setdefault(key, []).extend(items)
    with open(terms, encoding="utf-8") as fh:
        for line in fh:
            if line.strip() and not line.startswith("#"):
                code, words = line.rstrip("\n").split("\t")
                bank.setdefault(code, {}).setdefault("terms", []).extend(words.split())
    return bank


def _typos(text: str, rng: random.Random) -> str:
    for right, wrong in TYPOS.items():
        if right in text and rng.random() < 0.25:
            text = text.replace(right, wrong, 1)
    return text


def _mixed(text: str, rng: random.Random) -> str:
    for zh, en in MIXED.items():
        if zh in text and rng.random() < 0.4:
            text = text.replace(zh, en, 1)
    return text


class Generator:
    """Demands for the categories of `categories` (minor codes); `places` are the district's
    road and community names (gazetteer) used in addresses; `bank` the phrase bank."""

    def __init__(self, categories: Iterable[str], places: Sequence[str], bank: dict | None = None):
        self.bank = bank or phrase_bank()
        self.categories = sorted(c for c in categories if c in self.bank)  # the same demands whatever the order given
        missing = sorted(set(categories) - set(self.bank))
        if missing:
            raise ValueError(f"the phrase bank has no demands for categories {missing}")
        self.places = list(places) or ["人民路"]

    def _address(self, rng: random.Random, split: str) -> str:
        place = rng.choice(_part(self.places, split) or self.places)  # a one-road gazetteer lends its road
        form = rng.randrange(6)
        if form == 0:
            return f"{place}{rng.randint(1, 999)}号"
        if form == 1:
            return f"{place}{rng.randint(1, 300)}弄{rng.randint(1, 40)}号{rng.choice(['', str(rng.randint(1, 6)) + '0' + str(rng.randint(1, 4)) + '室'])}"
        if form == 2:
            return f"{place}附近"
        if form == 3:
            return f"{place}和{rng.choice(self.places)}路口"
        if form == 4:
            return f"{place}{rng.choice(['小区', '菜场', '地铁站', '公交站', '学校门口'])}"
        return place

    def _zh(self, category: str, split: str, rng: random.Random, *, long: bool) -> str:
        entry = self.bank[category]
        terms = _part(entry.get("terms", []), split)
        if terms and rng.random() < 0.4:
            core = rng.choice(_part(TERM_FRAMES, split)).format(
                t=rng.choice(terms), d=rng.choice(_part(DURATIONS, split)), g=rng.choice(_part(GENERIC, split)))
        else:
            core = rng.choice(_part(entry["cores"], split))
        details = _part(entry.get("details", []), split)
        parts = [rng.choice(_part(OPENERS, split))]
        if rng.random() < 0.7:
            parts.append(f"{rng.choice(['在', '我家在', '地址是', '', '我们'])}{self._address(rng, split)}，")
        parts.append(core)
        if rng.random() < 0.5:
            parts.append(f"，{rng.choice(_part(DURATIONS, split))}")
        parts.append("。")
        if details and rng.random() < 0.7:
            parts.append(rng.choice(details) + "。")
        if long:
            parts.append("\n\n" + rng.choice(_part(HISTORIES, split)))
            more = [d for d in details if d + "。" not in parts]
            if more:
                parts.append(rng.choice(more) + "。")
            parts.append("\n\n")
        elif rng.random() < 0.4:
            parts.append(rng.choice(_part(HISTORIES, split)))
        parts.append(rng.choice(_part(CLOSINGS, split)))
        return "".join(parts)

    def _en(self, category: str, split: str, rng: random.Random) -> str:
        core = rng.choice(_part(self.bank[category]["en"], split))
        where = f" at {rng.choice(self.places)}" if rng.random() < 0.5 else ""
        return f"{rng.choice(EN_OPENERS)}{core}{where}.{rng.choice(EN_CLOSINGS)}"

    def demand(self, category: str, split: str, rng: random.Random) -> Demand:
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}")
        roll = rng.random()
        if roll < 0.08 and _part(self.bank[category].get("en", []), split):
            return Demand(self._en(category, split, rng), category, split)
        text = self._zh(category, split, rng, long=roll > 0.75)
        if rng.random() < 0.2:  # a second, lesser problem of another category, told after the first
            other = rng.choice([c for c in self.categories if c != category])
            extra = rng.choice(_part(self.bank[other]["cores"], split))
            text = text.rstrip() + rng.choice(_part(LINKS, split)) + extra + "。"
        if rng.random() < 0.3:
            text = _typos(text, rng)
        if rng.random() < 0.15:
            text = _mixed(text, rng)
        return Demand(text, category, split)

    def split(self, split: str, per_category: int, seed: int = 0) -> list[Demand]:
        """`per_category` distinct demands of each category for the split (fewer where the
        pieces cannot make more)."""
        rng = random.Random(f"{seed}:{split}")
        out: list[Demand] = []
        for category in self.categories:
            seen: set[str] = set()
            for _ in range(per_category * 5):
                d = self.demand(category, split, rng)
                if d.key not in seen:
                    seen.add(d.key)
                    out.append(d)
                if len(seen) >= per_category:
                    break
        return out

    def splits(self, per_category: int, seed: int = 0) -> dict[str, list[Demand]]:
        """train / dev / test with no text of the dev or test split in the training split."""
        test = self.split("test", max(1, per_category // 2), seed)
        dev = self.split("dev", max(1, per_category // 2), seed)
        train = drop_overlap(self.split("train", per_category, seed), dev + test)
        return {"train": train, "dev": dev, "test": test}


def split_overlap(train: Iterable[Demand], test: Iterable[Demand]) -> set[str]:
    """Normalised texts found in both splits (must be empty)."""
    return {d.key for d in train} & {d.key for d in test}


def drop_overlap(train: list[Demand], test: Iterable[Demand]) -> list[Demand]:
    keys = {d.key for d in test}
    return [d for d in train if d.key not in keys]
