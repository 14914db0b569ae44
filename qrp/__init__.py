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

#: The public API, listed once: module -> the names it defines (``__all__`` and the lazy loader derive from it;
#: the TYPE_CHECKING imports below repeat it for static analysers, and tests/test_layers.py checks they agree).
_EXPORTS = {
    "qrp.api": ("risk_parity",),
    "qrp.core.measures": ("PortfolioStats", "portfolio_stats", "rc_error", "risk_contributions"),
    "qrp.core.options": ("Option",),
    "qrp.core.registry": ("available_solvers", "get_solver", "register_solver", "unregister_solver"),
    "qrp.core.result": ("Resources", "RiskParityResult", "SolverOutput"),
    "qrp.data.covariance": ("estimate_covariance",),
    "qrp.data.loaders": ("example_covariance", "read_covariance_csv"),
    "qrp.data.synthetic": ("factor_covariance",),
    "qrp.discrete.options": ("discrete_options",),
    "qrp.discrete.problem": ("DiscreteProblem", "discretize"),
    "qrp.discrete.refine": ("SampleResult", "refine"),
    "qrp.finance.backtest": ("BacktestConfig", "StrategyConfig", "run_backtest"),
    "qrp.finance.constrained": ("constrained_risk_budgeting",),
    "qrp.finance.estimator": ("RiskParity",),
    "qrp.finance.factor_parity": ("factor_risk_parity",),
    "qrp.studies.report": ("write_report",),
    "qrp.studies.runner": ("run_study",),
    "qrp.studies.study": ("load_study",),
}
#: public name -> module that defines it
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_MODULE_OF)  # derived from _EXPORTS, the one list

if TYPE_CHECKING:  # static analysers see the eager imports (explicit re-exports: `name as name`)
    from qrp.api import risk_parity as risk_parity
    from qrp.core.measures import (
        PortfolioStats as PortfolioStats,
    )
    from qrp.core.measures import (
        portfolio_stats as portfolio_stats,
    )
    from qrp.core.measures import (
        rc_error as rc_error,
    )
    from qrp.core.measures import (
        risk_contributions as risk_contributions,
    )
    from qrp.core.options import Option as Option
    from qrp.core.registry import (
        available_solvers as available_solvers,
    )
    from qrp.core.registry import (
        get_solver as get_solver,
    )
    from qrp.core.registry import (
        register_solver as register_solver,
    )
    from qrp.core.registry import (
        unregister_solver as unregister_solver,
    )
    from qrp.core.result import (
        Resources as Resources,
    )
    from qrp.core.result import (
        RiskParityResult as RiskParityResult,
    )
    from qrp.core.result import (
        SolverOutput as SolverOutput,
    )
    from qrp.data.covariance import estimate_covariance as estimate_covariance
    from qrp.data.loaders import example_covariance as example_covariance
    from qrp.data.loaders import read_covariance_csv as read_covariance_csv
    from qrp.data.synthetic import factor_covariance as factor_covariance
    from qrp.discrete.options import discrete_options as discrete_options
    from qrp.discrete.problem import DiscreteProblem as DiscreteProblem
    from qrp.discrete.problem import discretize as discretize
    from qrp.discrete.refine import SampleResult as SampleResult
    from qrp.discrete.refine import refine as refine
    from qrp.finance.backtest import (
        BacktestConfig as BacktestConfig,
    )
    from qrp.finance.backtest import (
        StrategyConfig as StrategyConfig,
    )
    from qrp.finance.backtest import (
        run_backtest as run_backtest,
    )
    from qrp.finance.constrained import constrained_risk_budgeting as constrained_risk_budgeting
    from qrp.finance.estimator import RiskParity as RiskParity
    from qrp.finance.factor_parity import factor_risk_parity as factor_risk_parity
    from qrp.studies.report import write_report as write_report
    from qrp.studies.runner import run_study as run_study
    from qrp.studies.study import load_study as load_study


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
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
    return sorted(set(globals()) | set(_MODULE_OF))
