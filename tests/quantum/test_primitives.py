"""qrp.quantum.primitives: circuits on any sampler primitive or backend, Aer options, the hardware time model."""

import numpy as np
import pytest
from qiskit.circuit import ParameterVector, QuantumCircuit
from qiskit.primitives import StatevectorSampler
from qiskit.quantum_info import Statevector
from qiskit_aer import AerSimulator
from qiskit_ibm_runtime.fake_provider import FakeKolkataV2, FakeManilaV2

from qrp.data.synthetic import random_covariance
from qrp.discrete.problem import discretize
from qrp.quantum import statevector as sv
from qrp.quantum.circuits import qaoa_circuit
from qrp.quantum.device_model import backend_timings, circuit_seconds, depolarized, error_budget
from qrp.quantum.primitives import SamplerRunner, aer_options
from qrp.quantum.qaoa import QAOA


def _circuit():
    t = ParameterVector("t", 2)
    qc = QuantumCircuit(3)
    qc.ry(t[0], 0)
    qc.cx(0, 1)
    qc.rx(2 * t[1], 2)
    qc.rzz(t[0], 1, 2)
    probs = Statevector(qc.assign_parameters([0.7, 0.4])).probabilities()  # index bit i = qubit i
    qc.measure_all()
    return qc, {t[0]: 0.7, t[1]: 0.4}, probs


def _tv(states, counts, probs):
    freq = np.zeros(len(probs))
    freq[states] = counts / counts.sum()
    return 0.5 * np.abs(freq - probs).sum()


@pytest.mark.parametrize("kwargs", [{"sampler": StatevectorSampler(seed=1)}, {"aer": aer_options(), "seed": 1},
                                    {"aer": aer_options(method="matrix_product_state", bond_dimension=8), "seed": 1}])
def test_noiseless_samplers_reproduce_the_state(kwargs):
    qc, values, probs = _circuit()
    states, counts = SamplerRunner(qc, **kwargs).sample(values, 20_000)
    assert counts.sum() == 20_000
    assert _tv(states, counts, probs) < 0.02


def test_backend_transpiles_to_its_instruction_set_and_keeps_qubit_order():
    qc, values, probs = _circuit()
    backend = FakeManilaV2()
    runner = SamplerRunner(qc, backend=backend, seed=3)
    assert runner.kind == "backend"
    assert {i.operation.name for i in runner.circuit.data} <= set(backend.target.operation_names) | {"barrier"}
    states, counts = runner.sample(values, 4000)
    # calibrated noise moves the distribution a little, the qubit order not at all
    assert _tv(states, counts, probs) < 0.15


def test_a_fake_backend_is_simulated_by_one_aer_simulator_from_the_backend():
    qc, values, probs = _circuit()
    backend = FakeManilaV2()
    one, two = SamplerRunner(qc, backend=backend, seed=3), SamplerRunner(qc, backend=backend, seed=4)
    sim = one.sampler.backend
    assert isinstance(sim, AerSimulator) and two.sampler.backend is sim  # made once per backend object
    assert sim.options.noise_model is not None and sim.target.num_qubits == backend.num_qubits
    assert SamplerRunner(qc, backend=FakeManilaV2(), seed=3).sampler.backend is not sim
    assert SamplerRunner(qc, backend=AerSimulator(), seed=3).sampler.backend is not sim  # not fake: as given
    assert _tv(*one.sample(values, 4000), probs) < 0.15


def test_waiting_on_a_backend_is_announced(monkeypatch, capsys):
    from qrp.quantum import primitives

    qc, values, _ = _circuit()
    runner = SamplerRunner(qc, backend=FakeManilaV2(), seed=3)
    monkeypatch.setattr(primitives, "SLOW_JOB_SECONDS", 0.0)  # every job is slow: a line each
    monkeypatch.setattr(primitives, "SLOW_SOLVE_SECONDS", 0.0)  # the first job predicts a long solve: a warning
    with pytest.warns(UserWarning, match=r"QAOA on fake_manila: the first circuit job took .* jobs per optimizer"):
        runner.sample(values, 100)
    runner.sample(values, 100)
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(":")[1] for line in lines] == [" fake_manila circuit job 1", " fake_manila circuit job 2"]
    assert all("100 shots in" in line for line in lines)


