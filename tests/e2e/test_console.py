"""The operation-center console and the dispatch board in a real browser."""

from __future__ import annotations

import httpx

from tests.e2e.conftest import api_token

SEEDS = ("same_day_rate", "proactive_resolution_rate", "resolved_and_satisfied_rate", "avg_resolution_working_days")


def _clean(p) -> None:
    assert p.axe() == []
    assert p.problems == []


def test_sign_in_as_desk_then_console_kpis_equal_the_api(page_of, server):
    p = page_of(1920, 1080)
    p.go("/console")
    assert p.page.url.startswith(server + "/signin")  # not signed in: the sign-in page, coming back after
    _clean(p)
    p.shot("signin")
    p.sign_in("desk")
    assert p.page.url == server + "/console"
    cookies = {c["name"]: c for c in p.context.cookies()}
    assert cookies["twonets_session"]["httpOnly"] and cookies["twonets_session"]["sameSite"] == "Lax"
    p.page.wait_for_selector("#map[data-ready='1']")
    p.page.wait_for_selector("#spark-same_day_rate[data-points='30']")
    p.page.wait_for_selector("#live[data-state='live']")
    p.page.wait_for_selector("#open-chart[data-ready='1']")
    assert int(p.page.get_attribute("#map", "data-marker-count")) > 0
    section = p.page.locator("section.kpis")
    first, last = section.get_attribute("data-from"), section.get_attribute("data-to")
    api = httpx.get(server + "/api/v1/kpi", params={"from": first, "to": last},
                    headers={"Authorization": "Bearer " + api_token(server, "desk")}).json()["items"][0]
    for field in SEEDS:
        shown = p.page.get_attribute(f"li[data-kpi='{field}']", "data-value")
        assert shown == ("" if api[field] is None else str(api[field])), field
    rate = api["proactive_resolution_rate"]
    assert f"{rate * 100:.1f}%" in p.page.inner_text("li[data-kpi='proactive_resolution_rate'] .kpi-value")
    p.shot("console-1920x1080")
    _clean(p)
    # Click a grid on the map: its panel with open orders and KPIs (tries a few points: a marker
    # under the cursor opens its popup instead).
    box = p.page.locator("#map").bounding_box()
    for dx, dy in ((0.5, 0.5), (0.45, 0.55), (0.55, 0.45), (0.4, 0.4), (0.6, 0.6), (0.5, 0.3)):
        p.page.mouse.click(box["x"] + box["width"] * dx, box["y"] + box["height"] * dy)
        try:
            p.page.wait_for_selector("#grid-panel .grid-panel-body", timeout=1500)
            break
        except Exception:
            continue
    assert p.page.locator("#grid-panel .grid-panel-body").get_attribute("data-grid")
    p.shot("console-grid-panel")
    _clean(p)


def test_console_shows_a_new_order_without_reload(page_of, server):
    p = page_of(1920, 1080)
    p.sign_in("desk")
    p.page.wait_for_selector("#map[data-ready='1']")
    p.page.wait_for_selector("#live[data-state='live']")
    before = int(p.page.get_attribute("#map", "data-marker-count"))
    streets = httpx.get(server + "/api/v1/areas", params={"level": "grid"}).json()["features"]
    ring = streets[0]["geometry"]["coordinates"][0]
    lon, lat = sum(c[0] for c in ring[:-1]) / (len(ring) - 1), sum(c[1] for c in ring[:-1]) / (len(ring) - 1)
    r = httpx.post(server + "/api/v1/orders", headers={"Authorization": "Bearer " + api_token(server, "desk")},
                   json={"source": "citizen", "channel": "web", "category": next(iter(_categories(server))),
                         "description": "e2e: live marker", "lon": lon, "lat": lat})
    assert r.status_code == 201, r.text
    p.page.wait_for_selector(f"#map[data-marker-count='{before + 1}']", timeout=10000)


def _categories(base: str) -> list[str]:
    return [c["code"] for c in httpx.get(base + "/api/v1/categories").json()["items"]]


def test_board_dispatches_a_returned_order(page_of, server):
    # A handler returns one of its orders through the API; the desk dispatches it from the board.
    token = api_token(server, "lvhua")
    mine = httpx.get(server + "/api/v1/orders", params={"department": "lvhua", "status": "dispatched", "limit": 1},
                     headers={"Authorization": "Bearer " + token}).json()["items"][0]
    r = httpx.post(server + f"/api/v1/orders/{mine['id']}/return", json={"reason": "e2e: not ours"},
                   headers={"Authorization": "Bearer " + token})
    assert r.status_code == 200, r.text
    p = page_of()
    p.sign_in("desk")
    p.go("/console/board?status=returned")
    row = p.page.locator(f"#row-{mine['id']}")
    p.page.keyboard.press("j")  # keyboard: the first order, then its first action
    assert p.page.evaluate("document.activeElement.closest('tr').id") == f"row-{mine['id']}"
    p.page.keyboard.press("a")
    assert p.page.evaluate("document.activeElement.name") == "department"
    row.locator("form[action$='/dispatch'] select").select_option("shuiwu")
    p.shot("board")
    row.locator("form[action$='/dispatch'] button").click()
    p.page.wait_for_selector(f"#row-{mine['id']} .done-note")
    assert "已派单" in p.page.inner_text(f"#row-{mine['id']}")
    order = httpx.get(server + f"/api/v1/orders/{mine['id']}",
                      headers={"Authorization": "Bearer " + api_token(server, "desk")}).json()
    assert order["status"] == "dispatched" and order["department"] == "shuiwu"
    _clean(p)
    p.go(f"/console/orders/{mine['id']}")
    assert "e2e: not ours" in p.page.inner_text(".timeline")
    p.page.wait_for_selector("#pin-map[data-ready='1']")
    p.shot("order")
    _clean(p)


