"""MLflow logging for one portfolio computation (``qrp solve``, ``qrp rebalance``, ``qrp backtest``).

One MLflow run records: parameters (flat, JSON-encoded when not scalar), metrics, the per-asset table (weights,
risk contributions, shares, budgets) as ``risk_contributions.csv``, the covariance as an input dataset
(``mlflow.log_input`` of an ``mlflow.data.from_pandas`` dataset, context "covariance"), and tags ``qrp.version``
and ``qrp.commit`` (``qrp.core.provenance.package_versions``). With a ``sqlite:///PATH`` store the artifacts go
to ``mlartifacts/`` next to the database file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from qrp.core.mlflow_store import metric_key, open_experiment, param_value, provenance_tags


def log_to_mlflow(uri: str, experiment: str, *, run_name: str, params: Mapping[str, Any],
                  metrics: Mapping[str, float], table: pd.DataFrame | None = None,
                  covariance: pd.DataFrame | None = None, artifacts: Mapping[str, str] | None = None) -> str:
    """Log one run to the MLflow tracking server at ``uri``; returns the run id."""
    import mlflow  # optional heavy dependency (tracking extra)

    _, experiment_id = open_experiment(uri, experiment)
    mlflow.set_tracking_uri(uri)
    with mlflow.start_run(experiment_id=experiment_id, run_name=run_name, tags=provenance_tags()) as run:
        mlflow.log_params({k: param_value(v) for k, v in params.items()})
        mlflow.log_metrics({metric_key(k): float(v) for k, v in metrics.items()})
        if table is not None:
            mlflow.log_text(table.to_csv(), "risk_contributions.csv")
        if covariance is not None:
            frame = covariance.reset_index(names="asset")
            mlflow.log_input(mlflow.data.from_pandas(frame, name="covariance"), context="covariance")
        for name, text in (artifacts or {}).items():
            mlflow.log_text(text, name)
        return run.info.run_id
