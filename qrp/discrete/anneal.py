"""Simulated annealing on the discrete ERC problem (solver "sa").

Uses D-Wave's neal sampler, maintained as ``dwave.samplers.SimulatedAnnealingSampler`` (``dwave-neal`` re-exports
it): ``num_reads`` independent anneals of ``num_sweeps`` Metropolis sweeps over a geometric beta schedule on
``beta_range`` (None: the sampler's default, derived from the model's biases), seeded. It runs on
``problem.to_bqm()``: the QUBO itself for log_barrier, the quadratization (product variables
included) for pairwise. Every read is then re-scored by ``problem.energies`` on its first n variables (the bits),
so the reported energies are those of the discrete problem, whatever the product variables did (reads are
compared by ``problem.relative_energies``, free of cancellation against the constant offset).

Reported per solve: best energy, the fraction of reads at it, and, when the problem is small enough to enumerate
(n <= ``check_ground_state`` limit), whether the best read is a ground state (``qrp.discrete.exact``).
"""

from __future__ import annotations

import numpy as np

from qrp.core.result import SolverOutput
from qrp.core.validation import positive_int
from qrp.discrete.exact import DEGENERACY_RTOL, exact_minimum
from qrp.discrete.problem import DEFAULT_LOG_FIT, DEFAULT_RADIUS
from qrp.discrete.refine import DEFAULT_SHRINK, SampleResult, refine

#: Default largest n for which each SA solve is checked against exact enumeration.
GROUND_STATE_CHECK_QUBITS = 16


def _validate_beta_range(beta_range):
    if beta_range is None:
        return None
    try:
        lo, hi = (float(x) for x in beta_range)
    except (TypeError, ValueError):
        raise ValueError(
            f"beta_range must be None or a pair (hot, cold) of inverse temperatures, got {beta_range!r}"
        ) from None
    if not (0 < lo <= hi < np.inf):
        raise ValueError(f"beta_range must satisfy 0 < beta_hot <= beta_cold < inf, got {beta_range!r}")
    return (lo, hi)


def sa_sampler(
    *, num_reads: int = 20, num_sweeps: int = 1000, beta_range=None, check_ground_state: int = GROUND_STATE_CHECK_QUBITS
):
    """A ``qrp.refine`` sample solver running simulated annealing (``state`` is ignored)."""
    from dwave.samplers import SimulatedAnnealingSampler

    num_reads = positive_int(num_reads, "num_reads")
    num_sweeps = positive_int(num_sweeps, "num_sweeps")
    beta_range = _validate_beta_range(beta_range)
    check_ground_state = positive_int(check_ground_state, "check_ground_state", minimum=0)
    sampler = SimulatedAnnealingSampler()

    def sample_solver(problem, *, seed, state) -> SampleResult:
        n = problem.num_qubits
        bqm = problem.to_bqm()
        sampleset = sampler.sample(bqm, num_reads=num_reads, num_sweeps=num_sweeps, beta_range=beta_range, seed=seed)
        cols = [sampleset.variables.index(p) for p in range(n)]
        x = sampleset.record.sample[:, cols].astype(np.int64)
        e = problem.relative_energies(x)
        j = int(np.argmin(e))
        best = float(e[j])
        atol = DEGENERACY_RTOL * max(abs(best), float(e.max() - best), np.finfo(float).tiny)
        stats = {
            "best_energy": problem.energy(x[j]),
            "best_fraction": float(np.mean(e <= best + atol)),
            "num_reads": num_reads,
            "num_sweeps": num_sweeps,
            "beta_range": list(sampleset.info.get("beta_range", beta_range or [])),
            "num_auxiliary": len(bqm.variables) - n,
        }
        if n <= check_ground_state:
            exact_x, exact_e, degeneracy, exact_atol = exact_minimum(problem, max_qubits=n)
            exact_rel = float(problem.relative_energies(exact_x[None, :])[0])
            stats["exact_energy"] = exact_e
            stats["ground_state"] = bool(best <= exact_rel + max(atol, exact_atol))
            stats["exact_degeneracy"] = degeneracy
        return SampleResult(x[j], stats["best_energy"], stats, None)

    return sample_solver


def solve_sa(
    cov,
    budgets,
    *,
    tol,
    max_iter,
    seed=None,
    bits: int = 4,
    formulation: str = "log_barrier",
    rounds: int | None = None,
    num_reads: int = 20,
    num_sweeps: int = 1000,
    beta_range=None,
    check_ground_state: int = GROUND_STATE_CHECK_QUBITS,
    box=None,
    shrink: float = DEFAULT_SHRINK,
    radius: float = DEFAULT_RADIUS,
    log_fit: str = DEFAULT_LOG_FIT,
    penalty: float = 1.0,
) -> SolverOutput:
    """Registry solver "sa": simulated annealing on each round's discrete problem, refined over ``rounds``
    (default ``max_iter``, registry default 1: one-shot). Round r anneals with the seed
    ``SeedSequence(seed).spawn(rounds)[r]`` (``qrp.refine``). ``check_ground_state``: compare with exact
    enumeration when n <= this (0: never)."""
    return refine(
        cov, budgets, bits=bits, formulation=formulation, rounds=max_iter if rounds is None else rounds, tol=tol,
        seed=seed,
        sample_solver=sa_sampler(
            num_reads=num_reads, num_sweeps=num_sweeps, beta_range=beta_range, check_ground_state=check_ground_state
        ),
        box=box, shrink=shrink, radius=radius, log_fit=log_fit, penalty=penalty,
    )
