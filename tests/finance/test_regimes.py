"""Regime labels for the backtest: user CSV labels, the Markov-switching signal, no look-ahead."""

import numpy as np
import pandas as pd
import pytest

from qrp.finance import backtest as B
from qrp.finance.regimes import RegimeLabeller, markov_regimes, read_regime_labels


def _returns(t=400, n=3, seed=0):
    rng = np.random.default_rng(seed)
    scale = np.where(np.arange(t) % 200 < 100, 0.005, 0.03)  # calm and stress blocks of 100 days
    return pd.DataFrame(rng.normal(size=(t, n)) * scale[:, None], columns=list("ABC")[:n],
                        index=pd.bdate_range("2020-01-01", periods=t))


def test_read_labels_forward_fills(tmp_path):
    dates = pd.bdate_range("2021-01-01", periods=10)
    path = tmp_path / "labels.csv"
    path.write_text(f"date,regime\n{dates[2].date()},calm\n{dates[5].date()},stress\n")
    labels = read_regime_labels(path, dates)
    assert list(labels) == ["unlabelled"] * 2 + ["calm"] * 3 + ["stress"] * 5
    path.write_text("date,regime\n2021-01-04,calm\n2021-01-04,stress\n")
    with pytest.raises(ValueError, match="duplicate date"):
        read_regime_labels(path, dates)


def test_markov_finds_the_high_variance_blocks():
    r = _returns(t=400, n=1)
    labels = markov_regimes(r.iloc[:, 0].to_numpy())
    truth = np.where(np.arange(400) % 200 < 100, "calm", "stress")
    assert (labels == truth).mean() > 0.9
    # filtered, not smoothed: the labels of the first 300 days do not depend on the last 100
    np.testing.assert_array_equal(markov_regimes(r.iloc[:300, 0].to_numpy())[:250],
                                  RegimeLabeller(r.to_numpy()[:, :1], r.index, method="markov", signal_window=21,
                                                 threshold=0.25, periods_per_year=252).window(300, 0)[:250])


def test_backtest_with_user_labels(tmp_path):
    r = _returns()
    path = tmp_path / "labels.csv"
    stress_days = r.index[np.arange(400) % 200 >= 100]
    pd.DataFrame({"date": r.index, "regime": np.where(r.index.isin(stress_days), "stress", "calm")}).to_csv(
        path, index=False)
    strat = B.StrategyConfig("erc", "risk_parity", regime=True)
    cfg = B.BacktestConfig(strategies=(strat,), window=60, rebalance="monthly", estimator="sample",
                           regime=B.RegimeConfig(method="labels", labels=str(path), lookback=300,
                                                 min_observations=30))
    res = B.run_backtest(r, cfg)
    previous_day = r.index.get_indexer(res.rebalances.date) - 1
    expected = np.where(np.isin(previous_day, np.flatnonzero(r.index.isin(stress_days))), "stress", "calm")
    labels = res.rebalances.regime.str.replace("-fallback", "")
    np.testing.assert_array_equal(labels.to_numpy(), expected)
    assert {"calm", "stress"} <= set(labels)
    with pytest.raises(ValueError, match="goes with method = 'labels'"):
        B.run_backtest(r, B.BacktestConfig(strategies=(strat,), window=60, regime=B.RegimeConfig(labels=str(path))))
    with pytest.raises(ValueError, match=r"regime\.method"):
        B.run_backtest(r, B.BacktestConfig(strategies=(strat,), window=60, regime=B.RegimeConfig(method="hmm")))


def test_toml_labels_path_is_relative_to_the_config(tmp_path):
    path = tmp_path / "bt.toml"
    path.write_text('[regime]\nmethod = "labels"\nlabels = "regimes.csv"\n'
                    '[[strategies]]\nname = "erc"\ntype = "risk_parity"\nregime = true\n')
    config, _, _ = B.load_config(path)
    assert config.regime.labels == str(tmp_path / "regimes.csv") and config.regime.method == "labels"


def test_factor_risk_parity_strategy_in_the_backtest():
    from qrp.finance.factor_parity import factor_risk_contributions
    from qrp.finance.strategies import compute_weights

    r = _returns(n=3)
    strat = B.StrategyConfig("factor rp", "factor_risk_parity", {"n_factors": 2})
    res = B.run_backtest(r, B.BacktestConfig(strategies=(strat,), window=60, estimator="sample"))
    assert res.metrics.loc["factor rp", "not_converged"] == 0
    cov = np.cov(r.iloc[:60].to_numpy(), rowvar=False) * 252
    w, info = compute_weights("factor_risk_parity", cov=cov, periods_per_year=252, n_factors=2)
    vals, vecs = np.linalg.eigh(cov)
    a = vecs[:, -2:] * np.sqrt(vals[-2:])
    contrib, _ = factor_risk_contributions(w, a, np.eye(2), np.clip(np.diag(cov) - (a**2).sum(axis=1), 0, None))
    np.testing.assert_allclose(contrib / contrib.sum(), [0.5, 0.5], atol=1e-6)
    assert info["factor_rc_error"] < 1e-6
