import numpy as np
import pandas as pd
import pytest

from qrp.core.measures import rc_error
from qrp.finance import strategies as S


def _cov(n=4, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, n))
    return a @ a.T / n + np.diag(rng.uniform(0.05, 0.2, n))


def test_equal_weight_and_inverse_volatility():
    np.testing.assert_array_equal(S.equal_weight(4), np.full(4, 0.25))
    cov = _cov()
    inv = 1 / np.sqrt(np.diag(cov))
    np.testing.assert_allclose(S.inverse_volatility(cov), inv / inv.sum(), rtol=1e-15)


def test_minimum_variance_diagonal_is_inverse_variance():
    var = np.array([0.04, 0.01, 0.09, 0.0225])
    w = S.minimum_variance(np.diag(var))
    np.testing.assert_allclose(w, (1 / var) / (1 / var).sum(), rtol=1e-12)


def test_minimum_variance_matches_closed_form_when_interior():
    vol = np.array([0.1, 0.15, 0.2])
    cov = 0.3 * np.outer(vol, vol) + 0.7 * np.diag(vol**2)
    x = np.linalg.solve(cov, np.ones(3))
    assert (x > 0).all()
    np.testing.assert_allclose(S.minimum_variance(cov), x / x.sum(), rtol=1e-12)


def test_minimum_variance_long_only_zeroes_a_hedge():
    cov = np.array([[0.04, 0.05], [0.05, 0.09]])  # unconstrained optimum shorts asset 1
    np.testing.assert_allclose(S.minimum_variance(cov), [1.0, 0.0], atol=1e-15)


def test_mean_variance_matches_closed_form_when_interior():
    cov = np.diag([0.04, 0.09, 0.0625])
    mu = np.array([0.06, 0.08, 0.07])
    gamma = 5.0
    inv = np.linalg.inv(cov)
    lam = (inv @ mu).sum() - gamma
    lam /= inv.sum()
    w = inv @ (mu - lam) / gamma  # Lagrangian of max mu'w - gamma/2 w'Sw s.t. sum w = 1
    assert (w > 0).all()
    np.testing.assert_allclose(S.mean_variance(cov, mu, risk_aversion=gamma), w, rtol=1e-12)
    # very high risk aversion: minimum variance
    np.testing.assert_allclose(S.mean_variance(cov, mu, risk_aversion=1e9), S.minimum_variance(cov), atol=1e-8)


def test_minimum_cvar_beats_a_fine_grid_on_two_assets():
    rng = np.random.default_rng(4)
    r = np.column_stack([rng.normal(0.001, 0.01, 400), rng.standard_t(3, 400) * 0.012])
    w = S.minimum_cvar(r, alpha=0.9)
    best = S.historical_cvar(w, r, alpha=0.9)
    grid = np.linspace(0, 1, 2001)
    values = np.array([S.historical_cvar([g, 1 - g], r, alpha=0.9) for g in grid])
    assert best <= values.min() + 1e-12
    assert values.min() - best < 1e-5  # the grid step is 5e-4 in weight
    assert abs(w[0] - grid[values.argmin()]) < 2e-3


def test_compute_weights_dispatch_and_risk_parity():
    rng = np.random.default_rng(1)
    r = rng.normal(0.0005, 0.01, size=(300, 4))
    cov = pd.DataFrame(np.cov(r, rowvar=False) * 252)
    for name in S.STRATEGIES:
        w, _ = S.compute_weights(name, cov=cov, returns=r, periods_per_year=252)
        assert w.shape == (4,) and (w >= 0).all()
        np.testing.assert_allclose(w.sum(), 1.0, rtol=1e-12)
    w, info = S.compute_weights("risk_parity", cov=cov, solver="newton")
    assert info["converged"] and rc_error(w, cov) < 1e-10


def test_bad_inputs():
    with pytest.raises(ValueError, match="unknown strategy 'black_litterman'"):
        S.compute_weights("black_litterman", cov=np.eye(2))
    with pytest.raises(ValueError, match=r"does not take option\(s\) \['alpha'\]"):
        S.compute_weights("equal_weight", cov=np.eye(2), alpha=0.9)
    with pytest.raises(ValueError, match="needs the returns window"):
        S.compute_weights("minimum_cvar", cov=np.eye(2))
    with pytest.raises(ValueError, match="alpha must be in"):
        S.minimum_cvar(np.ones((5, 2)), alpha=1.5)
    with pytest.raises(ValueError, match="risk_aversion must be a finite number > 0, got -1"):
        S.mean_variance(np.eye(2), [0.1, 0.1], risk_aversion=-1)
    with pytest.raises(ValueError, match="expected_returns must have length 2"):
        S.mean_variance(np.eye(2), [0.1, 0.1, 0.2])
    with pytest.raises(ValueError, match="n_assets must be an integer >= 1, got 0"):
        S.equal_weight(0)
