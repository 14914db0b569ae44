"""The matrix checks behind ``qrp.core.validation.validate_cov``: one compiled O(N^2) scan (finite, symmetric,
positive variances) and the O(N^3) positive semi-definiteness certificate, with the ERC existence check for a
singular matrix.

The certificate first tries to prove the matrix positive definite, rigorously, by a Cholesky factorization of a
shifted copy (``certify_positive_definite``; S. M. Rump, "Verification of positive definiteness", BIT 46 (2006)):
compiled below N = 64, LAPACK float32 then float64 above. Only when no proof is found are the eigenvalues computed
(``check_psd_matrix``: lambda_min >= -PSD_RTOL lambda_max counts as PSD, a numerical test, not a proof), and for such a
matrix ``check_erc_exists`` decides whether an ERC portfolio exists at all.
"""

from __future__ import annotations

import ctypes
import math

import numba
import numpy as np

#: Relative tolerance for symmetry: |S_ij - S_ji| <= SYMMETRY_RTOL * max_k |S_kk|.
SYMMETRY_RTOL = 1e-10
#: Relative tolerance for the smallest eigenvalue: lambda_min >= -PSD_RTOL * lambda_max counts as PSD.
PSD_RTOL = 1e-10
#: Smallest accepted variance: the smallest normal float (w'Sw of a subnormal variance underflows to 0).
MIN_VARIANCE = float(np.finfo(np.float64).tiny)
#: Scan outcomes (``scan_matrix``): the first problem found, with its position.
SCAN_OK, SCAN_NOT_FINITE, SCAN_BAD_VARIANCE, SCAN_ASYMMETRIC = 0, 1, 2, 3


# Hand-written because numpy needs three O(N^2) temporaries (isfinite, S - S.T, abs) for the same answer; this
# single pass keeps validation well under the solver's own cost at N >= 1000.
@numba.njit(cache=True, nogil=True)
def _pairs_within(s, atol):  # pragma: no cover - compiled
    """True when |S_ij - S_ji| <= atol for every i > j, which for a finite ``atol`` also says that both are finite
    (a NaN or an infinity makes the difference NaN or infinite, and the comparison false). One comparison a pair,
    counted without a branch, so the loop over a row vectorizes: ``scan_matrix``'s pass when nothing is wrong,
    1.7 us against 5.2 us at N = 100, 0.26 ms against 0.48 ms at N = 1000 (load 2)."""
    bad = 0
    for i in range(s.shape[0]):
        row = s[i]
        for j in range(i):
            bad += not (abs(row[j] - s[j, i]) <= atol)
    return bad == 0


@numba.njit(cache=True, nogil=True)
def scan_matrix(s, rtol):  # pragma: no cover - compiled
    """(code, i, j) of the first problem of a square float64 matrix: ``SCAN_NOT_FINITE`` (NaN or inf at [i, j]),
    ``SCAN_BAD_VARIANCE`` (S_ii below ``MIN_VARIANCE``), ``SCAN_ASYMMETRIC`` (|S_ij - S_ji| > rtol max_k S_kk), or
    ``SCAN_OK``. The pairs are first checked in one branch-free pass (``_pairs_within``); only when one fails are
    they walked again in order, to name the first problem."""
    n = s.shape[0]
    dmax = 0.0
    for i in range(n):
        d = s[i, i]
        if not np.isfinite(d):
            return SCAN_NOT_FINITE, i, i
        if d < MIN_VARIANCE:  # zero, negative, or subnormal
            return SCAN_BAD_VARIANCE, i, i
        if d > dmax:
            dmax = d
    atol = rtol * dmax
    if _pairs_within(s, atol):
        return SCAN_OK, 0, 0
    for i in range(n):  # some pair fails: find the first, in this order
        for j in range(i + 1, n):
            a = s[i, j]
            b = s[j, i]
            if not (np.isfinite(a) and np.isfinite(b)):
                return SCAN_NOT_FINITE, i, j
            if abs(a - b) > atol:
                return SCAN_ASYMMETRIC, i, j
    return SCAN_OK, 0, 0


