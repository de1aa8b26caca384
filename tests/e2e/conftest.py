"""Browser tests: `twonets serve` as a subprocess on a free port with a temporary SQLite database
(migrated, seeded with a one-day demo), driven by Playwright through Debian's Chromium
(/usr/bin/chromium, headless; never `playwright install`). Screenshots go to
tests/e2e/screenshots/ (git-ignored). Skipped, with the reason, when Chromium or Playwright is missing."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).parent / "screenshots"
VENDOR = Path(__file__).resolve().parents[2] / "src" / "twonets" / "web" / "static" / "vendor"
PASSWORD = "twonets-demo-2026"
SEED = """
from twonets.cli import load_definitions
from twonets.core.db import default_engine, unit_of_work
from twonets.demo.accounts import seed_demo_users
from twonets.demo.govservices import seed_services
from twonets.demo.orders import run_demo
with unit_of_work() as session:
    load_definitions(session)
    seed_demo_users(session)
run_demo(default_engine(), days=1, seed=7, orders_per_day=300)
# The services for the portal: the catalogue (written-out matters and the imported list), the
# grants and a small registry population (the fixed personas first), no simulated applications.
seed_services(default_engine(), seed=7, persons=300, companies=30)
"""


def _why_not() -> str | None:
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} is missing (apt-get install chromium fonts-noto-cjk; `make test` does it)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[test]')"
    if not (VENDOR / "axe.min.js").exists():
        return f"front-end assets are missing in {VENDOR} (run `make web-assets`)"
    return None


def pytest_collection_modifyitems(config, items):
    reason = _why_not()
    for item in items:
        if "tests/e2e/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.e2e)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """Base URL of a running server with the demo district (one day, 300 orders; the services with 300 people)."""
    work = tmp_path_factory.mktemp("e2e")
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {**os.environ, "TWONETS_DATABASE_URL": f"sqlite:///{work / 'e2e.db'}", "TWONETS_KEY_DIR": str(work / "keys"),
           "TWONETS_LOG_JSON": "0", "TWONETS_LOG_LEVEL": "WARNING",
           "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    cli = [sys.executable, "-m", "twonets.cli"]
    subprocess.run(cli + ["db", "upgrade"], env=env, cwd=work, check=True, capture_output=True)
    # The order part of `twonets demo` only (its services and sensing seeds take most of its time).
    subprocess.run([sys.executable, "-c", SEED], env=env, cwd=work, check=True, capture_output=True)
    port = _free_port()
    log = open(work / "serve.log", "wb")
    proc = subprocess.Popen(cli + ["serve", "--port", str(port), "--no-tick"], env=env, cwd=work,
                            stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise RuntimeError((work / "serve.log").read_text())
        time.sleep(0.1)
    else:
        proc.terminate()
        raise RuntimeError("the server did not start: " + (work / "serve.log").read_text())
    yield base
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield b
        b.close()


class Page:
    """A Playwright page that records CSP violations and page errors, with helpers."""

    def __init__(self, browser, base: str, width: int = 1440, height: int = 900):
        self.base = base
        self.context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.page.on("console", lambda m: self.problems.append(m.text)
                     if m.type == "error" and "Content Security Policy" in m.text else None)
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))

    def go(self, path: str):
        return self.page.goto(self.base + path)

    def sign_in(self, username: str):
        self.go("/signin")
        self.page.fill("#username", username)
        self.page.fill("#password", PASSWORD)
        self.page.click("form[action='/signin'] button[type=submit]")
        self.page.wait_for_load_state()

    def shot(self, name: str):
        SHOTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(SHOTS / f"{name}.png"))

    def axe(self) -> list[str]:
        """Serious or critical accessibility violations on the page (axe-core from the vendored file)."""
        self.page.add_script_tag(url=self.base + "/static/vendor/axe.min.js")
        result = self.page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        return [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes'][:3]]}"
                for v in result["violations"] if v["impact"] in ("serious", "critical")]

    def close(self):
        self.context.close()


@pytest.fixture
def page_of(browser, server):
    opened: list[Page] = []

    def make(width: int = 1440, height: int = 900) -> Page:
        p = Page(browser, server, width, height)
        opened.append(p)
        return p

    yield make
    for p in opened:
        p.close()


def api_token(base: str, username: str) -> str:
    r = httpx.post(base + "/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    r.raise_for_status()
    return r.json()["access_token"]
