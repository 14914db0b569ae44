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
qubit or memory limit (the solve's qubits > the solver's limit: ``qrp.discrete.plan``).

Each grid point gets a stable ``run_id``: the first 16 hex digits of the SHA-256 of its canonical JSON parameters
(solver, n_assets, options, seed, tol, max_iter, plus the covariance source, with a CSV's content hash in place of
its path, and the baseline and reference settings), so renaming or reordering the file keeps ids and any change
to what a run computes gives a new id.

The checks live by concept: ``qrp.studies.sources`` (the ``[covariance]`` table, ``CovarianceSource``),
``qrp.studies.grid`` (the ``[[grid]]`` blocks, ``RunSpec``, the expansion), ``qrp.studies.checks`` (value checks).
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral
from pathlib import Path
from typing import Any

import pandas as pd

from qrp.core.registry import available_solvers
from qrp.core.validation import read_toml
from qrp.studies.checks import canonical_hash, check_seeds, check_type
from qrp.studies.grid import GridContext, RunSpec, expand_grid, solver_kind
from qrp.studies.sources import CovarianceSource, checked_full, load_covariance

TOP_KEYS = {"description", "kind", "seeds", "baseline", "reference", "reference_max_qubits", "covariance", "grid",
            "max_runs"}
#: the largest grid a study may expand to unless it raises ``max_runs`` itself.
MAX_RUNS = 100_000
#: study kinds: "refinement" (a row per qrp.risk_parity run) and "ground_state" (qrp.studies.ground_state).
KINDS = ("refinement", "ground_state")


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


def load_study(path) -> Study:
    """Read, validate and expand a study file (see the module docstring). ``ValueError`` names the bad key."""
    path = Path(path)
    return study_from_dict(read_toml(path, what="study"), name=path.stem, path=path)


def _check_top_keys(config: dict[str, Any]) -> None:
    unknown = sorted(set(config) - TOP_KEYS)
    if unknown:
        raise ValueError(f"{unknown[0]}: unknown key (allowed: {sorted(TOP_KEYS)})")


def _kind(config: dict[str, Any]) -> str:
    kind = config.get("kind", "refinement")
    if kind not in KINDS:
        raise ValueError(f"kind: expected one of {list(KINDS)}, got {kind!r}")
    return kind


def _max_runs(config: dict[str, Any]) -> int:
    max_runs = config.get("max_runs", MAX_RUNS)
    check_type(max_runs, Integral, "max_runs")
    if max_runs < 1:
        raise ValueError(f"max_runs: must be >= 1, got {max_runs}")
    return max_runs


def _baseline(config: dict[str, Any]) -> str:
    baseline = config.get("baseline", "auto")
    check_type(baseline, str, "baseline")
    if solver_kind(baseline, "baseline") != "classical":
        raise ValueError(f"baseline: must be a classical solver, got {baseline!r}")
    return baseline


def _reference(config: dict[str, Any]) -> str:
    """The discrete reference solver ("" for none; the default "exact" is dropped when it is not installed)."""
    reference = config.get("reference", "exact")
    check_type(reference, str, "reference")
    if "reference" in config:
        if reference and solver_kind(reference, "reference") != "discrete":
            raise ValueError(f"reference: must be a discrete solver, got {reference!r}")
    elif reference not in available_solvers("discrete"):
        reference = ""  # the default reference is not installed: no gap column
    return reference


def study_from_dict(config: dict[str, Any], *, name: str, path: Path) -> Study:
    """Validate and expand an already parsed study ``config`` (``load_study`` reads the file)."""
    _check_top_keys(config)
    description = config.get("description", "")
    check_type(description, str, "description")
    kind = _kind(config)
    seeds = check_seeds(config.get("seeds", [0]), "seeds")
    max_runs = _max_runs(config)
    baseline = _baseline(config)
    reference = _reference(config)
    ref_max = config.get("reference_max_qubits", 16)
    check_type(ref_max, Integral, "reference_max_qubits")
    if "covariance" not in config:
        raise ValueError("covariance: required table is missing")
    cov = load_covariance(config["covariance"], path.parent)
    full = checked_full(cov)
    study_key = {"covariance": cov.key, "baseline": baseline, "reference": reference,
                 "reference_max_qubits": int(ref_max), **({"kind": kind} if kind != "refinement" else {})}
    ctx = GridContext(kind, seeds, cov, None if full is None else full.shape[0], study_key, max_runs)
    runs = expand_grid(config.get("grid"), ctx)
    return Study(
        name=name, path=path, description=description, covariance=cov, baseline=baseline,
        reference=reference, reference_max_qubits=int(ref_max), seeds=tuple(int(s) for s in seeds),
        runs=tuple(runs), config_hash=canonical_hash(config), config=config, kind=kind,
    )
