"""Simulated annealing on the discrete ERC problem (solver "sa").

Uses D-Wave's neal sampler, maintained as ``dwave.samplers.SimulatedAnnealingSampler`` (``dwave-neal`` re-exports
it): ``num_reads`` independent anneals of ``num_sweeps`` Metropolis sweeps over a geometric beta schedule on
``beta_range`` (None: the sampler's default, derived from the model's biases), seeded. It runs on
``problem.to_bqm()``: the QUBO itself for log_barrier, the quadratization (product variables
included) for pairwise. Every read is then re-scored by ``problem.energies`` on its first n variables (the bits),
so the reported energies are those of the discrete problem, whatever the product variables did (reads are
compared by ``problem.relative_energies``, free of cancellation against the constant offset).

A problem whose log_barrier objective is not a QUBO (Gray-coded levels, ``qrp.discrete.encodings``) is annealed on
its own energy instead (``qrp.discrete.oracle_anneal``: the same Metropolis sweeps, one energy evaluation per
proposal, a beta range measured from its single-flip energy changes), not on its quadratized BQM.

Reported per solve: best energy, the fraction of reads at it, and, when the problem is small enough to enumerate
(n <= ``check_ground_state`` limit), whether the best read is a ground state (``qrp.discrete.exact``).
"""

from __future__ import annotations

import numpy as np

from qrp.core.memory import check_memory
from qrp.core.options import Option, int_option
from qrp.core.result import Resources
from qrp.core.validation import MAX_SAMPLES, bounded_int
from qrp.discrete.exact import best_sample
from qrp.discrete.options import solver_table
from qrp.discrete.oracle_anneal import oracle_anneal
from qrp.discrete.refine import SampleResult
from qrp.discrete.samplers import GROUND_STATE_CHECK_QUBITS, read_sampleset


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


#: Bytes dwave-samplers allocates per sweep before annealing (the float64 beta schedule of ``num_sweeps`` values).
SCHEDULE_BYTES_PER_SWEEP = 8


#: Sweeps per anneal at most: 10^7 (an 80 MB schedule; at the default 20 reads already hours of annealing on 100
#: variables). 10^9, the earlier cap, asked for 7.45 GiB before the first sweep.
MAX_SWEEPS = MAX_SAMPLES


def _check_num_sweeps(value) -> int:
    """An integer in [1, ``MAX_SWEEPS``] whose beta schedule (``SCHEDULE_BYTES_PER_SWEEP`` bytes a sweep, all
    allocated before the first sweep) fits in memory (``check_memory``)."""
    v = bounded_int(value, "num_sweeps", maximum=MAX_SWEEPS)
    check_memory(SCHEDULE_BYTES_PER_SWEEP * v, f"num_sweeps={v} (the annealing schedule, 8 bytes per sweep)")
    return v


#: The annealer's own options.
OWN_OPTIONS = (
    int_option("num_reads", 20, "independent anneals per round", maximum=MAX_SAMPLES),
    Option("num_sweeps", 1000, _check_num_sweeps, "Metropolis sweeps per anneal"),
    Option("beta_range", None, _validate_beta_range, "(hot, cold) inverse temperatures (None: the sampler's)"),
    int_option("check_ground_state", GROUND_STATE_CHECK_QUBITS, "compare with enumeration up to this n (0: never)",
               minimum=0),
)
#: Options of "sa": the shared discretization options (default 4 bits per asset) and the annealer's.
OPTIONS = solver_table(OWN_OPTIONS, bits=4)
_SA_DEFAULTS = {o.name: o.default for o in OWN_OPTIONS}


def sa_sampler(
    *,
    num_reads: int = _SA_DEFAULTS["num_reads"],
    num_sweeps: int = _SA_DEFAULTS["num_sweeps"],
    beta_range=None,
    check_ground_state: int = _SA_DEFAULTS["check_ground_state"],
):
    """Registry solver "sa" (a sample-solver factory): simulated annealing of each round's ``problem.to_bqm()``
    (``state`` is ignored); round r anneals with the round's seed (``qrp.refine``). ``check_ground_state``:
    compare with exact enumeration when n <= this (0: never). Options as validated by the registry (``OPTIONS``).
    """
    from dwave.samplers import SimulatedAnnealingSampler  # heavy optional-at-import dependency: loaded on use

    sampler = SimulatedAnnealingSampler()

    def sample_solver(problem, *, seed, state) -> SampleResult:
        if problem.formulation == "log_barrier" and not problem.is_quadratic:  # gray: anneal its own landscape
            x, e, betas = oracle_anneal(problem, num_reads=num_reads, num_sweeps=num_sweeps, beta_range=beta_range,
                                        seed=seed)
            stats = {"num_reads": num_reads, "num_sweeps": num_sweeps, "beta_range": list(betas), "oracle": True,
                     "reads": num_reads}
            used = Resources(samples=num_reads, evaluations=num_reads * num_sweeps * problem.num_qubits)
            return best_sample(problem, x, e, stats, used, check_ground_state)
        bqm = problem.to_bqm()
        sampleset = sampler.sample(bqm, num_reads=num_reads, num_sweeps=num_sweeps, beta_range=beta_range, seed=seed)
        x, stats = read_sampleset(problem, sampleset, len(bqm.variables), check_ground_state)
        stats |= {"num_reads": num_reads, "num_sweeps": num_sweeps,
                  "beta_range": list(sampleset.info.get("beta_range", beta_range or []))}
        # one Metropolis proposal per variable per sweep: the single-flip evaluations of greedy and tabu
        used = Resources(samples=num_reads, evaluations=num_reads * num_sweeps * len(bqm.variables))
        return SampleResult(x, stats["best_energy"], stats, None, used)

    return sample_solver
