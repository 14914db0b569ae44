"""qrp.quantum.fused: the register-fused tan-form X-mixer layer (engine "fast_poly") against the previous complex
kernel (``kernels.reference_layer``) to 1e-12 at sizes 13-23 (odd sizes, every sweep shape: one sub-block, qubits
13-14 across sub-blocks, one and two tile sweeps of 1 to 7 qubits), near beta = pi/2 and through the engine (below 13
qubits the engine keeps ``split_layer``)."""

from __future__ import annotations

import numpy as np
import pytest

from qrp.quantum import fused as f
from qrp.quantum import kernels as k
from qrp.quantum import statevector as sv
from qrp.quantum.mixers import XMixer, mixer_matrices


def run(n, d, gammas, betas, poly=True):
    """(reference state, fused split state) after the layers, both from |+>^n."""
    ref = XMixer(n).initial_state()
    re, im = XMixer(n).initial_split()
    for g, b in zip(gammas, betas, strict=True):
        u = XMixer(n).matrices(b)
        k.reference_layer(ref, d, g, u, k.BLOCK_QUBITS)
        t, scale = f.x_form(u)
        f.x_layer(re, im, d, g, t, scale, poly)
    return ref, re, im


@pytest.mark.parametrize("n", [13, 14, 15, 16, 17, 19, 20, 21, 22, 23])
def test_fused_layer_agrees_with_the_reference_kernel_to_1e_12(n):
    rng = np.random.default_rng(n)
    d = rng.standard_normal(1 << n) * 3
    gammas, betas = rng.uniform(-2, 2, 3), rng.uniform(-1.5, 1.5, 3)
    ref, re, im = run(n, d, gammas, betas)
    assert np.abs(ref - (re + 1j * im)).max() < 1e-12
    assert abs(np.sum(re * re + im * im) - 1) < 1e-12


def test_libm_phase_of_the_fused_layer():
    rng = np.random.default_rng(3)
    d = rng.standard_normal(1 << 16) * 3
    ref, re, im = run(16, d, rng.uniform(-2, 2, 2), rng.uniform(-1.5, 1.5, 2), poly=False)
    assert np.abs(ref - (re + 1j * im)).max() < 1e-12


@pytest.mark.parametrize("beta", [np.pi / 2 - 2e-4, -np.pi / 2 + 2e-4, 0.0, np.pi, 2.0])
def test_large_tangents_stay_accurate(beta):
    n = 16  # |tan beta| up to 5e3 < TAN_LIMIT: intermediate magnitudes (1 + t^2)^8 ~ 1e59, scaled back by cos^16
    rng = np.random.default_rng(1)
    d = rng.standard_normal(1 << n)
    ref, re, im = run(n, d, [0.7, -0.4], [beta, 0.3])
    assert np.abs(ref - (re + 1j * im)).max() < 1e-12


def test_sweeps_per_layer():
    assert [f.sweeps(n) for n in (13, 15, 16, 18, 19, 20, 22, 24, 28, 30)] == [1, 1, 2, 1, 1, 2, 2, 3, 4, 5]
    assert f._plan(24) == [(18, 3), (21, 3)] and f._chunked(24) == [(15, 3)]  # 15-17 in L3 chunks, then by 3
    assert f._plan(17) == [(15, 2)] and not f._chunked(17)  # qubits 15-17 in L3 chunks only from k = 3
    # qubit 18 in the chunks too where that saves a direct sweep (n = 19, 22, 25, 28)
    assert f._chunked(22) == f._chunked(28) == f._chunked(19) == [(15, 3), (18, 1)]
    assert f._plan(22) == [(19, 3)] and f._plan(19) == [] and f._plan(28) == [(19, 3), (22, 3), (25, 3)]
    assert f._plan(26) == [(18, 3), (21, 3), (24, 2)]  # direct sweeps of up to 3 qubits, spread evenly


def test_x_layer_refuses_a_state_of_another_size():
    t, scale = f.x_form(XMixer(16).matrices(0.3))
    re, im = XMixer(15).initial_split()
    with pytest.raises(ValueError, match="2\\^16 amplitudes"):
        f.x_layer(re, im, np.zeros(1 << 15), 0.1, t, scale, True)


