"""MLflow tracking of a study (``qrp run --mlflow URI``): one parent run per study directory, one nested run per
grid point.

* **Parent run** (named after the study; tags ``qrp.role = "study"``, ``qrp.study``, ``qrp.config_hash``,
  ``qrp.seeds``, ``qrp.config`` (the study's configuration as JSON, also the artifact ``study.json``),
  ``qrp.out_dir``, ``qrp.version`` and ``qrp.commit``). When the study finishes: summary metrics (``runs``,
  ``ok_runs``, ``error_runs``, and per solver the median ``rc_error`` and ``elapsed``), the runs table
  (``runs.csv``) and the report of ``qrp report`` (``report/summary.md`` and its plots, also written into the study
  directory), and the status FINISHED.
* **Nested runs** (tag ``mlflow.parentRunId``, ``qrp.run_id``), one per successful grid point, named by its solver
  and settings (``run_name``: ``"qaoa n=3 bits=2 reps=1 rounds=5 seed=0"``): the grid point's
  parameters (solver, n_assets, seed, each option, the run keys and instance keys, run_id, config_hash), every
  finite numeric field of its row as a metric (booleans as 0/1), and weights / risk contributions / classical
  weights as ``weights.csv`` when the row has them.

**Resume.** The parent is found again by the study name and the resolved study directory (tag ``qrp.study_key``):
a resumed study logs into the same parent, and a grid point whose ``qrp.run_id`` already has a nested run there is
never logged twice. Rows of the table with no nested run (a study first run without ``--mlflow``, or a process
killed between writing a row and logging it) are logged when the study finishes, so the parent ends with exactly
one nested run per successful row. When no active parent is found (another store, or the parent was deleted) a new
one is made; either way one line on stderr says which. A study killed mid-way leaves its parent RUNNING until the
resumed study finishes it.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from qrp.core.mlflow_store import metric_key, open_experiment, param_value, provenance_tags
from qrp.studies.grid import RunSpec
from qrp.studies.report import write_report
from qrp.studies.study import Study
from qrp.studies.table import RUNS_CSV

#: MLflow's limits: parameters or tags per ``log_batch`` call, the longest tag and parameter values.
BATCH = 100
MAX_TAG = 8000
MAX_PARAM = 6000
#: row fields that identify a grid point (logged as parameters from its RunSpec, never as metrics).
IDENTITY = frozenset({"n_assets", "seed", "bits", "rounds", "reps"})


def _number(value: Any) -> float | None:
    """``value`` as a finite float when it is a number or a boolean, else None."""
    if isinstance(value, (bool, np.bool_)):
        return float(value)
    if isinstance(value, (int, float, np.integer, np.floating)) and math.isfinite(float(value)):
        return float(value)
    return None


def grid_params(spec: RunSpec, row: dict[str, Any]) -> dict[str, Any]:
    """The parameters of one nested run: the grid point as the study defines it."""
    params = {"run_id": spec.run_id, "solver": spec.solver, "n_assets": spec.n_assets, "seed": spec.seed,
              "config_hash": row.get("config_hash"), **spec.run_args, **spec.instance, **spec.options}
    return {metric_key(k): param_value(v) for k, v in params.items()}


#: MLflow's longest run name.
MAX_RUN_NAME = 250


def run_name(spec: RunSpec) -> str:
    """A nested run's name: the solver, then n (when the grid sets it), the options, the run keys and the instance
    keys (each sorted by name, as ``key=value``) and the seed; cut to MLflow's limit (``qrp.run_id`` identifies
    the run)."""
    settings = {**dict(sorted(spec.options.items())), **dict(sorted(spec.run_args.items())),
                **dict(sorted(spec.instance.items()))}
    size = [] if spec.n_assets is None else [f"n={spec.n_assets}"]
    words = [spec.solver, *size, *(f"{k}={_word(v)}" for k, v in settings.items()), f"seed={spec.seed}"]
    name = " ".join(words)
    return name if len(name) <= MAX_RUN_NAME else name[:MAX_RUN_NAME - 3] + "..."


def _word(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str) if isinstance(value, (list, dict)) else str(value)


def row_metrics(spec: RunSpec, row: dict[str, Any]) -> dict[str, float]:
    """Every finite numeric (or boolean) field of a row that is not part of the grid point's identity."""
    skip = IDENTITY | set(spec.run_args) | set(spec.instance)
    out = {}
    for key, value in row.items():
        number = None if key in skip or key.startswith("opt.") else _number(value)
        if number is not None:
            out[metric_key(key)] = number
    return out


