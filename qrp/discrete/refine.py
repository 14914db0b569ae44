"""Iterative refinement: the hybrid loop that lets any solver of the discrete problem approach classical accuracy.

Round r solves the binary problem of ``qrp.discretize`` on a box [lo, hi] (in the formulation's variable: y for
log_barrier, w for pairwise) with a pluggable ``sample_solver``, decodes the sample, measures ``rc_error`` and builds
the next box around the decoded values v:

    h_i = (hi_i - lo_i) / 2                     (current half-width of asset i)
    h_i <- h_i * shrink       if asset i is strictly inside its levels (level m_i not 0 or 2^K - 1),
    h_i <- h_i / shrink       if it sits on the box edge (the optimum may lie outside: grow),
    h_i <- min(h_i, 0.9 v_i)  (the box never reaches zero or negative values),
    [lo, hi] <- [v - h, v + h].

With K = 1 every level is an edge, so all assets shrink. The grid step therefore falls geometrically, by ``shrink``
per round, and so does the distance of the discrete minimizer to the continuous one: rc_error falls geometrically
while the solver finds (near-)ground states. The loop stops early when rc_error <= tol and returns the round with
the smallest rc_error.

A sample solver is any callable ``sample_solver(problem, *, seed, state) -> SampleResult``; ``seed`` is the round's
seed, derived from the run seed by ``numpy.random.SeedSequence(seed).spawn(rounds)`` (so round r of a run is
reproducible on its own), and ``state`` is what the previous round returned in ``SampleResult.state`` (e.g. QAOA
angles; None in round 0). It reports what it used in ``SampleResult.resources``; each round is recorded as a typed
``RefinementRound`` and the resources of all rounds are summed into ``stats["resources"]``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qrp.core.measures import contributions_kernel, rc_error_kernel
from qrp.core.result import RefinementRound, Resources, SolverOutput
from qrp.core.validation import MAX_ROUNDS, bounded_int, check_discretizable, check_seed, validate_problem
from qrp.discrete.box import box_resolvable, check_box_resolvable, initial_box
from qrp.discrete.options import DEFAULTS, Discretization, check_encoding_formulation
from qrp.discrete.problem import DiscreteProblem

#: The half-width never exceeds this fraction of the centre value (keeps lo > 0).
MAX_RELATIVE_HALF_WIDTH = 0.9


@dataclass(frozen=True)
class SampleResult:
    """What a sample solver returns for one discrete problem.

    Attributes
    ----------
    sample : (n,) int array of 0/1, n = problem.num_qubits, variable i*K + k = bit k of asset i.
    energy : problem.energy(sample) as the solver computed it.
    stats : JSON-friendly diagnostics of this solve (reads, timings, ground-state flags, ...).
    state : anything to hand to the next round's call (e.g. QAOA angles), else None.
    resources : what this solve used (``Resources``: samples, evaluations, circuit executions, simulator time).
    """

    sample: np.ndarray
    energy: float
    stats: dict[str, Any] = field(default_factory=dict)
    state: Any = None
    resources: Resources = field(default_factory=Resources)


SampleSolver = Callable[..., SampleResult]
#: Seeds ``round_seeds`` spawns at most (refinement rounds x blocks of a decomposition).
MAX_SEEDS = 10**7


def round_seeds(seed: int | None, rounds: int) -> tuple[list[int], int]:
    """One seed in [0, 2^31) per round (the range dwave-samplers accepts) from ``SeedSequence(seed).spawn(rounds)``,
    and the sequence's entropy (recorded so that a ``seed=None`` run can be replayed). At most ``MAX_SEEDS``
    (``ValueError`` before spawning: 10^9 seeds would take minutes and gigabytes)."""
    rounds = bounded_int(rounds, "the number of seeds (rounds x blocks)", maximum=MAX_SEEDS)
    ss = np.random.SeedSequence(check_seed(seed))
    return [int(c.generate_state(1, dtype=np.uint32)[0] >> 1) for c in ss.spawn(rounds)], int(ss.entropy)


def on_edge(problem, sample) -> np.ndarray:
    """(N,) bool: the asset's level is the lowest or highest of its box (never for K = 1)."""
    if problem.bits == 1:
        return np.zeros(problem.n_assets, dtype=bool)
    lv = problem.levels(sample)
    return (lv == 0) | (lv == 2**problem.bits - 1)


def next_box(problem, sample, shrink: float) -> tuple[np.ndarray, np.ndarray]:
    """The box of the next round (module docstring)."""
    v = problem.values(sample)
    lo, hi = problem.box
    h = 0.5 * (hi - lo)
    h = np.where(on_edge(problem, sample), h / shrink, h * shrink)
    h = np.minimum(h, MAX_RELATIVE_HALF_WIDTH * v)
    return v - h, v + h


