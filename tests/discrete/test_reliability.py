"""Issue 9, API half: discretization inputs that used to become NaN energies or silent misreadings."""

import numpy as np
import pytest

import qrp
from qrp.core.validation import DISCRETE_SCALE_LIMIT

COV = np.array([[0.04, 0.01, 0.0], [0.01, 0.09, 0.02], [0.0, 0.02, 0.16]])


def test_box_has_one_shape():
    cov2 = COV[:2, :2]
    p = qrp.discretize(cov2, 2, box=([0.1, 0.2], [0.8, 0.9]))  # a tuple (lo, hi): the one reading
    np.testing.assert_array_equal(p.box[0], [0.1, 0.2])
    np.testing.assert_array_equal(p.box[1], [0.8, 0.9])
    q = qrp.discretize(cov2, 2, box={"lo": [0.1, 0.2], "hi": [0.8, 0.9]})
    np.testing.assert_array_equal(q.box[0], p.box[0])
    # issue 22: at N = 2 a 2 x 2 array reads as (lo, hi) rows or, as bounds, one row per asset: refused
    for ambiguous in ([[0.1, 0.2], [0.3, 0.4]], np.array([[0.1, 0.2], [0.3, 0.4]])):
        with pytest.raises(ValueError, match="ambiguous at N = 2"):
            qrp.discretize(cov2, 2, box=ambiguous)
    with pytest.raises(ValueError, match=r"per-asset rows of shape \(N, 2\) are not accepted"):
        qrp.discretize(COV, 2, box=[[0.1, 0.8], [0.2, 0.9], [0.3, 1.0]])


@pytest.mark.parametrize("radius", [1e-300, 1e-17])
def test_radius_collapsing_the_box(radius):
    with pytest.raises(ValueError, match="radius"):
        qrp.discretize(COV, 2, radius=radius)


def test_box_too_narrow_for_its_levels():
    with pytest.raises(ValueError, match="too narrow"):
        qrp.discretize(COV, 8, box=(1.0, 1.0 + 1e-14))


@pytest.mark.parametrize("solver", ["exact", "sa"])
@pytest.mark.parametrize("formulation", ["log_barrier", "pairwise"])
@pytest.mark.parametrize("scale", [1e-300, 1e-160, 1e160, 1e300])
def test_covariance_out_of_discrete_range(solver, formulation, scale):
    with pytest.raises(ValueError, match="largest variance"):
        qrp.risk_parity(COV * scale, solver=solver, formulation=formulation, bits=2)


def test_covariance_at_the_limits_gives_finite_energies():
    for scale in (1e-99 / 0.16, 0.99e100 / 0.16):
        p = qrp.discretize(COV * scale, 2, formulation="pairwise")
        assert np.all(np.isfinite(p.energies(np.eye(6, dtype=int))))


def test_tiny_budget_rejected():
    with pytest.raises(ValueError, match=r"budgets\[0\]"):
        qrp.risk_parity(COV, budgets=[1e-300, 0.5, 0.5], solver="exact", bits=2)
    assert 1 / DISCRETE_SCALE_LIMIT == 1e-100


@pytest.mark.parametrize("option, value", [("bits", 10**9), ("bits", 2**63), ("bits", 0), ("rounds", 10**9),
                                           ("rounds", 0)])
def test_huge_integers_rejected_before_work(option, value):
    with pytest.raises(ValueError, match=option):
        qrp.risk_parity(COV, solver="exact", **{option: value})


def test_levels_rejects_non_binary():
    p = qrp.discretize(COV[:2, :2], 2)
    with pytest.raises(ValueError, match="only 0 and 1"):
        p.levels([0, 2, 1, 0])
    with pytest.raises(ValueError, match="shape"):
        p.levels([0, 1, 1])
    np.testing.assert_array_equal(p.levels([0, 1, 1, 0]), [2, 1])


def test_refinement_stops_at_float_resolution():
    res = qrp.risk_parity(COV, solver="exact", bits=2, rounds=200, tol=0.0)
    assert res.iterations < 200 and np.isfinite(res.rc_error)
