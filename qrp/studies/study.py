"""Study definitions: a TOML file -> a validated ``Study`` -> a list of ``RunSpec`` grid points.

A study file (``experiments/NAME.toml``)::

    description = "what it measures"
    seeds = [0, 1, 2]            # repetitions: every grid point runs once per seed (the solver's seed)
    baseline = "auto"            # classical solver every run is compared with, on the same covariance
    reference = "exact"          # solver giving the exact optimum of the same discrete problem ("": none) ...
    reference_max_qubits = 16    # ... computed when the run's num_qubits is at most this (0: never)
    max_runs = 100000            # the study refuses to expand to more grid points than this (default 100000)

    [covariance]
    source = "synthetic"         # "synthetic" (qrp.data.synthetic.factor_covariance), "covariance_csv", "returns_csv",
                                 # "sp500" (the bundled 20-stock S&P 500 daily dataset, qrp.data.returns)
    seed = 7                     # synthetic: seed, n_factors, market_vol, factor_vol, idio_vol
    # path = "my_cov.csv"        # csv sources: path relative to the TOML file (any file the user can read)
    # annualization = 252        # returns_csv: sample covariance x this factor
    # start = "2018-01-01"       # sp500: date range (inclusive), and method = a qrp.data.covariance estimator
                                 # (default "ledoit_wolf"), annualized with 252 days

    [[grid]]                     # one block per family of runs: the Cartesian product of its list values
    solver = ["auto", "newton"]  # registry names (``qrp solvers``)
    n_assets = [4, 8, 16]        # csv and sp500 sources: the first n assets (omit: all of them)

    [[grid]]
    solver = "sa"
    n_assets = [4, 8]
    bits = [2, 3, 4]             # every other key is a solver option (or tol / max_iter of qrp.risk_parity)
    rounds = [1, 10]
    num_reads = 200              # a scalar is fixed; a list is an axis; a list-valued option is wrapped: [[0.1, 10]]
    seeds = [0]                  # optional: this block's repetitions instead of the study's (deterministic solvers)
    covariance_seed = [0, 1, 2]  # optional instance axis: synthetic source, the factor model's seed (replaces
                                 # covariance.seed); subset_seed = [...]: file / sp500 sources, a random subset of
                                 # n_assets assets drawn by numpy.random.default_rng(subset_seed)

    kind = "ground_state"        # top level, optional (default "refinement"): see qrp.studies.ground_state

Validation (``load_study``) runs before anything is solved and raises ``ValueError`` naming the key and what is
wrong: an unknown key, a wrong type, a negative seed, a grid larger than ``max_runs`` (counted before it is
expanded), an empty list (empty grid), an unknown solver or an option the solver does not take, an option of the
wrong type (against its declared default) or value (a dry run of every grid point's options through the solver's
declared checks, ``SolverSpec.validate_options``), more assets than a CSV holds, or a grid point beyond a solver's
qubit or memory limit (n_assets x bits > the solver's declared ``qubit_limit``).

Each grid point gets a stable ``run_id``: the first 16 hex digits of the SHA-256 of its canonical JSON parameters
(solver, n_assets, options, seed, tol, max_iter, plus the covariance source, with a CSV's content hash in place of
its path, and the baseline and reference settings), so renaming or reordering the file keeps ids and any change
to what a run computes gives a new id.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass, field
from numbers import Integral, Real
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qrp.core.registry import available_solvers, get_solver
from qrp.core.validation import read_toml, validate_cov

TOP_KEYS = {"description", "kind", "seeds", "baseline", "reference", "reference_max_qubits", "covariance", "grid",
            "max_runs"}
#: the largest grid a study may expand to unless it raises ``max_runs`` itself.
MAX_RUNS = 100_000
#: study kinds: "refinement" (a row per qrp.risk_parity run) and "ground_state" (qrp.studies.ground_state).
KINDS = ("refinement", "ground_state")
#: grid keys that pick the covariance instance (not solver options), and the sources each applies to.
INSTANCE_KEYS = {"covariance_seed": ("synthetic",), "subset_seed": ("covariance_csv", "returns_csv", "sp500")}
SOURCES = {
    "synthetic": {"source", "seed", "n_factors", "market_vol", "factor_vol", "idio_vol"},
    "covariance_csv": {"source", "path"},
    "returns_csv": {"source", "path", "annualization"},
    "sp500": {"source", "start", "end", "method"},
}
#: default estimator of the "sp500" source (a qrp.data.covariance method name).
SP500_METHOD = "ledoit_wolf"
#: grid keys that are not solver options: passed to ``qrp.risk_parity`` itself.
RUN_KEYS = {"tol": Real, "max_iter": Integral}
#: grid keys of ground-state studies that define the discrete problem, not the solver (qrp.studies.ground_state).
PROBLEM_KEYS = {"box_round": Integral}
#: the solver option that sets the bits per asset of discrete solvers (num_qubits = n_assets x bits).
BITS_OPTION = "bits"


def _hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _type_name(value: Any) -> str:
    return type(value).__name__


def _check_type(value: Any, expected: type | tuple, where: str) -> None:
    ok = isinstance(value, expected) and not (isinstance(value, bool) and expected in (Real, Integral))
    if not ok:
        exp = expected.__name__ if isinstance(expected, type) else " or ".join(t.__name__ for t in expected)
        raise ValueError(f"{where}: expected {exp}, got {_type_name(value)} {value!r}")


@dataclass(frozen=True)
class CovarianceSource:
    """Where a study's covariance matrices come from. ``matrix(n)`` gives the (n, n) DataFrame."""

    source: str
    params: dict[str, Any]
    path: Path | None = None

    @property
    def key(self) -> dict[str, Any]:
        """Canonical identity: the parameters, with a CSV's content hash in place of its path."""
        key = {k: v for k, v in self.params.items() if k != "path"}
        if self.path is not None:
            key["sha256"] = hashlib.sha256(self.path.read_bytes()).hexdigest()
        return key

    def full(self) -> pd.DataFrame | None:
        """The whole matrix of a CSV or dataset source (None for synthetic)."""
        if self.source == "covariance_csv":
            from qrp.data.loaders import read_covariance_csv

            return read_covariance_csv(self.path)
        if self.source == "returns_csv":
            returns = pd.read_csv(self.path, index_col=0)
            returns.columns = returns.columns.astype(str)
            return returns.cov() * float(self.params.get("annualization", 1.0))
        if self.source == "sp500":
            from qrp.data.covariance import estimate_covariance
            from qrp.data.returns import load_sp500_returns

            returns = load_sp500_returns(start=self.params.get("start"), end=self.params.get("end"))
            return estimate_covariance(returns, method=self.params.get("method", SP500_METHOD), periods_per_year=252)
        return None

    def matrix(self, n: int | None, instance: dict[str, int] | None = None) -> pd.DataFrame:
        """The (n, n) covariance: a synthetic factor model with N = n (seed ``instance["covariance_seed"]`` when
        given), or the first n assets of the file, or with ``instance["subset_seed"]`` the n assets drawn without
        replacement by ``numpy.random.default_rng(subset_seed)`` (in file order)."""
        instance = instance or {}
        if self.source == "synthetic":
            from qrp.data.synthetic import factor_covariance

            kwargs = {k: (tuple(v) if isinstance(v, list) else v) for k, v in self.params.items() if k != "source"}
            if "covariance_seed" in instance:
                kwargs["seed"] = instance["covariance_seed"]
            return factor_covariance(n, **kwargs)
        full = self.full()
        if "subset_seed" in instance:
            pick = np.sort(np.random.default_rng(instance["subset_seed"]).choice(full.shape[0], n, replace=False))
            return full.iloc[pick, pick]
        return full if n is None else full.iloc[:n, :n]


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
class Study:
    """A validated study. ``runs`` is the expanded grid, in file order."""

    name: str
    path: Path
    description: str
    covariance: CovarianceSource
    baseline: str
    reference: str
    reference_max_qubits: int
    seeds: tuple[int | None, ...]
    runs: tuple[RunSpec, ...]
    config_hash: str
    config: dict[str, Any]
    kind: str = "refinement"

    def covariance_matrix(self, n: int | None, instance: dict[str, int] | None = None) -> pd.DataFrame:
        return self.covariance.matrix(n, instance)


