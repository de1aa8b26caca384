"""The FastAPI application: one router per domain, problem details, health and metrics."""

from __future__ import annotations

from fastapi import Depends, FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from sqlalchemy import Engine, text

from twonets import __version__
from twonets import metrics as domain_metrics
from twonets.api import problems
from twonets.api.observe import Observed
from twonets.api.security import install_security
from twonets.core.config import settings
from twonets.core.db import default_engine, session_factory
from twonets.core.logging import configure_logging


def _count(requests, latency):
    """Requests and their latency per route, for /metrics."""

    def on_done(scope, status: int, seconds: float) -> None:
        route = getattr(scope.get("route"), "path", "unmatched")
        requests.labels(scope["method"], route, str(status)).inc()
        latency.labels(scope["method"], route).observe(seconds)

    return on_done


def create_app(engine: Engine | None = None) -> FastAPI:
    from twonets import bootstrap

    bootstrap.start()
    cfg = settings()
    configure_logging(cfg.log_level, cfg.log_json)
    engine = engine or default_engine()
    app = FastAPI(
        title="twonets",
        version=__version__,
        description="一网统管 · 一网通办 — run the city and serve the people on one data foundation.",
        docs_url=None, redoc_url=None,  # served from the package by twonets.api.docs (no CDN)
    )
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    problems.install(app)
    install_security(app)

    registry = CollectorRegistry()
    requests = Counter("twonets_http_requests", "HTTP requests", ["method", "route", "status"], registry=registry)
    latency = Histogram("twonets_http_request_seconds", "HTTP latency", ["method", "route"], registry=registry)
    registry.register(domain_metrics.DatabaseCollector(engine))  # the gauges read at scrape time
    app.state.metrics = registry

    app.add_middleware(Observed, on_done=_count(requests, latency))
    from twonets.api.deps import BodyFingerprint

    app.add_middleware(BodyFingerprint)  # Idempotency-Key retries are told from new requests by their body
    from twonets.api.language import ContentLanguage

    app.add_middleware(ContentLanguage)  # Content-Language (and Vary) from Accept-Language on every API response

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ok", "version": __version__, "database": engine.dialect.name}

    from twonets.api.auth import metrics_reader

    @app.get("/metrics", tags=["ops"], response_class=Response, dependencies=[Depends(metrics_reader)])
    def metrics() -> Response:
        body = generate_latest(registry) + generate_latest(domain_metrics.REGISTRY)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    from twonets.api import routers

    for router in routers.all_routers():
        app.include_router(router)
    from twonets import web

    web.install(app)  # the console's pages (and later the portal's), beside the API
    return app
