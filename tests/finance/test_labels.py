"""Issue 22, item 1: labelled inputs of constrained risk budgeting and ``qrp.RiskParity`` are aligned by label
(a reversed Series gives the same portfolio as the aligned one) and mismatched labels are refused."""

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("cvxpy")

import qrp
from qrp.finance.constrained import constrained_risk_budgeting

S = qrp.factor_covariance(3, seed=1)
NAMES = list(S.columns)


def _returns(t=250, seed=0, columns=NAMES):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.multivariate_normal(np.zeros(len(columns)), S.to_numpy(), size=t), columns=columns)


def test_expected_returns_series_aligned_by_label():
    mu = pd.Series([0.02, 0.06, 0.1], index=S.columns)
    ref = constrained_risk_budgeting(S, expected_returns=mu)
    rev = constrained_risk_budgeting(S, expected_returns=mu[::-1])
    np.testing.assert_allclose(rev.weights, ref.weights, atol=1e-12)
    plain = constrained_risk_budgeting(S, expected_returns=mu.to_numpy())
    np.testing.assert_allclose(plain.weights, ref.weights, atol=1e-12)
    with pytest.raises(ValueError, match="expected_returns labels do not match"):
        constrained_risk_budgeting(S, expected_returns=pd.Series([0.02, 0.06, 0.1], index=["p", "q", "r"]))


def test_previous_weights_series_aligned_by_label():
    prev = pd.Series([0.6, 0.3, 0.1], index=S.columns)
    ref = constrained_risk_budgeting(S, turnover=0.2, previous_weights=prev)
    rev = constrained_risk_budgeting(S, turnover=0.2, previous_weights=prev[::-1])
    np.testing.assert_allclose(rev.weights, ref.weights, atol=1e-9)
    assert np.abs(ref.weights - prev.to_numpy()).sum() <= 0.2 + 1e-8
    with pytest.raises(ValueError, match="previous_weights labels do not match"):
        constrained_risk_budgeting(S, turnover=0.2, previous_weights=prev.rename({NAMES[0]: "zzz"}))


def test_bounds_frame_aligned_by_label():
    box = pd.DataFrame({"lo": [0.0, 0.0, 0.0], "hi": [0.2, 1.0, 1.0]}, index=S.columns)
    ref = constrained_risk_budgeting(S, bounds=box)
    rev = constrained_risk_budgeting(S, bounds=box[::-1])
    np.testing.assert_allclose(rev.weights, ref.weights, atol=1e-9)
    assert ref.weights[0] <= 0.2 + 1e-9
    with pytest.raises(ValueError, match="bounds labels do not match"):
        constrained_risk_budgeting(S, bounds=box.set_axis(["a", "b", "c"]))


@pytest.mark.parametrize("measure", ["cvar", "semi_deviation"])
def test_returns_columns_aligned_to_cov_labels(measure):
    x = _returns()
    ref = constrained_risk_budgeting(S, returns=x, risk_measure=measure)
    rev = constrained_risk_budgeting(S, returns=x[x.columns[::-1]], risk_measure=measure)
    np.testing.assert_allclose(rev.weights, ref.weights, atol=1e-8)
    assert rev.asset_names == tuple(NAMES)
    with pytest.raises(ValueError, match="returns columns labels do not match"):
        constrained_risk_budgeting(S, returns=x.set_axis(["a", "b", "c"], axis=1), risk_measure=measure)


X4 = pd.DataFrame(np.random.default_rng(3).normal(0, 0.01, size=(250, 4)) * [1, 1.5, 2, 3], columns=list("abcd"))


def test_estimator_risk_budget_series_aligned_by_label():
    rb = pd.Series([0.1, 0.2, 0.3, 0.4], index=list("abcd"))
    ref = qrp.RiskParity(risk_budget=rb).fit(X4)
    rev = qrp.RiskParity(risk_budget=rb[::-1]).fit(X4)
    np.testing.assert_allclose(rev.weights_, ref.weights_, atol=1e-12)
    rc = ref.risk_contributions_ / ref.risk_contributions_.sum()
    np.testing.assert_allclose(rc, rb.to_numpy(), atol=1e-8)
    with pytest.raises(ValueError, match="risk_budget labels do not match"):
        qrp.RiskParity(risk_budget=rb.set_axis(list("wxyz"))).fit(X4)


