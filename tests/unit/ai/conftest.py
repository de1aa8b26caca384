"""A small router trained once per run on generated demands (the real training code, small sets)."""

from __future__ import annotations

import pytest

from twonets.ai import routing, training
from twonets.city import gazetteer, triage

SMALL = 20  # generated training demands per category


@pytest.fixture(scope="session")
def taxonomy() -> dict[str, str]:
    return triage.taxonomy()


@pytest.fixture(scope="session")
def trained(taxonomy) -> training.Trained:
    return training.train_router(taxonomy, gazetteer.road_names(), per_category=SMALL, seed=1)


@pytest.fixture(scope="session")
def model_file(trained, tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / triage.ROUTING_MODEL
    routing.save(trained.model, path)
    return path
