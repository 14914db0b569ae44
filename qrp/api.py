"""``qrp.risk_parity``: validation, solver dispatch, bounds, leverage and target volatility, the result object."""

from __future__ import annotations

from time import perf_counter

import numpy as np

from qrp.classical.bounded import solve_bounded
from qrp.classical.default import default_erc
from qrp.classical.newton import solve_auto
from qrp.core.measures import result_measures
from qrp.core.registry import SolverSpec, get_solver
from qrp.core.result import RiskParityResult, SolverOutput
from qrp.core.validation import (
    MAX_ITERATIONS,
    bounded_int,
    bounds_fixed_point,
    check_finite_result,
    nonnegative_real,
    positive_real,
    validate_problem,
)

#: Slack allowed when testing whether an unconstrained solution already satisfies ``bounds``.
BOUNDS_ATOL = 1e-12


def risk_parity(
    cov,
    budgets=None,
    *,
    solver: str = "auto",
    bounds=None,
    leverage: float = 1.0,
    target_volatility: float | None = None,
    check_psd: bool = True,
    tol: float | None = None,
    max_iter: int | None = None,
    seed: int | None = None,
    **solver_options,
) -> RiskParityResult:
    """Equal-risk-contribution (or risk-budgeting) portfolio of a covariance matrix.

    Finds long-only, fully invested weights w (sum w = 1) whose risk contributions
    RC_i = w_i (S w)_i / sqrt(w' S w) are in the proportions b (b_i = 1/N: equal risk contribution;
    Maillard, Roncalli & Teiletche 2010). Then, as in the seed specification, weights are multiplied by
    ``leverage`` and, when ``target_volatility`` is given, rescaled so that sqrt(w' S w) equals it. Scaling never
    changes risk shares, so ``rc_error`` is that of the unscaled solution.

    Parameters
    ----------
    cov : (N, N) array or DataFrame. Covariance of asset returns in any consistent units (daily or annualized);
        DataFrame labels become ``asset_names``.
    budgets : (N,) array or Series of risk budgets b_i > 0 summing to 1; None for ERC (1/N).
    solver : registry name (``qrp.available_solvers()``): "auto" (default: cyclical coordinate descent while its
        measured convergence rate predicts it cheaper than Newton, then damped Newton with conjugate-gradient
        (N >= 250) or Cholesky linear solves; see ``qrp.classical.newton``), "ccd", "newton", "slsqp",
        "slsqp_seed", and the
        discrete solvers.
    bounds : None, a (lo, hi) pair for every asset or an (N, 2) array of per-asset weight bounds. When the
        unconstrained solution satisfies them it is returned; otherwise the bounded risk-budgeting problem of
        ``qrp.classical.bounded`` (Richard & Roncalli 2019) is solved. Classical solvers only.
    leverage : > 0, multiplies the weights.
    target_volatility : > 0 or None; rescales the weights to this volatility (in the units of ``cov``).
    check_psd : run the O(N^3) positive semi-definiteness certificate (Cholesky; if it fails, eigenvalues, and for a
        singular PSD matrix the existence check ``check_erc_exists``). Every O(N^2) check (finite, symmetric,
        positive variances) always runs. ``check_psd=False`` is for callers who know their matrix (backtests).
    tol : tolerance on rc_error (None: the solver's default, 1e-12 for auto, ccd and newton).
    max_iter : iteration cap (None: the solver's default; for "auto" it caps the Newton steps).
    seed : seed for stochastic solvers, recorded in the result; deterministic solvers ignore it.
    **solver_options : passed to the solver (e.g. ``bits``, ``rounds``, ``num_reads`` for discrete solvers).

    Returns
    -------
    RiskParityResult

    The default call (a float64 array or DataFrame, every other argument at its default) runs the same checks and
    returns the same result, bit for bit, through one compiled pass (``qrp.classical.default``).

    Raises
    ------
    ValueError : for any invalid input (shape, NaN/inf, asymmetric, not PSD, non-positive variance, bad budgets,
        infeasible bounds, leverage or target_volatility <= 0, unknown solver or option), before any solving;
        also when S is singular and no ERC portfolio exists.
    """
    start = perf_counter()
    spec = get_solver(solver)
    if budgets is None and bounds is None and target_volatility is None and tol is None and max_iter is None \
            and not solver_options and spec.function is solve_auto:
        fast = default_erc(cov, spec, leverage, check_psd, seed, start)  # None: the general path decides
        if fast is not None:
            return fast
    options = spec.validate_options(solver_options)
    problem = validate_problem(cov, budgets, bounds=bounds, seed=seed, check_psd=check_psd)
    s, b = problem.cov, problem.budgets
    leverage = positive_real(leverage, "leverage")
    if target_volatility is not None:
        target_volatility = positive_real(target_volatility, "target_volatility")
    tol = spec.default_tol if tol is None else nonnegative_real(tol, "tol")
    if max_iter is not None:  # None: the solver's default (a discrete solver's rounds may set it)
        max_iter = bounded_int(max_iter, "max_iter", maximum=MAX_ITERATIONS)
    if problem.bounds is not None and spec.kind != "classical":
        raise ValueError(f"bounds are supported by classical solvers only, not {solver!r}")

    out, w, converged, stats = _solve_within_bounds(spec, problem, tol=float(tol), max_iter=max_iter,
                                                    options=options)

    rc, vol, err = result_measures(w, s, b)
    # RC is homogeneous of degree 1 in w: scale the unscaled solution's numbers instead of recomputing w'Sw of the
    # scaled weights, which over- or underflows long before the weights do (leverage 1e308, or 1e-300 then a target)
    scale = leverage if target_volatility is None else target_volatility / vol
    w, rc, vol = w * scale, rc * scale, vol * scale
    check_finite_result(weights=w, risk_contributions=rc, volatility=vol, rc_error=err)
    _check_normal_scale(w, rc, "leverage" if target_volatility is None else "target_volatility", scale)
    return RiskParityResult(
        weights=w,
        risk_contributions=rc,
        volatility=vol,
        rc_error=err,
        converged=bool(converged),
        iterations=out.iterations,
        solver=solver,
        elapsed=perf_counter() - start,
        budgets=np.array(b),
        asset_names=problem.names,
        energy=out.energy,
        num_qubits=out.num_qubits,
        history=out.history,
        stats=stats,
        seed=problem.seed,
    )


