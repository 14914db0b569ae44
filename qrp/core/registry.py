"""The solver registry: one name per solver, one calling convention, one declared option table per solver.

Classical solvers are functions

    solve(cov, budgets, *, tol, max_iter, seed, **options) -> qrp.core.result.SolverOutput

receiving a validated float64 (N, N) covariance that they must not modify, validated budgets (positive, summing to
1), the tolerance on ``rc_error``, an iteration cap and a seed (deterministic solvers ignore it); they return
long-only weights summing to 1.

Discrete solvers are *sample-solver factories* ``make(**own_options) -> sample_solver`` with
``sample_solver(problem, *, seed, state) -> qrp.discrete.refine.SampleResult``; one generic driver
(``DISCRETE_DRIVER``) validates the shared discretization options once and runs the refinement loop with the
factory's sampler for every discrete solver.

Every solver declares its options once, as a tuple of ``Option`` (name, default, check, doc), an ``OptionTable``
(the same plus a cross-field check and a shared section such as the discretization) or a lazy ``"module:ATTR"``
path to one. ``SolverSpec.validate_options`` is the single place options are checked: ``qrp.risk_parity``,
``qrp.studies`` (dry run before a study starts), the runner and the CLI all call it, and nothing reads solver
signatures. It returns a frozen ``Settings`` (a read-only mapping of every validated value, with the typed
dataclasses behind it); whatever receives one (the discrete driver, the sample-solver factories, the QAOA engine)
trusts it and checks nothing again. Built-in solvers are registered lazily (module path strings) so that
``import qrp`` does not import qiskit; user solvers join with ``register_solver`` and leave with
``unregister_solver``.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from numbers import Real
from types import MappingProxyType
from typing import Any

import numpy as np

from qrp.core.extras import missing_extra
from qrp.core.options import Option, OptionTable, Settings, check_options, choice_option, real_option
from qrp.core.validation import positive_int

KINDS = ("classical", "discrete")
#: The driver every discrete solver runs through: ``solve(spec, cov, budgets, *, tol, max_iter, seed, options)``.
DISCRETE_DRIVER = "qrp.discrete.driver:solve_discrete"
#: The composites every discrete solver can be wrapped in: each an ``OptionTable`` path whose options join every
#: discrete solver's table (dimod's composite pattern: the composite's parameters beside its child's).
DISCRETE_COMPOSITES = ("qrp.discrete.decompose:BLOCK_OPTIONS",)


def _load(path: str) -> Any:
    module, attr = path.split(":")
    return getattr(importlib.import_module(module), attr)


@dataclass(frozen=True)
class SolverSpec:
    """A registry entry.

    Attributes
    ----------
    name : registry key, passed as ``solver=`` to ``qrp.risk_parity``.
    target : the solve function (classical) or sample-solver factory (discrete), or a lazy ``"module:ATTR"`` path.
    kind : ``"classical"`` (continuous) or ``"discrete"`` (QUBO / binary polynomial over encoded weights).
    description : one line for ``qrp solvers`` and the solver tables of the documentation.
    default_tol : tolerance on rc_error used when the caller passes ``tol=None``.
    default_max_iter : iteration cap used when the caller passes ``max_iter=None``.
    option_table : the declared options, or a lazy ``"module:ATTR"`` path to them (``options`` loads it).
    max_qubits : qubit limit: None (none), an int, or a callable / ``"module:ATTR"`` mapping the validated
        options to the limit (or None).
    extra_options : accept options beyond the table (passed through unchecked).
    """

    name: str
    target: Callable[..., Any] | str
    kind: str
    description: str
    default_tol: float
    default_max_iter: int
    option_table: tuple[Option, ...] | str = ()
    max_qubits: int | Callable[[dict[str, Any]], int | None] | str | None = None
    extra_options: bool = False

    def load(self) -> Callable[..., Any]:
        """The target (importing its module on first use, then cached with the spec)."""
        return self.function

    @cached_property
    def function(self) -> Callable[..., Any]:
        """The loaded target: ``target`` itself, or the object its ``"module:ATTR"`` path names (imported once)."""
        return self.target if callable(self.target) else _load(self.target)

    @cached_property
    def options(self) -> OptionTable:
        """The declared options (loaded on first use when declared as a path); a discrete solver's also hold the
        options of the composites it can be wrapped in (``DISCRETE_COMPOSITES``: the block decomposition)."""
        table = _load(self.option_table) if isinstance(self.option_table, str) else self.option_table
        table = table if isinstance(table, OptionTable) else OptionTable(table)
        if self.kind == "discrete":
            for path in DISCRETE_COMPOSITES:
                table = table + _load(path)
        names = [o.name for o in table]
        if len(set(names)) != len(names) or not all(isinstance(o, Option) for o in table):
            raise ValueError(f"solver {self.name!r}: options must be Options with distinct names, got {names}")
        return table

    def option_names(self) -> list[str]:
        return [o.name for o in self.options]

    def defaults(self) -> dict[str, Any]:
        """{option: declared default}."""
        return {o.name: o.default for o in self.options}

    @cached_property
    def default_options(self) -> Settings:
        """The declared defaults, validated once per spec (checks are pure functions of the value)."""
        return self._settings(check_options(self.options, {}, owner=f"solver {self.name!r}"))

    def validate_options(self, options: Mapping[str, Any]) -> Settings:
        """Every declared option validated (its ``check``), defaults filled in, then the table's cross-field check
        (``OptionTable.joint``): a frozen ``Settings``. ``ValueError`` for an unknown name (listing the accepted
        ones) unless ``extra_options``. No solver work is done. Settings pass through unchanged."""
        if isinstance(options, Settings) and options.solver == self.name:
            return options
        if not options:
            return self.default_options
        return self._settings(check_options(self.options, options, owner=f"solver {self.name!r}",
                                            extra=self.extra_options))

    @cached_property
    def settings_type(self) -> type:
        """The solver's own settings dataclass, built from its option table: one frozen field per option outside
        the table's sections, defaulting as declared."""
        names = {n for section in self.options.sections for n in section.names()}
        fields = [(o.name, Any, dataclasses.field(default=o.default)) for o in self.options if o.name not in names]
        cls_name = "".join(part.title() for part in self.name.split("_") if part.isidentifier()) + "Settings"
        return dataclasses.make_dataclass(cls_name or "SolverSettings", fields, frozen=True)

    def _settings(self, values: dict[str, Any]) -> Settings:
        """``Settings`` of checked ``values`` (every declared option present), after the cross-field check."""
        table = self.options
        if table.joint is not None:
            table.joint(values)
        sections = tuple(cls(**{n: values[n] for n in cls.names()}) for cls in table.sections)
        own_type = self.settings_type
        own = own_type(**{f.name: values[f.name] for f in dataclasses.fields(own_type)})
        order = tuple(o.name for o in table)
        extra = MappingProxyType({k: v for k, v in values.items() if k not in order})
        return Settings(self.name, own, sections, extra, order)

    def qubit_limit(self, settings: Mapping[str, Any]) -> int | None:
        """The declared ``max_qubits`` evaluated on validated ``settings``: the largest number of binary variables
        this solver accepts, or None (no limit). ``qrp.discrete.plan`` is its one caller."""
        if self.max_qubits is None or isinstance(self.max_qubits, int):
            return self.max_qubits
        func = _load(self.max_qubits) if isinstance(self.max_qubits, str) else self.max_qubits
        limit = func(settings)
        return None if limit is None else int(limit)

    def solve(self, cov, budgets, *, tol: float, max_iter: int | None, seed, options: Mapping[str, Any]):
        """Run the solver on validated inputs; ``options``: the ``Settings`` of ``validate_options`` (a plain
        mapping is validated first). ``max_iter`` None means the registry default (a discrete solver's driver also
        reconciles it with ``rounds``). A missing optional package (``qrp.core.extras``) raises
        ``ModuleNotFoundError`` naming this solver and the extra."""
        if not isinstance(options, Settings):
            options = self.validate_options(options)
        try:
            if self.kind == "discrete":
                return _load(DISCRETE_DRIVER)(self, cov, budgets, tol=tol, max_iter=max_iter, seed=seed,
                                              options=options)
            max_iter = self.default_max_iter if max_iter is None else max_iter
            return self.function(cov, budgets, tol=tol, max_iter=max_iter, seed=seed, **options)
        except ModuleNotFoundError as exc:
            hint = missing_extra(exc, f"solver {self.name!r}")
            if hint is None:
                raise
            raise hint from exc


