"""The numba.cuda port of the QAOA state-vector kernels against the CPU kernels, under numba's CUDA simulator.

The simulator runs the device code as Python threads, in a subprocess (NUMBA_ENABLE_CUDASIM must be set before numba
is imported), at a few qubits: it checks the indexing and the arithmetic of the port, not GPU speed.
"""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from qrp.quantum import statevector as sv
from tests.quantum.cudasim import assert_script_prints_ok, run_on_cuda_simulator

SCRIPT = textwrap.dedent(
    """
    import numpy as np
    from numba import cuda
    from qrp.quantum import statevector as sv

    assert cuda.is_available() and sv.gpu_available()
    rng = np.random.default_rng(3)
    for n, thetas in ((1, None), (3, None), (4, None), (4, rng.uniform(0.2, 2.9, 4))):
        d = rng.standard_normal(2**n)
        gammas, betas = rng.uniform(-1, 1, 2), rng.uniform(-1, 1, 2)
        cpu = sv.qaoa_state(d, gammas, betas, thetas, device="cpu")
        gpu = sv.qaoa_state(d, gammas, betas, thetas, device="gpu")
        np.testing.assert_allclose(gpu, cpu, rtol=0, atol=1e-13)
        assert abs(np.vdot(gpu, gpu) - 1) < 1e-12
    print("ok")
    """
)


def test_gpu_kernels_equal_cpu_kernels_on_the_cuda_simulator():
    assert_script_prints_ok(SCRIPT, timeout=300)


def test_device_is_validated():
    d = np.zeros(4)
    with pytest.raises(ValueError, match="device must be one of"):
        sv.qaoa_state(d, [0.1], [0.2], device="tpu")
    if not sv.gpu_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            sv.qaoa_state(d, [0.1], [0.2], device="gpu")
    np.testing.assert_array_equal(sv.qaoa_state(d, [0.1], [0.2], device="auto"),
                                  sv.qaoa_state(d, [0.1], [0.2], device="cpu"))


DEVICE_SCRIPT = textwrap.dedent(
    """
    import numpy as np
    from qiskit.quantum_info import SparsePauliOp
    from qrp.quantum import statevector as sv
    from qrp.quantum import statevector_gpu as gpu
    from qrp.quantum.mixers import initial_state, mixer_matrices

    rng = np.random.default_rng(5)
    n = 4
    terms = [("Z", [i], rng.normal()) for i in range(n)] + [("ZZ", [0, 2], 0.3), ("ZZ", [1, 3], -0.8)]
    op = SparsePauliOp.from_sparse_list(terms, n)
    masks, coeffs = sv.z_masks(op)
    d = gpu.cost_diagonal_gpu(masks, coeffs, n)
    np.testing.assert_allclose(d.copy_to_host(), sv.cost_diagonal(op), rtol=0, atol=1e-14)
    thetas = rng.uniform(0.2, 2.9, n)
    for th in (None, thetas):
        np.testing.assert_array_equal(gpu.initial_state_gpu(n, th).copy_to_host(), initial_state(n, th))
        psi = gpu.evolve_gpu(gpu.initial_state_gpu(n, th), d, [0.4, -0.3], [0.2, 0.7],
                             lambda b, th=th: mixer_matrices(b, n, th))
        cpu = sv.qaoa_state(sv.cost_diagonal(op), [0.4, -0.3], [0.2, 0.7], th, device="cpu")
        probs = sv.probabilities(cpu)
        assert abs(gpu.expectation_gpu(psi, d) - probs @ sv.cost_diagonal(op) / probs.sum()) < 1e-13
        np.testing.assert_allclose(gpu.probabilities_gpu(psi), probs, rtol=0, atol=1e-14)
        gpu.sweep_gpu(psi, 2.0)
        np.testing.assert_allclose(psi.copy_to_host(), 2 * cpu, rtol=0, atol=1e-13)
    print("ok")
    """
)


def test_device_built_state_diagonal_and_reduction_equal_the_cpu_on_the_cuda_simulator():
    assert_script_prints_ok(DEVICE_SCRIPT)


def test_gpu_benchmark_without_a_gpu_says_so_and_exits_cleanly():
    env = dict(os.environ, QRP_GPU="0")
    out = subprocess.run([sys.executable, "-m", "benchmarks.gpu"], env=env, capture_output=True, text=True,
                         timeout=300, cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    assert out.returncode == 0, out.stderr
    assert "no CUDA GPU" in out.stdout and "nothing measured" in out.stdout


def test_gpu_benchmark_runs_on_the_cuda_simulator_and_matches_the_cpu():
    root = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
    out = run_on_cuda_simulator(["-m", "benchmarks.gpu", "--qubits", "3", "--reps", "1", "--cpu-qubits", "3",
                                 "--repeat", "1"], cwd=root)
    assert out.returncode == 0, out.stderr
    rows = [line for line in out.stdout.splitlines() if line.startswith("| CPU fast |")]
    assert "| numba.cuda | 3 | 1 |" in out.stdout and len(rows) == 1
    diff = float(rows[0].split("= ")[-1].rstrip(" |"))
    assert diff < 1e-12
