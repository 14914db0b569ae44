"""HRP, HERC and NCO through skfolio as backtest strategies beside ERC (issue 24.5)."""

import numpy as np
import pytest

pytest.importorskip("skfolio")

from skfolio.optimization import (
    HierarchicalEqualRiskContribution,
    HierarchicalRiskParity,
    NestedClustersOptimization,
)

from qrp.cli import main
from qrp.data.returns import load_sp500_returns
from qrp.finance import backtest as B
from qrp.finance.strategies import compute_weights


@pytest.fixture(scope="module")
def window():
    return load_sp500_returns(start="2021-01-01", end="2021-12-31")


@pytest.mark.parametrize("kind, model", [("hrp", HierarchicalRiskParity()),
                                         ("herc", HierarchicalEqualRiskContribution()),
                                         ("nco", NestedClustersOptimization(cv="ignore"))])
def test_equal_to_skfolio_on_the_sample_covariance(window, kind, model):
    """Given the sample covariance (what skfolio's default prior estimates), the strategy is skfolio's estimator."""
    cov = window.cov().to_numpy() * 252
    w, info = compute_weights(kind, cov=cov, returns=window.to_numpy(), periods_per_year=252)
    np.testing.assert_allclose(w, model.fit(window).weights_, atol=1e-10)
    assert info["estimator"] == type(model).__name__ and abs(w.sum() - 1) < 1e-12 and np.all(w >= 0)


def test_options_and_bad_input(window):
    from skfolio import RiskMeasure

    cov = window.cov().to_numpy()
    w, _ = compute_weights("hrp", cov=cov, returns=window.to_numpy(), risk_measure="cvar", linkage="single")
    from skfolio.cluster import HierarchicalClustering, LinkageMethod
    from skfolio.seriation import HierarchicalSeriation

    ref = HierarchicalRiskParity(risk_measure=RiskMeasure.CVAR, seriation_estimator=HierarchicalSeriation(
        hierarchical_clustering_estimator=HierarchicalClustering(linkage_method=LinkageMethod.SINGLE))).fit(window)
    np.testing.assert_allclose(w, ref.weights_, atol=1e-10)
    with pytest.raises(ValueError, match="not a skfolio RiskMeasure"):
        compute_weights("herc", cov=cov, returns=window.to_numpy(), risk_measure="var")
    with pytest.raises(ValueError, match="does not take option"):
        compute_weights("nco", cov=cov, returns=window.to_numpy(), risk_measure="cvar")
    with pytest.raises(ValueError, match="needs the returns window"):
        compute_weights("hrp", cov=cov)


def test_backtest_beside_erc(tmp_path):
    r = load_sp500_returns(start="2019-01-01", end="2020-12-31").iloc[:, :8]
    prices = (1 + r).cumprod() * 100
    prices.rename_axis("date").to_csv(tmp_path / "prices.csv")
    strategies = "".join(f'[[strategies]]\nname = "{k.upper()}"\ntype = "{k}"\n' for k in ("hrp", "herc", "nco"))
    (tmp_path / "bt.toml").write_text(
        '[data]\nsource = "csv"\npath = "prices.csv"\n[backtest]\nrebalance = "monthly"\nwindow = 252\n'
        'estimator = "ledoit_wolf"\n[[strategies]]\nname = "ERC"\ntype = "risk_parity"\n' + strategies)
    out = tmp_path / "out"
    assert main(["backtest", str(tmp_path / "bt.toml"), "--out", str(out)]) == 0
    cfg, _, _ = B.load_config(tmp_path / "bt.toml")
    metrics = (out / "metrics.csv").read_text()
    for name in ("ERC", "HRP", "HERC", "NCO"):
        assert name in metrics
    # the backtest hands HRP its covariance estimate (Ledoit-Wolf), not skfolio's sample covariance
    res = B.run_backtest(r, cfg)
    w_lw = res.weights["HRP"].iloc[0].to_numpy()
    w_sample = HierarchicalRiskParity().fit(r.iloc[:252]).weights_
    assert np.abs(w_lw - w_sample).max() > 1e-4
    assert np.allclose(res.weights["HRP"].sum(axis=1), 1.0)
