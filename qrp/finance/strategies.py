"""Comparison strategies for risk parity: long-only, fully invested weights (w >= 0, sum w = 1).

* ``equal_weight``: w_i = 1/N.
* ``inverse_volatility``: w_i proportional to 1 / sqrt(S_ii) (the ERC portfolio when all correlations are equal).
* ``minimum_variance``: argmin w'Sw; for a diagonal S it is w_i proportional to 1/S_ii.
* ``mean_variance``: Markowitz (1952), argmax w'mu - (gamma/2) w'Sw.
  Both quadratic programs are solved exactly by the Goldfarb-Idnani dual active-set method (``quadprog``).
* ``minimum_cvar``: historical CVaR_alpha of the loss L_t = -r_t'w over T scenarios, minimized as the linear
  program of Rockafellar & Uryasev (2000, J. Risk 2(3):21-41):

      min_{w, zeta, u}  zeta + 1/((1 - alpha) T) sum_t u_t
      s.t.  u_t >= -r_t'w - zeta,  u_t >= 0,  sum w = 1,  w >= 0,

  solved by ``scipy.optimize.linprog`` (HiGHS).
* ``risk_parity``: ``qrp.risk_parity`` with any solver of the registry (classical or discrete) and its options.
* ``factor_risk_parity``: ``qrp.finance.factor_parity.factor_risk_parity`` on k statistical factors of the
  estimated covariance: loadings A = V_k Lambda_k^(1/2) (top-k eigenpairs), factor covariance I, specific variances
  the clipped diagonal of S - A A'; factor budgets ``budgets`` (1/k by default).

* ``hrp``, ``herc``, ``nco``: Hierarchical Risk Parity, Hierarchical Equal Risk Contribution and Nested Clusters
  Optimization, skfolio's estimators (``qrp.finance.hierarchical``).

``compute_weights(strategy, cov=, returns=, ...)`` gives every strategy one calling convention for the backtest.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import linprog

from qrp.api import risk_parity
from qrp.core.validation import positive_int, positive_real, validate_cov, validate_weights
from qrp.finance.factor_parity import factor_risk_parity
from qrp.finance.hierarchical import HIERARCHICAL, OPTIONS, hierarchical_weights
from qrp.finance.risk_measures import check_alpha

STRATEGIES = (
    "equal_weight", "inverse_volatility", "minimum_variance", "mean_variance", "minimum_cvar", "risk_parity",
    "factor_risk_parity", *HIERARCHICAL,
)


def equal_weight(n_assets: int) -> np.ndarray:
    """w_i = 1/N."""
    if isinstance(n_assets, bool) or not isinstance(n_assets, (int, np.integer)) or n_assets < 1:
        raise ValueError(f"n_assets must be an integer >= 1, got {n_assets!r}")
    return np.full(int(n_assets), 1.0 / n_assets)


def inverse_volatility(cov) -> np.ndarray:
    """w_i = (1/sigma_i) / sum_j (1/sigma_j), sigma_i = sqrt(S_ii)."""
    inv = 1.0 / np.sqrt(np.diag(validate_cov(cov, check_psd=False).matrix))
    return inv / inv.sum()


def _simplex_qp(g: np.ndarray, a: np.ndarray) -> np.ndarray:
    """argmin 1/2 x'Gx - a'x s.t. sum x = 1, x >= 0 (G positive definite), by quadprog."""
    import quadprog  # optional dependency (the "finance" extra): the simplex QP of this strategy only

    n = g.shape[0]
    constraints = np.hstack([np.ones((n, 1)), np.eye(n)])
    bounds = np.concatenate([[1.0], np.zeros(n)])
    x = quadprog.solve_qp(g, a, constraints, bounds, meq=1)[0]
    x = np.clip(x, 0.0, None)  # the active set returns -1e-17 for some zero weights
    return x / x.sum()


def minimum_variance(cov) -> np.ndarray:
    """Long-only minimum-variance weights argmin w'Sw (S must be positive definite)."""
    s = validate_cov(cov, check_psd=True).matrix
    return _simplex_qp(s, np.zeros(s.shape[0]))


