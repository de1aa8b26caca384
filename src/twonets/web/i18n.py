"""Languages of the web pages: gettext catalogs (zh_CN, the default, and en) and Babel formats.

The catalogs are the committed `.po` files under `locale/`; they are compiled in memory when
first used (no `.mo` to build or to forget). Template text is English msgids; a msgid without a
translation shows as itself. The reader's choice is kept in the `twonets_lang` cookie.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from functools import cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent
from babel.support import Translations

from twonets.core.calendar import LOCAL_TZ

LOCALES = ("zh_CN", "en")
DEFAULT = "zh_CN"
COOKIE = "twonets_lang"
LOCALE_DIR = Path(__file__).parent / "locale"
HTML_LANG = {"zh_CN": "zh-CN", "en": "en"}


def pick(raw: str | None) -> str:
    """A supported locale from a cookie or form value; the default for anything else."""
    return raw if raw in LOCALES else DEFAULT


@cache
def translations(locale: str) -> Translations:
    po = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(fp=buf)


class Formats:
    """Numbers and dates for one locale (what templates call as fmt.percent(x) …)."""

    def __init__(self, locale: str):
        self.locale = Locale.parse(locale)

    def number(self, value, digits: int = 0) -> str:
        if value is None:
            return "—"
        return format_decimal(value, format="#,##0" + ("." + "0" * digits if digits else ""), locale=self.locale)

    def percent(self, value, digits: int = 1) -> str:
        """A rate 0..1 as a percentage; None (nothing to measure) as a dash."""
        if value is None:
            return "—"
        return format_percent(value, format="#,##0." + "0" * digits + "%", locale=self.locale)

    def date(self, value: date | datetime | None, style: str = "medium") -> str:
        if value is None:
            return "—"
        if isinstance(value, datetime):
            value = value.astimezone(LOCAL_TZ).date()
        return format_date(value, format=style, locale=self.locale)

    def datetime(self, value: datetime | None, style: str = "short") -> str:
        if value is None:
            return "—"
        return format_datetime(value, format=style, tzinfo=LOCAL_TZ, locale=self.locale)
