import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qrp.classical import default as default_call
from qrp.cli import main
from qrp.core import certificate
from qrp.data.covariance import POSITIVE_DEFINITE, estimate_covariance
from qrp.data.returns import prices_to_returns, read_csv
from qrp.finance import backtest as B


def _returns(t=400, n=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0004, 0.012, size=(t, n)) + rng.normal(0, 0.006, size=(t, 1))
    return pd.DataFrame(x, index=pd.bdate_range("2019-01-01", periods=t), columns=[f"S{i}" for i in range(n)])


def _config(*strategies, **kw):
    kw.setdefault("window", 60)
    return B.BacktestConfig(strategies=tuple(strategies), **kw)


def test_rebalance_positions():
    idx = pd.bdate_range("2021-01-01", "2021-04-30")
    pos = B.rebalance_positions(idx, "monthly", 10)
    assert [str(d.date()) for d in idx[pos]] == ["2021-02-01", "2021-03-01", "2021-04-01"]
    weekly = idx[B.rebalance_positions(idx, "weekly", 1)]
    assert (weekly.day_of_week == 0).all()
    assert len(B.rebalance_positions(idx, "daily", 10)) == len(idx) - 10


def test_accounting_matches_a_day_by_day_loop():
    r = _returns()
    cost_bps = 25.0
    res = B.run_backtest(r, _config(B.StrategyConfig("iv", "inverse_volatility"), cost_bps=cost_bps,
                                    estimator="sample"))
    targets = res.weights["iv"]
    pos = set(r.index.get_indexer(targets.index))
    x = r.to_numpy()
    w = np.zeros(4)
    daily, turnover = [], []
    for t in range(min(pos), len(x)):
        cost = 0.0
        if t in pos:
            tgt = targets.loc[r.index[t]].to_numpy()
            turnover.append(np.abs(tgt - w).sum())
            cost = cost_bps * 1e-4 * turnover[-1]
            w = tgt
        rp = w @ x[t]
        daily.append((1 - cost) * (1 + rp) - 1)
        w = w * (1 + x[t]) / (1 + rp)
    np.testing.assert_allclose(res.returns["iv"].to_numpy(), daily, rtol=0, atol=1e-15)
    reb = res.rebalances
    np.testing.assert_allclose(reb.turnover.to_numpy(), turnover, rtol=1e-12)
    assert reb.turnover.iloc[0] == pytest.approx(1.0)
    np.testing.assert_allclose(reb.cost.to_numpy(), np.array(turnover) * cost_bps * 1e-4, rtol=1e-12)
    wealth = np.prod(1 + np.array(daily))
    m = res.metrics.loc["iv"]
    assert m.final_wealth == pytest.approx(wealth, rel=1e-12)
    assert res.equity["iv"].iloc[-1] == pytest.approx(wealth, rel=1e-12)
    assert m.annualized_return == pytest.approx(wealth ** (252 / len(daily)) - 1, rel=1e-12)


def test_weights_sum_to_one_and_no_look_ahead():
    r = _returns(t=300)
    cfg = _config(B.StrategyConfig("erc", "risk_parity", {"solver": "auto"}),
                  B.StrategyConfig("mv", "minimum_variance"), B.StrategyConfig("cvar", "minimum_cvar"),
                  B.StrategyConfig("ew", "equal_weight"))
    res = B.run_backtest(r, cfg)
    for name in res.weights:
        np.testing.assert_allclose(res.weights[name].sum(axis=1), 1.0, rtol=1e-12)
        np.testing.assert_allclose(res.risk_shares[name].sum(axis=1), 1.0, rtol=1e-12)
    assert res.metrics.loc["erc", "avg_rc_error"] < 1e-10
    assert res.metrics.loc["ew", "annual_turnover"] > 0  # drift makes equal weight trade
    shocked = r.copy()
    last = res.weights["erc"].index[-1]
    shocked.loc[last:] *= 5.0  # changing returns from the last rebalance date on must not change its weights
    res2 = B.run_backtest(shocked, cfg)
    pd.testing.assert_frame_equal(res.weights["erc"], res2.weights["erc"])


