"""MLflow tracking of a study (issue 14): one parent run per study directory with one nested run per grid point,
logged into a real local sqlite store; a resumed or grown study logs only the new grid points, into the same
parent, and rows the store lacks are logged when the study finishes."""

import json

import numpy as np
import pandas as pd
import pytest

import qrp
from qrp.studies.runner import run_study
from qrp.studies.study import load_study
from qrp.studies.table import read_table

STUDY = """
seeds = {seeds}
[covariance]
source = "synthetic"
seed = 11
[[grid]]
solver = ["newton", "slsqp"]
n_assets = [4]
"""


def _runs(client, experiment):
    runs = client.search_runs([client.get_experiment_by_name(experiment).experiment_id], max_results=1000)
    parents = [r for r in runs if r.data.tags.get("qrp.role") == "study"]
    return parents, [r for r in runs if "mlflow.parentRunId" in r.data.tags]


def test_parent_run_with_one_nested_run_per_grid_point_resumed_without_duplicates(write_study, tmp_path,
                                                                                  mlflow_uri, capsys):
    mlflow = pytest.importorskip("mlflow")
    client = mlflow.tracking.MlflowClient(mlflow_uri)
    path, out = write_study(STUDY.format(seeds="[0]"), "tracked.toml"), tmp_path / "out"
    run_study(path, out, progress=False)  # first without MLflow: these rows are logged later, when tracked
    path.write_text(STUDY.format(seeds="[0, 1]"))  # the grid grows: two new points
    frame = run_study(path, out, mlflow_uri=mlflow_uri, progress=False)
    assert "mlflow: new parent run" in capsys.readouterr().err
    study = load_study(path)
    (parent,), nested = _runs(client, "tracked")
    assert len(frame) == len(study.runs) == 4
    assert sorted(r.data.tags["qrp.run_id"] for r in nested) == sorted(frame["run_id"])
    assert {r.data.tags["mlflow.parentRunId"] for r in nested} == {parent.info.run_id}
    tags = parent.data.tags
    assert tags["qrp.study"] == "tracked" and tags["qrp.config_hash"] == study.config_hash
    assert json.loads(tags["qrp.seeds"]) == [0, 1] and json.loads(tags["qrp.config"])["seeds"] == [0, 1]
    assert tags["qrp.version"] == qrp.__version__ and tags["qrp.commit"]
    assert parent.info.status == "FINISHED" and all(r.info.status == "FINISHED" for r in nested)
    assert parent.data.metrics["runs"] == 4 and parent.data.metrics["error_runs"] == 0
    median = frame[frame["solver"] == "slsqp"]["rc_error"].median()
    assert parent.data.metrics["rc_error_median/slsqp"] == pytest.approx(median, rel=1e-12)
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert {"runs.csv", "study.json", "report"} <= artifacts
    assert "report/summary.md" in {a.path for a in client.list_artifacts(parent.info.run_id, "report")}
    assert parent.info.artifact_uri.startswith((tmp_path / "mlartifacts").as_uri())
    # a nested run holds its grid point's parameters, its row's metrics and its weights
    one = frame.iloc[-1]
    (logged,) = [r for r in nested if r.data.tags["qrp.run_id"] == one["run_id"]]
    assert logged.data.params["solver"] == one["solver"] and int(logged.data.params["n_assets"]) == 4
    assert logged.info.run_name == f"{one['solver']} n=4 seed={one['seed']}"  # named by solver and settings
    assert int(logged.data.params["seed"]) == one["seed"]
    for key in ("rc_error", "weight_distance", "classical_rc_error", "iterations"):
        assert logged.data.metrics[key] == pytest.approx(float(one[key]), rel=1e-12, abs=1e-300), key
    assert logged.data.metrics["converged"] == float(one["converged"])
    art = pd.read_csv(client.download_artifacts(logged.info.run_id, "weights.csv", str(tmp_path / "dl")))
    assert list(art.columns) == ["asset", "weight", "risk_contribution", "classical_weight"]
    assert list(art["asset"]) == list(study.covariance_matrix(4).columns)
    np.testing.assert_allclose(art["weight"], json.loads(one["weights"]), rtol=1e-12)
    np.testing.assert_allclose(art["risk_contribution"], json.loads(one["risk_contributions"]), rtol=1e-12)
    # resuming finds the same parent and logs nothing twice
    run_study(path, out, mlflow_uri=mlflow_uri, progress=False)
    assert "mlflow: resuming parent run" in capsys.readouterr().err
    (again,), nested_again = _runs(client, "tracked")
    assert again.info.run_id == parent.info.run_id and len(nested_again) == 4
    assert again.info.status == "FINISHED"


def test_nested_runs_are_named_by_solver_and_settings():
    from qrp.studies.grid import RunSpec
    from qrp.studies.tracking import MAX_RUN_NAME, run_name

    spec = RunSpec("abc", "qaoa", 3, 0, {"rounds": 5, "bits": 2, "reps": 1}, {"tol": 1e-9}, 0, {"instance": 2})
    assert run_name(spec) == "qaoa n=3 bits=2 reps=1 rounds=5 tol=1e-09 instance=2 seed=0"
    long = RunSpec("abc", "sa", 3, 1, {"budgets": list(range(200))})
    assert len(run_name(long)) == MAX_RUN_NAME and run_name(long).startswith("sa n=3 budgets=[0,1,2")


def test_a_bad_store_fails_before_any_grid_point_runs(write_study, tmp_path):
    pytest.importorskip("mlflow")
    path = write_study(STUDY.format(seeds="[0]"))
    with pytest.raises(ValueError, match="--mlflow 'nosuchscheme://x': cannot use this tracking store"):
        run_study(path, tmp_path / "out", mlflow_uri="nosuchscheme://x", progress=False)
    assert len(read_table(tmp_path / "out")) == 0


def test_the_ui_extra_serves_mlflow_ui():
    """``mlflow ui`` needs the full mlflow (its Flask app), not mlflow-skinny: the ``ui`` extra (in ``test``)."""
    pytest.importorskip("mlflow")
    from mlflow.server import app  # mlflow-skinny alone: No module named 'flask'

    assert app.name == "mlflow.server"
