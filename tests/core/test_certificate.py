"""The rigorous positive-definiteness certificate (``qrp.core.certificate.certify_positive_definite``, Rump 2006):
matrices just above its threshold are proved, matrices just below are not (though plain Cholesky succeeds on the
float64 one), indefinite ones never are, and what it proves is checked against eigenvalues computed independently."""

import numpy as np
import pytest

from qrp.core import certificate as C
from qrp.data.synthetic import gaussian_factor_covariance


def _correlation(n, seed, lam_min):
    """A correlation matrix (unit diagonal, exactly) with smallest eigenvalue ``lam_min`` (to ~1e-15): a factor
    model's correlation R moved to (R - a I) / (1 - a)."""
    cov = gaussian_factor_covariance(n, loading_scale=0.05, seed=seed)
    d = np.sqrt(np.diag(cov))
    r = cov / d / d[:, None]
    r = (r + r.T) / 2
    np.fill_diagonal(r, 1.0)
    m = np.linalg.eigvalsh(r)[0]
    a = (m - lam_min) / (1.0 - lam_min)
    out = (r - a * np.eye(n)) / (1.0 - a)
    np.fill_diagonal(out, 1.0)
    return out


def _f64_need(n):
    """The shift the a priori float64 certificate must exceed on a correlation matrix of order n (its bound)."""
    return C._a_priori_bound(n, n * C.BOUND_INFLATE, float(n) * C.BOUND_INFLATE, C.U64, C.REALMIN64)


@pytest.mark.parametrize("n", [5, 30, 100])
def test_float64_certificate_threshold(n):
    need = _f64_need(n)  # the shift applied is 2 * need: proved iff lambda_min > ~2 need
    above = _correlation(n, n, 8 * need)
    below = _correlation(n, n, 0.5 * need)
    assert np.linalg.eigvalsh(above)[0] > 0 and np.linalg.eigvalsh(below)[0] > 0
    expect = C.CERT_COMPILED if n < C.LAPACK_DIRECT_MIN_N else C.CERT_F64
    assert C.certify_positive_definite(above) == expect
    # positive definite, but within the rounding the certificate allows for: no proof (the eigenvalue test decides)
    np.linalg.cholesky(below)  # plain Cholesky accepts it; the old certificate did
    assert C.certify_positive_definite(below) == C.CERT_NONE
    assert C.check_psd_matrix(below) is False  # PSD by the eigenvalue test, not proved


def test_float32_certificate_threshold_and_fallback():
    n = max(C.F32_MIN_N, 400)
    probe = _correlation(n, 7, 0.3)
    t = C._scales(probe)
    work = np.empty((n, n), np.float32)
    _, _, mean_row, _ = C._fill_scaled(probe, t, work)
    shift = C.F32_SHIFT_UNITS * C._gamma(n + 3.0, C.U32) * mean_row  # the float32 attempt factors C - shift I
    assert 1e-4 < shift < 0.1
    # well above the shift: proved in float32; just below: float32 Cholesky of C - shift I fails, float64 proves it
    assert C.certify_positive_definite(_correlation(n, 7, 2.0 * shift)) == C.CERT_F32
    assert C.certify_positive_definite(_correlation(n, 7, 0.5 * shift)) == C.CERT_F64


def test_indefinite_matrices_are_never_proved():
    n = C.F32_MIN_N
    for lam_min in (-1e-3, -1e-6, -1e-9):
        bad = _correlation(n, 3, lam_min)
        assert np.linalg.eigvalsh(bad)[0] < 0
        assert C.certify_positive_definite(bad) == C.CERT_NONE
        if lam_min < -C.PSD_RTOL * np.linalg.eigvalsh(bad)[-1]:  # beyond the eigenvalue test's tolerance
            with pytest.raises(ValueError, match="not positive semi-definite"):
                C.certify_psd(bad)
    small = _correlation(20, 3, -1e-12)
    assert C.certify_positive_definite(small) == C.CERT_NONE