def test_max_drawdown_by_hand():
    m = B.performance_metrics(np.array([0.1, -0.5, 0.2, 0.5, -0.1]), periods_per_year=252)
    # wealth 1.1, 0.55, 0.66, 0.99, 0.891; peak 1.1
    assert m["max_drawdown"] == pytest.approx(0.5)
    assert B.performance_metrics(np.array([-0.2, 0.1]), periods_per_year=1)["max_drawdown"] == pytest.approx(0.2)


def test_regime_labels_follow_the_threshold():
    r = _returns(t=400)
    strat = B.StrategyConfig("erc", "risk_parity", regime=True)
    calm = B.run_backtest(r, _config(strat, regime=B.RegimeConfig(threshold=10.0, lookback=300, min_observations=30)))
    assert set(calm.rebalances.regime) == {"calm"}
    stress = B.run_backtest(r, _config(strat, regime=B.RegimeConfig(threshold=1e-6, lookback=300,
                                                                      min_observations=30)))
    assert set(stress.rebalances.regime) == {"stress"}
    # every day past the signal's 20-day warm-up (labelled calm) qualifies, so each estimate uses the lookback
    # (capped by the data before p) less the warm-up days inside it
    pos = r.index.get_indexer(stress.weights["erc"].index)
    warmup_inside = np.maximum(0, 20 - np.maximum(0, pos - 300))
    np.testing.assert_array_equal(stress.rebalances.n_observations.to_numpy(), np.minimum(pos, 300) - warmup_inside)


def test_bad_configs():
    s = B.StrategyConfig("a", "equal_weight")
    with pytest.raises(ValueError, match="rebalance must be one of"):
        _config(s, rebalance="hourly")
    with pytest.raises(ValueError, match="unknown type 'black_litterman'"):
        _config(B.StrategyConfig("x", "black_litterman"))
    with pytest.raises(ValueError, match="strategy names must be unique"):
        _config(s, s)
    with pytest.raises(ValueError, match="no \\[regime\\] section"):
        _config(B.StrategyConfig("x", "risk_parity", regime=True))
    with pytest.raises(ValueError, match="cost_bps must be a number in"):
        _config(s, cost_bps=-1)
    with pytest.raises(ValueError, match="no rebalance date: 40 rows but window = 60"):
        B.run_backtest(_returns(t=40), _config(s))
    with pytest.raises(ValueError, match=r"solver 'ccd' does not take option\(s\) \['bits'\]"):
        B.run_backtest(_returns(t=100), _config(s, B.StrategyConfig("q", "risk_parity", {"solver": "ccd", "bits": 3})))
    bad = _returns(t=100)
    bad.iloc[5, 2] = np.nan
    with pytest.raises(ValueError, match=r"NaN or inf at .* asset 'S2'"):
        B.run_backtest(bad, _config(s))


def test_prices_to_returns_and_csv(tmp_path):
    prices = pd.DataFrame({"a": [100.0, 110.0, 99.0], "b": [10.0, 10.0, 12.0]},
                          index=pd.date_range("2020-01-01", periods=3))
    r = prices_to_returns(prices)
    np.testing.assert_allclose(r.to_numpy(), [[0.1, 0.0], [-0.1, 0.2]], rtol=1e-14)
    np.testing.assert_allclose(prices_to_returns(prices, kind="log").to_numpy(), np.log1p(r.to_numpy()))
    path = tmp_path / "p.csv"
    prices.iloc[::-1].rename_axis("Date").to_csv(path)  # unsorted dates are sorted
    pd.testing.assert_frame_equal(read_csv(path), r, check_names=False, check_freq=False)
    with pytest.raises(ValueError, match=r"prices must be finite and > 0; got -1\.0"):
        prices_to_returns(prices.assign(a=[100.0, -1.0, 3.0]))


def test_sp500_loader_is_offline_and_complete():
    pytest.importorskip("skfolio")
    from skfolio.datasets import load_sp500_dataset

    from qrp.data.returns import load_sp500_prices, load_sp500_returns

    p = load_sp500_prices()
    assert p.shape == (8313, 20) and p.index[0] == pd.Timestamp("1990-01-02")
    reference = load_sp500_dataset()  # skfolio's own loader: the same file, the same values and dates
    np.testing.assert_array_equal(p.to_numpy(), reference.to_numpy())
    assert (p.index == pd.DatetimeIndex(reference.index)).all() and list(p.columns) == list(reference.columns)
    r = load_sp500_returns(start="2022-01-01")
    assert r.index[0] >= pd.Timestamp("2022-01-01") and r.shape[1] == 20 and np.isfinite(r.to_numpy()).all()


