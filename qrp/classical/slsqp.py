"""The seed document's method: SciPy SLSQP on the pairwise squared differences of risk contributions.

    min_w  F(w) = sum_i sum_j (z_i - z_j)^2,   z_i = w_i (S w)_i / b_i,   s.t. sum(w) = 1, w >= 0.

The seed minimizes sum_i (RC_i - mean RC)^2 = sum_ij (w_i (S w)_i - w_j (S w)_j)^2 / (2 N w'Sw); with b = 1/N, F is
that without the factor 1 / (2 w'Sw) / N^2, which changes neither the zero set (the ERC portfolio, where F = 0) nor
the constraint set. It is non-convex and degree 4 in w; first-order methods stall in its flat valley, which is why
qrp never uses it as the yardstick.

``solve_slsqp`` makes it as good as the formulation allows: S is rescaled to unit mean variance, the variables are
x = w / w0 (w0 the inverse-volatility start, so every x_i is O(1) and SLSQP's initial identity quasi-Newton
matrix is well scaled: without this it stalls at rc_error ~ 1e-2 from N ~ 100 with "Positive directional
derivative for linesearch"), the analytic gradient

    F = 2N sum z^2 - 2 (sum z)^2,   dF/dz = 4N z - 4 sum(z),   grad_w F = (S w) * v + S (w * v),  v = dF/dz / b,
    grad_x F = w0 * grad_w F,

is passed, and ``ftol`` is tightened far below SciPy's default. ``solve_slsqp_seed`` is the pseudocode exactly as
written (numeric gradient, SciPy defaults, w0 = 1/N). Both return ``converged=False`` whenever rc_error > tol,
whatever SciPy reports: with defaults SciPy says "success" at contributions tens of percent off, and on daily-scale
covariances (variances ~1e-4) the objective is ~1e-16 at w0, so SLSQP stops after one iteration at 1/N.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

from qrp.core.measures import rc_error_kernel
from qrp.core.result import SolverOutput


def _output(res, w, s, b, tol, iterations) -> SolverOutput:
    w = np.clip(w, 0.0, None)
    w = w / w.sum()
    err = rc_error_kernel(w * (s @ w), b)
    stats = {"scipy_success": bool(res.success), "scipy_message": str(res.message)}
    return SolverOutput(w, err <= tol, iterations, stats=stats)


def solve_slsqp(cov, budgets, *, tol, max_iter, seed=None, ftol: float = 1e-30) -> SolverOutput:
    """SLSQP on the seed's objective with analytic gradient, variable and covariance scaling and tight ``ftol``.

    Each SLSQP iteration solves a dense QP in N variables (O(N^3)): use it for comparison, not for large N.
    """
    n = cov.shape[0]
    s = cov / np.mean(np.diag(cov))
    b = budgets
    w0 = b / np.sqrt(np.diag(s))
    w0 = w0 / w0.sum()

    def fun(x):
        w = w0 * x
        sw = s @ w
        z = w * sw / b
        zs = z.sum()
        v = (4.0 * n * z - 4.0 * zs) / b
        return 2.0 * n * float(z @ z) - 2.0 * zs * zs, w0 * (sw * v + s @ (w * v))

    res = minimize(
        fun, np.ones(n), jac=True, method="SLSQP", bounds=[(0.0, None)] * n,
        constraints=[{"type": "eq", "fun": lambda x: w0 @ x - 1.0, "jac": lambda x: w0}],
        options={"maxiter": max_iter, "ftol": ftol},
    )
    return _output(res, w0 * res.x, s, b, tol, int(res.nit))


def solve_slsqp_seed(cov, budgets, *, tol, max_iter, seed=None) -> SolverOutput:
    """The seed's ``risk_parity_optimization`` pseudocode as written (equal budgets only).

    ``max_iter`` is passed to SLSQP (SciPy's default is 100, the value the registry uses).
    """
    n = cov.shape[0]
    if not np.allclose(budgets, 1.0 / n, rtol=0, atol=1e-15):
        raise ValueError("slsqp_seed reproduces the seed, which has no risk budgets; use solver='slsqp'")

    def objective(w):
        vol = np.sqrt(w @ cov @ w)
        if vol == 0:
            return 0.0
        rc = w * (cov @ w) / vol
        return np.sum((rc - np.mean(rc)) ** 2)

    res = minimize(
        objective, np.ones(n) / n, method="SLSQP", bounds=[(0, None)] * n,
        constraints=[{"type": "eq", "fun": lambda w: np.sum(w) - 1}], options={"maxiter": max_iter},
    )
    return _output(res, res.x, cov, budgets, tol, int(res.nit))
