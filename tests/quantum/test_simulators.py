"""qrp.quantum.simulators: one interface, back ends from a table (numba CPU, numba.cuda under numba's CUDA simulator,
Aer), mixers as classes, settings validated once."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
from qiskit.quantum_info import SparsePauliOp, Statevector

from qrp.quantum import simulators as sims
from qrp.quantum import statevector as sv
from qrp.quantum.circuits import qaoa_circuit
from qrp.quantum.engine_options import engine_settings
from qrp.quantum.mixers import Mixer, WarmStartMixer, XMixer, mixer_for
from qrp.quantum.qaoa import QAOA
from tests.quantum.cudasim import assert_script_prints_ok


def ising(n: int, seed: int) -> tuple[SparsePauliOp, float]:
    rng = np.random.default_rng(seed)
    terms = [("Z", [i], rng.normal()) for i in range(n)]
    terms += [("ZZ", [i, j], rng.normal()) for i in range(n) for j in range(i + 1, n)]
    return SparsePauliOp.from_sparse_list(terms, n), float(rng.normal())


def settings(**kw):
    base = {"reps": 2, "shots": None, "alpha": 1.0, "engine": "auto", "noise": None}
    return engine_settings(**(base | kw))


def test_table_names_one_class_per_engine():
    assert set(sims.SIMULATORS) == {"fast", "fast_poly", "cuda", "aer"}
    for name, cls in sims.SIMULATORS.items():
        assert issubclass(cls, sims.QAOASimulator) and cls.__name__.endswith("Simulator") and cls.name == name
    assert sims.simulator_class(settings(), 4) is sims.NumbaSimulator
    assert sims.simulator_class(settings(shots=100), 4) is sims.AerCircuitSimulator
    assert sims.simulator_class(settings(engine="aer"), 4) is sims.AerCircuitSimulator
    assert sims.simulator_class(settings(method="matrix_product_state"), 4) is sims.AerCircuitSimulator
    assert sims.NumbaSimulator.memory_needed(20) == sv.memory_needed(20)


@pytest.mark.parametrize("warm", [False, True])
def test_numba_and_aer_simulators_agree_through_the_interface(warm):
    op, _ = ising(5, 1)
    rng = np.random.default_rng(2)
    mixer = mixer_for(5, rng.uniform(0.3, 2.8, 5) if warm else None)
    cost = sims.DiagonalCost(op)
    angles = rng.uniform(-1, 1, 4)
    fast = sims.NumbaSimulator(cost, mixer, settings(engine="fast"))
    aer = sims.AerCircuitSimulator(cost, mixer, settings(engine="aer"))
    assert abs(fast.objective(angles) - aer.objective(angles)) < 1e-10
    states, counts = fast.sample(angles, 500, np.random.default_rng(0))
    assert counts.sum() == 500 and np.all(counts > 0) and np.all(states < 32)


def test_a_warm_start_mixer_at_pi_over_2_is_the_x_mixer():
    x, w = XMixer(3), WarmStartMixer(np.full(3, np.pi / 2))
    np.testing.assert_allclose(w.initial_state(), x.initial_state(), atol=1e-15)
    np.testing.assert_allclose(w.matrices(0.37), x.matrices(0.37), atol=1e-15)
    op, _ = ising(3, 4)
    for mixer in (x, w):
        qc, gammas, betas = qaoa_circuit(op, 1, mixer=mixer)
        bound = qc.assign_parameters({gammas[0]: 0.3, betas[0]: 0.37})
        psi = sv.evolve(mixer.initial_state(), sv.cost_diagonal(op), [0.3], [0.37], mixer.matrices)
        assert abs(abs(np.vdot(Statevector(bound).data, psi)) - 1) < 1e-12


def test_a_new_mixer_is_one_class():
    class ZPhaseMixer(XMixer):  # exp(-i beta (X + 0.5 Z)) per qubit: a mixer the engine has never seen
        def matrices(self, beta):
            h = np.array([[0.5, 1.0], [1.0, -0.5]])
            w, v = np.linalg.eigh(h)
            u = (v * np.exp(-1j * beta * w)) @ v.conj().T
            return np.ascontiguousarray(np.broadcast_to(u, (self.num_qubits, 2, 2)))

        def evolve(self, qc, beta):
            from qiskit.circuit.library import PauliEvolutionGate

            for q in range(self.num_qubits):
                qc.append(PauliEvolutionGate(SparsePauliOp(["X", "Z"], [1.0, 0.5]), time=beta), [q])

    op, _ = ising(4, 5)
    mixer = ZPhaseMixer(4)
    assert isinstance(mixer, Mixer)
    cost = sims.DiagonalCost(op)
    fast = sims.NumbaSimulator(cost, mixer, settings(engine="fast", reps=1))
    qc, gammas, betas = qaoa_circuit(op, 1, mixer=mixer)
    ref = Statevector(qc.assign_parameters({gammas[0]: 0.4, betas[0]: -0.6}))
    assert abs(fast.objective(np.array([0.4, -0.6])) - ref.expectation_value(op).real) < 1e-12


def test_settings_are_validated_once_and_taken_as_they_are(monkeypatch):
    op, offset = ising(4, 6)
    s = settings(reps=2, alpha=0.5)
    reference = QAOA(op, offset, reps=2, alpha=0.5, seed=1).optimize(max_evals=15)

    def refuse(**_):
        raise AssertionError("validated again")

    monkeypatch.setattr("qrp.quantum.qaoa.engine_settings", refuse)
    res = QAOA(op, offset, settings=s, seed=1).optimize(max_evals=15)
    assert res.value == reference.value and np.array_equal(res.angles, reference.angles)
    with pytest.raises(ValueError, match="settings= replaces"):
        QAOA(op, offset, settings=s, method="statevector")


def test_engine_cuda_without_a_gpu_is_refused():
    if sv.gpu_available():
        pytest.skip("a CUDA GPU (or its simulator) is present")
    with pytest.raises(ValueError, match="no CUDA GPU"):
        QAOA(ising(3, 0)[0], engine="cuda")
    with pytest.raises(ValueError, match="engine='cuda' is the noiseless"):
        QAOA(ising(3, 0)[0], engine="cuda", shots=10)


CUDA_SCRIPT = textwrap.dedent(
    """
    import numpy as np
    from qiskit.quantum_info import SparsePauliOp
    from qrp.quantum.qaoa import QAOA

    rng = np.random.default_rng(3)
    n = 5
    terms = [("Z", [i], rng.normal()) for i in range(n)] + [("ZZ", [0, 3], rng.normal()), ("ZZ", [1, 4], 0.7)]
    op = SparsePauliOp.from_sparse_list(terms, n)
    for thetas, alpha in ((None, 1.0), (rng.uniform(0.2, 2.9, n), 1.0), (None, 0.3)):
        angles = rng.uniform(-1, 1, 4)
        cpu = QAOA(op, 0.5, reps=2, engine="fast", warm_thetas=thetas, alpha=alpha, seed=1)
        gpu = QAOA(op, 0.5, reps=2, engine="cuda", warm_thetas=thetas, alpha=alpha, seed=1)
        assert gpu.engine == "cuda" and cpu.engine == "fast"
        assert abs(gpu.objective(angles) - cpu.objective(angles)) < 1e-12
        np.testing.assert_allclose(gpu.probabilities(angles), cpu.probabilities(angles), rtol=0, atol=1e-13)
        np.testing.assert_allclose(gpu.state(angles), cpu.state(angles), rtol=0, atol=1e-13)
    print("ok")
    """
)


def test_cuda_simulator_equals_numba_simulator_on_the_cuda_simulator():
    assert_script_prints_ok(CUDA_SCRIPT)


def test_a_diagonal_handed_over_directly_runs_on_the_state_vector_simulators_only():
    op, _ = ising(4, 7)
    d = sv.cost_diagonal(op)
    angles = np.array([0.3, -0.2, 0.5, 0.1])
    from_op = sims.NumbaSimulator(sims.DiagonalCost(op), XMixer(4), settings(engine="fast"))
    from_diag = sims.NumbaSimulator(sims.DiagonalCost(None, diagonal=d), XMixer(4), settings(engine="fast"))
    assert from_diag.objective(angles) == from_op.objective(angles)
    with pytest.raises(ValueError, match="needs its Z-only operator"):
        sims.AerCircuitSimulator(sims.DiagonalCost(None, diagonal=d), XMixer(4), settings(engine="aer"))
    with pytest.raises(ValueError, match="2\\^n entries"):
        sims.DiagonalCost(None, diagonal=np.zeros(6))


@pytest.mark.parametrize("engine", ["auto", "aer", "fast"])
def test_a_sampler_with_white_noise_and_no_shots_is_refused(engine):
    """A sampler is sampled (its help: "needs shots"); the white-noise model runs on the exact state, never on a
    sampler. Before, white noise + sampler + no shots passed: "auto"/"aer" ran Aer's noiseless estimator (the white
    noise dropped from the objective), "fast" the state vector (the sampler ignored)."""
    from qiskit.primitives import StatevectorSampler
    from qiskit_ibm_runtime.fake_provider import FakeManilaV2

    with pytest.raises(ValueError, match="a sampler is sampled: pass shots"):
        settings(engine=engine, sampler=StatevectorSampler(seed=1), backend=FakeManilaV2(), noise_method="white")


def test_a_sampler_is_refused_by_the_state_vector_engines():
    """Before, engine="fast" with white noise, a sampler and shots ran the state vector and ignored the sampler."""
    from qiskit.primitives import StatevectorSampler
    from qiskit_ibm_runtime.fake_provider import FakeManilaV2

    with pytest.raises(ValueError, match="a sampler"):
        settings(engine="fast", shots=64, sampler=StatevectorSampler(seed=1), backend=FakeManilaV2(),
                 noise_method="white")
    # "auto" ran the sampler while the white-noise budget was recorded; white noise is never run on a sampler
    # (tests/quantum/test_noise_routing.py lists every combination)
    with pytest.raises(ValueError, match="never on a sampler"):
        settings(shots=64, sampler=StatevectorSampler(seed=1), backend=FakeManilaV2(), noise_method="white")
    s = settings(shots=64, sampler=StatevectorSampler(seed=1), backend=FakeManilaV2())
    assert not s.exact and sims.simulator_class(s, 4) is sims.AerCircuitSimulator  # "auto": the sampler is used
