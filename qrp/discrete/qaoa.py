"""The ``qaoa`` ERC solver: the QAOA engine of ``qrp.quantum.qaoa`` on each refinement round's Ising form.

Registered as a sample-solver factory (``qaoa_sampler``) with the shared discretization options and its own:
the engine's declared settings (``ENGINE_OPTIONS``, ``OPTIMIZE_OPTIONS``; the solver's default depth is reps = 2)
and the ERC glue below: the warm start from the classical continuous solution (Egger, Marecek & Woerner 2021,
Quantum 5, 479), mapped into each round's box, angles carried from round to round, and circuit resources.
Every n = N x bits qubit problem is checked against ``max_qubits`` (None: what fits in memory) before it runs.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from qrp.classical.newton import solve_auto
from qrp.core.registry import bool_option, check_options
from qrp.core.result import Resources
from qrp.discrete.options import discrete_options
from qrp.discrete.refine import SampleResult
from qrp.quantum.angles import EPSILON, interp_angles, ramp_angles, warm_start_thetas
from qrp.quantum.circuits import circuit_resources, noise_model, qaoa_circuit
from qrp.quantum.qaoa import (
    ENGINE_OPTIONS,
    INITS,
    OPTIMIZE_OPTIONS,
    OPTIMIZERS,
    QAOA,
    QAOAResult,
    check_mode,
    default_max_qubits,
)


def continuous_solution(cov: np.ndarray, budgets: np.ndarray, formulation: str) -> np.ndarray:
    """The classical ERC solution in the formulation's variable: Spinu's y* = w / sqrt(w'Sw) (log_barrier; at the
    optimum y_i (Sy)_i = b_i, so y*'Sy* = 1) or the weights w* (pairwise), from qrp's Newton solver."""
    w = solve_auto(cov, budgets, tol=1e-12, max_iter=200).weights
    return w / np.sqrt(float(w @ cov @ w)) if formulation == "log_barrier" else w


def warm_bits(problem, v: np.ndarray) -> np.ndarray:
    """Bits of the level nearest to v on each asset's grid, m_i = clip(round((v_i - lo_i) / step_i), 0, 2^K - 1),
    asset-major as the problem's variables (the hard guess Egger et al. regularize by epsilon)."""
    lo, _ = problem.box
    m = np.clip(np.rint((v - lo) / problem.step), 0, 2**problem.bits - 1).astype(np.int64)
    return ((m[:, None] >> np.arange(problem.bits)[None, :]) & 1).ravel()


#: The QAOA solver's own options: the engine's declarations (default depth 2 here) and the ERC glue's.
OWN_OPTIONS = (
    *(dataclasses.replace(o, default=2) if o.name == "reps" else o for o in ENGINE_OPTIONS),
    *OPTIMIZE_OPTIONS,
    bool_option("warm_start", False, "Egger et al.'s warm start from the continuous ERC solution"),
    EPSILON,
    bool_option("carry_angles", True, "start each round from the previous round's angles"),
    bool_option("resources", True, "transpiled depth and CX counts per term structure"),
)
#: Options of "qaoa": the shared discretization options and QAOA's own.
OPTIONS = (*discrete_options(), *OWN_OPTIONS)


def qubit_limit(options: dict) -> int:
    """The registry's qubit limit of "qaoa": ``max_qubits``, or what fits in memory when it is None."""
    return default_max_qubits() if options["max_qubits"] is None else options["max_qubits"]


def qaoa_sampler(**options):
    """Registry solver "qaoa" (a sample-solver factory): QAOA (``QAOA``) on each round's ``problem.to_ising()``,
    round r seeded by the round's seed. Options: ``OWN_OPTIONS`` (validated here, before any round runs).

    ``warm_start=True``: Egger et al.'s warm start from the classical continuous ERC solution
    (``continuous_solution``, computed once) mapped into each round's box by ``warm_bits`` and regularized by
    ``epsilon``. ``carry_angles``: start each round from the previous round's optimized angles (the problems of
    successive rounds differ only by their box; the cost is normalized, so good angles transfer). ``resources``:
    transpiled depth and CX counts (``circuit_resources``), computed once per term structure.
    """
    o = check_options(OWN_OPTIONS, options, owner="solver 'qaoa'")
    check_mode(reps=o["reps"], shots=o["shots"], alpha=o["alpha"], engine=o["engine"], noise=o["noise"])
    resource_cache: dict[tuple, dict] = {}
    warm: dict[str, np.ndarray] = {}

    def sample_solver(problem, *, seed, state) -> SampleResult:
        op, offset = problem.to_ising()
        thetas = None
        if o["warm_start"]:
            if "v" not in warm:  # successive rounds share the covariance: one classical solve per run
                warm["v"] = continuous_solution(problem.cov, problem.budgets, problem.formulation)
            thetas = warm_start_thetas(warm_bits(problem, warm["v"]), o["epsilon"])
        qaoa = QAOA(op, offset, reps=o["reps"], shots=o["shots"], alpha=o["alpha"], engine=o["engine"],
                    noise=o["noise"], warm_thetas=thetas, max_qubits=o["max_qubits"], seed=seed)
        res = qaoa.optimize(optimizer=o["optimizer"], init=o["init"], max_evals=o["max_evals"],
                            multistart=o["multistart"], readout_shots=o["readout_shots"],
                            initial_angles=state if o["carry_angles"] and state is not None else None)
        stats = {k: v for k, v in res.stats.items() if k != "seed"} | {
            "value": res.value, "expectation": res.expectation, "best_energy": res.best_energy,
            "exact_energy": res.ground_energy, "ground_state_probability": res.ground_state_probability,
            "approximation_ratio": res.approximation_ratio, "evaluations": res.evaluations,
            "optimizer_iterations": res.iterations, "wall_time": res.wall_time, "angles": res.angles.tolist(),
        }
        if res.ground_state is not None:
            stats["ground_state"] = res.ground_state
        if o["resources"]:
            key = (op.num_qubits, tuple(sorted(qaoa.masks.tolist())))
            if key not in resource_cache:
                resource_cache[key] = circuit_resources(qaoa.normalized, o["reps"], seed=0)
            stats["resources"] = resource_cache[key]
        sample = res.best_state.astype(np.int64)
        used = Resources(samples=(o["shots"] or 0) * res.evaluations + o["readout_shots"],
                         evaluations=res.evaluations, circuit_executions=res.evaluations + 1,
                         simulation_seconds=res.simulation_seconds)
        return SampleResult(sample, problem.energy(sample), stats, res.angles if o["carry_angles"] else None, used)

    return sample_solver


__all__ = [  # the engine's public names, also reachable from here (where they lived before the split)
    "INITS",
    "OPTIMIZERS",
    "OPTIONS",
    "OWN_OPTIONS",
    "QAOA",
    "QAOAResult",
    "circuit_resources",
    "continuous_solution",
    "interp_angles",
    "noise_model",
    "qaoa_circuit",
    "qaoa_sampler",
    "qubit_limit",
    "ramp_angles",
    "warm_bits",
    "warm_start_thetas",
]
