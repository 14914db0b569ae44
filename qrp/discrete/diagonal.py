"""Ground truth past enumeration: the minimum of a discrete problem and its degeneracy from its cost diagonal.

The exact QAOA engine already holds the cost diagonal d[x] = <x|H|x> of the problem's Ising form
(``problem.to_ising()``: energy(x) = offset + <x|H|x>, H = sum_m c_m Z^m with no identity term), so the ground state
and its degeneracy can be read off that diagonal (argmin, ties counted) instead of by a separate enumeration. Here
the diagonal is formed in chunks of 2^k states (k = ``chunk_qubits``): with x = (x_lo, x_hi), x_lo the first k
qubits and m = (m_lo, m_hi),

    d[x] = sum_m c_m (-1)^popcount(x_hi & m_hi) (-1)^popcount(x_lo & m_lo),

so for each high assignment x_hi the 2^k energies of the chunk are the diagonal of the k-qubit Z-operator with
masks m_lo and coefficients c_m (-1)^popcount(x_hi & m_hi) (terms with m_lo = 0 add a constant), computed by the
quantum layer's ``masks_diagonal`` (one fast Walsh-Hadamard transform, O(k 2^k)). Memory is O(2^k) whatever n; time
O(n 2^n) in all.

Ties: the states within ``tolerance`` = ``DEGENERACY_RTOL`` x sum_m |c_m| of the minimum are counted (sum |c_m|
bounds |d| and hence the transform's rounding error, n eps sum |c_m|). Every state within the tolerance of the global
minimum E* is within it of its own chunk's minimum (E* <= chunk minimum), so each chunk keeps only its values within
the tolerance of its own minimum, and the count is exact, not a running approximation.

``reference_minimum`` picks enumeration (``qrp.discrete.exact.exact_minimum``, meet in the middle) for
n <= ``MAX_EXACT_QUBITS`` and this diagonal beyond; the two agree on small n (tested).
"""

from __future__ import annotations

import numpy as np

from qrp.core.validation import positive_int
from qrp.discrete.exact import DEGENERACY_RTOL, MAX_EXACT_QUBITS, exact_minimum
from qrp.quantum.statevector import masks_diagonal, z_masks

#: Default chunk: 2^22 states (32 MiB of float64 per chunk).
CHUNK_QUBITS = 22


def diagonal_minimum(problem, *, chunk_qubits: int = CHUNK_QUBITS) -> tuple[np.ndarray, float, int, float]:
    """(sample, energy, degeneracy, tolerance) of ``problem`` from its cost diagonal in chunks of 2^chunk_qubits
    states (module docstring): a minimizer over {0,1}^n, ``problem.energy`` of it, the number of states within
    ``tolerance`` of the minimum, and that tolerance (on diagonal values, i.e. energies relative to the Ising offset).
    Same contract as ``exact_minimum``, with no qubit limit but time; ``MemoryError`` is avoided by chunking."""
    chunk_qubits = positive_int(chunk_qubits, "chunk_qubits")
    n = problem.num_qubits
    op, _ = problem.to_ising()
    masks, coeffs = z_masks(op)
    tolerance = DEGENERACY_RTOL * max(float(np.abs(coeffs).sum()), np.finfo(float).tiny)
    k = min(n, chunk_qubits)
    low, high = masks & ((1 << k) - 1), masks >> k
    keep = low != 0  # terms with Z on a low qubit; the others add a constant per chunk
    low_masks = low[keep]
    mins, near, where = [], [], []  # per chunk: its minimum, its values within tolerance of it, its argmin
    for t in range(1 << (n - k)):
        c = coeffs * (1.0 - 2.0 * (np.bitwise_count(high & t) & 1))
        const = float(c[~keep].sum())
        d = masks_diagonal(low_masks, c[keep], k, const) if len(low_masks) else np.full(1 << k, const)
        j = int(np.argmin(d))
        mins.append(d[j])
        near.append(d[d <= d[j] + tolerance])  # boolean indexing copies
        where.append((t << k) | j)
    best = int(np.argmin(mins))
    e_min = mins[best]
    degeneracy = int(sum(int(np.count_nonzero(v <= e_min + tolerance)) for v in near))
    sample = ((where[best] >> np.arange(n)) & 1).astype(np.int64)
    return sample, problem.energy(sample), degeneracy, tolerance


def reference_minimum(problem, *, max_exact_qubits: int = MAX_EXACT_QUBITS,
                      chunk_qubits: int = CHUNK_QUBITS) -> tuple[np.ndarray, float, int, float, str]:
    """(sample, energy, degeneracy, tolerance, method): enumeration (``exact_minimum``, method "enumeration") for
    n <= ``max_exact_qubits``, the chunked cost diagonal (``diagonal_minimum``, method "diagonal") above it."""
    if problem.num_qubits <= positive_int(max_exact_qubits, "max_exact_qubits"):
        return (*exact_minimum(problem, max_qubits=max_exact_qubits), "enumeration")
    return (*diagonal_minimum(problem, chunk_qubits=chunk_qubits), "diagonal")


__all__ = ["CHUNK_QUBITS", "diagonal_minimum", "reference_minimum"]