def test_estimator_weight_bounds_series_aligned_by_label():
    hi = pd.Series([0.15, 1.0, 1.0, 1.0], index=list("abcd"))
    ref = qrp.RiskParity(max_weights=hi).fit(X4)
    rev = qrp.RiskParity(max_weights=hi[::-1]).fit(X4)
    np.testing.assert_allclose(rev.weights_, ref.weights_, atol=1e-10)
    assert ref.weights_[0] <= 0.15 + 1e-12
    lo = pd.Series([0.0, 0.0, 0.0, 0.3], index=list("abcd"))
    ref = qrp.RiskParity(min_weights=lo).fit(X4)
    rev = qrp.RiskParity(min_weights=lo[::-1]).fit(X4)
    np.testing.assert_allclose(rev.weights_, ref.weights_, atol=1e-10)
    assert ref.weights_[3] >= 0.3 - 1e-12
    with pytest.raises(ValueError, match="max_weights labels do not match"):
        qrp.RiskParity(max_weights=hi.set_axis(list("wxyz"))).fit(X4)


def _sp_like(seed=5):
    """20 assets in three classes (3 equity, 5 fund, 12 bond), the equity block the most volatile."""
    rng = np.random.default_rng(seed)
    vol = np.r_[np.full(3, 0.03), np.full(5, 0.01), np.full(12, 0.004)]
    return pd.DataFrame(rng.normal(0, 1, size=(300, 20)) * vol, columns=[f"A{i}" for i in range(20)])


def test_estimator_string_inequality_is_an_inequality():
    """skfolio's equations_to_matrix returns the equality pair first: "Equity <= 0.6" must not bind at 0.6."""
    x = _sp_like()
    groups = [["Equity"] * 3 + ["Fund"] * 5 + ["Bond"] * 12]
    free = qrp.RiskParity().fit(x)
    ineq = qrp.RiskParity(groups=groups, linear_constraints=["Equity <= 0.6"]).fit(x)
    eq = qrp.RiskParity(groups=groups, linear_constraints=["Equity == 0.6"], formulation="homogeneous").fit(x)
    assert free.weights_[:3].sum() < 0.2
    np.testing.assert_allclose(ineq.weights_, free.weights_, atol=1e-7)
    assert eq.weights_[:3].sum() == pytest.approx(0.6, abs=1e-8)
    cap = round(free.weights_[:3].sum() / 2, 4)
    tight = qrp.RiskParity(groups=groups, linear_constraints=[f"Equity <= {cap}"]).fit(x)
    assert tight.weights_[:3].sum() == pytest.approx(cap, abs=1e-8)


def test_estimator_equations_over_asset_names_without_groups():
    x = _sp_like()
    free = qrp.RiskParity().fit(x)
    assert free.weights_[19] > 0.06
    capped = qrp.RiskParity(linear_constraints=["A19 <= 0.05"]).fit(x)
    assert capped.weights_[19] == pytest.approx(0.05, abs=1e-8)
    with pytest.raises(ValueError, match="DataFrame"):
        qrp.RiskParity(linear_constraints=["x0 <= 0.05"]).fit(x.to_numpy())


def test_estimator_skfolio_errors_are_value_errors():
    x = _sp_like()
    with pytest.raises(ValueError, match=r"equation 'Nope <= 0\.3'"):
        qrp.RiskParity(linear_constraints=["A1 <= 0.5", "Nope <= 0.3"]).fit(x)
    with pytest.raises(ValueError, match=r"equation 'A1 <= A2 <= 0\.3'"):
        qrp.RiskParity(linear_constraints=["A1 <= A2 <= 0.3"]).fit(x)
    flat = x.copy()
    flat["A4"] = 0.001
    with pytest.raises(ValueError, match=r"\['A4'\] have \(near\) zero variance"):
        qrp.RiskParity().fit(flat)


def test_infeasible_equality_message_points_to_homogeneous():
    """The R test-constraints case: no lambda makes sum x*(lambda) = 1 under the equality; homogeneous solves it."""
    s = 0.04 * np.array([[1, 0.5, -0.5], [0.5, 1, -0.5], [-0.5, -0.5, 1]])
    eq = ([[1.0, 1.0, 0.0]], [0.99])
    with pytest.raises(ValueError, match=r"no lambda makes the weights sum to 1.*formulation='homogeneous'"):
        constrained_risk_budgeting(s, equality_constraints=eq)
    res = constrained_risk_budgeting(s, equality_constraints=eq, formulation="homogeneous")
    assert res.weights[:2].sum() == pytest.approx(0.99, abs=1e-8)