def mean_variance(cov, expected_returns, *, risk_aversion: float = 1.0) -> np.ndarray:
    """Long-only Markowitz weights argmax w'mu - (gamma/2) w'Sw, gamma = ``risk_aversion`` > 0.

    ``expected_returns`` mu and ``cov`` S must be in the same units (both annualized, say).
    """
    s = validate_cov(cov, check_psd=True).matrix
    mu = validate_weights(expected_returns, s.shape[0], what="expected_returns")
    gamma = positive_real(risk_aversion, "risk_aversion")
    # On the simplex, mu - max(mu) has the same minimizer (sum w = 1), and S / d with g = gamma d (d = max S_ii)
    # too. Where 2 g <= the gap between the largest mu and the next one, the vertex (or, for tied largest mu, the
    # minimum-variance mix of the tied assets) satisfies the KKT conditions exactly: solved so, since mu / g
    # would overflow (risk_aversion 1e-300 gave NaN weights).
    d = float(np.max(np.diag(s)))
    g, a = gamma * d, mu - mu.max()
    top = a == 0.0
    gap = float(-a[~top].max()) if (~top).any() else np.inf
    if 2.0 * g <= gap:
        w = np.zeros_like(mu)
        idx = np.flatnonzero(top)
        w[idx] = _simplex_qp(s[np.ix_(idx, idx)] / d, np.zeros(idx.size)) if idx.size > 1 else 1.0
        return w
    return _simplex_qp(s / d, a / g)  # the same minimizer as gamma S, mu; O(1) for any gamma


def minimum_cvar(returns, *, alpha: float = 0.95) -> np.ndarray:
    """Long-only weights minimizing historical CVaR_alpha of scenario returns (T, N), Rockafellar-Uryasev LP."""
    r = _scenarios(returns)
    alpha = check_alpha(alpha)
    t, n = r.shape
    # variables x = [w (n), zeta (1), u (t)]; rows: -r_t'w - zeta - u_t <= 0
    cost = np.concatenate([np.zeros(n), [1.0], np.full(t, 1.0 / ((1.0 - alpha) * t))])
    a_ub = sparse.hstack([sparse.csr_matrix(-r), sparse.csr_matrix(-np.ones((t, 1))), -sparse.identity(t)],
                         format="csr")
    a_eq = np.concatenate([np.ones(n), [0.0], np.zeros(t)])[None, :]
    bounds = [(0.0, None)] * n + [(None, None)] + [(0.0, None)] * t
    res = linprog(cost, A_ub=a_ub, b_ub=np.zeros(t), A_eq=a_eq, b_eq=[1.0], bounds=bounds, method="highs")
    if res.status != 0:
        raise ValueError(f"minimum-CVaR linear program failed: {res.message}")
    w = np.clip(res.x[:n], 0.0, None)
    return w / w.sum()


def pca_factor_risk_parity(cov, *, n_factors: int = 3, budgets=None) -> tuple[np.ndarray, dict[str, Any]]:
    """Factor risk parity on the top ``n_factors`` (1 <= k < N) principal components of ``cov`` (module docstring);
    returns the weights and ``converged``, ``factor_rc_error``, ``residual_share``."""
    s = validate_cov(cov, check_psd=False).matrix
    k = positive_int(n_factors, "n_factors")
    if k >= s.shape[0]:
        raise ValueError(f"n_factors must be smaller than the number of assets {s.shape[0]}, got {k}")
    vals, vecs = np.linalg.eigh(s)
    loadings = vecs[:, -k:] * np.sqrt(np.clip(vals[-k:], 0.0, None))
    specific = np.clip(np.diag(s) - np.sum(loadings**2, axis=1), 0.0, None)
    res = factor_risk_parity(loadings, np.eye(k), budgets, specific_variances=specific)
    return res.weights, {"converged": res.converged, "factor_rc_error": res.rc_error,
                         "residual_share": res.residual_share}


