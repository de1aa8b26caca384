"""Schemathesis over the whole OpenAPI: no 5xx, and no response that breaks its own schema.

A fixed, bounded number of generated examples per operation (derandomized, so a run is
repeatable), signed in as an administrator against a small seeded district on SQLite.
"""

from __future__ import annotations

import logging

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.districts import seed_tiny_district
from twonets.api.app import create_app
from twonets.core.actor import Actor
from twonets.core.db import make_engine, session_factory
from twonets.data.identity import issue_access_token

EXAMPLES = 15


def _operations() -> list[str]:
    app = create_app(make_engine("sqlite://"))  # only for the schema: no query is made
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    return sorted(r.ok().label for r in schema.get_all_operations())


@pytest.fixture(scope="module")
def live(tmp_path_factory, sqlite_template):
    import shutil

    path = tmp_path_factory.mktemp("st") / "st.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    s = session_factory(engine)()
    seed_tiny_district(s)
    s.close()
    app = create_app(engine)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    ops = {r.ok().label: r.ok() for r in schema.get_all_operations()}
    token = issue_access_token(Actor(id="admin", roles=frozenset({"administrator"}), department="dispatch"))[0]
    yield ops, {"Authorization": f"Bearer {token}"}
    engine.dispose()


@pytest.mark.parametrize("label", _operations())
def test_operation_never_fails_and_keeps_its_schema(live, label, caplog):
    ops, headers = live
    op = ops[label]
    caplog.set_level(logging.CRITICAL)

    @given(case=op.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case):
        case.call_and_validate(headers=headers, checks=[not_a_server_error, response_schema_conformance])

    run()