def qubit_limit(solver: str, options: dict[str, Any]) -> int | None:
    """The largest number of binary variables ``solver`` accepts with ``options``, or None when it has no limit
    (the solver's declared ``max_qubits``, ``qrp.core.registry.SolverSpec.qubit_limit``)."""
    return get_solver(solver).qubit_limit(options)


def _check_seed(value: Any, where: str) -> None:
    _check_type(value, Integral, where)
    if value < 0:
        raise ValueError(f"{where}: a seed must be an integer >= 0, got {value}")


def _solver_kind(name: str, where: str) -> str:
    try:
        return get_solver(name).kind
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def _axis(value: Any, where: str) -> list[Any]:
    if isinstance(value, list):
        if not value:
            raise ValueError(f"{where}: empty list (the grid would be empty)")
        return value
    return [value]


def _check_option(solver: str, name: str, value: Any, defaults: dict[str, Any], where: str) -> None:
    if name in RUN_KEYS:
        _check_type(value, RUN_KEYS[name], where)
        return
    if name not in defaults and not get_solver(solver).extra_options:
        raise ValueError(f"{where}: solver {solver!r} does not take option {name!r}; it takes {sorted(defaults)}")
    default = defaults.get(name)
    if default is None:
        return
    if isinstance(default, bool):
        _check_type(value, bool, where)
    elif isinstance(default, Integral):
        _check_type(value, Integral, where)
    elif isinstance(default, Real):
        _check_type(value, Real, where)
    elif isinstance(default, str):
        _check_type(value, str, where)
    elif isinstance(default, (tuple, list)):
        _check_type(value, list, where)


