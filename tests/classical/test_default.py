"""The compiled default call (``qrp.classical.default``): the same answers and the same errors as the general path."""

import copy
import dataclasses
import re
import threading
import warnings

import numpy as np
import pandas as pd
import pytest

from qrp.api import risk_parity
from qrp.classical.ccd import _ccd_kernel, auto_ccd_kernel
from qrp.classical.default import CHOLESKY_MAX_N, OVERLAP_MIN_N
from qrp.classical.newton import AUTO_CHUNK, AUTO_FIRST, newton_cost_in_sweeps
from qrp.core.certificate import (
    CERT_NONE,
    LAPACK_DIRECT_MIN_N,
    certify_positive_definite,
    compiled_certifies,
    compiled_factor,
)
from qrp.core.measures import matvec
from qrp.core.registry import _REGISTRY, get_solver, register_solver
from qrp.core.result import RiskParityResult
from qrp.data.synthetic import gaussian_factor_covariance
from tests.core.test_validation import BAD_COV


def _same(fast, general):
    """Every field equal (arrays bit for bit) except the wall time."""
    for f in dataclasses.fields(RiskParityResult):
        if f.name != "elapsed":
            a, b = getattr(fast, f.name), getattr(general, f.name)
            assert (np.array_equal(a, b) if isinstance(a, np.ndarray) else a == b), f.name


@pytest.mark.parametrize("n", [1, 2, 5, 20, 64, CHOLESKY_MAX_N - 1, CHOLESKY_MAX_N, 100, 300, 1000])
@pytest.mark.parametrize("check_psd", [True, False])
def test_default_call_equals_the_general_path(n, check_psd):
    cov = gaussian_factor_covariance(n, loading_scale=0.1, seed=n)
    general = risk_parity(cov, np.full(n, 1.0 / n), check_psd=check_psd)  # budgets given: the general path
    _same(risk_parity(cov, check_psd=check_psd), general)
    _same(risk_parity(cov, check_psd=check_psd, leverage=1), general)
    # a seed (auto is deterministic: it is only recorded) keeps the compiled route, as a study's "auto" rows pass one
    seeded = risk_parity(cov, np.full(n, 1.0 / n), check_psd=check_psd, seed=7)
    assert seeded.seed == 7
    _same(risk_parity(cov, check_psd=check_psd, seed=7), seeded)
    names = [f"a{i}" for i in range(n)]
    framed = risk_parity(pd.DataFrame(cov, index=names, columns=names), check_psd=check_psd)
    assert framed.asset_names == tuple(names)
    _same(framed, dataclasses.replace(general, asset_names=tuple(names)))


@pytest.mark.parametrize("n", [LAPACK_DIRECT_MIN_N, CHOLESKY_MAX_N - 1])
def test_compiled_route_above_the_general_certificates_switch_equals_the_general_path(n):
    # from LAPACK_DIRECT_MIN_N to CHOLESKY_MAX_N the default call proves with the compiled Crout certificate where
    # the general path uses LAPACK's: near the shift they decide differently (both ways occur here), and the call
    # must still return the general path's result, or raise its error
    assert LAPACK_DIRECT_MIN_N < CHOLESKY_MAX_N
    rng = np.random.default_rng(n)
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    agree = set()
    for lam in np.r_[np.geomspace(1e-10, 1e-17, 60), 0.0, -1e-13]:
        cov = (q * np.r_[np.linspace(1.0, 0.5, n - 1), lam]) @ q.T
        cov = (cov + cov.T) / 2
        agree.add(compiled_certifies(cov) is (certify_positive_definite(cov) != CERT_NONE))
        try:
            general = risk_parity(cov, np.full(n, 1.0 / n))
        except ValueError as exc:
            with pytest.raises(ValueError, match=re.escape(str(exc))):
                risk_parity(cov)
            continue
        _same(risk_parity(cov), general)
    assert agree == {True, False}


@pytest.mark.parametrize("n", [30, 120])
def test_newton_handover_equals_the_general_path(n):
    # strong factors and dispersed volatilities: coordinate descent hands over to Newton
    cov = gaussian_factor_covariance(n, n_factors=3, loading_scale=1.0, seed=3)
    fast = risk_parity(cov)
    assert fast.stats["newton_iterations"] > 0 and fast.converged
    _same(fast, risk_parity(cov, np.full(n, 1.0 / n)))


