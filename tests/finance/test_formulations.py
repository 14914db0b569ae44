"""Least-squares risk-concentration formulations (riskParityPortfolio / riskparity.py; issue 24.2-4): analytic
gradients, the shared optimum without constraints, and riskparity.py's published constraint and mean-variance
cases.

riskparity.py (github.com/dppalomar/riskparity.py, ``riskparityportfolio/tests/test_modern_rpp.py::
test_constraints``): the 50-asset covariance ``rpp_sigma(50)`` with w <= 0.03 (``Dmat``, ``dvec``), and its
``add_mean_return`` / ``add_variance`` terms (README / ``docs/source/index.rst``: minimize R(w) - alpha w'mu +
lambda w'Sw). Its weights, computed by riskparityportfolio 0.6.0 (SCA, its default tolerances funtol = wtol =
1e-6), are stored in ``data/riskparity_py_weights.csv``. The formulations' names and definitions are the R
package's (github.com/dppalomar/riskParityPortfolio, ``R/riskFormulations.R``, ``tests/testthat/
test-riskFormulations.R``: its formulation list).
"""

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("cvxpy")

from qrp.finance.concentration import LS_FORMULATIONS, concentration
from qrp.finance.constrained import constrained_risk_budgeting
from tests.finance.test_peer_cases import rpp_sigma

DATA = Path(__file__).parent / "data"
WITH_BUDGETS = ("rc-over-b-double-index", "rc-over-var vs b", "rc-over-sd vs b-times-sd", "rc vs b-times-var",
                "rc-over-b vs theta")


def r_sigma5():
    """riskParityPortfolio's test covariance: cov of 1000 x 5 standard normals (numpy's generator)."""
    return np.cov(np.random.default_rng(123).standard_normal((1000, 5)), rowvar=False)


@pytest.mark.parametrize("formulation", LS_FORMULATIONS)
def test_analytic_gradient(formulation):
    rng = np.random.default_rng(1)
    a = rng.normal(size=(6, 6))
    s, b, w = a @ a.T / 6, rng.dirichlet(np.ones(6)), rng.dirichlet(np.ones(6))
    _, g, gt = concentration(w, 0.2, s, b, formulation)
    h = 1e-6
    fd = np.array([(concentration(w + h * e, 0.2, s, b, formulation)[0]
                    - concentration(w - h * e, 0.2, s, b, formulation)[0]) / (2 * h) for e in np.eye(6)])
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-9 * np.abs(fd).max())
    ft = (concentration(w, 0.2 + h, s, b, formulation)[0] - concentration(w, 0.2 - h, s, b, formulation)[0]) / 2 / h
    assert gt == pytest.approx(ft, abs=1e-7)


@pytest.mark.parametrize("formulation", LS_FORMULATIONS)
def test_unconstrained_optimum_is_the_risk_budgeting_portfolio(formulation):
    """R's test-riskFormulations: every formulation gives one portfolio without constraints (F = 0 there)."""
    s = r_sigma5()
    b = np.array([0.1, 0.15, 0.2, 0.25, 0.3]) if formulation in WITH_BUDGETS else None
    res = constrained_risk_budgeting(s, b, formulation=formulation)
    ref = constrained_risk_budgeting(s, b)
    assert res.converged and res.solver == "slsqp"
    np.testing.assert_allclose(res.weights, ref.weights, atol=1e-6)
    assert res.rc_error < 1e-6


