"""Exact minimum of a discrete ERC problem by meet-in-the-middle enumeration (solver "exact").

The ground truth that separates discretization error from solver error. The n variables are split into a low group
(the first n_lo, about n/2) and a high group; tables that depend on one group only are computed once (O(2^(n/2))
memory), and a compiled kernel streams the 2^n states high assignment by high assignment, keeping the running
minimum and the number of states within the degeneracy tolerance of it. n is limited to ``MAX_EXACT_QUBITS`` (time,
not memory). Measured rates: ``python -m benchmarks.all`` (row "exact enumeration").

``log_barrier`` (a QUBO: E(x) = h'x + x'Qx relative to ``energy_offset``, Q strictly upper triangular). With
x = (x_lo, x_hi),

    E(x) = E_lo(x_lo) + E_hi(x_hi) + x_lo' f(x_hi),        f(x_hi) = Q_lh x_hi,

so the tables E_lo (2^n_lo), E_hi (2^n_hi) and f (2^n_hi, n_lo) are computed once, and for each x_hi the 2^n_lo
products x_lo' f are a subset-sum table built by doubling (s[r + 2^j] = s[r] + f_j): about two additions per state.

``pairwise`` (degree 4: P = 2N sum_i (u_i - mean u)^2 + lambda (sum v - 1)^2, u = v * (S v) / (N b)). The split is
at an asset boundary (L: the first assets, H: the rest), so S v = S_.L v_L + S_.H v_H: the products v_L S_L. (per
low state) and v_H S_H. (per high state) are computed once, and for each x_hi the u of all low states are formed in
O(N) per state and centred before squaring, exactly as ``DiscreteProblem.energy`` does (no cancellation near P = 0).

Degeneracy: the states within ``tolerance`` = DEGENERACY_RTOL * max(|E_0|, spread of the column, term scale, tiny)
of the running minimum are counted, where the column is the 2^n_lo energies whose high bits are 0, E_0 its minimum
and the term scale sum|h| + sum|Q| (log_barrier; 0 for pairwise), which bounds the energies' rounding error.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from qrp.core.options import int_option
from qrp.core.result import Resources
from qrp.core.validation import positive_int
from qrp.discrete.options import solver_table
from qrp.discrete.plan import check_qubit_limit
from qrp.discrete.refine import SampleResult

#: Default largest number of binary variables enumerated (2^26 = 67M states).
MAX_EXACT_QUBITS = 26
#: Largest low-group table, in floats: 2^n_lo <= BLOCK_ELEMENTS (tests shrink it to exercise the loops).
BLOCK_ELEMENTS = 2**21
#: Relative degeneracy tolerance (module docstring).
DEGENERACY_RTOL = 1e-10
#: Binary states per block when tied minima are listed (``_tied_levels``).
TIE_BLOCK = 2**14


def _bit_table(m: int) -> np.ndarray:
    """(2^m, m) table of all assignments, row r = binary digits of r (bit j = variable j)."""
    return ((np.arange(2**m)[:, None] >> np.arange(m)[None, :]) & 1).astype(np.float64)


# Hand-written (numba) because a numpy block costs several passes over memory per state; this streams every state
# once from two cache-resident tables, keeping the running minimum and the degeneracy count.
@numba.njit(cache=True, nogil=True)
def _scan_qubo(e_lo, e_hi, fields, rtol, scale):  # pragma: no cover - compiled
    """Minimum over (r, t) of e_lo[r] + e_hi[t] + sum_j bit_j(r) fields[t, j]: (min, r, t, count, atol)."""
    size, n_lo = e_lo.shape[0], fields.shape[1]
    s = np.zeros(size)  # s[r] = x_lo(r) . fields[t], by doubling: s[r + 2^j] = s[r] + fields[t, j]
    lo_min, lo_max = e_lo.min(), e_lo.max()
    atol = rtol * max(abs(lo_min + e_hi[0]), lo_max - lo_min, scale, 2.2250738585072014e-308)
    best, best_r, best_t, count = np.inf, 0, 0, 0
    for t in range(e_hi.shape[0]):
        for j in range(n_lo):
            f = fields[t, j]
            half = 1 << j
            for r in range(half):
                s[half + r] = s[r] + f
        base = e_hi[t]
        for r in range(size):
            e = e_lo[r] + s[r] + base
            if e < best - atol:
                best, best_r, best_t, count = e, r, t, 1
            elif e <= best + atol:
                count += 1
    return best, best_r, best_t, count, atol


# Hand-written (numba) for the same reason: per high state, u is formed for all low states at once in a
# cache-resident (N, 2^n_lo) buffer (loops over the low states vectorize), centred, squared and reduced.
@numba.njit(cache=True, nogil=True)
def _scan_pairwise(sv_lo, vw_lo, sv_hi, vw_hi, lam, sum_lo, sum_hi, rtol):  # pragma: no cover - compiled
    """Minimum over (r, t) of 2N sum_i (u_i - mean u)^2 + lam (sum_lo[r] + sum_hi[t])^2 with
    u_i = (sv_lo[i, r] + sv_hi[t, i]) vw_i, vw_i = vw_lo[i, r] for the first assets and vw_hi[t, i - N_L] for the
    rest: (min, r, t, count, atol), atol from the energies of column t = 0."""
    nn, size = sv_lo.shape[0], sv_lo.shape[1]
    n_l = vw_lo.shape[0]
    u = np.empty((nn, size))
    e = np.empty(size)
    best, best_r, best_t, count, atol = np.inf, 0, 0, 0, 0.0
    for t in range(sv_hi.shape[0]):
        for i in range(nn):
            b = sv_hi[t, i]
            if i < n_l:
                for r in range(size):
                    u[i, r] = (sv_lo[i, r] + b) * vw_lo[i, r]
            else:
                c = vw_hi[t, i - n_l]
                for r in range(size):
                    u[i, r] = (sv_lo[i, r] + b) * c
        pen = sum_hi[t]
        for r in range(size):
            p = sum_lo[r] + pen
            e[r] = lam * p * p
        mean = u.sum(axis=0) / nn
        for i in range(nn):
            for r in range(size):
                d = u[i, r] - mean[r]
                e[r] += 2.0 * nn * d * d
        if t == 0:
            atol = rtol * max(abs(e.min()), e.max() - e.min(), 2.2250738585072014e-308)
        for r in range(size):
            if e[r] < best - atol:
                best, best_r, best_t, count = e[r], r, t, 1
            elif e[r] <= best + atol:
                count += 1
    return best, best_r, best_t, count, atol


def _split(problem) -> int:
    """n_lo: about half the variables (at most log2(BLOCK_ELEMENTS)), at an asset boundary for pairwise."""
    n, bits = problem.num_qubits, problem.bits
    n_lo = max(1, min((n + 1) // 2, int(np.log2(BLOCK_ELEMENTS))))
    if not problem.is_quadratic:
        n_lo = max(1, min(problem.n_assets, round(n_lo / bits))) * bits
    return n_lo


def _scan(problem, n_lo: int):
    """The kernel call for ``problem``'s formulation, its tables built from public attributes only."""
    n = problem.num_qubits
    x_lo, x_hi = _bit_table(n_lo), _bit_table(n - n_lo)
    if problem.is_quadratic:
        _, h, q = problem.qubo
        e_lo = x_lo @ h[:n_lo] + ((x_lo @ q[:n_lo, :n_lo]) * x_lo).sum(axis=1)
        e_hi = x_hi @ h[n_lo:] + ((x_hi @ q[n_lo:, n_lo:]) * x_hi).sum(axis=1)
        fields = np.ascontiguousarray(x_hi @ q[:n_lo, n_lo:].T)  # (2^n_hi, n_lo) = (Q_lh x_hi)'
        return _scan_qubo(e_lo, e_hi, fields, DEGENERACY_RTOL, float(np.abs(h).sum() + np.abs(q).sum()))
    nn, n_l = problem.n_assets, n_lo // problem.bits
    amat = np.zeros((n, nn))
    amat[np.arange(n), problem.asset_of] = problem.bit_values
    lo, s = problem.box[0], problem.cov
    v_lo = lo[:n_l] + x_lo @ amat[:n_lo, :n_l]
    v_hi = lo[n_l:] + x_hi @ amat[n_lo:, n_l:]
    w = 1.0 / (nn * problem.budgets)
    return _scan_pairwise(
        np.ascontiguousarray((v_lo @ s[:n_l]).T), np.ascontiguousarray((v_lo * w[:n_l]).T), v_hi @ s[n_l:],
        v_hi * w[n_l:], problem.penalty_weight, v_lo.sum(axis=1), v_hi.sum(axis=1) - 1.0, DEGENERACY_RTOL,
    )


