"""The default call ``qrp.risk_parity(cov)`` (equal risk contributions, solver "auto", nothing else) in one pass.

At N = 5 the solve takes a few microseconds, so the general path of ``qrp.risk_parity`` (validation of every
argument, dispatch, three finite checks, result assembly) would cost 25x the solve. For a float64 covariance with no
budgets, bounds, scaling, tolerance or options, ``default_erc`` runs below ``CHOLESKY_MAX_N`` assets the whole call
as one compiled function: the O(N^2) scan of ``validate_cov`` (``scan_matrix``), the PSD certificate
(``compiled_certifies``), the coordinate-descent phase of ``solve_auto`` (``auto_ccd_into``) and the measures
of the result (``measures_into``), on one (4, N) array the call allocates. From ``CHOLESKY_MAX_N`` on the same
steps run as separate calls with LAPACK's Cholesky, whose fixed cost no longer matters; from ``OVERLAP_MIN_N``, when
a second core is free, the certificate runs in a second thread while the calling thread solves (``CERT_THREAD``, or
``QRP_CERT_THREAD=0`` in the environment, turns that off), and the answer is kept only once it is proved. When
coordinate descent hands over, Newton runs exactly as in ``solve_auto`` (``finish_auto``).

It decides nothing on its own: whenever a check fails or gives no conclusion (an invalid matrix, a certificate
without its margin, a non-finite result) it returns None, and ``qrp.risk_parity`` runs the general path, which
raises the error it always raised. What it returns is bit-identical to the general path's result.
"""

from __future__ import annotations

import os
import threading
from time import perf_counter

import numba
import numpy as np

from qrp.classical.ccd import auto_ccd_into, normalize_into
from qrp.classical.newton import AUTO_CHUNK, AUTO_FIRST, auto_ccd_stats, finish_auto, newton_cost_in_sweeps
from qrp.core.certificate import (
    CERT_NONE,
    SCAN_OK,
    SYMMETRY_RTOL,
    certify_positive_definite,
    compiled_certifies,
    scan_matrix,
)
from qrp.core.cores import core_left, usable_cores
from qrp.core.frames import is_exact_frame
from qrp.core.measures import measures_into, measures_kernel
from qrp.core.result import RiskParityResult
from qrp.core.validation import frame_names

FLOAT64 = np.dtype(np.float64)
#: ``RiskParityResult.classical``, bound once (looking a classmethod up binds it anew, ~40 ns a call).
_classical = RiskParityResult.classical

#: Below this N the certificate is the compiled ``compiled_certifies`` inside the one call; from it on, LAPACK's
#: blocked Cholesky (``certify_positive_definite``, as in the general path): the measured crossover of the whole
#: call on the 2-core sandbox, one BLAS thread (its certificate's share, certified minus ``check_psd=False``, as
#: one call against separate steps: 7.0-7.3 us against 10.7-10.8 at N = 64, 12.0-12.1 against 13.7-13.8 at 80,
#: 16.0-16.2 against 18.3-18.5 at 95, 19.8-20.4 against 18.5 at 100, 25.6 against 20.9-21.9 at 112; load 0.6-0.8).
#: The general path's own certificate switches to LAPACK at ``LAPACK_DIRECT_MIN_N`` (64): where the two decide
#: differently (a smallest eigenvalue within a few n^2 2^-53 of the shift) the call is still the general path's.
CHOLESKY_MAX_N = 96

#: From this N on the certificate runs in a second thread while the calling thread solves (``_Certificate``), when
#: ``CERT_THREAD`` is on and a second core is free (``_second_core_free``). Wall time of the default call threaded
#: over sequential (weak-factor family, one BLAS thread, 2-core sandbox, interleaved; ``python -m
#: benchmarks.certificate_overlap``): 1.00x at N = 300, 0.77x at 500, 0.69x at 700, 0.58x at 1000 and 2000 with
#: the other core idle (load 0.75); 1.13x / 1.09x / 1.07x / 1.04x / 1.03x when it is not (load 1.25).
OVERLAP_MIN_N = 500
#: Run the large-N certificate beside the solve (``OVERLAP_MIN_N``). False (or ``QRP_CERT_THREAD=0`` in the
#: environment when qrp is imported) runs it first, in the calling thread, as before; the results are the same.
CERT_THREAD = os.environ.get("QRP_CERT_THREAD", "1") != "0"

#: The tolerance compiled into the small route's kernels: ``solve_auto``'s registered default (a spec of another
#: default tolerance passes its own to ``_default_kernel``).
KERNEL_TOL = 1e-12

#: ``_default_kernel`` outcomes (``_small`` adds LARGE).
UNDECIDED, HANDOVER, DONE, LARGE = 0, 1, 2, 3