# ---------------------------------------------------------------------------------------------------------------
# The positive-definiteness certificate (Rump 2006).
#
# Theorem (Demmel 1989; Higham 2002, Thm 10.3; Rump, "Verification of positive definiteness", BIT 46, 2006). If the
# floating-point Cholesky factorization of a symmetric matrix T (unit roundoff u, any order of the sums) runs to
# completion, its factor L satisfies L L' = T + E with |E_ij| <= gamma_{m+2} (|L| |L|')_ij + U, m = min(i, j) + 1 the
# number of products in entry (i, j) (+2: the square root or the division, and the reciprocal that BLAS kernels
# multiply by instead of dividing), gamma_k = k u / (1 - k u), and U = 4 (n + 3) realmin an absolute allowance for
# underflow (gradual or flushed to zero) in an entry (diagonal entries of T below 4).
# qrp factors T = A~ - diag(c), where A = D S D is the correlation matrix of S (D = diag(t), t_i = fl(1 / sqrt(S_ii));
# S is PD iff A is, for any positive t), A~ its entries as computed and rounded to the working precision
# (|A~ - A| <= F entrywise: (u + 2 u64) |A| + 2^-125, flush to zero included) and c the shift actually applied
# (computed exactly). If the factorization succeeds,
#     A = L L' - E + diag(c) + (A - A~)  >=  (min c - ||E||_2 - ||F||_2) I,
# so S is positive definite as soon as min c > ||E||_2 + ||F||_2; every term is a rigorous upper bound computed here
# (||F||_2 <= (u + 2 u64) max row sum of |A| + n 2^-125). The scaling removes the volatility dispersion from the bound.
# The float64 certificate bounds ||E||_2 a priori: gamma_{n+2} ||L||_F^2 + n U with ||L||_F^2 = trace(L L') <=
# (trace A~ + n U) / (1 - gamma_{n+2}). The float32 one (spotrf: 1.05-1.7x less CPU than dpotrf, half the memory)
# bounds it a posteriori, by the Collatz-Wielandt bound rho(W) <= max_i (W x)_i / x_i (any x > 0) for the symmetric
# nonnegative W = H |L| |L|' H, H = diag(gamma_{i+3}^(1/2)) (gamma_{min(i,j)+3} <= (gamma_{i+3} gamma_{j+3})^(1/2)),
# so ||E||_2 <= || |E| ||_2 <= rho(W) + n U, with x from a few power iterations: ~n / rho(|L||L|') tighter than the
# trace. Assumed: IEEE 754 binary32 / binary64 arithmetic rounding to nearest (flush to zero allowed), and a
# LAPACK / BLAS that computes every entry of the factor from its defining sum (any order, fused multiply-adds
# allowed; no Strassen-type products), as reference LAPACK and OpenBLAS do.
# ---------------------------------------------------------------------------------------------------------------

