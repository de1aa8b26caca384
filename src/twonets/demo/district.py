"""A synthetic demo district shaped like a central district of Shanghai.

About 37 km² around lon 121.48, lat 31.23: 14 streets (街道), ~260 communities (居委) and
~1,000+ grid cells (网格). Grids are the atoms: a Voronoi tiling (relaxed a few times so the
cells are even) of seeded points, clipped to an irregular outline. Communities are unions of
neighbouring grids and streets are unions of neighbouring communities, so the levels nest and
tile the district exactly. Everything depends only on the seed.

    rows = build_district(7)              # area rows, district first, grids last
    seed_district(session, 7)             # replace the areas, add the street routing rules
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from typing import Any

import numpy as np
import shapely
import shapely.affinity
from shapely.geometry import MultiPoint, Polygon
from sqlalchemy import delete, insert
from sqlalchemy.orm import Session

from twonets.city import spatial
from twonets.city.tables import routing_rule
from twonets.core.calendar import utcnow

CENTER_LON, CENTER_LAT = 121.48, 31.23
TARGET_KM2 = 37.0
N_STREETS = 14
DISTRICT_CODE = "D"
DISTRICT_NAME = ("申城中心区（示范）", "Shencheng Central District (demo)")
PRECISION = 1e-7  # degrees (~1 cm): shared edges snap to the same coordinates
RULE_AUTHOR = "demo"
STREET_OFFICE = "jiedao"

# Ordered roughly north → south; streets are named in the order of their seeds' latitude.
STREET_NAMES: tuple[tuple[str, str], ...] = (
    ("南京东路街道", "Nanjing East Road Sub-district"),
    ("外滩街道", "The Bund Sub-district"),
    ("人民广场街道", "People's Square Sub-district"),
    ("福州路街道", "Fuzhou Road Sub-district"),
    ("瑞金二路街道", "Ruijin No. 2 Road Sub-district"),
    ("淮海中路街道", "Middle Huaihai Road Sub-district"),
    ("豫园街道", "Yuyuan Garden Sub-district"),
    ("小东门街道", "Xiaodongmen Sub-district"),
    ("老西门街道", "Laoximen Sub-district"),
    ("新天地街道", "Xintiandi Sub-district"),
    ("董家渡街道", "Dongjiadu Sub-district"),
    ("打浦桥街道", "Dapuqiao Sub-district"),
    ("五里桥街道", "Wuliqiao Sub-district"),
    ("半淞园路街道", "Bansongyuan Road Sub-district"),
)
assert len(STREET_NAMES) == N_STREETS

# Roads that lend their names to residential communities (居民区).
ROADS: tuple[tuple[str, str], ...] = (
    ("福州路", "Fuzhou Road"), ("宁波路", "Ningbo Road"), ("天津路", "Tianjin Road"),
    ("九江路", "Jiujiang Road"), ("汉口路", "Hankou Road"), ("广东路", "Guangdong Road"),
    ("北京东路", "Beijing East Road"), ("延安东路", "Yan'an East Road"), ("金陵东路", "Jinling East Road"),
    ("云南中路", "Middle Yunnan Road"), ("浙江中路", "Middle Zhejiang Road"), ("福建中路", "Middle Fujian Road"),
    ("山东中路", "Middle Shandong Road"), ("河南中路", "Middle Henan Road"), ("江西中路", "Middle Jiangxi Road"),
    ("四川中路", "Middle Sichuan Road"), ("西藏南路", "South Xizang Road"), ("复兴东路", "Fuxing East Road"),
    ("中华路", "Zhonghua Road"), ("人民路", "Renmin Road"), ("方浜中路", "Middle Fangbang Road"),
    ("河南南路", "South Henan Road"), ("蓬莱路", "Penglai Road"), ("陆家浜路", "Lujiabang Road"),
    ("制造局路", "Zhizaoju Road"), ("瞿溪路", "Quxi Road"), ("局门路", "Jumen Road"),
    ("鲁班路", "Luban Road"), ("徐家汇路", "Xujiahui Road"), ("建国东路", "Jianguo East Road"),
    ("顺昌路", "Shunchang Road"), ("马当路", "Madang Road"), ("黄陂南路", "South Huangpi Road"),
    ("重庆南路", "South Chongqing Road"), ("思南路", "Sinan Road"), ("皋兰路", "Gaolan Road"),
    ("南昌路", "Nanchang Road"), ("雁荡路", "Yandang Road"), ("茂名南路", "South Maoming Road"),
    ("瑞金一路", "Ruijin No. 1 Road"), ("永嘉路", "Yongjia Road"), ("建国中路", "Middle Jianguo Road"),
    ("斜土路", "Xietu Road"), ("丽园路", "Liyuan Road"), ("南塘浜路", "Nantangbang Road"),
    ("大吉路", "Daji Road"), ("尚文路", "Shangwen Road"), ("文庙路", "Wenmiao Road"),
    ("梦花街", "Menghua Street"), ("豫园路", "Yuyuan Road"), ("光启路", "Guangqi Road"),
    ("董家渡路", "Dongjiadu Road"), ("外马路", "Waima Road"), ("中山南路", "South Zhongshan Road"),
    ("白渡路", "Baidu Road"), ("王家码头路", "Wangjiamatou Road"), ("会馆街", "Huiguan Street"),
    ("半淞园路", "Bansongyuan Road"), ("西凌家宅路", "Xilingjiazhai Road"), ("南车站路", "Nanchezhan Road"),
    ("龙华东路", "Longhua East Road"), ("江阴路", "Jiangyin Road"), ("凤阳路", "Fengyang Road"),
    ("牛庄路", "Niuzhuang Road"), ("厦门路", "Xiamen Road"), ("贵州路", "Guizhou Road"),
    ("六合路", "Liuhe Road"), ("浙江南路", "South Zhejiang Road"), ("淮海东路", "Huaihai East Road"),
    ("自忠路", "Zizhong Road"), ("太仓路", "Taicang Road"), ("合肥路", "Hefei Road"),
)
VARIANTS: tuple[tuple[str, str], ...] = (
    ("", ""), ("第二", " No. 2"), ("东", " East"), ("西", " West"), ("南", " South"), ("北", " North"),
    ("新", " New"), ("第三", " No. 3"),
)
_KY = math.pi / 180 * spatial.EARTH_RADIUS_M / 1000  # km per degree of latitude
_KX = math.cos(math.radians(CENTER_LAT)) * _KY  # km per degree of longitude here


# --- geometry helpers (all in local km around the centre, converted to lon/lat at the end) ---


def _outline(rng: random.Random) -> Polygon:
    """A smooth, irregular, slightly elongated blob of TARGET_KM2 km² (in km, centred on 0, 0)."""
    harmonics = [(k, rng.uniform(0.02, 0.09) / k ** 0.6, rng.uniform(0, 2 * math.pi)) for k in range(2, 7)]
    stretch = rng.uniform(1.15, 1.35)  # taller than wide, like a district along a river
    pts = []
    for i in range(180):
        t = 2 * math.pi * i / 180
        r = 1.0 + sum(a * math.sin(k * t + phi) for k, a, phi in harmonics)
        pts.append((r * math.cos(t) / stretch, r * math.sin(t) * stretch))
    poly = Polygon(pts)
    poly = shapely.affinity.scale(poly, math.sqrt(TARGET_KM2 / poly.area), math.sqrt(TARGET_KM2 / poly.area),
                                  origin=(0, 0))
    return poly.buffer(0)


def _sample_inside(poly: Polygon, n: int, nprng: np.random.Generator) -> np.ndarray:
    x0, y0, x1, y1 = poly.bounds
    out = np.empty((0, 2))
    shapely.prepare(poly)
    while len(out) < n:
        cand = nprng.uniform((x0, y0), (x1, y1), size=(n * 2, 2))
        out = np.vstack([out, cand[shapely.contains_xy(poly, cand[:, 0], cand[:, 1])]])
    return out[:n]


def _voronoi_cells(points: np.ndarray, clip: Polygon) -> list[Any]:
    """Voronoi cells of `points` (same order), clipped to `clip`."""
    mp = MultiPoint([tuple(p) for p in points])
    cells = shapely.voronoi_polygons(mp, extend_to=clip)
    by_point: list[Any] = [None] * len(points)
    tree = shapely.STRtree(shapely.points(points))
    for cell in cells.geoms:
        idx = tree.query(cell, predicate="contains")
        if len(idx):
            by_point[int(idx[0])] = cell
    return [shapely.intersection(c, clip) for c in by_point]


def _relaxed_cells(poly: Polygon, n: int, nprng: np.random.Generator, rounds: int = 4) -> list[Polygon]:
    """An even Voronoi tiling of `poly` into `n` cells (Lloyd relaxation); every cell a Polygon."""
    pts = _sample_inside(poly, n, nprng)
    for _ in range(rounds):
        cells = _voronoi_cells(pts, poly)
        pts = np.array([[c.centroid.x, c.centroid.y] for c in cells])
    cells = _voronoi_cells(pts, poly)
    return _single_polygons(cells)


def _single_polygons(cells: list[Any]) -> list[Polygon]:
    """Give stray fragments of a clipped cell to the neighbour they share the longest edge with."""
    main: list[Polygon] = []
    strays: list[Polygon] = []
    for c in cells:
        parts = sorted(getattr(c, "geoms", [c]), key=lambda g: -g.area)
        parts = [p for p in parts if isinstance(p, Polygon) and p.area > 0]
        main.append(parts[0])
        strays.extend(parts[1:])
    for s in strays:
        best = max(range(len(main)), key=lambda i: main[i].boundary.intersection(s.boundary).length)
        main[best] = shapely.union(main[best], s)
    return main


def _to_lonlat(geom):
    g = shapely.transform(geom, lambda c: np.column_stack([CENTER_LON + c[:, 0] / _KX, CENTER_LAT + c[:, 1] / _KY]))
    return shapely.set_precision(g, PRECISION)


# --- grouping grids into communities and streets --------------------------------------------


def _adjacency(cells: list[Polygon]) -> list[dict[int, float]]:
    """For each cell, its neighbours and the length of the shared edge (point contacts ignored)."""
    tree = shapely.STRtree(cells)
    adj: list[dict[int, float]] = [dict() for _ in cells]
    for i, c in enumerate(cells):
        for j in tree.query(c, predicate="intersects"):
            j = int(j)
            if j <= i:
                continue
            length = c.boundary.intersection(cells[j].boundary).length
            if length > 1e-6:
                adj[i][j] = adj[j][i] = length
    return adj


def _kmeans(xy: np.ndarray, k: int, rng: random.Random, iters: int = 12) -> np.ndarray:
    idx = rng.sample(range(len(xy)), k)
    centers = xy[idx].copy()
    labels = np.zeros(len(xy), dtype=int)
    for _ in range(iters):
        d = ((xy[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)
        labels = d.argmin(axis=1)
        for c in range(k):
            members = xy[labels == c]
            if len(members):
                centers[c] = members.mean(axis=0)
            else:  # an empty cluster takes the point farthest from its centre
                far = int(d[np.arange(len(xy)), labels].argmax())
                centers[c] = xy[far]
                labels[far] = c
    return labels


def _make_contiguous(labels: list[int], members: list[int], adj: list[dict[int, float]]) -> None:
    """Within `members`, move every piece of a group that is cut off from the group's main body
    to the neighbouring group it shares the longest border with, until every group is one piece."""
    member_set = set(members)
    for _ in range(50):
        groups: dict[int, list[int]] = defaultdict(list)
        for m in members:
            groups[labels[m]].append(m)
        moved = False
        for g, cells in groups.items():
            cell_set, seen, parts = set(cells), set(), []
            for start in cells:
                if start in seen:
                    continue
                stack, part = [start], []
                seen.add(start)
                while stack:
                    u = stack.pop()
                    part.append(u)
                    for v in adj[u]:
                        if v in cell_set and v not in seen:
                            seen.add(v)
                            stack.append(v)
                parts.append(part)
            if len(parts) < 2:
                continue
            parts.sort(key=len, reverse=True)
            for part in parts[1:]:
                border: dict[int, float] = defaultdict(float)
                for u in part:
                    for v, length in adj[u].items():
                        if v in member_set and labels[v] != g:
                            border[labels[v]] += length
                if border:
                    target = max(sorted(border), key=lambda t: border[t])
                    for u in part:
                        labels[u] = target
                    moved = True
        if not moved:
            return


def _group(cells_xy: np.ndarray, members: list[int], k: int, labels: list[int], first_label: int,
           adj: list[dict[int, float]], rng: random.Random) -> None:
    sub = _kmeans(cells_xy[members], k, rng)
    for m, lab in zip(members, sub):
        labels[m] = first_label + int(lab)
    _make_contiguous(labels, members, adj)


def _community_name(rng: random.Random, used: set[tuple[str, str]], pool: list[tuple[str, str]]) -> tuple[str, str]:
    while True:
        road = pool[rng.randrange(len(pool))]
        variant = VARIANTS[min(int(rng.expovariate(1.2)), len(VARIANTS) - 1)]
        name = (f"{road[0]}{variant[0]}居民区", f"{road[1]}{variant[1]} Community")
        if name not in used:
            used.add(name)
            return name


def build_district(seed: int) -> list[dict[str, Any]]:
    """The `area` rows of the synthetic district: the district, 14 streets, ~260 communities and
    ~1,000+ grids, as non-overlapping polygons that tile it. The same seed gives the same rows."""
    rng = random.Random(seed)
    nprng = np.random.default_rng(seed)
    outline = _outline(rng)
    n_grids = rng.randint(1030, 1080)
    n_communities = rng.randint(255, 265)

    grids_km = _relaxed_cells(outline, n_grids, nprng)
    adj = _adjacency(grids_km)
    xy = np.array([[g.centroid.x, g.centroid.y] for g in grids_km])

    # Streets: contiguous groups of grids.
    street_of = [0] * len(grids_km)
    _group(xy, list(range(len(grids_km))), N_STREETS, street_of, 0, adj, rng)
    # Name streets north → south by their mean latitude.
    means = {s: xy[[i for i, v in enumerate(street_of) if v == s]].mean(axis=0) for s in set(street_of)}
    order = sorted(means, key=lambda s: (-round(means[s][1], 6), means[s][0]))
    street_rank = {s: r for r, s in enumerate(order)}

    # Communities within each street, in proportion to its number of grids.
    by_street: dict[int, list[int]] = defaultdict(list)
    for i, s in enumerate(street_of):
        by_street[street_rank[s]].append(i)
    sizes = {s: len(m) for s, m in by_street.items()}
    quota = {s: max(1, round(n_communities * sizes[s] / len(grids_km))) for s in by_street}
    comm_of = [0] * len(grids_km)
    next_label = 0
    for s in sorted(by_street):
        k = min(quota[s], len(by_street[s]))
        _group(xy, by_street[s], k, comm_of, next_label, adj, rng)
        next_label += k

    grids = [_to_lonlat(g) for g in grids_km]

    # Codes: streets S01.., communities numbered within their street north → south, grids within
    # their community north → south.
    rows: list[dict[str, Any]] = []
    district_geom = shapely.union_all(grids)
    rows.append(spatial.area_row(DISTRICT_CODE, "district", *DISTRICT_NAME, district_geom))
    street_rows, community_rows, grid_rows = [], [], []
    road_pool = list(ROADS)
    used_names: set[tuple[str, str]] = set()
    for s in sorted(by_street):
        s_code = f"S{s + 1:02d}"
        s_zh, s_en = STREET_NAMES[s]
        comms: dict[int, list[int]] = defaultdict(list)
        for i in by_street[s]:
            comms[comm_of[i]].append(i)
        comm_order = sorted(comms, key=lambda c: (-round(xy[comms[c]].mean(axis=0)[1], 6), xy[comms[c]].mean(axis=0)[0]))
        street_geom = shapely.union_all([grids[i] for i in by_street[s]])
        street_rows.append(spatial.area_row(s_code, "street", s_zh, s_en, street_geom, parent=DISTRICT_CODE,
                                            street=s_code))
        for ci, c in enumerate(comm_order, start=1):
            c_code = f"{s_code}C{ci:03d}"
            c_zh, c_en = _community_name(rng, used_names, road_pool)
            cells = sorted(comms[c], key=lambda i: (-round(xy[i][1], 6), xy[i][0]))
            comm_geom = shapely.union_all([grids[i] for i in cells])
            community_rows.append(spatial.area_row(c_code, "community", c_zh, c_en, comm_geom, parent=s_code,
                                                   street=s_code, community=c_code))
            for gi, i in enumerate(cells, start=1):
                g_code = f"{c_code}G{gi:02d}"
                grid_rows.append(spatial.area_row(
                    g_code, "grid", f"{c_zh}第{gi}网格", f"{c_en} Grid {gi}", grids[i],
                    parent=c_code, street=s_code, community=c_code))
    return rows + street_rows + community_rows + grid_rows


def street_routing_rules(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One rule per street: requests of category `other` go to the street office."""
    now = utcnow()
    return [
        {"category": "other", "street_code": r["code"], "grid_code": None, "department": STREET_OFFICE,
         "note": f"{r['name_zh']}: other requests to the street office", "created_at": now,
         "created_by": RULE_AUTHOR}
        for r in rows if r["level"] == "street"
    ]


def seed_district(session: Session, seed: int) -> list[dict[str, Any]]:
    """Replace the spatial hierarchy with the synthetic district and (re)create its street rules.
    Expects the reference data to be synced (the rules name the `jiedao` department)."""
    rows = build_district(seed)
    spatial.replace_areas(session, rows)
    session.execute(delete(routing_rule).where(routing_rule.c.created_by == RULE_AUTHOR))
    session.execute(insert(routing_rule), street_routing_rules(rows))
    return rows


def grid_polygons(rows: list[dict[str, Any]]) -> dict[str, Polygon]:
    """Grid code → shapely polygon, for the simulator."""
    return {r["code"]: shapely.geometry.shape(r["geometry"]) for r in rows if r["level"] == "grid"}


