"""Issue 22: hypothesis on ``constrained_risk_budgeting`` with labelled inputs in shuffled order, covariances scaled
from 1e-300 to 1e300 and random feasible constraints, checked against an independent evaluation of the risk
contributions and of every constraint. A returned result must be right (or say ``converged=False``); a
``ValueError`` is an allowed answer. ``QRP_HYPOTHESIS_EXAMPLES`` sets the number of examples (1000 by hand for
the issue; a few dozen in the suite)."""

import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("cvxpy")

from qrp.finance.constrained import constrained_risk_budgeting

EXAMPLES = int(os.environ.get("QRP_HYPOTHESIS_EXAMPLES", "20"))
#: constraint slack and accuracy accepted of a converged result (Clarabel's tolerances are 1e-12 on a problem scaled
#: to O(1); these leave room for the scaling back by 1e+-300).
FEAS_TOL = 1e-7
RC_RTOL = 1e-9


@st.composite
def problems(draw):
    n = draw(st.integers(2, 5))
    seed = draw(st.integers(0, 2**32 - 1))
    exponent = draw(st.integers(-300, 300))
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, n)) * rng.uniform(0.1, 1.0, n)
    s = (a @ a.T + np.diag(rng.uniform(0.05, 0.5, n))) * 10.0**exponent
    s = 0.5 * (s + s.T)
    b = rng.uniform(0.2, 1.0, n)
    b /= b.sum()
    names = [f"asset_{k}" for k in rng.permutation(n)]
    kwargs = {}
    cons = {}
    if draw(st.booleans()):  # bounds around the equal weight, so that it stays feasible
        lo = rng.uniform(0.0, 0.9 / n, n)
        hi = rng.uniform(1.1 / n, 1.0, n)
        cons["bounds"] = np.column_stack([lo, hi])
    if draw(st.booleans()):  # one random inequality with the equal weight strictly inside
        c = rng.normal(size=(1, n))
        d = c @ np.full(n, 1.0 / n) + rng.uniform(0.01, 0.5)
        cons["linear"] = (c, d)
    if draw(st.booleans()):
        kwargs["leverage"] = 1.0 + float(rng.uniform(0.0, 1.0))
    return s, b, names, cons, kwargs, rng.permutation(n)


def _independent_rc(w, s):
    u = s / np.max(np.diag(s))  # scale-free: contributions in units of sqrt(max variance)
    uw = u @ w
    return w * uw / np.sqrt(w @ uw) * np.sqrt(np.max(np.diag(s)))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(problems())
def test_constrained_risk_budgeting_against_independent_evaluation(problem):
    s, b, names, cons, kwargs, perm = problem
    cov = pd.DataFrame(s, index=names, columns=names)
    budgets = pd.Series(b, index=names).iloc[perm]  # labelled, in another order
    args = dict(kwargs)
    if "bounds" in cons:
        args["bounds"] = pd.DataFrame(cons["bounds"], index=names, columns=["lo", "hi"]).iloc[perm]
    if "linear" in cons:
        args["linear_constraints"] = cons["linear"]
    try:
        res = constrained_risk_budgeting(cov, budgets, **args)
    except ValueError:
        return  # refused: allowed
    w = res.weights
    assert res.asset_names == tuple(names)
    assert np.all(np.isfinite(w)) and abs(w.sum() - 1.0) <= 1e-9
    rc = _independent_rc(w, s)
    np.testing.assert_allclose(res.risk_contributions, rc, rtol=RC_RTOL, atol=RC_RTOL * np.abs(rc).max())
    err = float(np.max(np.abs(rc / rc.sum() - b)))
    assert res.rc_error == pytest.approx(err, abs=1e-9)
    assert res.volatility == pytest.approx(float(rc.sum()), rel=1e-9)
    if not res.converged:
        return
    assert np.all(w >= -FEAS_TOL)  # long-only by default
    if "bounds" in cons:
        lo, hi = cons["bounds"].T
        assert np.all(w >= lo - FEAS_TOL) and np.all(w <= hi + FEAS_TOL)
    if "linear" in cons:
        c, d = cons["linear"]
        assert np.all(c @ w <= d + FEAS_TOL * max(1.0, np.abs(c).sum()))
    if "leverage" in kwargs:
        assert np.abs(w).sum() <= kwargs["leverage"] + FEAS_TOL
    if not cons and "leverage" not in kwargs:  # unconstrained: the budgets exactly
        assert err <= 1e-8, err
    else:  # KKT of Richard & Roncalli: assets away from every bound share one RC_i / b_i
        free = np.ones(len(b), dtype=bool)
        if "bounds" in cons:
            lo, hi = cons["bounds"].T
            free &= (w > lo + 1e-6) & (w < hi - 1e-6)
        binding = "linear" in cons and float((cons["linear"][0] @ w - cons["linear"][1])[0]) > -1e-6
        if free.sum() >= 2 and not binding:
            ratio = rc[free] / b[free]
            assert np.ptp(ratio) <= 1e-6 * ratio.mean(), (ratio, w)
