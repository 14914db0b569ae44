import numpy as np
import pandas as pd
import pytest

from qrp.data import covariance as C


def _returns(t=300, n=5, seed=0):
    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(n, n)) * 0.3 + np.eye(n)
    x = rng.normal(size=(t, n)) @ mix.T * 0.01 + 0.0005
    return pd.DataFrame(x, columns=[f"A{i}" for i in range(n)],
                        index=pd.bdate_range("2020-01-01", periods=t))


def test_sample_equals_numpy_times_periods_per_year():
    r = _returns()
    out = C.sample_covariance(r, periods_per_year=252)
    np.testing.assert_allclose(out.to_numpy(), np.cov(r.to_numpy(), rowvar=False) * 252, rtol=1e-13, atol=0)
    assert list(out.index) == list(out.columns) == list(r.columns)
    out0 = C.sample_covariance(r, periods_per_year=1, ddof=0)
    np.testing.assert_allclose(out0.to_numpy(), np.cov(r.to_numpy(), rowvar=False, ddof=0), rtol=1e-13)


def test_ewma_matches_recursion_by_hand():
    r = _returns(t=120, n=4)
    lam = 0.9
    x = r.to_numpy()
    s = np.outer(x[0], x[0])
    for t in range(1, len(x)):
        s = lam * s + (1 - lam) * np.outer(x[t], x[t])
    out = C.ewma_covariance(r, periods_per_year=12, decay=lam)
    np.testing.assert_allclose(out.to_numpy(), 12 * s, rtol=1e-12)
    np.testing.assert_allclose(C.ewma_weights(50, 0.94).sum(), 1.0, rtol=1e-14)
    xc = x - x.mean(axis=0)
    s = np.outer(xc[0], xc[0])
    for t in range(1, len(xc)):
        s = lam * s + (1 - lam) * np.outer(xc[t], xc[t])
    np.testing.assert_allclose(C.ewma_covariance(r, periods_per_year=1, decay=lam, demean=True).to_numpy(), s,
                               rtol=1e-12)


def test_ledoit_wolf_matches_formula_and_sklearn():
    from sklearn.covariance import ledoit_wolf

    r = _returns(t=60, n=8, seed=3)
    x = r.to_numpy() - r.to_numpy().mean(axis=0)
    t, n = x.shape
    s = x.T @ x / t
    mu = np.trace(s) / n
    delta = np.sum((s - mu * np.eye(n)) ** 2) / n
    beta = sum(np.sum((np.outer(row, row) - s) ** 2) for row in x) / t**2 / n
    shrink = min(beta, delta) / delta
    expected = shrink * mu * np.eye(n) + (1 - shrink) * s  # Ledoit & Wolf (2004), lemmas 3.2-3.4
    out = C.ledoit_wolf_covariance(r, periods_per_year=252).to_numpy()
    np.testing.assert_allclose(out, 252 * expected, rtol=1e-10)
    np.testing.assert_allclose(out, 252 * ledoit_wolf(r.to_numpy())[0], rtol=1e-12)


def test_pca_factor_model_structure():
    r = _returns(t=200, n=6, seed=5)
    k = 2
    out = C.pca_factor_covariance(r, periods_per_year=1, n_factors=k).to_numpy()
    s = np.cov(r.to_numpy(), rowvar=False)
    np.testing.assert_allclose(np.diag(out), np.diag(s), rtol=1e-12)
    eig, vec = np.linalg.eigh(s)
    systematic = vec[:, -k:] @ np.diag(eig[-k:]) @ vec[:, -k:].T
    off = ~np.eye(6, dtype=bool)
    np.testing.assert_allclose(out[off], systematic[off], rtol=1e-10, atol=1e-15)


def test_garch_ccc_recovers_constant_correlation():
    rng = np.random.default_rng(11)
    t, rho = 2000, 0.5
    corr = np.array([[1, rho, rho], [rho, 1, rho], [rho, rho, 1]])
    z = rng.normal(size=(t, 3)) @ np.linalg.cholesky(corr).T
    omega, alpha, beta = 1e-6, 0.08, 0.9
    eps = np.empty_like(z)
    var = np.full(3, omega / (1 - alpha - beta))
    for i in range(t):
        eps[i] = np.sqrt(var) * z[i]
        var = omega + alpha * eps[i] ** 2 + beta * var
    r = pd.DataFrame(eps, columns=["x", "y", "z"])
    out = C.garch_ccc_covariance(r, periods_per_year=252).to_numpy()
    sd = np.sqrt(np.diag(out))
    est_corr = out / np.outer(sd, sd)
    assert np.all(np.abs(est_corr[~np.eye(3, dtype=bool)] - rho) < 0.05)
    # annualized one-step volatility of a GARCH with unconditional variance 5e-5: within a factor 3 of it
    assert np.all(np.abs(np.log(np.diag(out) / (252 * 5e-5))) < np.log(3))


