"""Risk measures for risk budgeting beyond volatility, and their Euler risk contributions.

Every measure R here is convex and positively homogeneous of degree 1 (R(t w) = t R(w), t > 0), so Euler's theorem
gives risk contributions RC_i = w_i dR/dw_i that sum to R(w) (Tasche 1999), and the risk-budgeting problem has the
convex log-barrier form of ``qrp.finance.constrained``.

* ``"volatility"``: sigma(w) = sqrt(w' S w); RC_i = w_i (S w)_i / sigma(w).
* ``"cvar"``: historical expected shortfall of the loss L_t = -r_t'w over T scenarios at level ``alpha``,
  CVaR(w) = min_zeta zeta + E[(L - zeta)^+] / (1 - alpha) (Rockafellar & Uryasev 2000). Its Euler contributions
  are RC_i = w_i sum_t q_t (-r_ti) with q the tail weights: 1/((1 - alpha) T) on the k = floor((1 - alpha) T)
  largest losses and the remainder 1 - k/((1 - alpha) T) on the next one (Mausser & Romanko 2018, "CVaR
  proportional risk budgeting"). Where losses tie at the VaR level the subgradient is not unique; the risk
  budgeting solver reports the contributions of the tail weights its optimum certifies (the dual variables).
* ``"semi_deviation"``: downside deviation below the mean, sigma_-(w) = sqrt(sum_t min(z_t, 0)^2 / (T - 1)),
  z_t = (r_t - rbar)'w (as skfolio's ``semi_deviation`` with its default minimum acceptable return, the mean);
  RC_i = w_i sum_t min(z_t, 0) (r_ti - rbar_i) / ((T - 1) sigma_-(w)).
"""

from __future__ import annotations

import numpy as np

from qrp.core.validation import validate_weights

RISK_MEASURES = ("volatility", "cvar", "semi_deviation")


def check_alpha(alpha) -> float:
    """The CVaR level alpha in (0, 1), else ``ValueError``."""
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    return float(alpha)


def scenario_matrix(returns, n: int | None = None) -> np.ndarray:
    """(T, N) float64 scenario returns, finite, T >= 2 (of N columns when ``n`` is given), else ``ValueError``.

    C-contiguous whatever the caller's layout, so that a transposed or column-reordered frame gives the solver the
    same bits (and the same answer) as a plain one."""
    r = np.ascontiguousarray(getattr(returns, "to_numpy", lambda: returns)(), dtype=np.float64)
    if r.ndim != 2 or r.shape[0] < 2:
        raise ValueError(f"returns must be a 2-D (scenarios, assets) table with >= 2 rows, got shape {r.shape}")
    if n is not None and r.shape[1] != n:
        raise ValueError(f"returns must have {n} columns (one per asset), got {r.shape[1]}")
    if not np.all(np.isfinite(r)):
        t, i = np.argwhere(~np.isfinite(r))[0]
        raise ValueError(f"returns contain NaN or inf at row {t}, asset {i}: {r[t, i]!r}")
    return r


def cvar_tail_weights(losses: np.ndarray, alpha: float) -> np.ndarray:
    """Tail probabilities q_t of the historical CVaR_alpha of ``losses`` (see the module docstring); sum q = 1."""
    t = losses.shape[0]
    cap = 1.0 / ((1.0 - alpha) * t)
    q = np.zeros(t)
    order = np.argsort(-losses, kind="stable")
    k = min(int(np.floor((1.0 - alpha) * t + 1e-12)), t)
    q[order[:k]] = cap
    if k < t:
        q[order[k]] = 1.0 - k * cap
    return q


def risk_value(weights, measure: str, *, cov=None, returns=None, alpha: float = 0.95) -> float:
    """R(w) for one of ``RISK_MEASURES`` (``cov`` for volatility, scenario ``returns`` otherwise)."""
    w = validate_weights(weights)
    return float(euler_contributions(w, measure, cov=cov, returns=returns, alpha=alpha).sum())


def euler_contributions(weights, measure: str, *, cov=None, returns=None, alpha: float = 0.95,
                        tail_weights: np.ndarray | None = None) -> np.ndarray:
    """Euler risk contributions RC_i = w_i dR/dw_i (module docstring); they sum to R(w).

    ``tail_weights`` (CVaR only) overrides the sorted tail weights with a certified subgradient (solver duals).
    """
    w = validate_weights(weights)
    if measure == "volatility":
        s = np.asarray(cov, dtype=np.float64)
        sw = s @ w
        return w * sw / np.sqrt(float(w @ sw))
    r = scenario_matrix(returns, w.shape[0])
    if measure == "cvar":
        q = cvar_tail_weights(-(r @ w), check_alpha(alpha)) if tail_weights is None else tail_weights
        return w * (q @ -r)
    if measure == "semi_deviation":
        return _semi_deviation_contributions(w, r)
    raise ValueError(f"unknown risk_measure {measure!r}; available: {', '.join(RISK_MEASURES)}")


def _semi_deviation_contributions(w: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Euler contributions of the semi-deviation (module docstring), computed on the centred returns divided by
    their largest magnitude m and multiplied back (RC is homogeneous of degree 1 in the returns), so that returns
    of 1e-300 neither underflow sigma_- to 0 nor give 0/0; ``ValueError`` when sigma_-(w) is 0 (constant returns,
    or no scenario below the mean at w): the contributions are then undefined."""
    rc = r - r.mean(axis=0)
    m = float(np.max(np.abs(rc)))
    if m == 0.0:
        raise ValueError("returns are constant over the scenarios: the semi-deviation is 0 and its risk "
                         "contributions are undefined")
    rc = rc / m
    down = np.minimum(rc @ w, 0.0)
    ss = float(down @ down)
    if not ss > 0.0:
        raise ValueError("no scenario falls below the mean at these weights: the semi-deviation is 0 and its risk "
                         "contributions are undefined")
    sigma = np.sqrt(ss / (r.shape[0] - 1))
    return w * (down @ rc) / ((r.shape[0] - 1) * sigma) * m
