"""Issue 9, API half: no silent wrong answer from the core API (each case a regression test)."""

from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import qrp
from qrp.core import validation
from qrp.core.validation import (
    MAX_BITS,
    MAX_ITERATIONS,
    MAX_ROUNDS,
    ValidatedProblem,
    bounded_int,
    check_seed,
    validate_problem,
)

COV = np.array([[0.04, 0.01, 0.0], [0.01, 0.09, 0.02], [0.0, 0.02, 0.16]])
NAMES = ["a", "b", "c"]
COV_DF = pd.DataFrame(COV, index=NAMES, columns=NAMES)


# --- non-finite results are errors, never converged -------------------------------------------------------------

@pytest.mark.parametrize("kwargs", [
    {"cov": [[1.0, -1.0], [-1.0, 1.0]], "check_psd": False},
    {"cov": COV, "target_volatility": 1e308},
])
def test_non_finite_result_is_an_error(kwargs):
    with pytest.raises(ValueError, match="not finite"):
        qrp.risk_parity(**kwargs)


def test_extreme_leverage_is_exact_not_overflowed():
    base = qrp.risk_parity(COV)
    big = qrp.risk_parity(COV, leverage=1e308)
    np.testing.assert_allclose(big.weights, base.weights * 1e308, rtol=1e-14)
    assert np.isfinite(big.volatility) and big.volatility == pytest.approx(base.volatility * 1e308, rel=1e-14)
    tiny = qrp.risk_parity(COV, leverage=1e-300, target_volatility=0.1)
    assert tiny.volatility == pytest.approx(0.1, rel=1e-14)
    assert np.sqrt(tiny.weights @ COV @ tiny.weights) == pytest.approx(0.1, rel=1e-14)
    np.testing.assert_allclose(tiny.weights / tiny.weights.sum(), base.weights, rtol=1e-12)


def test_fraction_leverage_is_accepted():
    res = qrp.risk_parity(COV, leverage=Fraction(1, 2))
    assert res.weights.sum() == pytest.approx(0.5, rel=1e-14)


@pytest.mark.parametrize("bad", [True, "2", float("nan"), float("inf"), -1.0, 0, 10**400])
def test_bad_leverage(bad):
    with pytest.raises(ValueError, match="leverage"):
        qrp.risk_parity(COV, leverage=bad)


# --- seeds and integers, validated once -------------------------------------------------------------------------

@pytest.mark.parametrize("solver", ["auto", "ccd", "newton", "slsqp", "exact"])
def test_negative_seed_rejected_by_every_solver(solver):
    with pytest.raises(ValueError, match="seed must be None or an integer >= 0, got -1"):
        qrp.risk_parity(COV, solver=solver, seed=-1)


@pytest.mark.parametrize("seed", [True, 1.5, "1", np.float64(2.0)])
def test_non_integer_seed(seed):
    with pytest.raises(ValueError, match="seed"):
        check_seed(seed)


@pytest.mark.parametrize("max_iter", [2**63, 10**9 + 1, 0, -1, 2.0, True])
def test_max_iter_limits(max_iter):
    with pytest.raises(ValueError, match="max_iter"):
        qrp.risk_parity(COV, max_iter=max_iter)


@pytest.mark.parametrize("tol", [float("nan"), -1.0, float("inf"), "1e-8"])
def test_bad_tol(tol):
    with pytest.raises(ValueError, match="tol"):
        qrp.risk_parity(COV, tol=tol)


@given(st.integers(min_value=-(2**70), max_value=2**70))
@settings(max_examples=50, deadline=None)
def test_bounded_int_accepts_exactly_the_range(v):
    if 1 <= v <= MAX_ROUNDS:
        assert bounded_int(v, "rounds", maximum=MAX_ROUNDS) == v
    else:
        with pytest.raises(ValueError, match="rounds"):
            bounded_int(v, "rounds", maximum=MAX_ROUNDS)


