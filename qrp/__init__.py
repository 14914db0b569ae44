"""qrp: quantum/classical hybrid risk parity.

The public API. Attributes are loaded on first access (PEP 562), so ``import qrp`` costs little more than
``import numpy``; pandas, SciPy's optimizers, numba kernels and qiskit are imported only by the functions that need
them. The layers behind these names are described in ARCHITECTURE.md.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from qrp.core.extras import missing_extra
from qrp.core.provenance import qrp_version

__version__ = qrp_version()

#: public name -> module that defines it
_EXPORTS = {
    "risk_parity": "qrp.api",
    "RiskParityResult": "qrp.core.result",
    "SolverOutput": "qrp.core.result",
    "PortfolioStats": "qrp.core.measures",
    "portfolio_stats": "qrp.core.measures",
    "rc_error": "qrp.core.measures",
    "risk_contributions": "qrp.core.measures",
    "available_solvers": "qrp.core.registry",
    "get_solver": "qrp.core.registry",
    "register_solver": "qrp.core.registry",
    "unregister_solver": "qrp.core.registry",
    "Option": "qrp.core.registry",
    "Resources": "qrp.core.result",
    "discrete_options": "qrp.discrete.options",
    "DiscreteProblem": "qrp.discrete.problem",
    "discretize": "qrp.discrete.problem",
    "refine": "qrp.discrete.refine",
    "SampleResult": "qrp.discrete.refine",
    "estimate_covariance": "qrp.data.covariance",
    "factor_covariance": "qrp.data.synthetic",
    "example_covariance": "qrp.data.loaders",
    "read_covariance_csv": "qrp.data.loaders",
    "factor_risk_parity": "qrp.finance.factor_parity",
    "RiskParity": "qrp.finance.estimator",
    "constrained_risk_budgeting": "qrp.finance.constrained",
    "BacktestConfig": "qrp.finance.backtest",
    "StrategyConfig": "qrp.finance.backtest",
    "run_backtest": "qrp.finance.backtest",
    "load_study": "qrp.studies.study",
    "run_study": "qrp.studies.runner",
    "write_report": "qrp.studies.report",
}

__all__ = [
    "BacktestConfig",
    "DiscreteProblem",
    "Option",
    "PortfolioStats",
    "Resources",
    "RiskParity",
    "RiskParityResult",
    "SampleResult",
    "SolverOutput",
    "StrategyConfig",
    "available_solvers",
    "constrained_risk_budgeting",
    "discrete_options",
    "discretize",
    "estimate_covariance",
    "example_covariance",
    "factor_covariance",
    "factor_risk_parity",
    "get_solver",
    "load_study",
    "portfolio_stats",
    "rc_error",
    "read_covariance_csv",
    "refine",
    "register_solver",
    "risk_contributions",
    "risk_parity",
    "run_backtest",
    "run_study",
    "unregister_solver",
    "write_report",
]

if TYPE_CHECKING:  # static analysers see the eager imports
    from qrp.api import risk_parity
    from qrp.core.measures import PortfolioStats, portfolio_stats, rc_error, risk_contributions
    from qrp.core.registry import Option, available_solvers, get_solver, register_solver, unregister_solver
    from qrp.core.result import Resources, RiskParityResult, SolverOutput
    from qrp.data.covariance import estimate_covariance
    from qrp.data.loaders import example_covariance, read_covariance_csv
    from qrp.data.synthetic import factor_covariance
    from qrp.discrete.options import discrete_options
    from qrp.discrete.problem import DiscreteProblem, discretize
    from qrp.discrete.refine import SampleResult, refine
    from qrp.finance.backtest import BacktestConfig, StrategyConfig, run_backtest
    from qrp.finance.constrained import constrained_risk_budgeting
    from qrp.finance.estimator import RiskParity
    from qrp.finance.factor_parity import factor_risk_parity
    from qrp.studies.report import write_report
    from qrp.studies.runner import run_study
    from qrp.studies.study import load_study


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'qrp' has no attribute {name!r}")
    try:
        value = getattr(importlib.import_module(module), name)
    except ModuleNotFoundError as exc:  # an optional package: say which extra installs it
        hint = missing_extra(exc, f"qrp.{name}", "finance" if module.startswith("qrp.finance") else None)
        if hint is None:
            raise
        raise hint from exc
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