def test_x_layer_refuses_fewer_qubits_than_a_sub_block():
    """Below MIN_QUBITS the sizes match but the kernels would still run over a whole sub-block of 2^13 amplitudes
    (and read t[0..12]): refused before anything is read or written."""
    n = f.MIN_QUBITS - 1
    t = np.full(n, 0.2)
    re, im, d = np.ones(1 << n), np.zeros(1 << n), np.zeros(1 << n)
    with pytest.raises(ValueError, match=f"x_layer needs at least {f.MIN_QUBITS} qubits, got {n}"):
        f.x_layer(re, im, d, 0.1, t, 0.9, True)
    assert (re == 1).all() and (im == 0).all()


def test_set_apart_moves_im_off_the_l1_sets_of_re_and_keeps_its_values():
    rng = np.random.default_rng(5)
    re, im = rng.standard_normal(1 << 14), rng.standard_normal(1 << 14)
    before = im.copy()
    out = f.set_apart(re, im)
    assert (out.ctypes.data - re.ctypes.data) % 4096 == f.APART
    assert np.array_equal(out, before) and np.array_equal(im, before)  # a copy; the caller's im untouched
    assert out.flags.c_contiguous and f.set_apart(re, out) is out


def test_the_layer_does_not_depend_on_where_im_lies():
    n = 21  # direct sweeps (15, 3), (18, 3)
    rng = np.random.default_rng(21)
    d = rng.standard_normal(1 << n)
    t, scale = f.x_form(XMixer(n).matrices(0.9))
    same = XMixer(n).initial_split()
    apart = (same[0].copy(), f.set_apart(same[0], same[1]))
    for re, im in (same, apart):
        f.x_layer(re, im, d, 0.8, t, scale, True)
    assert np.array_equal(same[0], apart[0]) and np.array_equal(same[1], apart[1])


def test_x_form_only_for_the_x_mixer_within_the_tangent_limit():
    t, scale = f.x_form(mixer_matrices(0.3, 14))
    np.testing.assert_allclose(t, np.tan(0.3), rtol=1e-15)
    assert scale == pytest.approx(np.cos(0.3) ** 14, rel=1e-14)
    assert f.x_form(mixer_matrices(0.3, 12)) is None  # below MIN_QUBITS
    assert f.x_form(mixer_matrices(0.3, 14, np.full(14, 1.0))) is None  # warm start: u00 != u11
    assert f.x_form(mixer_matrices(np.pi / 2, 14)) is None  # cos beta ~ 6e-17: |tan| > TAN_LIMIT
    assert f.x_form(mixer_matrices(np.pi / 2 - 1e-5, 14)) is None


@pytest.mark.parametrize("n", [8, 13, 15])
def test_evolve_split_with_poly_uses_the_fused_layer_from_13_qubits(n):
    rng = np.random.default_rng(7)
    d = rng.standard_normal(1 << n)
    gammas, betas = rng.uniform(-1, 1, 2), rng.uniform(-1, 1, 2)
    x = XMixer(n)
    fused = x.initial_split()
    sv.evolve_split(*fused, d, gammas, betas, x.matrices, poly=True)
    split = x.initial_split()
    for g, b in zip(gammas, betas, strict=True):
        k.split_layer(*split, d, g, k.real_matrices(x.matrices(b)), True)
    diff = np.abs(fused[0] - split[0]).max() + np.abs(fused[1] - split[1]).max()
    if n < f.MIN_QUBITS:
        assert diff == 0  # split_layer itself
    else:
        assert 0 < diff < 1e-12  # another kernel (FMA, tan form), the same state to 1e-12


@pytest.mark.parametrize("warm", [False, True])
def test_engine_fast_poly_agrees_with_fast_at_14_qubits(warm):
    from qiskit.quantum_info import SparsePauliOp

    from qrp.quantum.qaoa import QAOA

    rng = np.random.default_rng(14)
    n = 14
    terms = [("Z", [i], rng.normal()) for i in range(n)]
    terms += [("ZZ", [i, j], rng.normal()) for i in range(n) for j in range(i + 1, n)]
    op = SparsePauliOp.from_sparse_list(terms, n)
    thetas = rng.uniform(0.3, 2.8, n) if warm else None
    fast = QAOA(op, 1.0, reps=3, engine="fast", warm_thetas=thetas)
    poly = QAOA(op, 1.0, reps=3, engine="fast_poly", warm_thetas=thetas)
    for angles in (rng.uniform(-1, 1, 6), rng.uniform(-3, 3, 6)):
        assert abs(fast.objective(angles) - poly.objective(angles)) < 1e-12
        assert np.abs(fast.state(angles) - poly.state(angles)).max() < 1e-12