#: Unit roundoffs and smallest normal numbers of binary64 and binary32.
U64, U32 = 2.0**-53, 2.0**-24
REALMIN64, REALMIN32 = 2.0**-1022, 2.0**-126
#: Relative inflation that covers the rounding of the bounds' own float64 arithmetic (sums of at most ~1e6 terms).
BOUND_INFLATE = 1.0 + 2.0**-30
#: From this N on the certificate first tries float32 (``certify_positive_definite``): CPU time of the float32 attempt
#: against float64 LAPACK alone, one BLAS thread, load 7: 9.9 vs 10.4 us at N = 63, 20 vs 22 us at N = 100, 0.07 vs
#: 0.10 ms at N = 200, 4.6 vs 7.5 ms at N = 1000, 30 vs 52 ms at N = 2000 (a failed attempt costs its fill and the
#: spotrf up to the failing pivot: 2.8 ms at N = 1000 and 2000 on the strong-factor family).
F32_MIN_N = 64
#: The float32 attempt's shift, in units of gamma_{n+3} times the mean absolute row sum of the scaled matrix: the
#: converged Collatz-Wielandt bound came out at 0.59-0.93 units on the benchmark families (weak, strong, market;
#: N = 300-4000) and its first iterate from the row-sum start at 0.89-1.31, so a shift of 1.25 units certifies in one
#: or two passes unless lambda_min of the scaled matrix is below it (then float64 decides). 2 units (before) sent the
#: strong and market families at N = 1000 (lambda_min 1.4-1.5 units) to float64: 10.1-10.4 -> 4.2-4.8 ms.
F32_SHIFT_UNITS = 1.25
#: Power iterations of the Collatz-Wielandt bound (it stops as soon as the bound certifies).
CW_MAX_ITER = 12
#: ``certify_positive_definite`` outcomes: not certified, certified by the compiled float64, LAPACK float64 or
#: LAPACK float32 factorization.
CERT_NONE, CERT_COMPILED, CERT_F64, CERT_F32 = 0, 1, 2, 3
#: From this N on the certificate calls LAPACK (SciPy's dpotrf / spotrf on a buffer it fills); below it the compiled
#: factorization (``compiled_certifies``) is faster than any LAPACK call's fixed cost.
LAPACK_DIRECT_MIN_N = 64


@numba.njit(cache=True, nogil=True, inline="always")
def _gamma(k, u):  # pragma: no cover - compiled
    """gamma_k = k u / (1 - k u), rounded up (inf when k u >= 1/2)."""
    ku = k * u
    if ku >= 0.5:
        return np.inf
    return ku / (1.0 - ku) * BOUND_INFLATE


@numba.njit(cache=True, nogil=True)
def _scales(s):  # pragma: no cover - compiled
    """t_i = fl(1 / sqrt(s_ii)) (any positive floats serve: D S D with D = diag(t) is PD iff S is), or an empty
    array when a variance lies beyond 2^1000, where t_i t_j could leave the normal range."""
    n = s.shape[0]
    t = np.empty(n)
    for i in range(n):
        d = s[i, i]
        if not (d > 0.0 and d <= 2.0**1000):
            return np.empty(0)
        t[i] = 1.0 / math.sqrt(d)
    return t


@numba.njit(cache=True, nogil=True)
def _fill_scaled(s, t, out):  # pragma: no cover - compiled
    """``_fill_rows`` with a fresh buffer for the row sums."""
    return _fill_rows(s, t, out, np.zeros(s.shape[0]))


@numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _fill_rows(s, t, out, rows):  # pragma: no cover - compiled
    """Write the lower triangle of fl(D S D) (D = diag(t), the correlation matrix up to rounding) into ``out`` (C
    order, float32 or float64) from the lower triangle of ``s``: each entry fl(s_ij fl(t_i t_j)) then rounded to
    ``out``'s precision, within (u_out + 2 u64) |(DSD)_ij| + 2^-125 of the exact (DSD)_ij. Returns (ok, trace, mean
    and max absolute row sum), in float64 (inflate by ``BOUND_INFLATE``); ok is False when an entry exceeds 4 in
    magnitude (not PD: |(DSD)_ij| > ((DSD)_ii (DSD)_jj)^(1/2)) or is not finite. ``rows`` (zeros on entry) receives
    the absolute row sums."""
    n = s.shape[0]
    trace = 0.0
    big = 0  # entries above 4 in magnitude (a count, not a max: the loop vectorizes; 0.75 -> 0.11 ms at N = 1000)
    for i in range(n):
        ti = t[i]
        acc = 0.0
        srow = s[i]
        orow = out[i]
        for j in range(i):
            v = srow[j] * (ti * t[j])
            orow[j] = v
            a = abs(v)
            acc += a
            rows[j] += a
            big += a > 4.0
        v = srow[i] * (ti * ti)
        orow[i] = v
        trace += v
        rows[i] += acc + v
    total = rows.sum()  # NaN or inf when a scale product left the float range
    return big == 0 and np.isfinite(total), trace, total / n, rows.max()