_REGISTRY: dict[str, SolverSpec] = {}


def register_solver(
    name: str,
    target: Callable[..., Any] | str,
    *,
    kind: str = "classical",
    description: str = "",
    default_tol: float = 1e-12,
    default_max_iter: int = 10_000,
    options: tuple[Option, ...] | str = (),
    max_qubits: int | Callable[[dict[str, Any]], int | None] | str | None = None,
    extra_options: bool = False,
    overwrite: bool = False,
) -> SolverSpec:
    """Add a solver to the registry and return its spec (module docstring for the two kinds).

    ``options``: the declared option table (``Option`` tuple or ``"module:ATTR"``); a discrete solver's table
    holds the shared discretization options and its own (``qrp.discrete.options.discrete_options``).
    ``ValueError`` if the name is taken (unless ``overwrite``), ``kind`` is unknown or a limit is invalid."""
    if kind not in KINDS:
        raise ValueError(f"solver kind must be 'classical' or 'discrete', got {kind!r}")
    if not isinstance(name, str) or not name:
        raise ValueError(f"solver name must be a non-empty string, got {name!r}")
    if name in _REGISTRY and not overwrite:
        raise ValueError(f"solver {name!r} is already registered")
    if isinstance(max_qubits, int) and not isinstance(max_qubits, bool):
        max_qubits = positive_int(max_qubits, "max_qubits")
    elif max_qubits is not None and not callable(max_qubits) and not isinstance(max_qubits, str):
        raise ValueError(f"max_qubits must be None, an int, a callable or 'module:ATTR', got {max_qubits!r}")
    if not isinstance(options, (str, OptionTable)):
        options = tuple(options)
    if isinstance(default_tol, bool) or not isinstance(default_tol, Real) or not 0 <= default_tol < np.inf:
        raise ValueError(f"default_tol must be a finite number >= 0, got {default_tol!r}")
    spec = SolverSpec(name, target, kind, description, float(default_tol),
                      positive_int(default_max_iter, "default_max_iter"), options, max_qubits, bool(extra_options))
    _REGISTRY[name] = spec
    return spec