@pytest.mark.parametrize("n", [13, 16, 18, 21])
def test_first_layer_on_plus_writes_the_state_without_reading_it(n):
    rng = np.random.default_rng(n + 100)
    d = rng.standard_normal(1 << n) * 3
    gammas, betas = rng.uniform(-2, 2, 2), rng.uniform(-1.5, 1.5, 2)
    ref, _, _ = run(n, d, gammas, betas)
    re, im = f.empty_split(n)
    assert (im.ctypes.data - re.ctypes.data) % 4096 == f.APART
    re.fill(np.nan)  # garbage that a read would carry into the state
    im.fill(np.inf)
    sv.evolve_split(re, im, d, gammas, betas, XMixer(n).matrices, poly=True, plus=True)
    assert np.abs(ref - (re + 1j * im)).max() < 1e-12


@pytest.mark.parametrize("n, gamma", [(8, 0.7), (14, 0.7), (14, 2e6), (14, None)])
def test_plus_without_a_fused_first_layer_fills_the_state_first(n, gamma):
    rng = np.random.default_rng(9)
    d = rng.standard_normal(1 << n)
    gammas = [] if gamma is None else [gamma, 0.3]  # 2e6 |d|: beyond PHASE_POLY_LIMIT, split_layer with libm
    betas = [] if gamma is None else [0.4, -0.2]
    ref = XMixer(n).initial_state()
    for g, b in zip(gammas, betas, strict=True):
        k.reference_layer(ref, d, g, XMixer(n).matrices(b), k.BLOCK_QUBITS)
    re, im = np.full(1 << n, np.nan), np.full(1 << n, np.nan)
    sv.evolve_split(re, im, d, gammas, betas, XMixer(n).matrices, poly=True, plus=True)
    assert np.abs(ref - (re + 1j * im)).max() < 1e-12


@pytest.mark.parametrize("n", [3, 12, 17])
def test_expectation_in_one_read_agrees_with_the_probabilities(n):
    rng = np.random.default_rng(n)
    re, im, d = rng.standard_normal((3, 1 << n))
    value, norm = f.expectation(re, im, d)
    probs = re * re + im * im
    assert norm == pytest.approx(probs.sum(), rel=1e-14, abs=0)
    assert abs(value / norm - sv.cvar(d, probs, 1.0)) < 1e-13 * (np.abs(d) @ probs / norm)


@pytest.mark.parametrize("plus", [False, True])
def test_simd_rows_equal_the_loop_kernels_to_the_bit(plus):
    """``_vrot6`` + ``_low6`` (qubits 0-8 of a row, explicit <8 x double>) do the loops' FMAs in the loops' order."""
    rng = np.random.default_rng(11)
    re, im, d = rng.standard_normal((3, f.SUB))
    t = rng.uniform(-2, 2, 13)
    out = []
    for vec in (True, False):
        x, y = re.copy(), im.copy()
        f._block(x, y, d, 0.7, 0.9, True, plus, t, vec, True)
        out.append((x, y))
    assert np.array_equal(out[0][0], out[1][0]) and np.array_equal(out[0][1], out[1][1])
    assert not np.array_equal(out[0][0], re)


@pytest.mark.parametrize("n, keys", [(16, {"first", "direct"}), (21, {"first", "chunked", "direct"})])
def test_layer_timings_name_the_parts_and_change_nothing(n, keys):
    rng = np.random.default_rng(n)
    d = rng.standard_normal(1 << n)
    t, scale = f.x_form(XMixer(n).matrices(0.5))
    timed, plain = XMixer(n).initial_split(), XMixer(n).initial_split()
    laps = {"first": 1.0}
    f.x_layer(*timed, d, 0.3, t, scale, True, timings=laps)
    f.x_layer(*plain, d, 0.3, t, scale, True)
    assert set(laps) == keys and laps["first"] > 1.0 and all(v > 0 for v in laps.values())  # added to
    assert np.array_equal(timed[0], plain[0]) and np.array_equal(timed[1], plain[1])


