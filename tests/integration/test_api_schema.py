"""Schemathesis over the whole OpenAPI as an administrator, a department handler and a citizen:
no 5xx, and every response's status code, content type and body as the document declares.

The suite's share of tests/fuzz.py (`make fuzz` runs the full 100-example run with every check
and the stateful phase): `EXAMPLES` generated requests per operation and caller, derandomized
(the same requests every run), against the district `fuzz.seed` builds on SQLite. About a
minute and a half of CPU: 333 tests, 2 min 10 s of wall time on two shared cores (7 min when they are very busy).
"""

from __future__ import annotations

import logging

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests import fuzz
from twonets.api.app import create_app
from twonets.core.db import make_engine

# Generated requests per operation, by caller (the old admin-only run had 15); `make fuzz` runs 100.
EXAMPLES = {"admin": 25, "handler": 15, "citizen": 15}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


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
    fuzz.seed(engine)
    app = create_app(engine)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    ops = {r.ok().label: r.ok() for r in schema.get_all_operations()}
    yield ops, fuzz.tokens(engine)
    engine.dispose()


@pytest.mark.parametrize("caller", fuzz.CALLERS)
@pytest.mark.parametrize("label", _operations())
def test_operation_never_fails_and_answers_as_documented(live, label, caller, caplog):
    ops, headers = live
    op = ops[label]
    caplog.set_level(logging.CRITICAL)

    @given(case=op.as_strategy())
    @settings(max_examples=EXAMPLES[caller], deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case):
        case.call_and_validate(headers=headers[caller], checks=CHECKS)

    run()
