"""qrp.quantum.kernels: the split, cache-blocked QAOA layer against the previous complex kernel (to the bit with the
libm phase, to 1e-12 with the polynomial sincos), at every size from 1 to 20 qubits (both group-pass shapes)."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit.quantum_info import SparsePauliOp

from qrp.quantum import kernels as k
from qrp.quantum.mixers import initial_state, mixer_matrices
from qrp.quantum.qaoa import QAOA


def layers(n, thetas, d, gammas, betas, poly):
    """(reference state, split state) after the layers."""
    ref = initial_state(n, thetas)
    psi = initial_state(n, thetas)
    re, im = np.ascontiguousarray(psi.real), np.ascontiguousarray(psi.imag)
    for g, b in zip(gammas, betas, strict=True):
        u = np.ascontiguousarray(mixer_matrices(b, n, thetas), dtype=np.complex128)
        k.reference_layer(ref, d, g, u, k.BLOCK_QUBITS)
        k.split_layer(re, im, d, g, k.real_matrices(u), poly)
    return ref, re, im


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 11, 12, 13, 14, 16, 19, 20])
@pytest.mark.parametrize("warm", [False, True])
def test_split_layer_equals_the_reference_kernel(n, warm):
    rng = np.random.default_rng(n + 100 * warm)
    thetas = rng.uniform(0.2, 2.9, n) if warm else None
    d = rng.standard_normal(1 << n) * 3
    gammas, betas = rng.uniform(-2, 2, 2), rng.uniform(-1.5, 1.5, 2)
    ref, re, im = layers(n, thetas, d, gammas, betas, poly=False)
    assert np.array_equal(ref.real, re) and np.array_equal(ref.imag, im)  # libm phase: to the bit
    ref, re, im = layers(n, thetas, d, gammas, betas, poly=True)
    assert np.abs(ref - (re + 1j * im)).max() < 1e-12
    assert abs(np.sum(re * re + im * im) - 1) < 1e-12


def test_polynomial_sincos_is_within_an_ulp_of_libm_over_the_whole_range():
    rng = np.random.default_rng(0)
    d = np.concatenate([rng.uniform(-1e5, 1e5, 1 << 15), rng.uniform(-4, 4, 1 << 15),
                        np.arange(-8, 9) * np.pi / 4, [0.0, -0.0, 1e-300]])
    d = np.resize(d, 1 << 16)
    eye = k.real_matrices(np.broadcast_to(np.eye(2, dtype=np.complex128), (16, 2, 2)))
    re, im = np.ones(1 << 16), np.zeros(1 << 16)
    k.split_layer(re, im, d, 1.0, eye, True)
    assert np.abs(re - np.cos(-d)).max() < 5e-16 and np.abs(im - np.sin(-d)).max() < 5e-16


def test_sweeps_per_layer():
    assert [k.sweeps(n) for n in (4, 13, 14, 19, 20, 24, 25, 26, 28, 30)] == [1, 1, 2, 2, 3, 3, 3, 4, 4, 4]


def test_poly_engine_agrees_with_fast_to_1e_12_and_large_angles_fall_back_to_libm():
    rng = np.random.default_rng(4)
    n = 9
    terms = [("Z", [i], rng.normal()) for i in range(n)]
    terms += [("ZZ", [i, j], rng.normal()) for i in range(n) for j in range(i + 1, n)]
    op = SparsePauliOp.from_sparse_list(terms, n)
    fast, poly = QAOA(op, 1.0, reps=3, engine="fast"), QAOA(op, 1.0, reps=3, engine="fast_poly")
    assert poly.engine == "fast_poly"
    for angles in (rng.uniform(-1, 1, 6), np.array([3e6, 0.1, -0.2, 0.3, 0.4, 0.5])):
        assert abs(fast.objective(angles) - poly.objective(angles)) < 1e-12
    big = np.array([3e6, 2e6, -4e6, 0.3, 0.4, 0.5])  # |gamma| max|d| >= PHASE_POLY_LIMIT in every layer: libm
    np.testing.assert_array_equal(fast.state(big), poly.state(big))


def test_cis_poly_scaled_is_cis_poly_times_scale_to_the_bit():
    import numba

    from qrp.quantum.kernels import cis_poly, cis_poly_scaled

    @numba.njit
    def both(a, scale):
        out = np.empty((a.shape[0], 4))
        for i in range(a.shape[0]):
            c, s = cis_poly(a[i])
            out[i, 0], out[i, 1] = c * scale, s * scale
            out[i, 2], out[i, 3] = cis_poly_scaled(a[i], scale)
        return out

    rng = np.random.default_rng(4)
    a = np.concatenate([rng.uniform(-20, 20, 4000), rng.uniform(-9e5, 9e5, 1000), np.arange(-8, 9) * np.pi / 4])
    for scale in (1.0, 0.37, 2.0**-14):
        out = both(a, scale)
        assert np.array_equal(out[:, :2], out[:, 2:])
        np.testing.assert_allclose(out[:, 2] + 1j * out[:, 3], scale * np.exp(1j * a), rtol=0, atol=1e-15 * scale)
