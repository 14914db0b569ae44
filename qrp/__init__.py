"""qrp: quantum/classical hybrid risk parity.

The classical baseline (``risk_parity`` with solvers "ccd", "newton", "slsqp"), the ERC accuracy measure
(``rc_error``) and, in later modules, the QUBO discretization, annealing and QAOA solvers and the experiment runner.
"""

from qrp.backtest import BacktestConfig, StrategyConfig, run_backtest
from qrp.covariance import estimate_covariance
from qrp.discretize import DiscreteProblem, discretize
from qrp.erc import risk_parity
from qrp.factor_parity import factor_risk_parity
from qrp.registry import available_solvers, get_solver, register_solver
from qrp.report import write_report
from qrp.result import RiskParityResult, SolverOutput
from qrp.risk import PortfolioStats, portfolio_stats, rc_error, risk_contributions
from qrp.runner import run_study
from qrp.study import load_study
from qrp.synthetic import factor_covariance

__version__ = "0.1.0"

__all__ = [
    "BacktestConfig",
    "DiscreteProblem",
    "PortfolioStats",
    "RiskParityResult",
    "SolverOutput",
    "StrategyConfig",
    "available_solvers",
    "discretize",
    "estimate_covariance",
    "factor_covariance",
    "factor_risk_parity",
    "get_solver",
    "load_study",
    "portfolio_stats",
    "rc_error",
    "register_solver",
    "risk_contributions",
    "risk_parity",
    "run_backtest",
    "run_study",
    "write_report",
]