def _big(cov3, n=CHOLESKY_MAX_N + 6):
    """A (n, n) matrix holding the 3 x 3 problem matrix in its top-left corner (the rest identity-like)."""
    out = np.eye(n)
    out[:3, :3] = cov3
    return out


@pytest.mark.parametrize(("cov", "match"), BAD_COV)
def test_default_call_raises_what_the_general_path_raises(cov, match):
    before = copy.deepcopy(cov)
    with pytest.raises(ValueError, match=match):
        risk_parity(cov)
    if isinstance(cov, np.ndarray) and cov.dtype.kind == "f" and cov.ndim == 2 and cov.shape[0] == 3:
        np.testing.assert_array_equal(cov, before)
        with pytest.raises(ValueError, match=match):  # the LAPACK route of large N
            risk_parity(_big(cov))


@pytest.mark.parametrize("big", [False, True])
def test_singular_matrix_checks_erc_existence_and_non_finite_is_an_error(big):
    bad = np.array([[1.0, -1.0], [-1.0, 1.0]])
    cov = np.eye(CHOLESKY_MAX_N + 2) if big else bad
    cov[:2, :2] = bad
    with pytest.raises(ValueError, match="no ERC portfolio exists"):
        risk_parity(cov)
    with pytest.raises(ValueError) as general:
        risk_parity(cov, np.full(len(cov), 1.0 / len(cov)), check_psd=False)
    assert any(m in str(general.value) for m in ("not finite", "variance", "not positive definite"))
    with pytest.raises(ValueError, match=f"^{re.escape(str(general.value))}$"):
        risk_parity(cov, check_psd=False)


def test_layouts_read_only_inputs_and_no_aliasing():
    cov = gaussian_factor_covariance(8, seed=1)
    ref = risk_parity(cov)
    fortran, frozen = np.asfortranarray(cov), cov.copy()
    frozen.setflags(write=False)
    _same(risk_parity(fortran), ref)
    _same(risk_parity(frozen), ref)
    assert not frozen.flags.writeable and fortran.flags.f_contiguous
    np.testing.assert_array_equal(cov, gaussian_factor_covariance(8, seed=1))
    assert not np.shares_memory(ref.weights, cov) and ref.weights.flags.writeable
    # weights, budgets and contributions are rows of one array the call allocates: disjoint, so writing one leaves
    # the others alone
    arrays = (ref.weights, ref.budgets, ref.risk_contributions)
    assert not any(np.shares_memory(a, b) for i, a in enumerate(arrays) for b in arrays[i + 1:])
    other = risk_parity(cov)
    other.weights[:] = 0.0
    np.testing.assert_array_equal(other.budgets, ref.budgets)
    np.testing.assert_array_equal(other.risk_contributions, ref.risk_contributions)
    # int matrices, lists and big-endian floats take the general path and agree
    _same(risk_parity(cov.tolist()), ref)
    _same(risk_parity(cov.astype(">f8")), ref)


def test_unpickled_arrays_take_the_default_route(monkeypatch):
    # an unpickled float64 array has an equal but distinct dtype object: it must not fall to the general path
    import pickle

    import qrp.api as api

    cov = gaussian_factor_covariance(8, seed=1)
    calls = []
    real = api.default_erc
    monkeypatch.setattr(api, "default_erc", lambda *a: (lambda r: calls.append(r is not None) or r)(real(*a)))
    _same(risk_parity(pickle.loads(pickle.dumps(cov))), risk_parity(cov))
    assert calls == [True, True]
    risk_parity(cov, seed=3)  # a plain int seed takes the route too; a numpy integer goes the general way, and a
    risk_parity(cov, seed=np.int64(3))  # bool or a negative seed is refused there, as before
    for bad in (True, -1):
        with pytest.raises(ValueError, match="seed"):
            risk_parity(cov, seed=bad)
    assert calls == [True, True, True, False, False, False]


