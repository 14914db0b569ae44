"""Constrained risk budgeting (qrp.finance.constrained) against the peers' documented and computed numbers."""

import numpy as np
import pytest

pytest.importorskip("cvxpy")

import qrp
from qrp.finance.constrained import constrained_risk_budgeting
from qrp.finance.constraint_set import group_constraints
from qrp.finance.risk_measures import cvar_tail_weights, euler_contributions

# pyrb's notebooks/ConstrainedRiskBudgeting.ipynb ("Reproducing Table 9 from the paper Constrained Risk Budgeting
# Portfolios", Richard & Roncalli 2019), github.com/jcrichard/pyrb at 250054e: inputs and printed outputs (in %).
VOL = np.array([0.05, 0.05, 0.07, 0.1, 0.15, 0.15, 0.15, 0.18])
COR = np.array([[100, 80, 60, -20, -10, -20, -20, -20],
                [80, 100, 40, -20, -20, -10, -20, -20],
                [60, 40, 100, 50, 30, 20, 20, 30],
                [-20, -20, 50, 100, 60, 60, 50, 60],
                [-10, -20, 30, 60, 100, 90, 70, 70],
                [-20, -10, 20, 60, 90, 100, 60, 70],
                [-20, -20, 20, 50, 70, 60, 100, 70],
                [-20, -20, 30, 60, 70, 70, 70, 100]]) / 100
COV = np.outer(VOL, VOL) * COR
C1 = np.array([[0, 0, 0, 0, -1.0, -1.0, -1.0, -1.0]])
C2 = np.array([[0, 0, 0, 0, -1.0, -1.0, -1.0, -1.0], [1, -1, 0, 0, 1, -1, 0, 0]])
PYRB = [  # (kwargs, weights %, risk contributions %) as printed by pyrb (ADMM, ~1e-4 % accurate)
    ({}, [26.8306, 28.6769, 11.4095, 9.7985, 5.6135, 5.9029, 6.656, 5.1121], [12.5] * 8),
    ({"linear_constraints": (C1, [-0.3])}, [25.7859, 27.4087, 9.5153, 7.2904, 7.0579, 7.7127, 9.2265, 6.0027],
     [8.6357, 8.6355, 8.6356, 8.6356, 15.9089, 16.5836, 18.1435, 14.8215]),
    ({"linear_constraints": (C2, [-0.3, -0.05])},
     [24.5238, 28.6911, 9.5175, 7.2674, 6.9707, 7.8033, 9.2305, 5.9956],
     [8.1646, 9.1316, 8.6103, 8.6103, 15.6929, 16.8225, 18.1567, 14.8111]),
    ({"linear_constraints": (C2, [-0.3, -0.05]), "expected_returns": [-0.1, 0.05, 0, 0, 0.2, 0.1, 0, -0.1],
      "risk_aversion": 2.0},
     [0.1575, 69.2533, 0.3023, 0.2868, 29.4809, 0.2412, 0.1871, 0.091],
     [2.6239, 2.6173, 2.6239, 2.6239, 80.2721, 3.259, 3.1166, 2.8634]),
]


@pytest.mark.parametrize("case", range(len(PYRB)))
def test_pyrb_table9(case):
    kwargs, weights, rcs = PYRB[case]
    res = constrained_risk_budgeting(COV, **kwargs)
    assert res.converged
    np.testing.assert_allclose(res.weights * 100, weights, atol=1e-3)
    # pyrb's ADMM leaves its last case's contributions 7e-3 % apart where the KKT conditions make them equal
    np.testing.assert_allclose(res.risk_contributions / res.risk_contributions.sum() * 100, rcs,
                               atol=1e-2 if case == 3 else 5e-3)
    if "linear_constraints" in kwargs:
        c, d = kwargs["linear_constraints"]
        assert np.all(c @ res.weights <= np.asarray(d) + 1e-8)
    if case in (1, 3):  # KKT: the four assets outside the binding group constraint share one contribution level
        rc = res.risk_contributions
        np.testing.assert_allclose(rc[:4], rc[0], rtol=1e-7)