def _load_covariance(raw: Any, base: Path) -> CovarianceSource:  # noqa: C901 - see ARCHITECTURE.md, "Known debt"
    if not isinstance(raw, dict):
        raise ValueError(f"covariance: expected a table, got {_type_name(raw)}")
    source = raw.get("source")
    if source not in SOURCES:
        raise ValueError(f"covariance.source: expected one of {sorted(SOURCES)}, got {source!r}")
    unknown = sorted(set(raw) - SOURCES[source])
    if unknown:
        raise ValueError(f"covariance.{unknown[0]}: unknown key for source {source!r} "
                         f"(allowed: {sorted(SOURCES[source])})")
    path = None
    if source == "synthetic":
        if "seed" in raw:
            _check_seed(raw["seed"], "covariance.seed")
        if "n_factors" in raw:
            _check_type(raw["n_factors"], Integral, "covariance.n_factors")
        for key in ("market_vol", "factor_vol"):
            if key in raw:
                _check_type(raw[key], Real, f"covariance.{key}")
        if "idio_vol" in raw:
            iv = raw["idio_vol"]
            if not (isinstance(iv, list) and len(iv) == 2):
                raise ValueError(f"covariance.idio_vol: expected a [lo, hi] pair, got {iv!r}")
            for v in iv:
                _check_type(v, Real, "covariance.idio_vol")
    elif source == "sp500":
        for key in ("start", "end", "method"):
            if key in raw:
                _check_type(raw[key], str, f"covariance.{key}")
        from qrp.data.covariance import ESTIMATORS

        if raw.get("method", SP500_METHOD) not in ESTIMATORS:
            raise ValueError(f"covariance.method: expected one of {list(ESTIMATORS)}, got {raw['method']!r}")
    else:
        if "path" not in raw:
            raise ValueError(f"covariance.path: required for source {source!r}")
        _check_type(raw["path"], str, "covariance.path")
        path = (base / raw["path"]).resolve()
        if not path.is_file():
            raise ValueError(f"covariance.path: file not found: {path}")
        if "annualization" in raw:
            _check_type(raw["annualization"], Real, "covariance.annualization")
    return CovarianceSource(source, dict(raw), path)


