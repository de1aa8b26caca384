"""The CLI speaks Chinese by default and English on request (`--lang en`, TWONETS_LANG), from the
one catalogue: a command's report and a domain error, in both languages."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from tests.unit.cli.test_cli import cli_db  # noqa: F401
from twonets.cli import app
from twonets.core import i18n

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def runner(cli_db, monkeypatch):  # noqa: F811
    monkeypatch.delenv(i18n.ENV, raising=False)  # the suite reads English by default: not here
    r = CliRunner()
    assert r.invoke(app, ["--lang", "en", "db", "upgrade"]).exit_code == 0
    yield r
    i18n.use(None)


def test_a_report_in_chinese_by_default_and_in_english_on_request(runner, monkeypatch):
    zh = runner.invoke(app, ["tick"])
    assert zh.exit_code == 0, zh.output
    assert "已检查 0，预警 0，超期 0，升级督办 0" in zh.output
    en = runner.invoke(app, ["--lang", "en", "tick"])
    assert en.exit_code == 0 and "checked 0, warnings 0, overdue 0, escalated 0" in en.output
    assert not CJK.search(en.output)
    monkeypatch.setenv(i18n.ENV, "en-US")
    assert "checked 0" in runner.invoke(app, ["tick"]).output
    assert "已检查 0" in runner.invoke(app, ["--lang", "zh_CN", "tick"]).output  # the option wins


def test_a_domain_error_in_both_languages(runner):
    zh = runner.invoke(app, ["--lang", "zh_CN", "kpi", "--from", "yesterday"])
    assert zh.exit_code == 2 and "from 必须是日期" in zh.output and "'yesterday'" in zh.output
    en = runner.invoke(app, ["--lang", "en", "kpi", "--from", "yesterday"])
    assert en.exit_code == 2 and "from must be a day like 2026-11-24, not 'yesterday'" in en.output
    assert not CJK.search(en.output)


def test_a_user_error_as_json_in_the_language_asked_for(runner):
    args = ["users", "create", "x", "--role", "nobody", "--password", "long-enough-password-1", "--json"]
    zh = runner.invoke(app, ["--lang", "zh_CN", *args])
    en = runner.invoke(app, ["--lang", "en", *args])
    assert zh.exit_code == en.exit_code == 2, (zh.output, en.output)
    assert CJK.search(zh.stdout) and not CJK.search(en.stdout)
