"""Packaging metadata: version flag, license, typing marker, citation and changelog agree with pyproject."""

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from qrp.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_version_flag(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    import qrp

    assert capsys.readouterr().out.strip() == f"qrp {qrp.__version__}"


def test_metadata_files_agree():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "Apache-2.0"
    assert "Apache License" in (ROOT / "LICENSE").read_text() and "Version 2.0" in (ROOT / "LICENSE").read_text()
    assert (ROOT / "qrp" / "py.typed").exists()
    assert f"version: {project['version']}" in (ROOT / "CITATION.cff").read_text()
    assert f"## [{project['version']}]" in (ROOT / "CHANGELOG.md").read_text()


# --- install that fits the user: a light core and extras (issue 21) ---------------------------------------------------

#: what each optional module of qrp.core.extras.EXTRAS is installed by (a distribution in its extra's closure)
DISTRIBUTIONS = {
    "qiskit": "qiskit", "qiskit_aer": "qiskit-aer", "dimod": "dimod", "dwave": "dwave-samplers",
    "dwave.samplers": "dwave-samplers", "dwave.system": "dwave-hybrid", "hybrid": "dwave-hybrid",
    "qiskit_ibm_runtime": "qiskit-ibm-runtime", "pandas": "pandas", "pyarrow": "pyarrow", "matplotlib": "matplotlib",
    "rich": "rich", "sklearn": "scikit-learn", "arch": "arch", "quadprog": "quadprog", "cvxpy": "cvxpy",
    "clarabel": "clarabel", "statsmodels": "statsmodels", "skfolio": "skfolio", "mlflow": "mlflow-skinny",
    "sqlalchemy": "sqlalchemy", "alembic": "alembic", "flask": "mlflow", "distributed": "dask",
    "dask": "dask", "qiskit_optimization": "qiskit-optimization",
}


def _closure(extras: dict, name: str) -> set[str]:
    """Distribution names an extra installs, its ``qrp[...]`` references expanded."""
    out = set()
    for requirement in extras[name]:
        dist = re.split(r"[\[<>=;~! ]", requirement, maxsplit=1)[0].lower()
        if dist == "qrp":
            for sub in re.search(r"\[(.*)\]", requirement).group(1).split(","):
                out |= _closure(extras, sub.strip())
        else:
            out.add(dist)
    return out


def test_the_core_is_the_classical_baseline_and_every_optional_module_has_its_extra():
    from qrp.core.extras import EXTRAS

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert sorted(re.split(r"[<>=]", d)[0] for d in project["dependencies"]) == [
        "numba", "numpy", "scipy", "threadpoolctl"]
    extras = project["optional-dependencies"]
    assert {"quantum", "finance", "studies", "tracking", "ui", "all", "test"} <= set(extras)
    assert set(DISTRIBUTIONS) == set(EXTRAS)
    for module, extra in EXTRAS.items():
        assert DISTRIBUTIONS[module] in _closure(extras, extra), (module, extra)
    everything = set().union(*(_closure(extras, e) for e in extras if e not in {"all", "test", "docs", "bench"}))
    assert _closure(extras, "all") == everything and everything <= _closure(extras, "test")
    assert {"qiskit", "qiskit-aer", "dimod", "dwave-samplers", "pandas", "pyarrow", "matplotlib",
            "rich"} <= _closure(extras, "studies")  # the quickstart: qrp run and qrp report
    assert "mlflow" in _closure(extras, "ui")  # mlflow ui needs the full mlflow (Flask), not mlflow-skinny
    # python-dateutil: the backends extra pins it below 3, so every extra that brings pandas takes the same bound
    # (installed after one that had brought python-dateutil 4, it downgraded it)
    for name in extras:
        if "pandas" in _closure(extras, name):
            assert "python-dateutil" in _closure(extras, name), name


BLOCK_OPTIONAL = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"pandas", "qiskit", "qiskit_aer", "dimod", "dwave", "rich", "matplotlib"}:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Block())
"""


def test_the_core_alone_solves_and_names_the_extra_of_what_it_lacks():
    """A fresh interpreter without pandas, qiskit, dimod, dwave, rich or matplotlib (the core install): the
    classical solvers and exact enumeration work; the rest names the extra to install."""
    code = BLOCK_OPTIONAL + """
import numpy as np
import qrp
cov = np.array([[0.04, 0.006, 0.0], [0.006, 0.09, 0.01], [0.0, 0.01, 0.16]])
for solver in ["auto", "newton", "ccd", "slsqp"]:
    assert qrp.risk_parity(cov, solver=solver).rc_error < 1e-8
assert qrp.risk_parity(cov, solver="exact", bits=2).energy is not None
messages = []
for call in (lambda: qrp.risk_parity(cov, solver="sa"), lambda: qrp.risk_parity(cov, solver="qaoa"),
             lambda: qrp.run_study, lambda: qrp.RiskParity):
    try:
        call()
    except ModuleNotFoundError as exc:
        messages.append(str(exc))
from qrp.cli import main
print("\\n".join(messages))
sys.exit(main(["solvers"]))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout.splitlines() == [
        "solver 'sa' needs the optional package 'dwave', which is not installed: pip install \"qrp[quantum]\"",
        "solver 'qaoa' needs the optional package 'qiskit', which is not installed: pip install \"qrp[quantum]\"",
        "qrp.run_study needs the optional package 'pandas', which is not installed: pip install \"qrp[studies]\"",
        "qrp.RiskParity needs the optional package 'pandas', which is not installed: pip install \"qrp[finance]\"",
    ]
    assert proc.stderr.strip() == ("qrp: error: this needs the optional package 'rich', which is not installed: "
                                   "pip install \"qrp[studies]\"")
