"""The example scripts under examples/ run (in this process, on their small default sizes)."""

import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.parametrize("name", ["classical_baseline", "quantum_vs_classical", "backtest"])
def test_example_runs(name, tmp_path, monkeypatch, capsys):
    argv = [name] + ([str(tmp_path / "out")] if name == "backtest" else [])
    monkeypatch.setattr(sys, "argv", argv)
    runpy.run_path(str(EXAMPLES / f"{name}.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert {"classical_baseline": "converged True", "quantum_vs_classical": "qaoa p=1",
            "backtest": "minimum variance"}[name] in out
    if name == "backtest":
        assert (tmp_path / "out" / "summary.json").exists()
