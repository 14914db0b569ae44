"""Fast exact QAOA state vectors for diagonal (Z-only) cost Hamiltonians.

For a cost H_C = sum_m c_m Z^m (Z^m = prod_{i in m} Z_i, every term a product of Z's, any degree) the Hamiltonian is
diagonal in the computational basis, with diagonal

    d[x] = sum_m c_m (-1)^{popcount(x & m)}        (x, m: n-bit integers, qubit i = bit i of x, little-endian),

i.e. d is the Walsh-Hadamard transform of the coefficient vector indexed by the Z-mask m. It is computed once per
problem in O(n 2^n) by the in-place fast Walsh-Hadamard transform, whatever the number of terms (a 20-qubit
degree-4 polynomial with thousands of terms costs the same as a 20-qubit QUBO). A QAOA layer is then

    psi <- exp(-i beta_l B) exp(-i gamma_l diag(d)) psi,

a phase on every amplitude and, for each qubit, a 2x2 unitary on amplitude pairs for the mixer, as in QOKit
(Lykov et al. 2023, "Fast simulation of high-depth QAOA circuits"). The mixer per qubit is exp(-i beta h_i) with
h_i = X (standard QAOA) or h_i = cos(theta_i) Z + sin(theta_i) X, whose +1 eigenstate RY(theta_i)|0> is the
warm-start initial state (Egger, Marecek & Woerner 2021; theta_i = pi/2 gives X and |+>). The layers run on a split
state (real and imaginary float64 arrays) in 1 + ceil((n - 13) / 6) cache-blocked sweeps each, with a vectorized
polynomial sincos for the phase (``qrp.quantum.kernels``; checked against the previous complex kernel to 1e-12);
with that phase and an X mixer, the rotations in tan form, three qubits at a time in registers
(``qrp.quantum.fused``, to 1e-12 as well).

Memory: 16 bytes per amplitude (complex128) plus 8 per diagonal entry: 24 * 2^n bytes (384 MiB at n = 24); a whole
optimization peaks at about 41-47 bytes per amplitude (measured), which the memory guard assumes
(``BYTES_PER_AMPLITUDE``).
Everything is checked against qiskit-aer in tests/discrete/test_qaoa.py to 1e-10.

GPU path: the same two kernels (phase, then one 2x2 mixer pass per qubit) ported to ``numba.cuda``, one thread per
amplitude (phase) or amplitude pair (mixer), the diagonal and the state kept on the device for all layers.
``qaoa_state(device="auto")`` uses it when numba finds a CUDA GPU and n >= ``GPU_MIN_QUBITS`` (``QRP_GPU=0``
turns it off). It is tested for equality with the CPU kernels under numba's CUDA simulator
(``NUMBA_ENABLE_CUDASIM=1``, tests/quantum/test_statevector_gpu.py); it has not been run on GPU hardware.
"""

from __future__ import annotations

import functools
import os

import numba
import numpy as np

from qrp.quantum.fused import expectation, x_form, x_layer
from qrp.quantum.kernels import (
    PHASE_POLY_LIMIT,
    diagonal_inner,
    mixer_imag,
    phase_layer,
    real_matrices,
    split_layer,
)
from qrp.quantum.mixers import initial_state, mixer_matrices

#: Bytes per basis state the memory guard assumes for the fast path. The arrays are a complex128 state, float64
#: diagonal and probabilities (32 B), but the measured peak of a whole optimization with its readout is higher:
#: tracemalloc peak 47.0 / 42.6 / 41.4 B per amplitude at n = 16 / 18 / 20 (``python -m benchmarks.reliability
#: memory``, benchmarks/results/reliability_memory.json); 48 covers every measured size.
BYTES_PER_AMPLITUDE = 48


def memory_needed(num_qubits: int) -> int:
    """Bytes the fast exact path allocates for ``num_qubits`` qubits (state, diagonal, probabilities)."""
    return BYTES_PER_AMPLITUDE * (1 << num_qubits)


