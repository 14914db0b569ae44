"""Classical null baselines for the discrete ERC problem: sample solvers "random", "greedy", "rounding", "tabu".

A claim about QAOA or annealing on ``qrp.discretize``'s problem means something only against what cheap classical
heuristics reach with the same resources (issue 11). Each factory here returns a ``qrp.refine`` sample solver
``sample_solver(problem, *, seed, state) -> SampleResult`` (``state`` is ignored) that reports its work in
``SampleResult.resources`` (``samples``: bitstrings returned or drawn; ``evaluations``: energies evaluated, each
single-flip neighbour energy counting one):

``random``   the lowest-energy of ``shots`` uniformly random bitstrings (seeded). It finds a ground state with
             probability 1 - (1 - g / 2^n)^shots for g degenerate ground states: the null model of any sampler's
             readout. samples = evaluations = shots.
``greedy``   steepest descent by single bit flips (take the best improving flip until none improves) from
             ``starts`` random bitstrings; returns the best local minimum. On the QUBO (log_barrier) the descent is
             dwave-samplers' ``SteepestDescentSolver``; the pairwise problem is degree 4 and its BQM quadratized
             (a local minimum over bits and product variables is not one over the bits), so there ``descend`` runs
             on the discrete energy itself. Either way ``descend`` finishes on ``problem.relative_energies``, so the
             result is a local minimum of the problem's own energy. evaluations = (steps + 1) n per start.
``rounding`` the minimizer of the box's continuous relaxation (``qrp.discrete.relax.box_minimizer``: the convex
             box QP of the log_barrier surrogate, solved exactly), rounded to the nearest level of each asset's
             grid, then (``polish``) improved by ``descend``. samples = 1.
``tabu``     dwave-samplers' ``TabuSampler`` (multistart tabu search, Palubeckis 2004) on ``problem.to_bqm()``, run
             by a move budget instead of its default wall-clock timeout, so that a seed fixes the result:
             ``num_reads`` searches, each ``1 + num_restarts`` simple tabu searches of ``max_moves`` move
             evaluations. evaluations = num_reads (1 + restarts) max_moves, the searches' budget (each runs to it:
             no time limit or energy threshold is set).

Every result is re-scored by ``problem.relative_energies`` on the n bits, and (as for "sa") when n <=
``check_ground_state`` the solve is compared with exact enumeration (``ground_state``, ``exact_energy``).
"""

from __future__ import annotations

import numpy as np

from qrp.core.options import bool_option, int_option
from qrp.core.result import Resources
from qrp.discrete.exact import best_sample
from qrp.discrete.options import factory_values, solver_table
from qrp.discrete.refine import SampleResult
from qrp.discrete.relax import box_minimizer, nearest_sample
from qrp.discrete.samplers import GROUND_STATE_CHECK_QUBITS, read_sampleset

#: Bits scored at once, rows x n (bounds memory: 2^21 float64 = 16 MiB, as exact's blocks).
CHUNK_ELEMENTS = 2**21

_CHECK = int_option("check_ground_state", GROUND_STATE_CHECK_QUBITS,
                    "compare with enumeration up to this n (0: never)", minimum=0)
#: Each solver's own options; its registry table is ``discrete_options()`` plus these (``*_OPTIONS`` below).
RANDOM_OWN = (int_option("shots", 1024, "uniform random bitstrings per round"), _CHECK)
GREEDY_OWN = (int_option("starts", 20, "random starts of the steepest descent per round"), _CHECK)
ROUNDING_OWN = (bool_option("polish", True, "improve the rounded sample by steepest descent"), _CHECK)
TABU_OWN = (
    int_option("num_reads", 10, "independent tabu searches per round"),
    int_option("num_restarts", 10, "restarts per search", minimum=0),
    int_option("max_moves", 1000, "moves per simple tabu search (each scans all single flips)"),
    int_option("tenure", None, "tabu list length (None: min(20, n / 4))", minimum=0),
    _CHECK,
)
RANDOM_OPTIONS = solver_table(RANDOM_OWN)
GREEDY_OPTIONS = solver_table(GREEDY_OWN)
ROUNDING_OPTIONS = solver_table(ROUNDING_OWN)
TABU_OPTIONS = solver_table(TABU_OWN)



