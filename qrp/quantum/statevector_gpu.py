"""The QAOA state vector of ``qrp.quantum.statevector`` on a CUDA GPU (numba.cuda).

The same two kernels as the CPU path, one thread per amplitude (the phase exp(-i gamma d[x])) or per amplitude pair
(the 2x2 mixer exp(-i beta h_q) on qubit q), the diagonal and the state kept on the device for all layers. The
expectation sum_x |psi_x|^2 d[x] / sum_x |psi_x|^2 is reduced on the device (a grid-stride loop, a shared-memory
tree per block, one atomic add per block), so an evaluation copies 16 bytes back, not the 16 x 2^n of the state.
The initial state and (``cost_diagonal_gpu``) the cost diagonal are built on the device, so nothing of size 2^n
crosses the bus. Imported only when the GPU path runs (``statevector.qaoa_state(device=...)``,
``simulators.CudaSimulator``).
Tested against the CPU kernels under numba's CUDA simulator; not yet run on GPU hardware.
"""

from __future__ import annotations

import numpy as np
from numba import cuda, float64

from qrp.quantum.mixers import mixer_matrices

#: CUDA threads per block (a power of two: the reduction halves it).
THREADS = 256
#: Most blocks of the reduction (each thread then loops over the state with the grid's stride).
REDUCE_BLOCKS = 1024


@cuda.jit
def _phase(psi, d, gamma):  # pragma: no cover - device code
    x = cuda.grid(1)
    if x < psi.shape[0]:
        a = -gamma * d[x]
        psi[x] *= complex(np.cos(a), np.sin(a))


@cuda.jit
def _mix(psi, q, u00, u01, u10, u11):  # pragma: no cover - device code
    k = cuda.grid(1)
    if k < psi.shape[0] >> 1:
        m = 1 << q
        i = ((k >> q) << (q + 1)) | (k & (m - 1))
        j = i | m
        a = psi[i]
        b = psi[j]
        psi[i] = u00 * a + u01 * b
        psi[j] = u10 * a + u11 * b


@cuda.jit
def _expectation(psi, d, out):  # pragma: no cover - device code
    """out[0] += sum |psi_x|^2 d[x], out[1] += sum |psi_x|^2 (blockDim.x must be THREADS)."""
    acc = cuda.shared.array((2, THREADS), float64)
    tid = cuda.threadIdx.x
    x = cuda.grid(1)
    stride = cuda.gridsize(1)
    num = 0.0
    den = 0.0
    while x < psi.shape[0]:
        a = psi[x]
        w = a.real * a.real + a.imag * a.imag
        num += w * d[x]
        den += w
        x += stride
    acc[0, tid] = num
    acc[1, tid] = den
    cuda.syncthreads()
    half = THREADS // 2
    while half > 0:
        if tid < half:
            acc[0, tid] += acc[0, tid + half]
            acc[1, tid] += acc[1, tid + half]
        cuda.syncthreads()
        half //= 2
    if tid == 0:
        cuda.atomic.add(out, 0, acc[0, 0])
        cuda.atomic.add(out, 1, acc[1, 0])


@cuda.jit
def _probabilities(psi, out):  # pragma: no cover - device code
    x = cuda.grid(1)
    if x < psi.shape[0]:
        a = psi[x]
        out[x] = a.real * a.real + a.imag * a.imag


@cuda.jit
def _plus(psi, amp):  # pragma: no cover - device code
    x = cuda.grid(1)
    if x < psi.shape[0]:
        psi[x] = complex(amp, 0.0)


@cuda.jit
def _product(psi, c, s):  # pragma: no cover - device code
    """prod_q RY(theta_q)|0>: amplitude x is prod_q (s_q if bit q of x else c_q), multiplied in the host's order."""
    x = cuda.grid(1)
    if x < psi.shape[0]:
        v = 1.0
        for q in range(c.shape[0]):
            v = (s[q] if (x >> q) & 1 else c[q]) * v
        psi[x] = complex(v, 0.0)


@cuda.jit
def _zero(a):  # pragma: no cover - device code
    x = cuda.grid(1)
    if x < a.shape[0]:
        a[x] = 0.0


@cuda.jit
def _scatter(a, masks, coeffs):  # pragma: no cover - device code
    k = cuda.grid(1)
    if k < masks.shape[0]:
        cuda.atomic.add(a, masks[k], coeffs[k])


