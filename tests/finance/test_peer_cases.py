"""Peer examples reproduced (issue 14): Riskfolio-Lib's own risk-parity test numbers, riskparity.py's tests and the
R package riskParityPortfolio's tests, each case that qrp can express (the rest are listed in the README, with
the reason, and printed by ``python -m benchmarks.constrained_peers``).

* Riskfolio-Lib, ``tests/test_portfolio.py::test_classic_riskparity_optimization`` at
  github.com/dcajasn/Riskfolio-Lib 632a9e4: the last 200 daily returns of 10 stocks of ``tests/stock_prices.csv``
  (the 201 prices kept in ``data/riskfolio_stock_prices.csv``) and its stored weights ``tests/Classic_RP.csv``
  (``data/riskfolio_classic_rp.csv``; BSD-3-Clause, ``data/RISKFOLIO_LICENSE.txt``). Riskfolio's risk parity is the
  homogeneous log-barrier form; without constraints it equals the Richard-Roncalli one.
* riskparity.py 0.6 (``riskparityportfolio/tests/test_modern_rpp.py``): the "tricky" 3-asset budgets example and
  its constraint checks on a seeded random 50-asset covariance.
* riskParityPortfolio (R), ``tests/testthat`` at github.com/dppalomar/riskParityPortfolio 7d8852c: the pyrb
  matrix with its expected weights and two linear constraints, the box-constraint checks, the equality and
  inequality constraints, and the mean-return limit. The R tests draw Sigma from R's random
  generator; these use numpy's (their assertions hold for any covariance of that construction).
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("cvxpy")

import qrp
from qrp.finance.constrained import constrained_risk_budgeting
from tests.finance.test_constrained import COV

DATA = Path(__file__).parent / "data"
#: Riskfolio's rm names for the measures qrp has (CVaR at its alpha = 0.05 tail, qrp's alpha = 0.95 level).
RISKFOLIO_MEASURES = {"MV": "volatility", "MSV": "semi_deviation", "CVaR": "cvar"}


def riskfolio_returns() -> pd.DataFrame:
    prices = pd.read_csv(DATA / "riskfolio_stock_prices.csv", index_col=0, parse_dates=True)
    return prices.pct_change().dropna().iloc[-200:]


def riskfolio_weights() -> pd.DataFrame:
    return pd.read_csv(DATA / "riskfolio_classic_rp.csv", index_col=0)


@pytest.mark.parametrize("rm", list(RISKFOLIO_MEASURES))
def test_riskfolio_classic_risk_parity_numbers(rm):
    y, expected = riskfolio_returns(), riskfolio_weights()[rm]
    measure = RISKFOLIO_MEASURES[rm]
    res = constrained_risk_budgeting(y.cov() if measure == "volatility" else None, returns=y, risk_measure=measure)
    assert res.converged and list(res.asset_names) == list(expected.index)
    # Riskfolio's file carries its solver's accuracy: Riskfolio 7.4 itself is 2.6e-6 to 5.1e-6 away from it
    np.testing.assert_allclose(res.weights, expected.to_numpy(), atol=5e-6)
    assert res.rc_error < 1e-5


def rpp_sigma(n: int, ridge: float = 1.0) -> np.ndarray:
    """riskparity.py's test covariance: U U' + ridge I with U ~ N(0, 0.1 I), seed 42."""
    legacy = np.random.RandomState(42)  # the generator of np.random.seed(42) in its test: the very same matrix
    u = legacy.multivariate_normal(mean=np.zeros(n), cov=0.1 * np.eye(n), size=round(0.7 * n)).T
    return u @ u.T + ridge * np.eye(n)


def test_riskparity_py_tricky_budgets():
    s = np.array([[1.0, 0.0015, -0.0119], [0.0015, 1.0, -0.0308], [-0.0119, -0.0308, 1.0]])
    res = qrp.risk_parity(s, budgets=[0.1594, 0.0126, 0.8280])
    np.testing.assert_allclose(res.weights, [0.2798628, 0.08774909, 0.63238811], rtol=1e-5)
    assert res.rc_error < 1e-9


def test_riskparity_py_constraints():
    n = 50
    sigma = rpp_sigma(n)
    w1 = qrp.risk_parity(sigma).weights
    # w >= 0 written as D w <= 0 with D = -I: the same portfolio
    w3 = constrained_risk_budgeting(sigma, linear_constraints=(-np.eye(n), np.zeros(n))).weights
    np.testing.assert_allclose(w3, w1, rtol=1e-5)
    # an upper bound w <= 0.03 that binds (unconstrained max 0.048)
    upper = constrained_risk_budgeting(sigma, linear_constraints=(np.vstack([np.eye(n), -np.eye(n)]),
                                                                  np.r_[np.full(n, 0.03), np.zeros(n)]))
    assert w1.max() > 0.04 and upper.converged
    np.testing.assert_almost_equal(upper.weights.sum(), 1)
    assert np.all(upper.weights >= 0) and np.all(upper.weights < 0.03 + 1e-3)


def test_r_pyrb_matrix_and_linear_constraints():
    answer = np.array([26.8306, 28.6769, 11.4095, 9.7985, 5.6135, 5.9029, 6.656, 5.1121]) / 100
    res = qrp.risk_parity(COV)
    assert np.abs(res.weights - answer).max() < 1e-4
    assert np.abs(res.risk_contributions / res.risk_contributions.sum() - 0.125).max() < 1e-4
    d1 = np.array([[0, 0, 0, 0, -1.0, -1, -1, -1]])
    d2 = np.vstack([d1, [1, -1, 0, 0, 1, -1, 0, 0]])
    for dmat, dvec in ((d1, [-0.3]), (d2, [-0.3, -0.05])):
        w = constrained_risk_budgeting(COV, linear_constraints=(dmat, dvec)).weights
        assert abs(w.sum() - 1) < 1e-4 and np.all(dmat @ w - dvec < 1e-6)


def r_sigma(n: int = 10) -> np.ndarray:
    return np.cov(np.random.default_rng(123).standard_normal((1000, n)), rowvar=False)


@pytest.mark.parametrize("bounds", [(0.5, 1.0), (2.0, 3.0), (0.0, 0.01)])
def test_r_box_constraint_feasibility_checks(bounds):
    with pytest.raises(ValueError, match="bounds are infeasible"):
        qrp.risk_parity(r_sigma(), bounds=bounds)


def test_r_feasible_box_and_equality_and_inequality_constraints():
    sigma = r_sigma()
    w = qrp.risk_parity(sigma, bounds=(0.05, 0.3)).weights
    assert np.all(w >= 0.05 - 1e-12) and np.all(w <= 0.3 + 1e-12)
    wide = constrained_risk_budgeting(sigma, bounds=(-1.0, 2.0))  # long signs: the box does not bind
    assert wide.converged and np.all(wide.weights >= -1) and np.all(wide.weights <= 2)
    row = np.zeros((1, 10))
    row[0, :2] = 1.0
    for share in (0.5416816, 0.1):  # R draws runif(1); 0.1 makes the inequality bind
        eq = constrained_risk_budgeting(sigma, equality_constraints=(row, [share])).weights
        assert abs(eq.sum() - 1) < 1e-4 and abs(row @ eq - share)[0] < 1e-4
        ineq = constrained_risk_budgeting(sigma, linear_constraints=(row, [share])).weights
        assert (row @ ineq)[0] <= share + 1e-5 and np.all(ineq > 0) and abs(ineq.sum() - 1) < 1e-5


def test_r_mean_return_vanishes_for_a_large_volatility_tradeoff():
    rng = np.random.default_rng(5)
    v = rng.standard_normal((5, 100))
    sigma, mu = v @ v.T, rng.uniform(size=5)
    res = constrained_risk_budgeting(sigma, expected_returns=mu, risk_aversion=1e6)
    np.testing.assert_allclose(res.weights, qrp.risk_parity(sigma).weights, atol=1e-4)
    rc = res.weights * (sigma @ res.weights)
    np.testing.assert_allclose(rc / rc.sum(), 0.2, atol=1e-4)
