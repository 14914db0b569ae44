"""qrp.discrete.driver and options: one Discretization validated once, rounds vs max_iter, resources per round."""

import dataclasses

import numpy as np
import pytest

import qrp
from qrp.core.registry import available_solvers, get_solver
from qrp.core.result import RefinementRound, Resources
from qrp.data.synthetic import random_covariance
from qrp.discrete.decompose import Blocks
from qrp.discrete.options import DEFAULTS, Discretization, discrete_options


def test_discretization_is_declared_once_and_shared():
    names = Discretization.names()
    assert names == ("bits", "formulation", "encoding", "rounds", "box", "shrink", "radius", "log_fit", "penalty")
    assert Blocks.names() == ("block_size", "block_order", "block_sweeps")  # the composite's own
    for solver in available_solvers("discrete"):
        table = get_solver(solver).options
        shared = [o for o in table if o.name in names]
        assert [o.name for o in shared] == list(names)
        # the same checks (one declaration), only a solver's own default may differ (sa: bits=4)
        assert [o.check for o in shared] == [o.check for o in discrete_options()]
        # the composite's options join every discrete solver's table, declared once in decompose.py
        assert [o for o in table if o.name in Blocks.names()] == list(Blocks.options()), solver
    assert DEFAULTS.bits == 2 and DEFAULTS.log_fit == "taylor" and DEFAULTS.radius == 0.5
    with pytest.raises(ValueError, match="not discretization options"):
        discrete_options(reps=3)


def test_rounds_and_max_iter_must_agree():
    cov = random_covariance(3, 1)
    a = qrp.risk_parity(cov, solver="exact", bits=2, rounds=3, tol=0.0)
    b = qrp.risk_parity(cov, solver="exact", bits=2, max_iter=3, tol=0.0)
    c = qrp.risk_parity(cov, solver="exact", bits=2, rounds=3, max_iter=3, tol=0.0)
    assert a.iterations == b.iterations == c.iterations == 3
    with pytest.raises(ValueError, match=r"rounds=3 and max_iter=2 disagree"):
        qrp.risk_parity(cov, solver="exact", bits=2, rounds=3, max_iter=2)
    assert qrp.risk_parity(cov, solver="exact", bits=2).iterations == 1  # registry default: one-shot


def test_qubit_limit_refused_before_any_round(registered):
    calls = []

    def factory(**_):
        calls.append(1)
        raise AssertionError("never built")

    registered("toy_limited", factory, kind="discrete", options=discrete_options(), max_qubits=5)
    with pytest.raises(ValueError, match=r"solver 'toy_limited' on 6 qubits .*max_qubits = 5"):
        qrp.risk_parity(random_covariance(3, 2), solver="toy_limited", bits=2)
    assert not calls


def test_history_is_typed_and_resources_add_up():
    cov = random_covariance(3, 3)
    res = qrp.risk_parity(cov, solver="sa", bits=2, rounds=3, tol=0.0, seed=1, num_reads=7, num_sweeps=50)
    assert all(isinstance(h, RefinementRound) for h in res.history) and len(res.history) == 3
    per_round = Resources(samples=7, evaluations=7 * 50 * 6)  # reads x sweeps x variables: single-flip proposals
    assert [h.resources for h in res.history] == [per_round] * 3
    assert res.stats["resources"] == Resources(samples=21, evaluations=3 * 7 * 50 * 6).to_dict()
    d = res.to_dict()["history"][0]
    assert set(d["box"]) == {"lo", "hi"} and d["resources"]["samples"] == 7
    ex = qrp.risk_parity(cov, solver="exact", bits=2, rounds=2, tol=0.0)
    assert ex.stats["resources"]["samples"] == 2 * 2**6
    assert Resources(1, 2, 3, 0.5) + Resources(1, 0, 0, 0.25) == Resources(2, 2, 3, 0.75)


def test_qaoa_resources_count_evaluations_and_shots():
    cov = random_covariance(2, 4)
    res = qrp.risk_parity(cov, solver="qaoa", bits=2, reps=1, seed=0, resources=False, shots=64, max_evals=10,
                          readout_shots=128)
    r = res.history[0].resources
    assert r.evaluations == res.history[0].stats["evaluations"] >= 2
    assert r.samples == 64 * r.evaluations + 128 and r.circuit_executions == r.evaluations + 1
    assert 0 < r.simulation_seconds <= res.history[0].stats["wall_time"]


def test_solver_options_are_not_mutated_and_direct_refine_still_validates():
    cov = random_covariance(3, 5)
    box = [[0.1, 0.1, 0.1], [2.0, 2.0, 2.0]]
    kept = [list(r) for r in box]
    qrp.risk_parity(cov, solver="exact", bits=2, box=box)
    assert box == kept
    with pytest.raises(ValueError, match="box contains NaN"):
        qrp.risk_parity(cov, solver="exact", bits=2, box=[np.nan, 1.0])
    d = dataclasses.replace(DEFAULTS, rounds=2)
    assert d.resolve_rounds(None) == 2 and DEFAULTS.resolve_rounds(None) == 1


def _count_validations(monkeypatch):
    """Wrap every place options are checked (the registry's table check, the cross-field checks, the engine's own
    settings builders, the integer check behind every int option) with call counters."""
    import qrp.core.options as core_options
    import qrp.core.registry as registry
    import qrp.discrete.qaoa as dqaoa
    import qrp.quantum.engine_options as engine_options
    import qrp.quantum.qaoa as qqaoa

    calls = {}

    def counting(module, name):
        original = getattr(module, name)

        def wrapper(*args, **kwargs):
            calls[name] = calls.get(name, 0) + 1
            return original(*args, **kwargs)

        monkeypatch.setattr(module, name, wrapper)

    for module in (core_options, registry, engine_options):
        counting(module, "check_options")
    counting(registry.SolverSpec, "validate_options")
    counting(core_options, "positive_int")
    counting(dqaoa, "check_combination")
    counting(engine_options, "check_mode")
    counting(qqaoa, "engine_settings")
    counting(qqaoa, "optimize_settings")
    return calls


def test_qaoa_path_validates_once(monkeypatch):
    cov4 = random_covariance(4, 0)
    spec = get_solver("qaoa")
    calls = _count_validations(monkeypatch)
    spec.validate_options({"bits": 2, "rounds": 3})
    one = dict(calls)
    assert one["validate_options"] == one["check_options"] == one["check_combination"] == 1
    assert one["positive_int"] >= 5  # every integer option of the table (bits, reps, max_evals, ...) once
    calls.clear()
    res = qrp.risk_parity(cov4, solver="qaoa", bits=2, rounds=3, tol=0.0, seed=0)
    assert res.iterations == 3  # three rounds ran, each building a QAOA and optimizing it
    # the whole path (api, driver, plan, factory, three QAOA engines and their optimizers) checks the options once
    assert {k: v for k, v in calls.items() if k != "positive_int"} == {
        "validate_options": 1, "check_options": 1, "check_combination": 1}
    assert calls["positive_int"] == one["positive_int"]  # each integer option checked once, not once per round
