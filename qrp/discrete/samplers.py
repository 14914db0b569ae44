"""Any ``dimod.Sampler`` as a discrete solver (solver "dimod"), and the readout every BQM sampler shares.

``qrp.risk_parity(cov, solver="dimod", sampler=S, bits=..., rounds=..., **sample_kwargs)`` runs ``S.sample`` on each
refinement round's ``problem.to_bqm()`` (the QUBO for log_barrier; the Rosenberg quadratization, product variables
included, for pairwise) with ``sample_kwargs``: dwave-samplers' SimulatedAnnealingSampler, TabuSampler or
SteepestDescentSolver, dimod's ExactSolver, or a D-Wave Leap hybrid / QPU sampler from dwave-system
(``LeapHybridSampler()``, ``EmbeddingComposite(DWaveSampler())``) for users with access. Keyword arguments are
checked against ``S.parameters`` before anything runs (dimod's convention for what a sampler accepts); the round's
seed is passed as ``seed=`` when ``S.parameters`` has one and the caller did not fix it.

Readout (``read_sampleset``): every read is re-scored by ``problem.relative_energies`` on its first n variables (the
bits), so energies are those of the discrete problem whatever the product variables did, compared without
cancellation against the constant offset; the best read is returned, with the fraction of reads at it and, when
n <= ``check_ground_state``, whether it is an exact ground state (``qrp.discrete.exact``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from qrp.core import memory
from qrp.core.options import Option, int_option
from qrp.core.result import Resources
from qrp.discrete.decompose import Blocks
from qrp.discrete.exact import energy_tolerance, ground_state_check
from qrp.discrete.options import solver_table
from qrp.discrete.refine import SampleResult

#: Default largest n for which each solve is checked against exact enumeration.
GROUND_STATE_CHECK_QUBITS = 16


def _check_sampler_object(sampler):
    if sampler is not None and (not callable(getattr(sampler, "sample", None)) or not hasattr(sampler, "parameters")):
        raise ValueError(f"sampler must be a dimod.Sampler (with .sample and .parameters), got {sampler!r}")
    return sampler


#: The "dimod" solver's own declared options (any other keyword is a sample argument of the sampler).
OWN_OPTIONS = (
    Option("sampler", None, _check_sampler_object, "a dimod.Sampler instance (required)"),
    int_option("check_ground_state", GROUND_STATE_CHECK_QUBITS, "compare with enumeration up to this n (0: never)",
               minimum=0),
)


#: Bytes per state of an exhaustive dimod sampler's SampleSet (n int8 values, a float64 energy, an int64 count, per
#: state of 2^n) besides the n bytes of the sample: the memory estimate behind ``qubit_limit``.
EXHAUSTIVE_BYTES_PER_STATE = 16


def _exhaustive(sampler) -> bool:
    """Whether ``sampler`` enumerates all 2^n states (dimod's ExactSolver and its kin, by class name: dimod itself is
    imported only when a sampler is passed)."""
    return any(cls.__name__.startswith("Exact") and cls.__module__.startswith("dimod")
               for cls in type(sampler).__mro__)


def qubit_limit(options) -> int | None:
    """The registry's qubit limit of "dimod": for an exhaustive sampler (``dimod.ExactSolver``), the largest n whose
    2^n states (``EXHAUSTIVE_BYTES_PER_STATE`` + n bytes each) fit in half the available memory; None (no limit)
    for any other sampler. ExactSolver at N = 8, bits = 6 asked for 2.25 TiB before this."""
    if not _exhaustive(options.get("sampler")):
        return None
    budget = memory.memory_budget()
    n = 1
    while 2.0 ** (n + 1) * (EXHAUSTIVE_BYTES_PER_STATE + n + 1) <= budget:
        n += 1
    return n


def _check_sample_arguments(values: dict) -> None:
    """The cross-field check of "dimod": every pass-through keyword (not declared here or by the block composite)
    is a parameter of the given sampler."""
    if values["sampler"] is not None:
        declared = {*(o.name for o in OPTIONS), *Blocks.names()}
        check_sampler(values["sampler"], {k: v for k, v in values.items() if k not in declared})


#: Options of "dimod": the shared discretization options, the sampler and the ground-state check; any other
#: keyword is a sample argument of the sampler (checked against its ``parameters`` with the other options).
OPTIONS = solver_table(OWN_OPTIONS, joint=_check_sample_arguments, bits=3)


def check_sampler(sampler, sample_kwargs: dict) -> None:
    """``ValueError`` unless ``sampler`` is a dimod sampler (``sample`` and ``parameters``) accepting every key of
    ``sample_kwargs``."""
    if sampler is None:
        raise ValueError("solver 'dimod' needs sampler=, a dimod.Sampler such as dwave.samplers.TabuSampler()")
    _check_sampler_object(sampler)
    unknown = sorted(set(sample_kwargs) - set(sampler.parameters))
    if unknown:
        raise ValueError(
            f"{type(sampler).__name__} does not take sample argument(s) {unknown}; "
            f"its parameters are {sorted(sampler.parameters)}"
        )


def read_sampleset(problem, sampleset, num_variables: int, check_ground_state: int) -> tuple[np.ndarray, dict]:
    """(best sample (n,), stats) of a dimod ``SampleSet`` over the problem's bits (module docstring)."""
    n = problem.num_qubits
    cols = [sampleset.variables.index(p) for p in range(n)]
    x = np.asarray(sampleset.record.sample[:, cols], dtype=np.int64)
    occurrences = np.asarray(sampleset.record.num_occurrences, dtype=np.int64)
    e = problem.relative_energies(x)
    j = int(np.argmin(e))
    best, atol = float(e[j]), energy_tolerance(e)
    stats: dict[str, Any] = {
        "best_energy": problem.energy(x[j]),
        "best_fraction": float(occurrences[e <= best + atol].sum() / occurrences.sum()),
        "reads": int(occurrences.sum()),
        "num_auxiliary": num_variables - n,
    }
    return x[j], stats | ground_state_check(problem, best, atol, check_ground_state)


def bqm_sample_solver(sampler=None, *, check_ground_state: int = GROUND_STATE_CHECK_QUBITS, **sample_kwargs):
    """Registry solver "dimod" (a sample-solver factory): ``sampler.sample(problem.to_bqm(), **sample_kwargs)`` on
    each round's problem (``state`` ignored; seeded as in the module docstring). Options as validated by the
    registry (the sample arguments against ``sampler.parameters`` there); only the missing sampler is refused here,
    before any round runs."""
    if sampler is None:
        check_sampler(sampler, sample_kwargs)
    seeded = "seed" in sampler.parameters and "seed" not in sample_kwargs

    def sample_solver(problem, *, seed, state) -> SampleResult:
        bqm = problem.to_bqm()
        kwargs = sample_kwargs | ({"seed": seed} if seeded else {})
        sampleset = sampler.sample(bqm, **kwargs)
        x, stats = read_sampleset(problem, sampleset, len(bqm.variables), check_ground_state)
        stats["sampler"] = type(sampler).__name__
        return SampleResult(x, stats["best_energy"], stats, None, Resources(samples=stats["reads"]))

    return sample_solver