def test_only_solve_auto_takes_the_compiled_path():
    calls = []

    def spy(cov, budgets, *, tol, max_iter, seed=None, linear_solver="auto"):
        calls.append(1)
        return get_solver("auto").function(cov, budgets, tol=tol, max_iter=max_iter, linear_solver=linear_solver)

    register_solver("_spy_auto", spy, options=get_solver("auto").options, default_max_iter=100, overwrite=True)
    try:
        cov = gaussian_factor_covariance(6, seed=2)
        _same(risk_parity(cov, solver="_spy_auto"), dataclasses.replace(risk_parity(cov), solver="_spy_auto"))
        assert calls == [1]
    finally:
        _REGISTRY.pop("_spy_auto", None)


def test_classical_constructor_equals_the_dataclass_one():
    w = np.array([0.5, 0.5])
    args = dict(weights=w, risk_contributions=w / 4, volatility=0.25, rc_error=0.0, converged=True, iterations=3,
                solver="auto", elapsed=1e-5, budgets=w, asset_names=("a", "b"), stats={"ccd_sweeps": 3})
    fast = RiskParityResult.classical(*args.values())
    assert fast == RiskParityResult(**args)
    assert fast.to_dict() == RiskParityResult(**args).to_dict() and repr(fast) == repr(RiskParityResult(**args))
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.weights = w
    with pytest.raises(dataclasses.FrozenInstanceError):
        del fast.stats
    # the same instance: its type, every field in declaration order (the discrete ones at their defaults), pickling
    slow = RiskParityResult(**args)
    assert type(fast) is RiskParityResult and list(vars(fast)) == [f.name for f in dataclasses.fields(slow)]
    assert vars(fast).keys() == vars(slow).keys() and all(vars(fast)[k] is vars(slow)[k] for k in args)
    assert (fast.energy, fast.num_qubits, fast.history) == (None, None, ())
    import pickle

    again = pickle.loads(pickle.dumps(fast))
    assert type(again) is RiskParityResult and again.to_dict() == fast.to_dict()


def test_small_kernels_compile_the_newton_budget_and_tolerance_of_auto():
    # the small route's kernels compile in newton_cost_in_sweeps(N) and the tolerance of the "auto" spec; numba's
    # cache keys on default.py only, so a stale cache after an edit of newton.py would show here
    from qrp.classical.default import KERNEL_TOL, _budget_of

    assert KERNEL_TOL == get_solver("auto").default_tol
    for n in range(1, CHOLESKY_MAX_N):
        assert _budget_of(n) == newton_cost_in_sweeps(n)


def test_validated_defaults_are_cached_and_frozen():
    spec = get_solver("auto")
    first = spec.validate_options({})
    with pytest.raises(TypeError):
        first["linear_solver"] = "cg"
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.own.linear_solver = "cg"
    assert spec.validate_options({}) is first
    assert first == {"linear_solver": "auto"} == dict(spec.default_options)
    with pytest.raises(ValueError, match="linear_solver must be one of"):
        spec.validate_options({"linear_solver": "lu"})


@pytest.mark.parametrize("log_cond", [0, 2, 4, 6, 7, 10, 14])
@pytest.mark.parametrize("n", [2, 7, 40])
def test_compiled_certificate_proves_only_positive_definite_matrices(log_cond, n):
    rng = np.random.default_rng(n + log_cond)
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    eig = np.logspace(0, -log_cond, n)
    for lam in (eig, np.r_[eig[:-1], 0.0], np.r_[eig[:-1], -eig[0] * 1e-6], np.r_[eig[:-1], -1.0]):
        s = (q * lam) @ q.T
        s = (s + s.T) / 2
        if compiled_certifies(s):
            np.linalg.cholesky(s)  # LAPACK agrees
            assert lam.min() > 0
        elif n > 1 and lam.min() > 0 and log_cond <= 6:
            pytest.fail(f"a well-conditioned PD matrix was not certified (cond 1e{log_cond})")


@pytest.mark.parametrize("n", [LAPACK_DIRECT_MIN_N - 1, LAPACK_DIRECT_MIN_N, 150])
def test_the_certificate_reads_the_lower_triangle(n):
    good = gaussian_factor_covariance(n, seed=n)
    bad = good - 2 * np.linalg.eigvalsh(good)[-1] * np.eye(n)
    for lower, upper in ((good, bad), (bad, good), (good, good), (bad, bad)):
        m = np.tril(lower) + np.triu(upper, 1)
        proved = certify_positive_definite(m) != CERT_NONE
        assert proved is (lower is good)
        assert (certify_positive_definite(np.asfortranarray(m)) != CERT_NONE) is proved


