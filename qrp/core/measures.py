"""Risk contributions, the ERC accuracy measure and portfolio statistics.

Euler decomposition of volatility (Maillard, Roncalli & Teiletche 2010): with sigma(w) = sqrt(w' S w),

    RC_i = w_i (S w)_i / sigma(w),     sum_i RC_i = sigma(w).

The one accuracy measure used everywhere in qrp is

    rc_error(w) = max_i | RC_i / sum_j RC_j - b_i |,

the largest absolute miss of a risk share against its budget (b_i = 1/N for ERC). It is invariant to the scale of
w and of S, so leverage and target-volatility scaling leave it unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from qrp.core.validation import (
    align_labels,
    check_finite_result,
    positive_real,
    validate_budgets,
    validate_cov,
    validate_weights,
)


def contributions_kernel(w: np.ndarray, s: np.ndarray) -> np.ndarray:
    """w * (S w) / sigma for validated float arrays (the shared kernel)."""
    sw = s @ w
    var = float(w @ sw)
    if var <= 0.0:
        raise ValueError(f"portfolio variance is {var!r}: risk contributions are undefined")
    return w * sw / np.sqrt(var)


@numba.njit(cache=True, nogil=True)
def rc_error_kernel(rc: np.ndarray, budgets: np.ndarray) -> float:  # pragma: no cover - compiled
    """max_i |rc_i / sum(rc) - b_i| for float arrays: the one implementation (compiled, so that the compiled
    coordinate-descent loop of ``qrp.classical.ccd`` calls it too). Any positive multiple of the contributions
    (e.g. w * (S w)) gives the same value. ``ValueError`` when the contributions sum to 0."""
    total = 0.0
    for i in range(rc.shape[0]):
        total += rc[i]
    if total == 0.0:  # a zero-risk portfolio: shares of nothing (ValueError, never ZeroDivisionError)
        raise ValueError("risk contributions sum to 0 (a zero-risk portfolio): risk shares and rc_error are "
                         "undefined")
    err = 0.0
    for i in range(rc.shape[0]):
        e = abs(rc[i] / total - budgets[i])
        if e > err or e != e:  # a NaN stays NaN (never reported as accurate)
            err = e
    return err


# Hand-written (numba) so that the compiled solvers and the compiled default call (``qrp.classical.default``) share
# one S x without a BLAS call's fixed cost at small N; rows are contiguous, so it is a sequence of dot products.
@numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def matvec_into(s, x, out):  # pragma: no cover - compiled
    """out = S x for a C-contiguous (N, N) S (the row sums reassociated for SIMD); ``out`` must not overlap x.
    ``ValueError`` unless S is (M, N), x N and out M long (the loops index without bounds checks)."""
    n = x.shape[0]
    if s.shape[1] != n or out.shape[0] != s.shape[0]:
        raise ValueError("matvec_into needs s of (M, N), x of N and out of M entries, got shapes", s.shape, x.shape,
                         out.shape)
    for i in range(s.shape[0]):
        row = s[i]
        acc = 0.0
        for k in range(n):
            acc += row[k] * x[k]
        out[i] = acc
    return out


@numba.njit(cache=True, nogil=True)
def matvec(s, x):  # pragma: no cover - compiled
    """S x in a fresh array (``matvec_into``)."""
    return matvec_into(s, x, np.empty(s.shape[0]))


@numba.njit(cache=True, nogil=True)
def measures_into(w, s, b, rc):  # pragma: no cover - compiled
    """(volatility, rc_error, ok) of weights w in one compiled pass, writing rc = w (S w) / sqrt(w'Sw) into ``rc``
    (which first holds S w; it must not overlap w): volatility = sum(rc), rc_error = ``rc_error_kernel(rc, b)``; ok
    is False when w'Sw <= 0 or w or rc is not finite. ``ValueError`` unless b is as long as w (and S, rc as
    ``matvec_into`` needs)."""
    n = w.shape[0]
    if b.shape[0] != n:
        raise ValueError("measures_into needs w and b of one length, got shapes", w.shape, b.shape)
    sw = matvec_into(s, w, rc)
    var = 0.0
    for i in range(n):
        var += w[i] * sw[i]
    ok = var > 0.0
    root = np.sqrt(var) if ok else 1.0
    vol = 0.0
    for i in range(n):
        rc[i] = w[i] * sw[i] / root
        vol += rc[i]
        ok = ok and np.isfinite(w[i]) and np.isfinite(rc[i])
    return vol, rc_error_kernel(rc, b), ok


@numba.njit(cache=True, nogil=True)
def measures_kernel(w, s, b):  # pragma: no cover - compiled
    """(rc, volatility, rc_error, ok) of weights w (``measures_into`` on a fresh rc)."""
    rc = np.empty(w.shape[0])
    vol, err, ok = measures_into(w, s, b, rc)
    return rc, vol, err, ok


def result_measures(w: np.ndarray, s: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, float, float]:
    """(risk contributions, volatility, rc_error) of validated weights w for the validated covariance s and budgets
    b (``measures_kernel``). ``ValueError`` as ``check_finite_result`` words it when w or the contributions are not
    finite, or as ``contributions_kernel`` when w'Sw <= 0: a non-finite result is never returned."""
    rc, vol, err, ok = measures_kernel(w, s, b)
    if not ok:  # let the checks the kernel stands for name the problem
        check_finite_result(weights=w)
        rc = contributions_kernel(w, s)
        check_finite_result(risk_contributions=rc)
        vol, err = float(rc.sum()), rc_error_kernel(rc, b)
    return rc, float(vol), float(err)


