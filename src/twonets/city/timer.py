"""The deadline timer inside the server: `orders.tick` every `tick_interval_s` seconds.

    app = create_app()
    start_background_timer(app)   # before uvicorn.run(app)

The timer runs in a daemon thread with a unit of work of its own per tick. It starts with the
app's lifespan (the existing lifespan is wrapped, not replaced) and stops with it. A failing
tick is logged and retried at the next interval; it never takes the server down.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from twonets.core.config import settings
from twonets.core.logging import get_logger

log = get_logger("twonets.timer")


class BackgroundTimer:
    """Calls `job()` now and then every `interval` seconds until stopped."""

    def __init__(self, job: Callable[[], Any], interval: float, name: str = "twonets-timer"):
        if interval <= 0:
            raise ValueError("the timer interval must be positive")
        self.job, self.interval, self.name = job, interval, name
        self.runs = 0
        self.failures = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()
        log.info("timer started", interval_s=self.interval)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
            log.info("timer stopped", runs=self.runs, failures=self.failures)

    def run_once(self) -> Any:
        started = time.perf_counter()
        try:
            result = self.job()
        except Exception:  # noqa: BLE001 - a failed tick must never end the timer or the server
            self.failures += 1
            log.exception("timer tick failed", failures=self.failures)
            return None
        finally:
            self.runs += 1
        summary = result.model_dump() if hasattr(result, "model_dump") else {}
        if any(v for k, v in summary.items() if k != "checked"):
            log.info("timer tick", took_ms=round((time.perf_counter() - started) * 1000, 1), **summary)
        return result

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self.interval)


def tick_job(engine) -> Callable[[], Any]:
    def job():
        from twonets.city.orders import tick
        from twonets.core.db import unit_of_work

        with unit_of_work(engine) as session:
            return tick(session)

    return job


def start_background_timer(app, interval: float | None = None, also: Sequence[Callable[[], Any]] = ()) -> BackgroundTimer:
    """Attach the deadline timer to the app's lifespan; returns it (also at `app.state.timer`).
    `also`: jobs of other packages run after each tick (a failing one is logged, the tick stands)."""
    existing = getattr(app.state, "timer", None)
    if existing is not None:
        return existing
    tick = tick_job(app.state.engine)

    def job():
        result = tick()
        for extra in also:
            try:
                extra()
            except Exception:  # noqa: BLE001 - another package's job never stops the deadline timer
                log.exception("timer job failed", job=getattr(extra, "__name__", "job"))
        return result

    timer = BackgroundTimer(job if also else tick, interval or settings().tick_interval_s)
    app.state.timer = timer
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a):
        timer.start()
        try:
            async with inner(a) as state:
                yield state
        finally:
            timer.stop()

    app.router.lifespan_context = lifespan
    return timer
