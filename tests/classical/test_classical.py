"""Classical risk-parity solvers: closed forms, agreement, budgets, bounds, scaling, pandas, singular matrices, CLI."""

import json

import numpy as np
import pandas as pd
import pytest

from qrp.api import risk_parity
from qrp.cli import main
from qrp.data.loaders import example_covariance
from qrp.data.synthetic import gaussian_factor_covariance

EXACT = ["auto", "ccd", "newton"]


def corr_to_cov(corr, vols):
    return np.asarray(corr) * np.outer(vols, vols)


@pytest.mark.parametrize("solver", [*EXACT, "slsqp"])
@pytest.mark.parametrize("rho", [-0.9, -0.3, 0.0, 0.5, 0.99])
def test_two_assets_closed_form(solver, rho):
    s1, s2 = 0.1, 0.35
    cov = corr_to_cov([[1, rho], [rho, 1]], [s1, s2])
    res = risk_parity(cov, solver=solver)
    assert res.converged
    np.testing.assert_allclose(res.weights, [s2 / (s1 + s2), s1 / (s1 + s2)], rtol=0, atol=1e-8)


@pytest.mark.parametrize("solver", [*EXACT, "slsqp"])
def test_constant_correlation_gives_inverse_volatility(solver):
    vols = np.array([0.05, 0.1, 0.15, 0.2, 0.3, 0.45])
    corr = np.full((6, 6), 0.4)
    np.fill_diagonal(corr, 1.0)
    res = risk_parity(corr_to_cov(corr, vols), solver=solver)
    expected = (1 / vols) / (1 / vols).sum()
    np.testing.assert_allclose(res.weights, expected, rtol=0, atol=1e-8)


@pytest.mark.parametrize("solver", [*EXACT, "slsqp"])
def test_uncorrelated_budgets_closed_form(solver):
    vols = np.array([0.1, 0.2, 0.05, 0.3])
    b = np.array([0.1, 0.2, 0.3, 0.4])
    res = risk_parity(np.diag(vols**2), b, solver=solver)
    expected = np.sqrt(b) / vols
    np.testing.assert_allclose(res.weights, expected / expected.sum(), rtol=0, atol=1e-8)
    np.testing.assert_allclose(res.risk_contributions / res.volatility, b, atol=1e-8)


@pytest.mark.parametrize("loading_scale", [0.05, 0.2])
def test_solvers_agree(loading_scale):
    n = 40
    cov = gaussian_factor_covariance(n, loading_scale=loading_scale, seed=7)
    b = np.random.default_rng(1).uniform(0.5, 2.0, n)
    b /= b.sum()
    ref = risk_parity(cov, b, solver="newton")
    assert ref.converged and ref.rc_error <= 1e-12
    for solver, opts in [("auto", {}), ("ccd", {"max_iter": 200_000}), ("newton", {"linear_solver": "cg"}),
                         ("auto", {"linear_solver": "cholesky"})]:
        res = risk_parity(cov, b, solver=solver, **opts)
        assert res.converged, (solver, opts)
        np.testing.assert_allclose(res.weights, ref.weights, rtol=1e-9, atol=0)
    res = risk_parity(cov[:12, :12], b[:12] / b[:12].sum(), solver="slsqp")
    ref12 = risk_parity(cov[:12, :12], b[:12] / b[:12].sum())
    assert res.converged
    np.testing.assert_allclose(res.weights, ref12.weights, rtol=1e-5)


def test_auto_hands_over_to_newton_only_when_coordinate_descent_is_slow():
    strong = risk_parity(gaussian_factor_covariance(300, loading_scale=0.2, seed=3), check_psd=False)
    assert strong.converged and strong.rc_error <= 1e-12
    assert strong.stats["newton_iterations"] > 0 and strong.stats["cg_iterations"] > 0
    weak = risk_parity(gaussian_factor_covariance(100, loading_scale=0.05, seed=3), check_psd=False)
    assert weak.converged and weak.rc_error <= 1e-12
    assert weak.stats["newton_iterations"] == 0


@pytest.mark.parametrize("scale", [1.0, 1e-4 / 0.05])
@pytest.mark.parametrize(("n", "cond"), [(2, 1e8), (30, 1e4), (60, 1e8), (400, 1e6)])
def test_default_accuracy_on_market_factor_models(n, cond, scale):
    ls, mean = 0.1, 0.15
    top = n * (ls**2 + mean**2)
    cov = gaussian_factor_covariance(n, loading_scale=ls, loading_mean=mean,
                                     idiosyncratic=(top / cond, 10 * top / cond), scale=scale, seed=n)
    res = risk_parity(cov)
    assert res.rc_error <= 1e-10
    assert res.converged == (res.rc_error <= 1e-12)


