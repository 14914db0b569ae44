"""qrp rebalance: today's targets from a returns CSV, hashed inputs, MLflow logging."""

import json

import numpy as np
import pandas as pd
import pytest

import qrp
from qrp.cli import main
from qrp.data.covariance import estimate_covariance
from qrp.finance.execution import hash_inputs, target_weights
from qrp.finance.rebalance import rebalance


@pytest.fixture(scope="module")
def returns_csv(tmp_path_factory):
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(rng.normal(0.0004, 0.01, size=(300, 4)) @ (np.eye(4) + 0.3),
                         index=pd.bdate_range("2023-01-02", periods=300, name="date"), columns=list("ABCD"))
    path = tmp_path_factory.mktemp("data") / "returns.csv"
    frame.to_csv(path)
    return path, frame


def test_rebalance_cli_writes_todays_targets(returns_csv, tmp_path):
    path, frame = returns_csv
    out = tmp_path / "targets"
    assert main(["rebalance", "--returns", str(path), "--estimator", "ledoit_wolf", "--window", "100",
                 "--out", str(out)]) == 0
    doc = json.loads((out / "target_weights.json").read_text())
    csv = pd.read_csv(out / "target_weights.csv", index_col="asset")
    window = pd.read_csv(path, index_col="date", parse_dates=True).iloc[-100:]
    cov = estimate_covariance(window, method="ledoit_wolf", periods_per_year=252)
    expected = qrp.risk_parity(cov).weights
    np.testing.assert_allclose(csv["weight"].to_numpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(list(doc["weights"].values()), expected, rtol=1e-12)
    assert doc["metadata"]["as_of"] == str(frame.index[-1].date()) and doc["metadata"]["window"] == 100
    assert doc["metadata"]["rc_error"] < 1e-10 and doc["metadata"]["converged"] is True
    assert csv["input_hash"].iloc[0] == doc["input_hash"]
    again = rebalance(window, window=100)  # same inputs, same hash; a changed window changes it
    assert again.target.input_hash == doc["input_hash"]
    assert rebalance(frame.iloc[:-1], window=100).target.input_hash != doc["input_hash"]


def test_rebalance_bad_input_exits_2(returns_csv, tmp_path, capsys):
    path, _ = returns_csv
    assert main(["rebalance", "--returns", str(path), "--window", "1000", "--out", str(tmp_path)]) == 2
    assert "window=1000 needs at least 1000 rows" in capsys.readouterr().err
    assert not (tmp_path / "target_weights.csv").exists()


def test_target_weights_accepts_result():
    res = qrp.risk_parity(qrp.example_covariance())
    t = target_weights(res, inputs={"cov": qrp.example_covariance()})
    assert list(t.weights.index) == list(res.asset_names)
    assert t.metadata["solver"] == "auto" and t.metadata["rc_error"] == res.rc_error
    assert t.input_hash == hash_inputs({"cov": qrp.example_covariance()})


def test_mlflow_logging(returns_csv, tmp_path, monkeypatch, mlflow_uri):
    mlflow = pytest.importorskip("mlflow")
    monkeypatch.chdir(tmp_path)
    path, _ = returns_csv
    uri = mlflow_uri
    assert main(["rebalance", "--returns", str(path), "--window", "100", "--out", str(tmp_path / "t"),
                 "--mlflow", uri]) == 0
    assert main(["solve", "--json", "--mlflow", uri]) == 0
    client = mlflow.tracking.MlflowClient(uri)
    for name in ("qrp-rebalance", "qrp-solve"):
        (run,) = client.search_runs([client.get_experiment_by_name(name).experiment_id])
        assert run.data.params["solver"] == "auto"
        assert run.data.metrics["rc_error"] < 1e-10
        assert run.data.tags["qrp.version"] == qrp.__version__ and "qrp.commit" in run.data.tags
        assert [d.dataset.name for d in run.inputs.dataset_inputs] == ["covariance"]
        table = mlflow.artifacts.load_text(f"{run.info.artifact_uri}/risk_contributions.csv")
        assert table.splitlines()[0] == "asset,weight,risk_contribution,risk_share,budget"
        assert run.info.artifact_uri.startswith((tmp_path / "mlartifacts").as_uri())


def test_backtest_mlflow(tmp_path, monkeypatch, mlflow_uri):
    mlflow = pytest.importorskip("mlflow")
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "bt.toml"
    config.write_text('seed = 1\n[data]\nsource = "sp500"\nassets = ["AAPL", "JNJ", "XOM"]\nstart = "2022-01-03"\n'
                      'end = "2022-12-28"\n[backtest]\nrebalance = "monthly"\nwindow = 63\nestimator = "sample"\n'
                      '[[strategies]]\nname = "ERC (auto)"\ntype = "risk_parity"\n')
    uri = mlflow_uri
    assert main(["backtest", str(config), "--mlflow", uri]) == 0
    client = mlflow.tracking.MlflowClient(uri)
    (run,) = client.search_runs([client.get_experiment_by_name("qrp-backtest").experiment_id])
    assert run.data.params["rebalance"] == "monthly"
    assert np.isfinite(run.data.metrics["ERC _auto_.sharpe"])
    assert run.data.metrics["ERC _auto_.avg_rc_error"] < 1e-10
