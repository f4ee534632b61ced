"""The Phase 2 domain modules use only the standard library and app.domain."""

import ast
import doctest
import importlib
import sys
from pathlib import Path

import pytest

MODULES = ["errors", "cluster", "evaluation", "ressorts", "ledger", "reclaim", "digicheck",
           "deadlines", "phase2"]
DOMAIN = Path(__file__).resolve().parents[3] / "app" / "domain"


@pytest.mark.parametrize("name", MODULES)
def test_only_stdlib_and_domain_imports(name):
    tree = ast.parse((DOMAIN / f"{name}.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            roots = [node.module or ""]
        else:
            continue
        for mod in roots:
            top = mod.split(".")[0]
            assert top in sys.stdlib_module_names or mod.startswith("app.domain"), mod
            assert not mod.startswith("app.domain.municipalities"), mod


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    module = importlib.import_module(f"app.domain.{name}")
    result = doctest.testmod(module)
    assert result.failed == 0