def unregister_solver(name: str) -> SolverSpec:
    """Remove a solver from the registry and return its spec; ``ValueError`` if it is not registered."""
    spec = get_solver(name)
    del _REGISTRY[name]
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


#: Linear solvers of the Newton step (``qrp.classical.newton``).
LINEAR_SOLVERS = ("auto", "cholesky", "cg")

register_solver(
    "auto",
    "qrp.classical.newton:solve_auto",
    description="default: coordinate descent while predicted cheaper, then damped Newton (CG from N=250)",
    default_max_iter=100,
    options=(choice_option("linear_solver", "auto", LINEAR_SOLVERS, "Newton step: Cholesky, CG, or by size"),),
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
    options=(choice_option("linear_solver", "cholesky", LINEAR_SOLVERS, "Newton step: Cholesky, CG, or by size"),),
)
register_solver(
    "slsqp",
    "qrp.classical.slsqp:solve_slsqp",
    description="SciPy SLSQP on the seed's sum_ij (RC_i/b_i - RC_j/b_j)^2, analytic gradient, scaled",
    default_tol=1e-8,
    default_max_iter=1000,
    options=(real_option("ftol", 1e-30, "SLSQP's ftol on the scaled objective"),),
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
    "qrp.discrete.exact:exact_sampler",
    kind="discrete",
    description="exact ground state of the binary-encoded problem by chunked enumeration (n <= 26), refined",
    default_tol=1e-8,
    default_max_iter=1,
    options="qrp.discrete.exact:OPTIONS",
    max_qubits="qrp.discrete.exact:qubit_limit",
)
register_solver(
    "sa",
    "qrp.discrete.anneal:sa_sampler",
    kind="discrete",
    description="simulated annealing (dwave-samplers SimulatedAnnealingSampler) on the QUBO, refined",
    default_tol=1e-8,
    default_max_iter=1,
    options="qrp.discrete.anneal:OPTIONS",
)
register_solver(
    "dimod",
    "qrp.discrete.samplers:bqm_sample_solver",
    kind="discrete",
    description="any dimod.Sampler (sampler=..., its sample arguments passed through) on the QUBO, refined",
    default_tol=1e-8,
    default_max_iter=1,
    options="qrp.discrete.samplers:OPTIONS",
    extra_options=True,
    max_qubits="qrp.discrete.samplers:qubit_limit",
)
register_solver(
    "qaoa",
    "qrp.discrete.qaoa:qaoa_sampler",
    kind="discrete",
    description="QAOA on qiskit-aer (fast exact statevector path, shots/CVaR/noise on Aer) on the Ising form, refined",
    default_tol=1e-8,
    default_max_iter=1,
    options="qrp.discrete.qaoa:OPTIONS",
    max_qubits="qrp.discrete.qaoa:qubit_limit",
)
register_solver(
    "random",
    "qrp.discrete.baselines:random_sampler",
    kind="discrete",
    description="null baseline: best of `shots` uniformly random bitstrings (seeded), refined",
    default_tol=1e-8,
    default_max_iter=1,
    options="qrp.discrete.baselines:RANDOM_OPTIONS",
)
register_solver(
    "greedy",
    "qrp.discrete.baselines:greedy_sampler",
    kind="discrete",
    description="null baseline: steepest-descent bit flips from `starts` random bitstrings (dwave-samplers), refined",
    default_tol=1e-8,
    default_max_iter=1,
    options="qrp.discrete.baselines:GREEDY_OPTIONS",
)
register_solver(
    "rounding",
    "qrp.discrete.baselines:rounding_sampler",
    kind="discrete",
    description="null baseline: the box's continuous minimizer rounded to the grid, polished by bit flips, refined",
    default_tol=1e-8,
    default_max_iter=1,
    options="qrp.discrete.baselines:ROUNDING_OPTIONS",
)
register_solver(
    "tabu",
    "qrp.discrete.baselines:tabu_sampler",
    kind="discrete",
    description="null baseline: multistart tabu search (dwave-samplers TabuSampler) by move budget, refined",
    default_tol=1e-8,
    default_max_iter=1,
    options="qrp.discrete.baselines:TABU_OPTIONS",
)