def z_masks(op) -> tuple[np.ndarray, np.ndarray]:
    """Integer Z-masks (bit i set when the term has Z on qubit i) and real coefficients of a diagonal
    ``SparsePauliOp``; ``ValueError`` if a term has an X or Y or a coefficient is not real."""
    z, x = op.paulis.z, op.paulis.x
    if x.any():
        k = int(np.argmax(x.any(axis=1)))
        raise ValueError(f"cost operator must contain only I and Z terms; term {k} is {op.paulis[k].to_label()}")
    coeffs = np.asarray(op.coeffs)
    if np.abs(coeffs.imag).max(initial=0.0) > 1e-12 * max(np.abs(coeffs).max(initial=0.0), 1.0):
        raise ValueError("cost operator coefficients must be real")
    weights = np.left_shift(np.int64(1), np.arange(op.num_qubits, dtype=np.int64))
    masks = (z.astype(np.int64) * weights).sum(axis=1) if z.size else np.zeros(len(coeffs), np.int64)
    return masks, np.ascontiguousarray(coeffs.real, dtype=np.float64)


# Hand-written (numba) because the in-place butterfly needs no temporaries; numpy reshapes copy 2^n per pass.
@numba.njit(cache=True, nogil=True)
def _fwht(a):  # pragma: no cover - compiled
    n = a.shape[0]
    h = 1
    while h < n:
        for start in range(0, n, 2 * h):
            for i in range(start, start + h):
                u = a[i]
                v = a[i + h]
                a[i] = u + v
                a[i + h] = u - v
        h *= 2


def cost_diagonal(op, offset: float = 0.0) -> np.ndarray:
    """The 2^n diagonal d[x] = offset + sum_m c_m (-1)^popcount(x & m) of a Z-only ``SparsePauliOp`` (float64),
    by one fast Walsh-Hadamard transform of the coefficients (O(n 2^n))."""
    masks, coeffs = z_masks(op)
    return masks_diagonal(masks, coeffs, op.num_qubits, offset)


def masks_diagonal(masks: np.ndarray, coeffs: np.ndarray, num_qubits: int, offset: float = 0.0) -> np.ndarray:
    """``cost_diagonal`` from the operator's Z-masks and real coefficients (``z_masks``): the coefficients scattered
    at their masks (repeats summed), one in-place fast Walsh-Hadamard transform, then ``offset`` added."""
    d = np.zeros(1 << num_qubits, dtype=np.float64)
    np.add.at(d, masks, coeffs)
    _fwht(d)
    d += offset
    return d


def sample_energies(masks: np.ndarray, coeffs: np.ndarray, offset: float, states: np.ndarray) -> np.ndarray:
    """Energies of basis states given as integers (qubit i = bit i): offset + sum_m c_m (-1)^popcount(x & m)."""
    parity = np.bitwise_count(np.bitwise_and(states[:, None], masks[None, :])) & 1
    return offset + (1.0 - 2.0 * parity) @ coeffs


#: Smallest n for which ``device="auto"`` uses the GPU (below it launches and transfers cost more than the work).
GPU_MIN_QUBITS = 16
DEVICES = ("auto", "cpu", "gpu")


@functools.cache
def gpu_available() -> bool:
    """True when numba finds a usable CUDA GPU (or its simulator, ``NUMBA_ENABLE_CUDASIM=1``) and ``QRP_GPU`` is
    not "0"."""
    if os.environ.get("QRP_GPU", "1") == "0":
        return False
    try:
        from numba import cuda  # optional: importing numba.cuda costs start-up time; only the GPU path needs it
    except ImportError:  # pragma: no cover - numba without its CUDA module
        return False
    return bool(cuda.is_available())


