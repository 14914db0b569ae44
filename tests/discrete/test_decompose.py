"""qrp.discrete.decompose: block QUBOs are the conditionals of the full QUBO; block sweeps refine large N."""

import numpy as np
import pytest

import qrp
from qrp.data.synthetic import factor_covariance, random_covariance
from qrp.discrete.decompose import BlockProblem, block_sampler, centre_sample, correlation_order, flip_gains
from qrp.discrete.exact import exact_minimum, exact_sampler
from qrp.discrete.problem import discretize
from qrp.discrete.refine import refine


def test_block_problem_is_the_conditional_of_the_full_problem():
    rng = np.random.default_rng(0)
    p = discretize(random_covariance(7, 3), 3)
    x = rng.integers(0, 2, p.num_qubits)
    block = np.array([5, 1, 3])
    sub = BlockProblem(p, block, p.values(x))
    assert sub.num_qubits == 9
    xs = rng.integers(0, 2, (50, sub.num_qubits))
    full = np.repeat(x[None, :], 50, axis=0)
    full[:, sub.parent_bits] = xs
    diff = p.energies(full) - sub.energies(xs)
    np.testing.assert_allclose(diff, diff[0], rtol=0, atol=1e-12 * np.abs(p.energies(full)).max())
    # its exact minimum is the best completion of x over the block's bits (checked by enumeration of the parent)
    bx, _, _, _ = exact_minimum(sub)
    best = full[np.argmin(p.energies(full))]
    filled = x.copy()
    filled[sub.parent_bits] = bx
    assert p.energy(filled) <= p.energy(best) + 1e-12


def test_flip_gains_match_dwave_hybrid():
    from hybrid.utils import flip_energy_gains

    p = discretize(random_covariance(5, 4), 3)
    x = np.random.default_rng(1).integers(0, 2, p.num_qubits)
    want = dict((v, g) for g, v in flip_energy_gains(p.to_bqm(), dict(enumerate(x.tolist()))))
    np.testing.assert_allclose(flip_gains(p, x), [want[v] for v in range(p.num_qubits)], rtol=1e-9, atol=1e-15)


def test_correlation_order_groups_correlated_assets():
    # two blocks of 3 perfectly separated clusters, shuffled: the leaf order keeps each cluster contiguous
    a = np.kron(np.eye(2), np.full((3, 3), 0.8)) + 0.2 * np.eye(6)
    perm = np.array([3, 0, 4, 1, 5, 2])
    order = perm[correlation_order(a[np.ix_(perm, perm)])]
    assert {frozenset(order[:3]), frozenset(order[3:])} == {frozenset({0, 1, 2}), frozenset({3, 4, 5})}


@pytest.mark.parametrize("order", ["energy_impact", "correlation"])
def test_blocks_of_4_assets_reach_1e6_on_20_assets(order):
    cov = factor_covariance(20, seed=1)  # 60 bits: beyond exact enumeration, 12 bits per block
    res = qrp.risk_parity(cov, solver="exact", bits=3, rounds=30, tol=1e-6, block_size=4, block_order=order)
    assert res.converged and res.rc_error <= 1e-6 and res.num_qubits == 60
    h = res.history[0].stats
    assert h["block_qubits"] == 12 and h["blocks_solved"] >= 5 and h["blocks_improved"] >= 1
    same = refine(cov, None, bits=3, rounds=30, tol=1e-6, seed=None,
                  sample_solver=block_sampler(exact_sampler(), block_size=4, block_order=order))
    np.testing.assert_array_equal(same.weights, res.weights)


def test_sa_in_blocks_is_seeded_and_counts_its_reads():
    cov = factor_covariance(10, seed=3)
    a, b = (qrp.risk_parity(cov, solver="sa", bits=3, rounds=3, block_size=3, num_reads=5, num_sweeps=100, seed=4)
            for _ in range(2))
    np.testing.assert_array_equal(a.weights, b.weights)
    solved = sum(h.stats["blocks_solved"] for h in a.history)
    assert a.stats["resources"]["samples"] == 5 * solved


def test_a_sweep_never_raises_the_energy():
    p = discretize(factor_covariance(12, seed=2), 3)
    res = block_sampler(exact_sampler(), block_size=3, block_sweeps=1)(p, seed=0, state=None)
    assert p.energy(res.sample) <= p.energy(centre_sample(p))
    assert res.stats["sweeps_run"] == 1 and res.stats["blocks_solved"] == 4


def test_bad_block_options():
    with pytest.raises(ValueError, match="block_size"):
        block_sampler(exact_sampler(), block_size=0)
    with pytest.raises(ValueError, match="block_order"):
        block_sampler(exact_sampler(), block_size=2, block_order="random")
    p = discretize(random_covariance(4, 5), 2, formulation="pairwise")
    with pytest.raises(ValueError, match="log_barrier"):
        block_sampler(exact_sampler(), block_size=2)(p, seed=0, state=None)
    with pytest.raises(ValueError, match="log_barrier"):
        qrp.risk_parity(random_covariance(4, 5), solver="exact", formulation="pairwise", block_size=2)
    with pytest.raises(ValueError, match="block_size"):
        qrp.risk_parity(random_covariance(4, 5), solver="exact", block_size=0)
    with pytest.raises(ValueError, match="max_qubits"):  # the limit applies to one block
        qrp.risk_parity(factor_covariance(30, seed=1), solver="exact", bits=3, block_size=10)
