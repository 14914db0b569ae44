"""MLflow tracking of a study (``qrp run --mlflow URI``): one MLflow run per grid point."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

#: row columns logged as MLflow metrics (when present and finite).
METRICS = ("rc_error", "classical_rc_error", "weight_distance", "elapsed", "num_qubits", "energy", "energy_gap",
           "exact_rc_error", "iterations")


def _cell(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, (list, dict)) else value


class MlflowLogger:
    """One MLflow run per grid point: parameters, metrics, and weights / risk contributions as ``weights.csv``.

    The tracking store is contacted when the logger is made, before any grid point runs, so that a bad URI fails
    at once (``ValueError`` naming it); a missing mlflow raises ``ModuleNotFoundError`` (the ``tracking`` extra).
    """

    def __init__(self, uri: str, experiment: str, artifact_dir: Path) -> None:
        import mlflow  # optional heavy dependency (the "tracking" extra)

        self.mlflow = mlflow
        try:
            mlflow.set_tracking_uri(uri)
            if mlflow.get_experiment_by_name(experiment) is None:
                location = artifact_dir.resolve().as_uri() if uri.split(":", 1)[0] in ("sqlite", "file") else None
                mlflow.create_experiment(experiment, artifact_location=location)
            mlflow.set_experiment(experiment)
        except Exception as exc:  # mlflow raises MlflowException, SQLAlchemy or requests errors for a bad store
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ValueError(f"--mlflow {uri!r}: cannot use this tracking store ({first})") from None

    def log(self, row: dict[str, Any], asset_names: list[str]) -> None:
        mlflow = self.mlflow
        params = {k: row[k] for k in ("run_id", "solver", "n_assets", "seed", "config_hash")}
        params.update(json.loads(row["options"]))
        metrics = {k: float(row[k]) for k in METRICS
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