def _checked_full(cov: CovarianceSource) -> pd.DataFrame | None:
    """The whole matrix of a CSV or dataset source, validated as a covariance (numeric, finite, symmetric, positive
    variances, positive semi-definite: every leading block a grid point takes is then one too)."""
    where = "covariance" if cov.path is None else f"covariance.path {cov.path}"
    try:
        full = cov.full()
        # a synthetic source is dry-run at N = 2: its generator checks every parameter (seed included)
        validate_cov(cov.matrix(2) if full is None else full, check_psd=True, name="the matrix")
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{where}: {exc}") from None
    return full


def load_study(path) -> Study:
    """Read, validate and expand a study file (see the module docstring). ``ValueError`` names the bad key."""
    path = Path(path)
    return study_from_dict(read_toml(path, what="study"), name=path.stem, path=path)


def study_from_dict(config: dict[str, Any], *, name: str, path: Path) -> Study:  # noqa: C901 - see ARCHITECTURE.md, "Known debt"
    """Validate and expand an already parsed study ``config`` (``load_study`` reads the file)."""
    unknown = sorted(set(config) - TOP_KEYS)
    if unknown:
        raise ValueError(f"{unknown[0]}: unknown key (allowed: {sorted(TOP_KEYS)})")
    description = config.get("description", "")
    _check_type(description, str, "description")
    kind = config.get("kind", "refinement")
    if kind not in KINDS:
        raise ValueError(f"kind: expected one of {list(KINDS)}, got {kind!r}")
    seeds = _axis(config.get("seeds", [0]), "seeds")
    for s in seeds:
        _check_seed(s, "seeds")
    max_runs = config.get("max_runs", MAX_RUNS)
    _check_type(max_runs, Integral, "max_runs")
    if max_runs < 1:
        raise ValueError(f"max_runs: must be >= 1, got {max_runs}")
    baseline = config.get("baseline", "auto")
    _check_type(baseline, str, "baseline")
    if _solver_kind(baseline, "baseline") != "classical":
        raise ValueError(f"baseline: must be a classical solver, got {baseline!r}")
    reference = config.get("reference", "exact")
    _check_type(reference, str, "reference")
    if "reference" in config:
        if reference and _solver_kind(reference, "reference") != "discrete":
            raise ValueError(f"reference: must be a discrete solver, got {reference!r}")
    elif reference not in available_solvers("discrete"):
        reference = ""  # the default reference is not installed: no gap column
    ref_max = config.get("reference_max_qubits", 16)
    _check_type(ref_max, Integral, "reference_max_qubits")
    if "covariance" not in config:
        raise ValueError("covariance: required table is missing")
    cov = _load_covariance(config["covariance"], path.parent)
    full = _checked_full(cov)
    available = None if full is None else full.shape[0]

    blocks = config.get("grid")
    if blocks is None:
        raise ValueError("grid: required (one or more [[grid]] tables)")
    if not isinstance(blocks, list) or not blocks:
        raise ValueError("grid: expected one or more [[grid]] tables (the grid is empty)")
    study_key = {"covariance": cov.key, "baseline": baseline, "reference": reference,
                 "reference_max_qubits": int(ref_max), **({"kind": kind} if kind != "refinement" else {})}
    runs: list[RunSpec] = []
    seen: set[str] = set()
    for b, block in enumerate(blocks):
        where = f"grid[{b}]"
        if not isinstance(block, dict):
            raise ValueError(f"{where}: expected a table, got {_type_name(block)}")
        if "solver" not in block:
            raise ValueError(f"{where}.solver: required key is missing")
        solvers = _axis(block["solver"], f"{where}.solver")
        for s in solvers:
            _check_type(s, str, f"{where}.solver")
            _solver_kind(s, f"{where}.solver")
        if "n_assets" in block:
            sizes = _axis(block["n_assets"], f"{where}.n_assets")
            for n in sizes:
                _check_type(n, Integral, f"{where}.n_assets")
                if n < 1:
                    raise ValueError(f"{where}.n_assets: must be >= 1, got {n}")
                if available is not None and n > available:
                    name = cov.path.name if cov.path is not None else f"source {cov.source!r}"
                    raise ValueError(f"{where}.n_assets: {n} assets requested but {name} has {available}")
        elif available is None:
            raise ValueError(f"{where}.n_assets: required for a synthetic covariance")
        else:
            sizes = [available]
        block_seeds = seeds
        if "seeds" in block:
            block_seeds = _axis(block["seeds"], f"{where}.seeds")
            for s in block_seeds:
                _check_seed(s, f"{where}.seeds")
        instance_axes = {k: _axis(v, f"{where}.{k}") for k, v in block.items() if k in INSTANCE_KEYS}
        for key, values in instance_axes.items():
            if cov.source not in INSTANCE_KEYS[key]:
                raise ValueError(f"{where}.{key}: applies to covariance sources {list(INSTANCE_KEYS[key])}, "
                                 f"not {cov.source!r}")
            for v in values:
                _check_type(v, Integral, f"{where}.{key}")
                if v < 0:
                    raise ValueError(f"{where}.{key}: must be >= 0, got {v}")
        option_axes = {k: _axis(v, f"{where}.{k}") for k, v in block.items()
                       if k not in ("solver", "n_assets", "seeds", *INSTANCE_KEYS)}
        size = len(solvers) * len(sizes) * len(block_seeds) * math.prod(len(v) for v in option_axes.values()) \
            * math.prod(len(v) for v in instance_axes.values())
        if len(runs) + size > max_runs:
            raise ValueError(f"{where}: the grid reaches {len(runs) + size} points, more than max_runs = {max_runs} "
                             "(set a larger max_runs in the study file to run it)")
        for solver in solvers:
            solver_spec = get_solver(solver)
            defaults = solver_spec.defaults()
            for key, values in option_axes.items():
                for v in values:
                    if kind == "ground_state" and key in PROBLEM_KEYS:
                        _check_type(v, PROBLEM_KEYS[key], f"{where}.{key}")
                    else:
                        _check_option(solver, key, v, defaults, f"{where}.{key}")
            names, inames = list(option_axes), list(instance_axes)
            for combo in itertools.product(sizes, *instance_axes.values(), *option_axes.values(), block_seeds):
                n, *vals, seed = combo
                instance = {k: int(v) for k, v in zip(inames, vals[:len(inames)], strict=True)}
                opts = dict(zip(names, vals[len(inames):], strict=True))
                run_args = {k: opts.pop(k) for k in list(opts) if k in RUN_KEYS}
                solver_opts = {k: v for k, v in opts.items() if not (kind == "ground_state" and k in PROBLEM_KEYS)}
                try:  # the solver's own checks, dry run: nothing is solved
                    checked = solver_spec.validate_options(solver_opts)
                except ValueError as exc:
                    raise ValueError(f"{where}: {exc}") from None
                limit = solver_spec.qubit_limit(checked)
                bits = checked.get(BITS_OPTION)
                k = min(n, checked.get("block_size") or n)  # with block_size, one solve holds k assets
                if limit is not None and isinstance(bits, Integral) and k * bits > limit:
                    raise ValueError(
                        f"{where}: n_assets={k} x bits={bits} = {k * bits} qubits exceeds solver {solver!r}'s "
                        f"limit max_qubits={limit}"
                    )
                spec = RunSpec("", solver, int(n), int(seed), opts, run_args, b, instance)
                run_id = _hash({**study_key, **spec.params()})
                if run_id in seen:
                    raise ValueError(f"{where}: grid point {spec.params()} appears twice in the study")
                seen.add(run_id)
                runs.append(RunSpec(run_id, solver, int(n), int(seed), opts, run_args, b, instance))
    return Study(
        name=name, path=path, description=description, covariance=cov, baseline=baseline,
        reference=reference, reference_max_qubits=int(ref_max), seeds=tuple(int(s) for s in seeds),
        runs=tuple(runs), config_hash=_hash(config), config=config, kind=kind,
    )


__all__ = ["CovarianceSource", "RunSpec", "Study", "load_study", "qubit_limit", "study_from_dict"]
