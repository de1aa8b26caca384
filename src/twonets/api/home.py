"""A bilingual landing page at `/` for whoever opens the server in a browser."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>twonets · 一网统管 一网通办</title>
<style>body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#1f2937}
a{color:#1d4ed8}li{margin:.3rem 0}small{color:#6b7280}</style></head>
<body><h1>twonets <small>一网统管 · 一网通办 / Run the city · Serve the people</small></h1>
<ul>
<li><a href="/docs">接口文档 / API documentation (OpenAPI)</a></li>
<li><a href="/api/v1/orders?limit=20">最新工单 / Latest work orders</a></li>
<li><a href="/api/v1/kpi?group_by=source">考核指标 / KPIs by source</a> ·
    <a href="/api/v1/kpi?group_by=department&amp;format=csv">CSV</a></li>
<li><a href="/api/v1/areas?level=street">街道边界 / Streets (GeoJSON)</a></li>
<li><a href="/open311/v2/services.json">Open311 GeoReport v2 服务目录 / services</a></li>
<li><a href="/healthz">健康检查 / Health</a> · <a href="/metrics">指标 / Metrics</a></li>
</ul></body></html>"""


@router.get("/", response_class=HTMLResponse)
def home() -> str:
    return PAGE
