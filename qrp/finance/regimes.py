"""Regime labels for the backtest's regime-specific covariance: a volatility threshold, a Markov-switching model,
or labels the user supplies.

At rebalance day p the backtest needs the regime of day p - 1 and the regimes of the earlier days in its lookback,
all known at the close of day p - 1 (no look-ahead). ``RegimeLabeller.window(p)`` returns them:

* ``"volatility"`` (default): annualized trailing ``signal_window``-day volatility of the equal-weight portfolio;
  "stress" above ``threshold``, else "calm" (warm-up days: "calm").
* ``"markov"``: a two-state Markov-switching model of the equal-weight portfolio's daily return with switching
  mean and variance (Hamilton 1989; statsmodels ``MarkovRegression(k_regimes=2, switching_variance=True)``), fitted
  at every rebalance on the lookback rows before p only; each day gets the state of highest *filtered*
  probability P(s_t | r_1..r_t) (the smoothed probabilities would use later returns). The state of larger variance
  is "stress".
* ``"labels"``: a CSV of dates and regime labels (``read_regime_labels``); the label in force on a day is the last one
  dated on or before it; days before the first label are "unlabelled".

Why constant conditional correlation (``qrp.data.covariance``'s GARCH estimator) and not DCC (Engle 2002): the
``arch`` package fits univariate GARCH only, and no maintained Python library fits DCC; the project prefers a
well-kept library to a hand-written multivariate quasi-likelihood it could not check against a reference, so
regime-specific covariances are the supported way to let correlations change with the market state.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from qrp.data.returns import parse_dates

REGIME_METHODS = ("volatility", "markov", "labels")


def regime_signal(returns: np.ndarray, *, signal_window: int, periods_per_year: float) -> np.ndarray:
    """Annualized trailing volatility of the equal-weight portfolio over ``signal_window`` days ending at each
    day (NaN for the first ``signal_window - 1`` days)."""
    ew = pd.Series(returns.mean(axis=1))
    return (ew.rolling(signal_window).std() * np.sqrt(periods_per_year)).to_numpy()


def volatility_regimes(returns: np.ndarray, *, signal_window: int, threshold: float,
                       periods_per_year: float) -> np.ndarray:
    """"stress" / "calm" per day from the equal-weight portfolio's trailing volatility (module docstring)."""
    vol = regime_signal(returns, signal_window=signal_window, periods_per_year=periods_per_year)
    return np.where(vol > threshold, "stress", "calm").astype(object)  # NaN (warm-up) compares False: calm


def markov_regimes(portfolio_returns: np.ndarray) -> np.ndarray:
    """"stress" / "calm" per day from the filtered probabilities of a two-state Markov-switching model fitted to
    these returns only (module docstring). Returns are scaled by 100 for the optimizer, as statsmodels' examples do."""
    from statsmodels.tsa.regime_switching.markov_regression import MarkovRegression  # optional heavy dependency

    y = np.asarray(portfolio_returns, dtype=np.float64) * 100.0
    if y.shape[0] < 20 or not np.all(np.isfinite(y)):
        raise ValueError(f"the Markov-switching model needs >= 20 finite returns, got {y.shape[0]}")
    model = MarkovRegression(y, k_regimes=2, trend="c", switching_variance=True)
    with warnings.catch_warnings():  # convergence warnings: the fit's filtered states are used either way
        warnings.simplefilter("ignore")
        res = model.fit(disp=False)
    params = dict(zip(model.param_names, np.asarray(res.params), strict=True))
    sigma2 = np.array([params["sigma2[0]"], params["sigma2[1]"]])
    stress = int(np.argmax(sigma2))
    state = np.argmax(np.asarray(res.filtered_marginal_probabilities), axis=1)
    return np.where(state == stress, "stress", "calm").astype(object)


def read_regime_labels(path, dates: pd.DatetimeIndex) -> np.ndarray:
    """Labels per date of ``dates`` from a CSV whose first column is a date and second a label (module docstring)."""
    frame = pd.read_csv(path)
    if frame.shape[1] < 2:  # the count, not the header's text (never echo a file's content)
        raise ValueError(f"regime labels {path}: expected two columns (date, regime), got {frame.shape[1]}")
    when = parse_dates(frame.iloc[:, 0], f"regime labels {path}: the first column")
    if when.duplicated().any():
        raise ValueError(f"regime labels {path}: duplicate date {when[when.duplicated()].iloc[0]}")
    labels = pd.Series(frame.iloc[:, 1].astype(str).to_numpy(), index=pd.DatetimeIndex(when)).sort_index()
    out = labels.reindex(labels.index.union(dates)).ffill().reindex(dates)
    return out.fillna("unlabelled").to_numpy(dtype=object)


class RegimeLabeller:
    """Regime labels known at each rebalance (module docstring). ``window(p, start)`` gives the labels of rows
    start..p-1; the current regime is the last of them."""

    def __init__(self, returns: np.ndarray, dates: pd.DatetimeIndex, *, method: str, signal_window: int,
                 threshold: float, periods_per_year: float, labels: str | Path | None = None):
        if method not in REGIME_METHODS:
            raise ValueError(f"regime.method must be one of {REGIME_METHODS}, got {method!r}")
        if (method == "labels") != (labels is not None):
            raise ValueError("regime.labels (a CSV of dates and labels) goes with method = 'labels', and only then")
        self.method = method
        self._ew = returns.mean(axis=1)
        self._all = None
        if method == "volatility":
            self._all = volatility_regimes(returns, signal_window=signal_window, threshold=threshold,
                                           periods_per_year=periods_per_year)
        elif method == "labels":
            self._all = read_regime_labels(labels, dates)

    def window(self, p: int, start: int) -> np.ndarray:
        if self._all is not None:
            return self._all[start:p]
        return markov_regimes(self._ew[start:p])