def test_cli_backtest_writes_everything(tmp_path):
    prices = (1 + _returns(t=320, n=3)).cumprod() * 100
    prices.rename_axis("date").to_csv(tmp_path / "prices.csv")
    (tmp_path / "bt.toml").write_text(
        'seed = 3\n[data]\nsource = "csv"\npath = "prices.csv"\n'
        '[backtest]\nrebalance = "monthly"\nwindow = 100\nestimator = "ewma"\ncost_bps = 5.0\n'
        '[[strategies]]\nname = "ERC"\ntype = "risk_parity"\nparams = { solver = "ccd" }\n'
        '[[strategies]]\ntype = "equal_weight"\n'
    )
    out = tmp_path / "out"
    assert main(["backtest", str(tmp_path / "bt.toml"), "--out", str(out)]) == 0
    names = {p.name for p in out.iterdir()}
    assert {"returns.parquet", "weights.parquet", "rebalances.csv", "metrics.csv", "summary.json", "equity.png",
            "weights.png", "risk_contributions.png", "targets"} <= names
    assert not [p for p in out.rglob("*.tmp")]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["seed"] == 3 and summary["config"]["estimator"] == "ewma" and "numpy" in summary["versions"]
    returns = pd.read_parquet(out / "returns.parquet")
    assert list(returns.columns) == ["ERC", "equal_weight"]
    target = json.loads((out / "targets" / "ERC.json").read_text())
    assert len(target["input_hash"]) == 64 and abs(sum(target["weights"].values()) - 1) < 1e-12
    (tmp_path / "bad.toml").write_text('[backtest]\nwindw = 3\n')
    assert main(["backtest", str(tmp_path / "bad.toml")]) == 2


def test_shipped_config_parses():
    cfg, data, _ = B.load_config(Path(__file__).parents[2] / "experiments" / "backtest.toml")
    assert data["source"] == "sp500" and cfg.rebalance == "monthly" and len(cfg.strategies) >= 6


def _two_configs(tmp_path):
    """Backtest configs A (strategies ERC + equal_weight) and B (inverse_volatility only) on one CSV."""
    prices = (1 + _returns(t=320, n=3)).cumprod() * 100
    prices.rename_axis("date").to_csv(tmp_path / "prices.csv")
    head = '[data]\nsource = "csv"\npath = "prices.csv"\n[backtest]\nwindow = 100\nestimator = "sample"\n'
    (tmp_path / "a.toml").write_text(head + '[[strategies]]\nname = "ERC"\ntype = "risk_parity"\n'
                                     '[[strategies]]\ntype = "equal_weight"\n')
    (tmp_path / "b.toml").write_text(head + '[[strategies]]\ntype = "inverse_volatility"\n')
    return tmp_path / "a.toml", tmp_path / "b.toml"


def _snapshot(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_backtest_output_is_replaced_whole(tmp_path):
    """A second backtest into the same --out leaves no file of the first (targets of strategies it does not have),
    and the result directory of a config run from elsewhere reads its data relative to the config file."""
    a, b = _two_configs(tmp_path)
    out = tmp_path / "out"
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    cwd = os.getcwd()
    os.chdir(elsewhere)
    try:
        assert main(["backtest", str(a), "--out", str(out)]) == 0
        assert {p.name for p in (out / "targets").iterdir()} == {"ERC.csv", "ERC.json", "equal_weight.csv",
                                                                 "equal_weight.json"}
        assert main(["backtest", str(b), "--out", str(out)]) == 0
    finally:
        os.chdir(cwd)
    assert {p.name for p in (out / "targets").iterdir()} == {"inverse_volatility.csv", "inverse_volatility.json"}
    assert list(pd.read_parquet(out / "returns.parquet").columns) == ["inverse_volatility"]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".out.")) == []  # lock removed too