def test_newton_reports_rounding_floor_when_tol_unreachable():
    cov = gaussian_factor_covariance(8, loading_scale=0.2, idiosyncratic=(1e-9, 1e-8), seed=0)
    res = risk_parity(cov, solver="newton", tol=1e-16)
    assert not res.converged
    assert res.stats["rc_error_floor"] > 1e-16
    assert res.rc_error <= 1e-9


def test_bounds_inactive_returns_unconstrained():
    cov = example_covariance()
    free = risk_parity(cov)
    res = risk_parity(cov, bounds=(0.0, 1.0))
    np.testing.assert_array_equal(res.weights, free.weights)
    assert res.stats["bounds_active"] is False


def _check_kkt(res, cov, lo, hi):
    w, b = res.weights, res.budgets
    lam = res.stats["lambda"]
    assert np.all(w >= lo - 1e-12) and np.all(w <= hi + 1e-12)
    np.testing.assert_allclose(w.sum(), 1.0, atol=1e-12)
    ratio = w * (cov @ w) / (lam * b)
    at_lo, at_hi = np.isclose(w, lo, atol=1e-10), np.isclose(w, hi, atol=1e-10)
    free = ~(at_lo | at_hi)
    assert free.any()
    np.testing.assert_allclose(ratio[free], 1.0, rtol=1e-7)
    assert np.all(ratio[at_hi] <= 1 + 1e-7) and np.all(ratio[at_lo] >= 1 - 1e-7)
    return at_lo, at_hi


@pytest.mark.parametrize("loading_scale", [0.05, 0.2])
@pytest.mark.parametrize("side", ["upper", "lower"])
def test_bounds_active_satisfy_kkt(loading_scale, side):
    n = 25
    cov = gaussian_factor_covariance(n, loading_scale=loading_scale, seed=11)
    free = risk_parity(cov)
    lo, hi = np.zeros(n), np.ones(n)
    if side == "upper":
        hi[:] = np.quantile(free.weights, 0.7)
    else:
        lo[:] = np.quantile(free.weights, 0.3)
    res = risk_parity(cov, bounds=np.column_stack([lo, hi]))
    assert res.converged and res.stats["bounds_active"] is True
    at_lo, at_hi = _check_kkt(res, cov, lo, hi)
    assert (at_hi if side == "upper" else at_lo).sum() >= 2
    assert res.stats["at_upper"] == at_hi.sum() and res.stats["at_lower"] == at_lo.sum()
    assert res.rc_error > 1e-6  # reported against the budgets anyway


def test_bounds_without_solution_are_explained():
    cov = np.array([[1.0, 0.5, -0.6], [0.5, 1.0, -0.6], [-0.6, -0.6, 1.0]])
    assert np.linalg.eigvalsh(cov)[0] > 0
    with pytest.raises(ValueError, match="no solution"):
        risk_parity(cov, bounds=[(0.45, 1.0), (0.45, 1.0), (0.0, 1.0)])


def test_leverage_and_target_volatility():
    cov = example_covariance()
    base = risk_parity(cov)
    lev = risk_parity(cov, leverage=1.5)
    np.testing.assert_allclose(lev.weights, 1.5 * base.weights, rtol=1e-14)
    np.testing.assert_allclose(lev.volatility, 1.5 * base.volatility, rtol=1e-12)
    tv = risk_parity(cov, leverage=2.0, target_volatility=0.1)
    np.testing.assert_allclose(tv.volatility, 0.1, rtol=1e-12)
    np.testing.assert_allclose(np.sqrt(tv.weights @ cov.to_numpy() @ tv.weights), 0.1, rtol=1e-12)
    np.testing.assert_allclose(tv.weights / tv.weights.sum(), base.weights, rtol=1e-12)
    np.testing.assert_allclose(tv.risk_contributions.sum(), 0.1, rtol=1e-12)
    assert tv.rc_error == base.rc_error


def test_pandas_names_carry_through_and_budgets_align():
    cov = example_covariance()
    names = list(cov.columns)
    b = pd.Series(np.arange(1, 9) / 36.0, index=names)
    res = risk_parity(cov, b.iloc[::-1])
    assert res.asset_names == tuple(names)
    frame = res.to_frame()
    assert list(frame.index) == names
    np.testing.assert_allclose(frame["risk_share"].to_numpy(), b.to_numpy(), atol=1e-10)
    json.dumps(res.to_dict(), default=float)


