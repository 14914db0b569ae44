"""Damped Newton method on Spinu's convex formulation of risk budgeting (Spinu 2013), and the default solver.

    min_{y > 0}  f(y) = 1/2 y' S y - b' log y,     grad = S y - b / y,     Hess = S + diag(b / y^2).

The minimizer satisfies y_i (S y)_i = b_i, so w = y / sum(y) has risk shares exactly b.

Step size. f itself is not self-concordant when b_i < 1, but F = f / min(b) is (its barrier terms have coefficients
b_i / min(b) >= 1; Nesterov 2004, sec. 4.1). With the Newton decrement of F, lambda_F = sqrt(grad' dy / min(b)),
a full step y - dy is taken when lambda_F < 1/4: it stays in y > 0 (inside the Dikin ellipsoid) and Newton then
converges quadratically. Farther away a backtracking (Armijo) line search on f keeps y > 0 and f decreasing, which
converges globally because f is strictly convex with compact sublevel sets whenever the solution exists.

The problem is solved on the correlation matrix C = D^{-1} S D^{-1} (D = diag of volatilities) and mapped back by
y = D^{-1} y_C, an exact change of variables that removes the volatility dispersion (condition numbers of S up to
1e8 and daily-scale variances both reduce to C, whose diagonal is 1).

Linear solves. ``linear_solver="cholesky"`` factors the Hessian (SciPy LAPACK, N^3/3 flops a step).
``linear_solver="cg"`` runs conjugate gradients (SciPy) to the relative residual min(1e-2, rc_error) (an inexact
Newton method with superlinear convergence; Dembo, Eisenstat & Steihaug 1982). Each CG iteration is one product
C v (2 N^2 flops). The preconditioner is P = diag(r + b / y^2) + V diag(lam) V', with (V, lam) the top
``PRECOND_RANK`` eigenpairs of C from a randomized range finder computed once per solve (Halko, Martinsson & Tropp
2011) and r = 1 - diag(V diag(lam) V') the rest of C's unit diagonal, applied by the Woodbury identity in O(N k):
on factor-model covariances (a few large eigenvalues over a flat bulk) the low-rank part absorbs the factors and CG
needs a handful of iterations a step (measured: 36 instead of 183 over 6 steps at N = 1000, strong factors), so a
step costs about ten N^2 instead of N^3/3. Without the low-rank part (N < 10 ``PRECOND_RANK``) P is diag(Hess). If
CG has not converged after ``cg_max_iter`` iterations the step falls back to Cholesky.

Single-precision Hessian products (N >= ``F32_CG_MIN_N``). CG and the range finder multiply by the lower triangle of a
float32 copy C32 of C (one pass over S's lower triangle to build; a product reads a quarter of the bytes of the
float64 product, which is memory-bound: 1.5 vs 3.7 ms at N = 4000, 31 vs 90 us at N = 1000, one BLAS thread; the
products are compiled kernels four rows at a time, ``_symv32`` / ``_symm32``, faster than BLAS ssymv / ssymm, and
CG's whole loop is compiled, ``_cg32``), while the gradient S y - b / y, the objective, the line search
and rc_error stay in float64. A step then solves (C + E + diag(b / y^2)) dy = grad with ||E||_2 <~ N u32 ||C||_2
(u32 = 2^-24): an inexact Newton step whose relative residual against the true Hessian is at most CG's tolerance
plus ||E|| ||dy|| / ||grad||, so Newton still converges locally (Dembo, Eisenstat & Steihaug 1982: linearly with
that forcing term, superlinearly while it shrinks with rc_error), to the same minimizer, because the gradient that
defines it is exact. CG's tolerance is floored at ``F32_RTOL_FLOOR`` (below it the float32 product's rounding, not
the iteration, sets the residual). Safeguard: when a float32 step fails (CG not converged, a non-descent direction,
or in the full-step region rc_error not halved) the solve goes on with float64 products, as below ``F32_CG_MIN_N``.
The weights therefore differ from the float64 products' (up to 3e-11 relative at tol 1e-12, N = 500-2000): both
meet ``tol``; the test suite checks they agree to 1e-9 relative (tests/classical/test_classical.py). Converging
linearly, a float32-product solve would end just under its target, so it aims at ``F32_TOL_MARGIN`` tol; and a
solve that ends within 2x of tol reports converged only if the weights' own rc_error (``measures_kernel``, what the
result reports) meets tol.

``solve_auto`` (the default solver) runs cyclical coordinate descent (``qrp.classical.ccd``, one O(N^2) sweep each)
in chunks,
estimates its linear convergence rate from the decrease of rc_error, and hands over to Newton as soon as the
predicted cost of the remaining sweeps exceeds the predicted cost of Newton (see ``newton_cost_in_sweeps``).
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba.extending import register_jitable

from qrp.classical.ccd import auto_ccd, normalized, spinu_start
from qrp.core.measures import measures_kernel, rc_error_kernel
from qrp.core.result import SolverOutput

#: Below this Newton decrement of F = f / min(b) the full step is taken (quadratic convergence region).
FULL_STEP_DECREMENT = 0.25
#: Armijo sufficient-decrease constant of the backtracking line search.
ARMIJO = 1e-4
#: Newton uses conjugate gradients instead of Cholesky from this N on (``linear_solver="auto"``).
CG_MIN_N = 250
#: Newton-CG multiplies by a float32 copy of C from this N on (module docstring): 2.2x faster products from
#: N = 500 (24 vs 11 us), negligible below (6 vs 3 us at N = 256, where the float32 copy costs as much as it saves).
F32_CG_MIN_N = 500
#: Smallest CG tolerance of a float32-product solve: about 30 times the products' rounding at N = 4000.
F32_RTOL_FLOOR = 1e-6
#: While Newton-CG multiplies by float32, it stops at rc_error <= F32_TOL_MARGIN * tol: it converges linearly there
#: and so ends just under its target, where the result's rc_error (the normalized weights in the original
#: coordinates, rounded otherwise) came out above tol (1.006e-12 for 1e-12 at N = 553; float64 products, whose last
#: step converges quadratically, ended at 1.7e-13).
F32_TOL_MARGIN = 0.5
#: Rank of the low-rank part of the CG preconditioner (top eigenpairs of the correlation matrix), and oversampling.
PRECOND_RANK = 10
PRECOND_OVERSAMPLE = 5
#: Newton stops after this many steps in the full-step region without halving the best rc_error (rounding floor).
STALL_STEPS = 3
#: Coordinate-descent sweeps between two convergence-rate estimates in ``solve_auto``, and in each of its first two
#: chunks (the first estimate, after 2 * AUTO_FIRST sweeps, is the rate over the second chunk).
AUTO_CHUNK = 8
AUTO_FIRST = 2


def _objective(y, sy, b):
    return 0.5 * float(y @ sy) - float(b @ np.log(y))


def _top_eigen(cov, inv_d, rank, corr32=None):
    """Approximate top-``rank`` eigenpairs (V, lam) of C = D^-1 S D^-1, seeded for reproducibility: a randomized range
    finder with one block product for the range and one for the projection (Halko, Martinsson & Tropp 2011, Alg. 4.1
    and 5.1), the products by float64 S or, with ``corr32`` (the lower triangle of float32 C, ``_lower_f32``), by
    ``_symm32``. (A single-product Nystrom approximation needed about twice the CG iterations: not
    kept, docs/guide/performance.md.)"""
    n = len(inv_d)
    omega = np.random.default_rng(0).standard_normal((n, rank + PRECOND_OVERSAMPLE))
    if corr32 is None:
        def product(x):
            return inv_d[:, None] * (cov @ (inv_d[:, None] * x))
    else:
        def product(x):
            return _symm32(corr32, x)
    q, _ = np.linalg.qr(product(omega))
    cq = product(q)
    lam, u = np.linalg.eigh(q.T @ cq)
    keep = lam > 1e-8 * max(lam[-1], 0.0)
    return (q @ u[:, keep])[:, -rank:], lam[keep][-rank:]


def _symm32(corr32, x):
    """C X for the float32 lower triangle ``corr32`` of C, X of a few columns (``_symm32_rows``), float64 in and
    out."""
    xt = np.ascontiguousarray(x.T, dtype=np.float32)
    out = np.empty_like(xt)
    _symm32_rows(corr32, xt, out)
    return out.T.astype(np.float64)


@numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _symm32_rows(low, xt, outt):  # pragma: no cover - compiled
    """outt = (A X)' for the symmetric A given by the lower triangle of the float32 ``low`` and the rows of
    ``xt`` = X' (float32, C order): ``_symv32`` on every column of X within one pass over the triangle (each block
    of 4 rows of A read from memory once, then from cache for the other columns). One thread, 15 columns: 0.23 vs
    0.63 ms for BLAS ssymm at N = 1000, 5.2 vs 13.0 ms at N = 4000."""
    m, n = xt.shape
    outt[:] = 0.0
    i = 0
    while i + 3 < n:
        for c in range(m):
            _rows4(low, i, xt[c], outt[c])
        i += 4
    while i < n:
        for c in range(m):
            _row1(low, i, xt[c], outt[c])
        i += 1


def _preconditioner(top, hdiag):
    """P^-1 for P = diag(r + hdiag) + V diag(lam) V' ~ C + diag(hdiag), r = diag(C) - diag(V lam V') = 1 - ...,
    applied by the Woodbury identity in O(N k): the low-rank part carries the factor structure that a diagonal
    preconditioner leaves to CG (tens of iterations a step on strongly factor-driven matrices)."""
    if top is None:
        return lambda v: v / (1.0 + hdiag)
    dinv, dv, inner = _woodbury(top, hdiag)
    return lambda v: dinv * v - dv @ (inner @ (dv.T @ v))


def _woodbury(top, hdiag):
    """(dinv, D^-1 V, (diag(1 / lam) + V' D^-1 V)^-1) of ``_preconditioner``'s P^-1 = D^-1 - D^-1 V inner V' D^-1,
    D = diag(r + hdiag)."""
    v_, lam = top
    dinv = 1.0 / (np.maximum(1.0 - (v_ * v_) @ lam, 1e-12) + hdiag)
    dv = dinv[:, None] * v_
    inner = np.linalg.inv(np.diag(1.0 / lam) + v_.T @ dv)  # k x k, SPD and well conditioned (k <= 10)
    return dinv, dv, inner


def _cg_step(corr_mv, hdiag, grad, rtol, max_iter, top=None):
    """Preconditioned CG for (C + diag(hdiag)) dy = grad from dy = P^-1 grad; (dy, iterations) or (None, iterations)
    if it fails.

    SciPy's ``scipy.sparse.linalg.cg`` (1.17) operation for operation, so its results bit for bit (stops when
    ||r|| < rtol ||grad||), without its LinearOperator wrapping: ~10 us an iteration and ~0.1 ms a call less.
    With the float32 products of ``_single_products`` (N >= ``F32_CG_MIN_N``) the same loop runs compiled
    (``_cg32``: no Python between the products)."""
    if type(corr_mv) is _Single and top is not None:
        dinv, dv, inner = _woodbury(top, hdiag)
        ok, x, iterations = _cg32(corr_mv.corr32, hdiag, grad, float(rtol), max_iter, dinv,
                                  np.ascontiguousarray(dv.T), inner)
        return (x if ok else None), iterations
    precond = _preconditioner(top, hdiag)
    bnrm2 = np.linalg.norm(grad)
    if bnrm2 == 0:
        return grad, 0
    atol = float(rtol) * float(bnrm2)
    x = precond(grad)
    r = grad - (corr_mv(x) + hdiag * x) if x.any() else grad.copy()
    rho_prev, p = None, None
    for iteration in range(max_iter):
        if np.linalg.norm(r) < atol:
            return x, iteration
        z = precond(r)
        rho_cur = np.dot(r, z)
        if iteration > 0:
            p *= rho_cur / rho_prev
            p += z
        else:
            p = z.copy()
        q = corr_mv(p) + hdiag * p
        alpha = rho_cur / np.dot(p, q)
        x += alpha * p
        r -= alpha * q
        rho_prev = rho_cur
    return None, max_iter


@numba.njit(cache=True, nogil=True)
def _lower_f32(cov, inv_d):  # pragma: no cover - compiled
    """The lower triangle (diagonal included, C order) of float32(S_ij inv_d_i inv_d_j), the correlation matrix in
    single precision, from the lower triangle of S; the strict upper triangle is left unset (never read)."""
    n = cov.shape[0]
    out = np.empty((n, n), dtype=np.float32)
    for i in range(n):
        di = inv_d[i]
        for j in range(i + 1):
            out[i, j] = cov[i, j] * (di * inv_d[j])
    return out


class _Single:
    """v -> C v by the float32 lower triangle ``corr32`` of C, float64 in and out (``_symv32``: one pass over the
    lower triangle, float32 sums, as BLAS ssymv). ``_cg_step`` recognises it and runs its whole loop compiled
    (``_cg32``); called from Python (tests, the float64 fallback's callers) it is the same product."""

    __name__ = "mv32"

    def __init__(self, corr32: np.ndarray):
        self.corr32 = corr32

    def __call__(self, v: np.ndarray) -> np.ndarray:
        out = np.empty(len(v), dtype=np.float32)
        _symv32(self.corr32, v.astype(np.float32), out)
        return out.astype(np.float64)


def _single_products(corr32):
    """v -> C v by the float32 lower triangle ``corr32`` of C (``_Single``)."""
    return _Single(corr32)


@numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract"}, inline="always")
def _rows4(low, i, v, out):  # pragma: no cover - compiled
    """Add rows i..i+3 of the symmetric A (lower triangle ``low``) to out = A v: their dot products with v[:i + 4]
    and their columns' share of out[:i], in one pass over the four rows (out[j] read and written once for four
    entries of A)."""
    r0, r1, r2, r3 = low[i], low[i + 1], low[i + 2], low[i + 3]
    v0, v1, v2, v3 = v[i], v[i + 1], v[i + 2], v[i + 3]
    a0 = a1 = a2 = a3 = np.float32(0.0)
    for j in range(i):
        x = v[j]
        a0 += r0[j] * x
        a1 += r1[j] * x
        a2 += r2[j] * x
        a3 += r3[j] * x
        out[j] += r0[j] * v0 + r1[j] * v1 + r2[j] * v2 + r3[j] * v3
    for k in range(4):  # the 4 x 4 diagonal block, row by row
        r = low[i + k]
        acc = np.float32(0.0)
        for j in range(i, i + k):
            acc += r[j] * v[j]
            out[j] += r[j] * v[i + k]
        out[i + k] += acc + r[i + k] * v[i + k]
    out[i] += a0
    out[i + 1] += a1
    out[i + 2] += a2
    out[i + 3] += a3


@numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract"}, inline="always")
def _row1(low, i, v, out):  # pragma: no cover - compiled
    """``_rows4`` for row i alone."""
    r0, v0 = low[i], v[i]
    acc = np.float32(0.0)
    for j in range(i):
        acc += r0[j] * v[j]
        out[j] += r0[j] * v0
    out[i] += acc + r0[i] * v0


@numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _symv32(low, v, out):  # pragma: no cover - compiled
    """out = A v for the symmetric A given by the lower triangle of the float32 ``low`` (C order), float32 ``v``
    and ``out``, float32 sums in any order (``reassoc``), as BLAS ssymv's; the triangle read once, four rows at a
    time (``_rows4``). One thread: 5.0 / 25 / 87 / 830 us against ssymv's 6.8 / 28 / 96 / 1300 us at
    N = 500 / 1000 / 2000 / 4000. Its own loop rather than ``_symm32_rows`` on (1, N) views: the same bits, but
    3-4% slower at N = 500-4000 (5.4 / 26.9 / 1168 us against 5.2 / 26.1 / 1152 us at N = 500 / 1000 / 4000)."""
    n = low.shape[0]
    out[:] = 0.0
    i = 0
    while i + 3 < n:
        _rows4(low, i, v, out)
        i += 4
    while i < n:
        _row1(low, i, v, out)
        i += 1


@numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _hess32(low, hdiag, v, out, v32, q32):  # pragma: no cover - compiled
    """out = (C + diag(hdiag)) v with C v by ``_symv32`` in float32 (``v32``, ``q32``: float32 work vectors)."""
    for i in range(v.shape[0]):
        v32[i] = v[i]
    _symv32(low, v32, q32)
    for i in range(v.shape[0]):
        out[i] = q32[i] + hdiag[i] * v[i]


@numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _apply_woodbury(v, out, dinv, dvt, inner, t, u):  # pragma: no cover - compiled
    """out = P^-1 v = dinv v - dv (inner (dv' v)) (``_woodbury``) with ``dvt`` = dv' (k, N) C-ordered (each pass
    over N contiguous); ``t``, ``u``: work vectors of length k."""
    k, n = dvt.shape
    for a in range(k):
        acc = 0.0
        row = dvt[a]
        for i in range(n):
            acc += row[i] * v[i]
        t[a] = acc
    for a in range(k):
        acc = 0.0
        for c in range(k):
            acc += inner[a, c] * t[c]
        u[a] = acc
    for i in range(n):
        out[i] = dinv[i] * v[i]
    for a in range(k):
        row = dvt[a]
        ua = u[a]
        for i in range(n):
            out[i] -= row[i] * ua


@numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _cg32(low, hdiag, grad, rtol, max_iter, dinv, dvt, inner):  # pragma: no cover - compiled
    """``_cg_step``'s preconditioned CG for (C + diag(hdiag)) dy = grad with the float32 products ``_symv32`` of
    ``low`` and the preconditioner ``_apply_woodbury``, compiled: (ok, dy, iterations). The vectors and the
    preconditioner are float64; only the products are float32 (their rounding, and the reordered sums, are covered
    by the float32 path's inexact-Newton argument, module docstring)."""
    n = grad.shape[0]
    t, u = np.empty(inner.shape[0]), np.empty(inner.shape[0])
    v32, q32 = np.empty(n, dtype=np.float32), np.empty(n, dtype=np.float32)
    x, r, z, p, q = np.empty(n), np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    bnrm2 = math.sqrt(np.dot(grad, grad))
    if bnrm2 == 0.0:
        x[:] = grad
        return True, x, 0
    atol = rtol * bnrm2
    _apply_woodbury(grad, x, dinv, dvt, inner, t, u)
    _hess32(low, hdiag, x, r, v32, q32)
    for i in range(n):
        r[i] = grad[i] - r[i]
    rho_prev = 1.0
    for iteration in range(max_iter):
        if math.sqrt(np.dot(r, r)) < atol:
            return True, x, iteration
        _apply_woodbury(r, z, dinv, dvt, inner, t, u)
        rho = np.dot(r, z)
        beta = rho / rho_prev if iteration > 0 else 0.0
        for i in range(n):
            p[i] = p[i] * beta + z[i] if iteration > 0 else z[i]
        _hess32(low, hdiag, p, q, v32, q32)
        alpha = rho / np.dot(p, q)
        for i in range(n):
            x[i] += alpha * p[i]
            r[i] -= alpha * q[i]
        rho_prev = rho
    return False, x, max_iter


def _cholesky_direction(corr, hdiag, grad):
    """The Newton step (C + diag(hdiag))^-1 grad by LAPACK's Cholesky (``corr`` is C, left unchanged)."""
    # LAPACK directly: scipy.linalg.cho_factor/cho_solve add ~50 us of checks a step, as much as the
    # factorization itself at N = 100.
    from scipy.linalg.lapack import dpotrf, dpotrs  # imported when Newton runs: scipy.linalg is slow to import

    hess = corr.copy()
    hess.flat[:: len(hdiag) + 1] += hdiag
    factor, info = dpotrf(hess, lower=1, clean=0, overwrite_a=1)
    if info != 0:  # only reachable for an indefinite S passed with check_psd=False
        raise ValueError(f"newton: Hessian S + diag(b/y^2) is not positive definite (LAPACK info {info})")
    return dpotrs(factor, grad, lower=1)[0]


def _cg_direction(corr_mv, mv32, hdiag, grad, err, cg_max_iter, top):
    """(step, CG iterations, float32 still usable): CG with the float32 products ``mv32`` when given (tolerance
    floored at ``F32_RTOL_FLOOR``), retried with the float64 ``corr_mv`` when that fails (no convergence or a
    non-descent direction); step None when float64 CG fails too."""
    k32 = 0
    if mv32 is not None:
        step, k32 = _cg_step(mv32, hdiag, grad, max(min(1e-2, err), F32_RTOL_FLOOR), cg_max_iter, top)
        if step is not None and float(grad @ step) > 0.0:
            return step, k32, True
    step, k = _cg_step(corr_mv, hdiag, grad, min(1e-2, err), cg_max_iter, top)
    return step, k32 + k, False


def newton_minimize(cov, b, y, *, tol, max_iter, linear_solver="cholesky", cg_max_iter=None):
    """Newton on the correlation matrix of ``cov`` from y > 0 (in correlation coordinates, module docstring);
    returns (y, rc_error, stats).

    C v is computed as D^-1 (S (D^-1 v)), so C is never formed unless a Cholesky step needs it (saves an N^2 copy).

    stats: iterations, cg_iterations, cholesky_steps, line_search_halvings, decrement (last lambda_F).
    Returns the iterate with the smallest rc_error; stops early when ``STALL_STEPS`` full steps in a row fail to
    halve it (the rounding floor of rc_error, reached on ill-conditioned S before a very small ``tol``).
    """
    n = len(y)
    bmin = float(b.min())
    if cg_max_iter is None:
        cg_max_iter = max(20, n // 8)
    use_cg = linear_solver == "cg"
    inv_d = 1.0 / np.sqrt(np.diag(cov))
    corr = None

    def corr_mv(v):
        return inv_d * (cov @ (inv_d * v))

    corr32 = _lower_f32(cov, inv_d) if use_cg and n >= F32_CG_MIN_N else None
    mv32 = None if corr32 is None else _single_products(corr32)
    top = _top_eigen(cov, inv_d, PRECOND_RANK, corr32) if use_cg and n >= 10 * PRECOND_RANK else None
    sy = corr_mv(y)
    fy = _objective(y, sy, b)
    err = rc_error_kernel(y * sy, b)
    stats = {"iterations": 0, "cg_iterations": 0, "cholesky_steps": 0, "line_search_halvings": 0,
             "decrement": float("inf")}
    best_y, best_err, stall = y, err, 0
    while err > (tol if mv32 is None else F32_TOL_MARGIN * tol) and stats["iterations"] < max_iter \
            and stall < STALL_STEPS:
        stats["iterations"] += 1
        grad = sy - b / y
        hdiag = b / (y * y)
        step, single = None, False
        if use_cg:
            step, k, single = _cg_direction(corr_mv, mv32, hdiag, grad, err, cg_max_iter, top)
            stats["cg_iterations"] += k
            mv32 = mv32 if single else None  # a float32 failure: float64 products from now on
            use_cg = step is not None  # CG too slow on this matrix: Cholesky from now on
        if step is None:
            if corr is None:
                corr = cov * inv_d * inv_d[:, None]
            step = _cholesky_direction(corr, hdiag, grad)
            stats["cholesky_steps"] += 1
        slope = float(grad @ step)
        if not slope > 0.0:  # rounding-level gradient: nothing left to gain
            break
        decrement = float(np.sqrt(slope / bmin))
        stats["decrement"] = decrement
        t = 1.0
        while True:
            y_new = y - t * step
            if y_new.min() > 0.0:
                sy_new = corr_mv(y_new)
                if decrement < FULL_STEP_DECREMENT:
                    break
                f_new = _objective(y_new, sy_new, b)
                if f_new <= fy - ARMIJO * t * slope:
                    break
            t *= 0.5
            stats["line_search_halvings"] += 1
            if t < 1e-20:
                raise ValueError("newton: line search failed; is cov positive semi-definite with an ERC solution?")
        y, sy = y_new, sy_new
        fy = _objective(y, sy, b)
        err = rc_error_kernel(y * sy, b)
        slow = decrement < FULL_STEP_DECREMENT and err > 0.5 * best_err  # a full step that did not halve rc_error
        stall = stall + 1 if slow else 0
        mv32 = None if slow and single else mv32  # after a slow float32 step: float64 products from now on
        if err < best_err:
            best_y, best_err = y, err
    return best_y, best_err, stats


def _newton_from(cov, b, y0_cov, *, tol, max_iter, linear_solver, iterations0=0, stats=None) -> SolverOutput:
    d = np.sqrt(np.diag(cov))
    if linear_solver == "auto":
        linear_solver = "cg" if len(b) >= CG_MIN_N else "cholesky"
    y, err, nstats = newton_minimize(cov, b, y0_cov * d, tol=tol, max_iter=max_iter, linear_solver=linear_solver)
    w = y / d
    stats = dict(stats or {}, newton_iterations=nstats["iterations"], cg_iterations=nstats["cg_iterations"],
                 cholesky_steps=nstats["cholesky_steps"], line_search_halvings=nstats["line_search_halvings"],
                 newton_decrement=nstats["decrement"])
    if err > tol:
        # rc_error moves by about eps * max_i (|C| |y|)_i / |(C y)_i| when y moves by one ulp: below that, tol is
        # unreachable in double precision (near-hedged portfolios of ill-conditioned S).
        stats["rc_error_floor"] = float(np.finfo(float).eps * np.max(np.abs(cov) @ w / np.abs(cov @ w)))
    weights = w / w.sum()
    converged = err <= tol
    if converged and err > 0.5 * tol:  # near tol: the result's rc_error (measures_kernel) may round above it
        converged = measures_kernel(weights, cov, b)[2] <= tol
    return SolverOutput(weights, converged, iterations0 + nstats["iterations"], stats=stats)


def _check_linear_solver(linear_solver: str) -> None:
    if linear_solver not in ("auto", "cholesky", "cg"):
        raise ValueError(f"linear_solver must be 'auto', 'cholesky' or 'cg', got {linear_solver!r}")


def solve_newton(cov, budgets, *, tol, max_iter, seed=None, linear_solver: str = "cholesky") -> SolverOutput:
    """ERC / risk budgeting by damped Newton from ``spinu_start``; ``linear_solver`` "cholesky" (SciPy LAPACK,
    O(N^3/3) a step, the default), "cg" (preconditioned conjugate gradients) or "auto" (CG from N = ``CG_MIN_N``)."""
    _check_linear_solver(linear_solver)
    return _newton_from(cov, budgets, spinu_start(cov, budgets), tol=tol, max_iter=max_iter,
                        linear_solver=linear_solver)


@register_jitable
def newton_cost_in_sweeps(n: int) -> float:
    """Predicted cost of finishing with Newton, in coordinate-descent sweeps of the same N (one sweep ~ N^2
    multiply-adds, memory-bound).

    Calibration on the 2-core sandbox (``benchmarks/classical.py`` families, one BLAS thread): a Cholesky step
    (N < CG_MIN_N) costs about N/3 sweeps plus a fixed ~40 us of Python and LAPACK call overhead (~ 4e4 / N^2
    sweeps at ~1 ns per multiply-add), about 5 steps in all. Newton-CG (N >= CG_MIN_N) from a 4-sweep start cost
    16-48 sweeps in all (median 43; N = 500..4000, the three families; 2-7 steps, 7-52 CG iterations), so 45
    sweeps: auto hands over after its first 4 sweeps unless coordinate descent is predicted to finish sooner. The
    switch only has to be right within a factor of a few. A plain Python function that compiled code may call too
    (``register_jitable``: the default call's kernel computes it from N, the same operations, so the same bits).
    """
    if n >= CG_MIN_N:
        return 45.0
    return 5 * (n / 3.0 + 4e4 / (n * n))


def solve_auto(cov, budgets, *, tol, max_iter, seed=None, linear_solver: str = "auto") -> SolverOutput:
    """Coordinate descent while it is predicted to be cheaper, then damped Newton from its point.

    After ``AUTO_FIRST`` sweeps (rc_error e_0) and ``AUTO_FIRST`` more, then every ``AUTO_CHUNK`` sweeps, the
    linear rate rho = (e_k / e_0)^(1/k) of rc_error over the k sweeps since e_0 predicts the sweeps still needed,
    log(tol / e_k) / log(rho); when the total exceeds ``newton_cost_in_sweeps(N)`` (or rc_error stops decreasing)
    Newton takes over (at N >= ``CG_MIN_N`` typically after 4 sweeps). The whole coordinate-descent phase is one
    compiled call (``qrp.classical.ccd.auto_ccd``). ``max_iter`` caps the
    Newton steps; ``iterations`` counts sweeps plus Newton steps, and ``stats`` says how many of each.
    """
    _check_linear_solver(linear_solver)
    y, sweeps, ok, _ = auto_ccd(cov, budgets, tol=tol, first=AUTO_FIRST, chunk=AUTO_CHUNK,
                                budget=newton_cost_in_sweeps(len(budgets)))
    if ok:
        return SolverOutput(normalized(y), True, sweeps, stats=auto_ccd_stats(sweeps))
    return finish_auto(cov, budgets, y, sweeps, tol=tol, max_iter=max_iter, linear_solver=linear_solver)


def auto_ccd_stats(sweeps: int) -> dict:
    """``stats`` of a ``solve_auto`` call that coordinate descent finished alone."""
    return {"ccd_sweeps": sweeps, "newton_iterations": 0}


def finish_auto(cov, budgets, y, sweeps: int, *, tol, max_iter, linear_solver: str = "auto") -> SolverOutput:
    """The Newton phase of ``solve_auto`` from the point ``y`` where its ``sweeps`` coordinate-descent sweeps
    handed over (``linear_solver`` already checked)."""
    return _newton_from(cov, budgets, y, tol=tol, max_iter=max_iter, linear_solver=linear_solver,
                        iterations0=sweeps, stats={"ccd_sweeps": sweeps})
