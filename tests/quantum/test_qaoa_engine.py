"""qrp.quantum: the QAOA engine on any diagonal cost (exactness against dense linear algebra, Aer and qiskit's
Statevector; CVaR; angle schedules; optimizers; noise; readout ranking), without risk-parity problems."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from qiskit.quantum_info import SparsePauliOp

from qrp.quantum import statevector as sv
from qrp.quantum.angles import interp_angles, ramp_angles, warm_start_thetas
from qrp.quantum.circuits import qaoa_circuit
from qrp.quantum.qaoa import QAOA


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
    assert np.all(np.diff(r[:4]) > 0) and np.all(r[4:] < 0) and np.all(np.diff(np.abs(r[4:])) < 0)
    assert np.allclose(warm_start_thetas(np.array([0.5])), [np.pi / 2])


@pytest.mark.parametrize("optimizer", ["Nelder-Mead", "L-BFGS-B"])
def test_other_optimizers_and_interp(optimizer):
    op, offset = random_ising(4, 0)
    res = QAOA(op, offset, reps=3, seed=0).optimize(optimizer=optimizer, init="interp", max_evals=60,
                                                     multistart=2)
    assert res.stats["optimizer"] == optimizer and len(res.stats["start_values"]) == 2
    assert res.value == pytest.approx(min(res.stats["start_values"]))
    assert res.value < QAOA(op, offset, reps=3).objective(np.zeros(6))  # beats the angle-zero (uniform) state


def test_depolarizing_noise_pulls_towards_uniform():
    op, offset = random_ising(4, 1)
    x = ramp_angles(2)
    ideal = QAOA(op, offset, reps=2).objective(x)
    noisy = QAOA(op, offset, reps=2, shots=4000, noise={"p1": 0.02, "p2": 0.2, "readout": 0.05}, seed=3)
    uniform = offset  # every non-identity Z term averages to 0 over the uniform distribution
    assert abs(noisy.objective(x) - uniform) < abs(ideal - uniform)


def test_non_diagonal_operator_and_bad_angles():
    with pytest.raises(ValueError, match="only I and Z"):
        QAOA(SparsePauliOp(["XZ"]))
    op, _ = random_ising(3, 0)
    with pytest.raises(ValueError, match="optimizer"):
        QAOA(op).optimize(optimizer="sgd")
    with pytest.raises(ValueError, match="initial_angles"):
        QAOA(op, reps=2).optimize(initial_angles=[0.1, 0.2])


def test_readout_ranks_by_energy_relative_to_the_offset():
    # a spread of 1e-9 on an offset of 1e9: absolute energies round it away, relative ones keep it
    op = SparsePauliOp.from_sparse_list([("Z", [0], 1e-9), ("Z", [1], 2e-9)], 2)
    res = QAOA(op, 1e9, reps=1, seed=0).optimize(max_evals=20, readout_shots=4096)
    assert res.best_state.tolist() == [1, 1]  # Z = -1 on both qubits: the ground state
    assert res.ground_state


@pytest.mark.parametrize("warm", [False, True])
def test_readout_evolves_the_state_once(warm, monkeypatch):
    """The readout samples the exact distribution and computes the exact reference from one evolution, with the
    same draws and numbers as sampling and evolving again."""
    from qrp.quantum.simulators import NumbaSimulator

    op, offset = random_ising(5, 2)
    thetas = np.linspace(0.4, 2.6, 5) if warm else None
    angles = np.array([0.4, 0.9, -0.7, -0.3])
    reference = QAOA(op, offset, reps=2, warm_thetas=thetas, seed=11)
    probs = reference.probabilities(angles)
    counts = np.random.default_rng(11).multinomial(256, probs)
    states = np.flatnonzero(counts)
    calls = []
    original = NumbaSimulator.split_state
    monkeypatch.setattr(NumbaSimulator, "split_state", lambda self, a: calls.append(1) or original(self, a))
    res = QAOA(op, offset, reps=2, warm_thetas=thetas, seed=11).fixed(angles, readout_shots=256)
    assert len(calls) == 1
    d = reference.diagonal()
    ground = d <= d.min() + 1e-9 * max(abs(d.min()), 1.0)
    assert res.ground_state_probability == float(probs[ground].sum())
    assert res.expectation == reference.offset + reference.scale * float(probs @ d)
    best = states[np.argmin(reference.energies(states) - reference.offset)]
    assert res.best_state.tolist() == [(int(best) >> q) & 1 for q in range(5)]
    assert res.stats["best_sample_frequency"] == counts[best] / 256