@pytest.mark.parametrize("n", [2, 20, 70, C.F32_MIN_N + 10])
@pytest.mark.parametrize("seed", range(3))
def test_proofs_hold_on_covariances_and_do_not_touch_the_input(n, seed):
    vol = np.logspace(-3, 3, n)  # volatility dispersion: variances from 1e-6 to 1e6
    cov = gaussian_factor_covariance(n, seed=seed) * vol * vol[:, None]
    before = cov.copy()
    code = C.certify_positive_definite(cov)
    assert code != C.CERT_NONE
    np.testing.assert_array_equal(cov, before)
    # a proof survives an independent check: the smallest eigenvalue of the correlation matrix is positive
    d = np.sqrt(np.diag(cov))
    assert np.linalg.eigvalsh(cov / d / d[:, None])[0] > 0
    # rank-deficient (a singular PSD matrix): never proved
    f = np.random.default_rng(seed).standard_normal((n, n // 2))
    assert C.certify_positive_definite(f @ f.T + 1e-300 * np.eye(n)) == C.CERT_NONE


def test_non_finite_and_non_positive_diagonals_give_no_proof():
    for bad in (np.array([[0.0, 0.0], [0.0, 1.0]]), np.array([[-1.0, 0.0], [0.0, 1.0]]),
                np.array([[1e-310, 0.0], [0.0, 1.0]]), np.array([[1.0, 5.0], [5.0, 1.0]])):
        assert C.certify_positive_definite(bad) == C.CERT_NONE
        big = np.eye(C.LAPACK_DIRECT_MIN_N + 1)
        big[:2, :2] = bad
        assert C.certify_positive_definite(big) == C.CERT_NONE


@pytest.mark.parametrize("loading_scale", [0.05, 0.2])
def test_collatz_wielandt_bound_is_an_upper_bound(loading_scale):
    """The a posteriori bound of the float32 certificate is >= rho(H |L| |L|' H) computed densely, from the row-sum
    start and from a start far from the Perron vector, whatever the number of passes (1, or until it stalls)."""
    from scipy.linalg.lapack import spotrf

    n = 120
    cov = gaussian_factor_covariance(n, loading_scale=loading_scale, seed=3)
    t = C._scales(cov)
    work = np.empty((n, n), np.float32)
    rows = np.zeros(n)
    assert C._fill_rows(cov, t, work, rows)[0]
    factor, info = spotrf(work.T, lower=0, overwrite_a=1, clean=0)
    assert info == 0
    low = np.abs(np.tril(factor.T).astype(np.float64))
    h = np.sqrt([C._gamma(i + 3.0, C.U32) for i in range(n)])
    rho = np.linalg.eigvalsh(h[:, None] * (low @ low.T) * h)[-1]
    for x0 in (rows, np.ones(n), np.linspace(1.0, 1e-3, n)):
        one = C._cw_bound(factor.T, 0.0, 1, x0)
        converged = C._cw_bound(factor.T, 0.0, C.CW_MAX_ITER, x0)
        assert rho <= converged <= one
        assert converged <= 1.05 * rho  # the stall exit stops near the Perron root, not early


@pytest.mark.parametrize("s_shape, low_shape", [((3, 3), (3, 3)), ((3, 3), (2, 4)), ((3, 2), (3, 4))])
def test_compiled_factor_refuses_a_buffer_of_another_shape(s_shape, low_shape):
    """``compiled_factor`` writes 1 / sqrt(s_ii) into column N of ``low`` and indexes without bounds checks: a
    buffer without that column (or a non-square s) is refused before anything is written."""
    low = np.full(low_shape, 7.0)
    with pytest.raises(ValueError, match=r"compiled_factor needs s of \(N, N\) and low of \(N, N \+ 1\)"):
        C.compiled_factor(np.eye(3)[:, :s_shape[1]], low)
    assert (low == 7.0).all()


@pytest.mark.parametrize("name, dtype", [("spotrf", np.float32), ("dpotrf", np.float64)])
def test_ctypes_lapack_is_scipys_routine_bit_for_bit(name, dtype):
    """``_potrf`` (SciPy's LAPACK through ctypes, which releases the GIL) factors bit for bit as SciPy's f2py
    wrapper does, returns LAPACK's info for an indefinite matrix, and refuses a buffer it cannot factor in place."""
    from scipy.linalg import lapack

    n = 150
    cov = gaussian_factor_covariance(n, loading_scale=0.2, seed=5).astype(dtype)
    work = cov.copy()
    factor, info = getattr(lapack, name)(cov.copy().T, lower=0, overwrite_a=1, clean=0)
    assert info == 0 and C._potrf(name, work) == 0
    np.testing.assert_array_equal(work, factor.T)
    bad = cov.copy()
    bad[7, 7] = -1.0
    assert C._potrf(name, bad) == 8  # LAPACK's info: the leading minor of order 8 is not positive definite
    for wrong in (cov.T[:, :-1], cov.astype(np.float64 if dtype == np.float32 else np.float32), np.asfortranarray(
            cov[:, :-1])):
        with pytest.raises(ValueError, match=name):
            C._potrf(name, wrong)


def _scan_reference(s, rtol):
    """``scan_matrix`` as a plain loop (diagonal, then the pairs i < j in order, each checked for finiteness, then
    symmetry): the first problem and its position."""
    n = len(s)
    dmax = 0.0
    for i in range(n):
        if not np.isfinite(s[i, i]):
            return C.SCAN_NOT_FINITE, i, i
        if s[i, i] < C.MIN_VARIANCE:
            return C.SCAN_BAD_VARIANCE, i, i
        dmax = max(dmax, s[i, i])
    for i in range(n):
        for j in range(i + 1, n):
            a, b = s[i, j], s[j, i]
            if not (np.isfinite(a) and np.isfinite(b)):
                return C.SCAN_NOT_FINITE, i, j
            if abs(a - b) > rtol * dmax:
                return C.SCAN_ASYMMETRIC, i, j
    return C.SCAN_OK, 0, 0


def test_scan_names_the_first_problem_as_the_plain_loop():
    # the branch-free pass over the pairs (_pairs_within) decides alone when nothing is wrong: planted NaN, inf,
    # overflowing differences, asymmetries just above and below the tolerance, bad variances, in random places
    rng = np.random.default_rng(23)
    seen = set()
    for _ in range(1500):
        n = int(rng.integers(1, 30))
        a = rng.standard_normal((n, n))
        s = a @ a.T + n * np.eye(n)
        for _ in range(int(rng.integers(0, 3))):
            i, j = rng.integers(0, n, 2)
            s[i, j] = rng.choice([np.nan, np.inf, -np.inf, 1e308, -1e308, 0.0, s[j, i], s[i, j] * (1 + 1e-9),
                                  s[i, j] + 1e-12])
        expected = _scan_reference(s, C.SYMMETRY_RTOL)
        assert tuple(C.scan_matrix(s, C.SYMMETRY_RTOL)) == expected
        seen.add(expected[0])
    assert seen == {C.SCAN_OK, C.SCAN_NOT_FINITE, C.SCAN_BAD_VARIANCE, C.SCAN_ASYMMETRIC}