def test_fast_poly_objective_reuses_its_state_and_split_state_hands_it_over():
    from qrp.quantum.engine_options import engine_settings
    from qrp.quantum.simulators import DiagonalCost, NumbaSimulator, PolyPhaseSimulator

    n = 14
    rng = np.random.default_rng(2)
    cost = DiagonalCost(None, diagonal=rng.standard_normal(1 << n))
    settings = engine_settings(reps=2, shots=None, alpha=1.0, engine="fast", noise=None)
    poly, fast = PolyPhaseSimulator(cost, XMixer(n), settings), NumbaSimulator(cost, XMixer(n), settings)
    angles = [rng.uniform(-1, 1, 4) for _ in range(3)]
    values = [poly.objective(a) for a in angles]  # the 2nd and 3rd on the 1st one's arrays
    assert all(abs(v - fast.objective(a)) < 1e-12 for v, a in zip(values, angles, strict=True))
    kept = poly._work
    re, im = poly.split_state(angles[0])
    assert re is kept[0] and poly._work is None  # handed over, not shared with the next evaluation
    assert np.abs((re + 1j * im) - fast.state(angles[0])).max() < 1e-12
    poly.objective(angles[1])
    assert poly._work[0] is not re


@pytest.mark.parametrize("n", [13, 16, 17, 19, 20, 21, 22, 23])
def test_the_last_sweep_summing_gives_the_expectation_of_the_state(n):
    """x_layer(total=True): the last direct sweep's k = 1, 2, 3 rows sum d |psi|^2 instead of storing (n = 16, 17,
    20-23: (15, 1), (15, 2), (18, 2), (18, 3), (19, 3), (21, 2)); no direct sweep (13, 19): the expectation after."""
    rng = np.random.default_rng(n + 7)
    d = rng.standard_normal(1 << n)
    t, scale = f.x_form(XMixer(n).matrices(0.4))
    re, im = XMixer(n).initial_split()
    f.x_layer(re, im, d, 0.9, t, scale, True)
    a, b = re.copy(), im.copy()
    f.x_layer(a, b, d, -0.6, t, scale, True)
    probs = a * a + b * b
    value, norm = f.x_layer(re, im, d, -0.6, t, scale, True, total=True)
    assert abs(norm - 1) < 1e-13 and abs(value / norm - d @ probs / probs.sum()) < 1e-13
    ref, _, _ = run(n, d, [0.9, -0.6], [0.4, 0.4])
    assert abs(value / norm - d @ np.abs(ref) ** 2) < 1e-12


@pytest.mark.parametrize("n", [14, 20])
def test_evolve_split_total_agrees_with_the_reference_kernel(n):
    rng = np.random.default_rng(n)
    d = rng.standard_normal(1 << n)
    gammas, betas = rng.uniform(-1, 1, 3), rng.uniform(-1, 1, 3)
    ref, _, _ = run(n, d, gammas, betas)
    re, im = f.empty_split(n)
    value, norm = sv.evolve_split(re, im, d, gammas, betas, XMixer(n).matrices, poly=True, plus=True, total=True)
    assert abs(value / norm - d @ np.abs(ref) ** 2) < 1e-12
    re, im = np.full(1 << n, np.nan), np.full(1 << n, np.nan)  # split_layer's path (|gamma d| too large)
    value, norm = sv.evolve_split(re, im, d * 1e7, gammas, betas, XMixer(n).matrices, poly=True, plus=True,
                                  total=True)
    fast = XMixer(n).initial_state()
    for g, b in zip(gammas, betas, strict=True):
        k.reference_layer(fast, d * 1e7, g, XMixer(n).matrices(b), k.BLOCK_QUBITS)
    assert abs(value / norm - (d * 1e7) @ np.abs(fast) ** 2) < 1e-12 * 1e7


