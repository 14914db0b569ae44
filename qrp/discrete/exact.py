"""Exact minimum of a discrete ERC problem by vectorized, chunked enumeration (solver "exact").

The ground truth that separates discretization error from solver error. All 2^n assignments are visited in blocks:
the variables are split into a low group (the first n_lo, enumerated once as a (2^n_lo, n_lo) bit table) and a
high group (enumerated one assignment per block). Because the encoding is linear, v = lo + A_lo x_lo + A_hi x_hi,
so a block's values are the low table's values (one small matrix product, computed once) plus one (N,) vector, and
its energies are ``problem``'s vectorized objective of those values: O(2^n N^2) flops in all, memory bounded by the
block (about ``BLOCK_ELEMENTS`` floats), whatever n is. n is limited to ``MAX_EXACT_QUBITS`` (time, not memory).
"""

from __future__ import annotations

import numpy as np

from qrp.core.result import SolverOutput
from qrp.core.validation import positive_int
from qrp.discrete.problem import DEFAULT_LOG_FIT, DEFAULT_RADIUS
from qrp.discrete.refine import DEFAULT_SHRINK, SampleResult, refine

#: Default largest number of binary variables enumerated (2^26 = 67M states).
MAX_EXACT_QUBITS = 26
#: Target size of one block of values, in floats (2^21 floats = 16 MiB).
BLOCK_ELEMENTS = 2**21
#: Energies within DEGENERACY_RTOL * max(|E_min|, energy spread of the first block) of the minimum count as minima.
DEGENERACY_RTOL = 1e-10


def _bit_table(m: int) -> np.ndarray:
    """(2^m, m) table of all assignments, row r = binary digits of r (bit j = variable j)."""
    return ((np.arange(2**m)[:, None] >> np.arange(m)[None, :]) & 1).astype(np.float64)


def check_size(num_qubits: int, max_qubits: int) -> None:
    """``ValueError`` when 2^num_qubits states exceed the enumeration limit (raised before any allocation)."""
    if num_qubits > max_qubits:
        raise ValueError(
            f"exact enumeration of n = {num_qubits} binary variables visits 2^{num_qubits} = {2**num_qubits:.3g} "
            f"states, over the limit max_qubits = {max_qubits} (a table of all their energies would need "
            f"{2**num_qubits * 8 / 2**30:.3g} GiB); use fewer assets or bits, or solver='sa'"
        )


def exact_minimum(problem, *, max_qubits: int = MAX_EXACT_QUBITS) -> tuple[np.ndarray, float, int, float]:
    """(sample, energy, degeneracy, tolerance): a minimizer of ``problem.energy`` over {0,1}^n, its energy, the
    number of assignments within ``tolerance`` of the minimum, and that tolerance (on energies relative to
    ``problem.energy_offset``, which are compared without cancellation)."""
    n = problem.num_qubits
    max_qubits = positive_int(max_qubits, "max_qubits")
    check_size(n, max_qubits)
    n_lo = int(min(n, max(1, np.log2(max(BLOCK_ELEMENTS // problem.n_assets, 2)))))
    n_hi = n - n_lo
    amat = np.zeros((n, problem.n_assets))
    amat[np.arange(n), problem.asset_of] = problem.bit_values
    lo_bits = _bit_table(n_lo)
    v_lo = problem.box[0] + lo_bits @ amat[:n_lo]
    best_e, best_idx, count, atol = np.inf, (0, 0), 0, None
    for block in range(2**n_hi):
        hi_bits = (block >> np.arange(n_hi)) & 1
        e = problem._relative(v_lo + hi_bits @ amat[n_lo:])
        j = int(np.argmin(e))
        ej = float(e[j])
        if atol is None:
            atol = DEGENERACY_RTOL * max(abs(ej), float(e.max() - ej), np.finfo(float).tiny)
        if ej < best_e - atol:
            best_e, best_idx = ej, (block, j)
            count = int(np.count_nonzero(e <= ej + atol))
        elif ej <= best_e + atol:
            count += int(np.count_nonzero(e <= best_e + atol))
    block, j = best_idx
    sample = np.concatenate([lo_bits[j].astype(np.int64), (block >> np.arange(n_hi)) & 1]).astype(np.int64)
    return sample, problem.energy(sample), count, float(atol)


def exact_sampler(*, max_qubits: int = MAX_EXACT_QUBITS):
    """A ``qrp.refine`` sample solver returning the exact minimum (deterministic: seed and state are ignored)."""

    def sample_solver(problem, *, seed, state) -> SampleResult:
        sample, energy, degeneracy, atol = exact_minimum(problem, max_qubits=max_qubits)
        stats = {"degeneracy": degeneracy, "degeneracy_atol": atol, "states": 2**problem.num_qubits}
        return SampleResult(sample, energy, stats, None)

    return sample_solver


def solve_exact(
    cov,
    budgets,
    *,
    tol,
    max_iter,
    seed=None,
    bits: int = 2,
    formulation: str = "log_barrier",
    rounds: int | None = None,
    box=None,
    shrink: float = DEFAULT_SHRINK,
    radius: float = DEFAULT_RADIUS,
    log_fit: str = DEFAULT_LOG_FIT,
    penalty: float = 1.0,
    max_qubits: int = MAX_EXACT_QUBITS,
) -> SolverOutput:
    """Registry solver "exact": exact ground state of each round's discrete problem, refined over ``rounds``
    (default ``max_iter``, whose registry default is 1: one-shot, exactly ``qrp.discretize``'s problem).
    ``seed`` is ignored. Refuses N * bits > ``max_qubits`` before any work."""
    max_qubits = positive_int(max_qubits, "max_qubits")
    check_size(cov.shape[0] * positive_int(bits, "bits"), max_qubits)
    return refine(
        cov, budgets, bits=bits, formulation=formulation, rounds=max_iter if rounds is None else rounds, tol=tol,
        seed=seed, sample_solver=exact_sampler(max_qubits=max_qubits), box=box, shrink=shrink, radius=radius,
        log_fit=log_fit, penalty=penalty,
    )
