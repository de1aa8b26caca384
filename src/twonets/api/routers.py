"""Every router the app serves. Each package adds its own router here, one line each."""

from __future__ import annotations

from fastapi import APIRouter


def all_routers() -> list[APIRouter]:
    from twonets.api import (
        auth,
        benefits,
        bundles,
        crossregion,
        data,
        discovery,
        docs,
        govservices,
        hall,
        home,
        kpi,
        media,
        open311,
        orders,
        publication,
        reference,
        sensing,
    )

    return [reference.router, orders.router, kpi.router, open311.router, auth.router, data.router, home.router, govservices.router, hall.router, benefits.router, bundles.router, crossregion.router, sensing.router,
            discovery.router, publication.router, media.router, docs.router]
