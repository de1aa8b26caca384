"""Service search and guided answers over the matter catalogue (issue 14): the services' side
of `twonets.ai.search`. One function for the portal's search box (`search`), one for 12345
consultations (`guided_answer`); the index is rebuilt when the catalogue changes."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from twonets.ai import answers
from twonets.ai.search import Doc, SearchIndex
from twonets.data.departments import departments
from twonets.govservices import matters
from twonets.govservices.tables import svc_matter

_lock = threading.Lock()
_cache: dict[str, tuple[tuple, SearchIndex]] = {}


def _passages(m) -> tuple[tuple[str, str], ...]:
    if not m.full:
        return ()
    fee = "不收费" if not m.fee_yuan else f"{m.fee_yuan:g}元"
    return (
        ("conditions", "；".join(m.conditions)),
        ("materials", "、".join(x.name_zh for x in m.materials)),
        ("time_limit", f"法定办结时限{m.statutory_days}个工作日，承诺办结时限{m.promised_days}个工作日"),
        ("fee", fee),
        ("legal_basis", m.legal_basis),
    )


def docs(items) -> list[Doc]:
    depts = departments()
    out = []
    for m in items:
        d = depts.get(m.department)
        out.append(Doc(
            code=m.code, name_zh=m.name_zh, name_en=m.name_en if m.name_en != m.name_zh else "", kind="matter",
            department=m.department, department_names=(d.name_zh, d.name_en) if d else (),
            keywords=tuple(m.keywords), body="；".join(m.conditions), passages=_passages(m), full=m.full))
    return out


def index(session: Session) -> SearchIndex:
    """The search index of this database's catalogue (rebuilt when its size or last update changes)."""
    key = str(session.get_bind().url)
    stamp = tuple(session.execute(select(func.count(), func.max(svc_matter.c.updated_at))).one())
    with _lock:
        hit = _cache.get(key)
        if hit and hit[0] == stamp:
            return hit[1]
    built = SearchIndex.build(docs(matters.all_matters(session)))
    with _lock:
        _cache[key] = (stamp, built)
    return built


def search(session: Session, query: str, k: int = 10) -> list[dict[str, Any]]:
    """Ranked matters (and bundles, when the catalogue has them) for what a person says they need."""
    query = (query or "").strip()
    if not query:
        return []
    return [h.__dict__ | {"score": round(h.score, 3)} for h in index(session).search(query[:500], k=max(1, min(k, 50)))]


def guided_answer(session: Session, question: str) -> dict[str, Any]:
    """Guide passages quoted with the matter cited, or "I don't know" with a handover."""
    return answers.answer(index(session), (question or "").strip()[:500]).as_dict()
