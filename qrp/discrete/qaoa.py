"""The ``qaoa`` ERC solver: the QAOA engine of ``qrp.quantum.qaoa`` on each refinement round's Ising form.

Registered as a sample-solver factory (``qaoa_sampler``) with the shared discretization options and its own:
the engine's declared settings (``ENGINE_OPTIONS``, ``OPTIMIZE_OPTIONS``; the solver's default depth is reps = 2)
and the ERC glue below: the warm start (Egger, Marecek & Woerner 2021, Quantum 5, 479) from each round's QUBO
relaxation or, as a labelled upper bound, from the classical solution; transferred first angles
(``qrp.discrete.angles``); angles carried from round to round; and circuit resources.
Every n = N x bits qubit problem is checked against ``max_qubits`` (None: what fits in memory) before it runs.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from qrp.classical.newton import solve_auto
from qrp.core.options import Option, bool_option, choice_option
from qrp.core.result import Resources
from qrp.discrete.angles import fixed_angles, linear_ramp, ramp_reps, transfer_angles
from qrp.discrete.options import factory_values, solver_table
from qrp.discrete.refine import SampleResult
from qrp.discrete.relax import nearest_sample, relaxed_bits
from qrp.quantum.angles import EPSILON, warm_start_thetas
from qrp.quantum.circuits import circuit_resources
from qrp.quantum.device_model import circuit_seconds
from qrp.quantum.engine_options import (
    ENGINE_OPTIONS,
    OPTIMIZE_OPTIONS,
    OptimizeSettings,
    check_combination,
    holds_state_vector,
    validated_engine_settings,
)
from qrp.quantum.memory import default_max_qubits
from qrp.quantum.qaoa import QAOA, QAOAResult, normalize_cost


def continuous_solution(cov: np.ndarray, budgets: np.ndarray, formulation: str) -> np.ndarray:
    """The classical ERC solution in the formulation's variable: Spinu's y* = w / sqrt(w'Sw) (log_barrier; at the
    optimum y_i (Sy)_i = b_i, so y*'Sy* = 1) or the weights w* (pairwise), from qrp's Newton solver."""
    w = solve_auto(cov, budgets, tol=1e-12, max_iter=200).weights
    return w / np.sqrt(float(w @ cov @ w)) if formulation == "log_barrier" else w


#: ``warm_start`` values: no warm start, the QUBO's continuous relaxation (True means this), the oracle.
WARM_STARTS = (False, "relaxation", "oracle")
#: ``angles`` values (``qaoa_sampler``): optimized from the linear ramp (default), transferred then optimized, fixed
#: (no evaluation), linear-ramp QAOA with p = n (no evaluation).
ANGLES = ("optimized", "transfer", "fixed", "ramp")
#: the strategies that evaluate nothing on the instance
FIXED_STRATEGIES = ("fixed", "ramp")


def _check_warm_start(value):
    """False, True / "relaxation" (returned as "relaxation") or "oracle"."""
    if value is True:
        return "relaxation"
    if isinstance(value, (bool, str)) and value in WARM_STARTS:
        return value
    raise ValueError(f"warm_start must be False, True (= 'relaxation') or 'oracle', got {value!r}")


def warm_thetas(problem, warm_start: str, epsilon: float, oracle: dict) -> np.ndarray:
    """Egger et al.'s initial-state angles for ``problem``: from the QUBO's continuous relaxation (``relaxation``:
    ``qrp.discrete.relax.relaxed_bits``, nothing outside the problem is used) or, ``oracle``, from the bits of the
    grid level nearest to the classical ERC solution (``continuous_solution``, solved once per run and kept in
    ``oracle``): an upper bound, since it hands QAOA the answer (its nearest level is often the discrete ground
    state), not a method."""
    if warm_start == "relaxation":
        return warm_start_thetas(relaxed_bits(problem), epsilon)
    if "v" not in oracle:  # successive rounds share the covariance: one classical solve per run
        oracle["v"] = continuous_solution(problem.cov, problem.budgets, problem.formulation)
    return warm_start_thetas(nearest_sample(problem, oracle["v"]), epsilon)


#: The QAOA solver's own options: the engine's declarations (default depth 2 here) and the ERC glue's.
OWN_OPTIONS = (
    *(dataclasses.replace(o, default=2) if o.name == "reps" else o for o in ENGINE_OPTIONS),
    *OPTIMIZE_OPTIONS,
    Option("warm_start", False, _check_warm_start, "Egger et al.'s warm start: False, True / 'relaxation' (the "
           "QUBO's continuous relaxation) or 'oracle' (the classical ERC solution: an upper bound, not a method)"),
    choice_option("angles", "optimized", ANGLES, "optimized (from the ramp), transfer (transferred start, then "
                  "optimized), fixed (shipped table, 0 evaluations), ramp (linear-ramp QAOA, p = n, 0 evaluations)"),
    EPSILON,
    bool_option("carry_angles", True, "start each round from the previous round's angles"),
    bool_option("resources", True, 'transpiled depth and CX counts per term structure, in stats["circuit"]'),
)


def check_settings(o: dict) -> None:
    """The cross-field checks of the "qaoa" options (run once, by ``validate_options``): the engine's
    (``check_combination``), transferred angles only as the first start of the linear ramp, fixed angles only at
    a depth the shipped table holds."""
    check_combination(o)
    if o["angles"] == "transfer" and o["init"] != "ramp":
        raise ValueError(f"angles='transfer' is the first start of init='ramp', not of init={o['init']!r}")
    if o["angles"] == "fixed":
        fixed_angles("binary", o["reps"])  # the depth is checked now (every encoding's table holds the same depths)


#: Options of "qaoa": the shared discretization options and QAOA's own, checked together by ``check_settings``.
OPTIONS = solver_table(OWN_OPTIONS, joint=check_settings)


def qubit_limit(options: dict) -> int | None:
    """The registry's qubit limit of "qaoa": ``max_qubits``, or what fits in memory when it is None; no limit when
    no state vector is held here (MPS, a sampler or a backend)."""
    if options["max_qubits"] is None and not holds_state_vector(options):
        return None
    return default_max_qubits() if options["max_qubits"] is None else options["max_qubits"]


def device_seconds(res: QAOAResult, shots: int | None, readout_shots: int, timing: dict) -> float:
    """Modelled device time of one QAOA solve (``qrp.quantum.device_model.circuit_seconds`` per circuit): every
    objective evaluation a circuit of ``shots`` shots (``readout_shots`` when the run used exact expectations),
    plus the readout circuit. ``timing``: ``QAOA.device_timing`` (depth, backend timings)."""
    per_eval = circuit_seconds(timing["depth"], shots or readout_shots, timing["timings"])
    return res.evaluations * per_eval + circuit_seconds(timing["depth"], readout_shots, timing["timings"])


def qaoa_sampler(**options):
    """Registry solver "qaoa" (a sample-solver factory): QAOA (``QAOA``) on each round's ``problem.to_ising()``,
    round r seeded by the round's seed. Options: ``OWN_OPTIONS``, as the registry validated them (the driver hands
    over the solver's ``Settings``): nothing is checked again, here or in the engine (``EngineSettings`` and
    ``OptimizeSettings`` are built from them as they are, once for every round).

    ``warm_start``: Egger et al.'s warm start, regularized by ``epsilon``, from each round's QUBO relaxation
    (True / "relaxation") or from the classical solution ("oracle", an upper bound): ``warm_thetas``.
    ``angles``: "optimized" (COBYLA etc. from ``init``), "transfer" (the first start is the shipped median of
    optimized angles at this depth, ``qrp.discrete.angles.transfer_angles``, then optimized: not fixed angles),
    "fixed" (the shipped table of the problem's encoding at depth ``reps``, ``qrp.discrete.angles.fixed_angles``:
    read out with zero objective evaluations on the instance) or "ramp" (linear-ramp QAOA with p = n layers and
    calibrated slopes, ``linear_ramp``: zero evaluations; ``reps`` is ignored). ``carry_angles``: start each
    round from the previous round's
    optimized angles when they start lower (the problems of
    successive rounds differ only by their box; the cost is normalized, so good angles transfer). ``resources``:
    transpiled depth and CX counts (``circuit_resources``), computed once per term structure, in
    ``stats["circuit"]`` (not to be confused with the round's ``SampleResult.resources``, the sample counts);
    the sample solver's ``warm(problem)`` counts them ahead of a timed solve (``qrp.discrete.driver.warm_solve``).
    """
    o = factory_values(OWN_OPTIONS, options)
    settings = validated_engine_settings(o)
    optimize = OptimizeSettings(**{opt.name: o[opt.name] for opt in OPTIMIZE_OPTIONS})
    start = transfer_angles(o["reps"]) if o["angles"] == "transfer" else None
    resource_cache: dict[tuple, dict] = {}
    oracle: dict[str, np.ndarray] = {}

    def sample_solver(problem, *, seed, state) -> SampleResult:
        op, offset = problem.to_ising()
        thetas = None if not o["warm_start"] else warm_thetas(problem, o["warm_start"], o["epsilon"], oracle)
        reps = ramp_reps(problem.num_qubits) if o["angles"] == "ramp" else o["reps"]
        qaoa = QAOA(op, offset, warm_thetas=thetas, seed=seed,
                    settings=settings if reps == settings.reps else dataclasses.replace(settings, reps=reps))
        if o["angles"] in FIXED_STRATEGIES:
            table = fixed_angles if o["angles"] == "fixed" else linear_ramp
            res = qaoa.fixed(table(problem.encoding.name, reps), settings=optimize)
        else:
            res = qaoa.optimize(start=start, settings=optimize,
                                initial_angles=state if o["carry_angles"] and state is not None else None)
        stats = {k: v for k, v in res.stats.items() if k != "seed"} | {
            "warm_start": o["warm_start"], "start_angles": o["angles"], "value": res.value,
            "expectation": res.expectation, "best_energy": res.best_energy,
            "exact_energy": res.ground_energy, "ground_state_probability": res.ground_state_probability,
            "approximation_ratio": res.approximation_ratio, "evaluations": res.evaluations,
            "optimizer_iterations": res.iterations, "wall_time": res.wall_time, "angles": res.angles.tolist(),
        }
        if res.ground_state is not None:
            stats["ground_state"] = res.ground_state
        timing = qaoa.device_timing  # the circuit transpiled for a backend (white noise, or its own noise)
        if timing is not None:  # the hardware time model on that backend
            stats["device_seconds"] = device_seconds(res, o["shots"], o["readout_shots"], timing)
        if o["resources"]:
            key = (op.num_qubits, tuple(sorted(qaoa.masks.tolist())))
            if key not in resource_cache:
                resource_cache[key] = circuit_resources(qaoa.normalized, reps, seed=0)
            stats["circuit"] = resource_cache[key]
        sample = res.best_state.astype(np.int64)
        used = Resources(samples=(o["shots"] or 0) * res.evaluations + o["readout_shots"],
                         evaluations=res.evaluations, circuit_executions=res.evaluations + 1,
                         simulation_seconds=res.simulation_seconds)
        carried = res.angles if o["carry_angles"] and o["angles"] not in FIXED_STRATEGIES else None
        return SampleResult(sample, problem.energy(sample), stats, carried, used)

    def warm(problem) -> None:
        """The circuit resource count of ``problem`` (``circuit_resources``, cached per circuit structure in the
        process), done before a solve is timed so that its round on ``problem`` finds it counted; nothing else."""
        if o["resources"]:
            reps = ramp_reps(problem.num_qubits) if o["angles"] == "ramp" else o["reps"]
            circuit_resources(normalize_cost(*problem.to_ising())[4], reps, seed=0)

    sample_solver.warm = warm
    return sample_solver


#: the sample solvers of ``qaoa_sampler`` have ``warm(problem)`` (``qrp.discrete.driver.warm_solve``)
qaoa_sampler.warms = True
