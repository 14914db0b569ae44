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
    pytest.importorskip("numba.cuda")
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1", QRP_GPU="1")
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300)
    if "CUDA" in out.stderr and "simulator" in out.stderr.lower() and out.returncode != 0:
        pytest.skip(f"numba's CUDA simulator is unavailable: {out.stderr.strip().splitlines()[-1]}")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_device_is_validated():
    d = np.zeros(4)
    with pytest.raises(ValueError, match="device must be one of"):
        sv.qaoa_state(d, [0.1], [0.2], device="tpu")
    if not sv.gpu_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            sv.qaoa_state(d, [0.1], [0.2], device="gpu")
    np.testing.assert_array_equal(sv.qaoa_state(d, [0.1], [0.2], device="auto"),
                                  sv.qaoa_state(d, [0.1], [0.2], device="cpu"))