def _labelled_weights(weights, cov, what: str = "weights"):
    """(validated cov, weights aligned to its asset names by label and validated)."""
    c = validate_cov(cov, check_psd=False)
    w = validate_weights(align_labels(weights, c.names, what), c.matrix.shape[0], what=what)
    return c, w


def _unit_scales(w: np.ndarray, s: np.ndarray) -> tuple[float, float]:
    """(max_i |w_i|, max_i S_ii): RC(w, S) = m sqrt(d) RC(w / m, S / d) and sigma(w, S) = m sqrt(d) sigma(w / m,
    S / d), so forming w'Sw of the unit-scaled inputs neither overflows (weights 1e200) nor underflows (1e-200)."""
    return float(np.max(np.abs(w))), float(np.max(np.diag(s)))


def risk_contributions(weights, cov) -> np.ndarray:
    """Risk contributions RC_i = w_i (S w)_i / sqrt(w' S w), shape (N,), in units of volatility.

    They sum to the portfolio volatility sqrt(w' S w). A labelled Series of weights is aligned to the covariance's
    asset names. Scale-free: formed from w / max|w| and S / max(diag S) and scaled back (``_unit_scales``), so
    weights of 1e200 or 1e-200 give their contributions, not NaN or 0; ``ValueError`` when they leave the float
    range. ``cov`` is not checked for positive semi-definiteness here (call
    ``qrp.core.validation.check_psd_matrix`` for that); everything else about it is.
    """
    c, w = _labelled_weights(weights, cov)
    m, d = _unit_scales(w, c.matrix)
    if m == 0.0:
        return contributions_kernel(w, c.matrix)  # raises: the portfolio variance is 0
    with np.errstate(over="ignore"):  # an overflow is reported by the finiteness check below
        rc = contributions_kernel(w / m, c.matrix / d) * (m * np.sqrt(d))
    check_finite_result(risk_contributions=rc)
    return rc


def rc_error(weights, cov, budgets=None) -> float:
    """max_i |RC_i / sum(RC) - b_i|, with b_i = 1/N when ``budgets`` is None. Dimensionless, in [0, 1].

    Scale-free by construction: weights are divided by max_i |w_i| and the covariance by its largest variance before
    the contributions are formed, so w'Sw neither overflows (weights 1e200) nor underflows (1e-200). Labelled
    weights and budgets are aligned to the covariance's asset names.
    """
    c, w = _labelled_weights(weights, cov)
    b = validate_budgets(budgets, c.matrix.shape[0], c.names)
    scale = float(np.max(np.abs(w)))
    if scale == 0.0:
        raise ValueError("weights are all zero: risk contributions are undefined")
    s = c.matrix / float(np.max(np.diag(c.matrix)))
    return rc_error_kernel(contributions_kernel(w / scale, s), b)


@dataclass(frozen=True)
class PortfolioStats:
    """Portfolio statistics in the units of the inputs (per period of ``cov`` and ``expected_returns``).

    Attributes
    ----------
    volatility : sqrt(w' S w).
    expected_return : w' mu, or None without expected returns.
    sharpe_ratio : (w' mu - r_f) / volatility, or None without expected returns.
    gross_leverage : sum_i |w_i|.
    """

    volatility: float
    expected_return: float | None
    sharpe_ratio: float | None
    gross_leverage: float


def portfolio_stats(weights, cov, expected_returns=None, risk_free_rate: float = 0.0) -> PortfolioStats:
    """Volatility, expected return and Sharpe ratio of ``weights``.

    ``expected_returns`` (shape (N,)) and ``risk_free_rate`` must be in the same period as ``cov``
    (annualized with annualized, daily with daily). Labelled Series are aligned to the covariance's asset names.
    ``ValueError`` when w'Sw is negative beyond rounding (a covariance that is not positive semi-definite).
    """
    c, w = _labelled_weights(weights, cov)
    n = c.matrix.shape[0]
    m, d = _unit_scales(w, c.matrix)  # w'Sw of the unit-scaled inputs: no under- or overflow (1e-200, 1e200)
    u, s = (w / m, c.matrix / d) if m > 0.0 else (w, c.matrix)
    var = float(u @ s @ u)
    # rounding alone moves w'Sw by at most about n eps |w|'|S||w|; anything more negative is a non-PSD covariance
    slack = 4.0 * n * np.finfo(np.float64).eps * float(np.abs(u) @ np.abs(s) @ np.abs(u))
    if var < -slack:
        raise ValueError(f"portfolio variance w'Sw = {var * m * m * d!r} is negative: cov is not positive "
                         "semi-definite")
    with np.errstate(over="ignore"):  # an overflow is reported just below
        vol = float(np.sqrt(max(var, 0.0))) * (m * np.sqrt(d) if m > 0.0 else 1.0)
    if not np.isfinite(vol):
        raise ValueError(f"portfolio volatility is {vol!r}: it leaves the float range (weights or cov too large)")
    ret = sharpe = None
    if expected_returns is not None:
        mu = validate_weights(align_labels(expected_returns, c.names, "expected_returns"), n, what="expected_returns")
        if not np.isfinite(risk_free_rate):
            raise ValueError(f"risk_free_rate must be finite, got {risk_free_rate!r}")
        ret = float(w @ mu)
        sharpe = (ret - float(risk_free_rate)) / positive_real(vol, "portfolio volatility")
    return PortfolioStats(vol, ret, sharpe, float(np.abs(w).sum()))