def test_backtest_killed_mid_write_leaves_the_previous_output(tmp_path):
    """SIGKILL `qrp backtest` while it writes into its temporary directory: --out is still exactly the previous
    run's output (no file of the new run beside it); the next run cleans the leftovers and replaces it whole."""
    a, b = _two_configs(tmp_path)
    out = tmp_path / "out"
    assert main(["backtest", str(a), "--out", str(out)]) == 0
    before = _snapshot(out)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen([sys.executable, "-m", "qrp", "backtest", str(b), "--out", str(out)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline, killed_with = time.monotonic() + 120, None
    while time.monotonic() < deadline and proc.poll() is None:
        partial = [p for p in tmp_path.glob(".out.*.partial") if any(p.iterdir())]
        if partial:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            killed_with = sorted(q.name for q in partial[0].rglob("*"))
            break
        time.sleep(0.005)
    assert killed_with, "the backtest finished before it could be killed mid-write"
    assert _snapshot(out) == before  # the previous output, byte for byte
    assert main(["backtest", str(b), "--out", str(out)]) == 0
    assert {p.name for p in (out / "targets").iterdir()} == {"inverse_volatility.csv", "inverse_volatility.json"}
    assert not list(tmp_path.glob(".out.*.partial"))


def test_backtest_certifies_each_covariance_once(monkeypatch):
    """The estimator's Cholesky certificate of a positive definite estimate is the only one: the risk_parity
    strategy solves it with check_psd=False (one Cholesky per rebalance, not two), and its weights are exactly those
    of a strategy that asks the solver to certify again."""
    r = _returns(t=300)
    assert estimate_covariance(r, method="sample", periods_per_year=252).attrs[POSITIVE_DEFINITE] is True
    calls = []
    real = certificate.certify_positive_definite

    def spy(a):
        calls.append(1)
        return real(a)

    # every certificate (the estimator's, and the solver's through the general path or the default call's LAPACK
    # route) goes through certify_positive_definite once the compiled small-N route is off
    monkeypatch.setattr(certificate, "certify_positive_definite", spy)
    monkeypatch.setattr(default_call, "certify_positive_definite", spy)
    monkeypatch.setattr(default_call, "CHOLESKY_MAX_N", 0)  # _separate_steps: LAPACK's certificate at every N
    monkeypatch.setattr(default_call, "KERNEL_TOL", -1.0)  # no compiled small route (its N limit is compiled in)
    once = B.run_backtest(r, _config(B.StrategyConfig("erc", "risk_parity", {"solver": "auto"})))
    rebalances = len(once.rebalances)
    assert rebalances >= 5 and len(calls) == rebalances
    calls.clear()
    twice = B.run_backtest(r, _config(B.StrategyConfig("erc", "risk_parity", {"solver": "auto", "check_psd": True})))
    assert len(calls) == 2 * rebalances
    pd.testing.assert_frame_equal(once.weights["erc"], twice.weights["erc"])
    pd.testing.assert_frame_equal(once.returns, twice.returns)


def test_a_singular_estimate_still_gets_the_erc_existence_check(monkeypatch):
    """Asset B = -A (returns +-1/64): the sample covariance with ddof 0, annualized by 256, is exactly
    [[1/16, -1/16], [-1/16, 1/16]], so its Cholesky fails and the estimator records it as not positive definite;
    the solver then runs its own checks and finds that the long-only portfolio (1/2, 1/2) has zero variance, so no
    ERC portfolio exists."""
    x = np.tile([1 / 64, -1 / 64], 100)
    r = pd.DataFrame({"A": x, "B": -x}, index=pd.bdate_range("2019-01-01", periods=len(x)))
    assert estimate_covariance(r.iloc[:64], method="sample", periods_per_year=256, ddof=0).attrs[
        POSITIVE_DEFINITE] is False
    seen = []
    real = certificate.check_erc_exists
    monkeypatch.setattr(certificate, "check_erc_exists", lambda s: seen.append(1) or real(s))
    cfg = _config(B.StrategyConfig("erc", "risk_parity", {"solver": "auto"}), window=64, estimator="sample",
                  estimator_options={"ddof": 0}, periods_per_year=256.0)
    with pytest.raises(ValueError, match="no ERC portfolio exists"):
        B.run_backtest(r, cfg)
    assert seen == [1]
