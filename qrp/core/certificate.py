"""The matrix checks behind ``qrp.core.validation.validate_cov``: one compiled O(N^2) scan (finite, symmetric,
positive variances) and the O(N^3) positive semi-definiteness certificate, with the ERC existence check for a
singular matrix.

The certificate is a Cholesky factorization, O(N^3/3) (LAPACK through numpy); only when it fails are the eigenvalues
computed, and for a singular PSD matrix ``check_erc_exists`` decides whether an ERC portfolio exists at all.
``cholesky_certifies`` is a compiled factorization for small matrices that either certifies with a wide margin or
gives no conclusion (the caller then runs ``certify_psd``), so it never accepts a matrix the LAPACK path rejects.
"""

from __future__ import annotations

import numba
import numpy as np

#: Relative tolerance for symmetry: |S_ij - S_ji| <= SYMMETRY_RTOL * max_k |S_kk|.
SYMMETRY_RTOL = 1e-10
#: Relative tolerance for the smallest eigenvalue: lambda_min >= -PSD_RTOL * lambda_max counts as PSD.
PSD_RTOL = 1e-10
#: Smallest accepted variance: the smallest normal float (w'Sw of a subnormal variance underflows to 0).
MIN_VARIANCE = float(np.finfo(np.float64).tiny)
#: ``cholesky_certifies`` certifies only when every pivot (Schur complement diagonal) exceeds this fraction of its
#: variance: far above the rounding error of any summation order (~ N eps), so LAPACK's factorization succeeds too.
#: A matrix below it (condition number beyond ~1e8) gets no conclusion and goes to the LAPACK certificate.
CHOLESKY_PIVOT_RTOL = 1e-8

#: From this N on the LAPACK certificate calls SciPy's dpotrf on a copy it owns (one memcpy, factorized in place);
#: numpy's cholesky copies in and out through its own buffers and took 2x as long at N = 1000 and 1.6x at N = 4000
#: (one BLAS thread, the 2-core sandbox). Below it numpy's call is as fast and keeps SciPy out of small solves.
LAPACK_DIRECT_MIN_N = 64

#: Scan outcomes (``scan_matrix``): the first problem found, with its position.
SCAN_OK, SCAN_NOT_FINITE, SCAN_BAD_VARIANCE, SCAN_ASYMMETRIC = 0, 1, 2, 3


# Hand-written because numpy needs three O(N^2) temporaries (isfinite, S - S.T, abs) for the same answer; this
# single pass keeps validation well under the solver's own cost at N >= 1000.
@numba.njit(cache=True, nogil=True)
def scan_matrix(s, rtol):  # pragma: no cover - compiled
    """(code, i, j) of the first problem of a square float64 matrix: ``SCAN_NOT_FINITE`` (NaN or inf at [i, j]),
    ``SCAN_BAD_VARIANCE`` (S_ii below ``MIN_VARIANCE``), ``SCAN_ASYMMETRIC`` (|S_ij - S_ji| > rtol max_k S_kk), or
    ``SCAN_OK``."""
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
    for i in range(n):
        for j in range(i + 1, n):
            a = s[i, j]
            b = s[j, i]
            if not (np.isfinite(a) and np.isfinite(b)):
                return SCAN_NOT_FINITE, i, j
            if abs(a - b) > atol:
                return SCAN_ASYMMETRIC, i, j
    return SCAN_OK, 0, 0


# Hand-written: LAPACK through numpy costs ~9 us a call in checks and copies, more than this whole factorization
# at N <= 20; callers use it only below ``qrp.classical.default.CHOLESKY_MAX_N``, where it is the faster of the two.
@numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def cholesky_certifies(s):  # pragma: no cover - compiled
    """True when the Cholesky factorization of the lower triangle of ``s`` (the triangle LAPACK reads) succeeds with
    every pivot above ``CHOLESKY_PIVOT_RTOL`` times its variance: ``s`` is then positive definite. False means no
    conclusion (not PSD, singular, or too ill-conditioned for the margin): run ``certify_psd``.

    Left-looking by rows (Cholesky-Banachiewicz): L_ij = (S_ij - L_i,:j . L_j,:j) / L_jj, the dot products
    reassociated for SIMD (rounding of the order of N eps, far inside the pivot margin)."""
    n = s.shape[0]
    low = np.empty((n, n))
    for i in range(n):
        for j in range(i + 1):
            acc = 0.0
            for k in range(j):
                acc += low[i, k] * low[j, k]
            r = s[i, j] - acc
            if i == j:
                if not r > CHOLESKY_PIVOT_RTOL * s[i, i]:
                    return False
                low[i, i] = np.sqrt(r)
            else:
                low[i, j] = r / low[j, j]
    return True


def cholesky_succeeds(cov: np.ndarray) -> bool:
    """Whether LAPACK's Cholesky factorization of the lower triangle of a finite square float64 ``cov`` succeeds
    (numerically positive definite): numpy below ``LAPACK_DIRECT_MIN_N``, SciPy's dpotrf in place on a copy from
    it. The one Cholesky test of every certificate in qrp."""
    if cov.shape[0] < LAPACK_DIRECT_MIN_N:
        try:
            np.linalg.cholesky(cov)
            return True
        except np.linalg.LinAlgError:
            return False
    from scipy.linalg.lapack import dpotrf  # scipy.linalg is slow to import; only matrices of 64+ assets need it

    work = np.asarray(cov).T.copy(order="F")  # cov's own memory layout (a memcpy); its upper triangle is cov's lower
    return dpotrf(work, lower=0, overwrite_a=1, clean=0)[1] == 0


def check_psd_matrix(arr: np.ndarray, *, name: str = "cov") -> bool:
    """Raise ``ValueError`` unless ``arr`` is positive semi-definite (smallest eigenvalue >= -PSD_RTOL * max).
    Returns True when the Cholesky factorization succeeded (positive definite: ``validate_problem``'s certificate
    would pass), False when only the eigenvalue test did (singular PSD: an ERC portfolio may not exist)."""
    if cholesky_succeeds(arr):
        return True
    eig = np.linalg.eigvalsh(arr)
    if eig[0] < -PSD_RTOL * max(eig[-1], 0.0):
        raise ValueError(
            f"{name} is not positive semi-definite: smallest eigenvalue {eig[0]:.6g} "
            f"(largest {eig[-1]:.6g})"
        )
    return False


def certify_psd(cov: np.ndarray) -> None:
    """The certificate of a risk-budgeting covariance: Cholesky (LAPACK); if it fails, ``check_psd_matrix`` (the
    eigenvalue test) and ``check_erc_exists`` (a singular PSD matrix must admit an ERC portfolio)."""
    if not cholesky_succeeds(cov):
        check_psd_matrix(cov)
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
