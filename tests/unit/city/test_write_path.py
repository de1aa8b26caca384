"""One write path per aggregate, as an executable rule: only the work-order repository names
the order tables (and the KPI query model reads them in aggregate); benefits drive an
application through public service functions only."""

from __future__ import annotations

import ast
from pathlib import Path

import twonets

SRC = Path(twonets.__file__).parent
ORDER_TABLES = {"work_order", "work_order_event", "reporter"}
# the repository, the table definitions, the two read-only query models and the rollup (SQL aggregates, no rows)
MAY_NAME_ORDER_TABLES = {"city/order_repository.py", "city/tables.py", "city/kpi.py", "city/vitals.py",
                         "city/kpi_rollup.py"}  # rebuild: one aggregate over the orders


def _modules():
    for path in sorted(SRC.rglob("*.py")):
        yield path.relative_to(SRC).as_posix(), ast.parse(path.read_text(encoding="utf-8"))


def test_only_the_repository_names_the_order_tables():
    offenders = []
    for name, tree in _modules():
        if name in MAY_NAME_ORDER_TABLES:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "twonets.city.tables":
                offenders += [(name, a.name) for a in node.names if a.name in ORDER_TABLES]
    assert offenders == []


def test_benefits_use_only_public_functions_of_applications():
    """Granting without application goes through `applications.submit_proactive` (issue 10).
    (review.py and ratings.py still share private helpers of applications within the package.)"""
    tree = ast.parse((SRC / "govservices/benefits.py").read_text(encoding="utf-8"))
    private = [node.attr for node in ast.walk(tree)
               if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
               and node.value.id == "applications" and node.attr.startswith("_")]
    assert private == []