@numba.njit(cache=True, nogil=True)
def _shift_diagonal(out, c):  # pragma: no cover - compiled
    """Subtract ``c`` from the diagonal of ``out`` in its precision; the smallest shift actually applied, exact in
    float64 (both values are floats of ``out``'s precision within a factor of two: Sterbenz)."""
    low = np.inf
    for i in range(out.shape[0]):
        d = out[i, i]
        out[i, i] = d - c
        low = min(low, float(d) - float(out[i, i]))
    return low


@numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _cw_bound(low, target, max_iter, x0):  # pragma: no cover - compiled
    """A rigorous upper bound on rho(H |L| |L|' H), H = diag(gamma_{i+3}(2^-24)^(1/2)), L the lower triangle of the
    float32 ``low`` (C order), by Collatz-Wielandt: max_i (W x)_i / x_i for the positive iterates x of the power
    method (one pass over L per iteration) from x = H x0 (x0 > 0: the absolute row sums of the scaled matrix, with
    which the first bound came out within 5-12% of the converged one on the benchmark families, N = 300-4000, against
    1.3-2.2x from x = H 1); stops as soon as the bound is <= ``target``, or when an iteration improves it by less
    than 1% (converged above the target: no proof)."""
    n = low.shape[0]
    h = np.empty(n)
    for i in range(n):
        h[i] = math.sqrt(_gamma(i + 3.0, U32)) * BOUND_INFLATE
    x = h * x0
    y = np.zeros(n)  # |L|' H x
    for i in range(n):
        v = h[i] * x[i]
        for k in range(i + 1):
            y[k] += abs(np.float64(low[i, k])) * v
    best = np.inf
    scale = 1.0
    for _ in range(max_iter):
        ynew = np.zeros(n)
        xnew = np.empty(n)
        ratio = 0.0
        for i in range(n):
            z = 0.0
            for k in range(i + 1):
                z += abs(np.float64(low[i, k])) * y[k]
            w = h[i] * z  # (W x)_i
            if not x[i] > 0.0:
                return np.inf
            ratio = max(ratio, w / x[i])
            xi = w * scale
            xnew[i] = xi
            v = h[i] * xi
            for k in range(i + 1):
                ynew[k] += abs(np.float64(low[i, k])) * v
        # each computed quantity is a sum of at most 2 n + 4 nonnegative rounded terms: relative error <= (2n+8) u
        bound = ratio * (1.0 + _gamma(2.0 * n + 8.0, U64))
        stalled = bound > 0.99 * best
        best = min(best, bound)
        if best <= target or not ratio > 0.0 or stalled:
            break
        scale = 1.0 / ratio
        x, y = xnew, ynew
    return best


@numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def compiled_certifies(s):  # pragma: no cover - compiled
    """True when S (its lower triangle; finite, positive normal diagonal as ``scan_matrix`` checks) is proved
    positive definite by a float64 Cholesky factorization of D S D - c I (module comment: Rump's theorem with the a
    priori bound c = gamma_{n+2} (trace + n U) / (1 - gamma_{n+2}) + n U, ~ n^2 2^-53 for a correlation-like D S D).
    False: not proved (indefinite, singular, or lambda_min(D S D) below ~c); the caller runs the eigenvalue test.
    Compiled for small N, where a LAPACK call's fixed cost exceeds the whole factorization."""
    n = s.shape[0]
    return compiled_factor(s, np.empty((n, n + 1)))


@numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def compiled_factor(s, low):  # pragma: no cover - compiled
    """``compiled_certifies`` in the (N, N + 1) buffer ``low``: the scaled and shifted lower triangle, then (when it
    returns True) the factor L with 1 / L_jj in the last column. Its fastmath flags are those of
    ``compiled_certifies``, stated: numba compiles a callee without flags of its own with its caller's, and keeps
    that code for direct calls too. ``ValueError`` unless s is (N, N) and ``low`` (N, N + 1): the loops below index
    without bounds checks."""
    n = s.shape[0]
    if s.shape[1] != n or low.shape[0] != n or low.shape[1] != n + 1:
        raise ValueError("compiled_factor needs s of (N, N) and low of (N, N + 1), got (s, low) shapes", s.shape,
                         low.shape)
    for i in range(n):
        d = s[i, i]
        if not (d > 0.0 and d <= 2.0**1000):  # as ``_scales``
            return False
        low[i, n] = 1.0 / math.sqrt(d)
    trace = 0.0
    amax = 0.0
    for i in range(n):  # ``_fill_scaled`` without the row sums (bounded by 4 n below)
        ti = low[i, n]
        for j in range(i):
            v = s[i, j] * (ti * low[j, n])
            low[i, j] = v
            amax = max(amax, abs(v))
        v = s[i, i] * (ti * ti)
        low[i, i] = v
        trace += v
    if not (amax <= 4.0 and trace <= 4.0 * n):
        return False
    need = _a_priori_bound(n, trace * BOUND_INFLATE, 4.0 * n, U64, REALMIN64)  # row sums <= n max|entry|
    if not need < 0.25:
        return False
    c = 2.0 * need
    for i in range(n):
        d = low[i, i]
        low[i, i] = d - c
        if not d - low[i, i] > need:  # the shift applied (exact: Sterbenz) must exceed the bound
            return False
    # Cholesky-Crout by columns, multiplying by the reciprocal pivots (covered by gamma_{m+2}). Each entry is the
    # sum of the Banachiewicz (by rows) order (in any order, FMAs allowed: the theorem covers both); but the N - j - 1
    # dot products of column j are independent, where along a row each waits for the previous one (CPU, one call:
    # 1.23 -> 0.62 us at N = 20, 4.96 -> 2.71 us at N = 40, 12.3 -> 7.4 us at N = 63).
    for j in range(n):
        lj = low[j]
        acc = 0.0
        for k in range(j):
            acc += lj[k] * lj[k]
        r = lj[j] - acc
        if not r > 0.0:
            return False
        root = np.sqrt(r)
        lj[j] = root
        inv = 1.0 / root
        lj[n] = inv
        for i in range(j + 1, n):
            li = low[i]
            acc = 0.0
            for k in range(j):
                acc += li[k] * lj[k]
            li[j] = (li[j] - acc) * inv
    return True


# fastmath stated (off): called from ``compiled_factor`` (fastmath) and from ``_certify_f64``; without its own flags
# numba would compile it with whichever caller came first and keep that copy (tests/test_numba_flags.py)
@numba.njit(cache=True, nogil=True, fastmath=False)
def _a_priori_bound(n, trace, max_row, u, realmin):  # pragma: no cover - compiled
    """What the shift of the a priori certificate must exceed: ||E||_2 <= gamma (trace + n U) / (1 - gamma) + n U
    (gamma = gamma_{n+2}, U = 4 (n + 3) realmin) plus ||S - S~||_2 <= (u + 2 u64) max_row + n 2^-125 (the scaling's
    and rounding's error), rounded up."""
    g = _gamma(n + 2.0, u)
    under = 4.0 * (n + 3.0) * realmin
    need = g * (trace + n * under) / (1.0 - g) + n * under + (u + 2.0 * U64) * max_row + n * 2.0**-125
    return need * BOUND_INFLATE


#: ctypes handles of SciPy's LAPACK routines by name (``_potrf``), made on first use.
_LAPACK: dict = {}


