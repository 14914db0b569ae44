"""Issue 22, items 5-7 and the ZeroDivisionError: numeric edge cases that returned NaN, 0 or subnormal answers
silently now give the right number or a one-line ValueError."""

import numpy as np
import pytest

import qrp
from qrp.core.measures import portfolio_stats, rc_error_kernel, risk_contributions
from qrp.finance.risk_measures import euler_contributions
from qrp.finance.strategies import historical_cvar, mean_variance

V2 = np.array([[0.04, 0.01], [0.01, 0.09]])


def test_risk_contributions_at_1e200():
    rc = risk_contributions([1e200, 1e200], V2)
    np.testing.assert_allclose(rc, risk_contributions([1.0, 1.0], V2) * 1e200, rtol=1e-14)
    np.testing.assert_allclose(risk_contributions([1e-200, 3e-200], V2), risk_contributions([1, 3], V2) * 1e-200,
                               rtol=1e-14)
    with pytest.raises(ValueError, match="not finite"):
        risk_contributions([1e300, 1e300], V2 * 1e20)  # 1e310: beyond the float range


def test_portfolio_stats_volatility_at_1e_minus_200():
    vol = portfolio_stats([1e-200, 1e-200], V2).volatility
    assert vol == pytest.approx(np.sqrt(np.ones(2) @ V2 @ np.ones(2)) * 1e-200, rel=1e-14)
    assert portfolio_stats([1e200, 1e200], V2).volatility == pytest.approx(vol * 1e200 * 1e200, rel=1e-14)
    assert portfolio_stats([0.0, 0.0], V2).volatility == 0.0


@pytest.mark.parametrize("gamma", [1e-300, 1e-12, 1e-3, 1.0, 1e3, 1e300])
def test_mean_variance_any_risk_aversion(gamma):
    w = mean_variance(V2, [0.05, 0.08], risk_aversion=gamma)
    assert np.all(np.isfinite(w)) and w.sum() == pytest.approx(1.0, abs=1e-15)
    # KKT on the simplex of max w'mu - gamma/2 w'Sw: the gradient is equal on the support and lower off it
    grad = np.array([0.05, 0.08]) - gamma * V2 @ w
    support = w > 1e-12
    assert np.ptp(grad[support]) <= 1e-9 * max(1.0, np.abs(grad).max())
    assert np.all(grad[~support] <= grad[support].min() + 1e-12)


def test_mean_variance_tiny_risk_aversion_tied_returns_is_min_variance_of_the_tie():
    np.testing.assert_allclose(mean_variance(V2, [0.08, 0.08], risk_aversion=1e-300),
                               qrp.finance.strategies.minimum_variance(V2), atol=1e-12)


@pytest.mark.parametrize("alpha", [0, 0.0, 1, 1.0, 2, -0.5, float("nan")])
def test_historical_cvar_alpha_range(alpha):
    r = np.random.default_rng(0).normal(0, 0.01, size=(100, 2))
    with pytest.raises(ValueError, match=r"alpha must be in \(0, 1\)"):
        historical_cvar([0.5, 0.5], r, alpha=alpha)


def test_discrete_objective_refuses_nan():
    p = qrp.discretize(V2, 2)
    with pytest.raises(ValueError, match="NaN or inf at 0"):
        p.objective([np.nan, 1.0])


@pytest.mark.parametrize("kwargs", [{"leverage": 1e-320}, {"target_volatility": 1e-320}])
@pytest.mark.parametrize("solver", ["auto", "newton", "ccd", "slsqp"])
def test_subnormal_scaling_refused(kwargs, solver):
    (what,) = kwargs
    with pytest.raises(ValueError, match=f"{what} scales the weights.*subnormal"):
        qrp.risk_parity(V2, solver=solver, **kwargs)
    res = qrp.risk_parity(V2, solver=solver, **{what: 1e-300})  # still normal: exact to the last bits
    assert res.rc_error == pytest.approx(qrp.rc_error(res.weights, V2), abs=1e-12)


def test_rc_error_kernel_zero_sum_is_a_value_error():
    with pytest.raises(ValueError, match="sum to 0"):
        rc_error_kernel(np.zeros(2), np.full(2, 0.5))
    singular = np.array([[1.0, -1.0], [-1.0, 1.0]])  # w = (1/2, 1/2) has zero risk
    with pytest.raises(ValueError):
        qrp.risk_parity(singular, solver="slsqp", check_psd=False)


def test_semi_deviation_tiny_and_constant_returns():
    r = np.random.default_rng(1).normal(0, 0.01, size=(200, 3))
    w = np.array([0.2, 0.3, 0.5])
    ref = euler_contributions(w, "semi_deviation", returns=r)
    np.testing.assert_allclose(euler_contributions(w, "semi_deviation", returns=r * 1e-300), ref * 1e-300,
                               rtol=1e-12)
    with pytest.raises(ValueError, match="constant over the scenarios"):
        euler_contributions(w, "semi_deviation", returns=np.zeros((200, 3)))
