"""The import rule of ARCHITECTURE.md, checked on the source: no module imports a layer above its own (function-
level imports included), finance and studies never import each other, and no module imports a private name of
another qrp module."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "qrp"

#: package -> the qrp packages it may import (besides itself)
ALLOWED = {
    "core": set(),
    "classical": {"core"},
    "quantum": {"core"},
    "data": {"core"},
    "discrete": {"core", "classical", "quantum"},
    "api": {"core", "classical"},
    "finance": {"core", "classical", "data", "discrete", "api"},
    "studies": {"core", "classical", "data", "discrete", "quantum", "api"},
    "cli": {"core", "classical", "data", "discrete", "quantum", "api", "finance", "studies"},
    "__init__": {"core", "api", "data", "discrete", "finance", "studies"},
    "__main__": {"cli"},
}


def _package(path: Path) -> str:
    rel = path.relative_to(ROOT)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _qrp_imports(path: Path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "qrp":
                for alias in node.names:
                    yield node.lineno, f"qrp.{alias.name}", []
            elif node.module.startswith("qrp."):
                yield node.lineno, node.module, [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "qrp" or alias.name.startswith("qrp."):
                    yield node.lineno, alias.name, []


MODULES = sorted(ROOT.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_upward_or_sideways_import(path):
    own = _package(path)
    for line, module, _ in _qrp_imports(path):
        parts = module.split(".")
        if len(parts) < 2:
            raise AssertionError(f"{path.relative_to(ROOT)}:{line} imports the qrp package itself")
        target = parts[1]
        if target == own:
            continue
        assert target in ALLOWED[own], f"{path.relative_to(ROOT)}:{line} ({own}) imports {module} ({target})"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_private_names_across_modules(path):
    for line, module, names in _qrp_imports(path):
        private = [n for n in names if n.startswith("_")]
        assert not private, f"{path.relative_to(ROOT)}:{line} imports private {private} from {module}"


def test_the_rule_fails_on_an_upward_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from qrp.studies.runner import run_study\n")
    assert [m for _, m, _ in _qrp_imports(bad)] == ["qrp.studies.runner"]
    assert "studies" not in ALLOWED["core"]