def test_unconstrained_equals_risk_parity_to_solver_precision():
    res = constrained_risk_budgeting(COV)
    np.testing.assert_allclose(res.weights, qrp.risk_parity(COV).weights, atol=1e-9)
    assert res.rc_error < 1e-8


def test_pyrb_bounds_case_equals_bounded_solver():
    # pyrb tests/test_risk_budgeting.py::test_cerb: bounds, equal budgets; expected RC[1] = 0.2455, x[1] = 0.2
    corr = np.array([[1, 0.1, 0.4, 0.5, 0.5], [0.1, 1, 0.7, 0.4, 0.4], [0.4, 0.7, 1, 0.8, 0.05],
                     [0.5, 0.4, 0.8, 1, 0.1], [0.5, 0.4, 0.05, 0.1, 1]])
    vol = [0.15, 0.20, 0.25, 0.3, 0.1]
    cov = corr * np.outer(vol, vol)
    bounds = np.array([[0.2, 0.3], [0.2, 0.3], [0.05, 0.15], [0.05, 0.15], [0.25, 0.35]])
    res = constrained_risk_budgeting(cov, bounds=bounds)
    np.testing.assert_allclose((res.risk_contributions / res.risk_contributions.sum())[1], 0.2455, atol=5e-5)
    np.testing.assert_allclose(res.weights[1], 0.2, atol=1e-8)
    np.testing.assert_allclose(res.weights, qrp.risk_parity(cov, bounds=bounds).weights, atol=1e-7)


def test_groups_equal_linear_rows():
    names = tuple("abcdefgh")
    c, d = group_constraints({"risky": (list("efgh"), 0.3, None), "cap": ([0, 1], None, 0.5)}, names)
    np.testing.assert_array_equal(c[0], C1[0])
    a = constrained_risk_budgeting(COV, groups={"risky": ([4, 5, 6, 7], 0.3, None)})
    b = constrained_risk_budgeting(COV, linear_constraints=(C1, [-0.3]))
    np.testing.assert_allclose(a.weights, b.weights, atol=1e-9)
    assert d.tolist() == [-0.3, 0.5]


def test_signed_long_short_erc():
    signs = np.array([1, 1, 1, 1, 1, 1, 1, -1.0])
    res = constrained_risk_budgeting(COV, signs=signs)
    assert np.all(np.sign(res.weights) == signs)
    assert res.rc_error < 1e-8 and res.converged
    d = np.diag(signs)
    y = qrp.risk_parity(d @ COV @ d).weights  # Bai et al. 2016: ERC of D S D, then w = D y normalized to net 1
    np.testing.assert_allclose(res.weights, signs * y / (signs * y).sum(), atol=1e-8)
    assert np.abs(res.weights).sum() > 1.6
    lev = constrained_risk_budgeting(COV, signs=signs, leverage=1.5)
    assert np.abs(lev.weights).sum() <= 1.5 + 1e-8 and lev.converged
    with pytest.raises(ValueError, match="no lambda makes"):  # as lambda grows, sum(x) -> 1.2 (7/8 - 1/8) < 1
        constrained_risk_budgeting(COV, signs=signs, leverage=1.2)


def test_turnover_and_equality():
    prev = np.full(8, 1 / 8)
    res = constrained_risk_budgeting(COV, turnover=0.1, previous_weights=prev)
    assert abs(np.abs(res.weights - prev).sum() - 0.1) < 1e-7  # binds: the free optimum is farther away
    eq = constrained_risk_budgeting(COV, equality_constraints=(np.eye(8)[:1], [0.2]))
    np.testing.assert_allclose(eq.weights[0], 0.2, atol=1e-9)


def test_bad_input():
    with pytest.raises(ValueError, match="turnover needs previous_weights"):
        constrained_risk_budgeting(COV, turnover=0.1)
    with pytest.raises(ValueError, match="signs"):
        constrained_risk_budgeting(COV, signs=[1, 0, 1, 1, 1, 1, 1, 1])
    with pytest.raises(ValueError, match="fix the total weight"):
        constrained_risk_budgeting(COV, equality_constraints=(np.ones((1, 8)), [1.0]))
    with pytest.raises(ValueError, match=r"no lambda|no solution"):
        constrained_risk_budgeting(COV, bounds=(0.0, 0.1))
    with pytest.raises(ValueError, match="needs the scenario returns"):
        constrained_risk_budgeting(COV, risk_measure="cvar")
    with pytest.raises(ValueError, match="unknown risk_measure"):
        constrained_risk_budgeting(COV, risk_measure="var")


