"""The ``[[grid]]`` blocks of a study file: each block checked and expanded into ``RunSpec`` grid points, every
point's options dry-run through its solver's declared checks (see ``qrp.studies.study`` for the file format)."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field, replace
from numbers import Integral, Real
from typing import Any

from qrp.core.registry import SolverSpec, get_solver
from qrp.discrete.plan import plan
from qrp.studies.checks import axis, canonical_hash, check_seeds, check_table, check_type
from qrp.studies.sources import INSTANCE_KEYS, CovarianceSource

#: grid keys that are not solver options: passed to ``qrp.risk_parity`` itself.
RUN_KEYS = {"tol": Real, "max_iter": Integral}
#: grid keys of ground-state studies that define the discrete problem, not the solver (qrp.studies.ground_state).
PROBLEM_KEYS = {"box_round": Integral}
#: the grid keys that are neither solver options nor instance axes.
BLOCK_KEYS = ("solver", "n_assets", "seeds")


@dataclass(frozen=True)
class RunSpec:
    """One grid point: solve ``risk_parity(cov(n_assets), solver=solver, seed=seed, **run_args, **options)``."""

    run_id: str
    solver: str
    n_assets: int | None
    seed: int | None
    options: dict[str, Any]
    run_args: dict[str, Any] = field(default_factory=dict)
    block: int = 0
    instance: dict[str, int] = field(default_factory=dict)

    def params(self) -> dict[str, Any]:
        """The canonical parameters (what the run_id hashes, with the study-level settings; the instance keys only
        when set, so the ids of studies without an instance axis do not change)."""
        extra = {"instance": self.instance} if self.instance else {}
        return {"solver": self.solver, "n_assets": self.n_assets, "seed": self.seed, "options": self.options,
                **self.run_args, **extra}


@dataclass(frozen=True)
class GridContext:
    """What every block is checked against: the study's kind, seeds, covariance source (with the number of assets
    a file source holds, None for synthetic), identity keys (``study_key``, hashed into each run_id) and cap."""

    kind: str
    seeds: list[Any]
    cov: CovarianceSource
    available: int | None
    study_key: dict[str, Any]
    max_runs: int


@dataclass(frozen=True)
class _Block:
    """One checked ``[[grid]]`` block: its axes (lists of values) in file order."""

    where: str
    solvers: list[str]
    sizes: list[Any]
    seeds: list[Any]
    instance_axes: dict[str, list[Any]]
    option_axes: dict[str, list[Any]]

    @property
    def size(self) -> int:
        return len(self.solvers) * len(self.sizes) * len(self.seeds) \
            * math.prod(len(v) for v in self.option_axes.values()) \
            * math.prod(len(v) for v in self.instance_axes.values())


def solver_kind(name: str, where: str) -> str:
    """The registry kind ("classical" / "discrete") of solver ``name``; an unknown name is an error at ``where``."""
    try:
        return get_solver(name).kind
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def _check_option(solver: str, name: str, value: Any, defaults: dict[str, Any], where: str) -> None:
    """A grid value of option ``name``: a run key of its declared type, or an option of ``solver`` of its default's
    type (the solver's own checks run later, on whole grid points)."""
    if name in RUN_KEYS:
        check_type(value, RUN_KEYS[name], where)
        return
    if name not in defaults and not get_solver(solver).extra_options:
        raise ValueError(f"{where}: solver {solver!r} does not take option {name!r}; it takes {sorted(defaults)}")
    default = defaults.get(name)
    if default is None:
        return
    if isinstance(default, bool):
        check_type(value, bool, where)
    elif isinstance(default, Integral):
        check_type(value, Integral, where)
    elif isinstance(default, Real):
        check_type(value, Real, where)
    elif isinstance(default, str):
        check_type(value, str, where)
    elif isinstance(default, (tuple, list)):
        check_type(value, list, where)


def _solvers(block: dict[str, Any], where: str) -> list[str]:
    if "solver" not in block:
        raise ValueError(f"{where}.solver: required key is missing")
    solvers = axis(block["solver"], f"{where}.solver")
    for s in solvers:
        check_type(s, str, f"{where}.solver")
        solver_kind(s, f"{where}.solver")
    return solvers


def _sizes(block: dict[str, Any], where: str, ctx: GridContext) -> list[Any]:
    """The block's n_assets axis; a file source without one takes all of its assets."""
    if "n_assets" not in block:
        if ctx.available is None:
            raise ValueError(f"{where}.n_assets: required for a synthetic covariance")
        return [ctx.available]
    sizes = axis(block["n_assets"], f"{where}.n_assets")
    for n in sizes:
        check_type(n, Integral, f"{where}.n_assets")
        if n < 1:
            raise ValueError(f"{where}.n_assets: must be >= 1, got {n}")
        if ctx.available is not None and n > ctx.available:
            name = ctx.cov.path.name if ctx.cov.path is not None else f"source {ctx.cov.source!r}"
            raise ValueError(f"{where}.n_assets: {n} assets requested but {name} has {ctx.available}")
    return sizes


def _instance_axes(block: dict[str, Any], where: str, ctx: GridContext) -> dict[str, list[Any]]:
    axes = {k: axis(v, f"{where}.{k}") for k, v in block.items() if k in INSTANCE_KEYS}
    for key, values in axes.items():
        if ctx.cov.source not in INSTANCE_KEYS[key]:
            raise ValueError(f"{where}.{key}: applies to covariance sources {list(INSTANCE_KEYS[key])}, "
                             f"not {ctx.cov.source!r}")
        for v in values:
            check_type(v, Integral, f"{where}.{key}")
            if v < 0:
                raise ValueError(f"{where}.{key}: must be >= 0, got {v}")
    return axes


def _check_block(b: int, block: Any, ctx: GridContext) -> _Block:
    where = f"grid[{b}]"
    check_table(block, where)
    solvers = _solvers(block, where)
    sizes = _sizes(block, where, ctx)
    seeds = check_seeds(block["seeds"], f"{where}.seeds") if "seeds" in block else ctx.seeds
    instance_axes = _instance_axes(block, where, ctx)
    option_axes = {k: axis(v, f"{where}.{k}") for k, v in block.items() if k not in (*BLOCK_KEYS, *INSTANCE_KEYS)}
    return _Block(where, solvers, sizes, seeds, instance_axes, option_axes)


def _check_option_axes(spec: SolverSpec, blk: _Block, kind: str) -> None:
    defaults = spec.defaults()
    for key, values in blk.option_axes.items():
        for v in values:
            if kind == "ground_state" and key in PROBLEM_KEYS:
                check_type(v, PROBLEM_KEYS[key], f"{blk.where}.{key}")
            else:
                _check_option(spec.name, key, v, defaults, f"{blk.where}.{key}")


#: solvers whose required option is a Python object a study file cannot hold: (option, what to use instead).
OBJECT_OPTIONS = {"dimod": ("sampler", "a dimod.Sampler object; call qrp.risk_parity(cov, solver='dimod', "
                                       "sampler=...) from Python, or use 'sa', 'tabu' or 'exact' in a study")}


def _check_runnable(spec: SolverSpec, blk: _Block, kind: str) -> None:
    """``ValueError`` for a solver no grid point of this study could run: one whose required object option a TOML
    file cannot hold (``solver = "dimod"`` has no sampler), or a classical solver in a ground-state study (which
    samples the discrete problem's states)."""
    if kind == "ground_state" and spec.kind != "discrete":
        raise ValueError(f"{blk.where}.solver: kind = 'ground_state' samples discrete problems; {spec.name!r} is a "
                         f"{spec.kind} solver")
    if spec.name in OBJECT_OPTIONS:
        name, instead = OBJECT_OPTIONS[spec.name]
        raise ValueError(f"{blk.where}.solver: {spec.name!r} needs {name}=, {instead}")


def _points(spec: SolverSpec, b: int, blk: _Block, kind: str):
    """The block's grid points of one solver, in file order, as ``RunSpec``s without their run_id; each point's
    solver options dry-run through ``validate_options`` (nothing is solved) and its qubit count checked."""
    names, inames = list(blk.option_axes), list(blk.instance_axes)
    for combo in itertools.product(blk.sizes, *blk.instance_axes.values(), *blk.option_axes.values(), blk.seeds):
        n, *vals, seed = combo
        instance = {k: int(v) for k, v in zip(inames, vals[:len(inames)], strict=True)}
        opts = dict(zip(names, vals[len(inames):], strict=True))
        run_args = {k: opts.pop(k) for k in list(opts) if k in RUN_KEYS}
        solver_opts = {k: v for k, v in opts.items() if not (kind == "ground_state" and k in PROBLEM_KEYS)}
        try:
            checked = spec.validate_options(solver_opts)
            if spec.kind == "discrete":
                plan(spec, int(n), checked)  # refuses a solve beyond the solver's qubit limit
        except ValueError as exc:
            raise ValueError(f"{blk.where}: {exc}") from None
        yield RunSpec("", spec.name, int(n), int(seed), opts, run_args, b, instance)


def expand_grid(blocks: Any, ctx: GridContext) -> list[RunSpec]:
    """The checked, expanded grid of a study's ``grid`` value (a list of tables), in file order, each point with
    its ``run_id``; ``ValueError`` names the block and key of the first bad value."""
    if blocks is None:
        raise ValueError("grid: required (one or more [[grid]] tables)")
    if not isinstance(blocks, list) or not blocks:
        raise ValueError("grid: expected one or more [[grid]] tables (the grid is empty)")
    runs: list[RunSpec] = []
    seen: set[str] = set()
    for b, block in enumerate(blocks):
        blk = _check_block(b, block, ctx)
        if len(runs) + blk.size > ctx.max_runs:
            raise ValueError(f"{blk.where}: the grid reaches {len(runs) + blk.size} points, more than max_runs = "
                             f"{ctx.max_runs} (set a larger max_runs in the study file to run it)")
        for solver in blk.solvers:
            spec = get_solver(solver)
            _check_runnable(spec, blk, ctx.kind)
            _check_option_axes(spec, blk, ctx.kind)
            for point in _points(spec, b, blk, ctx.kind):
                run_id = canonical_hash({**ctx.study_key, **point.params()})
                if run_id in seen:
                    raise ValueError(f"{blk.where}: grid point {point.params()} appears twice in the study")
                seen.add(run_id)
                runs.append(replace(point, run_id=run_id))
    return runs


__all__ = ["PROBLEM_KEYS", "RUN_KEYS", "GridContext", "RunSpec", "expand_grid", "solver_kind"]