def scored(problem, x: np.ndarray) -> np.ndarray:
    """``problem.relative_energies`` of the rows of x, about ``CHUNK_ELEMENTS`` bits at a time."""
    rows = max(1, CHUNK_ELEMENTS // x.shape[1])
    return np.concatenate([problem.relative_energies(x[i:i + rows]) for i in range(0, len(x), rows)])


def neighbour_energies(problem, x: np.ndarray) -> np.ndarray:
    """Relative energies (m, n) of every single-bit flip of each row of x (m, n): entry (i, j) is the energy of
    row i with bit j flipped (``problem.relative_energies``, m n evaluations)."""
    m, n = x.shape
    nb = x[:, None, :] ^ np.eye(n, dtype=x.dtype)[None, :, :]  # (m, n, n): every single flip
    return problem.relative_energies(nb.reshape(-1, n)).reshape(m, n)


def descend(problem, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Steepest descent by single bit flips on ``problem.relative_energies`` from each row of x (m, n): flip the
    bit whose flip lowers the energy most, until no flip lowers it. Returns (local minima (m, n), their relative
    energies, neighbour energies evaluated)."""
    x = np.array(x, dtype=np.int8, copy=True)
    m, n = x.shape
    energy = scored(problem, x)
    active = np.arange(m)
    evaluations = 0
    per_chunk = max(1, CHUNK_ELEMENTS // (n * n))
    while active.size:
        still = []
        for part in np.array_split(active, -(-active.size // per_chunk)):
            e = neighbour_energies(problem, x[part])
            evaluations += e.size
            j = np.argmin(e, axis=1)
            ej = e[np.arange(len(part)), j]
            down = ej < energy[part]
            rows = part[down]
            x[rows, j[down]] ^= 1
            energy[rows] = ej[down]
            still.append(rows)
        active = np.concatenate(still)
    return x.astype(np.int64), energy, evaluations


def random_sampler(**options):
    """Registry solver "random" (a sample-solver factory): the best of ``shots`` uniform bitstrings drawn by
    ``default_rng(seed)``. Options: ``RANDOM_OWN``."""
    shots, check_ground_state = factory_values(RANDOM_OWN, options).values()

    def sample_solver(problem, *, seed, state) -> SampleResult:
        x = np.random.default_rng(seed).integers(0, 2, size=(shots, problem.num_qubits), dtype=np.int8)
        return best_sample(problem, x, scored(problem, x), {"shots": shots},
                           Resources(samples=shots, evaluations=shots), check_ground_state)

    return sample_solver


def greedy_sampler(**options):
    """Registry solver "greedy" (a sample-solver factory): the best of ``starts`` steepest descents from uniform
    random bitstrings. Options: ``GREEDY_OWN``."""
    from dwave.samplers import SteepestDescentSolver  # heavy dependency: loaded when the solver is built

    starts, check_ground_state = factory_values(GREEDY_OWN, options).values()
    solver = SteepestDescentSolver()

    def sample_solver(problem, *, seed, state) -> SampleResult:
        n = problem.num_qubits
        x0 = np.random.default_rng(seed).integers(0, 2, size=(starts, n), dtype=np.int8)
        evaluations = 0
        if problem.is_quadratic:
            ss = solver.sample(problem.to_bqm(), initial_states=(x0, list(range(n))))
            cols = [ss.variables.index(p) for p in range(n)]
            x0 = ss.record.sample[:, cols].astype(np.int8)
            evaluations = int((ss.record.num_steps.astype(np.int64) + 1).sum()) * n
        x, energy, more = descend(problem, x0)
        stats = {"starts": starts}
        return best_sample(problem, x, energy, stats, Resources(samples=starts, evaluations=evaluations + more),
                           check_ground_state)

    return sample_solver


def rounding_sampler(**options):
    """Registry solver "rounding" (a sample-solver factory): the box's continuous minimizer rounded to the grid,
    polished by ``descend``. Options: ``ROUNDING_OWN``."""
    polish, check_ground_state = factory_values(ROUNDING_OWN, options).values()

    def sample_solver(problem, *, seed, state) -> SampleResult:
        v, iterations = box_minimizer(problem)
        x = nearest_sample(problem, v)[None, :]
        rounded = float(scored(problem, x)[0])
        if polish:
            x, energy, evaluations = descend(problem, x)
        else:
            energy, evaluations = np.array([rounded]), 0
        stats = {"polish": polish, "continuous_iterations": iterations, "rounded_energy": rounded,
                 "polish_gain": rounded - float(energy[0])}
        pairwise_evals = iterations if not problem.is_quadratic else 0
        return best_sample(problem, x, energy, stats, Resources(samples=1, evaluations=1 + evaluations
                                                                + pairwise_evals), check_ground_state)

    return sample_solver


def tabu_sampler(**options):
    """Registry solver "tabu" (a sample-solver factory): dwave-samplers' TabuSampler by move budget (module
    docstring). Options: ``TABU_OWN``."""
    from dwave.samplers import TabuSampler  # heavy dependency: loaded when the solver is built

    num_reads, num_restarts, max_moves, tenure, check_ground_state = factory_values(TABU_OWN, options).values()
    sampler = TabuSampler()

    def sample_solver(problem, *, seed, state) -> SampleResult:
        bqm = problem.to_bqm()
        if tenure is not None and tenure >= len(bqm.variables):
            raise ValueError(f"tenure must be below the number of variables {len(bqm.variables)}, got {tenure}")
        ss = sampler.sample(bqm, num_reads=num_reads, seed=seed, tenure=tenure, timeout=None,
                            num_restarts=num_restarts, lower_bound_z=max_moves, coefficient_z_first=0,
                            coefficient_z_restart=0)
        x, stats = read_sampleset(problem, ss, len(bqm.variables), check_ground_state)
        restarts = int(ss.record.num_restarts.sum())
        stats |= {"num_reads": num_reads, "num_restarts": num_restarts, "max_moves": max_moves}
        # each tabu move scans every single-flip neighbour of the BQM: one energy evaluation per flip considered
        resources = Resources(samples=num_reads, evaluations=(num_reads + restarts) * max_moves * len(bqm.variables))
        return SampleResult(x, stats["best_energy"], stats, None, resources)

    return sample_solver
