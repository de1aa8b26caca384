"""The KPIs a district is judged by, for any period and any cut.

Computed with one SQL aggregate over the order projection (`work_order`), whose every column
is the replay of the order's events (so each figure is reproducible from the stored events;
`from_states` is the same arithmetic in Python, used to check that). This module is a
read-only query model: besides `city/order_repository.py` the one reader of the order table
(aggregates, never rows), and it writes nothing; `flags` gives the repository the KPI
counters it stores with every write. SQL over the projection,
not DuckDB over the event table: the projection already holds the folded facts (resolved
same day, working-day resolution time net of suspensions, on time…), so one indexed scan
answers every cut on both SQLite and PostgreSQL, with no copy of the data to keep in sync.

Definitions (period = orders created in it, local days):
- same-day rate: auto orders resolved on their local creation day / auto orders;
- proactive resolution rate: proactive orders resolved (resolved, checked or closed) / proactive orders;
- citizen rates, over citizen orders with a callback: actually resolved, satisfied
  (satisfied or basically satisfied), and both;
- average resolution time (working and calendar days), created → resolved minus suspensions;
- on-time rate: resolved by the due time / resolved;  overdue: orders that ever went overdue;
- returns per order, reopen rate, duplicate rate: over all orders of the period.
Orders that were cancelled or merged as duplicates are left out of the source rates.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date, timedelta

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from twonets.city.lifecycle import OrderState
from twonets.city.tables import KPI_FLAGS
from twonets.city.tables import work_order as wo
from twonets.core.calendar import DAY, local_midnight
from twonets.core.errors import InvalidInput
from twonets.core.i18n import Msg

CUTS = {"department": "department", "source": "source", "category": "category", "street": "street_code",
        "grid": "grid_code", "channel": "channel"}
SATISFIED = ("satisfied", "basically_satisfied")

COLUMNS = [
    ("group", "分组", "group"),
    ("orders", "工单", "orders"),
    ("same_day_rate", "自动发现当日解决率", "auto same-day"),
    ("proactive_resolution_rate", "主动发现解决率", "proactive resolved"),
    ("actual_resolution_rate", "实际解决率", "citizen resolved"),
    ("satisfaction_rate", "满意率", "satisfied"),
    ("resolved_and_satisfied_rate", "解决且满意率", "resolved & satisfied"),
    ("avg_resolution_working_days", "平均办结(工作日)", "avg working days"),
    ("avg_resolution_calendar_days", "平均办结(自然日)", "avg calendar days"),
    ("on_time_rate", "按时办结率", "on time"),
    ("overdue", "超期", "overdue"),
    ("returns_per_order", "单均退单", "returns/order"),
    ("reopen_rate", "重办率", "reopened"),
    ("duplicate_rate", "重复率", "duplicates"),
]


class KpiQuery(BaseModel):
    date_from: date | None = None
    date_to: date | None = None
    group_by: str | None = None
    filters: dict[str, str] = {}

    @classmethod
    def parse(cls, date_from: str | None = None, date_to: str | None = None, group_by: str | None = None,
              **filters: str | None) -> KpiQuery:
        def day(name: str, raw: str | None) -> date | None:
            if not raw:
                return None
            try:
                return date.fromisoformat(raw)
            except ValueError:
                raise InvalidInput(Msg("{name} must be a day like 2026-11-24, not {raw!r}", name=name, raw=raw),
                                   errors=[{"field": name, "message": Msg("invalid date")}]) from None

        if group_by is not None and group_by not in CUTS:
            raise InvalidInput(Msg("group_by must be one of {cuts}", cuts=', '.join(CUTS)),
                               errors=[{"field": "group_by", "message": Msg("invalid choice")}])
        unknown = [k for k, v in filters.items() if v is not None and k not in CUTS]
        if unknown:
            raise InvalidInput(Msg("unknown cut {cut!r}; cuts are {cuts}", cut=unknown[0], cuts=', '.join(CUTS)))
        q = cls(date_from=day("from", date_from), date_to=day("to", date_to), group_by=group_by,
                filters={k: v for k, v in filters.items() if v is not None})
        if q.date_from and q.date_to and q.date_from > q.date_to:
            raise InvalidInput(Msg("from must not be after to"), errors=[{"field": "from", "message": Msg("after to")}])
        return q


class KpiRow(BaseModel):
    group: str
    orders: int
    auto_orders: int
    auto_same_day: int
    same_day_rate: float | None
    proactive_orders: int
    proactive_resolved: int
    proactive_resolution_rate: float | None
    citizen_orders: int
    callbacks: int
    actual_resolution_rate: float | None
    satisfaction_rate: float | None
    resolved_and_satisfied_rate: float | None
    resolved: int
    avg_resolution_working_days: float | None
    avg_resolution_calendar_days: float | None
    on_time_rate: float | None
    overdue: int
    returns_per_order: float | None
    reopen_rate: float | None
    duplicate_rate: float | None


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if not b else round((a or 0) / b, 6)


def _row(group: str, c: dict) -> KpiRow:
    return KpiRow(
        group=group, orders=c["orders"], auto_orders=c["auto_n"], auto_same_day=c["auto_same_day"],
        same_day_rate=_ratio(c["auto_same_day"], c["auto_n"]),
        proactive_orders=c["pro_n"], proactive_resolved=c["pro_resolved"],
        proactive_resolution_rate=_ratio(c["pro_resolved"], c["pro_n"]),
        citizen_orders=c["cit_n"], callbacks=c["callbacks"],
        actual_resolution_rate=_ratio(c["cit_resolved"], c["callbacks"]),
        satisfaction_rate=_ratio(c["cit_satisfied"], c["callbacks"]),
        resolved_and_satisfied_rate=_ratio(c["cit_both"], c["callbacks"]),
        resolved=c["resolved"],
        avg_resolution_working_days=None if not c["resolved"] else round(c["working_s"] / c["resolved"] / DAY, 4),
        avg_resolution_calendar_days=None if not c["resolved"] else round(c["calendar_s"] / c["resolved"] / DAY, 4),
        on_time_rate=_ratio(c["on_time"], c["resolved"]), overdue=c["overdue"],
        returns_per_order=_ratio(c["returns"], c["orders"]), reopen_rate=_ratio(c["reopened"], c["orders"]),
        duplicate_rate=_ratio(c["duplicates"], c["orders"]),
    )


# Each order's contribution to the counters, stored with the order (columns k_*) when it is
# written, so the KPI query is plain sums over a covering index instead of expressions per row.
FLAGS = KPI_FLAGS


def flags(s: OrderState) -> dict[str, int]:
    """The k_* columns of one order (0/1 each), from its state."""
    counted = s.status != "cancelled" and s.master_id is None
    resolved = s.resolved_at is not None
    citizen_cb = s.source == "citizen" and s.satisfaction is not None
    satisfied = citizen_cb and s.satisfaction in SATISFIED
    f = {
        "auto_n": s.source == "auto" and counted,
        "auto_same_day": s.source == "auto" and counted and bool(s.resolved_same_day),
        "pro_n": s.source == "proactive" and counted,
        "pro_resolved": s.source == "proactive" and counted and resolved,
        "cit_n": s.source == "citizen" and counted,
        "callbacks": citizen_cb,
        "cit_resolved": citizen_cb and bool(s.actually_resolved),
        "cit_satisfied": satisfied,
        "cit_both": satisfied and bool(s.actually_resolved),
        "resolved": resolved,
        "on_time": resolved and bool(s.on_time),
        "overdue": bool(s.was_overdue),
        "reopened": s.reopen_count > 0,
        "duplicates": s.master_id is not None,
    }
    return {f"k_{k}": int(v) for k, v in f.items()}


def _aggregates():
    return [
        func.count().label("orders"),
        *[func.sum(wo.c[f"k_{k}"]).label(k) for k in FLAGS],
        func.sum(wo.c.resolution_working_s).label("working_s"),  # NULL until resolved: SUM skips it
        func.sum(wo.c.resolution_s).label("calendar_s"),
        func.sum(wo.c.returns_count).label("returns"),
    ]


def _where(query: KpiQuery):
    conds = [wo.c.created_at.is_not(None)]  # lets SQLite read the covering index, not the table
    if query.date_from:
        conds.append(wo.c.created_at >= local_midnight(query.date_from))
    if query.date_to:
        conds.append(wo.c.created_at < local_midnight(query.date_to + timedelta(days=1)))
    for cut, value in query.filters.items():
        conds.append(wo.c[CUTS[cut]] == value)
    return conds


def compute(session: Session, query: KpiQuery | None = None) -> list[KpiRow]:
    """The KPI table: one row for the whole selection, then one per group when grouped."""
    query = query or KpiQuery()
    conds = _where(query)
    rows: list[KpiRow] = []
    total = session.execute(select(*_aggregates()).where(*conds)).one()._mapping
    rows.append(_row("all", {k: int(v or 0) if k not in ("working_s", "calendar_s") else float(v or 0) for k, v in total.items()}))
    if query.group_by:
        col = wo.c[CUTS[query.group_by]]
        stmt = select(col.label("grp"), *_aggregates()).where(*conds).group_by(col).order_by(col)
        for r in session.execute(stmt).all():
            m = dict(r._mapping)
            grp = m.pop("grp")
            rows.append(_row(grp if grp is not None else "(none)",
                             {k: int(v or 0) if k not in ("working_s", "calendar_s") else float(v or 0) for k, v in m.items()}))
    return rows


def from_states(states: Iterable[OrderState], group: str = "all") -> KpiRow:
    """The same figures computed in Python from replayed order states (for checking SQL)."""
    c = dict.fromkeys(["orders", "auto_n", "auto_same_day", "pro_n", "pro_resolved", "cit_n", "callbacks",
                       "cit_resolved", "cit_satisfied", "cit_both", "resolved", "on_time", "overdue", "returns",
                       "reopened", "duplicates"], 0)
    c["working_s"] = c["calendar_s"] = 0.0
    for s in states:
        counted = s.status != "cancelled" and s.master_id is None
        resolved = s.resolved_at is not None
        c["orders"] += 1
        c["auto_n"] += s.source == "auto" and counted
        c["auto_same_day"] += s.source == "auto" and counted and bool(s.resolved_same_day)
        c["pro_n"] += s.source == "proactive" and counted
        c["pro_resolved"] += s.source == "proactive" and counted and resolved
        c["cit_n"] += s.source == "citizen" and counted
        if s.source == "citizen" and s.satisfaction is not None:
            c["callbacks"] += 1
            c["cit_resolved"] += bool(s.actually_resolved)
            c["cit_satisfied"] += s.satisfaction in SATISFIED
            c["cit_both"] += s.satisfaction in SATISFIED and bool(s.actually_resolved)
        if resolved:
            c["resolved"] += 1
            c["working_s"] += s.resolution_working_s or 0.0
            c["calendar_s"] += s.resolution_s or 0.0
            c["on_time"] += bool(s.on_time)
        c["overdue"] += s.was_overdue
        c["returns"] += s.returns_count
        c["reopened"] += s.reopen_count > 0
        c["duplicates"] += s.master_id is not None
    return _row(group, c)


def fmt(column: str, value) -> str:
    if value is None:
        return "—"
    if column.endswith("_rate"):
        return f"{value * 100:.2f}%"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def to_csv(rows: list[KpiRow]) -> str:
    out = io.StringIO()
    fields = list(KpiRow.model_fields)
    writer = csv.DictWriter(out, fieldnames=fields)
    writer.writeheader()
    for r in rows:
        writer.writerow(r.model_dump())
    return out.getvalue()
