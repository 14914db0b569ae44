"""MLflow logging for one portfolio computation (``qrp solve``, ``qrp rebalance``, ``qrp backtest``).

One MLflow run records: parameters (flat, JSON-encoded when not scalar), metrics, the per-asset table (weights,
risk contributions, shares, budgets) as ``risk_contributions.csv``, the covariance as an input dataset
(``mlflow.log_input`` of an ``mlflow.data.from_pandas`` dataset, context "covariance"), and tags ``qrp.version``
and ``qrp.commit`` (``qrp.core.provenance.package_versions``). With a ``sqlite:///PATH`` store the artifacts go
to ``mlartifacts/`` next to the database file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from qrp.core.provenance import package_versions


def _param(value: Any) -> Any:
    return value if isinstance(value, (int, float, str, bool)) or value is None else json.dumps(value, default=str)


def _key(name: str) -> str:
    """MLflow keys allow letters, digits, ``_ - . / `` and spaces; anything else (strategy labels' parentheses,
    commas) becomes ``_``."""
    return re.sub(r"[^\w\-. /]", "_", name)


def log_to_mlflow(uri: str, experiment: str, *, run_name: str, params: Mapping[str, Any],
                  metrics: Mapping[str, float], table: pd.DataFrame | None = None,
                  covariance: pd.DataFrame | None = None, artifacts: Mapping[str, str] | None = None) -> str:
    """Log one run to the MLflow tracking server at ``uri``; returns the run id."""
    import mlflow  # optional heavy dependency (tracking extra)

    mlflow.set_tracking_uri(uri)
    if mlflow.get_experiment_by_name(experiment) is None:
        location = None
        if uri.startswith("sqlite:///"):  # artifacts next to the database, never in the working directory
            location = (Path(uri.removeprefix("sqlite:///")).resolve().parent / "mlartifacts").as_uri()
        mlflow.create_experiment(experiment, artifact_location=location)
    mlflow.set_experiment(experiment)
    versions = package_versions()
    tags = {"qrp.version": versions["qrp"], "qrp.commit": versions["qrp_git"]}
    with mlflow.start_run(run_name=run_name, tags=tags) as run:
        mlflow.log_params({k: _param(v) for k, v in params.items()})
        mlflow.log_metrics({_key(k): float(v) for k, v in metrics.items()})
        if table is not None:
            mlflow.log_text(table.to_csv(), "risk_contributions.csv")
        if covariance is not None:
            frame = covariance.reset_index(names="asset")
            mlflow.log_input(mlflow.data.from_pandas(frame, name="covariance"), context="covariance")
        for name, text in (artifacts or {}).items():
            mlflow.log_text(text, name)
        return run.info.run_id
