"""qrp.discrete.refine: the hybrid loop converges geometrically, records its rounds and validates its input."""

import numpy as np
import pytest

import qrp
from qrp.data.synthetic import random_covariance
from qrp.discrete.exact import exact_sampler
from qrp.discrete.refine import SampleResult, refine


def test_exact_refinement_converges():
    cov = random_covariance(4, 31)
    res = qrp.risk_parity(cov, solver="exact", bits=3, rounds=40, tol=1e-9)
    assert res.converged and res.rc_error <= 1e-9
    errs = [h.rc_error for h in res.history]
    assert errs[0] > 1e-3  # one-shot is coarse ...
    assert len(errs) < 40  # ... and refinement stops early
    assert min(errs) == res.rc_error
    h = res.history[-1]
    assert set(h.to_dict()) >= {"round", "seed", "box", "energy", "rc_error", "on_edge", "elapsed", "stats"}
    assert h.stats["degeneracy"] >= 1


def test_sa_refinement_reaches_1e8_on_n8():
    cov = random_covariance(8, 32)
    res = qrp.risk_parity(cov, solver="sa", bits=4, rounds=30, seed=1, num_reads=5, num_sweeps=300)
    assert res.rc_error <= 1e-8 and res.converged


def test_refine_boxes_shrink_and_recentre():
    cov = random_covariance(3, 33)
    out = refine(cov, None, bits=3, rounds=4, tol=0.0, seed=0, sample_solver=exact_sampler(), shrink=0.5)
    assert out.iterations == 4 and not out.converged
    for prev, cur in zip(out.history, out.history[1:], strict=False):
        w_prev = np.subtract(prev.box[1], prev.box[0])
        w_cur = np.subtract(cur.box[1], cur.box[0])
        if prev.on_edge == 0:
            np.testing.assert_allclose(w_cur, 0.5 * w_prev)
        assert np.all(np.array(cur.box[0]) > 0)


def test_refine_passes_state_and_derives_seeds():
    calls = []

    def solver(problem, *, seed, state):
        calls.append((seed, state))
        x = np.zeros(problem.num_qubits, dtype=int)
        return SampleResult(x, problem.energy(x), {"calls": len(calls)}, state=len(calls))

    cov = random_covariance(3, 34)
    out = refine(cov, None, bits=2, rounds=3, tol=0.0, seed=5, sample_solver=solver)
    assert [s for _, s in calls] == [None, 1, 2]
    seeds = [s for s, _ in calls]
    children = np.random.SeedSequence(5).spawn(3)
    assert seeds == [int(c.generate_state(1, dtype=np.uint32)[0] >> 1) for c in children]
    assert out.history[2].stats == {"calls": 3}


def test_refine_bad_inputs():
    cov = random_covariance(3, 35)
    kw = dict(bits=2, tol=0.0, seed=0, sample_solver=exact_sampler())
    with pytest.raises(ValueError, match="rounds"):
        refine(cov, None, rounds=0, **kw)
    with pytest.raises(ValueError, match="shrink"):
        refine(cov, None, rounds=2, shrink=1.5, **kw)
    with pytest.raises(ValueError, match="bits"):
        refine(cov, None, rounds=2, **{**kw, "bits": 0})
    with pytest.raises(ValueError, match="seed"):
        refine(cov, None, rounds=2, **{**kw, "seed": -1})
    with pytest.raises(ValueError, match="rounds"):
        qrp.risk_parity(cov, solver="exact", bits=2, rounds=0)
    with pytest.raises(ValueError, match="bounds are supported by classical solvers only"):
        qrp.risk_parity(cov, solver="exact", bits=2, bounds=(0, 1))

    def bad(problem, *, seed, state):
        return SampleResult(np.zeros(problem.num_qubits + 1, dtype=int), 0.0)

    with pytest.raises(ValueError, match="shape"):
        refine(cov, None, rounds=1, **{**kw, "sample_solver": bad})
