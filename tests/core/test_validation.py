"""Every bad input of issue 2 raises ValueError naming the problem and the value, before any work, mutating nothing."""

import copy

import numpy as np
import pandas as pd
import pytest

from qrp.api import risk_parity
from qrp.core.measures import portfolio_stats, rc_error, risk_contributions
from qrp.core.registry import _REGISTRY, register_solver
from qrp.core.result import SolverOutput
from qrp.core.validation import validate_cov

CALLS = []


def _spy(cov, budgets, *, tol, max_iter, seed=None):
    CALLS.append(1)
    return SolverOutput(np.full(len(budgets), 1.0 / len(budgets)), True, 0)


@pytest.fixture(autouse=True)
def spy_solver():
    register_solver("_spy", _spy, overwrite=True)
    CALLS.clear()
    yield
    _REGISTRY.pop("_spy", None)


GOOD = np.array([[0.04, 0.01, 0.0], [0.01, 0.09, 0.02], [0.0, 0.02, 0.16]])
NOT_PSD = np.array([[1.0, 0.9, -0.9], [0.9, 1.0, 0.9], [-0.9, 0.9, 1.0]])
NAN = GOOD.copy()
NAN[1, 2] = np.nan
INF = GOOD.copy()
INF[0, 0] = np.inf
ASYM = GOOD.copy()
ASYM[0, 1] += 1e-6
ZERO_VAR = GOOD.copy()
ZERO_VAR[2, 2] = 0.0
NEG_VAR = GOOD.copy()
NEG_VAR[1, 1] = -0.09

BAD_COV = [
    (np.ones(3), r"2-D matrix, got shape \(3,\)"),
    (np.ones((2, 2, 2)), r"2-D matrix, got shape \(2, 2, 2\)"),
    (np.ones((2, 3)), r"square, got shape \(2, 3\)"),
    (np.empty((0, 0)), r"empty \(shape \(0, 0\)\)"),
    ([["a", "b"], ["c", "d"]], "numeric, got dtype <U1"),
    (np.array([[1, None], [None, 1]], dtype=object), "numeric, got dtype object"),
    (np.eye(2, dtype=complex), "real, got dtype complex128"),
    (np.eye(2, dtype=bool), "numeric, got dtype bool"),
    ([[1.0, 0.0], [0.0]], "could not be converted"),
    (NAN, r"NaN or inf at \[1, 2\]: nan"),
    (INF, r"NaN or inf at \[0, 0\]: inf"),
    (ASYM, r"not symmetric: \[0, 1\] = 0.010001 but \[1, 0\] = 0.01"),
    (ZERO_VAR, r"zero or negative variance at \[2, 2\]: 0.0"),
    (NEG_VAR, r"zero or negative variance at \[1, 1\]: -0.09"),
    (NOT_PSD, r"not positive semi-definite: smallest eigenvalue -0.8"),
    (pd.DataFrame(GOOD, index=list("abc"), columns=list("abd")), "identical index and columns"),
]


@pytest.mark.parametrize(("cov", "match"), BAD_COV)
def test_bad_covariance(cov, match):
    before = copy.deepcopy(cov)
    with pytest.raises(ValueError, match=match):
        risk_parity(cov, solver="_spy")
    assert not CALLS
    if isinstance(cov, np.ndarray) and cov.dtype.kind == "f":
        np.testing.assert_array_equal(cov, before)
    elif isinstance(cov, pd.DataFrame):
        pd.testing.assert_frame_equal(cov, before)


def test_psd_certificate_is_optional():
    validate_cov(NOT_PSD, check_psd=False)  # O(N^2) checks only
    with pytest.raises(ValueError, match="smallest eigenvalue"):
        validate_cov(NOT_PSD)


BAD_BUDGETS = [
    ([0.5, 0.6, -0.1], r"strictly positive; budgets\[2\] = -0.1"),
    ([0.5, 0.5, 0.0], r"strictly positive; budgets\[2\] = 0.0"),
    ([0.5, np.nan, 0.5], "NaN or inf at 1: nan"),
    ([0.5, 0.5], "length 3 .* got 2"),
    ([0.2, 0.2, 0.2], "sum to 1, got 0.6"),
    ([[0.2, 0.3, 0.5]], r"1-D, got shape \(1, 3\)"),
    (["a", "b", "c"], "numeric"),
    (pd.Series([0.5, 0.5], index=["a", "b"]), r"missing \['c'\]"),
]


