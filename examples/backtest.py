"""
# Backtest: ERC against equal weight and minimum variance

Monthly rebalancing on 5 bundled S&P 500 stocks, 2021-2022, a 126-day Ledoit-Wolf covariance, 10 bps costs.

Run: `python examples/backtest.py [OUT_DIR]` (seconds; the test suite runs it); with `OUT_DIR` it also writes the
backtest's files there. The shipped study is `qrp backtest experiments/backtest.toml`.
"""

# %%
import sys

import matplotlib.pyplot as plt

from qrp.data.returns import load_sp500_returns
from qrp.finance.backtest import BacktestConfig, StrategyConfig, run_backtest, write_results

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

# %%
# Wealth of each strategy (net of costs) and the ERC portfolio's target weights at each rebalance.
fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
result.equity.plot(ax=top)
top.set_ylabel("wealth")
result.weights["ERC"].plot.area(ax=bottom, linewidth=0)
bottom.set_ylabel("ERC weights")
bottom.legend(loc="upper left", ncols=5, fontsize="small")
fig.tight_layout()

# %%
if len(sys.argv) > 1:  # python examples/backtest.py OUT_DIR
    write_results(result, sys.argv[1], data={"source": "sp500", "assets": list(returns.columns)}, inputs=returns)
