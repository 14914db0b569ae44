"""Invariances of the default solver as hypothesis property tests."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from qrp.api import risk_parity
from qrp.data.synthetic import gaussian_factor_covariance

SETTINGS = settings(max_examples=25, deadline=None)


@st.composite
def problems(draw):
    n = draw(st.integers(2, 40))
    seed = draw(st.integers(0, 2**31 - 1))
    loading = draw(st.sampled_from([0.05, 0.2]))
    cov = gaussian_factor_covariance(n, loading_scale=loading, seed=seed)
    b = np.random.default_rng(seed).uniform(0.2, 1.0, n)
    return cov, b / b.sum(), seed


@SETTINGS
@given(problems())
def test_permuting_assets_permutes_weights(problem):
    cov, b, seed = problem
    perm = np.random.default_rng(seed + 1).permutation(len(b))
    base = risk_parity(cov, b)
    permuted = risk_parity(cov[np.ix_(perm, perm)], b[perm])
    assert base.rc_error <= 1e-10 and permuted.rc_error <= 1e-10
    np.testing.assert_allclose(permuted.weights, base.weights[perm], rtol=1e-8)


@SETTINGS
@given(problems(), st.floats(1e-6, 1e4))
def test_scaling_covariance_leaves_weights_unchanged(problem, factor):
    cov, b, _ = problem
    base = risk_parity(cov, b)
    scaled = risk_parity(cov * factor, b)
    assert scaled.rc_error <= 1e-10
    np.testing.assert_allclose(scaled.weights, base.weights, rtol=1e-8)
    np.testing.assert_allclose(scaled.volatility, base.volatility * np.sqrt(factor), rtol=1e-8)


@SETTINGS
@given(problems())
def test_risk_shares_match_budgets(problem):
    cov, b, _ = problem
    res = risk_parity(cov, b)
    assert res.converged
    np.testing.assert_allclose(res.risk_contributions.sum(), res.volatility, rtol=1e-12)
    np.testing.assert_allclose(res.risk_contributions / res.volatility, b, atol=1e-10)
    np.testing.assert_allclose(res.weights.sum(), 1.0, rtol=1e-13)
    assert np.all(res.weights > 0)
