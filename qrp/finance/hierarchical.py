"""Hierarchical allocations through skfolio, as backtest strategies beside risk parity.

* ``"hrp"``: Hierarchical Risk Parity (Lopez de Prado 2016, "Building diversified portfolios that outperform out of
  sample", J. Portfolio Management 42(4)): assets ordered by a hierarchical clustering of the correlation distance,
  then recursive bisection, each half weighted inversely to its risk.
* ``"herc"``: Hierarchical Equal Risk Contribution (Raffinot 2018, "The hierarchical equal risk contribution
  portfolio"): the tree cut into clusters, equal risk contribution across and within clusters.
* ``"nco"``: Nested Clusters Optimization (Lopez de Prado 2019): inner minimum-variance portfolios per cluster
  (skfolio's ``MeanRisk``), an outer one across the clusters; ``cv = "ignore"`` (no inner cross-validation: one
  fit per rebalance, as the other strategies).

The estimators are skfolio's (``skfolio.optimization.HierarchicalRiskParity``, ``HierarchicalEqualRiskContribution``,
``NestedClustersOptimization``), used as they are; qrp only gives them the backtest's covariance estimate (every
strategy of a backtest then sees the same covariance) through a skfolio prior whose covariance estimator returns
it, and the window of returns as scenarios. NCO's inner estimators see the clusters' columns only, so it keeps
skfolio's sample covariance of the window. ``risk_measure`` (HRP, HERC) is a skfolio ``RiskMeasure`` value in lower
case, as ``qrp.RiskParity``'s; ``linkage`` a scipy / skfolio linkage method ("ward", "single", ...).
"""

from __future__ import annotations

from typing import Any

import numpy as np

HIERARCHICAL = ("hrp", "herc", "nco")
#: Options each strategy takes.
OPTIONS = {"hrp": {"risk_measure", "linkage"}, "herc": {"risk_measure", "linkage"}, "nco": set()}


def _given_covariance(cov: np.ndarray):
    from skfolio.moments import BaseCovariance  # optional heavy dependency (finance extra)

    class GivenCovariance(BaseCovariance):
        """A skfolio covariance estimator whose fit returns ``covariance`` (the backtest's estimate)."""

        def __init__(self, covariance=None):
            super().__init__(nearest=False)
            self.covariance = covariance

        def fit(self, X, y=None):
            self._set_covariance(np.asarray(self.covariance, dtype=np.float64))
            return self

    return GivenCovariance(cov)


def hierarchical_weights(strategy: str, cov, returns, *, periods_per_year: float = 1.0,
                         risk_measure: str = "variance", linkage: str = "ward") -> tuple[np.ndarray, dict[str, Any]]:
    """Weights of ``strategy`` (``HIERARCHICAL``) on the (T, N) ``returns`` window with covariance ``cov`` (in units of
    ``periods_per_year`` per year, rescaled to one period); diagnostics: the skfolio estimator's name."""
    from skfolio import RiskMeasure  # optional heavy dependency (finance extra)
    from skfolio.cluster import HierarchicalClustering, LinkageMethod
    from skfolio.optimization import (
        HierarchicalEqualRiskContribution,
        HierarchicalRiskParity,
        NestedClustersOptimization,
    )
    from skfolio.prior import EmpiricalPrior

    if strategy not in HIERARCHICAL:
        raise ValueError(f"unknown hierarchical strategy {strategy!r}; available: {', '.join(HIERARCHICAL)}")
    try:
        measure = RiskMeasure(str(getattr(risk_measure, "value", risk_measure)).lower())
    except ValueError:
        raise ValueError(f"risk_measure {risk_measure!r} is not a skfolio RiskMeasure; one of "
                         f"{', '.join(m.value for m in RiskMeasure)}") from None
    try:
        link = LinkageMethod(str(linkage).lower())
    except ValueError:
        raise ValueError(f"linkage {linkage!r} is not one of {', '.join(m.value for m in LinkageMethod)}") from None
    x = np.asarray(returns, dtype=np.float64)
    prior = EmpiricalPrior(covariance_estimator=_given_covariance(np.asarray(cov, dtype=np.float64)
                                                                  / periods_per_year))
    clustering = HierarchicalClustering(linkage_method=link)
    if strategy == "hrp":
        from skfolio.seriation import HierarchicalSeriation  # optional heavy dependency (finance extra)

        model = HierarchicalRiskParity(risk_measure=measure, prior_estimator=prior,
                                       seriation_estimator=HierarchicalSeriation(
                                           hierarchical_clustering_estimator=clustering))
    elif strategy == "herc":
        model = HierarchicalEqualRiskContribution(risk_measure=measure, prior_estimator=prior,
                                                  hierarchical_clustering_estimator=clustering)
    else:
        model = NestedClustersOptimization(cv="ignore")
    w = np.asarray(model.fit(x).weights_, dtype=np.float64)
    return w / w.sum(), {"estimator": type(model).__name__}


__all__ = ["HIERARCHICAL", "OPTIONS", "hierarchical_weights"]
