"""The adjoint gradient of the QAOA objective (qrp.quantum.statevector.expectation_gradient) against central finite
differences, and its use by the gradient optimizers."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit.quantum_info import SparsePauliOp

from qrp.quantum.angles import ramp_angles
from qrp.quantum.qaoa import QAOA


def ising(n: int, seed: int) -> tuple[SparsePauliOp, float]:
    rng = np.random.default_rng(seed)
    terms = [("Z", [i], rng.normal()) for i in range(n)]
    terms += [("ZZ", [i, j], rng.normal()) for i in range(n) for j in range(i + 1, n)]
    return SparsePauliOp.from_sparse_list(terms, n), float(rng.normal())


@pytest.mark.parametrize("warm", [False, True])
def test_adjoint_gradient_equals_finite_differences(warm):
    op, offset = ising(5, 3)
    rng = np.random.default_rng(4)
    thetas = rng.uniform(0.3, 2.8, 5) if warm else None
    qaoa = QAOA(op, offset, reps=3, warm_thetas=thetas)
    x = rng.uniform(-1, 1, 6)
    value, grad = qaoa.value_and_gradient(x)
    assert abs(value - qaoa.objective(x)) < 1e-12
    eps = 1e-6
    fd = np.array([(qaoa.objective(x + eps * e) - qaoa.objective(x - eps * e)) / (2 * eps) for e in np.eye(6)])
    np.testing.assert_allclose(grad, fd, rtol=0, atol=1e-7 * max(1.0, np.abs(fd).max()))


@pytest.mark.parametrize("init", ["ramp", "interp"])
def test_gradient_optimizers_use_the_adjoint_gradient(init):
    op, offset = ising(6, 5)
    res = QAOA(op, offset, reps=2, seed=0).optimize(optimizer="L-BFGS-B", init=init, max_evals=40)
    assert res.stats["adjoint_gradients"] > 0
    assert res.value < QAOA(op, offset, reps=2).objective(ramp_angles(2))
    cobyla = QAOA(op, offset, reps=2, seed=0).optimize(init=init, max_evals=40)
    assert "adjoint_gradients" not in cobyla.stats


def test_gradient_needs_exact_expectations():
    op, offset = ising(4, 6)
    for kw in ({"shots": 100}, {"alpha": 0.5}, {"engine": "aer"}):
        qaoa = QAOA(op, offset, reps=1, **kw)
        assert not qaoa.has_gradient
        with pytest.raises(ValueError, match="adjoint gradient needs exact"):
            qaoa.value_and_gradient(np.array([0.1, 0.2]))


def test_gradient_evaluations_count_three_state_evolutions():
    from qrp.quantum.engine_options import GRADIENT_EVALUATIONS

    op, offset = ising(5, 7)
    qaoa = QAOA(op, offset, reps=2, seed=0)
    res = qaoa.optimize(optimizer="L-BFGS-B", max_evals=60)
    calls = res.stats["adjoint_gradients"]
    # every value-and-gradient counts 3 evaluations; the one objective evaluation at the run's end counts 1
    assert GRADIENT_EVALUATIONS == 3 and res.evaluations == 3 * calls + 1
    # max_evals caps L-BFGS-B in evaluations: 60 // 3 = 20 calls (SciPy checks once an iteration: a few more)
    capped = QAOA(op, offset, reps=2, seed=0).optimize(optimizer="L-BFGS-B", max_evals=6)
    assert capped.stats["adjoint_gradients"] <= 2 + 3 < calls
    bfgs = QAOA(op, offset, reps=2, seed=0).optimize(optimizer="BFGS", max_evals=60)
    assert bfgs.evaluations == 3 * bfgs.stats["adjoint_gradients"] + 1
