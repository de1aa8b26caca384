"""The one catalogue (src/twonets/locale): every message the package marks — domain errors (`Msg`),
validation messages, CLI output (`tr`), web templates and labels (`_`, `N_`, `ngettext`) — is
extracted with Babel from the sources and must be translated in both languages, with the same
placeholders; and no domain error is raised with a preformatted sentence that cannot be translated."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from twonets.core import i18n

PACKAGE = Path(i18n.__file__).resolve().parent.parent
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "Msg": None, "tr": None}
METHODS = [("**.py", "python"), ("web/templates/**.html", "jinja2")]
CJK = re.compile(r"[\u4e00-\u9fff]")
FIELD = re.compile(r"(?<!\{)\{(\w+)")  # {name}, {name!r}, {name:…}; not {{escaped}}


def extracted() -> set[str]:
    found = set()
    for _file, _line, msg, _comments, _ctx in extract_from_dir(str(PACKAGE), METHODS, keywords=KEYWORDS):
        found.add(msg if isinstance(msg, str) else msg[0])
    return found


def catalogue(locale: str):
    with (i18n.LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=locale)


@pytest.mark.parametrize("locale", i18n.LOCALES)
def test_every_message_is_translated(locale):
    used = extracted()
    assert len(used) > 400  # the extraction finds the package's messages (not an empty directory)
    cat = catalogue(locale)
    untranslated = []
    for msgid in sorted(used):
        entry = cat.get(msgid)
        strings = [] if entry is None else [entry.string] if isinstance(entry.string, str) else list(entry.string)
        if entry is None or entry.fuzzy or not all(strings):
            untranslated.append(msgid)
    assert untranslated == [], f"run `make i18n` and translate these in {locale}: {untranslated}"


def test_translations_keep_the_placeholders_and_chinese_is_chinese():
    zh = catalogue("zh_CN")
    for locale in i18n.LOCALES:
        for entry in catalogue(locale):
            if not entry.id or not isinstance(entry.id, str) or not entry.string:
                continue
            assert set(FIELD.findall(entry.string)) == set(FIELD.findall(entry.id)), (locale, entry.id, entry.string)
    for entry in zh:
        words = re.sub(r"\{[^}]*\}|`[^`]*`", "", entry.id) if isinstance(entry.id, str) else ""
        if re.search(r"[A-Za-z]{3}", words) and entry.id != "twonets":  # a sentence, not a code or a name
            assert CJK.search(entry.string), entry.id


def test_a_message_with_parameters_is_said_in_either_language():
    from twonets.core.errors import IllegalTransition

    e = IllegalTransition("created", "close", [])
    assert str(e.detail) == "Cannot close an order that is created. Allowed now: none (the order is final)."
    assert i18n.translate(e.detail, "en") == str(e.detail)
    assert i18n.translate(e.detail, "zh_CN") == "工单当前状态为 created，不能执行 close。现在可执行：无（工单已终结）。"
    assert i18n.translate(e.title, "zh_CN") == "非法的状态转换"
    assert i18n.translate("not in the catalogue", "zh_CN") == "not in the catalogue"


@pytest.mark.parametrize("header, locale", [
    (None, "zh_CN"), ("", "zh_CN"), ("en", "en"), ("en-US,en;q=0.9", "en"), ("zh-CN", "zh_CN"), ("zh-TW", "zh_CN"),
    ("fr, en;q=0.5", "en"), ("fr", "zh_CN"), ("en;q=0.2, zh;q=0.8", "zh_CN"), ("en;q=0, zh", "zh_CN"),
    ("*", "zh_CN"), ("en;q=abc, zh", "zh_CN"), (";;,,", "zh_CN"), ("EN", "en"),
])
def test_accept_language_negotiation(header, locale):
    assert i18n.negotiate(header) == locale


ERRORS = {"DomainError", "InvalidInput", "NotFound", "Conflict", "Forbidden", "Unauthorized", "PurposeMismatch"}


def test_domain_errors_carry_a_message_id_not_a_preformatted_sentence():
    """`raise NotFound(f"No work order {id}")` could only ever be English: errors take a `Msg`."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
            first = node.args[0]
            if name in ERRORS and (isinstance(first, ast.JoinedStr) or (isinstance(first, ast.Constant) and isinstance(first.value, str))):
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert offenders == [], "wrap the message in twonets.core.i18n.Msg: " + ", ".join(offenders)


def test_field_errors_joined_into_one_detail_are_each_translated():
    from twonets.core.i18n import Joined, Msg

    detail = Msg("{what}: {detail}", what=Msg("the form is not valid"), detail=Joined([
        Msg("{field}: {message}", field="form.foo", message=Msg("unknown field")),
        Msg("{field}: {message}", field="form.name", message=Msg("at most {value} characters", value=80)),
    ]))
    assert str(detail) == "the form is not valid: form.foo: unknown field; form.name: at most 80 characters"
    assert i18n.translate(detail, "zh_CN") == "表单填写有误：form.foo：未知字段; form.name：最多 80 个字符"
    import pickle

    assert i18n.translate(pickle.loads(pickle.dumps(detail)), "zh_CN") == i18n.translate(detail, "zh_CN")
