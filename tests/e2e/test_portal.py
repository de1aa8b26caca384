"""The citizen portal on a phone (390×844) in a real browser: apply for an instant matter and
verify the licence's QR code; report a problem with a pin and a photo, follow it through the
dispatcher's board and the department, answer the callback, and find the console's figure equal
to the API's; every portal page in both languages with no serious accessibility violation."""

from __future__ import annotations

import re
import struct
import zlib

import httpx
import numpy
import pytest

from tests.e2e.conftest import api_token

PHONE = (390, 844)
HANDLERS = ("lvhua", "shuiwu", "chengguan")  # departments with a demo handler account of that name


def _clean(p) -> None:
    assert p.axe() == []
    assert p.problems == []


def _bearer(server: str, username: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + api_token(server, username)}


def png(width: int = 24, height: int = 16, rgb: tuple[int, int, int] = (200, 90, 30)) -> bytes:
    """A real (tiny) PNG photo."""
    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def qr_text(p, selector: str) -> str:
    """Decode the QR code drawn by the inline SVG at `selector`, as a phone camera would see it."""
    zxingcpp = pytest.importorskip("zxingcpp")
    gray = p.page.evaluate("""async (sel) => {
      const svg = document.querySelector(sel);
      const img = new Image();
      img.src = 'data:image/svg+xml;base64,' + btoa(new XMLSerializer().serializeToString(svg));
      await img.decode();
      const s = 4, pad = 40, w = img.width * s + 2 * pad, h = img.height * s + 2 * pad;
      const c = document.createElement('canvas'); c.width = w; c.height = h;
      const g = c.getContext('2d'); g.fillStyle = '#fff'; g.fillRect(0, 0, w, h);
      g.imageSmoothingEnabled = false; g.drawImage(img, pad, pad, img.width * s, img.height * s);
      const d = g.getImageData(0, 0, w, h).data, px = new Array(w * h);
      for (let i = 0; i < w * h; i++) px[i] = d[i * 4];
      return {w, h, px};
    }""", selector)
    found = zxingcpp.read_barcode(numpy.array(gray["px"], dtype=numpy.uint8).reshape(gray["h"], gray["w"]))
    assert found is not None, "no QR code found in the picture"
    return found.text


