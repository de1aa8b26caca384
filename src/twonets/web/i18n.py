"""Languages of the web pages: the package's one catalogue (`twonets.core.i18n`: zh_CN, the
default, and en) and Babel formats.

Template text is English msgids; a msgid without a translation shows as itself. The reader's
choice is kept in the `twonets_lang` cookie.
"""

from __future__ import annotations

from datetime import date, datetime

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal, format_percent

from twonets.core import i18n as core_i18n
from twonets.core.calendar import LOCAL_TZ
from twonets.core.i18n import DEFAULT, LOCALE_DIR, LOCALES, translations  # noqa: F401  (the web's names for them)

COOKIE = "twonets_lang"
HTML_LANG = core_i18n.TAGS


def pick(raw: str | None) -> str:
    """A supported locale from a cookie or form value; the default for anything else."""
    return raw if raw in LOCALES else DEFAULT


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
