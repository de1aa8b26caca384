"""A bilingual landing page at `/` for whoever opens the server in a browser.

Its style is a file (`/assets/home.css`), since the server's own CSP (`style-src 'self'`)
refuses inline styles. Every link opens without a token; what needs one says how to sign in.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse

router = APIRouter(include_in_schema=False)
STYLE = Path(__file__).parent / "static" / "home.css"

PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>twonets · 一网统管 一网通办</title>
<link rel="stylesheet" href="/assets/home.css"></head>
<body><h1>twonets <small>一网统管 · 一网通办 / Run the city · Serve the people</small></h1>
<ul>
<li><a href="/portal">市民服务（手机）/ Citizen services (phone)</a> · <a href="/console">城市运行中心 / Operation center</a></li>
<li><a href="/docs">接口文档 / API documentation (Swagger UI)</a> · <a href="/redoc">ReDoc</a></li>
<li><a href="/open311/v2/services.json">Open311 GeoReport v2 服务目录 / services</a>
    · <a href="/open311/discovery.json">discovery</a></li>
<li><a href="/api/v1/matters?limit=20">政务服务事项 / Government service matters</a></li>
<li><a href="/api/v1/areas?level=street">街道边界 / Streets (GeoJSON)</a></li>
<li><a href="/healthz">健康检查 / Health</a> (指标 <code>/metrics</code> 需令牌 / metrics need a token)</li>
</ul>
<p class="note">工单、考核指标等需先登录 / Work orders, KPIs and applications need signing in:
<code>POST /api/v1/auth/login</code> with your user name and password gives a token
(try it under “auth” in the <a href="/docs">API documentation</a>).</p>
</body></html>"""


@router.get("/", response_class=HTMLResponse)
def home() -> str:
    return PAGE


@router.get("/assets/home.css")
def home_style() -> FileResponse:
    return FileResponse(STYLE, media_type="text/css", headers={"Cache-Control": "public, max-age=3600"})
