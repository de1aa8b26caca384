"""The dispatch board shows the router's suggestions and reasons; a dispatcher corrects one (issue 14)."""

from __future__ import annotations

import httpx

from tests.e2e.conftest import api_token

DEMAND = ("领导您好，我在附近一家饭店打工，老板已经拖欠我们工资三个月了，劳动合同也没签，"
          "现在找他人都找不到。\n\n我们十几个工友都一样，希望劳动部门帮我们讨回工资。")


def test_board_shows_the_suggestion_and_the_desk_corrects_it(page_of, server):
    desk = {"Authorization": "Bearer " + api_token(server, "desk")}
    r = httpx.post(server + "/api/v1/orders", headers=desk, json={
        "source": "citizen", "channel": "phone", "description": DEMAND, "address": "宁波路88号"})
    assert r.status_code in (200, 201), r.text
    order = r.json()
    assert order["category"] == "wage_arrears"
    p = page_of(1920, 1080)
    p.sign_in("desk")
    p.go("/console/board?category=wage_arrears&source=citizen")
    row = p.page.locator(f"#row-{order['id']} .ai-suggestion")
    text = row.inner_text()
    assert "人力资源和社会保障局" in text and "依据" in text and "%" in text
    assert any(word in DEMAND for word in row.locator("q").all_inner_texts())
    p.shot("board-ai")
    assert p.axe() == [] and p.problems == []
    p.go(f"/console/orders/{order['id']}")
    assert "智能派单建议" in p.page.inner_text(".ai-card")
    p.page.select_option("#correct-category", "social_insurance")
    p.page.click("#correct-form button[type=submit]")
    p.page.wait_for_selector(".ai-card .done-note")
    p.shot("order-ai")
    assert p.axe() == [] and p.problems == []


def test_a_handler_is_not_offered_the_correction(page_of, server):
    p = page_of()
    p.sign_in("lvhua")
    p.go("/console/board")
    first = p.page.locator("tbody tr a").first.get_attribute("href")
    p.go(first)
    assert p.page.locator("#correct-form").count() == 0
