"""Executable structure rules: the layer contracts (import-linter), no import cycles, ruff clean.

Function-level imports count: an import hidden inside a function still makes a cycle.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def module_cycles(package: str = "twonets") -> list[tuple[str, str]]:
    """Pairs (a, b) where a imports b and b leads back to a (each cycle seen from its edges)."""
    graph = grimp.build_graph(package)
    found = []
    for a in sorted(graph.modules):
        for b in sorted(graph.find_modules_directly_imported_by(a)):
            if a != b and graph.chain_exists(importer=b, imported=a):
                found.append((a, b))
    return found


def test_no_import_cycles_between_modules():
    cycles = module_cycles()
    assert cycles == [], "import cycles (function-level imports included):\n" + "\n".join(f"{a} -> {b} -> … -> {a}" for a, b in cycles)


def _tool(name: str) -> str:
    path = BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if not found:
        pytest.skip(f"{name} is not installed (pip install -e '.[test]')")
    return found


def test_layer_contracts_hold():
    run = subprocess.run([_tool("lint-imports")], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-4000:]


def test_ruff_is_clean():
    run = subprocess.run([_tool("ruff"), "check", "src", "tests", "bench", "migrations"], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-4000:]
