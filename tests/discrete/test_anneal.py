"""Solver "sa": simulated annealing reaches the exact optimum on small instances and is reproducible."""

import numpy as np
import pytest

import qrp
from qrp.data.synthetic import random_covariance
from qrp.discrete.anneal import sa_sampler
from qrp.discrete.exact import exact_minimum


@pytest.mark.parametrize(("formulation", "n_assets", "bits"), [("log_barrier", 4, 3), ("pairwise", 3, 2)])
def test_sa_finds_the_exact_ground_state(formulation, n_assets, bits):
    p = qrp.discretize(random_covariance(n_assets, 21), bits, formulation=formulation)
    _, exact_e, _, _ = exact_minimum(p)
    res = sa_sampler(num_reads=20, num_sweeps=500)(p, seed=3, state=None)
    assert res.energy == pytest.approx(exact_e, rel=1e-9)
    assert res.energy == pytest.approx(p.energy(res.sample), rel=1e-12)
    assert res.stats["ground_state"] is True
    assert 0 < res.stats["best_fraction"] <= 1
    assert res.stats["num_auxiliary"] == p.num_auxiliary


def test_sa_through_risk_parity_is_seeded():
    cov = random_covariance(5, 22)
    a = qrp.risk_parity(cov, solver="sa", bits=3, rounds=3, seed=7, num_reads=5, num_sweeps=200)
    b = qrp.risk_parity(cov, solver="sa", bits=3, rounds=3, seed=7, num_reads=5, num_sweeps=200)
    np.testing.assert_array_equal(a.weights, b.weights)
    assert [h.seed for h in a.history] == [h.seed for h in b.history]
    assert a.num_qubits == 15 and a.seed == 7
    assert {"ground_state", "best_fraction", "best_energy"} <= set(a.history[0].stats)


def test_sa_bad_options():
    cov = random_covariance(3, 23)
    with pytest.raises(ValueError, match="num_reads"):
        qrp.risk_parity(cov, solver="sa", bits=2, num_reads=0)
    with pytest.raises(ValueError, match="beta_range"):
        qrp.risk_parity(cov, solver="sa", bits=2, beta_range=(2.0, 1.0))
    with pytest.raises(ValueError, match="does not take"):
        qrp.risk_parity(cov, solver="sa", bits=2, num_qubits=4)