def test_simd_rows_equal_the_loop_kernels_on_a_cpu_without_fma(tmp_path):
    """On a target without FMA instructions (numba's "generic" x86-64 here; older x86 CPUs) the loop kernels'
    ``contract`` leaves a multiply and an add, so ``_vrot6`` must not force a fused one (``llvm.fma`` would also be a
    libm call per lane there): it asks for ``llvm.fmuladd``, fused exactly where the loops' contractions are."""
    import os
    import subprocess
    import sys

    script = (
        "import numpy as np\n"
        "from qrp.quantum import fused as f\n"
        "rng = np.random.default_rng(11)\n"
        "re, im, d = rng.standard_normal((3, f.SUB))\n"
        "t = rng.uniform(-2, 2, 13)\n"
        "out = []\n"
        "for vec in (True, False):\n"
        "    x, y = re.copy(), im.copy()\n"
        "    f._block(x, y, d, 0.7, 0.9, True, False, t, vec, True)\n"
        "    out.append((x, y))\n"
        "print(np.array_equal(out[0][0], out[1][0]) and np.array_equal(out[0][1], out[1][1]))\n"
    )
    env = dict(os.environ, NUMBA_CPU_NAME="generic", NUMBA_CACHE_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"


def test_expectation_refuses_arrays_of_different_lengths():
    """``expectation`` indexes without bounds checks: a d (or im) shorter than re would be read past its end."""
    a = np.ones(8)
    for args in ((a, a, np.ones(4)), (a, np.ones(4), a), (np.ones((2, 4)), np.ones((2, 4)), np.ones((2, 4)))):
        with pytest.raises(ValueError, match="expectation needs re, im and d of one length"):
            f.expectation(*args)
    assert f.expectation(a, a, a) == (16.0, 16.0)


def test_evolve_split_refuses_arrays_of_other_sizes():
    """``evolve_split``'s kernels index without bounds checks: re, im and diagonal of different lengths, a length
    that is not a power of two, or a mixer of another qubit count are refused before anything is written."""
    n = 6
    mats = XMixer(n).matrices
    cases = ((np.ones(1 << n), np.zeros(1 << n), np.zeros(1 << (n - 1))), (np.ones(48), np.zeros(48), np.zeros(48)))
    for re, im, d in cases:
        with pytest.raises(ValueError, match="evolve_split needs re, im and diagonal of one length 2\\^n"):
            sv.evolve_split(re, im, d, [0.3], [0.2], mats, plus=True)
        assert (re == 1).all()
    re, im = np.ones(1 << (n + 1)), np.zeros(1 << (n + 1))
    with pytest.raises(ValueError, match="mixer acts on 6 qubits, the state has 128 amplitudes"):
        sv.evolve_split(re, im, np.zeros(1 << (n + 1)), [0.3], [0.2], mats)
    assert (re == 1).all()


def ising_diagonal(n, rng, scale=1.0):
    """d(x) = sum_i h_i z_i + sum_{i<j} J_ij z_i z_j (z = 1 - 2 bit), every Z and ZZ term: quadratic in the bits."""
    x = np.arange(1 << n)
    z = [1.0 - 2.0 * ((x >> i) & 1) for i in range(n)]
    d = np.zeros(1 << n)
    for i in range(n):
        d += rng.normal() * z[i]
        for j in range(i + 1, n):
            d += rng.normal() * z[i] * z[j]
    return d * scale


@pytest.mark.parametrize("n", [13, 14, 15, 16, 19, 20, 22])
def test_factored_phase_agrees_with_the_reference_kernel_to_1e_12(n):
    """``RowQuadratic``: a quadratic diagonal's phase from 10 sincos a row and three complex products an amplitude,
    every first-sweep shape (n = 13: qubit 12 per sub-block; 14: 13 across two; 15-: blocks; 19-22: L3 chunks),
    with |+>^n written (plus), a middle layer and the last one summing."""
    rng = np.random.default_rng(n + 50)
    d = ising_diagonal(n, rng, 0.05)  # max |d| 2-7, as a cost normalized by its coefficients' 2-norm
    quad = f.RowQuadratic.of(d)
    assert quad is not None and quad.residual < 1e-14 * np.abs(d).max() and quad.fits(2.0)
    gammas, betas = rng.uniform(-2, 2, 3), rng.uniform(-1.5, 1.5, 3)
    ref, _, _ = run(n, d, gammas, betas)
    re, im = f.empty_split(n)
    value, norm = sv.evolve_split(re, im, d, gammas, betas, XMixer(n).matrices, poly=True, plus=True, total=True,
                                  quad=quad)
    assert abs(value / norm - d @ np.abs(ref) ** 2) < 1e-12 * np.abs(d).max()
    re, im = f.empty_split(n)
    sv.evolve_split(re, im, d, gammas, betas, XMixer(n).matrices, poly=True, plus=True, quad=quad)
    assert np.abs(ref - (re + 1j * im)).max() < 1e-12
    plain = f.empty_split(n)
    sv.evolve_split(*plain, d, gammas, betas, XMixer(n).matrices, poly=True, plus=True)
    assert not np.array_equal(plain[0], re)  # the factored phase ran (other roundings)


def test_row_quadratic_of_a_diagonal_that_is_not_quadratic_is_none():
    rng = np.random.default_rng(4)
    n = 14
    d = ising_diagonal(n, rng)
    assert f.RowQuadratic.of(d).residual < 1e-12
    x = np.arange(1 << n)
    cubic = d + 1e-6 * (1.0 - 2.0 * (x & 1)) * (1.0 - 2.0 * ((x >> 3) & 1)) * (1.0 - 2.0 * ((x >> 11) & 1))
    assert f.RowQuadratic.of(cubic) is None  # a ZZZ term with two of its bits in a row
    assert f.RowQuadratic.of(rng.standard_normal(1 << n)) is None
    assert f.RowQuadratic.of(d[:1 << 12]) is None  # below a sub-block
    bad = d.copy()
    bad[5] = np.nan
    assert f.RowQuadratic.of(bad) is None


def test_factored_phase_beyond_its_tolerance_leaves_the_polynomial_phase():
    """|gamma| residual > QUAD_TOL: the layer computes exp(-i gamma d) by the polynomial sincos, as without it."""
    rng = np.random.default_rng(9)
    n = 16
    d = ising_diagonal(n, rng)
    quad = f.RowQuadratic.of(d)
    loose = f.RowQuadratic(quad.coef, quad.low, 1.0)  # a residual of 1: fits no gamma above QUAD_TOL
    assert quad.fits(0.5) and not loose.fits(0.5)
    t, scale = f.x_form(XMixer(n).matrices(0.3))
    a, b, c = XMixer(n).initial_split(), XMixer(n).initial_split(), XMixer(n).initial_split()
    f.x_layer(*a, d, 0.5, t, scale, True)
    f.x_layer(*b, d, 0.5, t, scale, True, quad=loose)
    f.x_layer(*c, d, 0.5, t, scale, True, quad=quad)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0]) and np.abs(a[0] - c[0]).max() < 1e-14
    with pytest.raises(ValueError, match="RowQuadratic"):
        f.x_layer(*XMixer(n + 1).initial_split(), np.zeros(1 << (n + 1)), 0.5, np.append(t, t[0]), scale, True,
                  quad=quad)