@pytest.fixture(scope="module")
def sp500():
    from qrp.data.returns import load_sp500_returns

    return load_sp500_returns(start="2020-01-01", end="2021-12-31").iloc[:, :8]


@pytest.mark.parametrize("measure", ["cvar", "semi_deviation"])
def test_risk_measures_against_skfolio(sp500, measure):
    from skfolio import RiskMeasure
    from skfolio.optimization import RiskBudgeting

    res = constrained_risk_budgeting(returns=sp500, risk_measure=measure)
    rm = {"cvar": RiskMeasure.CVAR, "semi_deviation": RiskMeasure.SEMI_DEVIATION}[measure]
    sk = RiskBudgeting(risk_measure=rm).fit(sp500)
    np.testing.assert_allclose(res.weights, sk.weights_, atol=2e-5)  # skfolio's default Clarabel tolerances
    assert res.rc_error < 1e-6
    pf = sk.predict(sp500)
    np.testing.assert_allclose(res.stats["risk"], getattr(pf, measure), rtol=1e-4)
    budgets = np.linspace(1, 2, 8) / np.linspace(1, 2, 8).sum()
    rb = constrained_risk_budgeting(returns=sp500, budgets=budgets, risk_measure=measure)
    skb = RiskBudgeting(risk_measure=rm, risk_budget=budgets).fit(sp500)
    np.testing.assert_allclose(rb.weights, skb.weights_, atol=2e-5)


def test_cvar_contributions_are_euler():
    rng = np.random.default_rng(3)
    r = rng.standard_t(4, size=(400, 5)) * 0.01
    w = rng.dirichlet(np.ones(5))
    rc = euler_contributions(w, "cvar", returns=r, alpha=0.9)
    q = cvar_tail_weights(-(r @ w), 0.9)
    assert q.sum() == pytest.approx(1.0)
    from qrp.finance.strategies import historical_cvar

    assert rc.sum() == pytest.approx(historical_cvar(w, r, alpha=0.9), rel=1e-12)
    h = 1e-7  # away from ties the historical CVaR is linear in w locally: exact finite differences
    grad = [(historical_cvar(w + h * e, r, alpha=0.9) - historical_cvar(w, r, alpha=0.9)) / h for e in np.eye(5)]
    np.testing.assert_allclose(rc, w * np.array(grad), rtol=1e-5)


@pytest.mark.parametrize("measure", ["volatility", "cvar"])
def test_homogeneous_formulation_reproduces_skfolio_constraints(sp500, measure):
    """skfolio's RiskBudgeting with weight bounds and a group constraint is the homogeneous form; the Richard &
    Roncalli form is a different portfolio once a constraint binds (documented in the module docstring)."""
    from skfolio import RiskMeasure
    from skfolio.optimization import RiskBudgeting

    rm = {"volatility": RiskMeasure.VARIANCE, "cvar": RiskMeasure.CVAR}[measure]
    cov = sp500.cov() if measure == "volatility" else None
    groups = np.array([["tech"] * 4 + ["other"] * 4])
    cases = [({"bounds": (0.05, 0.2)}, {"min_weights": 0.05, "max_weights": 0.2}),
             ({"groups": {"tech": ([0, 1, 2, 3], None, 0.3)}},
              {"groups": groups, "linear_constraints": ["tech <= 0.3"]})]
    for ours, theirs in cases:
        sk = RiskBudgeting(risk_measure=rm, **theirs).fit(sp500)
        hom = constrained_risk_budgeting(cov, returns=sp500, risk_measure=measure, formulation="homogeneous", **ours)
        assert hom.converged
        np.testing.assert_allclose(hom.weights, sk.weights_, atol=2e-5)
        rr = constrained_risk_budgeting(cov, returns=sp500, risk_measure=measure, **ours)
        assert np.abs(rr.weights - sk.weights_).max() > 1e-4
