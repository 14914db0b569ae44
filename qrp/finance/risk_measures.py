"""Risk measures for risk budgeting, and their Euler risk contributions.

Every measure R here is convex and positively homogeneous of degree 1 (R(t w) = t R(w), t > 0), so Euler's theorem
gives risk contributions RC_i = w_i dR/dw_i that sum to R(w) (Tasche 1999), and the risk-budgeting problem has the
convex log-barrier form of ``qrp.finance.constrained``. Names are skfolio's ``RiskMeasure`` values (its enum
members are accepted too); the definitions are skfolio's (``skfolio.measures``), with T scenarios r_t (rows of
``returns``), portfolio returns p_t = r_t'w, losses L_t = -p_t, centred returns z_t = (r_t - rbar)'w:

* ``"volatility"`` (``"standard_deviation"``): sigma(w) = sqrt(w' S w); RC_i = w_i (S w)_i / sigma(w).
  ``"variance"`` budgets the variance's contributions w_i (2 S w)_i = 2 sigma RC_i: the same shares, the same
  portfolio, so it is solved (and reported) as volatility; likewise ``"semi_variance"`` as ``"semi_deviation"``.
* ``"cvar"``: historical expected shortfall at level ``alpha``, CVaR(w) = min_zeta zeta + E[(L - zeta)^+] /
  (1 - alpha) (Rockafellar & Uryasev 2000); RC_i = w_i sum_t q_t (-r_ti) with q the tail weights: 1/((1 - alpha) T)
  on the k = floor((1 - alpha) T) largest losses and the remainder on the next one (Mausser & Romanko 2018).
* ``"semi_deviation"``: sqrt(sum_t min(z_t, 0)^2 / (T - 1)) (skfolio's, minimum acceptable return the mean).
* ``"mean_absolute_deviation"``: E|z_t|.  ``"first_lower_partial_moment"``: E[max(-z_t, 0)].
* ``"worst_realization"``: max_t L_t.  ``"gini_mean_difference"``: sum_k a_k p_(k) with p sorted ascending and the
  OWA weights a_k = (4k - 2(T + 1)) / (T (T - 1)) (skfolio's ``owa_gmd_weights``; Cajas 2021).
* ``"evar"``: entropic value at risk (Ahmadi-Javid 2012), inf_{s > 0} s log(E[exp(L / s)] / (1 - alpha)); its
  gradient is sum_t pi_t (-r_t) with pi the exponential tilt exp(L_t / s*) / sum exp(L / s*).
* Drawdowns of the uncompounded cumulative return c_t = p_1 + ... + p_t, with the start 0 as the first peak:
  DD_t = max(0, c_1, ..., c_t) - c_t >= 0, linear in w between kinks with gradient D_t = C_peak(t) - C_t (C_t the
  cumulative asset returns). ``"max_drawdown"`` max_t DD_t, ``"average_drawdown"`` E[DD], ``"cdar"`` the CVaR of
  DD at ``alpha``, ``"edar"`` its EVaR, ``"ulcer_index"`` sqrt(E[DD^2]).

Polyhedral measures (CVaR, MAD, FLPM, worst realization, GMD, the drawdown maxima and averages) have kinks: where
losses tie the subgradient is not unique, and the risk-budgeting solver reports the contributions of the
subgradient its optimum certifies (``qrp.finance.constrained``); so do the drawdown measures, whose optimum sits
where two running peaks tie. ``SMOOTH`` lists the measures differentiable there, which the solver polishes by
Newton's method.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq
from scipy.special import logsumexp, softmax

from qrp.core.validation import validate_weights

RISK_MEASURES = ("volatility", "cvar", "semi_deviation", "mean_absolute_deviation", "first_lower_partial_moment",
                 "worst_realization", "gini_mean_difference", "evar", "max_drawdown", "average_drawdown", "cdar",
                 "edar", "ulcer_index")
#: Other names of the same portfolio (module docstring).
ALIASES = {"standard_deviation": "volatility", "variance": "volatility", "semi_variance": "semi_deviation"}
#: Differentiable away from a measure-zero set of weights (polished by Newton's method). Not the drawdown
#: measures: their optimum sits where two running peaks tie, a kink of every later drawdown.
SMOOTH = ("volatility", "semi_deviation", "evar")
DRAWDOWN = ("max_drawdown", "average_drawdown", "cdar", "edar", "ulcer_index")
#: The tail measures: CVaR of affine losses (or their maximum), polished by ``polish.tail_polish``.
TAIL = ("cvar", "cdar", "worst_realization", "max_drawdown")


def canonical_measure(measure) -> str:
    """The canonical name of ``measure`` (a name of ``RISK_MEASURES`` / ``ALIASES`` or a skfolio ``RiskMeasure``)."""
    name = getattr(measure, "value", measure)
    if isinstance(name, str):
        name = name.lower()
        name = ALIASES.get(name, name)
        if name in RISK_MEASURES:
            return name
    raise ValueError(f"unknown risk_measure {measure!r}; available: {', '.join(RISK_MEASURES + tuple(ALIASES))}")


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


def evar_tilt(losses: np.ndarray, alpha: float) -> tuple[float, np.ndarray]:
    """(EVaR_alpha(losses), the tilt pi): s* solves d/ds [s log(E exp(L/s)) - s log(1 - alpha)] = 0.

    The derivative log E[exp(L/s)] - log(1 - alpha) - E_pi[L] / s increases to -log(1 - alpha) - ... as s grows;
    with T (1 - alpha) <= 1 the infimum is the largest loss (s -> 0, pi on the argmax).
    """
    t = losses.shape[0]
    log_tail = np.log(t * (1.0 - alpha))
    top = float(losses.max())
    spread = float(top - losses.min())
    if log_tail <= 0 or spread <= 0:
        pi = (losses == top).astype(np.float64)
        return top, pi / pi.sum()

    shifted = losses - top  # <= 0: no cancellation between LSE(L / s) and pi'L / s at small s

    def slope(log_s: float) -> float:
        s = np.exp(log_s)
        pi = softmax(shifted / s)
        return float(logsumexp(shifted / s) - log_tail - pi @ shifted / s)

    lo, hi = np.log(spread) - 40.0, np.log(spread) + 40.0
    log_s = brentq(slope, lo, hi, xtol=1e-14, rtol=4 * np.finfo(float).eps, maxiter=500)
    s = float(np.exp(log_s))
    return top + s * float(logsumexp(shifted / s) - log_tail), softmax(shifted / s)


def drawdowns(returns: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(DD, D): the drawdowns DD_t >= 0 of the uncompounded cumulative portfolio return and their gradient D."""
    cum_assets = np.cumsum(returns, axis=0)
    cum = cum_assets @ w
    # index of the running peak (-1: the start, cumulative return 0)
    best, idx, peak_idx = 0.0, -1, np.empty(cum.shape[0], dtype=np.int64)
    for t, c in enumerate(cum):
        if c > best:
            best, idx = c, t
        peak_idx[t] = idx
    padded = np.vstack([np.zeros((1, returns.shape[1])), cum_assets])
    d = padded[peak_idx + 1] - cum_assets
    return d @ w, d