def _potrf(name: str, work: np.ndarray) -> int:
    """LAPACK's Cholesky ``name`` ("spotrf" or "dpotrf") of the lower triangle of the C-ordered square ``work`` (the
    upper triangle of its F-ordered transpose, ``uplo = "U"``), in place; LAPACK's ``info`` (0: factored).

    The routine of SciPy's own LAPACK (its ``scipy.linalg.cython_lapack`` export: the library, and so the bits, of
    ``scipy.linalg.lapack.spotrf(work.T, lower=0, overwrite_a=1, clean=0)``, tests/core/test_certificate.py),
    called through ctypes, which releases the GIL for the call: SciPy's f2py wrapper holds it throughout (measured,
    SciPy 1.17: a thread waiting on the GIL stalled for the whole 26 ms spotrf at N = 2000, 0.3 ms through ctypes),
    and the default call runs the certificate in a second thread beside a Python-level solve
    (``qrp.classical.default``)."""
    call = _LAPACK.get(name)
    if call is None:
        from numba.extending import get_cython_function_address  # only LAPACK-sized certificates need the export

        ptr = ctypes.POINTER(ctypes.c_int)
        call = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ptr, ctypes.c_void_p, ptr, ptr)(
            get_cython_function_address("scipy.linalg.cython_lapack", name))
        _LAPACK[name] = call
    if not (work.flags.c_contiguous and work.ndim == 2 and work.shape[0] == work.shape[1]
            and work.dtype == {"spotrf": np.float32, "dpotrf": np.float64}[name]):
        raise ValueError(f"_potrf({name!r}) needs a C-contiguous square matrix of its precision, got "
                         f"{work.dtype} {work.shape}")
    n, info = ctypes.c_int(work.shape[0]), ctypes.c_int(0)
    call(b"U", ctypes.byref(n), work.ctypes.data, ctypes.byref(n), ctypes.byref(info))
    return info.value


def _certify_f32(s: np.ndarray, t: np.ndarray) -> bool:
    """Rump's certificate in float32 with the a posteriori (Collatz-Wielandt) bound; False: no conclusion."""
    n = s.shape[0]
    work = np.empty((n, n), dtype=np.float32)
    rows = np.zeros(n)
    ok, _, mean_row, max_row = _fill_rows(s, t, work, rows)
    if not ok:
        return False
    c = F32_SHIFT_UNITS * _gamma(n + 3.0, U32) * mean_row
    if not c < 0.25:
        return False
    shift = _shift_diagonal(work, c)
    if _potrf("spotrf", work) != 0:  # factored in place: L in the lower triangle of ``work``
        return False
    # ||S - S~||_2 <= rho(|S - S~|) <= (u32 + 2 u64) rho(|DSD|) + n 2^-125, rho(|DSD|) <= its largest row sum
    convert = (U32 + 2.0 * U64) * max_row * BOUND_INFLATE + n * 2.0**-125
    under = n * 4.0 * (n + 3.0) * REALMIN32
    target = shift - convert - under
    return target > 0.0 and _cw_bound(work, target, CW_MAX_ITER, rows) < target


def _certify_f64(s: np.ndarray, t: np.ndarray) -> bool:
    """Rump's certificate in float64 with the a priori bound (LAPACK); False: no conclusion."""
    n = s.shape[0]
    work = np.empty((n, n))
    ok, trace, _, max_row = _fill_scaled(s, t, work)
    if not ok:
        return False
    need = _a_priori_bound(n, trace * BOUND_INFLATE, max_row * BOUND_INFLATE, U64, REALMIN64)
    if not need < 0.25 or _shift_diagonal(work, 2.0 * need) <= need:
        return False
    return _potrf("dpotrf", work) == 0


