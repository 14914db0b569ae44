"""The sample-solver contract, for EVERY registered discrete solver (ARCHITECTURE.md, "The discrete-solver contract"):
on a 6-qubit problem (N = 3 assets x 2 bits, one round) the decoded weights equal exact enumeration's, a seed
reproduces the run, and the resources of the round are recorded. A newly registered solver is picked up here; one
that needs an option (dimod's sampler) says so in ``REQUIRED``."""

import numpy as np
import pytest

import qrp
from qrp.core.result import Resources
from qrp.data.synthetic import random_covariance

COV = random_covariance(3, 11)
#: 6 qubits, one round: every solver solves the same discrete problem that exact enumeration solves.
PROBLEM = {"bits": 2, "rounds": 1}


def _required(name: str) -> dict:
    """Options a solver cannot run without (dimod: a sampler; dimod's own exhaustive ExactSolver)."""
    if name == "dimod":
        dimod = pytest.importorskip("dimod")
        return {"sampler": dimod.ExactSolver()}
    return {}


def _solve(name: str, seed: int, **extra):
    return qrp.risk_parity(COV, solver=name, seed=seed, tol=0.0, **PROBLEM, **_required(name), **extra)


@pytest.fixture(scope="module")
def exact():
    return _solve("exact", 0)


@pytest.mark.parametrize("name", sorted(qrp.available_solvers("discrete")))
def test_every_discrete_solver_meets_the_contract(name, exact):
    a, b = _solve(name, 5), _solve(name, 5)
    # decoded weights: the same grid point as exact enumeration (a ground state of the 6-qubit problem)
    assert a.num_qubits == exact.num_qubits == 6
    np.testing.assert_array_equal(a.weights, exact.weights)
    assert a.energy == pytest.approx(exact.energy, rel=1e-12, abs=1e-15)
    # seeds reproduce: the same weights, energies and per-round statistics
    np.testing.assert_array_equal(a.weights, b.weights)
    assert [h.energy for h in a.history] == [h.energy for h in b.history]
    # resources recorded: per round (typed) and summed into the result
    assert len(a.history) == 1 and isinstance(a.history[0].resources, Resources)
    used = a.history[0].resources
    assert used.samples > 0 or used.evaluations > 0, used
    assert a.stats["resources"] == used.to_dict()


@pytest.mark.parametrize("name", sorted(qrp.available_solvers("discrete")))
def test_every_discrete_solver_runs_inside_the_block_composite(name, exact):
    # the composite wraps any registered solver: blocks of 2 assets (4 qubits) swept over the 3 assets
    res = _solve(name, 5, block_size=2, block_sweeps=2)
    again = _solve(name, 5, block_size=2, block_sweeps=2)
    np.testing.assert_array_equal(res.weights, again.weights)
    stats = res.history[0].stats
    assert stats["block_size"] == 2 and stats["block_qubits"] == 4 and stats["blocks_solved"] >= 2
    assert res.stats["resources"] == res.history[0].resources.to_dict()
    assert res.energy >= exact.energy - 1e-12 * abs(exact.energy)  # never below the ground state


@pytest.mark.parametrize("name", sorted(qrp.available_solvers("discrete")))
def test_every_discrete_solver_validates_its_options_once(name, monkeypatch):
    import qrp.core.options as core_options
    import qrp.core.registry as registry

    calls = []
    for module in (core_options, registry):
        original = module.check_options
        monkeypatch.setattr(module, "check_options",
                            lambda *a, _f=original, **k: calls.append(1) or _f(*a, **k))
    qrp.risk_parity(COV, solver=name, seed=1, tol=0.0, bits=2, rounds=2, block_size=2, **_required(name))
    assert len(calls) == 1  # two rounds, each inside the block composite: one check of the options in all