def _gmd_weights(t: int) -> np.ndarray:
    return (4.0 * np.arange(1, t + 1) - 2.0 * (t + 1)) / (t * (t - 1))


def _scenario_gradient(w: np.ndarray, measure: str, r: np.ndarray, alpha: float) -> tuple[float, np.ndarray]:
    """(R(w), a (sub)gradient of R at w) for the scenario measures."""
    t = r.shape[0]
    if measure in DRAWDOWN:
        dd, d = drawdowns(r, w)
        if measure == "max_drawdown":
            k = int(np.argmax(dd))
            return float(dd[k]), d[k]
        if measure == "average_drawdown":
            return float(dd.mean()), d.mean(axis=0)
        if measure == "cdar":
            q = cvar_tail_weights(dd, alpha)
            return float(q @ dd), q @ d
        if measure == "edar":
            value, pi = evar_tilt(dd, alpha)
            return value, pi @ d
        u = float(np.sqrt(dd @ dd / t))
        return u, (dd @ d) / (t * u)
    p = r @ w
    if measure == "cvar":
        q = cvar_tail_weights(-p, alpha)
        return float(q @ -p), q @ -r
    if measure == "evar":
        value, pi = evar_tilt(-p, alpha)
        return value, pi @ -r
    if measure == "worst_realization":
        k = int(np.argmin(p))
        return float(-p[k]), -r[k]
    if measure == "gini_mean_difference":
        order = np.argsort(p, kind="stable")
        a = _gmd_weights(t)
        return float(a @ p[order]), a @ r[order]
    rc = r - r.mean(axis=0)
    z = rc @ w
    if measure == "semi_deviation":
        return _semi_deviation(z, rc)
    if measure == "mean_absolute_deviation":
        return float(np.abs(z).mean()), np.sign(z) @ rc / t
    if measure == "first_lower_partial_moment":
        below = (z < 0).astype(np.float64)
        return float(np.maximum(-z, 0.0).mean()), -(below @ rc) / t
    raise ValueError(f"unknown risk_measure {measure!r}; available: {', '.join(RISK_MEASURES)}")


