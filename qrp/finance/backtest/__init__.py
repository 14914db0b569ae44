"""Dynamic risk parity backtest: rolling re-estimation and rebalancing, transaction costs, metrics and plots.

``config`` (settings and the TOML layout), ``engine`` (the simulation and its metrics, with the accounting contract
in its docstring), ``io`` (input returns, the atomically swapped result directory) and ``plots``. The public names
are re-exported here: ``qrp.finance.backtest.run_backtest`` and the rest keep working.
"""

from qrp.finance.backtest.config import (
    REBALANCE_FREQUENCIES,
    BacktestConfig,
    RegimeConfig,
    StrategyConfig,
    config_to_dict,
    load_config,
)
from qrp.finance.backtest.engine import (
    BacktestResult,
    performance_metrics,
    rebalance_positions,
    run_backtest,
    simulate,
)
from qrp.finance.backtest.io import load_returns, run_backtest_config, write_results
from qrp.finance.backtest.plots import plot_results
from qrp.finance.regimes import regime_signal

__all__ = [
    "REBALANCE_FREQUENCIES",
    "BacktestConfig",
    "BacktestResult",
    "RegimeConfig",
    "StrategyConfig",
    "config_to_dict",
    "load_config",
    "load_returns",
    "performance_metrics",
    "plot_results",
    "rebalance_positions",
    "regime_signal",
    "run_backtest",
    "run_backtest_config",
    "simulate",
    "write_results",
]
