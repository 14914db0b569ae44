"""The one driver every registered discrete solver runs through (``qrp.core.registry.DISCRETE_DRIVER``).

A discrete solver is registered as a sample-solver factory plus its option table (``Discretization``'s shared
options and its own). ``solve_discrete`` takes the solver's validated ``Settings`` as they are (nothing is checked
again), reconciles ``rounds`` with ``max_iter``, lays the solve out with ``qrp.discrete.plan.plan`` (which refuses a
problem beyond the solver's qubit limit before any work; with ``block_size=k``, the limit applies to one block of k
assets), builds the sample solver once (``build_sample_solver``: wrapped in the composite
``qrp.discrete.decompose.BlockComposite`` when the plan has blocks) and runs the refinement loop
(``qrp.discrete.refine.run_refinement``) with it. Solvers never copy the discretization signature. ``warm_solve``
does a solve's cached one-off work (a circuit resource count) ahead of timing it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from qrp.core.result import SolverOutput
from qrp.core.validation import validate_problem
from qrp.discrete.box import initial_box
from qrp.discrete.decompose import BlockComposite, Blocks
from qrp.discrete.options import Discretization, discretization_of
from qrp.discrete.plan import Plan, plan
from qrp.discrete.problem import DiscreteProblem
from qrp.discrete.refine import SampleSolver, run_refinement


def factory_options(settings: Mapping[str, Any]) -> dict[str, Any]:
    """What a solver's factory is called with: its validated options other than the discretization's and the
    composites' (``Discretization``, ``Blocks``)."""
    shared = {*Discretization.names(), *Blocks.names()}
    return {k: v for k, v in settings.items() if k not in shared}


def build_sample_solver(spec, settings: Mapping[str, Any], layout: Plan) -> SampleSolver:
    """The solver's sample solver, from its factory and validated ``settings``, wrapped in the block decomposition
    (``BlockComposite``, with the settings' ``Blocks``) when ``layout.blocks``."""
    sample_solver = spec.load()(**factory_options(settings))
    if layout.blocks:
        sample_solver = BlockComposite(sample_solver, settings.section(Blocks))
    return sample_solver


def solve_discrete(spec, cov: np.ndarray, budgets: np.ndarray, *, tol: float, max_iter: int | None, seed,
                   options: Mapping[str, Any]) -> SolverOutput:
    """Run the registered discrete solver ``spec`` on a validated covariance and budgets; ``options``: the
    ``Settings`` of ``spec.validate_options``. ``max_iter`` None: not given by the caller."""
    disc = discretization_of(options)
    disc = dataclasses.replace(disc, rounds=disc.resolve_rounds(max_iter))
    layout = plan(spec, cov.shape[0], options)
    sample_solver = build_sample_solver(spec, options, layout)
    return run_refinement(cov, budgets, disc, tol=tol, seed=seed, sample_solver=sample_solver)


def warms(spec) -> bool:
    """Whether ``spec``'s sample solvers have one-off work for ``warm_solve`` (its factory's ``warms``)."""
    return bool(getattr(spec.load(), "warms", False))


def warm_solve(spec, cov, budgets=None, *, options: Mapping[str, Any]) -> None:
    """Do now the one-off work that a solve of (``cov``, ``budgets``: validated here, as by ``qrp.risk_parity``)
    with ``spec``'s ``Settings`` ``options`` would do on its first problem and that the process caches, without
    solving: the sample solver's ``warm(problem)`` on the first round's problem (the "qaoa" solver's circuit
    resource count), when its factory declares one (``factory.warms``) and the plan has no blocks; nothing for the
    other solvers. A study calls it before it times the solve (``qrp.studies.rows.warm_up``), so that the solve's
    ``elapsed`` holds no one-off transpile."""
    if not warms(spec):
        return
    problem = validate_problem(cov, budgets)
    s, b = problem.cov, problem.budgets
    layout = plan(spec, s.shape[0], options)
    if layout.blocks:
        return
    warm = build_sample_solver(spec, options, layout).warm
    disc = discretization_of(options)
    lo, hi = initial_box(s, b, disc)
    warm(DiscreteProblem.on_box(s, b, disc, lo, hi))