@numba.njit(cache=True, nogil=True)
def _default_kernel(s, out, small, certify, tol, first, chunk, budget):  # pragma: no cover - compiled
    """(status, volatility, rc_error, sweeps) of the default call on a C-contiguous float64 matrix, in the rows of
    ``out``, a (4, N) array the caller allocates (boxing each returned array costs ~0.35 us, a tenth of the call at
    N = 5): the budgets in ``out[1]``; when DONE, the weights in ``out[0]`` and the risk contributions in ``out[2]``;
    when HANDOVER, coordinate descent's point y in ``out[0]``; ``out[3]`` is work space. ``small``: run the O(N^2)
    scan and, with ``certify``, the compiled certificate first (else the caller did)."""
    n = s.shape[0]
    y, b, rc = out[0], out[1], out[2]
    b[:] = 1.0 / n
    if small and scan_matrix(s, SYMMETRY_RTOL)[0] != SCAN_OK:
        return UNDECIDED, 0.0, 0.0, 0
    if certify and not compiled_certifies(s):
        return UNDECIDED, 0.0, 0.0, 0
    sweeps, ok, _ = auto_ccd_into(s, b, y, rc, out[3], tol, first, chunk, budget)
    if not ok:
        return HANDOVER, 0.0, 0.0, sweeps
    normalize_into(y, y)
    vol, err, fine = measures_into(y, s, b, rc)
    if not (fine and np.isfinite(vol) and np.isfinite(err)):
        return UNDECIDED, 0.0, 0.0, 0
    return DONE, vol, err, sweeps


@numba.njit(cache=True, nogil=True, inline="always")
def _small(s, out, certify):  # pragma: no cover - compiled
    """``_default_kernel`` with the scan (and the certificate when ``certify``) at ``KERNEL_TOL`` for a C-contiguous
    float64 ``s`` below ``CHOLESKY_MAX_N`` assets: UNDECIDED (nothing written) unless ``s`` is square and not empty
    and ``out`` is (4, N); LARGE (nothing done) from ``CHOLESKY_MAX_N`` on. Coordinate descent's budget is
    ``newton_cost_in_sweeps(N)``, compiled in."""
    n = s.shape[0]
    if n == 0 or s.shape[1] != n or out.shape[0] != 4 or out.shape[1] != n:
        return UNDECIDED, 0.0, 0.0, 0
    if n >= CHOLESKY_MAX_N:
        return LARGE, 0.0, 0.0, 0
    return _default_kernel(s, out, True, certify, KERNEL_TOL, AUTO_FIRST, AUTO_CHUNK, newton_cost_in_sweeps(n))


@numba.njit(cache=True, nogil=True)
def _budget_of(n):  # pragma: no cover - compiled
    """``newton_cost_in_sweeps(n)`` as this module's compiled code has it: numba's cache keys on this file only, so
    tests/classical/test_default.py compares it with the Python function (a stale cache would differ)."""
    return newton_cost_in_sweeps(n)


# Two entry points of two arguments each, not one of eight: numba's dispatch costs ~30 ns an argument (typing and
# unboxing), and at N = 5 the whole call is ~3 us (8 arguments 0.27 us, 4 arguments 0.29 us over the same kernel in
# a compiled loop, 2 arguments 0.19 us; load 3).
@numba.njit(cache=True, nogil=True)
def _small_certified(s, out):  # pragma: no cover - compiled
    """``_small`` with the compiled PSD certificate (``check_psd=True``)."""
    return _small(s, out, True)


@numba.njit(cache=True, nogil=True)
def _small_uncertified(s, out):  # pragma: no cover - compiled
    """``_small`` without the certificate (``check_psd=False``)."""
    return _small(s, out, False)


def _second_core_free() -> bool:
    """Whether a second core is free for the certificate: this process may run on more cores
    (``qrp.core.cores.usable_cores``) than the loaded BLAS libraries' threads together (``_blas_threads``: the
    certificate's spotrf runs on SciPy's, the solve's products on numpy's; oversubscribed, OpenBLAS's threads wait
    on each other: the overlap took 1.98-2.09x the sequential wall at N = 1000 and 1.07-1.73x at N = 2000 with two
    threads each on two cores, load 1.4) and, on Linux (/proc/loadavg, one read, ~8 us), the machine was not busy
    over the last minute (``qrp.core.cores.core_left``, the rule of ``qrp.studies.report``'s forked drawer) and has
    fewer runnable threads than CPUs at this moment (this one included). Without a free core the two threads share
    one and the call takes longer: 1.04-1.11x the sequential wall time at N = 400-1000 (load 2.3)."""
    cores = usable_cores()
    if cores < 2:
        return False
    try:
        with open("/proc/loadavg", "rb") as f:
            fields = f.read().split()
        minute, running = float(fields[0]), int(fields[3].split(b"/")[0])
    except (OSError, ValueError, IndexError):  # not Linux: assume the machine is not saturated
        minute, running = 0.0, 1
    return core_left(cores, minute) and running < (os.cpu_count() or cores) and _blas_threads() <= cores


