"""The chunked cost diagonal's ground truth (``qrp.discrete.diagonal``) against meet-in-the-middle enumeration."""

import numpy as np
import pytest

from qrp.data.synthetic import factor_covariance
from qrp.discrete.diagonal import diagonal_minimum, reference_minimum
from qrp.discrete.exact import exact_minimum
from qrp.discrete.problem import discretize


@pytest.mark.parametrize("formulation", ["log_barrier", "pairwise"])
@pytest.mark.parametrize(("n_assets", "bits", "seed"), [(3, 2, 0), (4, 3, 1), (5, 2, 2), (6, 2, 3)])
@pytest.mark.parametrize("chunk_qubits", [1, 3, 30])
def test_diagonal_minimum_equals_enumeration(formulation, n_assets, bits, seed, chunk_qubits):
    problem = discretize(factor_covariance(n_assets, seed=seed), bits, formulation=formulation)
    x_e, e_e, g_e, _ = exact_minimum(problem)
    x_d, e_d, g_d, atol = diagonal_minimum(problem, chunk_qubits=chunk_qubits)
    assert g_d == g_e == 1
    np.testing.assert_array_equal(x_d, x_e)
    assert e_d == e_e == problem.energy(x_d)
    assert 0.0 < atol < 1e-8


@pytest.mark.parametrize("chunk_qubits", [1, 2, 3])
def test_ties_across_chunks_are_counted(chunk_qubits):
    # three identical assets, one bit each, a heavy budget penalty: the minimum puts one asset at 0.6 and two at 0.2,
    # three states in different chunks
    problem = discretize(np.eye(3) * 0.04, 1, formulation="pairwise", box=(np.full(3, 0.2), np.full(3, 0.6)),
                         penalty=100.0)
    _, e_e, g_e, _ = exact_minimum(problem)
    x_d, e_d, g_d, _ = diagonal_minimum(problem, chunk_qubits=chunk_qubits)
    assert g_e == g_d == 3
    assert x_d.sum() == 1 and e_d == pytest.approx(e_e, rel=1e-12)


def test_reference_minimum_switches_method_at_the_enumeration_limit():
    problem = discretize(factor_covariance(4, seed=5), 2)
    *exact, method = reference_minimum(problem, max_exact_qubits=8)
    assert method == "enumeration"
    *diag, method = reference_minimum(problem, max_exact_qubits=7, chunk_qubits=3)
    assert method == "diagonal"
    np.testing.assert_array_equal(exact[0], diag[0])
    assert exact[1:3] == diag[1:3]


def test_bad_chunk_is_refused():
    problem = discretize(factor_covariance(2, seed=0), 2)
    with pytest.raises(ValueError, match="chunk_qubits"):
        diagonal_minimum(problem, chunk_qubits=0)