def _auto_ccd_by_the_box_kernel(s, b, tol, budget):
    """``auto_ccd_kernel`` as it was written before its allocation-free sweeps: the chunk logic in Python around the
    general box kernel ``_ccd_kernel`` (box [0, inf], lambda 1, rc_mode)."""
    n = len(b)
    y = np.array([b[i] / np.sqrt(s[i, i]) for i in range(n)])
    sy = matvec(s, y)
    var = 0.0
    for i in range(n):
        var += y[i] * sy[i]
    y /= np.sqrt(var)
    lo, hi = np.zeros(n), np.full(n, np.inf)
    start, ok, err0 = _ccd_kernel(s, b, y, lo, hi, 1.0, tol, AUTO_FIRST, True)
    err, done = err0, start
    while not ok:
        if not err >= 0.0:
            break
        if done > start:
            rate = (err / err0) ** (1.0 / (done - start)) if err0 > 0.0 else 0.0
            if not rate < 1.0 or done + np.log(tol / err) / np.log(rate) > budget:
                break
        elif done >= budget:
            break
        k, ok, err = _ccd_kernel(s, b, y, lo, hi, 1.0, tol, AUTO_FIRST if done == start else AUTO_CHUNK, True)
        done += k
    return y, done, ok, err


@pytest.mark.parametrize("n", [1, 2, 5, 20, 63, 150])
def test_erc_sweeps_are_the_box_kernel_bit_for_bit(n):
    # the default route's coordinate descent (no box, no allocation) against the general box kernel, on weak and
    # strong factors (strong: coordinate descent hands over to Newton at some N) and a matrix that is not PSD
    for cov in (gaussian_factor_covariance(n, loading_scale=0.1, seed=n),
                gaussian_factor_covariance(n, n_factors=3, loading_scale=1.0, seed=n),
                np.eye(n) - 0.9 * (np.ones((n, n)) - np.eye(n)) if n > 1 else np.eye(1)):
        b = np.full(n, 1.0 / n)
        y, sweeps, ok, err = auto_ccd_kernel(cov, b, 1e-12, AUTO_FIRST, AUTO_CHUNK, newton_cost_in_sweeps(n))
        y0, sweeps0, ok0, err0 = _auto_ccd_by_the_box_kernel(cov, b, 1e-12, newton_cost_in_sweeps(n))
        np.testing.assert_array_equal(y, y0)
        assert (sweeps, ok) == (sweeps0, ok0)
        assert err == err0 or (np.isnan(err) and np.isnan(err0))


def _factor_by_rows(s, low):
    """``compiled_factor`` as it was written before its Crout order: the same fill and shift, then Cholesky-
    Banachiewicz by rows, in plain Python floats (IEEE binary64, no FMA, sums in order)."""
    import math

    from qrp.core.certificate import BOUND_INFLATE, REALMIN64, U64, _a_priori_bound

    n = s.shape[0]
    for i in range(n):
        if not (s[i, i] > 0.0 and s[i, i] <= 2.0**1000):
            return False
        low[i, n] = 1.0 / math.sqrt(s[i, i])
    trace, amax = 0.0, 0.0
    for i in range(n):
        for j in range(i):
            low[i, j] = s[i, j] * (low[i, n] * low[j, n])
            amax = max(amax, abs(low[i, j]))
        low[i, i] = s[i, i] * (low[i, n] * low[i, n])
        trace += low[i, i]
    if not (amax <= 4.0 and trace <= 4.0 * n):
        return False
    need = _a_priori_bound(n, trace * BOUND_INFLATE, 4.0 * n, U64, REALMIN64)
    if not need < 0.25:
        return False
    for i in range(n):
        d = low[i, i]
        low[i, i] = d - 2.0 * need
        if not d - low[i, i] > need:
            return False
    for i in range(n):
        for j in range(i + 1):
            acc = 0.0
            for k in range(j):
                acc += float(low[i, k]) * float(low[j, k])
            r = float(low[i, j]) - acc
            if i == j:
                if not r > 0.0:
                    return False
                low[i, i] = math.sqrt(r)
                low[i, n] = 1.0 / low[i, i]
            else:
                low[i, j] = r * low[j, n]
    return True