def _check_normal_scale(w: np.ndarray, rc: np.ndarray, what: str, scale: float) -> None:
    """``ValueError`` when scaling by ``leverage`` / ``target_volatility`` left a non-zero weight or risk
    contribution subnormal (below 2.2e-308): there float64 keeps only a few digits, so the weights no longer have
    the rc_error reported for them (leverage=1e-320 gave weights whose own rc_error is 1e-4)."""
    tiny = np.finfo(np.float64).tiny
    for name, v in (("weight", w), ("risk contribution", rc)):
        a = np.abs(v)
        bad = (a > 0.0) & (a < tiny)
        if bad.any():
            k = int(np.argmax(bad))
            raise ValueError(f"{what} scales the weights by {scale:.3g}: {name} {k} becomes {float(v[k])!r}, "
                             f"subnormal (below {tiny:.3g}), where float64 loses precision; use a larger {what}")


def _solve_within_bounds(spec: SolverSpec, problem, *, tol: float, max_iter: int | None, options):
    """(solver output, weights, converged, stats) on the validated ``problem``: the one feasible point when the
    bounds leave one; else the solver's answer, replaced by the bounded problem's (``solve_bounded``) when it breaks
    the bounds. The validated arrays go down as they are: no solver validates again (check_psd=False throughout)."""
    s, b = problem.cov, problem.budgets
    fixed = None if problem.bounds is None else bounds_fixed_point(*problem.bounds)
    if fixed is not None:  # the bounds leave one feasible point (sum(lo) or sum(hi) is 1): it is the answer
        out = SolverOutput(weights=fixed, converged=True, iterations=0)
        return out, fixed, True, {"bounds_active": True, "bounds_fixed_point": True}
    out = spec.solve(s, b, tol=tol, max_iter=max_iter, seed=problem.seed, options=options)
    w, converged, stats = out.weights, out.converged, dict(out.stats)
    if problem.bounds is not None:
        lo, hi = problem.bounds
        if np.any(w < lo - BOUNDS_ATOL) or np.any(w > hi + BOUNDS_ATOL):
            w, converged, bstats = solve_bounded(s, b, lo, hi)
            stats = {"unconstrained": stats, **bstats}
        else:
            stats["bounds_active"] = False
    return out, w, converged, stats