def refine(
    cov,
    budgets,
    *,
    bits: int,
    formulation: str = DEFAULTS.formulation,
    rounds: int,
    tol: float,
    seed: int | None,
    sample_solver: SampleSolver,
    box=None,
    shrink: float = DEFAULTS.shrink,
    radius: float = DEFAULTS.radius,
    log_fit: str = DEFAULTS.log_fit,
    penalty: float = DEFAULTS.penalty,
    encoding: str = DEFAULTS.encoding,
) -> SolverOutput:
    """Solve ``rounds`` discrete problems on shrinking boxes (module docstring) and return the best round.

    Parameters
    ----------
    cov, budgets : covariance and risk budgets (None: ERC), validated as by ``qrp.risk_parity``.
    bits, formulation, box, radius, log_fit, penalty, encoding : as in ``qrp.discretize`` (``box``: round 0's).
    rounds : >= 1 rounds at most; round 0 solves exactly the problem ``qrp.discretize`` builds.
    tol : stop once rc_error <= tol (0: run every round).
    seed : run seed (None: fresh entropy, recorded in ``stats["seed_entropy"]``).
    sample_solver : ``sample_solver(problem, *, seed, state) -> SampleResult``.
    shrink : factor in (0, 1) applied to the half-width of every asset not on the box edge.

    Returns
    -------
    SolverOutput with weights of the round of smallest rc_error, its energy, ``num_qubits``, ``converged``
    (rc_error <= tol), ``iterations`` = rounds run and ``history``: one ``RefinementRound`` per round.
    """
    disc = Discretization.validated(bits=bits, formulation=formulation, rounds=rounds, box=box, shrink=shrink,
                                    radius=radius, log_fit=log_fit, penalty=penalty, encoding=encoding)
    p = validate_problem(cov, budgets)
    return run_refinement(p.cov, p.budgets, disc, tol=tol, seed=seed, sample_solver=sample_solver)


def run_refinement(s: np.ndarray, b: np.ndarray, disc: Discretization, *, tol: float, seed: int | None,
                   sample_solver: SampleSolver) -> SolverOutput:
    """``refine`` on an already validated covariance ``s``, budgets ``b`` and ``disc`` (``disc.rounds`` set)."""
    if isinstance(tol, bool) or not np.isfinite(tol) or tol < 0:
        raise ValueError(f"tol must be a finite number >= 0, got {tol!r}")
    if not callable(sample_solver):
        raise ValueError(f"sample_solver must be callable, got {sample_solver!r}")
    rounds = bounded_int(disc.rounds, "rounds", maximum=MAX_ROUNDS)
    check_discretizable(s, b)
    check_encoding_formulation(disc)
    lo, hi = initial_box(s, b, disc)
    seeds, entropy = round_seeds(seed, rounds)

    history: list[RefinementRound] = []
    best: tuple[float, np.ndarray, float, int] | None = None
    state = None
    problem = None
    for r in range(rounds):
        if r == 0:
            check_box_resolvable(lo, hi, disc.bits)
        elif not box_resolvable(lo, hi, disc.bits):  # the levels no longer differ in float64: nothing finer to find
            break
        t0 = time.perf_counter()
        problem = DiscreteProblem.on_box(s, b, disc, lo, hi)
        res = sample_solver(problem, seed=seeds[r], state=state)
        sample = np.asarray(res.sample)
        if sample.shape != (problem.num_qubits,):
            raise ValueError(f"sample_solver returned a sample of shape {sample.shape}, not ({problem.num_qubits},)")
        w = problem.decode(sample)
        err = rc_error_kernel(contributions_kernel(w, s), b)
        energy = problem.energy(sample)
        history.append(RefinementRound(
            round=r, seed=seeds[r], box=(lo.tolist(), hi.tolist()), energy=energy, rc_error=err,
            on_edge=int(on_edge(problem, sample).sum()), elapsed=time.perf_counter() - t0, stats=res.stats,
            resources=res.resources,
        ))
        if best is None or err < best[0]:
            best = (err, w, energy, r)
        if err <= tol:
            break
        lo, hi = next_box(problem, sample, disc.shrink)
        state = res.state
    err, w, energy, best_round = best
    stats = {
        "formulation": disc.formulation,
        "bits": disc.bits,
        **({} if disc.encoding == "binary" else {"encoding": disc.encoding}),
        "rounds_run": len(history),
        "best_round": best_round,
        "shrink": disc.shrink,
        "seed_entropy": entropy,
        "resources": sum((h.resources for h in history), Resources()).to_dict(),
    }
    return SolverOutput(
        weights=w,
        converged=bool(np.isfinite(err) and err <= tol),
        iterations=len(history),
        energy=energy,
        num_qubits=problem.num_qubits,
        history=tuple(history),
        stats=stats,
    )
