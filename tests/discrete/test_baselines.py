"""Classical null baselines (issue 11): random, greedy, rounding, tabu, and the continuous relaxation."""

from __future__ import annotations

import numpy as np
import pytest

import qrp
from qrp.data.synthetic import factor_covariance
from qrp.discrete.baselines import descend, greedy_sampler, random_sampler, rounding_sampler, tabu_sampler
from qrp.discrete.exact import exact_minimum
from qrp.discrete.relax import box_minimizer, nearest_sample, relaxed_bits


def cov_of(n: int, seed: int) -> np.ndarray:
    return factor_covariance(n, seed=seed).to_numpy()


def single_flips(x: np.ndarray) -> np.ndarray:
    return x[None, :] ^ np.eye(len(x), dtype=np.int64)


@pytest.mark.parametrize(("n_assets", "bits", "seed"), [(2, 3, 0), (3, 2, 1), (3, 2, 2), (2, 2, 3), (6, 1, 4)])
def test_random_finds_the_ground_state_at_six_qubits(n_assets, bits, seed):
    problem = qrp.discretize(cov_of(n_assets, seed), bits)
    res = random_sampler(shots=1024)(problem, seed=seed, state=None)
    _, exact_e, _, _ = exact_minimum(problem)
    assert res.energy == pytest.approx(exact_e, rel=1e-12)
    assert res.stats["ground_state"] is True
    assert res.resources.samples == res.resources.evaluations == 1024


def test_random_is_seeded_and_draws_fresh_per_seed():
    problem = qrp.discretize(cov_of(5, 0), 3)  # 15 qubits: 1024 shots rarely agree on the best
    a = random_sampler(shots=64)(problem, seed=1, state=None)
    b = random_sampler(shots=64)(problem, seed=1, state=None)
    c = random_sampler(shots=64)(problem, seed=2, state=None)
    assert np.array_equal(a.sample, b.sample)
    assert not np.array_equal(a.sample, c.sample)


@pytest.mark.parametrize("formulation", ["log_barrier", "pairwise"])
def test_greedy_returns_a_local_minimum(formulation):
    problem = qrp.discretize(cov_of(4, 5), 3, formulation=formulation)
    res = greedy_sampler(starts=5)(problem, seed=3, state=None)
    here = problem.relative_energies(res.sample[None, :])[0]
    assert np.all(problem.relative_energies(single_flips(res.sample)) >= here)
    assert res.resources.samples == 5 and res.resources.evaluations >= 5 * problem.num_qubits


def test_descend_counts_its_neighbour_evaluations():
    problem = qrp.discretize(cov_of(3, 0), 2)
    x, _, _, _ = exact_minimum(problem)
    x_out, _, evals = descend(problem, x[None, :])
    assert np.array_equal(x_out[0], x) and evals == problem.num_qubits  # one look around a minimum: n flips
    worst = 1 - x  # far from the minimum: every step is one more look around
    _, e2, evals2 = descend(problem, worst[None, :])
    assert e2[0] <= problem.relative_energies(worst[None, :])[0] and evals2 % problem.num_qubits == 0


@pytest.mark.parametrize("bits", [1, 3, 4])
def test_rounding_equals_exact_on_a_separable_convex_instance(bits):
    # diagonal covariance: the surrogate is a sum of 1-D convex quadratics, each minimized over its grid by the
    # level nearest to its (box-clipped) vertex, so rounding is exact without polish
    cov = np.diag([0.04, 0.09, 0.01, 0.0225])
    budgets = np.array([0.1, 0.2, 0.3, 0.4])
    problem = qrp.discretize(cov, bits, budgets=budgets, box=(0.3, 4.0))
    _, exact_e, _, _ = exact_minimum(problem)
    for polish in (False, True):
        res = rounding_sampler(polish=polish)(problem, seed=0, state=None)
        assert res.energy == pytest.approx(exact_e, rel=1e-12, abs=0)
        assert res.stats["ground_state"] is True
    assert res.resources.samples == 1


def test_rounding_polish_only_lowers_the_energy():
    problem = qrp.discretize(cov_of(6, 2), 3)
    res = rounding_sampler()(problem, seed=0, state=None)
    assert res.stats["polish_gain"] >= 0
    here = problem.relative_energies(res.sample[None, :])[0]
    assert np.all(problem.relative_energies(single_flips(res.sample)) >= here)


def test_box_minimizer_solves_the_box_qp():
    # unconstrained when the vertex is inside: the gradient of G vanishes; on a tiny box: KKT signs at the bounds
    cov = cov_of(5, 7)
    problem = qrp.discretize(cov, 3, box=(0.01, 50.0))
    v, _ = box_minimizer(problem)
    lo = problem.box[0]
    grad = cov @ v + problem.log_coef[:, 1] + 2 * problem.log_coef[:, 2] * (v - lo)
    assert np.max(np.abs(grad)) < 1e-9 * np.max(np.abs(problem.log_coef[:, 1]))
    narrow = qrp.discretize(cov, 3)
    v, _ = box_minimizer(narrow)
    lo, hi = narrow.box
    g = cov @ v + narrow.log_coef[:, 1] + 2 * narrow.log_coef[:, 2] * (v - lo)
    inside = (v > lo + 1e-12) & (v < hi - 1e-12)
    assert np.all(np.abs(g[inside]) < 1e-8) and np.all(g[v <= lo + 1e-12] >= 0) and np.all(g[v >= hi - 1e-12] <= 0)


