"""QAOA starts on ERC problems (issue 11): the sign-corrected ramp and the transferred angles beat the uniform
state's ground-state probability; the shipped table covers the depths it claims."""

from __future__ import annotations

import numpy as np
import pytest

import qrp
from qrp.data.loaders import example_covariance
from qrp.data.synthetic import factor_covariance
from qrp.discrete.angles import transfer_angles, transfer_table
from qrp.discrete.relax import relaxed_bits
from qrp.quantum import statevector as sv
from qrp.quantum.angles import ramp_angles, warm_start_thetas
from qrp.quantum.qaoa import QAOA


def ground_ratios(angles_of, reps: int) -> list[float]:
    """P(ground) / (g / 2^n) at the given start on five held-out problems (seeds 0-4, N = 3, K = 2)."""
    out = []
    for seed in range(5):
        op, offset = qrp.discretize(factor_covariance(3, seed=seed).to_numpy(), 2).to_ising()
        q = QAOA(op, offset, reps=reps)
        d = q.diagonal()
        ground = d <= d.min() + 1e-9 * max(abs(d.min()), 1.0)
        out.append(float(sv.probabilities(q.state(angles_of(reps)))[ground].sum() / ground.mean()))
    return out


@pytest.mark.parametrize("reps", [1, 3])
def test_ramp_start_beats_uniform_and_the_reversed_ramp_does_not(reps):
    def reversed_ramp(p):
        x = ramp_angles(p)
        x[p:] *= -1
        return x

    assert np.median(ground_ratios(ramp_angles, reps)) > 1.5
    assert np.median(ground_ratios(reversed_ramp, reps)) < 0.5  # the pre-fix ramp: anneals to the maximum


@pytest.mark.parametrize("reps", [1, 2, 3, 4, 5])
def test_transfer_table_holds_each_depth_and_beats_uniform(reps):
    x = transfer_angles(reps)
    assert x.shape == (2 * reps,) and np.all(np.isfinite(x)) and x[:reps].sum() > 0
    assert np.median(ground_ratios(transfer_angles, reps)) > 1.5
    assert transfer_table()["command"] == "python -m benchmarks.qaoa_angles build"


def test_transfer_refuses_a_depth_it_does_not_hold():
    with pytest.raises(ValueError, match="reps=9"):
        transfer_angles(9)


@pytest.mark.parametrize("seed", range(4))
def test_relaxation_warm_state_never_starts_above_the_uniform_mean(seed):
    # E over the product state Bernoulli(c) of x'Mx + l'x is l'c + c'Mc + sum_p M_pp c_p (1 - c_p): c minimizes the
    # first part over [0, 1]^n (the relaxation, M positive semidefinite) and c (1 - c) <= 1/4 bounds the second,
    # so the relaxed start is never above the uniform state's mean (epsilon = 0: no regularization)
    problem = qrp.discretize(factor_covariance(3, seed=seed).to_numpy(), 2)
    op, offset = problem.to_ising()
    zero = np.zeros(2)
    warm = QAOA(op, offset, reps=1, warm_thetas=warm_start_thetas(relaxed_bits(problem), 0.0)).objective(zero)
    uniform = QAOA(op, offset, reps=1).objective(zero)
    assert warm <= uniform + 1e-12 * abs(uniform)


def test_warm_start_variants_are_labelled_and_the_oracle_is_opt_in():
    cov = np.asarray(example_covariance())[:3, :3]
    runs = {ws: qrp.risk_parity(cov, solver="qaoa", bits=2, seed=1, resources=False, warm_start=ws).history[0]
            for ws in (False, True, "oracle")}
    assert [runs[ws].stats["warm_start"] for ws in runs] == [False, "relaxation", "oracle"]
    # the oracle starts from the classical answer's nearest level: on this problem it is the ground state, and the
    # oracle's ground-state probability (an upper bound, not a method) is far above the cold start's
    assert runs["oracle"].stats["ground_state_probability"] > 2 * runs[False].stats["ground_state_probability"]
    with pytest.raises(ValueError, match="warm_start must be False, True"):
        qrp.risk_parity(cov, solver="qaoa", bits=2, warm_start="classical")


def test_transfer_angles_start_the_solver_and_carried_angles_compete():
    cov = np.asarray(example_covariance())[:3, :3]
    res = qrp.risk_parity(cov, solver="qaoa", bits=2, reps=2, rounds=3, tol=0.0, seed=0, resources=False,
                          angles="transfer")
    assert res.history[0].stats["init"] == "start" and res.history[0].stats["start_angles"] == "transfer"
    assert {h.stats["init"] for h in res.history[1:]} <= {"start", "given"}
    with pytest.raises(ValueError, match="angles='transfer'"):
        qrp.risk_parity(cov, solver="qaoa", bits=2, angles="transfer", init="interp")
