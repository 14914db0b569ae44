"""QAOA engine and the "qaoa" solver (issue 4). Small instances only (<= 8 qubits)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from qiskit.quantum_info import SparsePauliOp

import qrp
from qrp.data.loaders import example_covariance
from qrp.discrete.exact import exact_minimum
from qrp.discrete.qaoa import (
    QAOA,
    circuit_resources,
    interp_angles,
    qaoa_circuit,
    ramp_angles,
    warm_start_thetas,
)
from qrp.quantum import statevector as sv

COV = np.asarray(example_covariance())


def random_ising(n: int, seed: int, quartic: int = 0) -> tuple[SparsePauliOp, float]:
    """Random Z-only Hamiltonian: all Z and ZZ terms plus ``quartic`` random ZZZZ terms, and an offset."""
    rng = np.random.default_rng(seed)
    terms = [("Z", [i], rng.normal()) for i in range(n)]
    terms += [("ZZ", [i, j], rng.normal()) for i in range(n) for j in range(i + 1, n)]
    terms += [("ZZZZ", sorted(rng.choice(n, 4, replace=False).tolist()), rng.normal()) for _ in range(quartic)]
    return SparsePauliOp.from_sparse_list(terms, n), float(rng.normal())


def dense_qaoa_expectation(op, offset, gammas, betas, thetas=None) -> float:
    """Independent reference: dense 2^n matrices, scipy expm for every layer, no qrp code."""
    n = op.num_qubits
    dim = 2**n
    diag = np.full(dim, offset)
    for label, c in zip(op.paulis.to_labels(), op.coeffs.real, strict=True):
        qubits = [n - 1 - k for k, ch in enumerate(label) if ch == "Z"]  # label is big-endian
        for x in range(dim):
            diag[x] += c * (-1) ** sum((x >> q) & 1 for q in qubits)
    x_mat = np.array([[0, 1], [1, 0]], dtype=complex)
    z_mat = np.diag([1.0, -1.0]).astype(complex)
    eye = np.eye(2)

    def on_qubit(m, q):
        out = np.ones((1, 1))
        for k in range(n - 1, -1, -1):
            out = np.kron(out, m if k == q else eye)
        return out

    if thetas is None:
        psi = np.full(dim, dim**-0.5, dtype=complex)
        mixer = sum(on_qubit(x_mat, q) for q in range(n))
    else:
        psi = np.ones(1, dtype=complex)
        for q in range(n - 1, -1, -1):
            psi = np.kron(psi, [np.cos(thetas[q] / 2), np.sin(thetas[q] / 2)])
        mixer = sum(np.cos(t) * on_qubit(z_mat, q) + np.sin(t) * on_qubit(x_mat, q) for q, t in enumerate(thetas))
    scale = np.sqrt(np.sum(op.coeffs.real**2))
    for g, b in zip(gammas, betas, strict=True):
        psi = np.exp(-1j * g * (diag - offset) / scale) * psi
        psi = scipy.linalg.expm(-1j * b * mixer) @ psi
    return float(np.real(np.conj(psi) @ (diag * psi)))


# -- exactness -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("warm", [False, True])
def test_expectation_equals_independent_statevector(warm):
    op, offset = random_ising(5, 3, quartic=3)
    rng = np.random.default_rng(1)
    thetas = rng.uniform(0.2, 2.9, 5) if warm else None
    qaoa = QAOA(op, offset, reps=3, warm_thetas=thetas)
    for _ in range(3):
        x = rng.uniform(-1.5, 1.5, 6)
        ref = dense_qaoa_expectation(op, offset, x[:3], x[3:], thetas)
        assert abs(qaoa.objective(x) - ref) < 1e-10


@pytest.mark.parametrize("warm", [False, True])
def test_fast_path_equals_aer(warm):
    op, offset = random_ising(6, 4, quartic=4)
    rng = np.random.default_rng(2)
    thetas = rng.uniform(0.2, 2.9, 6) if warm else None
    fast = QAOA(op, offset, reps=3, engine="fast", warm_thetas=thetas)
    aer = QAOA(op, offset, reps=3, engine="aer", warm_thetas=thetas)
    assert fast.engine == "fast" and aer.engine == "aer"
    for _ in range(4):
        x = rng.uniform(-2, 2, 6)
        assert abs(fast.objective(x) - aer.objective(x)) < 1e-10


@pytest.mark.filterwarnings("ignore::scipy.sparse.SparseEfficiencyWarning")  # qiskit's own PauliEvolution expm
def test_fast_state_equals_qiskit_statevector():
    from qiskit.quantum_info import Statevector

    op, offset = random_ising(5, 5, quartic=2)
    qaoa = QAOA(op, offset, reps=2)
    qc, gammas, betas = qaoa_circuit(qaoa.normalized, 2)
    x = np.array([0.4, -0.9, 0.7, 0.3])
    bound = qc.assign_parameters({gammas[0]: x[0], gammas[1]: x[1], betas[0]: x[2], betas[1]: x[3]})
    assert np.allclose(qaoa.state(x), Statevector(bound).data, atol=1e-10)


def test_cost_diagonal_matches_problem_energies():
    problem = qrp.discretize(COV[:3, :3], 2, formulation="pairwise")  # degree-4 terms
    op, offset = problem.to_ising()
    d = sv.cost_diagonal(op, offset)
    n = problem.num_qubits
    samples = (np.arange(2**n)[:, None] >> np.arange(n)) & 1
    assert np.allclose(d, problem.energies(samples), rtol=1e-9, atol=1e-12 * np.abs(d).max())
    masks, coeffs = sv.z_masks(op)
    assert np.allclose(sv.sample_energies(masks, coeffs, offset, np.arange(2**n)), d, rtol=1e-12, atol=1e-15)


def test_cvar_matches_sorted_samples():
    rng = np.random.default_rng(0)
    values = rng.normal(size=50)
    counts = rng.integers(1, 5, 50).astype(float)
    expanded = np.sort(np.repeat(values, counts.astype(int)))
    for alpha in (0.1, 0.37, 1.0):
        k = alpha * len(expanded)
        whole = int(np.floor(k))
        ref = (expanded[:whole].sum() + (k - whole) * expanded[whole] if whole < len(expanded) else expanded.sum())
        assert sv.cvar(values, counts, alpha) == pytest.approx(ref / k, rel=1e-12)


def test_interp_and_ramp():
    assert np.allclose(interp_angles(np.array([0.3, 0.7])), [0.3, 0.3, 0.7, 0.7])
    x = np.array([1.0, 2.0, 10.0, 20.0])  # p = 2
    assert np.allclose(interp_angles(x), [1.0, 1.5, 2.0, 10.0, 15.0, 20.0])
    r = ramp_angles(4)
    assert np.all(np.diff(r[:4]) > 0) and np.all(np.diff(r[4:]) < 0)
    assert np.allclose(warm_start_thetas(np.array([0.5])), [np.pi / 2])


# -- finding ground states ---------------------------------------------------------------------------------------
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
    r = stats["resources"]
    assert r["qubits"] == 6 and r["all_to_all"]["two_qubit_gates"] > 0
    again = qrp.risk_parity(cov, solver="qaoa", bits=2, reps=2, seed=3)
    assert again.history[0].stats["angles"] == stats["angles"]  # seeded, reproducible


def test_refinement_carries_angles_and_improves():
    cov = COV[:3, :3]
    res = qrp.risk_parity(cov, solver="qaoa", bits=2, rounds=5, tol=0.0, seed=0, resources=False)
    assert len(res.history) == 5
    assert [h.stats["init"] for h in res.history] == ["ramp"] + ["given"] * 4  # carried angles started lower
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


def test_warm_start_at_least_as_good_as_cold():
    cov = COV[:3, :3]
    cold = qrp.risk_parity(cov, solver="qaoa", bits=2, seed=1, resources=False).history[0].stats
    warm = qrp.risk_parity(cov, solver="qaoa", bits=2, seed=1, resources=False, warm_start=True)
    warm = warm.history[0].stats
    assert warm["warm_start"] and not cold["warm_start"]
    assert warm["approximation_ratio"] >= cold["approximation_ratio"]
    assert warm["ground_state_probability"] >= cold["ground_state_probability"]
    assert warm["best_energy"] <= cold["best_energy"] + 1e-12


@pytest.mark.parametrize("optimizer", ["Nelder-Mead", "L-BFGS-B"])
def test_other_optimizers_and_interp(optimizer):
    op, offset = random_ising(4, 0)
    res = QAOA(op, offset, reps=3, seed=0).optimize(optimizer=optimizer, init="interp", max_evals=60,
                                                     multistart=2)
    assert res.stats["optimizer"] == optimizer and len(res.stats["start_values"]) == 2
    assert res.value == pytest.approx(min(res.stats["start_values"]))
    assert res.value < QAOA(op, offset, reps=3).objective(np.zeros(6))  # beats the angle-zero (uniform) state


# -- noise and resources -----------------------------------------------------------------------------------------
def test_depolarizing_noise_pulls_towards_uniform():
    op, offset = random_ising(4, 1)
    x = ramp_angles(2)
    ideal = QAOA(op, offset, reps=2).objective(x)
    noisy = QAOA(op, offset, reps=2, shots=4000, noise={"p1": 0.02, "p2": 0.2, "readout": 0.05}, seed=3)
    uniform = offset  # every non-identity Z term averages to 0 over the uniform distribution
    assert abs(noisy.objective(x) - uniform) < abs(ideal - uniform)


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


# -- bad input ---------------------------------------------------------------------------------------------------
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


def test_non_diagonal_operator_and_bad_angles():
    with pytest.raises(ValueError, match="only I and Z"):
        QAOA(SparsePauliOp(["XZ"]))
    op, _ = random_ising(3, 0)
    with pytest.raises(ValueError, match="optimizer"):
        QAOA(op).optimize(optimizer="sgd")
    with pytest.raises(ValueError, match="initial_angles"):
        QAOA(op, reps=2).optimize(initial_angles=[0.1, 0.2])


# -- cross-check with qiskit-optimization ------------------------------------------------------------------------
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
