"""Backtest: monthly ERC against equal weight and minimum variance on 5 bundled S&P 500 stocks, 2021-2022.

Run: ``python examples/backtest.py [OUT_DIR]`` (seconds; the test suite runs it). The shipped study is
``qrp backtest experiments/backtest.toml``.
"""

import sys

from qrp.data.returns import load_sp500_returns
from qrp.finance.backtest import BacktestConfig, StrategyConfig, run_backtest, write_results


def main(out_dir: str | None = None) -> None:
    returns = load_sp500_returns(start="2021-01-01", end="2022-12-28").iloc[:, :5]
    config = BacktestConfig(
        strategies=(
            StrategyConfig("ERC", "risk_parity", {"solver": "auto"}),
            StrategyConfig("equal weight", "equal_weight"),
            StrategyConfig("minimum variance", "minimum_variance"),
        ),
        rebalance="monthly", window=126, estimator="ledoit_wolf", cost_bps=10.0, seed=1,
    )
    result = run_backtest(returns, config)
    cols = ["annualized_return", "annualized_volatility", "sharpe", "max_drawdown", "avg_rc_error"]
    print(result.metrics[cols].round(4).to_string())
    if out_dir is not None:
        write_results(result, out_dir, data={"source": "sp500", "assets": list(returns.columns)}, inputs=returns)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