def test_engine_fast_poly_factors_the_phase_of_an_ising_cost():
    from qrp.quantum.engine_options import engine_settings
    from qrp.quantum.simulators import DiagonalCost, NumbaSimulator, PolyPhaseSimulator

    n = 15
    rng = np.random.default_rng(15)
    settings = engine_settings(reps=3, shots=None, alpha=1.0, engine="fast", noise=None)
    for d, factored in ((ising_diagonal(n, rng), True), (rng.standard_normal(1 << n), False)):
        cost = DiagonalCost(None, diagonal=d)
        poly, fast = PolyPhaseSimulator(cost, XMixer(n), settings), NumbaSimulator(cost, XMixer(n), settings)
        angles = rng.uniform(-1, 1, 6)
        assert abs(poly.objective(angles) - fast.objective(angles)) < 1e-12 * np.abs(d).max()
        assert np.abs(poly.state(angles) - fast.state(angles)).max() < 1e-12
        assert "_quadratic" in vars(poly)  # computed by the evaluation
        assert isinstance(poly._quadratic, f.RowQuadratic) is factored


@pytest.mark.parametrize("plus", [False, True])
def test_factored_phase_in_registers_agrees_with_the_row_loops(plus):
    """``_phase_mix_row`` (the phase in ``_vphase_rot6``'s registers, the row's factors by lane and by vector) and
    ``_phase_rows`` then the loop kernels (the factors by doubling over the row): one state to 1e-15."""
    rng = np.random.default_rng(12)
    re, im = rng.standard_normal((2, f.SUB))
    rows = f.SUB // f.ROW
    ang = rng.uniform(-3, 3, (2, rows * f.ROW_COEFS))
    fr, fi = np.cos(ang[0]), np.sin(ang[0])
    p = rng.uniform(-3, 3, f.ROW)
    pr, pi = np.cos(p), np.sin(p)
    t = rng.uniform(-2, 2, 13)
    out = []
    for vec in (True, False):
        x, y = re.copy(), im.copy()
        f._block_quad(x, y, fr, fi, pr, pi, np.empty(f.ROW), np.empty(f.ROW), plus, t, vec, True)
        out.append(x + 1j * y)
    scale = np.abs(out[1]).max()
    assert np.abs(out[0] - out[1]).max() < 1e-15 * scale * 16 and scale > 1