def qaoa_state(
    diagonal: np.ndarray, gammas: np.ndarray, betas: np.ndarray, thetas: np.ndarray | None = None, *,
    device: str = "auto",
) -> np.ndarray:
    """The QAOA state prod_l [exp(-i beta_l B) exp(-i gamma_l diag(d))] |psi_0> (complex128, length 2^n).

    ``thetas`` None: |psi_0> = |+>^n and B = sum_q X_q. Else the warm start of Egger et al.:
    |psi_0> = prod_q RY(theta_q)|0> and B = sum_q (cos theta_q Z_q + sin theta_q X_q).
    ``device``: "cpu" (numba kernels), "gpu" (``qrp.quantum.statevector_gpu``; ``ValueError`` without a GPU) or
    "auto" (the GPU when ``gpu_available()`` and n >= ``GPU_MIN_QUBITS``).
    """
    if device not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, got {device!r}")
    n = int(diagonal.shape[0]).bit_length() - 1
    if device == "gpu" and not gpu_available():
        raise ValueError("device='gpu' but numba finds no CUDA GPU (or QRP_GPU=0)")
    if device == "gpu" or (device == "auto" and n >= GPU_MIN_QUBITS and gpu_available()):
        from qrp.quantum.statevector_gpu import qaoa_state_gpu  # optional: it imports numba.cuda (see gpu_available)

        return qaoa_state_gpu(diagonal, gammas, betas, thetas)
    return evolve(initial_state(n, thetas), diagonal, gammas, betas,
                  lambda beta: np.ascontiguousarray(mixer_matrices(beta, n, thetas), dtype=np.complex128))


def evolve(psi: np.ndarray, diagonal: np.ndarray, gammas, betas, matrices) -> np.ndarray:
    """Apply the QAOA layers exp(-i beta_l B) exp(-i gamma_l diag(d)) to ``psi`` in place (CPU kernels) and return
    it; ``matrices(beta)``: the mixer's (n, 2, 2) complex128 per-qubit unitaries exp(-i beta h_q)."""
    re, im = np.ascontiguousarray(psi.real), np.ascontiguousarray(psi.imag)  # copies: psi is interleaved
    evolve_split(re, im, diagonal, gammas, betas, matrices)
    psi.real, psi.imag = re, im
    return psi


def evolve_split(re: np.ndarray, im: np.ndarray, diagonal: np.ndarray, gammas, betas, matrices, *,
                 poly: bool = False, max_abs_diagonal: float | None = None, plus: bool = False,
                 total: bool = False, quad=None) -> tuple[float, float] | None:
    """``evolve`` on a split state re + i im (float64, C-contiguous, in place): ``kernels.split_layer`` per layer,
    the reference kernel's result to the bit. ``poly``: the phase by the vectorized polynomial sincos while
    |gamma| max |d| < ``kernels.PHASE_POLY_LIMIT``, and then for an X mixer (``fused.x_form``) the fused layer
    ``fused.x_layer`` (agrees to 1e-12, not to the bit; ``max_abs_diagonal``: max |d| when known, else one pass
    finds it). ``plus``: re and im are not read, the state being |+>^n (re = 2^(-n/2), im = 0): the first fused
    layer writes them without reading (``fused.empty_split``); otherwise they are filled first. ``total``: return
    (sum_x d[x] |psi_x|^2, sum_x |psi_x|^2) of the final state (``fused.expectation``), the last sweep of a last
    fused layer summing instead of writing (``fused.x_layer(total=True)``): re and im are then left unspecified.
    ``quad``: the diagonal's ``fused.RowQuadratic``, for the fused layer's factored phase (no sincos an amplitude)
    at every gamma within its tolerance."""
    size = re.shape[0]  # the kernels index without bounds checks
    if not (re.ndim == 1 and re.shape == im.shape == diagonal.shape and size > 0 and size & (size - 1) == 0):
        raise ValueError(f"evolve_split needs re, im and diagonal of one length 2^n, got {re.shape}, {im.shape}, "
                         f"{diagonal.shape}")
    if poly and max_abs_diagonal is None:
        max_abs_diagonal = float(np.abs(diagonal).max(initial=0.0))
    last = len(gammas) - 1
    for layer, (gamma, beta) in enumerate(zip(gammas, betas, strict=True)):
        u = matrices(float(beta))
        if 1 << len(u) != size:
            raise ValueError(f"evolve_split: the mixer acts on {len(u)} qubits, the state has {size} amplitudes")
        fast = poly and abs(float(gamma)) * max_abs_diagonal < PHASE_POLY_LIMIT
        form = x_form(u) if fast else None  # X mixer: the fused tan-form layer (qrp.quantum.fused)
        if plus and form is None:
            _fill_plus(re, im)
        if form is not None:
            if total and layer == last:
                return x_layer(re, im, diagonal, float(gamma), form[0], form[1], True, plus, total=True, quad=quad)
            x_layer(re, im, diagonal, float(gamma), form[0], form[1], True, plus, quad=quad)
        else:
            split_layer(re, im, diagonal, float(gamma), real_matrices(u), fast)
        plus = False
    if plus:  # no layer
        _fill_plus(re, im)
    return expectation(re, im, diagonal) if total else None


