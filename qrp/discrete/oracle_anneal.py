"""Simulated annealing on the problem's own energy (an oracle), for encodings whose objective is not a QUBO.

Gray-coded levels make the log_barrier objective a degree-2K polynomial in the qubits (``qrp.discrete.encodings``);
its BQM (``to_bqm``) adds Rosenberg product variables, and annealing that BQM explores a different landscape (single
flips of product variables, penalty barriers) than the Gray code's own. So the "sa" solver anneals such problems
here: ``num_reads`` independent Metropolis chains (Kirkpatrick et al. 1983), vectorized across reads, each sweep
proposing a flip of every qubit in order and accepting it with probability min(1, exp(-beta dE)), beta on a
geometric schedule over ``num_sweeps`` sweeps from beta_hot to beta_cold. dE is computed by
``problem.relative_energies`` (one energy evaluation per proposal, the unit every method is charged in).

Default beta range (the rule of dwave-samplers' ``default_beta_range``, on single-flip energy changes measured on
the problem): beta_hot = ln 2 / max |dE| (the largest change accepted half the time at the start) and beta_cold =
ln 100 / min |dE| > 0 (the smallest accepted 1% of the time at the end), over every single flip of ``PROBE_READS``
uniform random strings (seeded by the round's seed).
"""

from __future__ import annotations

import numba
import numpy as np

from qrp.discrete.baselines import neighbour_energies

#: random strings whose single-flip energy changes set the default beta range.
PROBE_READS = 64
#: uniform numbers drawn at once (sweeps x reads x qubits): 2^21 float64 = 16 MiB.
SWEEP_CHUNK_ELEMENTS = 2**21


def flip_deltas(problem, x: np.ndarray) -> np.ndarray:
    """|dE| of every single flip of each row of x (m, n), flattened."""
    return np.abs(neighbour_energies(problem, x) - problem.relative_energies(x)[:, None]).ravel()


def default_beta_range(problem, rng) -> tuple[float, float]:
    """(beta_hot, beta_cold) from measured single-flip energy changes (module docstring)."""
    d = flip_deltas(problem, rng.integers(0, 2, size=(PROBE_READS, problem.num_qubits), dtype=np.int8))
    scale = max(float(d.max()), np.finfo(float).tiny)
    positive = d[d > 1e-12 * scale]
    small = float(positive.min()) if positive.size else scale
    return float(np.log(2.0) / scale), float(np.log(100.0) / small)


# Hand-written (numba): one Metropolis proposal is O(N) arithmetic, far below numpy's per-call overhead.
@numba.njit(cache=True, nogil=True)
def _anneal(x, m, d, sd, s, step, g0, q2, curv, q, betas, u):  # pragma: no cover - compiled
    """Metropolis sweeps in place over reads x (r, n) of Gray-coded assets (q qubits each): levels m, offsets d,
    S d per read; u (sweeps, r, n) uniform numbers."""
    reads, n = x.shape
    nn = m.shape[1]
    for t in range(betas.shape[0]):
        beta = betas[t]
        for r in range(reads):
            for p in range(n):
                i = p // q
                x[r, p] ^= 1
                acc, level = 0, 0
                for k in range(q - 1, -1, -1):  # Gray decoding: binary digit k = XOR of the bits above and at k
                    acc ^= x[r, i * q + k]
                    level += acc << k
                delta = step[i] * (level - m[r, i])
                de = delta * (g0[i] + sd[r, i] + 2.0 * q2[i] * d[r, i]) + delta * delta * curv[i]
                if de <= 0.0 or u[t, r, p] < np.exp(-beta * de):
                    m[r, i] = level
                    d[r, i] += delta
                    for j in range(nn):
                        sd[r, j] += delta * s[i, j]
                else:
                    x[r, p] ^= 1


def oracle_anneal(problem, *, num_reads: int, num_sweeps: int, beta_range, seed) -> tuple[np.ndarray, np.ndarray,
                                                                                           tuple[float, float]]:
    """(final strings (num_reads, n), their relative energies, beta range used): Metropolis annealing of a
    Gray-coded log_barrier problem (module docstring). A flip changes one asset's level only, so its energy change
    is evaluated in O(N): with d = v - lo and a change delta of d_i,
    dE = delta (g0_i + (S d)_i + 2 q2_i d_i) + delta^2 (S_ii / 2 + q2_i), g0 = S lo + q1 (the surrogate of
    ``qrp.discrete.problem``), S d kept per read; the final energies are recomputed by ``relative_energies``."""
    if problem.formulation != "log_barrier" or problem.encoding.name != "gray":
        raise ValueError("oracle_anneal takes Gray-coded log_barrier problems")
    rng = np.random.default_rng(seed)
    hot, cold = beta_range if beta_range is not None else default_beta_range(problem, rng)
    s, step, coef = problem.cov, problem.step, problem.log_coef
    x = rng.integers(0, 2, size=(num_reads, problem.num_qubits), dtype=np.int64)
    m = problem.levels(x)
    d = step * m
    sd = d @ s
    betas = np.geomspace(hot, cold, num_sweeps) if num_sweeps > 1 else np.array([cold])
    args = (np.ascontiguousarray(s), step, s @ problem.box[0] + coef[:, 1], coef[:, 2], 0.5 * np.diag(s) + coef[:, 2],
            problem.qubits_per_asset)
    chunk = max(1, SWEEP_CHUNK_ELEMENTS // (num_reads * problem.num_qubits))
    for k in range(0, len(betas), chunk):  # the uniform numbers of a chunk of sweeps at a time (bounded memory)
        part = betas[k:k + chunk]
        _anneal(x, m, d, sd, *args, part, rng.random((len(part), num_reads, problem.num_qubits)))
    return x, problem.relative_energies(x), (float(hot), float(cold))
