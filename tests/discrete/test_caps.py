"""Issue 22: resource caps checked before anything is allocated (num_sweeps, block_sweeps, rounds from max_iter,
round seeds, dimod's exhaustive samplers), each a one-line ValueError."""

import time

import numpy as np
import pytest

import qrp
import qrp.core.memory as memory
from qrp.discrete.refine import MAX_SEEDS, round_seeds

COV = np.asarray(qrp.factor_covariance(8, seed=1))


def _refused_fast(call, match):
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match=match):
        call()
    assert time.perf_counter() - t0 < 30.0  # refused up front, not after allocating (loose: a loaded 2-core box)


def test_num_sweeps_capped():
    _refused_fast(lambda: qrp.risk_parity(COV, solver="sa", num_sweeps=10**9), r"num_sweeps must be an integer in")


def test_num_sweeps_memory_estimate(monkeypatch):
    monkeypatch.setattr(memory, "available_memory", lambda: 16 << 20)  # 16 MiB: 8 MiB for one allocation
    with pytest.raises(ValueError, match=r"num_sweeps=2000000 .* would need 0.0149 GiB"):
        qrp.risk_parity(COV[:2, :2], solver="sa", num_sweeps=2_000_000)


def test_block_sweeps_and_rounds_capped():
    _refused_fast(lambda: qrp.risk_parity(COV, solver="sa", block_size=2, block_sweeps=10**9),
                  r"block_sweeps must be an integer <= 10000")
    _refused_fast(lambda: qrp.risk_parity(COV, solver="sa", max_iter=10**9), r"max_iter=1000000000 .* at most 10000")
    _refused_fast(lambda: round_seeds(1, 10**9), rf"seeds .* \[1, {MAX_SEEDS}\]")
    assert len(round_seeds(1, 3)[0]) == 3


def test_dimod_exact_solver_has_a_qubit_limit(monkeypatch):
    dimod = pytest.importorskip("dimod")
    _refused_fast(lambda: qrp.risk_parity(COV, solver="dimod", sampler=dimod.ExactSolver(), bits=6),
                  r"solver 'dimod' on 48 qubits .* over its limit max_qubits = \d+")
    monkeypatch.setattr(memory, "available_memory", lambda: 1 << 20)
    from qrp.discrete.samplers import qubit_limit

    assert qubit_limit({"sampler": dimod.ExactSolver()}) == 14  # 2^14 x (16 + 14) <= 512 KiB < 2^15 x 31
    assert qubit_limit({"sampler": None}) is None  # other samplers: no enumeration, no limit
    res = qrp.risk_parity(COV[:3, :3], solver="dimod", sampler=dimod.ExactSolver(), bits=2)
    assert res.num_qubits == 6 and res.rc_error < 0.2


def test_synthetic_covariance_checked_against_memory():
    _refused_fast(lambda: qrp.factor_covariance(4, n_factors=10**11), r"4-asset, 100000000000-factor .* GiB")
    _refused_fast(lambda: qrp.factor_covariance(10**6), r"1000000-asset, 3-factor .* GiB")