class MlflowLogger:
    """A study's parent run and its nested runs in the tracking store at ``uri`` (see the module docstring).

    The store is contacted when the logger is made, before any grid point runs, so a bad URI fails at once
    (``ValueError`` naming it); a missing mlflow raises ``ModuleNotFoundError`` (the ``tracking`` extra).
    """

    def __init__(self, uri: str, study: Study, out_dir: Path) -> None:
        from mlflow.entities import Metric, Param, RunTag  # optional heavy dependency (the "tracking" extra)
        from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

        self._entities = Metric, Param, RunTag
        self._parent_tag = MLFLOW_PARENT_RUN_ID
        self.study, self.out = study, Path(out_dir)
        self.specs = {spec.run_id: spec for spec in study.runs}
        self.client, self.experiment_id = open_experiment(uri, study.name)
        key = hashlib.sha256(f"{study.name}\0{self.out.resolve()}".encode()).hexdigest()[:16]
        found = self.client.search_runs([self.experiment_id], f"tags.`qrp.study_key` = '{key}' AND "
                                        "tags.`qrp.role` = 'study'", max_results=1, order_by=["start_time DESC"])
        config = json.dumps(study.config, sort_keys=True, default=str)
        tags = {"qrp.role": "study", "qrp.study_key": key, "qrp.study": study.name,
                "qrp.out_dir": str(self.out.resolve()), "qrp.config_hash": study.config_hash,
                "qrp.seeds": json.dumps(list(study.seeds)), **provenance_tags()}
        if len(config) <= MAX_TAG:
            tags["qrp.config"] = config
        if found:
            self.parent = found[0].info.run_id
            self.client.update_run(self.parent, status="RUNNING")
            self._tags(self.parent, tags)
            self.logged = self._nested_run_ids()
            note = f"resuming parent run {self.parent} ({len(self.logged)} grid points logged before)"
        else:
            self.parent = self.client.create_run(self.experiment_id, tags=tags, run_name=study.name).info.run_id
            self.logged = set()
            note = f"new parent run {self.parent}"
        self.client.log_text(self.parent, config, "study.json")
        print(f"mlflow: {note} in experiment {study.name!r} at {uri}", file=sys.stderr)

    def _tags(self, run_id: str, tags: dict[str, str]) -> None:
        run_tag = self._entities[2]
        items = [run_tag(k, str(v)) for k, v in tags.items()]
        for i in range(0, len(items), BATCH):
            self.client.log_batch(run_id, tags=items[i:i + BATCH])

    def _nested_run_ids(self) -> set[str]:
        ids, token = set(), None
        while True:
            page = self.client.search_runs([self.experiment_id], f"tags.`{self._parent_tag}` = '{self.parent}'",
                                           max_results=1000, page_token=token)
            ids.update(r.data.tags.get("qrp.run_id") for r in page)
            token = page.token
            if not token:
                return ids - {None}

    def log(self, row: dict[str, Any], asset_names: list[str]) -> None:
        """One nested run for a successful grid point's row (nothing when its run_id is logged already)."""
        run_id = row["run_id"]
        if run_id in self.logged or row.get("status") != "ok":
            return
        metric, param, _ = self._entities
        spec = self.specs[run_id]
        tags = {self._parent_tag: self.parent, "qrp.run_id": run_id, "qrp.study": self.study.name}
        child = self.client.create_run(self.experiment_id, tags=tags, run_name=run_name(spec)).info.run_id
        stamp = int(pd.Timestamp.now(tz="UTC").timestamp() * 1000)
        values = grid_params(spec, row)
        long = {k: v for k, v in values.items() if len(str(v)) > MAX_PARAM}
        if long:  # MLflow refuses longer parameter values: the whole value goes into an artifact
            self.client.log_text(child, json.dumps(long, indent=1), "params.json")
            values.update(dict.fromkeys(long, "(in params.json)"))
        params = [param(k, str(v)) for k, v in values.items()]
        metrics = [metric(k, v, stamp, 0) for k, v in row_metrics(spec, row).items()]
        for i in range(0, max(len(params), len(metrics)), BATCH):
            self.client.log_batch(child, metrics=metrics[i:i + BATCH], params=params[i:i + BATCH])
        if isinstance(row.get("weights"), str):
            frame = pd.DataFrame({"asset": asset_names, "weight": json.loads(row["weights"]),
                                  "risk_contribution": json.loads(row["risk_contributions"]),
                                  "classical_weight": json.loads(row["classical_weights"])})
            self.client.log_text(child, frame.to_csv(index=False), "weights.csv")
        self.client.set_terminated(child)
        self.logged.add(run_id)

    def finish(self, frame: pd.DataFrame) -> None:
        """Log the rows of ``frame`` that have no nested run yet, the summary metrics, the runs table and the
        report into the parent, and mark it FINISHED."""
        names: dict[str, list[str]] = {}
        for row in frame[frame["status"] == "ok"].to_dict("records"):
            spec = self.specs.get(row["run_id"])
            if spec is None or row["run_id"] in self.logged:
                continue  # a row of an earlier grid, not this study's any more
            key = json.dumps({"n": spec.n_assets, **spec.instance}, sort_keys=True)
            if key not in names:
                names[key] = list(self.study.covariance_matrix(spec.n_assets, spec.instance).columns)
            self.log(row, names[key])
        metric = self._entities[0]
        stamp = int(pd.Timestamp.now(tz="UTC").timestamp() * 1000)
        summary = summary_metrics(frame)
        self.client.log_batch(self.parent, metrics=[metric(k, v, stamp, 0) for k, v in summary.items()])
        self.client.log_text(self.parent, frame.to_csv(index=False), RUNS_CSV)
        try:
            report = write_report(self.out)
        except ValueError as exc:  # no successful row: nothing to draw, the parent says why
            self._tags(self.parent, {"qrp.report": str(exc)[:MAX_TAG]})
        else:
            for path in report:
                self.client.log_artifact(self.parent, str(path), "report")
        self.client.set_terminated(self.parent)


def summary_metrics(frame: pd.DataFrame) -> dict[str, float]:
    """Counts of the table's rows, and per solver the median rc_error and wall time of its successful rows."""
    ok = frame[frame["status"] == "ok"]
    out = {"runs": float(len(frame)), "ok_runs": float(len(ok)), "error_runs": float(len(frame) - len(ok))}
    for column in ("rc_error", "elapsed"):
        if column not in ok:
            continue
        for solver, values in pd.to_numeric(ok[column], errors="coerce").groupby(ok["solver"]):
            median = values.median()
            if np.isfinite(median):
                out[metric_key(f"{column}_median/{solver}")] = float(median)
    return out


__all__ = ["MlflowLogger", "grid_params", "row_metrics", "run_name", "summary_metrics"]
