"""Address understanding: find the place a demand names against the district's own gazetteer
(streets, communities, roads, landmarks) and put it in a grid; say when the place is ambiguous
or outside the district.

The gazetteer comes in as entries (`Entry`); the city builds them from its areas and
definitions (`city/gazetteer.py`). Matching is longest-name-first over the text, names and
aliases alike, so "南京东路街道宁波路88号门口" finds the street 南京东路街道 and the road 宁波路
(with its house number). The most precise mention decides: a landmark or community places the
demand in a grid; a road is placed when one of its communities lies in the street the text
also names, or when it runs through a single community, and is ambiguous otherwise; a street
alone places it in the street only. A place outside the district (a known neighbouring area)
is reported as such.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

KINDS = ("landmark", "community", "road", "street", "outside")
PRECISION = {"landmark": 4, "community": 3, "road": 2, "street": 1, "outside": 0}
NUMBER = re.compile(r"^\s*(\d{1,4})\s*(?:弄\s*(\d{1,4})\s*)?号")
NEAR = re.compile(r"^(附近|旁边|边上|对面|周边|一带)")


@dataclass(frozen=True)
class Entry:
    name: str
    kind: str  # landmark | community | road | street | outside
    aliases: tuple[str, ...] = ()
    street_code: str | None = None
    community_code: str | None = None
    grid_code: str | None = None
    communities: tuple[tuple[str, str, str | None], ...] = ()  # a road's (community, street, grid of its centre)


@dataclass(frozen=True)
class Mention:
    entry: Entry
    start: int
    end: int
    said: str
    number: str | None = None  # a house number after a road ("88号", "120弄5号")
    near: bool = False  # "附近", "旁边": approximate


@dataclass(frozen=True)
class PlaceResult:
    status: str  # placed | street_only | ambiguous | outside | not_found
    name: str | None = None  # the gazetteer entry that decided
    kind: str | None = None
    street_code: str | None = None
    community_code: str | None = None
    grid_code: str | None = None
    approximate: bool = False
    candidates: list[dict] = field(default_factory=list)  # ambiguous: where it could be
    mentions: list[str] = field(default_factory=list)  # what was recognised, in text order
    message: str = ""

    def as_dict(self) -> dict:
        return self.__dict__.copy()


class Gazetteer:
    def __init__(self, entries: Iterable[Entry]):
        self.entries = list(entries)
        self._names: dict[str, Entry] = {}
        for e in self.entries:
            for n in (e.name, *e.aliases):
                if len(n) >= 2:
                    current = self._names.get(n)
                    if current is None or PRECISION[e.kind] > PRECISION[current.kind]:
                        self._names[n] = e
        names = sorted(self._names, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(n) for n in names)) if names else None

    def mentions(self, text: str) -> list[Mention]:
        if self._pattern is None:
            return []
        out = []
        for m in self._pattern.finditer(text):
            e = self._names[m.group(0)]
            rest = text[m.end():]
            num = NUMBER.match(rest) if e.kind == "road" else None
            near = bool(NEAR.match(rest.lstrip()))
            out.append(Mention(e, m.start(), m.end(), m.group(0), num.group(0).strip() if num else None, near))
        return out

    def resolve(self, text: str) -> PlaceResult:
        found = self.mentions(text)
        said = [m.said + (m.number or "") for m in found]
        inside = [m for m in found if m.entry.kind != "outside"]
        if not inside:
            if found:
                return PlaceResult("outside", name=found[0].entry.name, kind="outside", mentions=said,
                                   message=f"{found[0].said} is outside the district")
            return PlaceResult("not_found", mentions=said, message="no place of the district found in the text")
        streets = {m.entry.street_code for m in inside if m.entry.kind == "street"}
        best = max(inside, key=lambda m: (PRECISION[m.entry.kind], m.number is not None, -m.start))
        e = best.entry
        if e.kind in ("landmark", "community"):
            return PlaceResult("placed", e.name, e.kind, e.street_code, e.community_code, e.grid_code,
                               approximate=best.near or e.kind == "community", mentions=said)
        if e.kind == "road":
            options = list(e.communities)
            narrowed = [c for c in options if c[1] in streets] or options
            if len(narrowed) == 1:
                comm, street, grid = narrowed[0]
                return PlaceResult("placed", e.name, "road", street, comm, grid, approximate=True, mentions=said)
            return PlaceResult("ambiguous", e.name, "road", candidates=[
                {"community_code": c, "street_code": s, "grid_code": g} for c, s, g in narrowed],
                mentions=said, message=f"{e.name} runs through {len(narrowed)} communities; name the community, "
                                       "a landmark or the street")
        return PlaceResult("street_only", e.name, "street", e.street_code, mentions=said, approximate=True,
                           message="only the street is named")


@dataclass(frozen=True)
class Labelled:
    text: str
    expected: str | None  # the entry name the text refers to, "outside", or None (no place)


@dataclass(frozen=True)
class PlaceScore:
    items: int
    precision: float  # right among the texts where a place was claimed
    recall: float  # right among the texts that name a place
    wrong: list[tuple[str, str | None, str | None]]


def score(gazetteer: Gazetteer, labelled: Sequence[Labelled]) -> PlaceScore:
    claimed = right = named = 0
    wrong = []
    for item in labelled:
        r = gazetteer.resolve(item.text)
        got = "outside" if r.status == "outside" else r.name
        if got is not None:
            claimed += 1
        if item.expected is not None:
            named += 1
        if got is not None and got == item.expected:
            right += 1
        elif got != item.expected:
            wrong.append((item.text, item.expected, got))
    return PlaceScore(len(labelled), right / claimed if claimed else 0.0, right / named if named else 0.0, wrong)
