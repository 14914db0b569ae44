"""The user guide's extension-API example (docs/guide/solvers.md) runs as written: a user-defined discrete solver
gets refinement, block decomposition, validation and resource accounting from the registry."""

import re
from pathlib import Path

import pytest

import qrp

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guide" / "solvers.md"


def _example() -> str:
    text = GUIDE.read_text()
    m = re.search(r"<!-- extension-example[^>]*-->\s*```python\n(.*?)```", text, re.S)
    assert m, "docs/guide/solvers.md lost its extension-API example"
    return m.group(1)


def test_readme_extension_example_runs(capsys):
    ns: dict = {}
    exec(compile(_example(), "solvers.md", "exec"), ns)
    res, blocks = ns["res"], ns["blocks"]
    assert res.converged and res.rc_error <= 1e-8
    assert blocks.converged and blocks.history[0].stats["block_size"] == 3
    assert res.stats["resources"]["samples"] == sum(h.resources.samples for h in res.history) > 0
    assert "level_descent" not in qrp.available_solvers()
    assert capsys.readouterr().out.strip()


def test_user_solver_options_are_validated_before_any_work():
    ns: dict = {}
    code = _example().split("cov = qrp.example_covariance()")[0]
    exec(compile(code, "solvers.md", "exec"), ns)
    try:
        with pytest.raises(ValueError, match="sweeps"):
            qrp.risk_parity(qrp.example_covariance(), solver="level_descent", sweeps=0)
        with pytest.raises(ValueError, match="level_descent"):
            qrp.risk_parity(qrp.example_covariance(), solver="level_descent", reads=3)
    finally:
        qrp.unregister_solver("level_descent")