@pytest.mark.parametrize(("budgets", "match"), BAD_BUDGETS)
def test_bad_budgets(budgets, match):
    cov = pd.DataFrame(GOOD, index=list("abc"), columns=list("abc"))
    before = copy.deepcopy(budgets)
    with pytest.raises(ValueError, match=match):
        risk_parity(cov, budgets, solver="_spy")
    assert not CALLS
    if isinstance(budgets, pd.Series):
        pd.testing.assert_series_equal(budgets, before)
    else:
        np.testing.assert_array_equal(np.asarray(budgets), np.asarray(before))


BAD_BOUNDS = [
    ([(0.5, 0.2), (0.0, 1.0), (0.0, 1.0)], "asset 0 has lower bound 0.5 above upper bound 0.2"),
    ((0.4, 1.0), "infeasible: lower bounds sum to 1.2"),
    ((0.0, 0.25), "infeasible: upper bounds sum to 0.75"),
    ((-0.1, 1.0), r"lower bound of asset 0 is negative \(-0.1\); qrp is long-only"),
    ((0.0, 0.0), r"upper bound of asset 0 is not positive \(0.0\)"),
    ((np.nan, 1.0), r"bounds of asset 0 are \(nan, 1.0\)"),
    ([0.0, 0.5, 1.0], r"\(lo, hi\) pair or an \(3, 2\) array, got shape \(3,\)"),
]


@pytest.mark.parametrize(("bounds", "match"), BAD_BOUNDS)
def test_bad_bounds(bounds, match):
    with pytest.raises(ValueError, match=match):
        risk_parity(GOOD, bounds=bounds, solver="_spy")
    assert not CALLS


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"leverage": 0.0}, "leverage must be a finite number > 0, got 0.0"),
        ({"leverage": -1}, "leverage must be a finite number > 0, got -1"),
        ({"leverage": np.inf}, "leverage must be a finite number > 0, got inf"),
        ({"leverage": "2"}, "leverage must be a finite number > 0, got '2'"),
        ({"target_volatility": 0.0}, "target_volatility must be a finite number > 0, got 0.0"),
        ({"target_volatility": -0.1}, "target_volatility must be a finite number > 0, got -0.1"),
        ({"tol": -1e-3}, "tol must be a finite number >= 0, got -0.001"),
        ({"tol": "x"}, "tol must be a finite number >= 0, got 'x'"),
        ({"max_iter": 0}, "max_iter must be an integer >= 1, got 0"),
        ({"max_iter": 2.5}, "max_iter must be an integer >= 1, got 2.5"),
        ({"solver": "nope"}, "unknown solver 'nope'; available: .*auto"),
        ({"bits": 3}, r"does not take option\(s\) \['bits'\]"),
    ],
)
def test_bad_scalars(kwargs, match):
    kwargs = {"solver": "_spy", **kwargs}
    with pytest.raises(ValueError, match=match):
        risk_parity(GOOD, **kwargs)
    assert not CALLS


def test_valid_call_reaches_solver_and_leaves_inputs_alone():
    cov = GOOD.copy()
    frame = pd.DataFrame(GOOD, index=list("abc"), columns=list("abc"))
    b = np.array([0.2, 0.3, 0.5])
    res = risk_parity(cov, b, solver="_spy", leverage=2.0, target_volatility=0.1)
    assert CALLS == [1]
    risk_parity(frame, pd.Series(b, index=list("abc")), solver="auto", bounds=(0.0, 0.4))
    np.testing.assert_array_equal(cov, GOOD)
    np.testing.assert_array_equal(b, [0.2, 0.3, 0.5])
    pd.testing.assert_frame_equal(frame, pd.DataFrame(GOOD, index=list("abc"), columns=list("abc")))
    assert res.weights is not b


def test_risk_helpers_validate():
    with pytest.raises(ValueError, match="length 3 to match cov, got 2"):
        risk_contributions([0.5, 0.5], GOOD)
    with pytest.raises(ValueError, match="NaN or inf at 1"):
        rc_error([0.5, np.nan, 0.5], GOOD)
    with pytest.raises(ValueError, match=r"portfolio variance is 0\.0"):
        risk_contributions([0.0, 0.0, 0.0], GOOD)
    with pytest.raises(ValueError, match="risk_free_rate must be finite"):
        portfolio_stats([0.3, 0.3, 0.4], GOOD, [0.1, 0.1, 0.1], risk_free_rate=np.nan)
    stats = portfolio_stats([0.3, 0.3, 0.4], GOOD, [0.05, 0.07, 0.09], risk_free_rate=0.01)
    w = np.array([0.3, 0.3, 0.4])
    vol = np.sqrt(w @ GOOD @ w)
    np.testing.assert_allclose(stats.volatility, vol)
    np.testing.assert_allclose(stats.sharpe_ratio, (w @ [0.05, 0.07, 0.09] - 0.01) / vol)