def _grid_centre(server: str) -> tuple[float, float]:
    grids = httpx.get(server + "/api/v1/areas", params={"level": "grid"}).json()["features"]
    ring = grids[len(grids) // 3]["geometry"]["coordinates"][0]
    pts = ring[:-1]
    return sum(c[0] for c in pts) / len(pts), sum(c[1] for c in pts) / len(pts)


def test_a_citizen_applies_for_an_instant_matter_and_the_licence_qr_verifies(page_of, server):
    p = page_of(*PHONE)
    p.sign_in("citizen")
    assert p.page.url == server + "/portal"
    _clean(p)
    # "What do you need to do?" in the citizen's own words: the search finds the elderly card.
    p.page.fill("#q", "我想办敬老卡")
    p.page.press("#q", "Enter")
    p.page.wait_for_selector("#results [data-hits]")
    p.page.click("#results a[data-code='MINZHENG-001']")
    assert p.page.url.endswith("/portal/matters/MINZHENG-001")
    assert "政府已有" in p.page.inner_text("#main")  # the guide says which materials the government holds
    p.shot("portal-guide-zh")
    _clean(p)
    p.page.click("#apply")
    _clean(p)
    p.page.check("#consent")
    p.page.click("form[action$='/apply'] button[type=submit]")
    m = re.search(r"/portal/applications/(AP-[\w-]+)$", p.page.url)
    assert m, p.page.url
    app_id = m.group(1)
    # The phone number came from the population registry and says so.
    marker = p.page.locator("#src-phone")
    assert marker.get_attribute("data-source") == "population.phone"
    assert "来自政府数据" in marker.inner_text()
    assert p.page.input_value("#f-phone")
    p.shot("portal-application-zh")
    _clean(p)
    p.page.click("#submit")
    p.page.wait_for_selector("#app-state[data-state='licence_issued']")
    _clean(p)
    p.page.click("#to-wallet")
    token = _bearer(server, "citizen")
    app = httpx.get(server + f"/api/v1/applications/{app_id}", headers=token).json()
    licence = app["licence"]
    card = p.page.locator(f"#lic-{licence}")
    url = card.get_attribute("data-verify-url")
    assert url == f"{server}/api/v1/licences/{licence}/verify"
    assert qr_text(p, f"#lic-{licence} svg") == url  # the QR a verifier scans carries that URL
    verdict = httpx.get(url).json()
    assert verdict["valid"] is True and verdict["licence"] == licence and not verdict["reasons"]
    p.shot("portal-wallet-zh")
    _clean(p)
    # Consent was asked once and recorded with the application; the reads it allowed are listed
    # under "who used my data" with the application they were for.
    created = httpx.get(server + f"/api/v1/applications/{app_id}/events", headers=token).json()["items"][0]
    assert created["action"] == "create" and created["data"]["consent_at"]
    p.go("/portal/me/data")
    assert app_id in p.page.inner_text("#accesses")
    _clean(p)
    # A finished service is rated (好差评) from its page, once.
    p.go(f"/portal/applications/{app_id}")
    p.page.click("#rate-form label:has(input[value='5'])")
    p.page.click("#rate-form button[type=submit]")
    p.page.wait_for_selector(".ok-note")
    assert p.page.locator("#rate-form").count() == 0
    assert httpx.get(server + f"/api/v1/applications/{app_id}", headers=token).json()["rating"] == 5
    _clean(p)


def test_a_citizen_reports_a_problem_follows_it_and_answers_the_callback(page_of, server):
    desk = _bearer(server, "desk")
    # The category with the fewest demo orders, so that the report is not linked to an open duplicate.
    cats = [c["code"] for c in httpx.get(server + "/api/v1/categories").json()["items"]]
    counts = {c: len(httpx.get(server + "/api/v1/orders", params={"category": c, "limit": 500}, headers=desk).json()["items"])
              for c in cats}
    category = min(cats, key=lambda c: (counts[c], c))
    lon, lat = _grid_centre(server)

    p = page_of(*PHONE)
    p.sign_in("citizen")
    # A form sent without the essentials comes back with what to fix, not an error page.
    csrf = next(c["value"] for c in p.context.cookies() if c["name"] == "twonets_csrf")
    r = p.page.request.post(server + "/portal/report", multipart={"csrf_token": csrf, "description": "x"})
    assert r.status == 422 and "请选择问题类型" in r.text()

    p.go("/portal/report")
    p.page.wait_for_selector("#report-map[data-ready='1']")
    p.page.click(f"label:has(input[name=category][value='{category}'])")
    p.page.locator("#report-map").click()  # a tap in the middle of the map puts the pin there
    p.page.wait_for_selector("#report-map[data-pinned='1']")
    assert p.page.input_value("#lon") and p.page.input_value("#lat")
    p.context.grant_permissions(["geolocation"], origin=server)
    p.context.set_geolocation({"longitude": lon, "latitude": lat})
    p.page.click("#locate")  # "use my location" moves the pin to where the phone is
    p.page.wait_for_function(f"Math.abs(Number(document.getElementById('lon').value) - {lon}) < 1e-5")
    assert abs(float(p.page.input_value("#lat")) - lat) < 1e-5
    p.page.fill("#description", "小区门口这个垃圾箱满了好几天了，味道很大，麻烦尽快来处理一下，谢谢！")
    photo = png()
    p.page.set_input_files("#photo", files=[{"name": "bin.png", "mimeType": "image/png", "buffer": photo}])
    p.page.wait_for_selector("#photo-preview:not([hidden])")
    p.page.locator("#description").scroll_into_view_if_needed()
    p.shot("portal-report-filled-zh")
    _clean(p)
    p.page.click("#send-report")
    m = re.search(r"/portal/reports/(WO-[\w-]+)\?done=reported$", p.page.url)
    assert m, p.page.url
    order_id = m.group(1)
    order = httpx.get(server + f"/api/v1/orders/{order_id}", headers=desk).json()
    assert order["source"] == "citizen" and order["category"] == category and order["status"] == "dispatched"
    assert abs(order["lon"] - lon) < 1e-5 and abs(order["lat"] - lat) < 1e-5 and order["grid_code"]
    assert httpx.get(server + "/media/" + order["photos"][0]).content == photo
    _clean(p)

    # The dispatcher sends it to another department from the board.
    target = next(d for d in HANDLERS if d != order["department"])
    board = page_of()
    board.sign_in("desk")
    board.go("/console/board?source=citizen&status=dispatched")
    row = board.page.locator(f"#row-{order_id}")
    row.locator("form[action$='/reassign'] select").select_option(target)
    row.locator("form[action$='/reassign'] button").click()
    board.page.wait_for_selector(f"#row-{order_id} .done-note")
    # The department handles it (its workbench page is built elsewhere: the same service functions through the API).
    handler = _bearer(server, target)
    for action, body in (("accept", {}), ("resolve", {"reason": "已清运，垃圾箱已清洗", "outcome": "cleared"})):
        r = httpx.post(server + f"/api/v1/orders/{order_id}/{action}", json=body, headers=handler)
        assert r.status_code == 200, r.text

    board.go("/console")
    kpis = board.page.locator("section.kpis")
    first, last = kpis.get_attribute("data-from"), kpis.get_attribute("data-to")
    before = httpx.get(server + "/api/v1/kpi", params={"from": first, "to": last}, headers=desk).json()["items"][0]

    # The citizen sees it waiting for an answer, and answers.
    p.go("/portal")
    assert p.page.locator(f"#todo a[href='/portal/reports/{order_id}']").count() == 1
    p.go(f"/portal/reports/{order_id}")
    p.page.wait_for_selector("#callback-form")
    _clean(p)
    p.shot("portal-callback-zh")
    p.page.click("label:has(input[name=actually_resolved][value=yes])")
    p.page.click("label:has(input[name=satisfaction][value=satisfied])")
    p.page.click("#callback-form button[type=submit]")
    p.page.wait_for_selector("#report-state[data-status='checked']")
    _clean(p)

    # The console's figure moved with the answer and equals the API's for the same period.
    board.go("/console")
    after = httpx.get(server + "/api/v1/kpi", params={"from": first, "to": last}, headers=desk).json()["items"][0]
    assert after["callbacks"] == before["callbacks"] + 1
    shown = board.page.get_attribute("li[data-kpi='resolved_and_satisfied_rate']", "data-value")
    assert shown == str(after["resolved_and_satisfied_rate"])
    order = httpx.get(server + f"/api/v1/orders/{order_id}", headers=desk).json()
    assert order["actually_resolved"] is True and order["satisfaction"] == "satisfied"


def test_every_portal_page_in_both_languages_without_serious_accessibility_violations(page_of, server):
    token = _bearer(server, "citizen")
    draft = httpx.post(server + "/api/v1/applications", json={"matter": "MINZHENG-001", "consent": True}, headers=token).json()
    lon, lat = _grid_centre(server)
    report = httpx.post(server + "/api/v1/orders", headers=token, json={
        "source": "citizen", "channel": "web", "category": "illegal_ad", "description": "楼道里贴满了小广告",
        "lon": lon + 0.0007, "lat": lat + 0.0007}).json()
    pages = {
        "home": "/portal", "search": "/portal/search?q=elderly", "services": "/portal/services",
        "department": "/portal/services?dept=minzheng", "event": "/portal/services/events/old_age",
        "guide": "/portal/matters/MINZHENG-001", "guide-imported": "/portal/matters/MINZHENG-1001",
        "consent": "/portal/matters/JIEDAO-001/apply", "application": f"/portal/applications/{draft['id']}",
        "applications": "/portal/applications", "wallet": "/portal/wallet", "benefits": "/portal/benefits",
        "report": "/portal/report", "reports": "/portal/reports", "report-detail": f"/portal/reports/{report['id']}",
        "me": "/portal/me", "data": "/portal/me/data",
    }
    shots = {"home", "services", "guide", "application", "wallet", "report", "report-detail", "me", "benefits"}
    p = page_of(*PHONE)
    p.go("/portal")  # not signed in: the sign-in page, at phone width too
    assert "/signin" in p.page.url
    _clean(p)
    p.shot("portal-signin-zh")
    p.sign_in("citizen")
    for name, path in pages.items():
        response = p.go(path)
        assert response.status == 200, (path, response.status)
        assert p.page.get_attribute("html", "lang") == "zh-CN", path
        assert p.page.locator(".tabbar a").count() == 4
        if name == "report":
            p.page.wait_for_selector("#report-map[data-ready='1']")
        _clean(p)
        assert p.page.evaluate("document.documentElement.scrollWidth <= innerWidth"), f"{path} is wider than the phone"
        if name in shots:
            p.shot(f"portal-{name}-zh")
        p.page.click("header form.lang button[value='en']")
        p.page.wait_for_load_state()
        assert p.page.get_attribute("html", "lang") == "en", path
        assert p.page.url.endswith(path), (path, p.page.url)
        p.go(path)  # the choice persists
        assert p.page.get_attribute("html", "lang") == "en", path
        assert "Services" in p.page.inner_text(".tabbar")
        if name == "report":
            p.page.wait_for_selector("#report-map[data-ready='1']")
        _clean(p)
        if name in shots:
            p.shot(f"portal-{name}-en")
        p.page.click("header form.lang button[value='zh_CN']")
        p.page.wait_for_load_state()
        assert p.page.get_attribute("html", "lang") == "zh-CN", path
    # Benefits without application: one tap runs the department's check; 王建国 (68) is not 80 yet.
    p.go("/portal/benefits")
    p.page.click("form[action='/portal/benefits/MINZHENG-006/confirm'] button")
    assert "80" in p.page.inner_text("#benefit-result")
    _clean(p)
    # Staff accounts are not citizens: a clear 403 page, not the portal.
    staff = page_of(*PHONE)
    staff.sign_in("desk")
    assert staff.go("/portal").status == 403
