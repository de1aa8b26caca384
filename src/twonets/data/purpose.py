"""Purposes of data use (purpose limitation): when a stated purpose says something, and when a
read's purpose is within a granted one.

- **Meaningful** (`check_purpose`): the purpose carries at least 4 points of text, a CJK
  character counting 2 and any other letter or digit 1 — so `回访`, `核验` and `callback` pass,
  `看`, `abc` and punctuation-only text (`....`, `？？`) are refused. Spaces and punctuation count
  nothing. At most 2,000 characters.
- **Matching** (`purpose_matches`): a read's purpose is within a granted purpose when it contains
  the granted purpose in full, compared without case, spaces or punctuation (NFKC, so full-width
  forms read as ASCII) — the particulars of the case may be added; or when it cites a law (a title
  in 《…》) that the granted purpose cites, its legal basis. Nothing looser: "随便看看" is within
  no purpose, and a purpose merely sharing a verb ("核验低保资格" against "核验敬老卡…") is not the
  granted one.
"""

from __future__ import annotations

import re
import unicodedata

from twonets.core.errors import InvalidInput
from twonets.core.i18n import Msg

MIN_POINTS = 4
MAX_LENGTH = 2000
_LAW = re.compile(r"《([^》]{1,200})》")


def _cjk(ch: str) -> bool:
    o = ord(ch)
    return 0x3400 <= o <= 0x9FFF or 0xF900 <= o <= 0xFAFF or 0x20000 <= o <= 0x3134F


def points(text: str) -> int:
    """How much a purpose says: 2 per CJK character, 1 per other letter or digit."""
    return sum(2 if _cjk(ch) else 1 for ch in unicodedata.normalize("NFKC", text) if ch.isalnum())


def check_purpose(text: str | None, field: str = "purpose") -> str:
    """The purpose, stripped; InvalidInput (422 naming `field`) unless it is meaningful."""
    text = (text or "").strip()
    if len(text) > MAX_LENGTH:
        raise InvalidInput(Msg("a purpose is at most {most} characters", most=MAX_LENGTH), errors=[{"field": field, "message": Msg("too long")}])
    if points(text) < MIN_POINTS:
        raise InvalidInput(
            Msg("state the purpose: at least 2 Chinese characters or 4 letters or digits (e.g. 回访 callback)"),
            errors=[{"field": field, "message": Msg("too short")}],
        )
    return text


def _norm(text: str) -> str:
    """Letters and digits only, case-folded (NFKC: full-width forms read as their ASCII)."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).casefold() if ch.isalnum())


def purpose_matches(purpose: str, granted: str) -> bool:
    """Whether a read's `purpose` is within the `granted` purpose (see the module's rule)."""
    g = _norm(granted)
    if g and g in _norm(purpose):
        return True
    laws = {_norm(t) for t in _LAW.findall(granted)} - {""}
    return bool(laws & {_norm(t) for t in _LAW.findall(purpose)})
