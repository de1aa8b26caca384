"""The web's text catalogs: every msgid the templates and code use is translated into Chinese,
and the formats follow the locale."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from babel.messages.extract import extract_from_dir

from twonets.web import i18n

WEB = Path(i18n.__file__).parent


def _used() -> set[str]:
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    found = set()
    for _file, _line, msg, _comments, _ctx in extract_from_dir(str(WEB), method_map,
                                                               keywords={"_": None, "N_": None, "ngettext": (1, 2)}):
        found.add(msg if isinstance(msg, str) else msg[0])
    return found


def test_every_used_msgid_has_a_chinese_translation():
    zh = i18n.translations("zh_CN")
    used = _used()
    assert len(used) > 80
    missing = sorted(m for m in used if "%(" not in m and zh.gettext(m) == m and m != "twonets")
    assert missing == []


def test_unknown_locale_falls_back_to_chinese():
    assert i18n.pick("fr") == "zh_CN" and i18n.pick(None) == "zh_CN" and i18n.pick("en") == "en"


def test_numbers_and_dates_follow_the_locale():
    at = datetime(2026, 12, 1, 2, 30, tzinfo=UTC)  # 10:30 in Shanghai
    zh, en = i18n.Formats("zh_CN"), i18n.Formats("en")
    assert zh.date(at) == "2026年12月1日" and en.date(at) == "Dec 1, 2026"
    assert en.number(12345) == "12,345" and zh.percent(0.9123) == "91.2%" and zh.percent(None) == "—"
    assert "10:30" in zh.datetime(at)
