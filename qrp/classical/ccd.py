"""Cyclical coordinate descent for risk budgeting (Griveau-Billion, Richard & Roncalli 2013).

Solves Spinu's convex problem (with an optional box and barrier weight lambda, used by ``qrp.classical.bounded``)

    min_{lo <= y <= hi}  1/2 y' S y  -  lambda * sum_i b_i log y_i .

Each coordinate step minimizes exactly in y_i: with c_i = (S y)_i - S_ii y_i the stationarity condition is
S_ii y_i^2 + c_i y_i - lambda b_i = 0, whose positive root is

    y_i = 2 lambda b_i / (c_i + sqrt(c_i^2 + 4 S_ii lambda b_i))     (cancellation-free form),

clipped to [lo_i, hi_i] (exact for a box, since the 1-D problem is convex). S y is updated in O(N) per step, so a
sweep costs O(N^2). Coordinate descent is invariant to the diagonal scaling of S, so it needs no preconditioning.
Without a box and with lambda = 1 the minimizer satisfies y_i (S y)_i = b_i, so w = y / sum(y) has risk shares
exactly b: the ERC portfolio for b = 1/N (Spinu 2013; Maillard, Roncalli & Teiletche 2010).
"""

from __future__ import annotations

import numba
import numpy as np

from qrp.core.measures import matvec, matvec_into, rc_error_kernel
from qrp.core.result import SolverOutput


# Two steps that ``_ccd_kernel`` and ``_erc_sweeps`` share, inlined into each (same operations, same bits). The row
# update of a coordinate move stays written out in both: as an inlined function it no longer vectorized (auto_ccd_into
# 1.15 -> 1.94 us at N = 5, 4.6 -> 8.1 us at N = 20).
@numba.njit(cache=True, nogil=True, inline="always")
def _root(c, sii, lb):  # pragma: no cover - compiled
    """The positive root of sii y^2 + c y - lb = 0 (the coordinate minimizer of Spinu's problem, c = (S y)_i -
    sii y_i), in the form without cancellation for the sign of c."""
    if c >= 0.0:
        return 2.0 * lb / (c + np.sqrt(c * c + 4.0 * sii * lb))
    return (-c + np.sqrt(c * c + 4.0 * sii * lb)) / (2.0 * sii)


@numba.njit(cache=True, nogil=True, inline="always")
def _rc_converged(s, b, y, sy, rc, tol):  # pragma: no cover - compiled
    """(converged, rc_error) of y from the running sy; when that meets ``tol``, sy recomputed as S y (the sweeps'
    accumulated rounding dropped) and rc_error again, before convergence is declared. ``rc`` receives y * (S y)."""
    n = y.shape[0]
    for k in range(n):
        rc[k] = y[k] * sy[k]
    crit = rc_error_kernel(rc, b)
    if crit <= tol:
        matvec_into(s, y, sy)
        for k in range(n):
            rc[k] = y[k] * sy[k]
        crit = rc_error_kernel(rc, b)
    return crit <= tol, crit


# Hand-written in numba: each coordinate step depends on the previous one, so no vectorized library routine
# applies, and a Python loop would be ~100x slower.
@numba.njit(cache=True, nogil=True)
def _ccd_kernel(s, b, y, lo, hi, lam, tol, max_sweeps, rc_mode):  # pragma: no cover - compiled
    """Minimize in place from y. rc_mode: stop on rc_error <= tol, else on max relative step <= tol.

    Returns (sweeps, converged, last_criterion).
    """
    n = y.shape[0]
    sy = matvec(s, y)
    rc = np.empty(n)  # y * (S y), refilled each sweep (no temporary per sweep)
    crit = np.inf
    for sweep in range(1, max_sweeps + 1):
        step = 0.0
        ymax = 0.0
        for i in range(n):
            sii = s[i, i]
            c = sy[i] - sii * y[i]
            yi = _root(c, sii, lam * b[i])
            if yi < lo[i]:
                yi = lo[i]
            elif yi > hi[i]:
                yi = hi[i]
            d = yi - y[i]
            if d != 0.0:
                row = s[i]
                for k in range(n):
                    sy[k] += d * row[k]
                y[i] = yi
            if abs(d) > step:
                step = abs(d)
            if yi > ymax:
                ymax = yi
        if rc_mode:
            ok, crit = _rc_converged(s, b, y, sy, rc, tol)
            if ok:
                return sweep, True, crit
        else:
            crit = step / ymax
            if crit <= tol:
                return sweep, True, crit
    return max_sweeps, False, crit


@numba.njit(cache=True, nogil=True)
def _erc_sweeps(s, b, y, sy, rc, tol, max_sweeps):  # pragma: no cover - compiled
    """``_ccd_kernel`` in rc_mode without a box and with lambda = 1 (the problem of ``solve_auto``), on the caller's
    work arrays ``sy`` and ``rc`` (N each): the same operations in the same order, so the same bits (there the
    clipping to [0, inf] never acts, the root being positive or NaN, and lambda b_i = b_i exactly), without the four
    allocations of a ``_ccd_kernel`` call (a tenth of the default call at N = 5). Returns (sweeps, converged,
    rc_error)."""
    n = y.shape[0]
    matvec_into(s, y, sy)
    crit = np.inf
    for sweep in range(1, max_sweeps + 1):
        for i in range(n):
            sii = s[i, i]
            yi = _root(sy[i] - sii * y[i], sii, b[i])
            d = yi - y[i]
            if d != 0.0:  # the row update of ``_ccd_kernel``, written out: as a shared inlined helper it no longer
                row = s[i]  # vectorized (default call 1.15 -> 1.94 us at N = 5)
                for k in range(n):
                    sy[k] += d * row[k]
                y[i] = yi
        ok, crit = _rc_converged(s, b, y, sy, rc, tol)
        if ok:
            return sweep, True, crit
    return max_sweeps, False, crit