def _fill_plus(re: np.ndarray, im: np.ndarray) -> None:
    """(re, im) <- |+>^n: every amplitude 2^(-n/2), n = log2(len(re))."""
    re.fill(2.0 ** (-(re.shape[0].bit_length() - 1) / 2))
    im.fill(0.0)


def expectation_gradient(diagonal: np.ndarray, gammas, betas, mixer) -> tuple[float, np.ndarray]:
    """(<d>, its gradient with respect to [gammas, betas]) of the QAOA state, by the adjoint method: one forward
    evolution, lambda = diag(d) psi, then layer by layer backwards dF/dbeta_l = 2 Im <lambda|B|psi>, undo the
    mixer on psi and lambda, dF/dgamma_l = 2 Im <lambda|diag(d)|psi>, undo the phase (F = <psi|D|psi>, dU/dt =
    -i G U for U = exp(-i t G); Jones & Gacon 2020, "Efficient calculation of gradients in classical simulations of
    variational quantum algorithms", arXiv:2009.02823). ``mixer``: a ``qrp.quantum.mixers.Mixer`` giving its
    ``hamiltonians()``. Cost: about three evolutions plus n pair passes a layer."""
    gammas, betas = np.asarray(gammas, dtype=np.float64), np.asarray(betas, dtype=np.float64)
    p = gammas.shape[0]
    h = real_matrices(mixer.hamiltonians())
    re, im = mixer.initial_split()
    evolve_split(re, im, diagonal, gammas, betas, mixer.matrices)
    lre, lim = diagonal * re, diagonal * im  # 32 bytes per amplitude with the state; no other 2^n temporaries
    value, norm = diagonal_inner(lre, lim, re, im, diagonal)[1:]
    grad = np.empty(2 * p)
    for layer in range(p - 1, -1, -1):
        grad[p + layer] = 2.0 * mixer_imag(lre, lim, re, im, h)
        undo = real_matrices(mixer.matrices(-float(betas[layer])))
        for x, y in ((re, im), (lre, lim)):
            split_layer(x, y, diagonal, 0.0, undo, False, False)
        grad[layer] = 2.0 * diagonal_inner(lre, lim, re, im, diagonal)[0]
        for x, y in ((re, im), (lre, lim)):
            phase_layer(x, y, diagonal, -float(gammas[layer]))
    return value / norm, grad


def probabilities(psi: np.ndarray) -> np.ndarray:
    """|psi_x|^2 (float64)."""
    return psi.real**2 + psi.imag**2


def cvar(values: np.ndarray, probs: np.ndarray, alpha: float, order: np.ndarray | None = None) -> float:
    """Conditional value at risk CVaR_alpha: the mean of the lowest alpha-fraction of the distribution
    (Barkoutsos et al. 2020, Quantum 4, 256), the boundary atom counted fractionally; alpha = 1 is the mean.

    ``values``: outcomes; ``probs``: their probabilities (or counts), summing to a positive total;
    ``order``: argsort of ``values`` when precomputed.
    """
    if alpha >= 1.0:
        return float(values @ probs / probs.sum())
    if order is None:
        order = np.argsort(values, kind="stable")
    p = probs[order] / probs.sum()
    v = values[order]
    cum = np.cumsum(p)
    k = int(np.searchsorted(cum, alpha))
    k = min(k, len(v) - 1)
    below = cum[k - 1] if k > 0 else 0.0
    return float((v[:k] @ p[:k] + (alpha - below) * v[k]) / alpha)