def certify_positive_definite(cov: np.ndarray) -> int:
    """Prove the symmetric matrix given by the lower triangle of ``cov`` positive definite, rigorously (Rump 2006;
    the theorem and its assumptions are in the comment above ``_gamma``): a ``CERT_*`` code, ``CERT_NONE`` when no
    proof was found (``cov`` may still be PSD: singular, or lambda_min of its correlation matrix D S D below the
    shift; the caller then runs the eigenvalue test). ``cov``: finite, square float64 with a
    positive normal diagonal (``scan_matrix`` checked); it is only read.

    Below ``LAPACK_DIRECT_MIN_N``: ``compiled_certifies``. From ``F32_MIN_N``: float32 LAPACK first, shift
    c = ``F32_SHIFT_UNITS`` gamma_{n+3} (mean row sum), proof by the Collatz-Wielandt bound; if that gives no
    proof, float64 LAPACK with the a priori shift (~ n^2 2^-53 for correlation-like matrices, so it proves every
    matrix whose scaled lambda_min exceeds ~1e-9 at N = 4000). Thread-safe, and it holds the GIL only between
    its compiled and LAPACK parts (``_potrf``)."""
    n = cov.shape[0]
    if n < LAPACK_DIRECT_MIN_N:
        return CERT_COMPILED if compiled_certifies(cov) else CERT_NONE
    t = _scales(cov)
    if t.size != n:
        return CERT_NONE
    if n >= F32_MIN_N and _certify_f32(cov, t):
        return CERT_F32
    return CERT_F64 if _certify_f64(cov, t) else CERT_NONE


def check_psd_matrix(arr: np.ndarray, *, name: str = "cov") -> bool:
    """Raise ``ValueError`` unless ``arr`` is positive semi-definite (smallest eigenvalue >= -PSD_RTOL * max).
    Returns True when ``certify_positive_definite`` proved it positive definite (``validate_problem``'s certificate
    would pass), False when only the eigenvalue test did (singular or nearly so: an ERC portfolio may not exist)."""
    if certify_positive_definite(arr) != CERT_NONE:
        return True
    _eigenvalue_test(arr, name)
    return False


def _eigenvalue_test(arr: np.ndarray, name: str) -> None:
    eig = np.linalg.eigvalsh(arr)
    if eig[0] < -PSD_RTOL * max(eig[-1], 0.0):
        raise ValueError(
            f"{name} is not positive semi-definite: smallest eigenvalue {eig[0]:.6g} "
            f"(largest {eig[-1]:.6g})"
        )


def certify_psd(cov: np.ndarray) -> None:
    """The certificate of a risk-budgeting covariance: ``certify_positive_definite`` (a proof of positive
    definiteness); without a proof, ``check_psd_matrix`` (the eigenvalue test) and ``check_erc_exists`` (a singular
    PSD matrix must admit an ERC portfolio)."""
    if certify_positive_definite(cov) == CERT_NONE:
        _eigenvalue_test(cov, "cov")
        check_erc_exists(cov)


def check_erc_exists(cov: np.ndarray) -> None:
    """``ValueError`` if Spinu's problem is unbounded, i.e. no ERC portfolio exists for a singular PSD ``cov``.

    1/2 y'Sy - b'log y is bounded below on y > 0 iff the null space of S holds no non-zero v >= 0 (a long-only
    portfolio with zero variance). Checked by a linear program over the null space (only when S is singular).
    """
    from scipy.optimize import linprog  # scipy.optimize adds ~0.1 s to import; only singular matrices need it

    eig, vec = np.linalg.eigh(cov)
    null = vec[:, eig <= PSD_RTOL * max(eig[-1], 0.0) * len(eig)]
    if null.shape[1] == 0:
        return
    k = null.shape[1]
    # find c with v = null @ c >= 0 and sum(v) = 1
    res = linprog(
        np.zeros(k), A_ub=-null, b_ub=np.zeros(len(eig)), A_eq=null.sum(axis=0, keepdims=True), b_eq=[1.0],
        bounds=[(None, None)] * k, method="highs",
    )
    if res.status == 0:
        v = null @ res.x
        raise ValueError(
            "cov is singular and no ERC portfolio exists: the long-only portfolio "
            f"{np.round(v, 6).tolist()} has zero variance, so risk cannot be split in the given budgets"
        )
