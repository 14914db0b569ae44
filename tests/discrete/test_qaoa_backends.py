"""QAOA through any Qiskit sampler or backend: StatevectorSampler, BackendSamplerV2 on a fake IBM backend, Aer's
matrix-product-state method at 32 qubits, the white-noise device model and its hardware time model."""

import numpy as np
import pytest
from qiskit.primitives import StatevectorSampler
from qiskit_ibm_runtime.fake_provider import FakeManilaV2

import qrp
from qrp.data.synthetic import random_covariance

COV3 = random_covariance(3, 50)


def test_statevector_sampler_runs_the_qaoa_solver():
    res = qrp.risk_parity(COV3[:2, :2], solver="qaoa", bits=2, reps=1, shots=512, max_evals=15, rounds=3, seed=1,
                          sampler=StatevectorSampler(seed=3), resources=False)
    h = res.history[0]
    assert h.stats["runner"] == "sampler" and h.stats["engine"] == "aer"
    assert h.resources.samples == 512 * h.stats["evaluations"] + 1024
    # 4 qubits, 1024 readout shots: the best sample is the ground state
    assert all(r.stats["ground_state"] for r in res.history)


def test_backend_sampler_on_a_fake_ibm_backend():
    backend = FakeManilaV2()  # 5 qubits, real coupling map, basis gates and calibrated noise
    res = qrp.risk_parity(COV3[:2, :2], solver="qaoa", bits=2, reps=1, shots=256, max_evals=8, rounds=1, seed=2,
                          backend=backend, optimization_level=1, readout_shots=512, resources=False)
    s = res.history[0].stats
    assert s["runner"] == "backend" and s["transpiled_depth"] > 10
    assert np.isfinite(res.rc_error) and res.weights.sum() == pytest.approx(1.0)
    # a fake backend can be named (study files), and a user pass manager replaces the preset one
    from qiskit.transpiler import generate_preset_pass_manager

    pm = generate_preset_pass_manager(optimization_level=0, backend=backend, seed_transpiler=1)
    named = qrp.risk_parity(COV3[:2, :2], solver="qaoa", bits=2, reps=1, shots=128, max_evals=3, seed=2,
                            backend="FakeManilaV2", pass_manager=pm, readout_shots=128, resources=False)
    assert named.history[0].stats["runner"] == "backend"


def test_matrix_product_state_at_32_qubits():
    cov = random_covariance(16, 51)  # 16 assets x 2 bits = 32 qubits: beyond the state vector here
    res = qrp.risk_parity(cov, solver="qaoa", bits=2, reps=1, shots=64, max_evals=4, rounds=1, seed=3,
                          method="matrix_product_state", bond_dimension=8, readout_shots=128, resources=False)
    assert res.num_qubits == 32 and res.history[0].stats["runner"] == "aer"
    # the best of 128 MPS samples is better than the median of 128 uniform bitstrings of the same (round-0) problem
    p = qrp.discretize(cov, 2)
    uniform = p.relative_energies(np.random.default_rng(0).integers(0, 2, (128, 32)))
    assert res.energy - p.energy_offset < np.median(uniform)


def test_white_noise_in_the_loop_and_the_time_model():
    cov = COV3[:2, :2]
    clean = qrp.risk_parity(cov, solver="qaoa", bits=2, reps=1, max_evals=10, rounds=2, tol=0.0, seed=4,
                            resources=False)
    noisy = qrp.risk_parity(cov, solver="qaoa", bits=2, reps=1, max_evals=10, rounds=2, tol=0.0, seed=4,
                            backend=FakeManilaV2(), noise_method="white", resources=False)
    c, n = clean.history[0].stats, noisy.history[0].stats
    assert c["engine"] == n["engine"] == "fast"
    w = n["white_noise"]
    assert 0.0 < w["fidelity"] < 1.0 and w["depth"] > 10
    # noise pulls the ground-state probability towards uniform (1/16 at 4 qubits)
    assert abs(n["ground_state_probability"] - 1 / 16) < abs(c["ground_state_probability"] - 1 / 16)
    assert n["device_seconds"] > 0 and "device_seconds" not in c


def test_bad_backend_options():
    cov = COV3[:2, :2]
    with pytest.raises(ValueError, match="pass shots"):
        qrp.risk_parity(cov, solver="qaoa", sampler=StatevectorSampler())
    with pytest.raises(ValueError, match="BaseSamplerV2"):
        qrp.risk_parity(cov, solver="qaoa", sampler="aer", shots=10)
    with pytest.raises(ValueError, match="fake backend"):
        qrp.risk_parity(cov, solver="qaoa", backend="ibm_torino", shots=10)
    with pytest.raises(ValueError, match="bond_dimension"):
        qrp.risk_parity(cov, solver="qaoa", bond_dimension=4, shots=10)
    with pytest.raises(ValueError, match="white"):
        qrp.risk_parity(cov, solver="qaoa", noise_method="white")
    with pytest.raises(ValueError, match="method"):
        qrp.risk_parity(cov, solver="qaoa", method="tensor_network")
