"""The import rule of ARCHITECTURE.md, checked on the source: no module imports a layer above its own (function-
level imports included), finance and studies never import each other, no module imports a private name of
another qrp module, and every function-level import says why it is one (a comment on its line or the line above,
or on the import block it belongs to)."""

import ast
import io
import tokenize
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
    "launcher": {"cli"},
    "__main__": {"launcher"},
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


def _comment_lines(text: str) -> set[int]:
    return {tok.start[0] for tok in tokenize.generate_tokens(io.StringIO(text).readline)
            if tok.type == tokenize.COMMENT}


def _unexplained_function_imports(path: Path) -> list[int]:
    """Lines of imports inside a function (or method) with no comment on their line or the line above; an import
    directly below another one (blank lines between allowed: one import block) shares that one's comment."""
    text = path.read_text()
    tree = ast.parse(text)
    comments, lines = _comment_lines(text), text.split("\n")
    imports = {node.lineno: node for fn in ast.walk(tree) if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef)
               for node in ast.walk(fn) if isinstance(node, ast.Import | ast.ImportFrom)}
    block_above = {node.end_lineno: node.lineno for node in imports.values()}

    def explained(line: int) -> bool:
        if {line, line - 1} & comments:
            return True
        above = line - 1
        while above > 0 and not lines[above - 1].strip():
            above -= 1
        return above in block_above and explained(block_above[above])

    return [line for line in sorted(imports) if not explained(line)]


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_function_level_imports_say_why(path):
    lines = path.read_text().split("\n")
    bad = [f"{path.relative_to(ROOT)}:{n}: {lines[n - 1].strip()}" for n in _unexplained_function_imports(path)]
    assert not bad, ("function-level imports without a reason comment (allowed only for optional or heavy "
                     "dependencies and documented lazy imports; move the rest to module level): " + "; ".join(bad))


def test_the_import_comment_rule_fails_on_a_bare_function_import(tmp_path):
    src = tmp_path / "m.py"
    src.write_text(
        "import os\n\n\n"
        "def bare():\n    import json\n    return json\n\n\n"
        "def inline():\n    import json  # reason\n\n    from qrp import api\n    return json, api\n\n\n"
        "def above():\n    # reason\n    import json\n    x = 1\n    import csv\n    return json, csv, x\n\n\n"
        "class C:\n    def method(self):\n        s = '# not a comment'\n        import json\n        return s, json\n"
    )
    assert _unexplained_function_imports(src) == [5, 20, 27]  # bare(), above()'s second block, C.method()