# Hand-written (numba): the whole coordinate-descent phase of ``qrp.classical.newton.solve_auto`` in one compiled
# call, so that at small N (tens of microseconds a solve) no time goes to Python between sweep chunks.
@numba.njit(cache=True, nogil=True)
def auto_ccd_into(s, b, y, sy, rc, tol, first, chunk, budget):  # pragma: no cover - compiled
    """From Spinu's start, ``first`` sweeps, ``first`` more, then chunks of ``chunk`` sweeps while the linear rate
    of rc_error since the first ``first`` sweeps predicts convergence within ``budget`` sweeps in all. Writes the
    point to ``y``, using ``sy`` and ``rc`` (N each, disjoint) as work space. Returns (sweeps, converged, rc_error).
    ``ValueError`` unless S is (N, N) and y, sy, rc are N long, N = len(b) (no bounds checks below)."""
    n = b.shape[0]
    if s.shape[0] != n or s.shape[1] != n or y.shape[0] != n or sy.shape[0] != n or rc.shape[0] != n:
        raise ValueError("auto_ccd_into needs s of (N, N) and y, sy, rc of N = len(b) entries, got shapes", s.shape,
                         b.shape, y.shape, sy.shape, rc.shape)
    for i in range(n):
        y[i] = b[i] / np.sqrt(s[i, i])
    matvec_into(s, y, sy)
    var = 0.0
    for i in range(n):
        var += y[i] * sy[i]
    y /= np.sqrt(var)
    start, ok, err0 = _erc_sweeps(s, b, y, sy, rc, tol, first)
    err = err0
    done = start
    while not ok:
        if not err >= 0.0:  # NaN (a matrix that is not PSD, passed with check_psd=False): no rate, stop
            break
        if done > start:
            rate = (err / err0) ** (1.0 / (done - start)) if err0 > 0.0 else 0.0
            if not rate < 1.0 or done + np.log(tol / err) / np.log(rate) > budget:
                break
        elif done >= budget:
            break
        k, ok, err = _erc_sweeps(s, b, y, sy, rc, tol, first if done == start else chunk)
        done += k
    return done, ok, err


@numba.njit(cache=True, nogil=True)
def auto_ccd_kernel(s, b, tol, first, chunk, budget):  # pragma: no cover - compiled
    """``auto_ccd_into`` on fresh arrays: (y, sweeps, converged, rc_error)."""
    n = b.shape[0]
    y = np.empty(n)
    done, ok, err = auto_ccd_into(s, b, y, np.empty(n), np.empty(n), tol, first, chunk, budget)
    return y, done, ok, err


@numba.njit(cache=True, nogil=True)
def normalize_into(y, out):  # pragma: no cover - compiled
    """out = y / sum(y) (``out`` may be y itself), compiled so that ``solve_auto`` and the compiled default call
    (``qrp.classical.default``) give bit-identical weights (numpy's pairwise sum rounds differently from a loop).
    ``ValueError`` unless ``out`` is as long as y."""
    if out.shape[0] != y.shape[0]:
        raise ValueError("normalize_into needs y and out of one length, got shapes", y.shape, out.shape)
    total = 0.0
    for i in range(y.shape[0]):
        total += y[i]
    for i in range(y.shape[0]):
        out[i] = y[i] / total
    return out


@numba.njit(cache=True, nogil=True)
def normalized(y):  # pragma: no cover - compiled
    """y / sum(y) in a fresh array (``normalize_into``)."""
    return normalize_into(y, np.empty(y.shape[0]))


def auto_ccd(cov, budgets, *, tol, first, chunk, budget):
    """Coordinate descent from ``spinu_start`` with the rate-based stop of ``solve_auto``, in one compiled call:
    (y, sweeps, converged, rc_error)."""
    y, sweeps, ok, err = auto_ccd_kernel(cov, budgets, float(tol), int(first), int(chunk), float(budget))
    return y, int(sweeps), bool(ok), float(err)


def spinu_start(cov: np.ndarray, budgets: np.ndarray) -> np.ndarray:
    """Starting point for Spinu's problem: y proportional to b_i / sqrt(S_ii) (inverse volatility for ERC),
    scaled by t = 1 / sqrt(w' S w), the exact minimizer of the objective along that ray."""
    w = budgets / np.sqrt(np.diag(cov))
    return w / np.sqrt(float(w @ cov @ w))


def ccd_minimize(cov, budgets, y0, lo, hi, lam, *, tol, max_sweeps, rc_mode):
    """Run the compiled kernel on a copy of ``y0``; returns (y, sweeps, converged, criterion)."""
    y = np.array(y0, dtype=np.float64)
    sweeps, ok, crit = _ccd_kernel(cov, budgets, y, lo, hi, float(lam), float(tol), int(max_sweeps), rc_mode)
    return y, int(sweeps), bool(ok), float(crit)


def solve_ccd(cov, budgets, *, tol, max_iter, seed=None) -> SolverOutput:
    """ERC / risk budgeting by cyclical coordinate descent; ``max_iter`` counts sweeps over all N coordinates."""
    n = cov.shape[0]
    y, sweeps, ok, _ = ccd_minimize(
        cov, budgets, spinu_start(cov, budgets), np.zeros(n), np.full(n, np.inf), 1.0,
        tol=tol, max_sweeps=max_iter, rc_mode=True,
    )
    return SolverOutput(y / y.sum(), ok, sweeps)
