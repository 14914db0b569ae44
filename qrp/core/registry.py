"""The solver registry: one name per solver, one calling convention, one result type (as dimod's samplers).

A solver is a function

    solve(cov, budgets, *, tol, max_iter, seed, **options) -> qrp.core.result.SolverOutput

receiving a validated float64 (N, N) covariance that it must not modify, validated budgets (positive, summing to
1), the tolerance on ``rc_error``, an iteration cap and a seed (deterministic solvers ignore it). It returns
long-only weights summing to 1. ``qrp.risk_parity`` does validation, bounds, scaling, timing and the result object.

Built-in solvers are registered lazily (module path strings) so that ``import qrp`` does not import qiskit; user
solvers join with ``register_solver``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from qrp.core.result import SolverOutput

SolverFunc = Callable[..., SolverOutput]


@dataclass(frozen=True)
class SolverSpec:
    """A registry entry.

    Attributes
    ----------
    name : registry key, passed as ``solver=`` to ``qrp.risk_parity``.
    target : the function, or a lazy ``"module:function"`` path.
    kind : ``"classical"`` (continuous) or ``"discrete"`` (QUBO / binary polynomial over encoded weights).
    description : one line for ``qrp solvers`` and the README.
    default_tol : tolerance on rc_error used when the caller passes ``tol=None``.
    default_max_iter : iteration cap used when the caller passes ``max_iter=None``.
    """

    name: str
    target: SolverFunc | str
    kind: str
    description: str
    default_tol: float
    default_max_iter: int

    def load(self) -> SolverFunc:
        """The solver function (importing its module on first use)."""
        if callable(self.target):
            return self.target
        module, func = self.target.split(":")
        return getattr(importlib.import_module(module), func)


_REGISTRY: dict[str, SolverSpec] = {}


def register_solver(
    name: str,
    target: SolverFunc | str,
    *,
    kind: str = "classical",
    description: str = "",
    default_tol: float = 1e-12,
    default_max_iter: int = 10_000,
    overwrite: bool = False,
) -> SolverSpec:
    """Add a solver to the registry and return its spec. ``ValueError`` if the name is taken (unless
    ``overwrite``) or ``kind`` is unknown."""
    if kind not in ("classical", "discrete"):
        raise ValueError(f"solver kind must be 'classical' or 'discrete', got {kind!r}")
    if name in _REGISTRY and not overwrite:
        raise ValueError(f"solver {name!r} is already registered")
    spec = SolverSpec(name, target, kind, description, float(default_tol), int(default_max_iter))
    _REGISTRY[name] = spec
    return spec


def get_solver(name: str) -> SolverSpec:
    """The spec registered as ``name``; ``ValueError`` listing the known names otherwise."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown solver {name!r}; available: {', '.join(sorted(_REGISTRY))}") from None


def available_solvers(kind: str | None = None) -> dict[str, SolverSpec]:
    """Registered solvers by name, optionally only those of one ``kind``."""
    return {k: v for k, v in sorted(_REGISTRY.items()) if kind is None or v.kind == kind}


register_solver(
    "auto",
    "qrp.classical.newton:solve_auto",
    description="default: coordinate descent while predicted cheaper, then damped Newton (CG from N=250)",
    default_max_iter=100,
)
register_solver(
    "ccd",
    "qrp.classical.ccd:solve_ccd",
    description="cyclical coordinate descent on Spinu's convex problem (Griveau-Billion et al. 2013), numba",
)
register_solver(
    "newton",
    "qrp.classical.newton:solve_newton",
    description="damped Newton on Spinu's convex problem min 1/2 y'Sy - b'log y (Spinu 2013), SciPy Cholesky or CG",
    default_max_iter=100,
)
register_solver(
    "slsqp",
    "qrp.classical.slsqp:solve_slsqp",
    description="SciPy SLSQP on the seed's sum_ij (RC_i/b_i - RC_j/b_j)^2, analytic gradient, scaled",
    default_tol=1e-8,
    default_max_iter=1000,
)
register_solver(
    "slsqp_seed",
    "qrp.classical.slsqp:solve_slsqp_seed",
    description="the seed document's SLSQP exactly as written (SciPy defaults, numeric gradient)",
    default_tol=1e-8,
    default_max_iter=100,
)
register_solver(
    "exact",
    "qrp.discrete.exact:solve_exact",
    kind="discrete",
    description="exact ground state of the binary-encoded problem by chunked enumeration (n <= 26), refined",
    default_tol=1e-8,
    default_max_iter=1,
)
register_solver(
    "sa",
    "qrp.discrete.anneal:solve_sa",
    kind="discrete",
    description="simulated annealing (dwave-samplers SimulatedAnnealingSampler) on the QUBO, refined",
    default_tol=1e-8,
    default_max_iter=1,
)
register_solver(
    "qaoa",
    "qrp.discrete.qaoa:solve_qaoa",
    kind="discrete",
    description="QAOA on qiskit-aer (fast exact statevector path, shots/CVaR/noise on Aer) on the Ising form, refined",
    default_tol=1e-8,
    default_max_iter=1,
)
