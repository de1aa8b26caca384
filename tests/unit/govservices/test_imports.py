"""The catalogue modules import each other one way, at module level: matters -> registries,
never back (a function-level import would hide the cycle)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import twonets.govservices

PACKAGE = Path(twonets.govservices.__file__).parent


def _govservices_imports(name: str) -> list[tuple[str, bool]]:
    tree = ast.parse((PACKAGE / name).read_text(encoding="utf-8"))
    top = set(map(id, tree.body))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("twonets.govservices"):
            targets = [node.module] if node.module != "twonets.govservices" else [f"twonets.govservices.{a.name}" for a in node.names]
            out.extend((t, id(node) in top) for t in targets)
    return out


@pytest.mark.parametrize("name", ["matters.py", "registries.py", "catalogue.py", "matter_list.py"])
def test_no_function_level_import_inside_the_package(name):
    hidden = [module for module, top in _govservices_imports(name) if not top]
    assert hidden == []


def test_registries_do_not_import_matters():
    assert "twonets.govservices.matters" not in {m for m, _ in _govservices_imports("registries.py")}