def test_riskparity_py_dmat_upper_bound():
    n = 50
    sigma = rpp_sigma(n)
    dmat = np.vstack([np.eye(n), -np.eye(n)])
    dvec = np.concatenate([np.full(n, 0.03), np.zeros(n)])
    res = constrained_risk_budgeting(sigma, formulation="rc-over-var vs b", linear_constraints=(dmat, dvec))
    peer = np.loadtxt(DATA / "riskparity_py_weights.csv", delimiter=",")[:, 0]
    assert res.converged and abs(res.weights.sum() - 1) < 1e-12 and res.weights.max() <= 0.03 + 1e-9
    # riskparity.py stops at funtol = wtol = 1e-6: 7.7e-6 apart, the objectives equal to 1e-7 (nonconvex: both
    # are local minima at their solvers' tolerance)
    np.testing.assert_allclose(res.weights, peer, atol=2e-5)
    peer_objective = concentration(peer, 0.0, sigma, np.full(n, 1 / n), "rc-over-var vs b")[0]
    assert res.stats["objective"] == pytest.approx(peer_objective, rel=1e-7)
    log_barrier = constrained_risk_budgeting(sigma, linear_constraints=(dmat, dvec))
    assert np.abs(log_barrier.weights - res.weights).max() > 1e-3  # another definition (the 'Dmat' note)


def test_riskparity_py_mean_and_variance_terms():
    n = 50
    sigma, mu = rpp_sigma(n), np.linspace(0.01, 0.05, n)
    res = constrained_risk_budgeting(sigma, formulation="rc-over-var vs b", expected_returns=mu, lmd_mu=1e-3,
                                     lmd_var=1e-2)
    peer = np.loadtxt(DATA / "riskparity_py_weights.csv", delimiter=",")[:, 1]
    assert res.converged
    np.testing.assert_allclose(res.weights, peer, atol=1e-4)  # measured 5.4e-5 (riskparity.py's SCA tolerance)
    def objective(w):
        return (concentration(w, 0.0, sigma, np.full(n, 1 / n), "rc-over-var vs b")[0] - 1e-3 * mu @ w
                + 1e-2 * w @ sigma @ w)

    assert objective(res.weights) < objective(peer)  # 5.2160e-4 against riskparity.py's 5.2174e-4
    assert res.stats["objective"] == pytest.approx(objective(res.weights), rel=1e-12)


def test_sum_weights_and_w0():
    sigma = rpp_sigma(50)
    # riskparity.py's 0.5 <= sum(w) <= 1 case that tends to 0.5: the formulation is scale-free, so 0.5 x RB
    half = constrained_risk_budgeting(sigma, formulation="rc-over-var vs b", sum_weights=0.5)
    assert abs(half.weights.sum() - 0.5) < 1e-12
    np.testing.assert_allclose(half.weights, 0.5 * constrained_risk_budgeting(sigma).weights, atol=1e-7)
    lb = constrained_risk_budgeting(sigma, sum_weights=0.5)  # the log-barrier, unconstrained: the same, scaled
    np.testing.assert_allclose(lb.weights, half.weights, atol=1e-7)
    with pytest.warns(UserWarning, match="w0 is not feasible"):
        constrained_risk_budgeting(sigma, formulation="rc-over-var vs b", w0=np.full(50, 0.1))
    # nonconvex: from equal weights SLSQP stops at another local minimum, on the boundary (an asset at 0 weight)
    start = constrained_risk_budgeting(sigma, formulation="rc-over-var vs b", w0=np.full(50, 0.02))
    assert start.converged and start.weights.min() < 1e-8 and start.rc_error > 1e-3 > half.rc_error


def test_bad_input():
    s = r_sigma5()
    with pytest.raises(ValueError, match="formulation must be one of"):
        constrained_risk_budgeting(s, formulation="rc-over-nothing")
    with pytest.raises(ValueError, match="variance contributions"):
        constrained_risk_budgeting(returns=np.random.default_rng(0).normal(size=(50, 5)), risk_measure="cvar",
                                   formulation="rc-over-var")
    with pytest.raises(ValueError, match="least-squares formulations"):
        constrained_risk_budgeting(s, w0=np.full(5, 0.2))
    with pytest.raises(ValueError, match="pass expected_returns"):
        constrained_risk_budgeting(s, formulation="rc-over-var", lmd_mu=0.1)
    with pytest.raises(ValueError, match="not turnover or leverage"):
        constrained_risk_budgeting(s, formulation="rc-over-var", leverage=1.5)
    with pytest.raises(ValueError, match="sum_weights other than 1 with constraints"):
        constrained_risk_budgeting(s, sum_weights=0.5, bounds=(0.0, 0.4))
