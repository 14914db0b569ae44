"""qrp.RiskParity as a scikit-learn / skfolio estimator."""

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("skfolio")

from skfolio import MultiPeriodPortfolio, Portfolio, RiskMeasure
from skfolio.model_selection import WalkForward, cross_val_predict
from skfolio.moments import ShrunkCovariance
from skfolio.optimization import RiskBudgeting
from skfolio.prior import EmpiricalPrior
from sklearn.covariance import LedoitWolf
from sklearn.model_selection import GridSearchCV
from sklearn.utils.estimator_checks import parametrize_with_checks

import qrp
from qrp.finance.estimator import RiskParity

# predict returns a skfolio Portfolio (skfolio's contract for optimizers), which this check indexes as an array.
EXPECTED_FAILED = {"check_methods_sample_order_invariance": "predict returns a skfolio Portfolio, not an array"}


@parametrize_with_checks([RiskParity()], expected_failed_checks=lambda est: EXPECTED_FAILED)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def returns():
    from qrp.data.returns import load_sp500_returns

    return load_sp500_returns(start="2019-01-01", end="2020-12-31").iloc[:, :8]


def test_lazy_export():
    assert qrp.RiskParity is RiskParity
    assert "RiskParity" in qrp.__all__


def test_fit_matches_risk_parity_and_skfolio(returns):
    est = RiskParity().fit(returns)
    ref = qrp.risk_parity(returns.cov())  # EmpiricalPrior: the sample covariance (ddof 1)
    np.testing.assert_allclose(est.weights_, ref.weights, atol=1e-12)
    assert est.rc_error_ < 1e-10
    np.testing.assert_allclose(est.risk_contributions_.sum(), np.sqrt(ref.weights @ returns.cov() @ ref.weights))
    sk = RiskBudgeting(risk_measure=RiskMeasure.STANDARD_DEVIATION).fit(returns)
    np.testing.assert_allclose(est.weights_, sk.weights_, atol=2e-5)  # skfolio's own rc_error is ~1e-5
    pf = est.predict(returns)
    assert isinstance(pf, Portfolio)
    np.testing.assert_allclose(pf.returns, returns.to_numpy() @ est.weights_)
    assert list(est.feature_names_in_) == list(returns.columns)
    assert est.result_.asset_names == tuple(returns.columns)


@pytest.mark.parametrize("prior", [LedoitWolf(), ShrunkCovariance(shrinkage=0.2),
                                   EmpiricalPrior(covariance_estimator=ShrunkCovariance(shrinkage=0.2))])
def test_prior_estimators(returns, prior):
    est = RiskParity(prior_estimator=prior).fit(returns)
    cov = (LedoitWolf().fit(returns.to_numpy()).covariance_ if isinstance(prior, LedoitWolf)
           else ShrunkCovariance(shrinkage=0.2).fit(returns).covariance_)
    np.testing.assert_allclose(est.weights_, qrp.risk_parity(cov).weights, atol=1e-12)
    assert prior.__dict__.get("covariance_") is None  # the caller's estimator is cloned, never fitted


def test_budgets_bounds_and_constraints(returns):
    b = np.arange(1.0, 9.0)
    est = RiskParity(risk_budget=b, max_weights=0.2).fit(returns)
    assert est.weights_.max() <= 0.2 + 1e-12
    ref = qrp.risk_parity(returns.cov(), b / b.sum(), bounds=(0.0, 0.2))
    np.testing.assert_allclose(est.weights_, ref.weights, atol=1e-12)
    groups = np.array([["tech"] * 4 + ["other"] * 4])
    est = RiskParity(linear_constraints=["tech <= 0.3"], groups=groups).fit(returns)
    assert est.weights_[:4].sum() <= 0.3 + 1e-8 and est.result_.solver == "clarabel"
    eq = RiskParity(linear_constraints=["tech == 0.3"], groups=groups).fit(returns)
    np.testing.assert_allclose(eq.weights_[:4].sum(), 0.3, atol=1e-8)
    hom = RiskParity(linear_constraints=["tech <= 0.3"], groups=groups, formulation="homogeneous").fit(returns)
    sk = RiskBudgeting(risk_measure=RiskMeasure.VARIANCE, linear_constraints=["tech <= 0.3"], groups=groups)
    np.testing.assert_allclose(hom.weights_, sk.fit(returns).weights_, atol=2e-5)
    with pytest.raises(ValueError, match="solver 'newton' handles volatility"):
        RiskParity(solver="newton", linear_constraints=["tech <= 0.3"], groups=groups).fit(returns)
    with pytest.raises(ValueError, match="unknown solver"):
        RiskParity(solver="nope").fit(returns)


def test_turnover(returns):
    prev = np.full(8, 1 / 8)
    free = RiskParity().fit(returns).weights_
    assert np.abs(free - prev).sum() > 0.05
    est = RiskParity(max_turnover=0.05, previous_weights=prev).fit(returns)
    assert np.abs(est.weights_ - prev).sum() <= 0.05 + 1e-8


def test_cross_val_predict_walk_forward(returns):
    cv = WalkForward(train_size=120, test_size=60)
    mpp = cross_val_predict(RiskParity(), returns, cv=cv)
    assert isinstance(mpp, MultiPeriodPortfolio)
    splits = list(cv.split(returns))
    assert len(mpp.portfolios) == len(splits)
    train, test = splits[1]
    w = qrp.risk_parity(returns.iloc[train].cov()).weights
    np.testing.assert_allclose(mpp.portfolios[1].weights, w, atol=1e-12)
    np.testing.assert_allclose(mpp.portfolios[1].returns, returns.iloc[test].to_numpy() @ w)


def test_grid_search_over_solver(returns):
    cv = WalkForward(train_size=120, test_size=60)
    grid = GridSearchCV(RiskParity(), {"solver": ["auto", "newton", "clarabel"]}, cv=cv).fit(returns)
    scores = grid.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores))
    np.testing.assert_allclose(scores, scores[0], atol=1e-4)  # the same portfolio from three solvers
    assert grid.best_estimator_.weights_.shape == (8,)


def test_cvar_estimator_matches_skfolio(returns):
    est = RiskParity(risk_measure="cvar").fit(returns)
    sk = RiskBudgeting(risk_measure=RiskMeasure.CVAR).fit(returns)
    np.testing.assert_allclose(est.weights_, sk.weights_, atol=2e-6)
    assert est.rc_error_ < 1e-8


def test_bad_input_names_the_parameter(returns):
    with pytest.raises(ValueError, match="risk_budget"):
        RiskParity(risk_budget=[1.0, -1.0]).fit(returns.iloc[:, :2])
    with pytest.raises(ValueError, match=r"equation 'a <= 0\.3'.*'a' is missing"):  # not an asset name of X
        RiskParity(linear_constraints=["a <= 0.3"]).fit(returns)
    frame = pd.DataFrame(returns)
    before = frame.copy()
    RiskParity().fit(frame)
    pd.testing.assert_frame_equal(frame, before)
