"""The services demo is a client like any other: it imports no tables, calls no private
function of another package, and its modules import each other one way only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import twonets.demo

DEMO = Path(twonets.demo.__file__).parent
MODULES = ("govservices.py", "applications.py", "personas.py")


def _imports(tree: ast.AST) -> list[tuple[str, list[str], bool]]:
    """(module, names, at module level) of every `from x import ...` / `import x`."""
    top = set(map(id, tree.body))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.append((node.module, [a.name for a in node.names], id(node) in top))
        elif isinstance(node, ast.Import):
            out.extend((a.name, [], id(node) in top) for a in node.names)
    return out


@pytest.mark.parametrize("name", MODULES)
def test_demo_uses_only_public_service_functions(name):
    tree = ast.parse((DEMO / name).read_text(encoding="utf-8"))
    for module, names, top in _imports(tree):
        assert top, f"{name}: function-level import of {module} (hides an import cycle)"
        if module.startswith("twonets."):
            assert not module.endswith(".tables") and "tables" not in names, f"{name} imports tables from {module}"
            assert not any(n.startswith("_") for n in names), f"{name} imports private {names} from {module}"
            assert "sqlalchemy" not in module
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.attr.startswith("_"):
            assert node.value.id in ("self", "cls"), f"{name}: calls private {node.value.id}.{node.attr}"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in ("insert", "update", "delete", "text"), f"{name}: writes tables directly"


def test_demo_applications_does_not_import_the_seeder():
    tree = ast.parse((DEMO / "applications.py").read_text(encoding="utf-8"))
    assert all(module != "twonets.demo.govservices" for module, _, _ in _imports(tree))