def historical_cvar(weights, returns, *, alpha: float = 0.95) -> float:
    """Historical CVaR_alpha of the loss -r_t'w: min_zeta zeta + E[(L - zeta)^+]/(1 - alpha), exactly (the
    minimum is attained at one of the T losses)."""
    r = _scenarios(returns)
    alpha = check_alpha(alpha)
    loss = -(r @ validate_weights(weights, r.shape[1]))
    excess = np.clip(loss[None, :] - loss[:, None], 0.0, None).mean(axis=1) / (1.0 - alpha)
    return float(np.min(loss + excess))


def compute_weights(
    strategy: str,
    *,
    cov: pd.DataFrame | np.ndarray,
    returns: np.ndarray | None = None,
    periods_per_year: float = 1.0,
    seed: int | None = None,
    **params: Any,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Weights of one strategy of ``STRATEGIES`` and a dict of diagnostics.

    ``cov`` is the estimated covariance (in units of ``periods_per_year`` per year); ``returns`` the (T, N)
    estimation window, needed by ``mean_variance`` (mu = mean(returns) * periods_per_year) and ``minimum_cvar``
    (scenarios). ``params``: ``risk_aversion`` (mean_variance), ``alpha`` (minimum_cvar), and for
    ``risk_parity`` ``solver``, ``budgets``, ``bounds``, ``leverage``, ``target_volatility``, ``tol``, ``max_iter``
    and the solver's own options. Every strategy's weights sum to 1 except risk_parity's with ``leverage`` or
    ``target_volatility``, which sum to the invested fraction (the rest is cash).
    Diagnostics for risk_parity: ``converged``, ``iterations``, ``rc_error``.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; available: {', '.join(STRATEGIES)}")
    allowed = {"mean_variance": {"risk_aversion"}, "minimum_cvar": {"alpha"},
               "factor_risk_parity": {"n_factors", "budgets"}, **OPTIONS}.get(strategy, set())
    if strategy != "risk_parity" and set(params) - allowed:
        raise ValueError(f"strategy {strategy!r} does not take option(s) {sorted(set(params) - allowed)}; "
                         f"it takes {sorted(allowed)}")
    n = np.shape(cov)[0]
    if strategy == "equal_weight":
        return equal_weight(n), {}
    if strategy == "inverse_volatility":
        return inverse_volatility(cov), {}
    if strategy == "minimum_variance":
        return minimum_variance(cov), {}
    if strategy in ("mean_variance", "minimum_cvar", *HIERARCHICAL) and returns is None:
        raise ValueError(f"strategy {strategy!r} needs the returns window")
    if strategy == "mean_variance":
        mu = _scenarios(returns).mean(axis=0) * periods_per_year
        return mean_variance(cov, mu, **params), {}
    if strategy == "minimum_cvar":
        return minimum_cvar(returns, **params), {}
    if strategy == "factor_risk_parity":
        return pca_factor_risk_parity(cov, **params)
    if strategy in HIERARCHICAL:
        return hierarchical_weights(strategy, cov, _scenarios(returns), periods_per_year=periods_per_year, **params)
    res = risk_parity(cov, seed=seed, **params)
    # not renormalized: leverage and target_volatility (in the units of cov) set the invested fraction sum(w); the
    # backtest holds the rest, 1 - sum(w), in cash at the risk-free rate (borrowing when negative)
    return res.weights, {"converged": res.converged, "iterations": res.iterations, "rc_error": res.rc_error}


def _scenarios(returns) -> np.ndarray:
    r = np.asarray(returns.to_numpy() if isinstance(returns, pd.DataFrame) else returns, dtype=np.float64)
    if r.ndim != 2 or r.shape[0] < 1:
        raise ValueError(f"returns must be a non-empty 2-D (scenarios, assets) table, got shape {r.shape}")
    if not np.all(np.isfinite(r)):
        raise ValueError("returns contain NaN or inf")
    return r
