"""Dynamic conditional correlation, DCC(1,1) (Engle 2002, "Dynamic conditional correlation: a simple class of
multivariate GARCH models", J. Business & Economic Statistics 20(3):339-350), second step: the correlation
dynamics of standardized residuals z_t (each asset's return over its univariate GARCH volatility).

    Q_t = (1 - a - b) Qbar + a z_{t-1} z_{t-1}' + b Q_{t-1},   Q_1 = Qbar = z'z / T,
    R_t = diag(Q_t)^(-1/2) Q_t diag(Q_t)^(-1/2),

with a, b >= 0 and a + b < 1 (Q_t then stays positive definite). a and b maximize the correlation part of the
Gaussian quasi-likelihood, L(a, b) = -1/2 sum_t (log det R_t + z_t' R_t^(-1) z_t), Engle's two-step estimator
(consistent; the first step, the univariate GARCH fits, is ``qrp.data.covariance.garch_dcc_covariance``).
Hand-written because no maintained Python library fits DCC (``arch`` fits univariate models only); the
likelihood is minimized by SciPy's SLSQP over the box [0, 1]^2 with a + b <= 1 - ``STATIONARITY_MARGIN``, from
the best of a few starting points.
"""

from __future__ import annotations

import numba
import numpy as np
from scipy.optimize import minimize

#: a + b stays this far below 1 (the stationarity bound) during the fit.
STATIONARITY_MARGIN = 1e-6
#: Starting points (a, b) of the fit; the one with the highest likelihood is refined.
STARTS = ((0.01, 0.97), (0.05, 0.90), (0.10, 0.80), (0.02, 0.50))


def dcc_correlations(z: np.ndarray, a: float, b: float) -> tuple[np.ndarray, np.ndarray]:
    """(R_1..R_T stacked as (T, N, N), R_{T+1}): the DCC(1,1) correlations of the (T, N) residuals ``z``."""
    t, n = z.shape
    qbar = z.T @ z / t
    q = qbar.copy()
    out = np.empty((t, n, n))
    for k in range(t):
        d = 1.0 / np.sqrt(np.diag(q))
        out[k] = q * np.outer(d, d)
        q = (1.0 - a - b) * qbar + a * np.outer(z[k], z[k]) + b * q
    d = 1.0 / np.sqrt(np.diag(q))
    return out, q * np.outer(d, d)


@numba.njit(cache=True)
def _neg_loglik_kernel(z: np.ndarray, a: float, b: float) -> float:  # pragma: no cover (compiled)
    """The recursion of ``dcc_correlations`` and the likelihood in one compiled loop: per t, R_t, its Cholesky
    factor L (hand-written: N is small and a failure must return inf, not raise), log det R_t = 2 sum log L_ii and
    z_t' R_t^-1 z_t = |L^-1 z_t|^2."""
    t, n = z.shape
    qbar = z.T @ z / t
    q = qbar.copy()
    low = np.zeros((n, n))
    y = np.empty(n)
    total = 0.0
    for k in range(t):
        for i in range(n):
            for j in range(i + 1):
                acc = q[i, j] / np.sqrt(q[i, i] * q[j, j])
                for m in range(j):
                    acc -= low[i, m] * low[j, m]
                if i == j:
                    if acc <= 0.0:
                        return np.inf
                    low[i, i] = np.sqrt(acc)
                else:
                    low[i, j] = acc / low[j, j]
        logdet, quad = 0.0, 0.0
        for i in range(n):
            acc = z[k, i]
            for m in range(i):
                acc -= low[i, m] * y[m]
            y[i] = acc / low[i, i]
            logdet += 2.0 * np.log(low[i, i])
            quad += y[i] * y[i]
        total += logdet + quad
        for i in range(n):
            for j in range(n):
                q[i, j] = (1.0 - a - b) * qbar[i, j] + a * z[k, i] * z[k, j] + b * q[i, j]
    return 0.5 * total / t


def dcc_neg_loglik(params, z: np.ndarray) -> float:
    """-L(a, b) / T, the correlation part of the Gaussian quasi-likelihood per observation (inf outside the
    stationary region or where an R_t is not positive definite)."""
    a, b = float(params[0]), float(params[1])
    if a < 0 or b < 0 or a + b >= 1:
        return np.inf
    return float(_neg_loglik_kernel(np.ascontiguousarray(z, dtype=np.float64), a, b))


def fit_dcc(z) -> tuple[float, float, float]:
    """(a, b, L(a, b) / T) of DCC(1,1) fitted to the (T, N) standardized residuals ``z`` (T > N >= 2)."""
    z = np.asarray(z, dtype=np.float64)
    if z.ndim != 2 or z.shape[1] < 2 or z.shape[0] <= z.shape[1] or not np.isfinite(z).all():
        raise ValueError(f"DCC needs finite (T, N) residuals with N >= 2 and T > N, got shape {z.shape}")
    start = min(STARTS, key=lambda p: dcc_neg_loglik(p, z))
    cons = ({"type": "ineq", "fun": lambda p: 1.0 - STATIONARITY_MARGIN - p[0] - p[1]},)
    res = minimize(dcc_neg_loglik, np.array(start), args=(z,), method="SLSQP", bounds=[(0.0, 1.0), (0.0, 1.0)],
                   constraints=cons, options={"ftol": 1e-10, "maxiter": 200})
    a, b = (float(v) for v in res.x)
    value = dcc_neg_loglik(res.x, z)
    if not np.isfinite(value):
        raise ValueError(f"DCC(1,1) fit failed ({res.message}); the residuals may be degenerate")
    return a, b, -value


def simulate_dcc(n_obs: int, qbar, a: float, b: float, *, seed: int) -> np.ndarray:
    """(n_obs, N) draws z_t ~ N(0, R_t) of a DCC(1,1) process with unconditional matrix ``qbar`` (a
    correlation matrix), for tests and examples."""
    rng = np.random.default_rng(seed)
    qbar = np.asarray(qbar, dtype=np.float64)
    q = qbar.copy()
    out = np.empty((n_obs, qbar.shape[0]))
    for k in range(n_obs):
        d = 1.0 / np.sqrt(np.diag(q))
        out[k] = np.linalg.cholesky(q * np.outer(d, d)) @ rng.standard_normal(qbar.shape[0])
        q = (1.0 - a - b) * qbar + a * np.outer(out[k], out[k]) + b * q
    return out


__all__ = ["STATIONARITY_MARGIN", "dcc_correlations", "dcc_neg_loglik", "fit_dcc", "simulate_dcc"]
