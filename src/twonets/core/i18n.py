"""Languages: one gettext catalogue for the whole package (zh_CN, the default, and en), used by
the API's problem details, the web pages and the CLI.

The catalogue is the committed `.po` files under `src/twonets/locale/<locale>/LC_MESSAGES/`
(`messages.pot` is the template, `make i18n` re-extracts it); each is compiled in memory the
first time it is used, so a fresh clone has nothing to build and nothing to forget.

Messages are English msgids. The domain never formats a sentence a person reads in one language:
it raises its errors with a `Msg` — a message id and its parameters — which reads as the English
text wherever a plain string is expected (logs, tests, `str(exc)`), and which an adapter renders
in the reader's language at the edge (`translate(message, locale)`). Parameters are named
`{name}` fields (`str.format`); values that are themselves `Msg` are translated too. Codes that a
client sends back (states, actions, field names) stay as they are in every language.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALES = ("zh_CN", "en")
DEFAULT = "zh_CN"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
# the language tag of each locale, for Content-Language and <html lang>
TAGS = {"zh_CN": "zh-CN", "en": "en"}
ENV = "TWONETS_LANG"


def N_(text: str) -> str:
    """Marks a message id for extraction into the catalogue; translated where it is shown."""
    return text


class Msg(str):
    """A message a person reads: `Msg("No work order {id}.", id=public_id)`.

    It is the English text (a `str`), and it keeps its message id and parameters so that an
    adapter can say it in another language (`translate`)."""

    msgid: str
    params: dict[str, Any]

    def __new__(cls, msgid: str, /, **params: Any) -> Msg:
        self = super().__new__(cls, _format(msgid, params, None))
        self.msgid = msgid
        self.params = params
        return self

    def __reduce__(self):  # pickled (e.g. by multiprocessing) as the same message
        return (_rebuild, (self.msgid, self.params))

    def translate(self, locale: str) -> str:
        return _format(translations(locale).gettext(self.msgid), self.params, locale)


class Joined(Msg):
    """Messages joined by a separator (`"; "` between field errors), each said in the reader's language."""

    def __new__(cls, parts: list, sep: str = "; ") -> Joined:
        self = str.__new__(cls, sep.join(str(p) for p in parts))
        self.msgid, self.params, self.parts, self.sep = "", {}, list(parts), sep
        return self

    def __reduce__(self):
        return (Joined, (self.parts, self.sep))

    def translate(self, locale: str) -> str:
        return self.sep.join(str(translate(p, locale)) for p in self.parts)


def _rebuild(msgid: str, params: dict[str, Any]) -> Msg:
    return Msg(msgid, **params)


def _format(text: str, params: Mapping[str, Any], locale: str | None) -> str:
    if not params:
        return text
    values = {k: (translate(v, locale) if locale and isinstance(v, Msg) else v) for k, v in params.items()}
    try:
        return text.format(**values)
    except (KeyError, IndexError, ValueError):  # a translation naming a field the message lacks: say it in English
        return text


def translate(text: Any, locale: str | None) -> Any:
    """`text` in `locale`: a `Msg` with its parameters, a plain string by catalogue lookup (itself
    when the catalogue lacks it); anything else (None, numbers) as it is."""
    if locale is None or not isinstance(text, str):
        return text
    if isinstance(text, Msg):
        return text.translate(locale)
    return translations(locale).gettext(text) if text else text


def gettext(locale: str):
    """The `_` of a locale, for code that writes text itself (the CLI, templates)."""
    return translations(locale).gettext


@cache
def translations(locale: str) -> Translations:
    po = LOCALE_DIR / pick(locale) / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=pick(locale))
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(fp=buf)


def pick(raw: str | None) -> str:
    """A supported locale from a cookie, form value, option or environment; the default for
    anything else. Accepts `en`, `en-US`, `zh`, `zh-CN`, `zh_CN` …"""
    if not raw:
        return DEFAULT
    if raw in LOCALES:
        return raw
    primary = re.split(r"[-_]", raw.strip(), maxsplit=1)[0].lower()
    return {"en": "en", "zh": "zh_CN"}.get(primary, DEFAULT)


def from_env() -> str:
    return pick(os.environ.get(ENV))


# The language of this process's own output (the CLI): `use(locale)` (from `--lang`), else TWONETS_LANG.
_chosen: str | None = None


def use(locale: str | None) -> None:
    global _chosen
    _chosen = pick(locale) if locale else None


def current() -> str:
    return _chosen or from_env()


def tr(msgid: str, /, **params: Any) -> str:
    """A message of the CLI, said now in the process's language (`current()`)."""
    return Msg(msgid, **params).translate(current())


_RANGE = re.compile(r"^\s*([A-Za-z]{1,8}(?:[-_][A-Za-z0-9]{1,8})*|\*)\s*(?:;\s*q\s*=\s*([0-9.]+))?\s*$")


def negotiate(accept_language: str | None) -> str:
    """The locale an `Accept-Language` header prefers (RFC 9110 §12.5.4: the highest q wins, the
    first of equals); the default when it names none of ours or is absent or malformed."""
    if not accept_language:
        return DEFAULT
    best: tuple[float, int, str] | None = None
    for i, part in enumerate(accept_language.split(",")[:32]):
        m = _RANGE.match(part)
        if not m:
            continue
        tag, q = m.group(1), m.group(2)
        try:
            weight = float(q) if q is not None else 1.0
        except ValueError:
            continue
        if weight <= 0:
            continue
        primary = re.split(r"[-_]", tag, maxsplit=1)[0].lower()
        locale = DEFAULT if primary == "*" else {"en": "en", "zh": "zh_CN"}.get(primary)
        if locale and (best is None or (weight, -i) > (best[0], best[1])):
            best = (weight, -i, locale)
    return best[2] if best else DEFAULT