def test_order_page_shows_the_reporter_only_for_a_stated_purpose(page_of, server):
    desk = {"Authorization": "Bearer " + api_token(server, "desk")}
    cited = httpx.get(server + "/api/v1/orders", params={"source": "citizen", "limit": 50}, headers=desk).json()["items"]
    order = next(o for o in cited if o["reporter"] and o["reporter"]["phone"])
    p = page_of()
    p.sign_in("desk")
    p.go(f"/console/orders/{order['id']}")
    masked = p.page.inner_text("#contact")
    assert order["reporter"]["phone"] in masked  # the masked form, as the API lists it
    p.page.fill("#purpose", "e2e 回访 callback")
    p.page.click(".contact-form button")
    p.page.wait_for_selector("#contact .audit-note")
    full = httpx.get(server + f"/api/v1/orders/{order['id']}/reporter", params={"purpose": "e2e check"}, headers=desk).json()
    assert full["phone"] in p.page.inner_text("#contact") and full["phone"] != order["reporter"]["phone"]
    p.shot("order-contact")
    _clean(p)


def test_board_filters_by_deadline(page_of, server):
    p = page_of()
    p.sign_in("desk")
    p.go("/console/board?flag=overdue")
    flags = p.page.locator("tbody tr td:nth-child(8) .tag").all_inner_texts()
    assert flags and all("超期" in f for f in flags)
    assert p.page.locator("#f-flag").input_value() == "overdue"


def test_a_handler_cannot_see_another_departments_order(page_of, server):
    desk = {"Authorization": "Bearer " + api_token(server, "desk")}
    other = httpx.get(server + "/api/v1/orders", params={"department": "shuiwu", "limit": 1}, headers=desk).json()["items"][0]
    p = page_of()
    p.sign_in("lvhua")
    assert p.page.url == server + "/console/board"
    departments = set(p.page.locator("tbody tr td:nth-child(6)").all_inner_texts())
    assert len(departments) == 1  # only lvhua's orders
    response = p.go(f"/console/orders/{other['id']}")
    assert response.status == 404
    assert "页面不存在" in p.page.inner_text("h1")
    p.shot("handler-404")
    _clean(p)
    response = p.go("/console")
    assert response.status == 403
    _clean(p)
    # Acting on it by a forged form post is refused the same way.
    csrf = next(c["value"] for c in p.context.cookies() if c["name"] == "twonets_csrf")
    r = p.page.request.post(server + f"/console/orders/{other['id']}/accept", form={"csrf_token": csrf})
    assert r.status == 404


def test_a_form_without_its_csrf_token_is_refused(page_of, server):
    p = page_of()
    p.sign_in("desk")
    r = p.page.request.post(server + "/signout", form={})
    assert r.status == 403
    p.go("/console/board")
    assert p.page.url.endswith("/console/board")  # still signed in


def test_language_switch_works_on_every_page_and_persists(page_of, server):
    desk = {"Authorization": "Bearer " + api_token(server, "desk")}
    some = httpx.get(server + "/api/v1/orders", params={"limit": 1}, headers=desk).json()["items"][0]["id"]
    p = page_of()
    pages = ["/signin", "/console", "/console/board", f"/console/orders/{some}", "/console/no-such-page"]
    for i, path in enumerate(pages):
        if i == 1:
            p.sign_in("desk")
        p.go(path)
        assert p.page.get_attribute("html", "lang") == "zh-CN", path
        p.page.click("form.lang button[value='en']")
        p.page.wait_for_load_state()
        assert p.page.get_attribute("html", "lang") == "en", path
        assert p.page.url.endswith(path), (path, p.page.url)
        if path != "/signin":
            p.go(path)  # persists across loads
            assert p.page.get_attribute("html", "lang") == "en", path
            assert "Sign out" in p.page.inner_text("header")
        if path == "/console/board":
            _clean(p)
            p.shot("board-en")
        if path == "/console":
            p.page.set_viewport_size({"width": 1920, "height": 1080})
            p.page.wait_for_selector("#map[data-ready='1']")
            p.shot("console-en")
            p.page.set_viewport_size({"width": 1440, "height": 900})
        p.page.click("form.lang button[value='zh_CN']")
        p.page.wait_for_load_state()
        assert p.page.get_attribute("html", "lang") == "zh-CN", path