@pytest.mark.parametrize("n", [2, 5, 20, 63])
def test_compiled_certificate_decides_as_the_row_order(n):
    # the Crout (by columns) order computes every entry of the factor by the same sum as the row order (up to the
    # order of the sums and FMAs, which fastmath allows and the theorem covers): the same decisions where the
    # smallest eigenvalue crosses the shift (a few n^2 2^-53), decisions of both kinds, and the same factor to
    # rounding (a wrong entry would be off by O(1))
    rng = np.random.default_rng(n)
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    decisions = []
    for lam_min in np.geomspace(1e-10, 1e-17, 40):
        s = (q * np.r_[np.linspace(1.0, 0.5, n - 1), lam_min]) @ q.T
        s = (s + s.T) / 2
        low, ref = np.zeros((n, n + 1)), np.zeros((n, n + 1))
        decisions.append(compiled_factor(s, low))
        assert decisions[-1] is compiled_certifies(s) is _factor_by_rows(s, ref)
        if decisions[-1]:
            np.testing.assert_allclose(np.tril(low[:, :n]), np.tril(ref[:, :n]), rtol=0, atol=1e-9)
            np.testing.assert_allclose(1.0 / low[:, n], 1.0 / ref[:, n], rtol=0, atol=1e-9)  # the pivots L_jj
    assert True in decisions and False in decisions


def test_work_array_kernels_refuse_arrays_of_other_sizes():
    """The default call's allocation-free kernels write into the caller's arrays without bounds checks: arrays of
    another length (or a non-square S) are refused before anything is written."""
    from qrp.classical.ccd import auto_ccd_into, normalize_into
    from qrp.core.measures import matvec_into, measures_into

    s, b = np.eye(4), np.full(4, 0.25)
    short, good = np.full(3, 7.0), np.full(4, 7.0)
    calls = [
        lambda: matvec_into(s, good, short),
        lambda: matvec_into(s, short, good),
        lambda: normalize_into(good, short),
        lambda: measures_into(good, s, np.full(3, 1 / 3), good.copy()),
        lambda: measures_into(good, s, b, short),
        lambda: auto_ccd_into(s, b, short, good.copy(), good.copy(), 1e-12, 8, 16, 100.0),
        lambda: auto_ccd_into(s, b, good.copy(), short, good.copy(), 1e-12, 8, 16, 100.0),
        lambda: auto_ccd_into(np.eye(4)[:, :3], b, good.copy(), good.copy(), good.copy(), 1e-12, 8, 16, 100.0),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="needs"):
            call()
        assert (short == 7.0).all() and (good == 7.0).all()


def _both_ways(monkeypatch, call):
    """``call()`` with the certificate in a second thread beside the solve and in the calling thread first (a free
    second core claimed either way, so that the threaded route runs on a busy or one-core machine too): (outcome,
    outcome), each the result or the exception raised, and no thread left running."""
    from qrp.classical import default

    monkeypatch.setattr(default, "_second_core_free", lambda: True)
    outcomes = []
    for threaded in (True, False):
        monkeypatch.setattr(default, "CERT_THREAD", threaded)
        threads = threading.active_count()
        try:
            outcomes.append(call())
        except Exception as exc:  # compared below
            outcomes.append(exc)
        assert threading.active_count() == threads
    return outcomes


@pytest.mark.parametrize("n", [OVERLAP_MIN_N, 1000])
@pytest.mark.parametrize("family", ["weak", "strong"])
def test_certificate_thread_gives_the_sequential_result(monkeypatch, n, family):
    cov = gaussian_factor_covariance(n, n_factors=3, loading_scale=0.1 if family == "weak" else 1.0, seed=n)
    threaded, sequential = _both_ways(monkeypatch, lambda: risk_parity(cov))
    _same(threaded, sequential)
    _same(threaded, risk_parity(cov, np.full(n, 1.0 / n)))  # and the general path's


