"""Risk budgeting under per-asset weight bounds (Richard & Roncalli 2019, "Constrained risk budgeting portfolios").

Definition used by qrp. For lambda > 0 let

    x*(lambda) = argmin_{lo <= x <= hi}  1/2 x' S x  -  lambda * sum_i b_i log x_i ,

a strictly convex problem with a unique solution; the bounded risk-budgeting portfolio is w = x*(lambda*) with
lambda* a root of sum_i x*_i(lambda) = 1. sum x*(lambda) is continuous, tends to sum(hi) as lambda -> infinity and
to the sum of the minimum-variance point argmin_{lo <= x <= hi} x'Sx as lambda -> 0 (that is sum(lo) whenever
S lo >= 0, e.g. lo = 0), so a root exists when the bounds are feasible unless positive lower bounds and negative
covariances push that minimum-variance point's sum above 1; then ``ValueError`` says so.

Why this definition: it is convex (one answer, no local minima, unlike least squares on contributions); it returns
the unconstrained ERC portfolio whenever that satisfies the bounds; and its KKT conditions say exactly what a user
expects: every asset strictly inside its bounds gets risk contribution proportional to its budget,
RC_i = lambda* b_i / sigma(w), while assets at a bound take more (at a lower bound) or less (at an upper bound)
than that common level. ``rc_error`` against the budgets is reported anyway and is non-zero when bounds bind.

Solved by coordinate descent with exact clipped coordinate steps (``qrp.classical.ccd``) inside Brent's root finder on
log(lambda).
"""

from __future__ import annotations

import numpy as np

from qrp.classical.ccd import ccd_minimize, spinu_start


def solve_bounded(cov, budgets, lo, hi, *, tol: float = 1e-13, max_iter: int = 100_000):
    """Return (weights, converged, stats) of the bounded risk-budgeting portfolio defined in the module docstring.

    stats: ``lambda`` (lambda*), ``at_lower`` / ``at_upper`` (assets at a bound), ``inner_sweeps`` (coordinate-descent
    sweeps over all root-finder evaluations), ``root_evaluations``. KKT conditions at the solution x (sum x = 1):
    x_i (S x)_i = lambda* b_i for lo_i < x_i < hi_i, >= at x_i = lo_i, <= at x_i = hi_i.
    """
    y = spinu_start(cov, budgets)
    state = {"y": y, "sweeps": 0, "evals": 0, "ok": True}

    def excess(log_lam):
        lam = np.exp(log_lam)
        x0 = np.clip(state["y"], np.maximum(lo, 1e-300), hi)
        x, sweeps, ok, _ = ccd_minimize(cov, budgets, x0, lo, hi, lam, tol=tol, max_sweeps=max_iter, rc_mode=False)
        state.update(y=x, sweeps=state["sweeps"] + sweeps, evals=state["evals"] + 1, ok=state["ok"] and ok)
        return x.sum() - 1.0

    # Unconstrained scaling: x*(lambda) = sqrt(lambda) y*(1) without bounds, so start at lambda = 1/sum(y)^2.
    a = b = -2.0 * np.log(y.sum())
    fa = fb = excess(a)
    step = 1.0
    while fa > 0:
        a, step = a - step, step * 2
        if a < -700:  # lambda ~ 1e-304: sum x*(lambda) -> sum of the box's minimum-variance point, still > 1
            raise ValueError(
                f"bounded risk budgeting has no solution: even as lambda -> 0 the weights sum to {fa + 1.0:.6g} > 1 "
                "(positive lower bounds with negative covariances); lower the lower bounds"
            )
        fa = excess(a)
    while fb < 0:
        b, step = b + step, step * 2
        if b > 700:
            raise ValueError(f"bounded risk budgeting: no lambda reaches weights summing to 1 (sum {fb + 1.0:.6g})")
        fb = excess(b)
    from scipy.optimize import brentq  # scipy.optimize costs ~0.1-0.3 s to import; only active bounds need it

    log_lam = brentq(excess, a, b, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=200)
    excess(log_lam)
    x = state["y"]
    stats = {
        "bounds_active": True,
        "lambda": float(np.exp(log_lam)),
        "at_lower": int(np.sum(np.isclose(x, lo, rtol=0, atol=1e-12))),
        "at_upper": int(np.sum(np.isclose(x, hi, rtol=0, atol=1e-12))),
        "inner_sweeps": state["sweeps"],
        "root_evaluations": state["evals"],
    }
    return x / x.sum(), state["ok"], stats