@pytest.mark.parametrize("method,opts", [("sample", {}), ("ledoit_wolf", {}), ("ewma", {}), ("pca", {"n_factors": 2}),
                                         ("garch", {})])
def test_outputs_are_psd_labelled_and_inputs_untouched(method, opts):
    r = _returns(t=150, n=4, seed=2)
    before = r.copy()
    out = C.estimate_covariance(r, method=method, periods_per_year=252, **opts)
    assert isinstance(out, pd.DataFrame) and list(out.columns) == list(r.columns)
    np.testing.assert_array_equal(out.to_numpy(), out.to_numpy().T)
    assert np.linalg.eigvalsh(out.to_numpy())[0] >= 0
    pd.testing.assert_frame_equal(r, before)


def test_nan_rows_raise_or_drop():
    r = _returns(t=50, n=3)
    r.iloc[7, 1] = np.nan
    with pytest.raises(ValueError, match=r"NaN at row .* asset 'A1'"):
        C.sample_covariance(r, periods_per_year=252)
    dropped = C.sample_covariance(r, periods_per_year=252, nan_policy="drop")
    np.testing.assert_allclose(dropped.to_numpy(), 252 * np.cov(r.dropna().to_numpy(), rowvar=False), rtol=1e-13)


@pytest.mark.parametrize(
    "mutate,match",
    [
        (lambda r: r.iloc[:4], "too few observations: 4 rows for 5 assets"),
        (lambda r: r.assign(A2=0.001), r"asset\(s\) \['A2'\] are constant"),
        (lambda r: r.replace(r.iloc[3, 0], np.inf), "inf at row"),
    ],
)
def test_bad_returns(mutate, match):
    with pytest.raises(ValueError, match=match):
        C.sample_covariance(mutate(_returns(t=40)), periods_per_year=252)


def test_bad_options():
    r = _returns(t=40)
    with pytest.raises(ValueError, match="unknown covariance method 'shrunk'"):
        C.estimate_covariance(r, method="shrunk", periods_per_year=252)
    with pytest.raises(ValueError, match=r"does not take option\(s\) \['decay'\]"):
        C.estimate_covariance(r, method="sample", periods_per_year=252, decay=0.9)
    with pytest.raises(ValueError, match="periods_per_year must be a finite number > 0, got 0"):
        C.sample_covariance(r, periods_per_year=0)
    with pytest.raises(ValueError, match="decay must be in"):
        C.ewma_covariance(r, periods_per_year=252, decay=1.0)
    with pytest.raises(ValueError, match="n_factors must be smaller than the number of assets 5, got 5"):
        C.pca_factor_covariance(r, periods_per_year=252, n_factors=5)
    with pytest.raises(ValueError, match="too few observations: 40 rows"):
        C.garch_ccc_covariance(r, periods_per_year=252)
    with pytest.raises(ValueError, match="2-D"):
        C.sample_covariance(np.ones(10), periods_per_year=252)


def test_estimator_objects():
    from sklearn.covariance import OAS, LedoitWolf

    r = _returns()
    lw = LedoitWolf()
    out = C.estimate_covariance(r, method=lw, periods_per_year=252)
    np.testing.assert_allclose(out.to_numpy(), C.ledoit_wolf_covariance(r, periods_per_year=252).to_numpy(),
                               rtol=1e-13)
    assert list(out.columns) == list(r.columns) and not hasattr(lw, "covariance_")  # a clone is fitted
    np.testing.assert_allclose(C.estimate_covariance(r, method=OAS(), periods_per_year=1).to_numpy(),
                               OAS().fit(r.to_numpy()).covariance_, rtol=1e-13)
    skfolio_moments = pytest.importorskip("skfolio.moments")
    skfolio_prior = pytest.importorskip("skfolio.prior")
    shrunk = skfolio_moments.ShrunkCovariance(shrinkage=0.3)
    ref = shrunk.fit(r.to_numpy()).covariance_
    np.testing.assert_allclose(C.estimate_covariance(r, method=shrunk, periods_per_year=1).to_numpy(), ref,
                               rtol=1e-13)
    prior = skfolio_prior.EmpiricalPrior(covariance_estimator=skfolio_moments.ShrunkCovariance(shrinkage=0.3))
    np.testing.assert_allclose(C.estimate_covariance(r, method=prior, periods_per_year=1).to_numpy(), ref,
                               rtol=1e-13)
    with pytest.raises(ValueError, match="takes only the option nan_policy"):
        C.estimate_covariance(r, method=lw, periods_per_year=1, decay=0.9)