def test_certificate_thread_raises_the_sequential_errors(monkeypatch):
    from qrp.classical import default

    n = OVERLAP_MIN_N + 20
    indefinite = gaussian_factor_covariance(n, seed=4)
    indefinite[0, 1] = indefinite[1, 0] = 2.0 * np.sqrt(indefinite[0, 0] * indefinite[1, 1])  # correlation 2
    assert np.linalg.eigvalsh(indefinite)[0] < 0
    a, b = _both_ways(monkeypatch, lambda: risk_parity(indefinite))
    assert isinstance(a, ValueError) and type(a) is type(b) and str(a) == str(b)
    assert "not positive semi-definite" in str(a)
    # an error of the certificate itself reaches the caller, whichever thread raised it
    cov = gaussian_factor_covariance(n, seed=5)

    def broken(_):
        raise RuntimeError("certificate broke")

    monkeypatch.setattr(default, "certify_positive_definite", broken)
    a, b = _both_ways(monkeypatch, lambda: risk_parity(cov))
    assert isinstance(a, RuntimeError) and str(a) == str(b) == "certificate broke"


def test_certificate_thread_warns_as_the_sequential_call(monkeypatch):
    """A floating-point error in the solve (simulated: the solve starts with a log of -1) reaches numpy's error
    handling once, as in the sequential call: one warning by default, FloatingPointError under errstate raise."""
    from qrp.classical import default

    real = default._solve

    def noisy(*args):
        np.log(-np.ones(1))
        return real(*args)

    monkeypatch.setattr(default, "_solve", noisy)
    n = OVERLAP_MIN_N + 1
    cov = gaussian_factor_covariance(n, seed=6)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        threaded, sequential = _both_ways(monkeypatch, lambda: risk_parity(cov))
    assert [str(w.message) for w in caught] == ["invalid value encountered in log"] * 2
    _same(threaded, sequential)
    with np.errstate(invalid="raise"):
        a, b = _both_ways(monkeypatch, lambda: risk_parity(cov))
    assert isinstance(a, FloatingPointError) and isinstance(b, FloatingPointError)


def test_certificate_thread_needs_a_free_second_core(monkeypatch):
    """No second thread on one core, below ``OVERLAP_MIN_N`` or with ``CERT_THREAD`` off; the free-core test reads
    the machine's runnable threads (a bool either way)."""
    import os

    from qrp.classical import default

    assert isinstance(default._second_core_free(), bool)
    monkeypatch.setattr(default, "_second_core_free", lambda: True)
    assert default.certificate_overlaps(OVERLAP_MIN_N) and not default.certificate_overlaps(OVERLAP_MIN_N - 1)
    monkeypatch.setattr(default, "CERT_THREAD", False)
    assert not default.certificate_overlaps(OVERLAP_MIN_N)
    monkeypatch.undo()
    if hasattr(os, "sched_getaffinity"):
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
        assert not default._second_core_free() and not default.certificate_overlaps(10**4)
        # BLAS threads beyond the cores (the certificate's and the solve's libraries oversubscribed): no thread
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
        monkeypatch.setattr(default, "_blas_threads", lambda: 3)
        assert not default._second_core_free()
    monkeypatch.undo()
    from threadpoolctl import threadpool_limits

    default._blas_threads()  # loads SciPy's LAPACK and finds the libraries before the limits (which pin loaded ones)
    found = [c for c in default._BLAS_LIBS if c is not None]
    with threadpool_limits(1):  # pinned: one thread a library (SciPy's and numpy's BLAS here)
        assert default._blas_threads() == max(2, len(found))
    with threadpool_limits(3):  # read at each call; a library built for fewer threads keeps its own maximum
        assert default._blas_threads() == max(2, sum(c.num_threads for c in found))
        assert all(1 <= c.num_threads <= 3 for c in found)
        if any(c.num_threads > 1 for c in found):
            assert default._blas_threads() > max(2, len(found))


def test_no_thread_to_start_certifies_in_the_calling_thread(monkeypatch):
    """A process at its thread limit ("can't start new thread") gets the sequential call, not an error."""
    from qrp.classical import default

    def refuse(self):
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(default._Certificate, "start", refuse)
    monkeypatch.setattr(default, "_second_core_free", lambda: True)
    n = OVERLAP_MIN_N
    cov = gaussian_factor_covariance(n, seed=9)
    _same(risk_parity(cov), risk_parity(cov, np.full(n, 1.0 / n)))
    cov[0, 1] = cov[1, 0] = 2.0 * np.sqrt(cov[0, 0] * cov[1, 1])
    with pytest.raises(ValueError, match="not positive semi-definite"):
        risk_parity(cov)