@cuda.jit
def _butterfly(a, h):  # pragma: no cover - device code
    """One pass of the Walsh-Hadamard transform: (a_i, a_{i+h}) <- (a_i + a_{i+h}, a_i - a_{i+h})."""
    k = cuda.grid(1)
    if k < a.shape[0] >> 1:
        i = (k // h) * 2 * h + k % h
        u = a[i]
        v = a[i + h]
        a[i] = u + v
        a[i + h] = u - v


def _launch(work: int) -> tuple[int, int]:
    """(blocks, threads per block) covering ``work`` threads (small blocks for small states)."""
    threads = min(THREADS, work)
    return (work + threads - 1) // threads, threads


def initial_state_gpu(num_qubits: int, thetas: np.ndarray | None = None):
    """|+>^n (``thetas`` None) or prod_q RY(theta_q)|0> built on the device (no host copy of 2^n amplitudes)."""
    size = 1 << num_qubits
    psi = cuda.device_array(size, dtype=np.complex128)
    if thetas is None:
        _plus[_launch(size)](psi, 2.0 ** (-num_qubits / 2))
    else:
        thetas = np.asarray(thetas, dtype=np.float64)
        _product[_launch(size)](psi, to_device(np.cos(thetas / 2)), to_device(np.sin(thetas / 2)))
    return psi


def cost_diagonal_gpu(masks: np.ndarray, coeffs: np.ndarray, num_qubits: int):
    """``statevector.cost_diagonal`` on the device: the coefficients scattered at their Z-masks, then n butterfly
    passes of the fast Walsh-Hadamard transform (the 2^n diagonal never exists on the host)."""
    size = 1 << num_qubits
    d = cuda.device_array(size, dtype=np.float64)
    _zero[_launch(size)](d)
    if len(masks):
        masks = cuda.to_device(np.ascontiguousarray(masks, dtype=np.int64))
        _scatter[_launch(int(masks.shape[0]))](d, masks, to_device(coeffs))
    butterfly = _butterfly[_launch(max(size // 2, 1))]
    h = 1
    while h < size:
        butterfly(d, h)
        h *= 2
    return d


def to_device(array: np.ndarray):
    """A float64 host array copied to the device."""
    return cuda.to_device(np.ascontiguousarray(array, dtype=np.float64))


def evolve_gpu(psi, d, gammas, betas, matrices):
    """The QAOA layers applied in place to the device state ``psi`` (complex128; a host array is copied to the
    device first), with the device diagonal ``d``; ``matrices(beta)``: the mixer's (n, 2, 2) per-qubit unitaries.
    Returns the device state."""
    if isinstance(psi, np.ndarray):
        psi = cuda.to_device(np.ascontiguousarray(psi, dtype=np.complex128))
    size = int(psi.shape[0])
    phase = _phase[_launch(size)]
    mix = _mix[_launch(max(size // 2, 1))]
    for gamma, beta in zip(gammas, betas, strict=True):
        phase(psi, d, float(gamma))
        for q, u in enumerate(matrices(float(beta))):
            mix(psi, q, complex(u[0, 0]), complex(u[0, 1]), complex(u[1, 0]), complex(u[1, 1]))
    return psi


@cuda.jit
def _scale(psi, factor):  # pragma: no cover - device code
    x = cuda.grid(1)
    if x < psi.shape[0]:
        psi[x] *= factor


def sweep_gpu(psi, factor: float = 1.0) -> None:
    """psi <- factor psi on the device: one read+write pass over the state (the benchmarks' bandwidth probe)."""
    _scale[_launch(int(psi.shape[0]))](psi, float(factor))


def expectation_gpu(psi, d) -> float:
    """sum_x |psi_x|^2 d[x] / sum_x |psi_x|^2 of a device state and diagonal, reduced on the device."""
    out = cuda.to_device(np.zeros(2))
    blocks = min(REDUCE_BLOCKS, (int(psi.shape[0]) + THREADS - 1) // THREADS)
    _expectation[blocks, THREADS](psi, d, out)
    num, den = out.copy_to_host()
    return float(num / den)


def probabilities_gpu(psi) -> np.ndarray:
    """|psi_x|^2 of a device state, computed on the device and copied back (float64, 8 bytes per amplitude)."""
    out = cuda.device_array(int(psi.shape[0]), dtype=np.float64)
    _probabilities[_launch(int(psi.shape[0]))](psi, out)
    return out.copy_to_host()


def qaoa_state_gpu(
    diagonal: np.ndarray, gammas: np.ndarray, betas: np.ndarray, thetas: np.ndarray | None = None
) -> np.ndarray:
    """``statevector.qaoa_state`` computed on the GPU (same layers, same result to rounding), complex128."""
    n = int(diagonal.shape[0]).bit_length() - 1
    psi = evolve_gpu(initial_state_gpu(n, thetas), to_device(diagonal), gammas, betas,
                     lambda beta: mixer_matrices(beta, n, thetas))
    return psi.copy_to_host()
