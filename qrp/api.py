"""``qrp.risk_parity``: validation, solver dispatch, bounds, leverage and target volatility, the result object."""

from __future__ import annotations

import time
from numbers import Real

import numpy as np

from qrp.classical.bounded import solve_bounded
from qrp.core.measures import contributions_kernel, rc_error_kernel
from qrp.core.registry import get_solver
from qrp.core.result import RiskParityResult
from qrp.core.validation import (
    check_erc_exists,
    plain,
    positive_int,
    positive_real,
    validate_bounds,
    validate_budgets,
    validate_cov,
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

    Raises
    ------
    ValueError : for any invalid input (shape, NaN/inf, asymmetric, not PSD, non-positive variance, bad budgets,
        infeasible bounds, leverage or target_volatility <= 0, unknown solver or option), before any solving;
        also when S is singular and no ERC portfolio exists.
    """
    start = time.perf_counter()
    spec = get_solver(solver)
    options = spec.validate_options(solver_options)
    c = validate_cov(cov, check_psd=False)
    s = c.matrix
    n = s.shape[0]
    b = validate_budgets(budgets, n, c.names)
    box = validate_bounds(bounds, n)
    leverage = positive_real(leverage, "leverage")
    if target_volatility is not None:
        target_volatility = positive_real(target_volatility, "target_volatility")
    if tol is None:
        tol = spec.default_tol
    elif isinstance(tol, bool) or not isinstance(tol, Real) or not np.isfinite(tol) or tol < 0:
        raise ValueError(f"tol must be a finite number >= 0, got {plain(tol)!r}")
    if max_iter is not None:  # None: the solver's default (a discrete solver's rounds may set it)
        max_iter = positive_int(max_iter, "max_iter")
    if box is not None and spec.kind != "classical":
        raise ValueError(f"bounds are supported by classical solvers only, not {solver!r}")
    if check_psd:
        try:
            np.linalg.cholesky(s)
        except np.linalg.LinAlgError:
            validate_cov(s, check_psd=True)  # raises with the smallest eigenvalue if not PSD
            check_erc_exists(s)

    out = spec.solve(s, b, tol=float(tol), max_iter=max_iter, seed=seed, options=options)
    w, converged, stats = out.weights, out.converged, dict(out.stats)
    if box is not None:
        lo, hi = box
        if np.any(w < lo - BOUNDS_ATOL) or np.any(w > hi + BOUNDS_ATOL):
            w, converged, bstats = solve_bounded(s, b, lo, hi)
            stats = {"unconstrained": stats, **bstats}
        else:
            stats["bounds_active"] = False

    rc = contributions_kernel(w, s)
    err = rc_error_kernel(rc, b)
    w = w * leverage
    if target_volatility is not None:
        w = w * (target_volatility / np.sqrt(float(w @ s @ w)))
    if leverage != 1.0 or target_volatility is not None:
        rc = contributions_kernel(w, s)
    return RiskParityResult(
        weights=w,
        risk_contributions=rc,
        volatility=float(rc.sum()),
        rc_error=err,
        converged=bool(converged),
        iterations=out.iterations,
        solver=solver,
        elapsed=time.perf_counter() - start,
        budgets=b,
        asset_names=c.names,
        energy=out.energy,
        num_qubits=out.num_qubits,
        history=out.history,
        stats=stats,
        seed=seed,
    )
