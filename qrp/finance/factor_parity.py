"""Multi-factor risk parity: risk budgets on factors instead of assets (Roncalli & Weisang 2016).

Model: asset covariance S = A Omega A' + D with loadings A (N x k), factor covariance Omega (k x k) and specific
variances D = diag(d) (zero if not given). Exposures y = A'w (k). With A^+ the Moore-Penrose inverse of A
(k x N), the volatility sigma(w) = sqrt(w'Sw) splits into factor and residual contributions
(Roncalli & Weisang 2016, "Risk parity portfolios with risk factors", Quantitative Finance 16(3):377-388):

    RC(F_j) = y_j (A^+ S w)_j / sigma(w),   j = 1..k,
    sum_j RC(F_j) + RC(residual) = sigma(w),  RC(residual) = w'(I - A A^+) S w / sigma(w)

(A A^+ projects onto the span of the loadings). Factor risk parity seeks long-only, fully invested w whose factor
risk shares RC(F_j) / sum_l RC(F_l) equal budgets b_j (b_j > 0, sum 1; 1/k by default); the accuracy measure is
the same as qrp's asset rc_error: max_j |RC(F_j) / sum_l RC(F_l) - b_j|. Shares are taken of the factor (systematic)
part; the residual share RC(residual) / sigma is reported beside them.

Solvers:
* ``"exact"`` (k = N, A invertible): RC(F_j) = y_j (Omega~ y)_j / sigma with Omega~ = A^-1 S A'^-1, so y solves
  ordinary risk budgeting on Omega~ (``qrp.risk_parity``), and w = A'^-1 y when that is long-only (Roncalli &
  Weisang 2016).
* ``"slsqp"``: SciPy SLSQP on sum_j (share_j(w) - b_j)^2 over the simplex with its analytic gradient, started at
  the asset ERC portfolio. For k < N the solution set is not a single point; this returns the one SLSQP reaches.
* ``"auto"``: exact when it applies and is long-only, else slsqp.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from qrp.api import risk_parity
from qrp.core.measures import rc_error_kernel
from qrp.core.validation import (
    MAX_ITERATIONS,
    align_labels,
    as_float_array,
    bounded_int,
    check_finite_result,
    check_psd_matrix,
    nonnegative_real,
    validate_problem,
    validate_weights,
)

FACTOR_METHODS = ("auto", "exact", "slsqp")


@dataclass(frozen=True)
class FactorRiskParityResult:
    """Result of ``factor_risk_parity``.

    weights : (N,) long-only weights summing to 1. factor_risk_contributions : (k,) RC(F_j).
    factor_risk_shares : (k,) RC(F_j) / sum RC(F). residual_share : RC(residual) / sigma.
    volatility : sigma(w) in the units of the covariances. rc_error : max_j |share_j - b_j|.
    converged : rc_error <= tol. method : "exact" or "slsqp". iterations : SLSQP iterations (0 for exact).
    budgets : (k,). asset_names / factor_names : labels from pandas inputs, else None.
    """

    weights: np.ndarray
    factor_risk_contributions: np.ndarray
    factor_risk_shares: np.ndarray
    residual_share: float
    volatility: float
    rc_error: float
    converged: bool
    method: str
    iterations: int
    budgets: np.ndarray
    asset_names: tuple[str, ...] | None = None
    factor_names: tuple[str, ...] | None = None


def _model(loadings, factor_cov, specific_variances, budgets=None):
    """Validated (A, Omega, S, A^+, factor budgets, asset names, factor names)."""
    a = as_float_array(loadings, "loadings").astype(np.float64)
    if a.ndim != 2 or a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"loadings must be a non-empty 2-D (assets, factors) matrix, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError("loadings contain NaN or inf")
    n, k = a.shape
    if k > n:
        raise ValueError(f"loadings have more factors ({k}) than assets ({n})")
    if np.shape(factor_cov)[:1] != (k,):
        raise ValueError(f"factor_cov must be {k} x {k} to match the loadings, got shape {np.shape(factor_cov)}")
    # the factor problem (Omega, factor budgets) is validated once, as qrp.risk_parity validates (S, budgets)
    omega = validate_problem(factor_cov, budgets)
    asset_names = tuple(str(i) for i in loadings.index) if isinstance(loadings, pd.DataFrame) else None
    d = np.zeros(n) if specific_variances is None else validate_weights(
        align_labels(specific_variances, asset_names, "specific_variances"), n, what="specific_variances")
    if (d < 0).any():
        raise ValueError(f"specific_variances must be >= 0; got {d[int(np.argmax(d < 0))]!r}")
    s = a @ omega.cov @ a.T + np.diag(d)
    s = 0.5 * (s + s.T)
    pinv = np.linalg.pinv(a)
    if np.linalg.matrix_rank(a) < k:
        raise ValueError(f"loadings have rank {np.linalg.matrix_rank(a)} < {k} factors: factors are not identified")
    factor_names = omega.names or (tuple(str(c) for c in loadings.columns) if isinstance(loadings, pd.DataFrame)
                                   else None)
    return a, omega.cov, s, pinv, omega.budgets, asset_names, factor_names


def _shares(w, a, s, pinv):
    sw = s @ w
    c = (a.T @ w) * (pinv @ sw)
    return c, float(w @ sw)


def factor_risk_contributions(weights, loadings, factor_cov, specific_variances=None) -> tuple[np.ndarray, float]:
    """(RC(F_j) for j = 1..k, RC(residual)); their sum is sigma(w) = sqrt(w'Sw)."""
    a, _, s, pinv, _, _, _ = _model(loadings, factor_cov, specific_variances)
    w = validate_weights(weights, a.shape[0])
    c, var = _shares(w, a, s, pinv)
    sigma = np.sqrt(var)
    return c / sigma, float(sigma - c.sum() / sigma)


def factor_risk_parity(
    loadings, factor_cov, budgets=None, *, specific_variances=None, method: str = "auto", tol: float = 1e-8,
    max_iter: int = 1000,
) -> FactorRiskParityResult:
    """Long-only weights whose factor risk shares match ``budgets`` (see the module docstring).

    ``tol`` >= 0 (finite) on the factor rc_error; ``max_iter`` in [1, ``MAX_ITERATIONS``] SLSQP iterations. Labelled
    ``budgets`` are aligned to the factor names, ``specific_variances`` to the asset names. A result with a
    non-finite weight, share or volatility is a ``ValueError``.
    """
    if method not in FACTOR_METHODS:
        raise ValueError(f"method must be one of {FACTOR_METHODS}, got {method!r}")
    tol = nonnegative_real(tol, "tol")
    max_iter = bounded_int(max_iter, "max_iter", maximum=MAX_ITERATIONS)
    a, _, s, pinv, b, asset_names, factor_names = _model(loadings, factor_cov, specific_variances, budgets)
    n, k = a.shape
    if method == "exact" and k != n:
        raise ValueError(f"method 'exact' needs as many factors as assets (k = N), got k = {k}, N = {n}")
    w, iterations, used = None, 0, "slsqp"
    if k == n and method in ("auto", "exact"):
        w = _exact(a, s, b)
        if w is None and method == "exact":
            raise ValueError("the factor risk-budgeting solution with positive exposures is not long-only; "
                             "use method='slsqp' for the closest long-only portfolio")
        used = "exact"
    if w is None:
        w, iterations = _slsqp(a, s, pinv, b, tol, max_iter)
        used = "slsqp"
    c, var = _shares(w, a, s, pinv)
    sigma = float(np.sqrt(var))
    shares = c / c.sum()
    err = rc_error_kernel(c, b)
    check_finite_result(weights=w, factor_risk_shares=shares, volatility=sigma)
    return FactorRiskParityResult(
        weights=w, factor_risk_contributions=c / sigma, factor_risk_shares=shares,
        residual_share=float(1.0 - c.sum() / var), volatility=sigma, rc_error=err, converged=err <= tol,
        method=used, iterations=iterations, budgets=b, asset_names=asset_names, factor_names=factor_names,
    )


def _exact(a, s, b):
    a_inv = np.linalg.inv(a)
    omega_t = a_inv @ s @ a_inv.T
    omega_t = 0.5 * (omega_t + omega_t.T)
    check_psd_matrix(omega_t, name="A^-1 S A'^-1")
    y = risk_parity(omega_t, b).weights
    w = np.linalg.solve(a.T, y)
    w = w / w.sum()
    if np.any(w < 0):
        return None
    return w


def _slsqp(a, s, pinv, b, tol, max_iter):
    ps = pinv @ s

    def objective(w):
        y, g = a.T @ w, ps @ w
        c = y * g
        total = c.sum()
        sh = c / total
        jac_c = g[:, None] * a.T + y[:, None] * ps  # d c_j / d w, (k, N)
        jac_s = (jac_c - np.outer(sh, jac_c.sum(axis=0))) / total
        r = sh - b
        return float(r @ r), 2.0 * jac_s.T @ r

    n = a.shape[0]
    w0 = risk_parity(s).weights
    res = minimize(objective, w0, jac=True, method="SLSQP", bounds=[(0.0, 1.0)] * n,
                   constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1.0, "jac": lambda w: np.ones(n)}],
                   options={"maxiter": max_iter, "ftol": min(tol, 1e-8) ** 2})
    w = np.clip(res.x, 0.0, None)
    return w / w.sum(), int(res.nit)
