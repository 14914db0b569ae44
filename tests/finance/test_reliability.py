"""Issue 9, API half: leverage and target volatility in backtests, factor parity options."""

import numpy as np
import pandas as pd
import pytest

import qrp
from qrp.finance.backtest import BacktestConfig, StrategyConfig, run_backtest, simulate
from qrp.finance.strategies import compute_weights

COV = np.array([[0.04, 0.01, 0.0], [0.01, 0.09, 0.02], [0.0, 0.02, 0.16]])


def _returns(t=400, n=3, seed=0):
    rng = np.random.default_rng(seed)
    idx = pd.bdate_range("2020-01-01", periods=t)
    return pd.DataFrame(rng.normal(3e-4, 0.01, size=(t, n)) * [1.0, 1.5, 2.0], index=idx, columns=list("xyz"))


def test_compute_weights_keeps_leverage_and_target():
    plain, _ = compute_weights("risk_parity", cov=COV)
    lev, _ = compute_weights("risk_parity", cov=COV, leverage=2.0)
    np.testing.assert_allclose(lev, 2.0 * plain, rtol=1e-14)
    tv, _ = compute_weights("risk_parity", cov=COV, target_volatility=0.2)
    assert np.sqrt(tv @ COV @ tv) == pytest.approx(0.2, rel=1e-12)


def test_simulate_cash_at_the_risk_free_rate():
    r = np.array([[0.01, 0.02], [0.0, -0.01], [0.03, 0.0]])
    w = np.array([[0.8, 0.4]])  # 120% invested, 20% borrowed
    rf = 1e-4
    daily, turnover = simulate(r, np.array([0]), w, 0.0, rf)
    values = w[0] * np.cumprod(1 + r, axis=0)
    wealth = values.sum(axis=1) - 0.2 * (1 + rf) ** np.arange(1, 4)
    np.testing.assert_allclose(np.cumprod(1 + daily), wealth, rtol=1e-14)
    assert turnover[0] == pytest.approx(1.2)
    # fully invested: the cash rate does not matter
    d1, _ = simulate(r, np.array([0]), np.array([[0.5, 0.5]]), 0.0, 0.5)
    d0, _ = simulate(r, np.array([0]), np.array([[0.5, 0.5]]), 0.0, 0.0)
    np.testing.assert_array_equal(d0, d1)


def test_backtest_honours_leverage_and_target_volatility():
    strategies = (StrategyConfig("erc", "risk_parity"), StrategyConfig("erc2x", "risk_parity", {"leverage": 2.0}),
                  StrategyConfig("tv", "risk_parity", {"target_volatility": 0.1}))
    cfg = BacktestConfig(strategies=strategies, rebalance="daily", window=100, estimator="sample",
                         risk_free_rate=0.0)
    res = run_backtest(_returns(t=160), cfg)
    np.testing.assert_allclose(res.weights["erc2x"].to_numpy(), 2 * res.weights["erc"].to_numpy(), rtol=1e-12)
    # with r_f = 0, no costs and daily rebalancing back to 2x, leverage doubles every daily return
    np.testing.assert_allclose(res.returns["erc2x"], 2 * res.returns["erc"], rtol=1e-9, atol=1e-15)
    assert res.metrics.loc["erc2x", "annualized_volatility"] == pytest.approx(
        2 * res.metrics.loc["erc", "annualized_volatility"], rel=1e-9)
    w = res.weights["tv"].to_numpy()
    assert not np.allclose(w.sum(axis=1), 1.0)  # not renormalized to plain ERC


def test_wiped_out_portfolio_is_an_error():
    r = np.array([[-0.6, -0.6]])
    with pytest.raises(ValueError, match="wiped out"):
        simulate(r, np.array([0]), np.array([[1.0, 1.0]]), 0.0)


@pytest.mark.parametrize("kwargs, match", [({"tol": -1}, "tol"), ({"tol": float("nan")}, "tol"),
                                           ({"max_iter": 0}, "max_iter"), ({"max_iter": 2**63}, "max_iter")])
def test_factor_parity_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        qrp.factor_risk_parity(np.eye(3), COV, **kwargs)
