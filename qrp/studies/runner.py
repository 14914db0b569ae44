"""The experiment runner behind ``qrp run``: one row per grid point in ``DIR/runs.parquet``, resumable.

Every grid point (``qrp.studies.study.RunSpec``) is solved with
``qrp.risk_parity(cov, solver=..., seed=..., **options)``
(no solver is special-cased) beside

* the classical baseline (the study's ``baseline`` solver) on the same covariance: ``classical_rc_error`` and
  ``weight_distance`` = max_i |w_i - w_classical_i|;
* for discrete solvers whose sub-problem has at most ``reference_max_qubits`` binary variables, the study's
  ``reference`` solver ("exact" enumeration) on the same discrete problem (``reference_options``: the options
  both take, with the run's values or the run solver's defaults): ``exact_energy``, ``exact_rc_error`` and, when
  both ran a single round (refinement rounds follow each solver's own path, so only one-round runs solve the very
  same problem), ``energy_gap`` = E(run) - E(exact) >= 0 and ``ground_state`` (gap <= 1e-9 relative).

Rows are appended to ``runs.parquet`` (source of truth) and ``runs.csv`` (a copy) as each run finishes, each file
written to a temporary name and ``os.replace``-d, so a SIGKILL at any moment leaves the last complete table. Only
the parent process writes. Running again on the same DIR runs only the run_ids that are missing (or that recorded
an error), so nothing is duplicated.

Execution: in-process (``workers=1``), a local ``ProcessPoolExecutor`` (``workers=K``; a pool broken by a lost
worker is rebuilt and the unfinished points resubmitted), or a Dask distributed cluster (``scheduler=ADDRESS``;
Dask reschedules the tasks of a lost worker). Either way a point's row is written once, when its result arrives.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qrp.api import risk_parity
from qrp.core.provenance import atomic_write, package_versions
from qrp.core.registry import get_solver
from qrp.core.result import RiskParityResult
from qrp.studies.study import RunSpec, Study, load_study

RUNS_PARQUET = "runs.parquet"
RUNS_CSV = "runs.csv"
#: packages whose versions every row records.
#: relative tolerance for ``ground_state``: |E - E_exact| <= GROUND_RTOL * max(1, |E_exact|).
GROUND_RTOL = 1e-9
#: pool rebuilds allowed after worker processes die before the runner gives up (the rest stays for a resume).
MAX_POOL_RESTARTS = 3


@dataclass(frozen=True)
class Task:
    """What a worker needs for one grid point: the spec, its covariance and the study-level settings."""

    spec: RunSpec
    cov: pd.DataFrame
    cov_key: str
    baseline: str
    reference: str
    reference_max_qubits: int
    study: str
    config_hash: str


_CACHE: dict[tuple, RiskParityResult] = {}


def _cached(key: tuple, compute: Callable[[], RiskParityResult]) -> RiskParityResult:
    """Per-process memo of baseline and reference solves (shared by the grid points of one covariance)."""
    if key not in _CACHE:
        _CACHE[key] = compute()
    return _CACHE[key]




def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}", v, out)
    elif isinstance(value, (bool, np.bool_)):
        out[prefix] = bool(value)
    elif isinstance(value, (int, float, np.integer, np.floating)) or value is None:
        out[prefix] = None if value is None else float(value)
    elif isinstance(value, str):
        out[prefix] = value
    else:
        out[prefix] = json.dumps(value, default=_json_default)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (np.integer, np.floating, np.bool_)):
        return obj.item()
    return str(obj)


def run_task(task: Task) -> dict[str, Any]:
    """Solve one grid point, its baseline and (when small enough) its exact reference; return its table row.

    A solver error becomes a row with ``status = "error"`` and the message (rerun on resume). BLAS runs on one
    thread: a row is then bit-for-bit the same whether it ran in this process, a worker process or a Dask worker
    thread (multi-threaded BLAS sums in a different order, enough to change SLSQP's iteration count), and K
    parallel workers use K cores, not K x cores threads. OpenMP (Aer's statevector threads) is left alone."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return _run_task(task)


_WARM: set[str] = set()
#: a 2-asset covariance for the warm-up solve.
_WARM_COV = np.array([[0.04, 0.006], [0.006, 0.09]])


def _warm_up(spec: RunSpec) -> None:
    """Solve a 2-asset problem once per solver and process before the first timed run, so that ``elapsed`` holds
    no one-off import or numba compilation time."""
    if spec.solver in _WARM:
        return
    _WARM.add(spec.solver)
    try:
        risk_parity(_WARM_COV, solver=spec.solver, seed=spec.seed, **spec.options)
    except Exception:  # the timed run itself reports any real error; the warm-up only imports and compiles
        return


def _run_task(task: Task) -> dict[str, Any]:
    spec = task.spec
    _warm_up(spec)
    row: dict[str, Any] = {
        "run_id": spec.run_id, "study": task.study, "config_hash": task.config_hash, "solver": spec.solver,
        "solver_kind": get_solver(spec.solver).kind, "n_assets": spec.n_assets, "seed": spec.seed,
        "bits": spec.options.get("bits"), "rounds": spec.options.get("rounds"), "reps": spec.options.get("reps"),
        "options": json.dumps(spec.options, sort_keys=True), **{f"opt.{k}": _cell(v) for k, v in spec.options.items()},
        **spec.run_args,
    }
    try:
        res = risk_parity(task.cov, solver=spec.solver, seed=spec.seed, **spec.run_args, **spec.options)
        base = _cached(("baseline", task.cov_key, task.baseline), lambda: risk_parity(task.cov, solver=task.baseline))
    except Exception as exc:  # recorded, not raised: one failing point must not stop a study
        row.update(status="error", error=f"{type(exc).__name__}: {exc}", finished_at=_now())
        return row
    row.update(
        status="ok", error="", num_qubits=res.num_qubits, energy=res.energy, rc_error=res.rc_error,
        classical_rc_error=base.rc_error, weight_distance=float(np.max(np.abs(res.weights - base.weights))),
        converged=res.converged, iterations=res.iterations, elapsed=res.elapsed, classical_elapsed=base.elapsed,
        volatility=res.volatility, weights=json.dumps(res.weights.tolist()),
        risk_contributions=json.dumps(res.risk_contributions.tolist()),
        classical_weights=json.dumps(base.weights.tolist()),
        history=json.dumps([h.to_dict() for h in res.history], default=_json_default),
        exact_energy=None, exact_rc_error=None, energy_gap=None, ground_state=None,
    )
    if (task.reference and res.num_qubits is not None and res.num_qubits <= task.reference_max_qubits
            and res.energy is not None):
        ref_opts = reference_options(spec.solver, task.reference, spec.options)
        key = ("reference", task.cov_key, task.reference, json.dumps(ref_opts, sort_keys=True), spec.seed)
        if spec.solver == task.reference and ref_opts == spec.options:
            _CACHE.setdefault(key, res)
        try:
            ref = _cached(key, lambda: risk_parity(task.cov, solver=task.reference, seed=spec.seed, **ref_opts))
        except ValueError as exc:  # the reference refused this problem: recorded, the run itself stands
            row["error"] = f"reference: {exc}"
        else:
            row.update(exact_energy=ref.energy, exact_rc_error=ref.rc_error)
            if len(res.history) <= 1 and len(ref.history) <= 1 and ref.energy is not None:
                gap = float(res.energy - ref.energy)
                row.update(energy_gap=gap, ground_state=bool(gap <= GROUND_RTOL * max(1.0, abs(ref.energy))))
    _flatten("stats", res.stats, row)
    row["versions"] = json.dumps(package_versions(), sort_keys=True)
    row["finished_at"] = _now()
    return row


def reference_options(solver: str, reference: str, options: dict[str, Any]) -> dict[str, Any]:
    """Options for the reference solver so that it builds the same discrete problem as ``solver`` with
    ``options``: every option both take, with the run's value, or else ``solver``'s own default (two solvers may
    default differently, e.g. on the log-term fit); options whose default is None (limits, "automatic") are left
    to the reference's own default unless the run set them."""
    mine, theirs = get_solver(solver).defaults(), get_solver(reference).defaults()
    out = {}
    for name in theirs:
        if name in options:
            out[name] = options[name]
        elif name in mine and mine[name] is not None:
            out[name] = mine[name]
    return out


def _cell(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, (list, dict)) else value


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class ResultTable:
    """``DIR/runs.parquet`` (+ ``runs.csv``): loaded on start, rewritten atomically after every finished run."""

    def __init__(self, out_dir: Path) -> None:
        self.dir = Path(out_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / RUNS_PARQUET
        self.frame = pd.read_parquet(self.path) if self.path.exists() else pd.DataFrame()
        if not self.frame.empty:
            # error rows are retried: drop them now, their run_id is then missing
            self.frame = self.frame[self.frame["status"] == "ok"].reset_index(drop=True)
            self._write()

    def done(self) -> set[str]:
        return set() if self.frame.empty else set(self.frame["run_id"])

    def add(self, row: dict[str, Any]) -> None:
        if row["run_id"] in self.done():
            return  # a duplicate delivery (a retried task) never becomes a second row
        self.frame = pd.concat([self.frame, pd.DataFrame([row])], ignore_index=True) if not self.frame.empty \
            else pd.DataFrame([row])
        self.frame = self.frame[_column_order(self.frame.columns)]
        self._write()

    def _write(self) -> None:
        frame = _arrow_safe(self.frame)
        atomic_write(self.path, lambda p: frame.to_parquet(p, index=False))
        atomic_write(self.dir / RUNS_CSV, lambda p: frame.to_csv(p, index=False))


def _column_order(columns) -> list[str]:
    """Row fields first, then solver options and solver statistics sorted by name, then provenance: the same
    order however the runs of a grid finished (rows arrive in completion order from parallel workers, and each
    solver adds its own ``stats.*`` columns)."""
    tail = [c for c in ("versions", "finished_at") if c in columns]
    dynamic = sorted(c for c in columns if c.startswith("opt.")) + sorted(c for c in columns if c.startswith("stats."))
    return [c for c in columns if c not in dynamic and c not in tail] + dynamic + tail


def _arrow_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Object columns holding mixed types (a stat that is a number for one solver and text for another) as text."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object:
            kinds = {type(v) for v in out[col] if v is not None and not (isinstance(v, float) and math.isnan(v))}
            if len(kinds) > 1:
                out[col] = [None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
                            for v in out[col]]
    return out



def build_tasks(study: Study, skip: set[str] = frozenset()) -> list[Task]:
    """Tasks of the study's grid points whose run_id is not in ``skip``, with their covariance matrices."""
    covs: dict[int | None, pd.DataFrame] = {}
    tasks = []
    for spec in study.runs:
        if spec.run_id in skip:
            continue
        if spec.n_assets not in covs:
            covs[spec.n_assets] = study.covariance_matrix(spec.n_assets)
        key = json.dumps({"source": study.covariance.key, "n": spec.n_assets}, sort_keys=True, default=str)
        tasks.append(Task(spec, covs[spec.n_assets], key, study.baseline, study.reference,
                          study.reference_max_qubits, study.name, study.config_hash))
    return tasks


def _run_local(tasks: list[Task], workers: int) -> Iterable[dict[str, Any]]:
    if workers <= 1:
        for task in tasks:
            yield run_task(task)
        return
    import multiprocessing

    pending = {t.spec.run_id: t for t in tasks}
    restarts = 0
    while pending:
        ctx = multiprocessing.get_context("spawn")  # no fork of a process with threads (rich's refresher)
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            futures = {pool.submit(run_task, t): rid for rid, t in pending.items()}
            try:
                while futures:
                    finished, _ = wait(futures, return_when=FIRST_COMPLETED)
                    for fut in finished:
                        rid = futures.pop(fut)
                        row = fut.result()
                        pending.pop(rid, None)
                        yield row
            except BrokenProcessPool:
                restarts += 1
                if restarts > MAX_POOL_RESTARTS:
                    raise RuntimeError(f"worker processes died {restarts} times; {len(pending)} grid points left "
                                       "unrun (run again to resume)") from None


def _run_dask(tasks: list[Task], address: str) -> Iterable[dict[str, Any]]:
    """Run the tasks on the Dask cluster at ``address`` (retried twice if a worker is lost). Rows are bit-identical
    to local ones when each worker runs one thread: ``run_task``'s BLAS limit is process-wide, so runs sharing a
    worker process in several threads can lift each other's limit, and multi-threaded BLAS changes SLSQP's path."""
    from distributed import Client, as_completed

    with Client(address, set_as_default=False) as client:
        futures = [client.submit(run_task, t, key=f"qrp-run-{t.spec.run_id}", pure=False, retries=2)
                   for t in tasks]
        for fut in as_completed(futures, loop=client.loop):
            yield fut.result()
            fut.release()


class MlflowLogger:
    """One MLflow run per grid point: parameters, metrics, and weights / risk contributions as ``weights.csv``."""

    def __init__(self, uri: str, experiment: str, artifact_dir: Path) -> None:
        import mlflow

        self.mlflow = mlflow
        mlflow.set_tracking_uri(uri)
        if mlflow.get_experiment_by_name(experiment) is None:
            location = artifact_dir.resolve().as_uri() if uri.split(":", 1)[0] in ("sqlite", "file") else None
            mlflow.create_experiment(experiment, artifact_location=location)
        mlflow.set_experiment(experiment)

    def log(self, row: dict[str, Any], asset_names: list[str]) -> None:
        mlflow = self.mlflow
        params = {k: row[k] for k in ("run_id", "solver", "n_assets", "seed", "config_hash")}
        params.update(json.loads(row["options"]))
        metrics = {k: float(row[k]) for k in ("rc_error", "classical_rc_error", "weight_distance", "elapsed",
                                               "num_qubits", "energy", "energy_gap", "exact_rc_error", "iterations")
                   if row.get(k) is not None and not (isinstance(row[k], float) and math.isnan(row[k]))}
        frame = pd.DataFrame({
            "asset": asset_names, "weight": json.loads(row["weights"]),
            "risk_contribution": json.loads(row["risk_contributions"]),
            "classical_weight": json.loads(row["classical_weights"]),
        })
        with mlflow.start_run(run_name=row["run_id"], tags={"qrp.run_id": row["run_id"], "qrp.study": row["study"]}):
            mlflow.log_params({k: _cell(v) for k, v in params.items()})
            mlflow.log_metrics(metrics)
            mlflow.log_text(frame.to_csv(index=False), "weights.csv")


def run_study(
    study: Study | str | Path,
    out_dir: str | Path | None = None,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    mlflow_uri: str | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Run every grid point of ``study`` missing from ``out_dir`` (default ``results/<study name>``); return the
    full table. See the module docstring for the guarantees."""
    if not isinstance(study, Study):
        study = load_study(study)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    out = Path(out_dir) if out_dir is not None else Path("results") / study.name
    table = ResultTable(out)
    tasks = build_tasks(study, skip=table.done())
    logger = MlflowLogger(mlflow_uri, study.name, out / "mlruns") if mlflow_uri else None
    rows = _run_dask(tasks, scheduler) if scheduler else _run_local(tasks, workers)
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("ETA"), TimeRemainingColumn())
    names = {t.spec.run_id: list(t.cov.columns) for t in tasks}
    errors = 0
    with Progress(*columns, disable=not progress) as bar:
        job = bar.add_task(f"{study.name} ({len(study.runs) - len(tasks)} done before)", total=len(tasks))
        for row in rows:
            table.add(row)
            errors += row["status"] != "ok"
            if logger is not None and row["status"] == "ok":
                logger.log(row, names[row["run_id"]])
            bar.advance(job)
    if progress:
        print_summary(table.frame, title=f"{study.name}: {len(table.frame)} runs in {out}, {errors} errors")
    return table.frame


def summarize(frame: pd.DataFrame) -> pd.DataFrame:
    """Per solver: runs, median and max rc_error, medians of classical_rc_error, weight_distance (w_dist) and
    elapsed (time_s)."""
    ok = frame[frame["status"] == "ok"]
    return ok.groupby("solver", sort=False).agg(
        runs=("run_id", "size"), rc_median=("rc_error", "median"), rc_max=("rc_error", "max"),
        classical_rc=("classical_rc_error", "median"), w_dist=("weight_distance", "median"),
        time_s=("elapsed", "median"),
    )


def print_summary(frame: pd.DataFrame, *, title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    summary = summarize(frame) if not frame.empty else pd.DataFrame()
    table.add_column("solver")
    for col in summary.columns:
        table.add_column(col, justify="right")
    for solver, rec in summary.iterrows():
        table.add_row(str(solver), *(f"{v:.3g}" if isinstance(v, float) else str(v) for v in rec))
    Console().print(table)