def test_relaxed_bits_reproduce_the_relaxed_level():
    problem = qrp.discretize(cov_of(4, 3), 3)
    c = relaxed_bits(problem)
    v, _ = box_minimizer(problem)
    level = (c.reshape(4, 3) * 2.0 ** np.arange(3)).sum(axis=1)
    assert np.all((c > 0) & (c < 1))
    assert np.allclose(problem.box[0] + problem.step * level, v, rtol=1e-10)
    centre = qrp.discretize(0.5 * np.eye(2), 2, box=(0.5, 1.5))  # vertex y = 1 at the centre of each box: c = 1/2
    assert np.allclose(relaxed_bits(centre), 0.5)
    assert np.array_equal(nearest_sample(centre, np.array([0.5, 1.5])), [0, 0, 1, 1])


def test_tabu_finds_the_ground_state_and_is_seeded():
    problem = qrp.discretize(cov_of(3, 1), 2)
    solver = tabu_sampler(num_reads=2, num_restarts=1, max_moves=200)
    res = solver(problem, seed=4, state=None)
    assert res.stats["ground_state"] is True
    assert np.array_equal(res.sample, solver(problem, seed=4, state=None).sample)
    assert res.resources.samples == 2 and res.resources.evaluations == 2 * 2 * 200 * problem.num_qubits


def test_tabu_on_the_quadratized_pairwise_problem_scores_the_bits():
    # the quadratization's penalties dominate its landscape: tabu need not find the ground state, but what it
    # returns is scored as the discrete problem's energy of its n bits
    problem = qrp.discretize(cov_of(3, 1), 2, formulation="pairwise")
    res = tabu_sampler(num_reads=2, num_restarts=1, max_moves=200)(problem, seed=4, state=None)
    assert res.sample.shape == (6,) and res.energy == pytest.approx(problem.energy(res.sample), rel=1e-14)
    assert res.stats["num_auxiliary"] == problem.num_auxiliary > 0
    assert res.energy >= res.stats["exact_energy"]


@pytest.mark.parametrize(("solver", "bad"), [
    ("random", {"shots": 0}), ("greedy", {"starts": 1.5}), ("rounding", {"polish": 1}),
    ("tabu", {"max_moves": -1}), ("tabu", {"num_restarts": True}),
])
def test_bad_options_raise_naming_the_option(solver, bad):
    # validated once, by the registry (the factories trust what it hands them); an unknown name is still refused
    with pytest.raises(ValueError, match=next(iter(bad))):
        qrp.get_solver(solver).validate_options(bad)
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['shot'\]"):
        random_sampler(shot=3)


# -- through the registry: usable wherever a discrete solver is ------------------------------------------------------
@pytest.mark.parametrize(("solver", "options"), [
    ("random", {"shots": 256}), ("greedy", {"starts": 4}), ("rounding", {}),
    ("tabu", {"num_reads": 2, "num_restarts": 1, "max_moves": 200}),
])
def test_null_solvers_run_through_risk_parity_and_refine(solver, options):
    cov = cov_of(3, 0)
    res = qrp.risk_parity(cov, solver=solver, bits=2, rounds=4, tol=0.0, seed=2, **options)
    exact = qrp.risk_parity(cov, solver="exact", bits=2, rounds=4, tol=0.0)
    assert res.solver == solver and len(res.history) == 4 and res.num_qubits == 6
    assert res.history[0].stats["ground_state"] is True  # 6 qubits: each of them finds round 0's ground state
    assert res.history[0].energy == pytest.approx(exact.history[0].energy, rel=1e-12)
    again = qrp.risk_parity(cov, solver=solver, bits=2, rounds=4, tol=0.0, seed=2, **options)
    assert np.array_equal(res.weights, again.weights)  # seeded


def test_null_solver_options_are_declared_and_checked_before_work():
    with pytest.raises(ValueError, match="shots"):
        qrp.risk_parity(cov_of(3, 0), solver="random", shots=0)
    with pytest.raises(ValueError, match="does not take"):
        qrp.risk_parity(cov_of(3, 0), solver="greedy", shots=10)


@pytest.mark.parametrize(("solver", "options", "per_round"), [
    ("random", {"shots": 100}, lambda r, n: (100, 100)),
    ("tabu", {"num_reads": 3, "num_restarts": 2, "max_moves": 50}, lambda r, n: (3, 3 * 3 * 50 * n)),
    ("sa", {"num_reads": 4, "num_sweeps": 10}, lambda r, n: (4, 4 * 10 * n)),
    ("exact", {}, lambda r, n: (2**n, 0)),
])
def test_resource_counts_add_up_over_rounds(solver, options, per_round):
    res = qrp.risk_parity(cov_of(3, 1), solver=solver, bits=2, rounds=3, tol=0.0, seed=0, **options)
    total = res.stats["resources"]
    assert total["samples"] == sum(h.resources.samples for h in res.history)
    assert total["evaluations"] == sum(h.resources.evaluations for h in res.history)
    for h in res.history:
        assert (h.resources.samples, h.resources.evaluations) == per_round(h, res.num_qubits)


def test_qaoa_samples_are_evaluations_times_shots_plus_readout():
    res = qrp.risk_parity(cov_of(2, 0), solver="qaoa", bits=2, rounds=2, tol=0.0, seed=0, reps=1, shots=32,
                          readout_shots=64, max_evals=8, resources=False)
    for h in res.history:
        r = h.resources
        assert r.evaluations == h.stats["evaluations"] > 0
        assert r.samples == r.evaluations * 32 + 64
        assert r.circuit_executions == r.evaluations + 1
        assert 0 < r.simulation_seconds <= h.stats["wall_time"]
    total = res.stats["resources"]
    assert total["samples"] == sum(h.resources.samples for h in res.history)
    assert total["simulation_seconds"] == pytest.approx(sum(h.resources.simulation_seconds for h in res.history))