#: threadpoolctl's controllers of the BLAS libraries loaded in this process (``_blas_threads``), found on first use.
_BLAS_LIBS: list = []


def _blas_threads() -> int:
    """The threads of every loaded BLAS library, summed (at least 2: SciPy's and numpy's, one each when pinned).
    The libraries are found once (threadpoolctl, ~4 ms; SciPy's LAPACK, the certificate's, imported first so that it
    is among them); their thread counts are read at each call (~0.4 us each), so ``threadpool_limits`` applies."""
    if not _BLAS_LIBS:
        import scipy.linalg.cython_lapack  # noqa: F401 - loads the certificate's LAPACK before the scan
        from threadpoolctl import ThreadpoolController  # its scan of the loaded libraries is needed only here

        _BLAS_LIBS.extend(c for c in ThreadpoolController().lib_controllers if c.user_api == "blas")
        _BLAS_LIBS.append(None)  # found (the list is never empty again, even without a BLAS)
    return max(2, sum(c.num_threads for c in _BLAS_LIBS if c is not None))


def certificate_overlaps(n: int) -> bool:
    """Whether ``default_erc`` runs the certificate of an N x N matrix in a second thread beside the solve: from
    ``OVERLAP_MIN_N``, with ``CERT_THREAD`` on, when a second core is free (``_second_core_free``)."""
    return n >= OVERLAP_MIN_N and CERT_THREAD and _second_core_free()


class _Certificate(threading.Thread):
    """``certify_positive_definite(cov)`` in a thread of its own (``started``); ``code()`` joins it and returns
    its ``CERT_*`` code, or raises what it raised. A fresh thread a call (~0.1 ms at N >= ``OVERLAP_MIN_N``, where
    the certificate takes 1-50 ms) rather than a persistent one: it has ended when ``default_erc`` returns, so no
    thread outlives the call (``threading.active_count()`` decides whether the studies fork their workers), and a
    forked child inherits none. Its compiled parts are ``nogil`` and SciPy's spotrf / dpotrf release the GIL, so
    it holds the GIL only for a few Python lines; it only reads ``cov`` and writes buffers of its own."""

    def __init__(self, cov: np.ndarray):
        super().__init__(name="qrp-certificate", daemon=True)
        self._cov, self._code, self._error = cov, CERT_NONE, None

    @classmethod
    def started(cls, cov: np.ndarray) -> _Certificate | None:
        """A started certificate thread, or None when no thread can be started now (the process is at its thread
        limit: the caller then certifies in its own thread, as without a free core)."""
        pending = cls(cov)
        try:
            pending.start()
        except RuntimeError:  # "can't start new thread"
            return None
        return pending

    def run(self) -> None:
        try:
            self._code = certify_positive_definite(self._cov)
        except BaseException as exc:  # handed to the caller by code()
            self._error = exc

    def code(self) -> int:
        self.join()
        if self._error is not None:
            raise self._error
        return self._code


def default_erc(cov, spec, leverage, check_psd, seed, start: float) -> RiskParityResult | None:
    """``qrp.risk_parity(cov)`` (budgets, bounds, target_volatility, tol, max_iter and solver options already seen to
    be None / empty, the registry ``spec``'s target ``solve_auto``), or None for the general path.

    The route is taken by a float64 array or an exact DataFrame of one (its labels become ``asset_names``),
    ``leverage`` exactly 1 (a plain int or float), ``check_psd`` a bool and no seed or a plain int seed >= 0 (auto is
    deterministic: the seed is only recorded); it runs every check of ``qrp.risk_parity`` (the PSD certificate when
    ``check_psd``) and returns the same result, bit for bit (tests/classical/test_default.py), its three arrays rows
    of one fresh array; ``elapsed`` counts from ``start`` (``time.perf_counter``). It is None whenever a check fails
    or gives no conclusion (a matrix that is not square, or empty, included): the general path raises the error it
    always raised. Every test is a type or identity test: at N = 5 the whole call costs ~3 us, so each attribute
    lookup here shows.

    From ``OVERLAP_MIN_N`` (``certificate_overlaps``) the certificate runs in a second thread
    while this one solves; the solve's answer is kept only once the certificate has proved S positive definite,
    so the result, and every error (the certificate's first, then the solve's; None when no proof was found), is
    the sequential call's (tests/classical/test_default.py). The solve runs under ``np.errstate(all="call")``
    meanwhile; should it meet a floating-point error, it runs again once certified, in the caller's error state,
    so that numpy warns (or raises) as in the sequential call.
    """
    if not ((type(leverage) is float or type(leverage) is int) and leverage == 1 and type(check_psd) is bool
            and (seed is None or (type(seed) is int and seed >= 0))):
        return None
    names = None
    if type(cov) is not np.ndarray:
        if not is_exact_frame(cov):
            return None
        names = frame_names(cov)
        cov = cov.to_numpy()
        if type(cov) is not np.ndarray:
            return None
    if cov.ndim != 2 or (cov.dtype is not FLOAT64 and cov.dtype != FLOAT64):
        return None
    if not cov.flags.c_contiguous:  # numba's own test of the layout: a C array takes the one compiled kernel
        cov = np.ascontiguousarray(cov)
    n = len(cov)
    out = np.empty((4, n))
    if spec.default_tol == KERNEL_TOL:
        status, vol, err, sweeps = (_small_certified if check_psd else _small_uncertified)(cov, out)
        if status == DONE:  # ``_result``'s first case, written out: a call costs ~0.3 us of the few us at N = 5
            return _classical(out[0], out[2], vol, err, True, sweeps, spec.name, perf_counter() - start, out[1], names,
                              auto_ccd_stats(sweeps), seed)
        if status != LARGE:
            return _result(cov, out, status, vol, err, sweeps, spec, names, seed, start)
    return _separate_steps(cov, out, check_psd, spec, names, seed, start)