def test_limits_are_sane():
    assert MAX_BITS == 32 and MAX_ROUNDS == 10_000 and MAX_ITERATIONS == 10**9
    assert validation.MAX_SAMPLES == 10**7 and validation.MAX_REPS == 1000


# --- validate once at the boundary --------------------------------------------------------------------------------

def test_validate_problem_returns_read_only_and_is_idempotent():
    p = validate_problem(COV_DF, pd.Series([0.2, 0.3, 0.5], index=["c", "b", "a"]), bounds=(0.0, 1.0), seed=3)
    assert isinstance(p, ValidatedProblem) and p.names == ("a", "b", "c") and p.seed == 3
    np.testing.assert_array_equal(p.budgets, [0.5, 0.3, 0.2])
    assert not p.cov.flags.writeable and not p.budgets.flags.writeable
    assert validate_problem(p) is p
    with pytest.raises(ValueError, match="budgets differ"):
        validate_problem(p, [1 / 3] * 3)


def test_psd_certificate_runs_once_and_not_at_all_when_off(monkeypatch):
    from qrp.core import certificate

    calls = []
    real = certificate.certify_positive_definite
    monkeypatch.setattr(certificate, "certify_positive_definite", lambda a: calls.append(1) or real(a))
    qrp.risk_parity(COV, solver="exact", bits=1)
    assert len(calls) == 1  # risk_parity validates; the discrete solver and refine do not validate again
    calls.clear()
    qrp.risk_parity(COV, solver="exact", bits=1, check_psd=False)
    assert calls == []


def test_check_psd_false_is_honoured_by_discrete_solvers():
    # singular PSD with a zero-variance long-only portfolio: the existence check raises unless check_psd=False;
    # with it off the check is skipped and the solver's own failure on that matrix is reported instead
    bad = [[1.0, -1.0], [-1.0, 1.0]]
    with pytest.raises(ValueError, match="no ERC portfolio exists"):
        qrp.risk_parity(bad, solver="exact", bits=1)
    with pytest.raises(ValueError, match="default box centre"):
        qrp.risk_parity(bad, solver="exact", bits=1, check_psd=False)
    # and a box given explicitly runs: the (meaningless) answer on a zero-variance direction is an error too
    with pytest.raises(ValueError, match=r"not finite|variance"):
        qrp.risk_parity(bad, solver="exact", bits=1, check_psd=False, box=(0.5, 1.0))


# --- pandas inputs aligned by label -------------------------------------------------------------------------------

def test_budgets_bounds_aligned_by_label():
    b = pd.Series([0.5, 0.3, 0.2], index=NAMES)
    ref = qrp.risk_parity(COV_DF, b)
    rev = qrp.risk_parity(COV_DF, b[::-1])
    np.testing.assert_array_equal(ref.weights, rev.weights)
    bounds = pd.DataFrame({"lo": [0.0, 0.0, 0.3], "hi": [0.5, 0.5, 1.0]}, index=NAMES)
    ref = qrp.risk_parity(COV_DF, bounds=bounds)
    rev = qrp.risk_parity(COV_DF, bounds=bounds.iloc[::-1])
    np.testing.assert_array_equal(ref.weights, rev.weights)
    assert ref.weights[2] >= 0.3 - 1e-12


@pytest.mark.parametrize("labels, match", [
    (["a", "b", "x"], r"missing \['c'\], unexpected \['x'\]"),
    (["a", "b"], r"missing \['c'\]"),
    (["a", "a", "b"], "duplicate labels"),
])
def test_mismatched_labels_named(labels, match):
    w = pd.Series(np.full(len(labels), 1 / len(labels)), index=labels)
    with pytest.raises(ValueError, match=match):
        qrp.rc_error(w, COV_DF)
    with pytest.raises(ValueError, match=match):
        qrp.risk_parity(COV_DF, w)