def exact_minimum(problem, *, max_qubits: int = MAX_EXACT_QUBITS) -> tuple[np.ndarray, float, int, float]:
    """(sample, energy, degeneracy, tolerance): a minimizer of ``problem.energy`` over {0,1}^n, its energy, the
    number of assignments within ``tolerance`` of the (running) minimum, and that tolerance (on energies relative
    to ``problem.energy_offset``, which are compared without cancellation). Self-contained: it reads only
    ``problem``'s public attributes (``qubo`` for log_barrier; box, bit values, cov, budgets, penalty weight for
    pairwise)."""
    n = problem.num_qubits
    max_qubits = positive_int(max_qubits, "max_qubits")
    check_qubit_limit("exact", n, max_qubits)
    if problem.encoding.name != "binary":
        return _encoded_minimum(problem)
    n_lo = _split(problem)
    _, r, t, count, atol = _scan(problem, n_lo)
    sample = np.concatenate([(r >> np.arange(n_lo)) & 1, (t >> np.arange(n - n_lo)) & 1]).astype(np.int64)
    return sample, problem.energy(sample), int(count), float(atol)


def _encoded_minimum(problem) -> tuple[np.ndarray, float, int, float]:
    """``exact_minimum`` of a problem in another encoding: its minimum over strings is its minimum over levels (every
    encoding reads each string as levels, and domain_wall's penalty only adds to a string whose thermometer twin
    decodes to the same levels), so the binary twin (same grid, 2^(N K) states) is enumerated and its minimizer
    re-encoded. Degeneracy: the twin's level combinations at the minimum (when several tie, listed by
    ``_tied_levels`` block by block), each counted with its multiplicity in the encoding (unary:
    prod_i C(2^K - 1, m_i), every other encoding 1)."""
    twin = problem.binary_twin()
    x, _, count, atol = exact_minimum(twin, max_qubits=twin.num_qubits)
    levels = twin.levels(x)
    if problem.encoding.name == "unary":
        ties = levels[None, :] if count == 1 else _tied_levels(twin, atol)  # several level combinations tie
        # Python integers: prod_i C(2^K - 1, m_i) passes 2^63 from N = 5 assets at K = 4 (C(15, 7)^5 = 1.1e19)
        count = sum(math.prod(int(c) for c in row) for row in problem.encoding.multiplicity(ties))
    sample = problem.sample_of_levels(levels)
    return sample, problem.energy(sample), int(count), float(atol)


