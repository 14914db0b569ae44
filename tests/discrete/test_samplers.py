"""qrp.discrete.samplers: any dimod sampler as a discrete solver, seeded when it takes a seed."""

import dimod
import numpy as np
import pytest
from dwave.samplers import SteepestDescentSolver, TabuSampler

import qrp
from qrp.data.synthetic import random_covariance
from qrp.discrete.exact import exact_minimum
from qrp.discrete.problem import discretize
from qrp.discrete.refine import refine
from qrp.discrete.samplers import bqm_sample_solver


def test_tabu_and_steepest_descent_through_solver_dimod():
    cov = random_covariance(6, 40)
    # tabu stops at num_restarts (deterministic) long before its timeout (ms)
    tabu = qrp.risk_parity(cov, solver="dimod", sampler=TabuSampler(), bits=3, rounds=30, seed=1, num_reads=4,
                           timeout=100_000, num_restarts=3)
    steep = qrp.risk_parity(cov, solver="dimod", sampler=SteepestDescentSolver(), bits=3, rounds=30, seed=1,
                            num_reads=50)
    for res in (tabu, steep):
        assert res.converged and res.rc_error <= 1e-8
        assert res.stats["resources"]["samples"] == sum(h.stats["reads"] for h in res.history)
    again = qrp.risk_parity(cov, solver="dimod", sampler=TabuSampler(), bits=3, rounds=30, seed=1, num_reads=4,
                            timeout=100_000, num_restarts=3)
    np.testing.assert_array_equal(again.weights, tabu.weights)  # seeded


def test_the_dimod_solver_refines_like_a_hand_built_loop():
    cov = random_covariance(4, 43)
    out = refine(cov, None, bits=3, rounds=5, tol=0.0, seed=2,
                 sample_solver=bqm_sample_solver(SteepestDescentSolver(), num_reads=10))
    res = qrp.risk_parity(cov, solver="dimod", sampler=SteepestDescentSolver(), bits=3, rounds=5, tol=0.0, seed=2,
                          num_reads=10)
    np.testing.assert_array_equal(res.weights, out.weights)


def test_seed_is_passed_and_reads_are_rescored():
    p = discretize(random_covariance(4, 41), 3)
    solver = bqm_sample_solver(SteepestDescentSolver(), num_reads=20)
    a, b, c = (solver(p, seed=s, state=None) for s in (7, 7, 8))
    np.testing.assert_array_equal(a.sample, b.sample)
    assert a.stats == b.stats and a.stats["reads"] == 20 and a.stats["sampler"] == "SteepestDescentSolver"
    assert a.energy == pytest.approx(p.energy(a.sample), rel=0, abs=1e-14)
    _, e, _, _ = exact_minimum(p)
    assert a.stats["ground_state"] == (a.energy <= e + 1e-12)
    assert c.stats["reads"] == 20


def test_exact_solver_has_no_seed_and_finds_the_ground_state():
    p = discretize(random_covariance(3, 42), 2, formulation="pairwise")  # product variables re-scored away
    res = bqm_sample_solver(dimod.ExactSolver())(p, seed=3, state=None)
    assert res.stats["ground_state"] and res.stats["num_auxiliary"] == p.num_auxiliary > 0


def test_bad_sampler_arguments():
    with pytest.raises(ValueError, match="needs sampler"):
        bqm_sample_solver(None)
    spec = qrp.get_solver("dimod")  # the registry validates the sampler and its sample arguments, once
    with pytest.raises(ValueError, match=r"dimod\.Sampler"):
        spec.validate_options({"sampler": object()})
    with pytest.raises(ValueError, match="num_sweeps"):
        spec.validate_options({"sampler": TabuSampler(), "num_sweeps": 10})
    with pytest.raises(ValueError, match="needs sampler"):
        qrp.risk_parity(random_covariance(3, 1), solver="dimod", bits=2)
    with pytest.raises(ValueError, match="num_sweeps"):
        qrp.risk_parity(random_covariance(3, 1), solver="dimod", sampler=TabuSampler(), num_sweeps=5)
