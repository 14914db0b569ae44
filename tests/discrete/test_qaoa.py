"""The "qaoa" solver on risk-parity problems (issue 4): ground states, refinement, warm start, resources, bad input.
Small instances only (<= 8 qubits). The engine itself: tests/quantum/test_qaoa_engine.py."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit.quantum_info import SparsePauliOp

import qrp
from qrp.data.loaders import example_covariance
from qrp.discrete.exact import exact_minimum
from qrp.quantum import statevector as sv
from qrp.quantum.circuits import circuit_resources, clear_resource_cache, resource_cache_info
from qrp.quantum.qaoa import QAOA
from tests.quantum.test_qaoa_engine import random_ising

COV = np.asarray(example_covariance())


def test_cost_diagonal_matches_problem_energies():
    problem = qrp.discretize(COV[:3, :3], 2, formulation="pairwise")  # degree-4 terms
    op, offset = problem.to_ising()
    d = sv.cost_diagonal(op, offset)
    n = problem.num_qubits
    samples = (np.arange(2**n)[:, None] >> np.arange(n)) & 1
    assert np.allclose(d, problem.energies(samples), rtol=1e-9, atol=1e-12 * np.abs(d).max())
    masks, coeffs = sv.z_masks(op)
    assert np.allclose(sv.sample_energies(masks, coeffs, offset, np.arange(2**n)), d, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(("n_assets", "formulation"), [(3, "log_barrier"), (4, "log_barrier"), (3, "pairwise")])
def test_qaoa_finds_exact_ground_state(n_assets, formulation):
    cov = COV[:n_assets, :n_assets]
    problem = qrp.discretize(cov, 2, formulation=formulation)
    n = problem.num_qubits
    _, e_exact, _, atol = exact_minimum(problem)
    op, offset = problem.to_ising()
    res = QAOA(op, offset, reps=2, seed=7).optimize(readout_shots=1024)
    p = res.ground_state_probability
    # amplified above uniform (measured: 6.6x, 11.6x, 5.5x for the three cases), and found by the readout with
    # probability 1 - (1 - p)^shots
    assert p >= 4.0 / 2**n
    assert 1.0 - (1.0 - p) ** 1024 > 0.999
    assert res.ground_energy == pytest.approx(e_exact, rel=1e-9, abs=atol)
    assert problem.energy(res.best_state) == pytest.approx(e_exact, rel=1e-9, abs=atol)
    assert res.approximation_ratio > 0.85 and res.ground_state
    assert res.evaluations >= 2 and res.iterations >= 1


def test_solver_through_risk_parity_matches_exact_solver():
    cov = COV[:3, :3]
    res = qrp.risk_parity(cov, solver="qaoa", bits=2, reps=2, seed=3)
    ex = qrp.risk_parity(cov, solver="exact", bits=2)
    assert res.num_qubits == 6 and res.solver == "qaoa" and res.seed == 3
    assert res.energy == pytest.approx(ex.energy, rel=1e-9)
    assert res.rc_error == pytest.approx(ex.rc_error, rel=1e-9)
    stats = res.history[0].stats
    assert stats["ground_state"] and stats["exact_energy"] == pytest.approx(ex.energy, rel=1e-9)
    r = stats["circuit"]  # the circuit cost; history[0].resources are the sample counts
    assert r["qubits"] == 6 and r["all_to_all"]["two_qubit_gates"] > 0
    again = qrp.risk_parity(cov, solver="qaoa", bits=2, reps=2, seed=3)
    assert again.history[0].stats["angles"] == stats["angles"]  # seeded, reproducible


def test_refinement_carries_angles_and_improves():
    cov = COV[:3, :3]
    res = qrp.risk_parity(cov, solver="qaoa", bits=2, rounds=5, tol=0.0, seed=0, resources=False)
    assert len(res.history) == 5
    inits = [h.stats["init"] for h in res.history]
    assert inits[0] == "ramp" and set(inits[1:]) <= {"given", "ramp"}  # carried when they start below the ramp
    assert inits.count("given") >= 2
    assert res.rc_error < 0.5 * res.history[0].rc_error
    # boxes narrow round after round (the offset dwarfs the spread); the normalized cost keeps QAOA on target
    assert all(h.stats["ground_state"] for h in res.history)


def test_cvar_tail_beats_mean_objective_on_its_tail():
    problem = qrp.discretize(COV[:3, :3], 2)
    op, offset = problem.to_ising()
    alpha = 0.2
    mean = QAOA(op, offset, reps=2, seed=1).optimize()
    tail = QAOA(op, offset, reps=2, seed=1, alpha=alpha)
    res = tail.optimize()
    # the CVaR-optimized angles have a lower alpha-tail than the mean-optimized ones, and no worse readout
    assert res.value <= tail.objective(mean.angles) + 1e-12
    assert res.best_energy <= mean.best_energy + 1e-12


def test_cvar_with_shots_on_aer():
    problem = qrp.discretize(COV[:2, :2], 2)
    op, offset = problem.to_ising()
    res = QAOA(op, offset, reps=2, shots=256, alpha=0.25, seed=5).optimize(max_evals=40)
    assert res.stats["engine"] == "aer"
    assert res.ground_state_probability > 1 / 16
    assert res.best_energy == pytest.approx(res.ground_energy, rel=1e-9)


def test_noise_from_generic_backend_runs():
    from qiskit.providers.fake_provider import GenericBackendV2

    problem = qrp.discretize(COV[:2, :2], 2)
    op, offset = problem.to_ising()
    backend = GenericBackendV2(5, noise_info=True, seed=1)
    res = QAOA(op, offset, reps=1, shots=200, noise=backend, seed=2).optimize(max_evals=10, readout_shots=200)
    assert res.best_state.shape == (4,) and np.isfinite(res.value)


def test_resources_grow_with_n():
    rows = []
    for n_assets in (2, 3, 4):
        op, _ = qrp.discretize(COV[:n_assets, :n_assets], 2).to_ising()
        rows.append(circuit_resources(op, 2))
    for key in ("all_to_all", "heavy_hex"):
        cx = [r[key]["two_qubit_gates"] for r in rows]
        depth = [r[key]["depth"] for r in rows]
        assert cx[0] < cx[1] < cx[2] and depth[0] < depth[2]
    assert [r["qubits"] for r in rows] == [4, 6, 8]
    assert all(r["heavy_hex"]["two_qubit_gates"] >= r["all_to_all"]["two_qubit_gates"] for r in rows)


#: The resources committed in results/quickstart (3 assets x 2 bits, factor_covariance(3, n_factors=3, seed=2026)),
#: computed there before circuit_resources had a cache: (all_to_all depth, cx), (heavy_hex depth, cx, qubits).
QUICKSTART_RESOURCES = {1: ((36, 30), (77, 63, 19)), 2: ((60, 60), (137, 129, 19))}


@pytest.mark.parametrize("reps", [1, 2])
def test_resources_cached_per_structure_and_identical(reps):
    from qrp.data.synthetic import factor_covariance
    from qrp.quantum.circuits import _transpiled_resources

    op, offset = qrp.discretize(factor_covariance(3, n_factors=3, seed=2026), 2).to_ising()
    normalized = QAOA(op, offset, reps=reps).normalized
    clear_resource_cache()
    first = circuit_resources(normalized, reps, seed=0)
    (a_depth, a_cx), (h_depth, h_cx, h_qubits) = QUICKSTART_RESOURCES[reps]
    assert first == {"qubits": 6, "reps": reps, "cost_terms": 21,
                     "all_to_all": {"depth": a_depth, "two_qubit_gates": a_cx, "physical_qubits": 6},
                     "heavy_hex": {"depth": h_depth, "two_qubit_gates": h_cx, "physical_qubits": h_qubits}}
    # other coefficients on the same Pauli terms (another box, another covariance): the same circuit structure
    rng = np.random.default_rng(reps)
    for _ in range(3):
        other = SparsePauliOp(normalized.paulis, rng.standard_normal(len(normalized)))
        assert circuit_resources(other, reps, seed=0) == first == _transpiled_resources(other, reps, 0, True)
    assert resource_cache_info() == {"hits": 3, "misses": 1, "size": 1}
    first["heavy_hex"]["depth"] = -1  # the caller's copy: the cache is untouched
    assert circuit_resources(normalized, reps, seed=0)["heavy_hex"]["depth"] == h_depth
    circuit_resources(normalized, reps, seed=0, heavy_hex=False)  # another key
    circuit_resources(SparsePauliOp(normalized.paulis[::-1], normalized.coeffs[::-1]), reps, seed=0)  # term order
    assert resource_cache_info()["misses"] == 3


def test_qaoa_solver_transpiles_once_per_structure():
    from qrp.data.synthetic import factor_covariance

    cov = factor_covariance(3, n_factors=3, seed=2026)
    clear_resource_cache()
    runs = [qrp.risk_parity(cov, solver="qaoa", bits=2, reps=1, rounds=r, seed=0, max_evals=20) for r in (1, 3)]
    assert resource_cache_info()["misses"] == 1
    first = runs[0].history[0].stats["circuit"]
    assert all(h.stats["circuit"] == first for res in runs for h in res.history)


def test_too_many_qubits_refused_before_allocating():
    op, _ = random_ising(3, 0)
    with pytest.raises(ValueError, match=r"3 qubits would need .* GiB.*max_qubits=2"):
        QAOA(op, reps=1, max_qubits=2)
    big = SparsePauliOp.from_sparse_list([("Z", [0], 1.0)], 60)  # 2^60 amplitudes: refused, not allocated
    with pytest.raises(ValueError, match="60 qubits"):
        QAOA(big)
    with pytest.raises(ValueError, match="12 qubits"):
        qrp.risk_parity(COV[:6, :6], solver="qaoa", bits=2, max_qubits=10)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"reps": 0}, "reps"),
        ({"alpha": 0.0}, "alpha"),
        ({"alpha": 1.5}, "alpha"),
        ({"shots": 0}, "shots"),
        ({"optimizer": "adam"}, "optimizer"),
        ({"init": "random"}, "init"),
        ({"engine": "gpu"}, "engine"),
        ({"noise": {"p1": 2.0}, "shots": 10}, "noise"),
        ({"noise": {"p1": 0.01}}, "shots"),
        ({"epsilon": 0.7}, "epsilon"),
    ],
)
def test_bad_options_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        qrp.risk_parity(COV[:2, :2], solver="qaoa", bits=2, **kwargs)


def test_qiskit_optimization_qaoa_finds_same_optimum():
    from qiskit.transpiler import generate_preset_pass_manager
    from qiskit_aer import AerSimulator
    from qiskit_aer.primitives import SamplerV2
    from qiskit_optimization.algorithms import MinimumEigenOptimizer
    from qiskit_optimization.minimum_eigensolvers import QAOA as QiskitQAOA
    from qiskit_optimization.optimizers import COBYLA

    problem = qrp.discretize(COV[:2, :2], 2)
    qp = problem.to_quadratic_program()
    pm = generate_preset_pass_manager(optimization_level=1, backend=AerSimulator())
    mes = QiskitQAOA(sampler=SamplerV2(seed=11), optimizer=COBYLA(maxiter=50), reps=2, pass_manager=pm)
    theirs = MinimumEigenOptimizer(mes).solve(qp)
    ours = qrp.risk_parity(COV[:2, :2], solver="qaoa", bits=2, reps=2, seed=11, resources=False)
    _, e_exact, _, atol = exact_minimum(problem)
    assert theirs.fval == pytest.approx(e_exact, rel=1e-9, abs=atol)
    assert problem.energy(np.rint(theirs.x).astype(int)) == pytest.approx(ours.energy, rel=1e-9, abs=atol)
