"""Least-squares risk-concentration formulations of risk parity (Feng & Palomar 2015), as riskParityPortfolio (R)
and riskparity.py name them.

With r_i = w_i (S w)_i (the variance contributions, sum r = V = w'Sw) and budgets b, the risk concentration F is

    "rc-double-index"            sum_{i,j} (r_i - r_j)^2
    "rc-over-b-double-index"     sum_{i,j} (r_i / b_i - r_j / b_j)^2
    "rc-over-var vs b"           sum_i (r_i / V - b_i)^2
    "rc-over-var"                sum_i (r_i / V)^2
    "rc-over-sd vs b-times-sd"   sum_i (r_i / sqrt(V) - b_i sqrt(V))^2
    "rc vs b-times-var"          sum_i (r_i - b_i V)^2
    "rc vs theta"                sum_i (r_i - theta)^2            (theta a free variable)
    "rc-over-b vs theta"         sum_i (r_i / b_i - theta)^2

and the portfolio minimizes F(w) - lmd_mu * mu'w + lmd_var * w'Sw subject to sum w = ``sum_weights``, bounds,
C w <= d and A w = e (riskParityPortfolio's ``formulation``, ``lmd_mu``, ``lmd_var``, ``w_lb``/``w_ub``, ``Dmat``/
``dvec``, ``Cmat``/``cvec``; riskparity.py's ``alpha`` and ``lambda``). These problems are **nonconvex**: the solver
(SLSQP with the analytic gradient, F' = J_r' dF/dr with J_r = diag(S w) + diag(w) S) returns a local minimum from
``w0``, and without constraints or penalties every formulation with budgets has the risk-budgeting portfolio as a
global minimum (F = 0), where the log-barrier definition (``qrp.finance.constrained``) is the same portfolio. With
binding constraints they give other portfolios than the log-barrier one: another definition, not an approximation.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
from scipy.optimize import minimize

from qrp.api import risk_parity
from qrp.core.measures import rc_error_kernel
from qrp.core.result import RiskParityResult
from qrp.core.validation import validate_weights

LS_FORMULATIONS = ("rc-double-index", "rc-over-b-double-index", "rc-over-var vs b", "rc-over-var",
                   "rc-over-sd vs b-times-sd", "rc vs b-times-var", "rc vs theta", "rc-over-b vs theta")
THETA = ("rc vs theta", "rc-over-b vs theta")
#: SLSQP's tolerance on the objective (scaled to O(1) at the start): tighter ends in "Positive directional
#: derivative for linesearch" at the same point.
FTOL = 1e-12


def concentration(w: np.ndarray, theta: float, s: np.ndarray, b: np.ndarray, formulation: str):
    """(F, dF/dw, dF/dtheta) of a formulation of ``LS_FORMULATIONS`` (module docstring)."""
    sw = s @ w
    r = w * sw
    v = float(r.sum())
    n = r.shape[0]
    d_theta = 0.0
    if formulation in ("rc-double-index", "rc-over-b-double-index"):
        q, scale = (r, 1.0) if formulation == "rc-double-index" else (r / b, 1.0 / b)
        f = 2.0 * (n * float(q @ q) - float(q.sum()) ** 2)
        grad_r = 4.0 * (n * q - q.sum()) * scale
    elif formulation == "rc-over-var vs b":
        g = r / v - b
        f = float(g @ g)
        grad_r = 2.0 * (g / v - float(g @ r) / v**2)
    elif formulation == "rc-over-var":
        g = r / v
        f = float(g @ g)
        grad_r = 2.0 * (r / v**2 - float(r @ r) / v**3)
    elif formulation == "rc-over-sd vs b-times-sd":
        root = np.sqrt(v)
        g = r / root - b * root
        f = float(g @ g)
        grad_r = 2.0 * (g / root - float(g @ r) / (2.0 * v * root) - float(g @ b) / (2.0 * root))
    elif formulation == "rc vs b-times-var":
        g = r - b * v
        f = float(g @ g)
        grad_r = 2.0 * (g - float(g @ b))
    elif formulation in THETA:
        q, scale = (r, 1.0) if formulation == "rc vs theta" else (r / b, 1.0 / b)
        g = q - theta
        f = float(g @ g)
        grad_r = 2.0 * g * scale
        d_theta = -2.0 * float(g.sum())
    else:
        raise ValueError(f"formulation must be one of {LS_FORMULATIONS}, got {formulation!r}")
    grad_w = sw * grad_r + s @ (w * grad_r)  # J_r' grad_r, J_r = diag(S w) + diag(w) S
    return f, grad_w, d_theta


def _constraints(n: int, k: int, sum_weights: float, cons) -> list[dict]:
    """SLSQP constraint dicts over z = (w, theta[:k])."""
    pad = np.zeros(k)
    out = [{"type": "eq", "fun": lambda z: np.array([z[:n].sum() - sum_weights]),
            "jac": lambda z: np.concatenate([np.ones(n), pad])[None, :]}]
    if cons.c_ub is not None:
        c, d = cons.c_ub, cons.d_ub
        out.append({"type": "ineq", "fun": lambda z: d - c @ z[:n],
                    "jac": lambda z: np.hstack([-c, np.zeros((c.shape[0], k))])})
    if cons.a_eq is not None:
        a, e = cons.a_eq, cons.e_eq
        out.append({"type": "eq", "fun": lambda z: a @ z[:n] - e,
                    "jac": lambda z: np.hstack([a, np.zeros((a.shape[0], k))])})
    return out


def infeasibility(w: np.ndarray, lo: np.ndarray, hi: np.ndarray, sum_weights: float, cons) -> float:
    """The largest constraint violation of ``w`` (0 when feasible)."""
    worst = max(float(np.max(lo - w)), float(np.max(w - hi)), abs(float(w.sum()) - sum_weights), 0.0)
    if cons.c_ub is not None:
        worst = max(worst, float(np.max(cons.c_ub @ w - cons.d_ub)))
    if cons.a_eq is not None:
        worst = max(worst, float(np.max(np.abs(cons.a_eq @ w - cons.e_eq))))
    return worst


def risk_concentration(s: np.ndarray, b: np.ndarray, formulation: str, cons, *, w0: np.ndarray, lo: np.ndarray,
                       hi: np.ndarray, sum_weights: float = 1.0, mu=None, lmd_mu: float = 0.0,
                       lmd_var: float = 0.0, max_iter: int = 1000, ftol: float = FTOL,
                       warn: bool = True) -> tuple[np.ndarray, dict]:
    """Minimize F(w) - lmd_mu mu'w + lmd_var w'Sw under the constraints from ``w0`` by SLSQP (module docstring).

    Returns (w, stats) with stats ``objective``, ``theta`` (None unless a theta formulation), ``success``,
    ``message``, ``iterations``, ``w0_infeasibility``.
    """
    n = s.shape[0]
    k = 1 if formulation in THETA else 0
    bad = infeasibility(w0, lo, hi, sum_weights, cons)
    if warn and bad > 1e-9:  # riskParityPortfolio and riskparity.py warn and start from it anyway
        warnings.warn(f"w0 is not feasible for the constraints (largest violation {bad:.3g}); the solver starts "
                      "from it anyway", UserWarning, stacklevel=3)
    mu = np.zeros(n) if mu is None else mu
    theta0 = float(np.mean((w0 * (s @ w0)) / (1.0 if formulation == "rc vs theta" else b))) if k else 0.0
    z0 = np.concatenate([w0, [theta0] * k])

    def objective(z):
        w = z[:n]
        f, gw, gt = concentration(w, z[n] if k else 0.0, s, b, formulation)
        sw = s @ w
        value = f - lmd_mu * float(mu @ w) + lmd_var * float(w @ sw)
        grad = gw - lmd_mu * mu + 2.0 * lmd_var * sw
        return value, np.concatenate([grad, [gt] * k])

    # a positive factor: the same minimizers, SLSQP-sized values (the start may be the optimum, F = 0: take the
    # larger of F there and at the equal-weight portfolio)
    w_eq = np.full(n, sum_weights / n)
    f0 = max(abs(objective(z0)[0]), abs(objective(np.concatenate([w_eq, [theta0] * k]))[0]))
    unit = f0 if np.isfinite(f0) and f0 > 0 else 1.0

    def scaled(z):
        value, grad = objective(z)
        return value / unit, grad / unit

    bounds = [(float(a), float(c)) for a, c in zip(lo, hi, strict=True)] + [(None, None)] * k
    res = minimize(scaled, z0, jac=True, method="SLSQP", bounds=bounds,
                   constraints=_constraints(n, k, sum_weights, cons),
                   options={"ftol": ftol, "maxiter": max_iter})
    w = np.asarray(res.x[:n], dtype=np.float64)
    return w, {"objective": float(res.fun) * unit, "theta": float(res.x[n]) if k else None,
               "success": bool(res.success), "message": str(res.message), "iterations": int(res.nit),
               "w0_infeasibility": bad}


def _penalty(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not np.isfinite(value) or value < 0:
        raise ValueError(f"{what} must be a finite number >= 0, got {value!r}")
    return float(value)


def least_squares_portfolio(s: np.ndarray, b: np.ndarray, formulation: str, cons, *, names=None, start=None,
                            w0=None, sum_weights: float = 1.0, mu=None, lmd_mu: float = 0.0,
                            lmd_var: float = 0.0) -> RiskParityResult:
    """The least-squares risk-concentration portfolio of ``qrp.constrained_risk_budgeting(formulation=...)``.

    ``cons``: validated constraints (``qrp.finance.constraint_set``; no turnover or leverage: not smooth). ``w0``:
    the start (default: the risk-budgeting portfolio scaled to ``sum_weights`` and clipped to the bounds; an
    infeasible ``w0`` warns, as the peers do). Result: ``solver="slsqp"``, ``converged`` when SLSQP succeeds and the
    constraints hold to 1e-8; stats ``formulation``, ``objective``, ``theta``, ``w0_infeasibility``, ...
    """
    start = time.perf_counter() if start is None else start
    n = s.shape[0]
    if cons.turnover is not None or cons.leverage is not None:
        raise ValueError(f"formulation={formulation!r} takes bounds and linear constraints, not turnover or leverage")
    lmd_mu, lmd_var = _penalty(lmd_mu, "lmd_mu"), _penalty(lmd_var, "lmd_var")
    if lmd_mu and mu is None:
        raise ValueError("lmd_mu weighs the expected return mu'w: pass expected_returns")
    lo = np.zeros(n) if cons.lo is None else cons.lo
    hi = np.full(n, np.inf) if cons.hi is None else cons.hi
    if w0 is None:  # the risk-budgeting portfolio clipped to the bounds (the peers start from the vanilla one too)
        x0 = np.clip(risk_parity(s, b).weights * sum_weights, lo, hi)
    else:
        x0 = validate_weights(w0, n, what="w0")
    w, info = risk_concentration(s, b, formulation, cons, w0=x0, lo=lo, hi=hi, sum_weights=sum_weights, mu=mu,
                                 lmd_mu=lmd_mu, lmd_var=lmd_var, warn=w0 is not None)
    sw = s @ w
    rc = w * sw / np.sqrt(float(w @ sw))
    return RiskParityResult(
        weights=w, risk_contributions=rc, volatility=float(np.sqrt(w @ sw)), rc_error=rc_error_kernel(rc, b),
        converged=info["success"] and infeasibility(w, lo, hi, sum_weights, cons) <= 1e-8,
        iterations=info["iterations"], solver="slsqp", elapsed=time.perf_counter() - start, budgets=b,
        asset_names=names,
        stats={"risk_measure": "volatility", "formulation": formulation, "risk": float(rc.sum()),
               "constrained": not cons.empty, "sum_weights": sum_weights, "lmd_mu": lmd_mu, "lmd_var": lmd_var,
               **info},
    )


__all__ = ["LS_FORMULATIONS", "concentration", "infeasibility", "least_squares_portfolio", "risk_concentration"]
