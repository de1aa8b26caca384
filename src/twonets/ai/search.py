"""Service search: "what do you need to do?" → ranked matters (and one-thing bundles).

BM25 (bm25s) over each item's names (Chinese and English, weighted double), keywords, its
department's names and, for matters written out in full, the guide (conditions, materials).
Chinese is tokenised as character unigrams and bigrams (no dictionary to ship or to age),
English as lower-case words; a query is expanded with the synonyms people use for the
catalogue's words (`data/synonyms.yaml`). No dense model: none installs from PyPI with its
weights, and nothing may be fetched from a hub at run time.

The catalogue comes in as `Doc`s built by the caller (the services, the portal): this module
knows nothing of the matter tables.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import bm25s
import numpy as np
import yaml

SYNONYMS = Path(__file__).with_name("data") / "synonyms.yaml"
_CJK = re.compile(r"[\u4e00-\u9fff]+")
_WORD = re.compile(r"[a-z0-9]+")
STOP = {"的", "了", "我", "想", "要", "怎", "么", "办", "吗", "呢", "啊", "吧", "在", "是", "个", "一", "有", "和", "去", "哪",
        "里", "可", "以", "能", "什", "需", "请", "问", "下", "这", "那", "你", "们", "给", "how", "do", "i", "a", "an",
        "the", "to", "my", "for", "of", "in", "can", "what", "where", "is", "me", "get", "need", "want", "and", "on"}
STOP_BIGRAMS = {"怎么", "怎样", "如何", "需要", "什么", "哪里", "可以", "请问", "我想", "我要", "办理", "一下", "要办", "怎办",
                "么办", "我们", "你们", "应该", "还要", "现在", "这个", "那个", "么弄"}


@dataclass(frozen=True)
class Doc:
    """One searchable item: a matter or a one-thing bundle."""

    code: str
    name_zh: str
    name_en: str = ""
    kind: str = "matter"  # matter | bundle
    department: str = ""
    department_names: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    body: str = ""  # more text to search (a guide's conditions)
    passages: tuple[tuple[str, str], ...] = ()  # (section, text) of the guide, quoted by answers
    full: bool = False  # has a written-out guide


# A matter named for a later step (cancel, change, reissue, renew…) ranks below the first-time
# matter unless the query asks for that step: "办社保卡" wants 申领, not 注销 or 挂失.
STEPS: dict[str, tuple[str, ...]] = {
    "注销": ("注销", "销户", "去世", "不要了", "不干了", "关门", "cancel", "close"),
    "变更": ("变更", "改", "更正", "换成", "换人", "错", "change", "correct"),
    "补办": ("补", "丢", "遗失", "损毁", "坏", "被偷", "lost", "replace", "replacement"),
    "补领": ("补", "丢", "遗失", "lost", "replace", "replacement"),
    "换发": ("换", "过期", "replace", "renew"),
    "换证": ("换", "过期", "到期", "renew"),
    "延续": ("延续", "续", "到期", "过期", "renew"),
    "续期": ("续", "到期", "过期", "renew"),
    "作废": ("作废", "cancel"),
    "挂失": ("挂失", "丢", "被偷", "lost"),
    "解挂": ("解挂", "找到"),
    "密码修改": ("改密码", "修改密码"),
    "遗失": ("丢", "遗失", "lost"),
    "终止": ("终止", "停", "不干了"),
    "校验": ("校验",),
}
STEP_PENALTY = 0.8
FULL_BOOST = 1.1  # a matter the district wrote out in full (its guide is there to quote)


@dataclass(frozen=True)
class Hit:
    code: str
    name_zh: str
    name_en: str
    kind: str
    department: str
    score: float


def tokens(text: str) -> list[str]:
    text = text.lower()
    out: list[str] = []
    for run in _CJK.findall(text):
        out += [c for c in run if c not in STOP]
        out += [run[i:i + 2] for i in range(len(run) - 1) if run[i:i + 2] not in STOP_BIGRAMS]
    out += [w for w in _WORD.findall(text) if w not in STOP]
    return out


@lru_cache(maxsize=1)
def synonyms(path: Path = SYNONYMS) -> dict[str, tuple[str, ...]]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(k).lower(): tuple(v) for k, v in raw.items()}


def expand(query: str, table: dict[str, tuple[str, ...]] | None = None) -> str:
    table = synonyms() if table is None else table
    q = query.lower()
    words = set(_WORD.findall(q))
    extra = [" ".join(v) for k, v in table.items() if (k in words if k.isascii() else k in q)]
    return " ".join([query, *extra])


def _text(d: Doc) -> str:
    parts = [d.name_zh, d.name_zh, d.name_en, d.name_en, *d.keywords, *d.department_names]
    parts.append(d.body)
    return " ".join(parts)


@dataclass
class SearchIndex:
    docs: list[Doc]
    retriever: bm25s.BM25 = field(repr=False)

    @classmethod
    def build(cls, docs: Iterable[Doc]) -> SearchIndex:
        docs = list(docs)
        if not docs:
            raise ValueError("nothing to index")
        r = bm25s.BM25()
        r.index([tokens(_text(d)) or ["∅"] for d in docs], show_progress=False)
        return cls(docs, r)

    def __post_init__(self):
        self._words = [frozenset(t for t in tokens(_text(d)) if len(t) >= 2) for d in self.docs]
        self._full = np.array([FULL_BOOST if d.full else 1.0 for d in self.docs])
        self._steps = [tuple(step for step in STEPS if step in d.name_zh) for d in self.docs]

    def scores(self, query: str) -> np.ndarray:
        vocab = self.retriever.vocab_dict
        q = [t for t in tokens(expand(query)) if t in vocab]
        if not q:
            return np.zeros(len(self.docs))
        s = np.asarray(self.retriever.get_scores(q), dtype=float) * self._full
        lowered = query.lower()
        asked = {step for step, cues in STEPS.items() if any(c in lowered for c in cues)}
        for i, steps in enumerate(self._steps):
            if steps and not set(steps) & asked:
                s[i] *= STEP_PENALTY
        return s

    def search(self, query: str, k: int = 10, kind: str | None = None) -> list[Hit]:
        s = self.scores(query)
        order = np.argsort(-s, kind="stable")
        hits = []
        for i in order:
            if s[i] <= 0 or len(hits) >= k:
                break
            d = self.docs[i]
            if kind and d.kind != kind:
                continue
            hits.append(Hit(d.code, d.name_zh, d.name_en, d.kind, d.department, float(s[i])))
        return hits

    def shares_a_word(self, query: str, code: str) -> bool:
        """Whether the item shares a word (a Chinese bigram or an English word, synonyms included)
        with the query: a stray character in common is no match."""
        i = next((n for n, d in enumerate(self.docs) if d.code == code), None)
        return i is not None and bool({t for t in tokens(expand(query)) if len(t) >= 2} & self._words[i])

    def doc(self, code: str) -> Doc | None:
        return next((d for d in self.docs if d.code == code), None)


@dataclass(frozen=True)
class Labelled:
    query: str
    expected: tuple[str, ...]  # matter names (name_zh) any of which is right


def recall_at(index: SearchIndex, labelled: Sequence[Labelled], ks: Sequence[int] = (1, 5)) -> dict[int, float]:
    by_code = {d.code: d.name_zh for d in index.docs}
    found = {k: 0 for k in ks}
    for item in labelled:
        names = [by_code[h.code] for h in index.search(item.query, k=max(ks))]
        for k in ks:
            if set(names[:k]) & set(item.expected):
                found[k] += 1
    return {k: found[k] / len(labelled) for k in ks}