def _separate_steps(cov, out, check_psd, spec, names, seed, start: float) -> RiskParityResult | None:
    """``default_erc`` from ``CHOLESKY_MAX_N`` on (or for a registered ``solve_auto`` of a default tolerance other
    than ``KERNEL_TOL``): None unless ``cov`` is square and not empty; below ``CHOLESKY_MAX_N`` the compiled call
    at the spec's tolerance, else the scan, the certificate (LAPACK; beside the solve from ``OVERLAP_MIN_N``) and
    the solve as separate calls."""
    n = len(cov)
    if n == 0 or cov.shape[1] != n:
        return None
    if n < CHOLESKY_MAX_N:
        status, vol, err, sweeps = _default_kernel(cov, out, True, check_psd, spec.default_tol, AUTO_FIRST,
                                                   AUTO_CHUNK, newton_cost_in_sweeps(n))
        return _result(cov, out, status, vol, err, sweeps, spec, names, seed, start)
    # scan, then LAPACK's certificate, then the solve
    if scan_matrix(cov, SYMMETRY_RTOL)[0] != SCAN_OK:
        return None
    pending = _Certificate.started(cov) if check_psd and certificate_overlaps(n) else None
    if pending is None:
        if check_psd and certify_positive_definite(cov) == CERT_NONE:
            return None
        return _solve(cov, spec, names, seed, start)
    errors: list[str] = []
    try:
        with np.errstate(all="call", call=lambda kind, flag: errors.append(kind)):
            res = _solve(cov, spec, names, seed, start)
    except Exception:
        if pending.code() == CERT_NONE:
            return None
        raise
    if pending.code() == CERT_NONE:
        return None
    return _solve(cov, spec, names, seed, start) if errors else res


def _solve(cov: np.ndarray, spec, names, seed, start: float) -> RiskParityResult | None:
    """``default_erc`` from ``CHOLESKY_MAX_N`` on, once the checks have passed: coordinate descent (compiled), then
    Newton if it hands over."""
    n = cov.shape[0]
    out = np.empty((4, n))
    status, vol, err, sweeps = _default_kernel(cov, out, False, False, spec.default_tol, AUTO_FIRST, AUTO_CHUNK,
                                               newton_cost_in_sweeps(n))
    return _result(cov, out, status, vol, err, sweeps, spec, names, seed, start)


def _result(cov, out, status, vol, err, sweeps, spec, names, seed, start) -> RiskParityResult | None:
    """The result of a ``_default_kernel`` call that left ``status`` and its rows in ``out``: as it is (DONE),
    None (UNDECIDED), or Newton's from coordinate descent's point (HANDOVER)."""
    if status == DONE:
        return RiskParityResult.classical(out[0], out[2], vol, err, True, sweeps, spec.name, perf_counter() - start,
                                          out[1], names, auto_ccd_stats(sweeps), seed)
    if status == UNDECIDED:
        return None
    b = out[1]
    res = finish_auto(cov, b, out[0], sweeps, tol=spec.default_tol, max_iter=spec.default_max_iter,
                      **spec.default_options)
    rc, vol, err, fine = measures_kernel(res.weights, cov, b)
    if not (fine and np.isfinite(vol) and np.isfinite(err)):
        return None
    return RiskParityResult.classical(res.weights, rc, vol, err, res.converged, res.iterations, spec.name,
                                      perf_counter() - start, b, names, res.stats, seed)
