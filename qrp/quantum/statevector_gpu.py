"""The QAOA state vector of ``qrp.quantum.statevector`` on a CUDA GPU (numba.cuda).

The same two kernels as the CPU path, one thread per amplitude (the phase exp(-i gamma d[x])) or per amplitude pair
(the 2x2 mixer exp(-i beta h_q) on qubit q), the diagonal and the state kept on the device for all layers and the
state copied back once. Imported only when the GPU path runs (``statevector.qaoa_state(device=...)``). Tested
against the CPU kernels under numba's CUDA simulator; not yet run on GPU hardware.
"""

from __future__ import annotations

import numpy as np
from numba import cuda

from qrp.quantum.statevector import initial_state, mixer_matrices

#: CUDA threads per block.
THREADS = 256


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


def _launch(work: int) -> tuple[int, int]:
    """(blocks, threads per block) covering ``work`` threads (small blocks for small states)."""
    threads = min(THREADS, work)
    return (work + threads - 1) // threads, threads


def qaoa_state_gpu(
    diagonal: np.ndarray, gammas: np.ndarray, betas: np.ndarray, thetas: np.ndarray | None = None
) -> np.ndarray:
    """``statevector.qaoa_state`` computed on the GPU (same layers, same result to rounding), complex128."""
    size = int(diagonal.shape[0])
    n = size.bit_length() - 1
    psi = cuda.to_device(initial_state(n, thetas))
    d = cuda.to_device(np.ascontiguousarray(diagonal, dtype=np.float64))
    phase = _phase[_launch(size)]
    mix = _mix[_launch(max(size // 2, 1))]
    for gamma, beta in zip(gammas, betas, strict=True):
        phase(psi, d, float(gamma))
        for q, u in enumerate(mixer_matrices(float(beta), n, thetas)):
            mix(psi, q, complex(u[0, 0]), complex(u[0, 1]), complex(u[1, 0]), complex(u[1, 1]))
    return psi.copy_to_host()
