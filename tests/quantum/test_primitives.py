"""qrp.quantum.primitives: circuits on any sampler primitive or backend, Aer options, the hardware time model."""

import numpy as np
import pytest
from qiskit.circuit import ParameterVector, QuantumCircuit
from qiskit.primitives import StatevectorSampler
from qiskit.quantum_info import Statevector
from qiskit_aer import AerSimulator
from qiskit_ibm_runtime.fake_provider import FakeManilaV2

from qrp.quantum.primitives import SamplerRunner, aer_options, backend_timings, circuit_seconds


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
