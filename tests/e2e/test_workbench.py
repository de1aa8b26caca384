"""The department workbench, the review queue, the data officers' desk and the service-hall
window in a real browser, checked against the API as the people concerned."""

from __future__ import annotations

import base64
import struct
import zlib

import httpx

from tests.e2e.conftest import SHOTS, api_token


def _png(width: int = 240, height: int = 160) -> bytes:
    """A real PNG (a green street under a grey sky) as the photo of the work done."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    rows = b"".join(b"\x00" + (bytes((170, 180, 190)) if y < height // 2 else bytes((60, 140, 70))) * width
                    for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


PNG = _png()
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


def _clean(p) -> None:
    assert p.axe() == []
    assert p.problems == []


def _api(base: str, user: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + api_token(base, user)}


def _both_languages(p, path: str, shot: str, wait: str | None = None) -> None:
    """The page in Chinese, then English (the switch on the page), each clean and photographed
    at desktop width; back to Chinese."""
    assert p.page.get_attribute("html", "lang") == "zh-CN"
    _clean(p)
    p.shot(shot + "-zh")
    p.page.click("form.lang button[value='en']")
    p.page.wait_for_load_state()
    assert p.page.get_attribute("html", "lang") == "en", path
    assert p.page.url.endswith(path), (path, p.page.url)
    if wait:
        p.page.wait_for_selector(wait)
    assert "Sign out" in p.page.inner_text("header")
    _clean(p)
    p.shot(shot + "-en")
    p.page.click("form.lang button[value='zh_CN']")
    p.page.wait_for_load_state()
    assert p.page.get_attribute("html", "lang") == "zh-CN"


def test_a_handler_works_an_order_to_resolved_from_the_workbench_with_a_photo(page_of, server, tmp_path):
    p = page_of(1440, 900)
    p.sign_in("lvhua")
    p.go("/workbench")
    assert p.page.locator("nav a[href='/workbench']").get_attribute("aria-current") == "page"
    _both_languages(p, "/workbench", "workbench")
    # The deadline on the working-day clock, in words (never colour alone).
    dues = p.page.locator("tbody td:nth-child(7)").all_inner_texts()
    assert dues and all(("工作日" in d) or ("停止计时" in d) for d in dues), dues
    # Keyboard: j to the first order, a to its first action.
    p.page.keyboard.press("j")
    first_row = p.page.evaluate("document.activeElement.closest('tr').id")
    assert first_row == p.page.locator("tbody tr[id^='row-']").first.get_attribute("id")
    p.page.keyboard.press("a")
    assert p.page.evaluate("document.activeElement.closest('td').classList.contains('row-actions')")
    row = p.page.locator("tbody tr:has(form[action$='/accept'])").first
    order_id = row.get_attribute("id").removeprefix("row-")
    row.locator("form[action$='/accept'] button").click()
    p.page.wait_for_selector(f"#row-{order_id} .done-note")
    lvhua = _api(server, "lvhua")
    assert httpx.get(server + f"/api/v1/orders/{order_id}", headers=lvhua).json()["status"] == "accepted"
    p.page.click(f"#row-{order_id} a[href='/workbench/orders/{order_id}']")
    p.page.wait_for_selector("form.resolve-form")
    # Only this user's actions now: resolve, return, suspend — not dispatch or close.
    offered = {a.split("/")[-1] for a in p.page.locator("form.action-form").evaluate_all("fs => fs.map(f => f.action)")}
    api_allowed = set(httpx.get(server + f"/api/v1/orders/{order_id}", headers=lvhua).json()["allowed_actions"])
    assert offered == api_allowed and "resolve" in offered and "dispatch" not in offered
    _clean(p)
    # A file that is not an image is refused with a page that says so, and nothing changes.
    fake = tmp_path / "notes.png"
    fake.write_bytes(b"this is not an image")
    p.page.fill("#note", "已清理")
    p.page.set_input_files("#photo", str(fake))
    with p.page.expect_navigation():
        p.page.click("form.resolve-form button[type=submit]")
    assert "请检查" in p.page.inner_text("h1")
    assert "JPEG" in p.page.inner_text("main")
    assert httpx.get(server + f"/api/v1/orders/{order_id}", headers=lvhua).json()["status"] == "accepted"
    # With a real photo the order is resolved and the photo stored where order photos go.
    photo = tmp_path / "done.png"
    photo.write_bytes(PNG)
    p.go(f"/workbench/orders/{order_id}")
    p.page.fill("#note", "已清理完毕，路面恢复整洁")
    p.page.set_input_files("#photo", str(photo))
    with p.page.expect_navigation():
        p.page.click("form.resolve-form button[type=submit]")
    p.page.wait_for_selector(".flash.ok")
    order = httpx.get(server + f"/api/v1/orders/{order_id}", headers=lvhua).json()
    assert order["status"] == "resolved"
    resolve = [e for e in order["timeline"] if e["action"] == "resolve"][-1]
    assert resolve["data"]["outcome"] == "已清理完毕，路面恢复整洁"
    key = resolve["data"]["photos"][0]
    assert key in order["photos"]
    stored = httpx.get(server + f"/media/{key}")
    assert stored.status_code == 200 and stored.content == PNG
    assert p.page.locator(f"img[src='/media/{key}']").count() == 1
    assert "已清理完毕" in p.page.inner_text(".timeline")
    p.page.wait_for_selector("#pin-map[data-ready='1']")  # the pin on the district's own map
    _both_languages(p, f"/workbench/orders/{order_id}?done=resolve", "workbench-order", wait="#pin-map[data-ready='1']")


def test_a_handler_cannot_see_or_act_on_another_departments_order_in_the_workbench(page_of, server):
    desk = _api(server, "desk")
    other = httpx.get(server + "/api/v1/orders", params={"department": "shuiwu", "limit": 1},
                      headers=desk).json()["items"][0]
    p = page_of()
    p.sign_in("lvhua")
    for view in ("open", "suspended", "done"):
        p.go(f"/workbench?view={view}")
        listed = [i.removeprefix("row-") for i in p.page.locator("tbody tr[id^='row-']").evaluate_all("rs => rs.map(r => r.id)")]
        assert other["id"] not in listed
        for oid in listed[:5]:
            assert httpx.get(server + f"/api/v1/orders/{oid}", headers=desk).json()["department"] == "lvhua"
    response = p.go(f"/workbench/orders/{other['id']}")
    assert response.status == 404
    assert "页面不存在" in p.page.inner_text("h1")
    _clean(p)
    csrf = next(c["value"] for c in p.context.cookies() if c["name"] == "twonets_csrf")
    r = p.page.request.post(server + f"/workbench/orders/{other['id']}/accept", form={"csrf_token": csrf})
    assert r.status == 404
    after = httpx.get(server + f"/api/v1/orders/{other['id']}", headers=desk).json()
    assert after["status"] == other["status"] and len(after["timeline"]) == len(
        httpx.get(server + f"/api/v1/orders/{other['id']}", headers=desk).json()["timeline"])
    # Nor are the other desks of the workbench theirs.
    assert p.go("/workbench/review").status == 403
    assert p.go("/hall").status == 403


def _apply_for_review(base: str, user: str) -> str:
    """An application to the civil-affairs subsistence allowance (reviewed by a person), submitted
    online by `user` with the one material only they have."""
    h = _api(base, user)
    r = httpx.post(base + "/api/v1/applications", headers=h, json={
        "matter": "MINZHENG-004", "consent": True, "form": {"monthly_income": 900, "household_size": 2}})
    assert r.status_code == 201, r.text
    app_id = r.json()["id"]
    r = httpx.post(base + f"/api/v1/applications/{app_id}/materials/income_statement", headers=h,
                   json={"filename": "income.pdf", "content_base64": base64.b64encode(PDF).decode()})
    assert r.status_code == 200, r.text
    r = httpx.post(base + f"/api/v1/applications/{app_id}/submit", headers=h)
    assert r.status_code == 200 and r.json()["state"] == "in_review", r.text
    return app_id


def test_a_reviewer_approves_rejects_and_asks_for_a_supplement_from_the_review_queue(page_of, server):
    first, second, third = (_apply_for_review(server, "citizen") for _ in range(3))
    p = page_of()
    p.sign_in("reviewer")
    assert p.page.url == server + "/workbench/review"
    for app_id in (first, second):
        row = p.page.locator(f"#row-{app_id}")
        assert "来自基础库" in row.inner_text()  # what came from government registries, marked
        assert "工作日" in row.inner_text()  # the promised deadline on the working-day clock
    _both_languages(p, "/workbench/review", "review-queue")
    p.page.click(f"#row-{first} a")
    p.page.wait_for_selector("form[action$='/approve']")
    held = p.page.locator("table.held tr:has(.gov)").all_inner_texts()
    assert any("居民身份证" in t for t in held) and any("户口簿" in t for t in held)
    assert "申请人填写" in p.page.inner_text("table.held")  # what the applicant gave, marked as such
    _both_languages(p, f"/workbench/applications/{first}", "review-application")
    p.page.fill("#approve-note", "材料齐全，符合条件")
    with p.page.expect_navigation():
        p.page.click("form[action$='/approve'] button")
    assert "已批准" in p.page.inner_text(".flash.ok")
    assert p.page.locator(f"#row-{first}").count() == 0  # decided: out of the queue
    p.go(f"/workbench/applications/{second}")
    p.page.click("form[action$='/reject'] button")  # no reason: the browser asks for one first
    assert p.page.eval_on_selector("#reject-reason", "e => e.validity.valueMissing")
    assert p.page.url.endswith(f"/workbench/applications/{second}")
    p.page.fill("#reject-reason", "家庭收入超过本区低保标准")
    with p.page.expect_navigation():
        p.page.click("form[action$='/reject'] button")
    assert "不予批准" in p.page.inner_text(".flash.ok")
    p.page.click(f"#row-{third} a")
    p.page.fill("#supp-reason", "请补充近三个月工资流水")
    with p.page.expect_navigation():
        p.page.click("form[action$='/request-supplement'] button")
    assert "已要求补正" in p.page.inner_text(".flash.ok")
    assert "等待补正" in p.page.inner_text(f"#row-{third}")  # still in the queue, its clock stopped
    assert "停止计时" in p.page.inner_text(f"#row-{third}")
    citizen = _api(server, "citizen")
    a = httpx.get(server + f"/api/v1/applications/{first}", headers=citizen).json()
    b = httpx.get(server + f"/api/v1/applications/{second}", headers=citizen).json()
    assert a["outcome"] == "approve" and a["state"] in ("approved", "licence_issued")
    assert b["state"] == "rejected" and b["reason"] == "家庭收入超过本区低保标准"
    c = httpx.get(server + f"/api/v1/applications/{third}", headers=citizen).json()
    assert c["state"] == "supplement_requested" and not c["clock_running"]
    _clean(p)


def test_a_data_officer_decides_a_sharing_request(page_of, server):
    r = httpx.post(server + "/api/v1/sharing/requests", headers=_api(server, "lvhua"), json={
        "dataset": "population", "fields": ["person_id", "name", "phone"], "purpose": "绿化养护回访 callbacks on tree care",
        "valid_until": "2027-06-30T00:00:00Z"})
    assert r.status_code == 201, r.text
    req = r.json()["id"]
    p = page_of()
    p.sign_in("officer.gongan")
    assert p.page.url == server + "/workbench/data"
    card = p.page.locator(f"#req-{req}")
    assert "绿化养护回访" in card.inner_text() and "个人信息" in card.inner_text()
    assert "population" in p.page.inner_text("#ds-population") and "敏感" in p.page.inner_text("#ds-population")
    _both_languages(p, "/workbench/data", "data-desk")
    p.page.fill(f"#ap-{req}", "限回访使用")
    with p.page.expect_navigation():
        p.page.click(f"#req-{req} form[action$='/approve'] button")
    assert req in p.page.inner_text(".flash.ok")
    decided = httpx.get(server + f"/api/v1/sharing/requests/{req}", headers=_api(server, "officer.gongan")).json()
    assert decided["status"] == "approved" and decided["grant_id"]
    assert p.page.locator(f"#req-{req}").count() == 0
    _clean(p)


def test_a_hall_clerk_submits_for_a_walk_in_citizen_who_then_sees_it(page_of, server, tmp_path):
    # The person at the window is 赵明 (demo account `parent`); his ID card says:
    read = httpx.post(server + "/api/v1/access/read", headers=_api(server, "officer.gongan"), json={
        "dataset": "population", "purpose": "e2e 核验 test fixture", "subject_ids": ["P900003"],
        "fields": ["id_number"], "unmasked": True})
    assert read.status_code == 200, read.text
    id_number = read.json()["items"][0]["data"]["id_number"]
    p = page_of()
    p.sign_in("hall")
    assert p.page.url == server + "/hall"
    before = int(p.page.inner_text("#figures [data-figure='submitted']"))
    p.page.fill("#window-no", "3")
    with p.page.expect_navigation():
        p.page.click("#call-next")
    serving = p.page.inner_text("#serving")
    assert serving.startswith("A")
    _both_languages(p, "/hall", "hall-window")
    # He shows the QR of his app (a signed code naming him): the scanner types it into the field.
    code = httpx.get(server + "/api/v1/me/person-code", headers=_api(server, "parent")).json()["code"]
    p.page.fill("#id-number", code)
    with p.page.expect_navigation():
        p.page.click("#identify-form button")
    assert p.page.get_attribute("#person", "data-subject") == "P900003"
    # …or hands over his ID card.
    p.page.fill("#id-number", id_number)
    with p.page.expect_navigation():
        p.page.click("#identify-form button")
    assert p.page.get_attribute("#person", "data-subject") == "P900003"
    assert "赵明" in p.page.inner_text("#person")
    p.page.select_option("#matter", "MINZHENG-004")
    p.page.check("#consent")
    with p.page.expect_navigation():
        p.page.click(".start-form button")
    app_id = p.page.url.rsplit("/", 1)[-1]
    # What the government holds is shown as such and not asked again; only the rest is a field.
    held = p.page.locator("#held tr:has(.gov)").all_inner_texts()
    assert any("居民身份证" in t and id_number in t for t in held), held
    assert p.page.locator("#f-monthly_income").count() == 1 and p.page.locator("input[name='f_phone']").count() == 0
    _clean(p)
    p.shot("hall-application-zh")
    p.page.fill("#f-monthly_income", "1500")
    p.page.fill("#f-household_size", "3")
    scan = tmp_path / "income.pdf"
    scan.write_bytes(PDF)
    p.page.set_input_files("#m-income_statement", str(scan))
    with p.page.expect_navigation():
        p.page.click("#submit-app")
    p.page.wait_for_selector("#submitted")
    assert p.page.inner_text("#serving") == serving
    _both_languages(p, f"/hall/applications/{app_id}?submitted=1", "hall-submitted")
    p.go("/hall")
    assert int(p.page.inner_text("#figures [data-figure='submitted']")) == before + 1
    # The citizen, under his own account, sees the application made for him at the window.
    mine = httpx.get(server + "/api/v1/applications", headers=_api(server, "parent")).json()["items"]
    made = next(a for a in mine if a["id"] == app_id)
    assert made["channel"] == "hall" and made["staff"] and made["state"] == "in_review"
    assert made["form"]["monthly_income"] == 1500 and made["form"]["household_size"] == 3
    assert made["uploads"]["income_statement"]["filename"] == "income.pdf"
    assert made["prefilled"]["materials"]["id_card"]["values"]["id_number"] == id_number
    events = httpx.get(server + f"/api/v1/applications/{app_id}/events", headers=_api(server, "parent")).json()["items"]
    assert events[0]["data"].get("consent_at")  # the consent, recorded with the start
    assert SHOTS.joinpath("hall-window-en.png").exists()
