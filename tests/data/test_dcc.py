"""DCC(1,1) (Engle 2002): the compiled likelihood equals the plain numpy one, the fit recovers a and b of a seeded
simulated DCC process, and ``estimate_covariance(method="dcc")`` is D R_{T+1} D with the GARCH volatilities."""

import numpy as np
import pandas as pd
import pytest

from qrp.data.covariance import estimate_covariance
from qrp.data.dcc import dcc_correlations, dcc_neg_loglik, fit_dcc, simulate_dcc

QBAR = np.array([[1.0, 0.5, 0.3], [0.5, 1.0, 0.4], [0.3, 0.4, 1.0]])


def _numpy_neg_loglik(z, a, b):
    corr, _ = dcc_correlations(z, a, b)
    chol = np.linalg.cholesky(corr)
    logdet = 2.0 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
    y = np.linalg.solve(chol, z[:, :, None])[:, :, 0]
    return 0.5 * np.mean(logdet + (y * y).sum(axis=1))


def test_compiled_likelihood_equals_numpy():
    z = simulate_dcc(300, QBAR, 0.05, 0.9, seed=1)
    for a, b in ((0.05, 0.9), (0.0, 0.0), (0.2, 0.5)):
        assert dcc_neg_loglik((a, b), z) == pytest.approx(_numpy_neg_loglik(z, a, b), rel=1e-12)
    assert dcc_neg_loglik((0.5, 0.6), z) == np.inf  # a + b >= 1: not stationary


def test_fit_recovers_a_and_b_of_a_simulated_process():
    z = simulate_dcc(2000, QBAR, 0.05, 0.90, seed=3)
    a, b, loglik = fit_dcc(z)
    assert abs(a - 0.05) < 0.015 and abs(b - 0.90) < 0.03
    # the estimate is the maximizer: at least as likely as the true parameters and as constant correlation
    assert loglik >= -dcc_neg_loglik((0.05, 0.90), z) - 1e-12
    assert loglik > -dcc_neg_loglik((0.0, 0.0), z)


def test_dcc_covariance_is_garch_volatilities_times_dcc_correlation():
    pytest.importorskip("arch")
    z = simulate_dcc(600, QBAR, 0.06, 0.88, seed=7)
    h = np.full(3, 1e-4)
    returns = np.empty_like(z)
    for t in range(len(z)):  # GARCH(1,1) volatilities on top of the DCC shocks
        returns[t] = np.sqrt(h) * z[t]
        h = 2e-6 + 0.08 * returns[t] ** 2 + 0.9 * h
    frame = pd.DataFrame(returns, columns=["a", "b", "c"])
    dcc = estimate_covariance(frame, method="dcc", periods_per_year=1)
    ccc = estimate_covariance(frame, method="garch", periods_per_year=1)
    np.testing.assert_allclose(np.diag(dcc), np.diag(ccc), rtol=1e-12)  # the same univariate forecasts D
    assert 0.0 < dcc.attrs["dcc_a"] < 0.2 and 0.6 < dcc.attrs["dcc_b"] < 1.0
    assert np.all(np.linalg.eigvalsh(dcc.to_numpy()) > 0)
    with pytest.raises(ValueError, match="at least 2 assets"):
        estimate_covariance(frame[["a"]], method="dcc", periods_per_year=1)
    with pytest.raises(ValueError):
        estimate_covariance(frame.iloc[:50], method="dcc", periods_per_year=1)


def test_fit_refuses_degenerate_input():
    with pytest.raises(ValueError, match="DCC needs"):
        fit_dcc(np.zeros((10, 1)))
    with pytest.raises(ValueError, match="DCC needs"):
        fit_dcc(np.full((10, 2), np.nan))
