"""The demo district's grids as the simulator draws from them: weighted grids and points inside each polygon."""

from __future__ import annotations

import bisect
import math
import random
from itertools import accumulate
from typing import Any

import numpy as np
import shapely

from twonets.demo import district as district_mod


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