def _tied_levels(problem, atol: float) -> np.ndarray:
    """Levels (k, N) of the states of the binary ``problem`` whose relative energy is within ``atol`` of the lowest,
    streamed in blocks of ``TIE_BLOCK`` states (memory O(TIE_BLOCK n) plus the ties, not O(2^n n)): each block's
    states within ``atol`` of the running minimum are kept, and the kept ones are filtered as the minimum falls."""
    n = problem.num_qubits
    shifts = np.arange(n)
    best, kept_e, kept_levels = np.inf, np.empty(0), np.empty((0, problem.n_assets), dtype=np.int64)
    for start in range(0, 2**n, TIE_BLOCK):
        bits = (np.arange(start, min(start + TIE_BLOCK, 2**n), dtype=np.int64)[:, None] >> shifts) & 1
        e = problem.relative_energies(bits)
        best = min(best, e.min())
        near = e <= best + atol
        kept_e = np.concatenate([kept_e, e[near]])
        kept_levels = np.concatenate([kept_levels, problem.levels(bits[near])])
        keep = kept_e <= best + atol
        kept_e, kept_levels = kept_e[keep], kept_levels[keep]
    return kept_levels


def energy_tolerance(energies: np.ndarray) -> float:
    """Energies (relative, ``problem.relative_energies``) within this of the lowest count as equal:
    ``DEGENERACY_RTOL`` x max(|E_min|, spread of ``energies``)."""
    best = float(np.min(energies))
    return DEGENERACY_RTOL * max(abs(best), float(np.max(energies)) - best, np.finfo(float).tiny)


def ground_state_check(problem, best: float, atol: float, check_ground_state: int) -> dict:
    """When n <= ``check_ground_state``: ``exact_energy``, ``ground_state`` (the relative energy ``best`` is within
    ``atol`` of the exact minimum's) and ``exact_degeneracy`` from enumeration; else {}."""
    n = problem.num_qubits
    if n > check_ground_state:
        return {}
    exact_x, exact_e, degeneracy, exact_atol = exact_minimum(problem, max_qubits=n)
    exact_rel = float(problem.relative_energies(exact_x[None, :])[0])
    return {"exact_energy": exact_e, "ground_state": bool(best <= exact_rel + max(atol, exact_atol)),
            "exact_degeneracy": degeneracy}


def best_sample(problem, x: np.ndarray, energies: np.ndarray, stats: dict, resources: Resources,
                check_ground_state: int) -> SampleResult:
    """A sampler's ``SampleResult`` from its rows x (m, n) and their relative energies: the lowest row, with
    ``best_energy``, ``best_fraction`` (rows at it) and ``ground_state_check`` added to ``stats``."""
    j = int(np.argmin(energies))
    best, atol = float(energies[j]), energy_tolerance(energies)
    sample = np.asarray(x[j], dtype=np.int64)
    stats = stats | {"best_energy": problem.energy(sample), "best_fraction": float(np.mean(energies <= best + atol))}
    stats |= ground_state_check(problem, best, atol, check_ground_state)
    return SampleResult(sample, stats["best_energy"], stats, None, resources)


def exact_sampler(*, max_qubits: int = MAX_EXACT_QUBITS):
    """Registry solver "exact" (a sample-solver factory): each round's exact minimum (deterministic: seed and state
    are ignored). ``max_qubits``: validated (the registry's table); ``exact_minimum`` refuses n above it before any
    work (the driver's plan refuses N x bits first)."""

    def sample_solver(problem, *, seed, state) -> SampleResult:
        sample, energy, degeneracy, atol = exact_minimum(problem, max_qubits=max_qubits)
        states = 2**problem.num_qubits
        stats = {"degeneracy": degeneracy, "degeneracy_atol": atol, "states": states}
        return SampleResult(sample, energy, stats, None, Resources(samples=states))

    return sample_solver


#: Options of "exact": the shared discretization options and the enumeration limit.
OPTIONS = solver_table((int_option("max_qubits", MAX_EXACT_QUBITS, "largest n enumerated"),))


def qubit_limit(options: dict) -> int:
    """The registry's qubit limit of "exact": its ``max_qubits`` option."""
    return options["max_qubits"]