def test_bad_options():
    qc, _, _ = _circuit()
    with pytest.raises(ValueError, match="bond_dimension"):
        aer_options(bond_dimension=4)
    with pytest.raises(ValueError, match="method"):
        aer_options(method="tensor")
    with pytest.raises(ValueError, match="BaseSamplerV2"):
        SamplerRunner(qc, sampler=object())
    with pytest.raises(ValueError, match="BackendV2"):
        SamplerRunner(qc, backend="ibm_torino")
    with pytest.raises(ValueError, match="measure_all"):
        SamplerRunner(QuantumCircuit(2))


def test_gpu_device_is_passed_to_aer_or_refused():
    if "GPU" in AerSimulator().available_devices():  # the qiskit-aer-gpu build
        assert aer_options(device="GPU")["device"] == "GPU"
    else:
        with pytest.raises(ValueError, match="qiskit-aer-gpu"):
            aer_options(device="GPU")


def test_hardware_time_model():
    t = backend_timings(FakeManilaV2())
    assert t["two_qubit_gate"] == "cx" and 1e-8 < t["t_2q"] < 1e-5 and 1e-7 < t["t_readout"] < 1e-4
    assert circuit_seconds(100, 1000, t, latency=0.5) == pytest.approx(1000 * (100 * t["t_2q"] + t["t_readout"]) + 0.5)


def test_error_budget_and_white_noise_model():
    qc, values, probs = _circuit()
    backend = FakeManilaV2()
    runner = SamplerRunner(qc, backend=backend, seed=3)
    budget = error_budget(runner.circuit.assign_parameters([values[p] for p in runner.parameters]), backend)
    assert 0.9 < budget["fidelity"] < 1.0 and budget["readout"].shape == (3,) and np.all(budget["readout"] > 0)
    noisy = depolarized(probs, budget["fidelity"], budget["readout"])
    assert noisy.sum() == pytest.approx(1.0) and np.all(noisy > 0)
    # one qubit flipped with certainty permutes the distribution; zero fidelity is uniform
    np.testing.assert_allclose(depolarized(probs, 1.0, np.array([1.0, 0, 0])), probs[np.arange(8) ^ 1])
    np.testing.assert_allclose(depolarized(probs, 0.0, np.zeros(3)), np.full(8, 1 / 8))


def test_white_noise_model_is_closer_to_aer_with_the_backend_noise_than_the_noiseless_state():
    p = discretize(random_covariance(2, 1), 3)
    op, offset = p.to_ising()
    qaoa = QAOA(op, offset, reps=1)
    angles = np.array([0.4, 0.3])
    probs = sv.probabilities(qaoa.state(angles))
    qc, gammas, betas = qaoa_circuit(qaoa.normalized, 1)
    qc.measure_all()
    backend = FakeKolkataV2()
    runner = SamplerRunner(qc, backend=backend, seed=3)
    values = {gammas[0]: angles[0], betas[0]: angles[1]}
    budget = error_budget(runner.circuit.assign_parameters([values[x] for x in runner.parameters]), backend)
    model = depolarized(probs, budget["fidelity"], budget["readout"])
    states, counts = runner.sample(values, 4000)  # Aer with the full noise model: thermal relaxation included
    freq = np.zeros(len(probs))
    freq[states] = counts / counts.sum()
    d = qaoa.diagonal()
    assert abs(model @ d - freq @ d) < abs(probs @ d - freq @ d)
    assert _tv(states, counts, model) < _tv(states, counts, probs)


def test_a_qaoa_solve_on_a_users_sampler_is_quiet():
    """sampler= without a backend: the circuit runs decomposed to (cx, rz, sx, x), so a reference sampler builds
    no PauliEvolutionGate matrix by SciPy's sparse expm (a SparseEfficiencyWarning per evaluation before)."""
    import warnings

    from scipy.sparse import SparseEfficiencyWarning

    import qrp

    qc, _, _ = _circuit()
    runner = SamplerRunner(qc, sampler=StatevectorSampler(seed=1))
    assert {i.operation.name for i in runner.circuit.data} <= {"cx", "rz", "sx", "x", "measure", "barrier"}
    cov = random_covariance(3, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SparseEfficiencyWarning)
        res = qrp.risk_parity(cov, solver="qaoa", bits=2, reps=1, seed=0, sampler=StatevectorSampler(seed=1),
                              shots=64, max_evals=5)
    assert res.num_qubits == 6 and np.isfinite(res.rc_error)