def test_weights_and_expected_returns_aligned_by_label():
    w = pd.Series([0.5, 0.3, 0.2], index=NAMES)
    mu = pd.Series([0.05, 0.07, 0.09], index=NAMES)
    assert qrp.rc_error(w, COV_DF) == qrp.rc_error(w[::-1], COV_DF)
    np.testing.assert_array_equal(qrp.risk_contributions(w, COV_DF), qrp.risk_contributions(w[::-1], COV_DF))
    a, b = qrp.portfolio_stats(w, COV_DF, mu), qrp.portfolio_stats(w[::-1], COV_DF, mu.iloc[[2, 0, 1]])
    assert a == b and a.expected_return == pytest.approx(0.5 * 0.05 + 0.3 * 0.07 + 0.2 * 0.09)
    # positional without names: a plain array, a default RangeIndex, or a covariance without labels
    assert qrp.rc_error(pd.Series([0.5, 0.3, 0.2]), COV_DF) == qrp.rc_error(w.to_numpy(), COV)


def test_weights_series():
    res = qrp.risk_parity(COV_DF)
    s = res.weights_series
    assert list(s.index) == NAMES and s.name == "weight"
    np.testing.assert_array_equal(s.to_numpy(), res.weights)
    assert list(qrp.risk_parity(COV).weights_series.index) == [0, 1, 2]


# --- scale-free measures ------------------------------------------------------------------------------------------

@given(st.floats(min_value=-300, max_value=300))
@settings(max_examples=40, deadline=None)
def test_rc_error_is_scale_free(log_scale):
    w = np.array([0.5, 0.3, 0.2])
    assert qrp.rc_error(w * 10.0**log_scale, COV) == pytest.approx(qrp.rc_error(w, COV), rel=1e-12)


def test_rc_error_extremes_and_zero_weights():
    w = np.array([0.5, 0.3, 0.2])
    for scale in (1e200, 1e-200, 1e300, 1e-300):
        assert qrp.rc_error(w * scale, COV) == pytest.approx(qrp.rc_error(w, COV), rel=1e-12)
    with pytest.raises(ValueError, match="all zero"):
        qrp.rc_error(np.zeros(3), COV)


def test_portfolio_stats_negative_variance_raises():
    with pytest.raises(ValueError, match="negative"):
        qrp.portfolio_stats([1.0, 1.0], [[1.0, -2.0], [-2.0, 1.0]])
    # a zero-variance portfolio of a singular PSD matrix is fine (rounding, not a negative variance)
    assert qrp.portfolio_stats([0.5, 0.5], [[1.0, -1.0], [-1.0, 1.0]]).volatility == pytest.approx(0.0, abs=1e-8)


def test_subnormal_variance_rejected():
    with pytest.raises(ValueError, match="subnormal"):
        qrp.risk_parity(np.diag([1.0, 1e-320]))


# --- bounds whose only feasible point is on the edge --------------------------------------------------------------

def test_bounds_with_one_feasible_point_are_solved():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 20))
    cov = np.cov(x, rowvar=False)
    assert np.full(20, 0.05).sum() > 1.0  # 1.0000000000000002
    res = qrp.risk_parity(cov, bounds=(0.05, 1.0))
    np.testing.assert_allclose(res.weights, 0.05, rtol=1e-12)
    assert res.converged and res.stats["bounds_fixed_point"]
    cov7 = np.diag(np.arange(1.0, 8.0))
    assert sum([1 / 7] * 7) < 1.0  # 0.9999999999999998
    res = qrp.risk_parity(cov7, bounds=(0.0, 1 / 7))
    np.testing.assert_allclose(res.weights, 1 / 7, rtol=1e-12)
    assert res.weights.sum() == pytest.approx(1.0, abs=1e-15)


@pytest.mark.parametrize("bounds, match", [
    ((0.051, 1.0), r"lower bounds sum to 1\.02\d* > 1"),
    ((0.0, 0.049), r"upper bounds sum to 0\.98\d* < 1"),
])
def test_truly_infeasible_bounds_message(bounds, match):
    with pytest.raises(ValueError, match=match):
        qrp.risk_parity(np.eye(20), bounds=bounds)
