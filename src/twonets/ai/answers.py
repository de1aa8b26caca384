"""Guided answers for 12345 consultations about services: retrieval only, nothing invented.

The answer quotes the passages of the best matter's guide (conditions, materials, time limit,
fee) with the matter cited, in the words of the guide. When no matter matches well enough, or
the best one has no written-out guide, the answer says so and hands over to a person.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from twonets.ai.search import Hit, SearchIndex

# A match needs a word in common (not a stray character) and at least this BM25 score.
MIN_SCORE = 5.0
HANDOVER_ZH = "这个问题我无法从办事指南中找到答案，已为您转接人工服务（12345 热线或政务服务大厅窗口）。"
HANDOVER_EN = "I could not find this in the service guides; a person will take it from here (the 12345 hotline or a hall window)."
NO_GUIDE_ZH = "该事项的办事指南尚未发布，具体条件和材料请咨询人工服务。"
NO_GUIDE_EN = "This matter's guide has not been written out yet; a person will tell you its conditions and materials."


@dataclass(frozen=True)
class Quote:
    section: str  # conditions | materials | time_limit | fee | legal_basis
    text: str  # verbatim from the guide


@dataclass(frozen=True)
class Answer:
    known: bool  # False: "I don't know", handed over to a person
    matter: Hit | None = None  # the matter cited
    quotes: list[Quote] = field(default_factory=list)
    others: list[Hit] = field(default_factory=list)  # the next candidates, to ask "did you mean…"
    handover: bool = False
    message_zh: str = ""
    message_en: str = ""

    def as_dict(self) -> dict:
        return {"known": self.known, "handover": self.handover, "message_zh": self.message_zh, "message_en": self.message_en,
                "matter": self.matter.__dict__ if self.matter else None,
                "quotes": [q.__dict__ for q in self.quotes], "others": [h.__dict__ for h in self.others]}


def answer(index: SearchIndex, question: str, *, min_score: float = MIN_SCORE) -> Answer:
    hits = index.search(question, k=4)
    if not hits or hits[0].score < min_score or not index.shares_a_word(question, hits[0].code):
        return Answer(False, handover=True, message_zh=HANDOVER_ZH, message_en=HANDOVER_EN)
    best, others = hits[0], [h for h in hits[1:] if h.score >= min_score]
    doc = index.doc(best.code)
    if doc is None or not doc.full or not doc.passages:
        return Answer(False, matter=best, others=others, handover=True,
                      message_zh=f"您要办的可能是「{best.name_zh}」。{NO_GUIDE_ZH}",
                      message_en=f"You may mean \"{best.name_en or best.name_zh}\". {NO_GUIDE_EN}")
    quotes = [Quote(section, text) for section, text in doc.passages if text]
    return Answer(True, matter=best, quotes=quotes, others=others,
                  message_zh=f"根据「{best.name_zh}」（{best.code}）的办事指南：",
                  message_en=f"From the guide of \"{best.name_en or best.name_zh}\" ({best.code}):")
