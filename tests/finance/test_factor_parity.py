import numpy as np
import pandas as pd
import pytest

from qrp.finance.factor_parity import factor_risk_contributions, factor_risk_parity

A = np.array([[1.0, 0.2, 0.1], [0.1, 1.0, 0.3], [0.2, 0.1, 1.0]])
OMEGA = np.diag([0.04, 0.09, 0.01])
B = np.array([0.5, 0.3, 0.2])


def _known_answer():
    # k = N, D = 0 and diagonal Omega: RC(F_j) = y_j^2 omega_j^2 / sigma, so y_j ~ sqrt(b_j) / omega_j, w = A'^-1 y
    y = np.sqrt(B) / np.sqrt(np.diag(OMEGA))
    w = np.linalg.solve(A.T, y)
    return w / w.sum()


@pytest.mark.parametrize("method,tol", [("exact", 1e-12), ("slsqp", 1e-9), ("auto", 1e-12)])
def test_known_answer(method, tol):
    expected = _known_answer()
    assert (expected > 0).all()
    res = factor_risk_parity(A, OMEGA, B, method=method, tol=tol)
    np.testing.assert_allclose(res.weights, expected, rtol=1e-6 if method == "slsqp" else 1e-10)
    assert res.rc_error <= tol and res.converged
    np.testing.assert_allclose(res.factor_risk_shares, B, atol=tol)
    assert abs(res.residual_share) < 1e-12  # k = N: no residual risk


def test_fewer_factors_than_assets_with_specific_risk():
    rng = np.random.default_rng(2)
    loadings = pd.DataFrame(np.abs(rng.normal(size=(8, 3))), index=[f"a{i}" for i in range(8)],
                            columns=["mkt", "value", "size"])
    omega = np.diag([0.03, 0.01, 0.02])
    d = rng.uniform(0.01, 0.04, 8)
    res = factor_risk_parity(loadings, omega, specific_variances=d, tol=1e-8)
    assert res.converged and res.rc_error <= 1e-8 and res.method == "slsqp"
    assert res.asset_names == tuple(loadings.index) and res.factor_names == ("mkt", "value", "size")
    assert (res.weights >= 0).all() and res.weights.sum() == pytest.approx(1.0)
    rc, residual = factor_risk_contributions(res.weights, loadings, omega, d)
    s = loadings.to_numpy() @ omega @ loadings.to_numpy().T + np.diag(d)
    sigma = np.sqrt(res.weights @ s @ res.weights)
    assert rc.sum() + residual == pytest.approx(sigma, rel=1e-12)  # Euler decomposition is complete
    assert residual / sigma == pytest.approx(res.residual_share, rel=1e-10)
    np.testing.assert_allclose(rc / rc.sum(), 1 / 3, atol=1e-8)


def test_bad_inputs():
    with pytest.raises(ValueError, match="factor_cov must be 3 x 3"):
        factor_risk_parity(A, np.eye(2))
    with pytest.raises(ValueError, match="more factors"):
        factor_risk_parity(A[:2], OMEGA)
    with pytest.raises(ValueError, match="method 'exact' needs as many factors as assets"):
        factor_risk_parity(np.ones((4, 1)), np.eye(1), method="exact")
    with pytest.raises(ValueError, match="budgets must sum to 1"):
        factor_risk_parity(A, OMEGA, [0.5, 0.5, 0.5])
    with pytest.raises(ValueError, match="specific_variances must be >= 0"):
        factor_risk_parity(A, OMEGA, specific_variances=[0.1, -0.1, 0.1])
    with pytest.raises(ValueError, match="rank 1 < 2"):
        factor_risk_parity(np.ones((4, 2)), np.eye(2))
    with pytest.raises(ValueError, match="method must be one of"):
        factor_risk_parity(A, OMEGA, method="newton")