def test_singular_psd_with_solution():
    cov = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    res = risk_parity(cov)
    assert res.converged
    expected = np.array([1.0, 1.0, np.sqrt(2.0)]) / (2 + np.sqrt(2.0))
    np.testing.assert_allclose(res.weights, expected, atol=1e-9)


def test_singular_psd_without_solution():
    cov = np.array([[1.0, -1.0, 0.0], [-1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    with pytest.raises(ValueError, match=r"no ERC portfolio exists.*zero variance"):
        risk_parity(cov)


def test_slsqp_seed_fails_honestly_on_daily_scale():
    cov = gaussian_factor_covariance(10, loading_scale=0.05, scale=1e-4 / 0.05, seed=5)
    res = risk_parity(cov, solver="slsqp_seed")
    assert res.stats["scipy_success"] is True
    assert res.converged is False
    np.testing.assert_allclose(res.weights, 0.1, atol=1e-12)
    good = risk_parity(cov, solver="slsqp")
    assert good.converged and good.rc_error <= 1e-8


def test_slsqp_seed_takes_no_budgets():
    with pytest.raises(ValueError, match="no risk budgets"):
        risk_parity(np.eye(3), [0.2, 0.3, 0.5], solver="slsqp_seed")


def test_solver_options_are_checked():
    with pytest.raises(ValueError, match="does not take option"):
        risk_parity(np.eye(3), solver="ccd", bits=3)
    with pytest.raises(ValueError, match="linear_solver"):
        risk_parity(np.eye(3), solver="newton", linear_solver="lu")


def test_cli_solve_table_json_and_errors(capsys, tmp_path):
    assert main(["solve"]) == 0
    out = capsys.readouterr().out
    assert "risk share" in out and "rc_error" in out
    path = tmp_path / "cov.csv"
    cov = example_covariance().iloc[:3, :3]
    cov.to_csv(path)
    assert main(["solve", "--cov", str(path), "--budgets", "0.5,0.25,0.25", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    np.testing.assert_allclose(np.array(data["risk_contributions"]) / data["volatility"], [0.5, 0.25, 0.25],
                               atol=1e-10)
    assert data["asset_names"] == list(cov.columns)
    assert main(["solve", "--budgets", "0.5,0.5"]) == 2
    assert "budgets must have length 8" in capsys.readouterr().err
    assert main(["solvers"]) == 0
    assert "newton" in capsys.readouterr().out


def test_low_rank_preconditioned_cg_matches_cholesky():
    from qrp.classical.newton import PRECOND_RANK, _preconditioner, _top_eigen

    n = 300
    cov = gaussian_factor_covariance(n, loading_scale=0.2, seed=5)
    b = np.random.default_rng(2).uniform(0.5, 2.0, n)
    b /= b.sum()
    chol = risk_parity(cov, b, solver="newton", linear_solver="cholesky")
    cg = risk_parity(cov, b, solver="newton", linear_solver="cg")
    assert chol.converged and cg.converged
    assert cg.stats["cholesky_steps"] == 0 and cg.stats["cg_iterations"] > 0
    np.testing.assert_allclose(cg.weights, chol.weights, rtol=1e-9, atol=0)
    # the Woodbury application equals the inverse of the explicit preconditioner matrix
    inv_d = 1.0 / np.sqrt(np.diag(cov))
    v, lam = _top_eigen(cov, inv_d, PRECOND_RANK)
    assert v.shape == (n, PRECOND_RANK) and np.all(lam > 0)
    h = np.random.default_rng(3).uniform(0.1, 2.0, n)
    p = np.diag(np.maximum(1.0 - (v * v) @ lam, 1e-12) + h) + (v * lam) @ v.T
    x = np.random.default_rng(4).normal(size=n)
    np.testing.assert_allclose(_preconditioner((v, lam), h)(x), np.linalg.solve(p, x), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("family", [{"loading_scale": 0.05}, {"loading_scale": 0.2}, {"loading_scale": 0.1,
                                                                                       "loading_mean": 0.15}])
def test_float32_cg_products_match_float64(monkeypatch, family):
    """Newton-CG with float32 Hessian products (N >= F32_CG_MIN_N) reaches the same minimizer as with float64
    products: both converge to rc_error <= tol and the weights agree to 1e-9 relative."""
    import qrp.classical.newton as newton

    n = newton.F32_CG_MIN_N + 100
    cov = gaussian_factor_covariance(n, seed=7, **family)
    b = np.full(n, 1.0 / n)
    compiled = newton._cg32
    steps = []  # float32 CG solves (compiled, ``_cg32``) per run: the comparison below means something only if the
    # first run used them

    def counted(*args):
        steps[-1] += 1
        return compiled(*args)

    monkeypatch.setattr(newton, "_cg32", counted)
    steps.append(0)
    single = newton.solve_newton(cov, b, tol=1e-12, max_iter=100, linear_solver="cg")
    monkeypatch.setattr(newton, "F32_CG_MIN_N", 10**9)
    steps.append(0)
    double = newton.solve_newton(cov, b, tol=1e-12, max_iter=100, linear_solver="cg")
    assert steps[0] >= single.stats["newton_iterations"] > 0 and steps[1] == 0  # float32 in the first run only
    assert single.converged and double.converged
    assert single.stats["cholesky_steps"] == 0 and single.stats["cg_iterations"] > 0
    np.testing.assert_allclose(single.weights, double.weights, rtol=1e-9, atol=0)


def test_float32_cg_failure_falls_back_to_float64(monkeypatch):
    """An ill-conditioned matrix (idiosyncratic variances 1e-4..1e-3 under 20 strong factors) where float32 CG does
    not converge: the step is redone with float64 products, never float32 again, and the solve converges."""
    import qrp.classical.newton as newton

    calls = []
    original = newton._cg_step

    def traced(mv, hdiag, grad, rtol, max_iter, top=None):
        step, k = original(mv, hdiag, grad, rtol, max_iter, top)
        calls.append((mv.__name__, step is None))
        return step, k

    monkeypatch.setattr(newton, "_cg_step", traced)
    n = newton.F32_CG_MIN_N
    cov = gaussian_factor_covariance(n, n_factors=20, loading_scale=0.2, idiosyncratic=(1e-4, 1e-3), seed=n)
    b = np.full(n, 1.0 / n)
    res = newton.solve_auto(cov, b, tol=1e-12, max_iter=100)
    kinds = [k for k, _ in calls]
    failed = next(i for i, (kind, none) in enumerate(calls) if kind == "mv32" and none)
    assert kinds[failed] == "mv32" and kinds[failed + 1] == "corr_mv"  # the failed float32 step, redone in float64
    assert "mv32" not in kinds[failed + 1:]
    assert res.converged and res.stats["cholesky_steps"] > 0


def test_slow_float32_step_hands_over_to_float64(monkeypatch):
    """The second safeguard of the float32 products: a float32 step in the full-step region that does not halve
    rc_error sends the rest of the solve to float64 products (never float32 again). Forced with products 4 C v (a
    Hessian off by far more than float32 rounding, still positive definite: CG converges, every step is a descent
    direction, and the full steps shrink rc_error by only ~3/4)."""
    import qrp.classical.newton as newton

    original_products, original_direction = newton._single_products, newton._cg_direction

    def products(corr32):
        mv = original_products(corr32)
        return lambda v: 4.0 * mv(v)

    monkeypatch.setattr(newton, "_single_products", products)
    calls = []

    def traced(corr_mv, mv32, hdiag, grad, err, cg_max_iter, top):
        step, k, single = original_direction(corr_mv, mv32, hdiag, grad, err, cg_max_iter, top)
        calls.append((mv32 is not None, single))
        return step, k, single

    monkeypatch.setattr(newton, "_cg_direction", traced)
    n = newton.F32_CG_MIN_N
    cov = gaussian_factor_covariance(n, loading_scale=0.05, seed=7)
    res = newton.solve_newton(cov, np.full(n, 1.0 / n), tol=1e-12, max_iter=100, linear_solver="cg")
    first64 = next(i for i, (given, _) in enumerate(calls) if not given)
    assert first64 > 0 and all(given and single for given, single in calls[:first64])  # no float32 CG failure
    assert not any(given for given, _ in calls[first64:])
    assert res.converged and res.stats["cholesky_steps"] == 0


def test_non_descent_float32_direction_is_redone_in_float64():
    """``_cg_direction``: a float32 CG that converges to a direction with grad . step <= 0 (here products of
    -C - 2 diag(h): CG solves -(C + diag(h)) dy = grad) is discarded for the float64 solve, and float32 is marked
    unusable."""
    import qrp.classical.newton as newton

    n = 60
    cov = gaussian_factor_covariance(n, loading_scale=0.1, seed=3)
    inv_d = 1.0 / np.sqrt(np.diag(cov))
    corr = cov * inv_d * inv_d[:, None]
    rng = np.random.default_rng(0)
    hdiag, grad = rng.uniform(0.5, 2.0, n), rng.standard_normal(n)

    def mv32(v):
        return -(corr @ v) - 2.0 * hdiag * v

    step, _, single = newton._cg_direction(lambda v: corr @ v, mv32, hdiag, grad, 1e-10, 200, None)
    assert not single and step is not None and float(grad @ step) > 0.0
    np.testing.assert_allclose(step, np.linalg.solve(corr + np.diag(hdiag), grad), rtol=1e-7, atol=1e-10)


def test_converged_means_the_reported_rc_error_meets_tol():
    """A matrix (N = 553, strong factors, idiosyncratic variances 1e-5..1e-4) where Newton-CG on float32 products
    stopped at an iterate whose rc_error, measured in correlation coordinates, was just under tol = 1e-12, and the
    result's rc_error (the normalized weights, ``measures_kernel``) 1.006e-12: converged=True above tol. With
    float32 products Newton now stops at half of tol, and a converged flag is checked against the reported
    measure when the iterate ends within a factor of 2 of tol."""
    cov = gaussian_factor_covariance(553, loading_scale=0.2, idiosyncratic=(1e-5, 1e-4), seed=82)
    res = risk_parity(cov)
    assert res.converged and res.rc_error <= 1e-12


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 65, 503])
def test_float32_products_match_blas(n):
    """The compiled float32 products of Newton-CG (``_symv32``, and ``_symm32`` for the range finder) against BLAS
    ssymv / ssymm on the same lower triangle: equal up to float32 rounding of sums in another order (every size
    modulo the kernels' 4-row blocks)."""
    from scipy.linalg.blas import ssymm, ssymv

    import qrp.classical.newton as newton

    cov = gaussian_factor_covariance(n, loading_scale=0.3, seed=n)
    inv_d = 1.0 / np.sqrt(np.diag(cov))
    low = newton._lower_f32(cov, inv_d)
    rng = np.random.default_rng(n)
    v = rng.standard_normal(n).astype(np.float32)
    x = rng.standard_normal((n, 15))
    absolute = np.abs(np.tril(low) + np.tril(low, -1).T).astype(np.float64)
    bound = 4 * n * 2.0**-24 * (absolute @ np.abs(v.astype(np.float64)))  # |fl(A v) - A v| <~ n u |A| |v|, twice
    np.testing.assert_array_less(np.abs(newton._single_products(low)(v.astype(np.float64))
                                        - ssymv(1.0, low.T, v, lower=0)), bound + 1e-30)
    x32 = x.astype(np.float32)
    bound = 4 * n * 2.0**-24 * (absolute @ np.abs(x32.astype(np.float64)))
    np.testing.assert_array_less(np.abs(newton._symm32(low, x) - ssymm(1.0, low.T, np.asfortranarray(x32), side=0,
                                                                       lower=0)), bound + 1e-30)


@pytest.mark.parametrize("family", [{"loading_scale": 0.05}, {"loading_scale": 1.0, "n_factors": 3}])
def test_compiled_cg_is_the_python_loop(family):
    """``_cg32`` (the compiled CG of the float32 products) against ``_cg_step``'s Python loop with the same products
    and preconditioner: the same iteration count (or one apart: the preconditioner's sums are in another order)
    and the same step to far below the CG tolerance; a max_iter too small ends both without a step."""
    import qrp.classical.newton as newton

    n = 600
    cov = gaussian_factor_covariance(n, seed=11, **family)
    inv_d = 1.0 / np.sqrt(np.diag(cov))
    low = newton._lower_f32(cov, inv_d)
    top = newton._top_eigen(cov, inv_d, newton.PRECOND_RANK, low)
    rng = np.random.default_rng(1)
    hdiag, grad = rng.uniform(0.5, 5.0, n), rng.standard_normal(n)
    products = newton._single_products(low)
    fast, k_fast = newton._cg_step(products, hdiag, grad, 1e-6, 200, top)
    slow, k_slow = newton._cg_step(lambda v: products(v), hdiag, grad, 1e-6, 200, top)  # not a _Single: Python
    assert fast is not None and slow is not None and abs(k_fast - k_slow) <= 1 and k_fast > 2
    np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-6 * np.abs(slow).max())
    hess = (cov * inv_d * inv_d[:, None]) + np.diag(hdiag)
    assert np.linalg.norm(hess @ fast - grad) < 2e-6 * np.linalg.norm(grad)  # float32 products: about u32 n
    assert newton._cg_step(products, hdiag, grad, 1e-12, 2, top) == (None, 2)
