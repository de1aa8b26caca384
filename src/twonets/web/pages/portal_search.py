"""The portal's answer to "您要办什么事？ / What do you need to do?": the one function the portal
searches with (`find`), so that a better reader of what people type (an AI model) can replace it
without touching a page.

Today: people write "我想给孩子上户口" or "elderly card", not a matter's official name. The text is
cut into what can match — Latin words, and for Chinese the query itself and its two-character
pieces, with filler ("我想", "怎么", "办理" …) dropped — and each matter of the catalogue scores by
the pieces its name and keywords contain. Matters that can be applied for online come first
among equals; imported ones (listed, not written out yet) follow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from twonets.govservices.tables import svc_matter

FILLER = ("我想", "我要", "想要", "怎么", "如何", "怎样", "在哪", "哪里", "可以", "需要", "办理", "申请", "一下",
          "给", "帮", "请问", "我", "的", "了", "吗", "呢", "办", "要", "想")
_CJK = re.compile(r"[\u3400-\u9fff]+")
_WORD = re.compile(r"[a-z0-9]{2,}")
MAX_QUERY = 100


@dataclass(frozen=True)
class Hit:
    code: str
    name_zh: str
    name_en: str
    department: str
    full: bool
    processing: str
    no_application: bool
    score: float


def pieces(q: str) -> tuple[list[str], list[str]]:
    """(Chinese pieces, Latin words) of a query: the Chinese runs with filler removed and their
    two-character pieces; words of two letters or more."""
    q = q.strip().lower()[:MAX_QUERY]
    words = _WORD.findall(q)
    runs = []
    for run in _CJK.findall(q):
        for f in FILLER:
            run = run.replace(f, " ")
        runs += [r for r in run.split() if r]
    grams = set(runs)
    for r in runs:
        grams.update(r[i:i + 2] for i in range(len(r) - 1))
    return sorted(grams, key=len, reverse=True), words


_rows: dict[str, tuple[tuple, list]] = {}


def _catalogue(session: Session) -> list:
    """The searchable columns of every matter, read again only when the catalogue changed
    (its newest change and its size: an import or a sync moves one or the other)."""
    t = svc_matter
    stamp = tuple(session.execute(select(func.max(t.c.updated_at), func.count())).one())
    key = str(session.get_bind().url)
    hit = _rows.get(key)
    if hit is None or hit[0] != stamp:
        rows = list(session.execute(select(t.c.code, t.c.name_zh, t.c.name_en, t.c.department, t.c.full, t.c.processing,
                                           t.c.no_application, t.c.search_text)))
        hit = _rows[key] = (stamp, rows)
    return hit[1]


def find(session: Session, q: str, *, limit: int = 20) -> list[Hit]:
    """Matters for what a person typed, best first (empty when nothing matches)."""
    grams, words = pieces(q)
    if not grams and not words:
        return []
    hits = []
    for r in _catalogue(session):
        text = r.search_text or ""
        score = 0.0
        for g in grams:
            if g in r.name_zh:
                score += len(g) * 2
            elif g in text:
                score += len(g)
        for w in words:
            if w in text:
                score += 3 if w in (r.name_en or "").lower() else 2
        if score <= 0:
            continue
        score += 0.5 if r.full else 0
        hits.append(Hit(r.code, r.name_zh, r.name_en, r.department, bool(r.full), r.processing, bool(r.no_application), score))
    hits.sort(key=lambda h: (-h.score, not h.full, len(h.name_zh), h.code))
    return hits[:limit]