def _semi_deviation(z: np.ndarray, rc: np.ndarray) -> tuple[float, np.ndarray]:
    """sigma_-(w) and its gradient from z = rc w, computed on rc / m (m its largest magnitude) and multiplied back
    (homogeneous of degree 1 in the returns), so that returns of 1e-300 neither underflow sigma_- to 0 nor give 0/0;
    ``ValueError`` when sigma_-(w) is 0 (constant returns, or no scenario below the mean): the contributions are then
    undefined."""
    t = rc.shape[0]
    m = float(np.max(np.abs(rc)))
    if m == 0.0:
        raise ValueError("returns are constant over the scenarios: the semi-deviation is 0 and its risk "
                         "contributions are undefined")
    down = np.minimum(z / m, 0.0)
    ss = float(down @ down)
    if not ss > 0.0:
        raise ValueError("no scenario falls below the mean at these weights: the semi-deviation is 0 and its risk "
                         "contributions are undefined")
    sigma = float(np.sqrt(ss / (t - 1)))
    return sigma * m, (down @ (rc / m)) / ((t - 1) * sigma) * m


def risk_gradient(weights, measure: str, *, cov=None, returns=None, alpha: float = 0.95) -> tuple[float, np.ndarray]:
    """(R(w), dR/dw) for a canonical measure (a subgradient at kinks; module docstring)."""
    w = validate_weights(weights)
    if measure == "volatility":
        s = np.asarray(cov, dtype=np.float64)
        sw = s @ w
        sigma = float(np.sqrt(float(w @ sw)))
        return sigma, sw / sigma
    r = scenario_matrix(returns, w.shape[0])
    return _scenario_gradient(w, measure, r, check_alpha(alpha))


def euler_contributions(weights, measure, *, cov=None, returns=None, alpha: float = 0.95,
                        tail_weights: np.ndarray | None = None) -> np.ndarray:
    """Euler risk contributions RC_i = w_i dR/dw_i (module docstring); they sum to R(w).

    ``tail_weights`` (CVaR only) overrides the sorted tail weights with a certified subgradient (solver duals).
    """
    w = validate_weights(weights)
    measure = canonical_measure(measure)
    if measure == "cvar" and tail_weights is not None:
        return w * (tail_weights @ -scenario_matrix(returns, w.shape[0]))
    return w * risk_gradient(w, measure, cov=cov, returns=returns, alpha=alpha)[1]
